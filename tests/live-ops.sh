#!/bin/bash
# Live operations (issue 15): rstdiag -i lo with --metrics, --output and
# --interval, against real refused and reset connections on loopback.
#   - /metrics passes promtool check metrics, and its counters say what
#     happened (packets, connections by verdict, resets by side, the
#     upstream label, the histogram);
#   - a real Prometheus server scrapes it every second, and its HTTP API
#     returns the counters;
#   - SIGUSR1 writes an interim summary ("final": false);
#   - --output renamed, then SIGHUP: new records go to the new file, none
#     lost, none twice;
#   - SIGTERM: the final summary ("final": true) and exit status 1;
#   - a second rstdiag writing to stdout (a file: fully buffered unless
#     flushed) shows its records while it runs, and --interval 1 writes
#     interim summaries on its own.
#   - a third, writing to a pipe that closes, stops with exit status 2.
# Addresses and ports of its own: 127.0.0.60, 27001-27004, 27090-27091.
# Skips (77) without root, curl, python3, promtool or prometheus.
# usage: live-ops.sh RSTDIAG
set -u
bin=$1
ip=127.0.0.60
closed=27001 rstport=27002 closed2=27003 closed3=27004
mport=27090 pport=27091

[ "$(id -u)" = 0 ] || { echo "skip: needs root for -i lo"; exit 77; }
for t in curl python3 promtool prometheus; do
    command -v $t > /dev/null || { echo "skip: no $t"; exit 77; }
done

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

# wait_for FILE PATTERN TENTHS: true once PATTERN is in FILE
wait_for() {
    local i
    for ((i = 0; i < $3; i++)); do
        grep -q -- "$2" "$1" 2> /dev/null && return 0
        sleep 0.1
    done
    return 1
}

# count_records FILE...: connection records in them
count_records() { cat "$@" 2> /dev/null | grep -c '"type":"connection"'; }

# wait_records N TENTHS FILE...: true once the files hold N records
wait_records() {
    local n=$1 t=$2 i
    shift 2
    for ((i = 0; i < t; i++)); do
        [ "$(count_records "$@")" -ge "$n" ] && return 0
        sleep 0.1
    done
    return 1
}

# metric NAME_WITH_LABELS: its value in $tmp/m.txt (0 when absent)
metric() {
    awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' "$tmp/m.txt"
}

# a server that reads the request and answers with an RST (SO_LINGER 0)
python3 -c '
import socket, struct, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
open(sys.argv[3], "w").close()
while True:
    c, _ = s.accept()
    c.recv(4096)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
' $ip $rstport "$tmp/rst.ready" &
pids+=($!)
for ((i = 0; i < 100; i++)); do
    [ -e "$tmp/rst.ready" ] && break
    sleep 0.1
done
[ -e "$tmp/rst.ready" ] || { fail "the RST server did not start"; exit 1; }

# the one under test, declared upstreams so that the legs are upstream
"$bin" -i lo --json --output "$tmp/out.jsonl" --metrics $ip:$mport \
    --upstream $ip:$closed --upstream $ip:$rstport \
    "host $ip and (tcp port $closed or tcp port $rstport)" \
    2> "$tmp/err" &
rd=$!
pids+=($rd)
# the second: stdout into a file, --interval 1
"$bin" -i lo --json --interval 1 "host $ip and tcp port $closed2" \
    > "$tmp/stdout.jsonl" 2> "$tmp/err2" &
rd2=$!
pids+=($rd2)
# the third: stdout into a pipe whose reader goes away after a byte
mkfifo "$tmp/fifo"
head -c 1 < "$tmp/fifo" > /dev/null &
pids+=($!)
"$bin" -i lo --json "host $ip and tcp port $closed3" > "$tmp/fifo" \
    2> "$tmp/err3" &
rd3=$!
pids+=($rd3)

# Prometheus, scraping every second from the start
cat > "$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: rstdiag
    static_configs:
      - targets: ['$ip:$mport']
EOF
prometheus --config.file="$tmp/prometheus.yml" \
    --storage.tsdb.path="$tmp/tsdb" --web.listen-address=$ip:$pport \
    --log.level=warn > "$tmp/prom.log" 2>&1 &
pids+=($!)

wait_for "$tmp/err" "listening on" 100 \
    || { fail "rstdiag not ready: $(cat "$tmp/err")"; exit 1; }
