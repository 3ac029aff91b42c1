#!/bin/bash
# Live --error-log (issue 14): rstdiag -i lo --error-log LOG follows LOG
# as tail -F does while real connections are reset on loopback.  Lines in
# nginx's format are written into LOG as nginx would write them about
# those connections, and LOG is rotated by rename (the old file still
# written for a moment, then the path missing for a while) and truncated
# (copytruncate) on the way.  Checks:
#   - a missing LOG at start is exit 2, naming the file;
#   - the line that was being written when rstdiag started is skipped;
#   - each reset connection's record carries its line (file and line
#     number: numbers restart at 1 in the new file and after truncation;
#     a line nginx wrote to the renamed file still counts in it), and no
#     other;
#   - a line no connection explains comes out on its own as an
#     {"type":"error_log"} record: while running once --error-log-window
#     has passed (upstream_not_captured), and at SIGINT;
#   - the summary counts the records and names no read error.
# Addresses and ports of its own: 127.0.0.89, 27301-27309.  No nginx: the
# server resets, the lines are written here.  Skips (77) without root or
# python3.
# usage: live-errlog.sh RSTDIAG
set -u
bin=$1
ip=127.0.0.89
ports="27301 27302 27303 27304 27305"

[ "$(id -u)" = 0 ] || { echo "skip: needs root for -i lo"; exit 77; }
# a host whose local time is not UTC, when the zone is known: the lines
# are in local time and the live join takes this host's offset
off=+0000
if [ -e /usr/share/zoneinfo/Asia/Kolkata ]; then
    export TZ=Asia/Kolkata
    off=+0530
fi
command -v python3 > /dev/null || { echo "skip: no python3"; exit 77; }

tmp=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2> /dev/null
    done
    wait 2> /dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

wait_for() {
    local i
    for ((i = 0; i < $3; i++)); do
        grep -q -- "$2" "$1" 2> /dev/null && return 0
        sleep 0.1
    done
    return 1
}

log=$tmp/error.log

# a missing log is an input error naming it
"$bin" -i lo --error-log "$tmp/nope.log" "host $ip" > /dev/null \
    2> "$tmp/err0"
rc=$?
if [ $rc = 2 ] && grep -q "$tmp/nope.log: cannot open" "$tmp/err0"; then
    ok "missing log: exit 2 naming it"
else
    fail "missing log: exit $rc, $(cat "$tmp/err0")"
fi

# servers that read the request and answer with an RST (SO_LINGER 0)
python3 -c '
import select, socket, struct, sys
ls = []
for p in sys.argv[2:-1]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(p)))
    s.listen(16)
    ls.append(s)
open(sys.argv[-1], "w").close()
while True:
    r, _, _ = select.select(ls, [], [])
    for s in r:
        c, _ = s.accept()
        c.recv(4096)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        c.close()
' $ip $ports "$tmp/rst.ready" &
pids+=($!)
for ((i = 0; i < 100; i++)); do
    [ -e "$tmp/rst.ready" ] && break
    sleep 0.1
done
[ -e "$tmp/rst.ready" ] || { fail "the RST server did not start"; exit 1; }

# GET /NAME to port PORT; the server resets it
get() {
    python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"GET /%s HTTP/1.1\r\nHost: t\r\n\r\n" % sys.argv[3].encode())
try:
    s.recv(100)
except OSError:
    pass
' $ip "$1" "$2"
}

# nginx's line about GET /NAME to PORT, now, local time (as nginx's)
nginx_line() {
    printf '%s [error] 4711#4711: *%s recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 127.0.0.1, server: _, request: "GET /%s HTTP/1.1", upstream: "http://%s:%s/%s", host: "t"\n' \
        "$(date '+%Y/%m/%d %H:%M:%S')" "$3" "$2" $ip "$1" "$2"
}

# LOG before rstdiag: old lines and one being written (no newline yet)
{
    printf '2026/01/01 00:00:00 [notice] 1#1: old, before the capture\n'
    printf '2026/01/01 00:00:01 [error] 1#1: *1 half a line'
} > "$log"

"$bin" -i lo --json --error-log "$log" --error-log-window 3 \
    $(for p in $ports; do printf -- '--upstream %s:%s ' $ip "$p"; done) \
    "host $ip and tcp portrange 27301-27309" \
    > "$tmp/out.jsonl" 2> "$tmp/err" &
rd=$!
pids+=($rd)
wait_for "$tmp/err" "listening on" 100 \
    || { fail "rstdiag not ready: $(cat "$tmp/err")"; exit 1; }

# the rest of the half line, then connection 1: line 3 of the first file
printf ' that rstdiag must skip\n' >> "$log"
get 27301 one
nginx_line 27301 one 11 >> "$log"
sleep 0.5

