#!/bin/sh
# --evidence with -i (issue 15): rstdiag -i lo while a server on
# 127.0.0.62:27161 resets two requests; each reset is a file named in its
# record, readable by tshark, with the verdict on the RST; /metrics on
# 127.0.0.62:27162 counts them (promtool checks it when installed); with
# -Z nobody the files are nobody's.
# Skips (77) without root, python3 or tshark.
# usage: evidence-live.sh RSTDIAG
set -u
bin=$1
[ "$(id -u)" = 0 ] || { echo "needs root (live capture)"; exit 77; }
command -v python3 > /dev/null && command -v tshark > /dev/null \
    || { echo "needs python3 and tshark"; exit 77; }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2> /dev/null; rm -rf "$tmp"' EXIT
mkdir "$tmp/ev"
# -Z nobody: the root-owned directory is handed over, nobody writes there
z=
if id nobody > /dev/null 2>&1; then
    z="-Z nobody"
    chmod 755 "$tmp"
fi
"$bin" -i lo --json --evidence "$tmp/ev" --metrics 127.0.0.62:27162 $z \
    host 127.0.0.62 and tcp port 27161 \
    > "$tmp/out" 2> "$tmp/err" &
pid=$!
for i in $(seq 50); do
    grep -q '^rstdiag: listening on lo' "$tmp/err" && break
    sleep 0.1
done
python3 - <<'PY'
import socket, struct, threading, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.62", 27161))
srv.listen(4)
def serve():
    for _ in range(2):
        c, _a = srv.accept()
        c.recv(4096)
        # linger 0: close() sends an RST
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        c.close()
t = threading.Thread(target=serve)
t.start()
for _ in range(2):
    s = socket.create_connection(("127.0.0.62", 27161))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        s.recv(100)
    except OSError:
        pass
    s.close()
    time.sleep(0.2)
t.join()
PY
# a reset is decided after the 2 s linger
sleep 3
fails=0
# the counters, scraped (python3: curl may be absent)
python3 -c '
import urllib.request
print(urllib.request.urlopen("http://127.0.0.62:27162/metrics").read().decode())
' > "$tmp/metrics" 2>&1
for want in "rstdiag_evidence_files_total 2" "rstdiag_evidence_removed_total 0" \
            "# TYPE rstdiag_evidence_files_total counter" \
            "# HELP rstdiag_evidence_removed_total "; do
    grep -q "^$want" "$tmp/metrics" || { echo "FAIL: metrics lack '$want'"; fails=1; }
done
if command -v promtool > /dev/null; then
    promtool check metrics < "$tmp/metrics" > "$tmp/promtool" 2>&1 \
        || { echo "FAIL: promtool: $(cat "$tmp/promtool")"; fails=1; }
fi
kill -TERM "$pid"
wait "$pid"
pid=
n=$(grep -c '"evidence":"' "$tmp/out")
[ "$n" = 2 ] || { echo "FAIL: $n records name a file, want 2: $(cat "$tmp/out" "$tmp/err")"; fails=1; }
for f in $(grep -o '"evidence":"[^"]*"' "$tmp/out" | sed 's/.*:"//; s/"$//'); do
    [ -s "$f" ] || { echo "FAIL: $f missing"; fails=1; continue; }
    if [ -n "$z" ] && [ "$(stat -c %U "$f")" != nobody ]; then
        echo "FAIL: $f not written by nobody after -Z"
        fails=1
    fi
    c=$(tshark -r "$f" -Y frame.comment -T fields -e tcp.flags.reset \
        -e frame.comment 2> /dev/null)
    case $c in
    1*"rstdiag: upstream_reset_before_response "*|True*"rstdiag: upstream_reset_before_response "*) ;;
    *) echo "FAIL: $f: comment '$c'"; fails=1 ;;
    esac
    case $f in
    */rstdiag-*-upstream_reset_before_response-127.0.0.62_27161*.pcapng) ;;
    *) echo "FAIL: name $f"; fails=1 ;;
    esac
done
tail -n 1 "$tmp/out" | grep -q '"evidence_files":{"written":2,' \
    || { echo "FAIL: summary $(tail -n 1 "$tmp/out")"; fails=1; }
[ $fails = 0 ] && echo "ok   live --evidence"
exit $fails