wait_for "$tmp/err2" "listening on" 100 \
    || { fail "second rstdiag not ready: $(cat "$tmp/err2")"; exit 1; }
wait_for "$tmp/err3" "listening on" 100 \
    || { fail "third rstdiag not ready: $(cat "$tmp/err3")"; exit 1; }
grep -q "serving metrics on http://$ip:$mport/metrics" "$tmp/err" \
    || fail "no 'serving metrics' line: $(cat "$tmp/err")"

# --- traffic: 3 refused, 3 reset after the request; 2 refused for the
# second rstdiag
for i in 1 2 3; do
    curl -s -m 2 -o /dev/null http://$ip:$closed/
    curl -s -m 2 -o /dev/null http://$ip:$rstport/reset
done
for i in 1 2; do
    curl -s -m 2 -o /dev/null http://$ip:$closed2/
done
curl -s -m 2 -o /dev/null http://$ip:$closed3/     # the pipe's one byte
# an RST'd connection is written after the 2 s linger
wait_records 6 80 "$tmp/out.jsonl" \
    || fail "6 records wanted, $(count_records "$tmp/out.jsonl") written"
# streamed to stdout while running: flushed per record
if wait_records 2 80 "$tmp/stdout.jsonl"; then
    ok "stdout: records flushed as they come"
else
    fail "stdout: $(count_records "$tmp/stdout.jsonl") records while running"
fi

# --- /metrics ----------------------------------------------------------
if ! curl -s -f -D "$tmp/h.txt" -o "$tmp/m.txt" \
        http://$ip:$mport/metrics; then
    fail "GET /metrics"
fi
grep -qi '^content-type: text/plain; version=0.0.4' "$tmp/h.txt" \
    || fail "content type: $(cat "$tmp/h.txt")"
if promtool check metrics < "$tmp/m.txt" > "$tmp/promtool.txt" 2>&1; then
    ok "promtool check metrics"
else
    fail "promtool check metrics: $(cat "$tmp/promtool.txt")"
fi
# every family has HELP and TYPE (promtool checks the format, this the
# habit)
fam=$(grep -c '^# TYPE ' "$tmp/m.txt")
help=$(grep -c '^# HELP ' "$tmp/m.txt")
[ "$fam" -ge 20 ] && [ "$fam" = "$help" ] \
    || fail "families: $fam TYPE lines, $help HELP lines"