# a line about an upstream no packet shows: out after the window (3 s)
printf '%s [error] 4711#4711: *12 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET /nobody HTTP/1.1", upstream: "http://%s:27309/nobody", host: "t"\n' \
    "$(date '+%Y/%m/%d %H:%M:%S')" $ip >> "$log"       # line 4

# rotation by rename: nginx writes connection 2's line to the renamed
# file (it has not reopened yet: line 5 there), then the path is missing
# for a while, then nginx reopens (USR1): connection 3 in the new file
# after a notice (line 2)
mv "$log" "$log.1"
get 27302 two
nginx_line 27302 two 13 >> "$log.1"
sleep 0.8
{
    printf '%s [notice] 4710#4710: signal process started\n' \
        "$(date '+%Y/%m/%d %H:%M:%S')"
} > "$log"
sleep 0.5
get 27303 three
nginx_line 27303 three 14 >> "$log"
sleep 0.6

# copytruncate: LOG cut to nothing, then connection 4 at its line 1
: > "$log"
sleep 0.6
get 27304 four
nginx_line 27304 four 15 >> "$log"

# connection 5 without a line, and a line that fits no connection,
# written just before the stop: both out at SIGINT
get 27305 five
printf '%s [error] 4711#4711: *16 upstream prematurely closed connection while reading response header from upstream, client: 127.0.0.1, server: _, request: "GET /late HTTP/1.1", upstream: "http://%s:27308/late", host: "t"\n' \
    "$(date '+%Y/%m/%d %H:%M:%S')" $ip >> "$log"        # line 2
# the unmatched line 4 fell out while running (window 3 s)
if wait_for "$tmp/out.jsonl" '"type":"error_log".*"line":4,' 60; then
    ok "an unmatched line comes out while running"
else
    fail "no error_log record for line 4 before SIGINT: $(cat "$tmp/out.jsonl")"
fi
kill -INT $rd
wait $rd
rc=$?
[ $rc = 1 ] && ok "exit status 1 (findings)" || fail "exit status $rc"

python3 - "$tmp/out.jsonl" "$log" $ip $off <<'PY' || fails=$((fails + 1))
import json, sys
path, log, ip, off = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
recs = [json.loads(l) for l in open(path)]
fails = 0
def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL: ") + what)
    fails += not cond
conns = {r["server"]: r for r in recs if r.get("type") == "connection"}
# port -> (file, line) expected
want = {27301: 3, 27302: 5, 27303: 2, 27304: 1}
for port, line in sorted(want.items()):
    c = conns.get("%s:%d" % (ip, port))
    if c is None:
        check(False, "connection to %d reported" % port)
        continue
    el = c.get("error_log", [])
    check(len(el) == 1 and el[0]["file"] == log and el[0]["line"] == line
          and el[0]["level"] == "error"
          and el[0]["message"].startswith("recv() failed (104"),
          "connection to %d carries %s:%d: %s" % (port, log, line, el))
    check(c.get("error_log_disagrees") is False,
          "connection to %d: the line agrees with the verdict" % port)
c = conns.get("%s:27305" % ip)
check(c is not None and c.get("error_log") == []
      and c.get("error_log_unlogged") is not None,
      "connection to 27305 has no line, and says nginx would log one")
lines = [r for r in recs if r.get("type") == "error_log"]
by = {(r["line"], r["message"][:20]): r for r in lines}
r4 = [r for r in lines if r["line"] == 4]
check(len(r4) == 1 and r4[0]["reason"] == "upstream_not_captured"
      and r4[0]["file"] == log and r4[0]["connection_number"] == 12,
      "line 4 unmatched, upstream_not_captured: %s" % r4)
late = [r for r in lines if "/late" in r["message"] or r["line"] == 2
        and r["message"].startswith("upstream prematurely")]
check(len(late) == 1 and late[0]["line"] == 2,
      "the line written before SIGINT is reported unmatched: %s" % late)
check(not any("half a line" in r["message"] or "must skip" in r["message"]
              or "old, before" in r["message"] for r in lines),
      "the lines before the start are not read")
check(len(lines) == 2, "two unmatched lines, no more: %d" % len(lines))
s = recs[-1]
check(s.get("type") == "summary" and "error_log" in s,
      "the summary has error_log")
e = s.get("error_log", {})
check(e.get("records") == 7 and e.get("matched") == 4
      and e.get("offset_from") == "host" and e.get("offset") == off,
      "summary: 7 records, 4 matched, offset %s from host: %s" % (off, e))
check(e.get("unparsed") == 0, "no line unparsed: %s" % e.get("unparsed"))
sys.exit(1 if fails else 0)
PY
grep -v "^rstdiag: listening" "$tmp/err" | grep . \
    && fail "stderr has more than the listening line"

[ $fails = 0 ] || { echo "$fails failed"; exit 1; }
echo "all ok"