check() {   # check NAME OP VALUE
    local v
    v=$(metric "$1")
    if awk -v v="$v" -v w="$3" "BEGIN { exit !(v $2 w) }"; then
        ok "$1 = $v"
    else
        fail "$1 = $v, want $2 $3"
    fi
}
check rstdiag_packets_total '>' 0
check rstdiag_bytes_total '>' 0
check 'rstdiag_connections_total{leg="upstream_leg",verdict="upstream_refused"}' '>=' 3
check 'rstdiag_connections_total{leg="upstream_leg",verdict="upstream_reset_before_response"}' '>=' 3
check 'rstdiag_resets_total{by="server",leg="upstream_leg"}' '>=' 6
check 'rstdiag_resets_total{by="client",leg="upstream_leg"}' '==' 0
check "rstdiag_upstream_abnormal_total{upstream=\"$ip:$closed\"}" '>=' 3
check 'rstdiag_request_to_close_seconds_count{leg="upstream_leg"}' '>=' 3
check 'rstdiag_request_to_close_seconds_bucket{leg="upstream_leg",le="+Inf"}' '>=' 3
check 'rstdiag_capture_drops_total{where="kernel"}' '==' 0
check rstdiag_flows_created_total '>=' 6
grep -q '^rstdiag_flows_active ' "$tmp/m.txt" || fail "no rstdiag_flows_active"
code=$(curl -s -o /dev/null -w '%{http_code}' http://$ip:$mport/nope)
[ "$code" = 404 ] || fail "GET /nope: $code, want 404"

# --- Prometheus, through its HTTP API ------------------------------------
# (Prometheus needs a few seconds to start; it scrapes every second)
got=
end=$((SECONDS + 20))
while [ $SECONDS -lt $end ]; do
    got=$(curl -s -m 1 "http://$ip:$pport/api/v1/query?query=sum(rstdiag_connections_total%7Bverdict%3D%22upstream_refused%22%7D)" |
        python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(int(float(r[0]["value"][1])) if r else "")
except Exception:
    print("")' 2> /dev/null)
    [ -n "$got" ] && [ "$got" -ge 3 ] && break
    sleep 0.2
done
if [ -n "$got" ] && [ "$got" -ge 3 ]; then
    ok "prometheus scraped: upstream_refused = $got"
else
    fail "prometheus: upstream_refused '$got'; $(tail -n 5 "$tmp/prom.log")"
fi
pk=$(curl -s -m 1 "http://$ip:$pport/api/v1/query?query=rstdiag_packets_total" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])' 2> /dev/null)
[ -n "$pk" ] && [ "$pk" -gt 0 ] 2> /dev/null \
    && ok "prometheus: rstdiag_packets_total = $pk" \
    || fail "prometheus: rstdiag_packets_total '$pk'"

# --- SIGUSR1: an interim summary now -------------------------------------
kill -USR1 $rd
if wait_for "$tmp/out.jsonl" '"type":"summary".*"final":false' 30; then
    ok "SIGUSR1: interim summary"
else
    fail "SIGUSR1: no interim summary: $(tail -n 1 "$tmp/out.jsonl" | cut -c1-200)"
fi

# --- rename, SIGHUP, more traffic: the new records in the new file --------
mv "$tmp/out.jsonl" "$tmp/out.jsonl.1"
kill -HUP $rd
for ((i = 0; i < 30; i++)); do
    [ -e "$tmp/out.jsonl" ] && break
    sleep 0.1
done
[ -e "$tmp/out.jsonl" ] || fail "SIGHUP: $tmp/out.jsonl not created"
for i in 1 2; do
    curl -s -m 2 -o /dev/null http://$ip:$closed/
done
curl -s -m 2 -o /dev/null http://$ip:$rstport/reset
if wait_records 3 80 "$tmp/out.jsonl"; then
    ok "SIGHUP: new records in the new file"
else
    fail "SIGHUP: $(count_records "$tmp/out.jsonl") records in the new file"
fi

# the third's reader is gone by now: its next record fails to be written
curl -s -m 2 -o /dev/null http://$ip:$closed3/

# --- SIGTERM: final summary, exit 1 (resets found) ------------------------
kill -TERM $rd
wait $rd
rc=$?
[ $rc = 1 ] && ok "SIGTERM: exit 1" || fail "SIGTERM: exit $rc, want 1"
tail -n 1 "$tmp/out.jsonl" | grep -q '"type":"summary".*"final":true' \
    && ok "final summary last" \
    || fail "last line: $(tail -n 1 "$tmp/out.jsonl" | cut -c1-200)"
# none lost, none twice: ids 1..9 once across both files
ids=$(cat "$tmp/out.jsonl.1" "$tmp/out.jsonl" |
    grep -o '^{"type":"connection","id":[0-9]*' | grep -o '[0-9]*$' |
    sort -n | tr '\n' ' ')
[ "$ids" = "1 2 3 4 5 6 7 8 9 " ] && ok "records 1-9, each once" \
    || fail "records across the files: $ids"
grep -q '"connections":9,' <(tail -n 1 "$tmp/out.jsonl") \
    || fail "final summary does not count 9 connections"
[ "$(grep -c '"type":"connection"' "$tmp/out.jsonl.1")" = 6 ] \
    || fail "old file: $(count_records "$tmp/out.jsonl.1") records, want 6"

# --- the second: --interval summaries on their own -------------------------
n=$(grep -c '"type":"summary".*"final":false' "$tmp/stdout.jsonl")
[ "$n" -ge 2 ] && ok "--interval 1: $n interim summaries" \
    || fail "--interval 1: $n interim summaries"
kill -TERM $rd2
wait $rd2
rc=$?
[ $rc = 1 ] || fail "second: exit $rc, want 1"
tail -n 1 "$tmp/stdout.jsonl" | grep -q '"final":true' \
    || fail "second: no final summary"

# --- the third: a closed pipe stops the capture, exit 2 -------------------
if wait_for "$tmp/err3" "error writing the report; stopping" 50; then
    wait $rd3
    rc=$?
    [ $rc = 2 ] && ok "closed pipe: stopped, exit 2" \
        || fail "closed pipe: exit $rc, want 2"
else
    fail "closed pipe: still running; $(cat "$tmp/err3")"
fi

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "live operations: all passed"
