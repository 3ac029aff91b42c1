#!/bin/sh
# Bad input gets one clear line naming the file or interface, exit 2, and
# nothing lost: each case below checks the exit status and the message.
# usage: bad-input.sh RSTDIAG SOURCE_ROOT
set -u
bin=$1 root=$2
p=$root/pcaps
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# expect NAME WANT_STATUS STDERR_PATTERN -- ARGS...
expect() {
    name=$1 want=$2 pat=$3
    shift 4
    "$bin" "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
    rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL $name: exit $rc, want $want; stderr: $(cat "$tmp/err")"
        fails=$((fails + 1))
    elif ! grep -q -- "$pat" "$tmp/err"; then
        echo "FAIL $name: stderr lacks '$pat': $(cat "$tmp/err")"
        fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
}

expect missing-file 2 "rstdiag: $tmp/nope.pcap: .*No such file" -- \
    -r "$tmp/nope.pcap"
expect directory 2 "rstdiag: $p: is a directory" -- -r "$p"
expect not-a-capture 2 "not-a-capture.txt: not a pcap or pcapng capture" -- \
    -r "$p/not-a-capture.txt"
expect unsupported-dlt 2 \
    "crafted-unsupported-dlt.pcap: unsupported link type .*(147)" -- \
    -r "$p/crafted-unsupported-dlt.pcap"
head -c 10 "$p/crafted-eth.pcap" > "$tmp/cut-header.pcap"
expect cut-file-header 2 "cut-header.pcap: .*truncated" -- \
    -r "$tmp/cut-header.pcap"
: > "$tmp/zero.pcap"
expect zero-byte-file 2 "zero.pcap: " -- -r "$tmp/zero.pcap"
expect unknown-option 2 "unknown option" -- --bogus -r "$p/crafted-eth.pcap"
expect missing-argument 2 "needs an argument" -- -r
expect nothing-to-read 2 "nothing to read" --
expect bad-number 2 "max-flows: 'abc' is not a number" -- \
    --max-flows abc -r "$p/crafted-eth.pcap"
expect zero-flows 2 "max-flows: '0' is not a number from 1" -- \
    --max-flows 0 -r "$p/crafted-eth.pcap"
expect bad-filter 2 "crafted-eth.pcap: bad filter expression" -- \
    -r "$p/crafted-eth.pcap" tcp port
expect r-and-i 2 "cannot be used together" -- -r "$p/crafted-eth.pcap" -i lo
expect no-such-interface 2 "rstdiag: nosuchif0: " -- -i nosuchif0
expect second-file-bad 2 "not-a-capture.txt: not a pcap" -- \
    -r "$p/crafted-eth.pcap" -r "$p/not-a-capture.txt"
expect no-such-user 2 "no such user 'nosuchuser0'" -- \
    -Z nosuchuser0 -r "$p/crafted-eth.pcap"

# Live operations (issue 15): --metrics, --output and --interval are
# checked before any packet is read.  127.0.0.60:27099 is this test's own
# (tests/live-ops.sh uses 27001-27004 and 27090-27091).
expect metrics-nonsense 2 "metrics: 'nonsense' is not \[ADDR:\]PORT" -- \
    --metrics nonsense -i lo
expect metrics-bare-v6 2 "metrics: '::1:9187' is not" -- \
    --metrics ::1:9187 -i lo
expect metrics-port-0 2 "metrics: '127.0.0.1:0' is not" -- \
    --metrics 127.0.0.1:0 -i lo
expect metrics-port-big 2 "metrics: '70000' is not" -- --metrics 70000 -i lo
expect metrics-hostname 2 "metrics: 'localhost:9187' is not" -- \
    --metrics localhost:9187 -i lo
expect metrics-offline 2 "metrics: only with -i" -- \
    --metrics 9187 -r "$p/crafted-eth.pcap"
expect interval-offline 2 "interval: only with -i" -- \
    --interval 5 -r "$p/crafted-eth.pcap"
expect interval-zero 2 "interval: '0' is not a number from 1" -- \
    --interval 0 -i lo
expect interval-negative 2 "interval: '-5' is not a number" -- \
    --interval -5 -i lo
expect output-no-dir 2 "^rstdiag: /nonexistent/dir/x: No such file or directory" \
    -- --output /nonexistent/dir/x -r "$p/crafted-eth.pcap"
expect output-no-dir-live 2 "^rstdiag: /nonexistent/dir/x: No such file" \
    -- --output /nonexistent/dir/x -i lo
expect output-directory 2 "^rstdiag: $tmp: Is a directory" -- \
    --output "$tmp" -r "$p/crafted-eth.pcap"
# --evidence DIR (issue 15): a directory that is not there, not a
# directory, or not writable is one line naming it, before any packet
expect evidence-no-dir 2 \
    "^rstdiag: --evidence /nonexistent/dir: No such file or directory" \
    -- --evidence /nonexistent/dir -r "$p/crafted-eth.pcap"
expect evidence-no-dir-live 2 \
    "^rstdiag: --evidence /nonexistent/dir: No such file" \
    -- --evidence /nonexistent/dir -i lo
expect evidence-file 2 "^rstdiag: --evidence $p/crafted-eth.pcap: Not a directory" \
    -- --evidence "$p/crafted-eth.pcap" -r "$p/crafted-eth.pcap"
expect evidence-opt-alone 2 "need --evidence" -- \
    --evidence-max-files 3 -r "$p/crafted-eth.pcap"
expect evidence-packets-zero 2 "evidence-max-packets: '0' is not a number" \
    -- --evidence "$tmp" --evidence-max-packets 0 -r "$p/crafted-eth.pcap"
mkdir "$tmp/ro" && chmod 555 "$tmp/ro"
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
    # root writes anywhere: -Z nobody is who must be refused
    chown nobody "$tmp/ro" 2> /dev/null
    expect evidence-readonly 2 \
        "^rstdiag: --evidence $tmp/ro: cannot write there" \
        -- --evidence "$tmp/ro" -Z nobody -r "$p/crafted-eth.pcap"
elif [ "$(id -u)" != 0 ]; then
    expect evidence-readonly 2 \
        "^rstdiag: --evidence $tmp/ro: cannot write there" \
        -- --evidence "$tmp/ro" -r "$p/crafted-eth.pcap"
fi
# an address in use: fails before the capture is opened (so without root
# too), naming the address
if command -v python3 > /dev/null; then
    python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.60", 27099))
s.listen(1)
open(sys.argv[1], "w").close()
time.sleep(30)
' "$tmp/listening" &
holder=$!
    for i in $(seq 50); do
        [ -e "$tmp/listening" ] && break
        sleep 0.1
    done
    expect metrics-in-use 2 \
        "^rstdiag: --metrics 127.0.0.60:27099: cannot listen: Address already in use" \
        -- --metrics 127.0.0.60:27099 -i lo
    kill $holder 2> /dev/null
    wait $holder 2> /dev/null
fi
# --output with -r: the records there, nothing on stdout
"$bin" -r "$p/crafted-eth.pcap" --json --all --output "$tmp/o.jsonl" \
    > "$tmp/out" 2> "$tmp/err"
if [ -s "$tmp/out" ] || ! tail -n 1 "$tmp/o.jsonl" | grep -q '"type":"summary"'
then
    echo "FAIL output-offline: stdout $(wc -c < "$tmp/out") bytes; $(cat "$tmp/err")"
    fails=$((fails + 1))
else
    echo "ok   output-offline"
fi

# --error-log: a missing file, a directory, a bad zone, live; a log that
# is not nginx's is no error (its lines are counted and named)
expect errlog-missing 2 "rstdiag: $tmp/nope.log: cannot open" -- \
    --error-log "$tmp/nope.log" -r "$p/crafted-eth.pcap"
expect errlog-dir 2 "rstdiag: $p: is a directory" -- \
    --error-log "$p" -r "$p/crafted-eth.pcap"
printf 'hello\n' > "$tmp/e.log"
expect errlog-tz 2 "error-log-tz: no time zone 'Mars/Olympus'" -- \
    --error-log "$tmp/e.log" --error-log-tz Mars/Olympus -r "$p/crafted-eth.pcap"
expect errlog-tz-offset 2 "error-log-tz: '+2500' is not" -- \
    --error-log "$tmp/e.log" --error-log-tz +2500 -r "$p/crafted-eth.pcap"
expect errlog-tz-alone 2 "need --error-log" -- \
    --error-log-tz UTC -r "$p/crafted-eth.pcap"
expect errlog-live-two 2 "error-log: with -i, one file" -- \
    --error-log "$tmp/e.log" --error-log "$tmp/e.log" -i lo
expect errlog-junk 0 "e.log:1: not an nginx error.log line" -- \
    --error-log "$tmp/e.log" -r "$p/crafted-eth.pcap"

# --nginx-conf: a malformed configuration names its file and line
printf 'http {\n  server {\n    listen 80;\n  }\n' > "$tmp/open.conf"
expect conf-block-open 2 \
    "^rstdiag: $tmp/open.conf:1: block \"http\" is not closed" -- \
    --nginx-conf "$tmp/open.conf" -r "$p/crafted-eth.pcap"
printf '# configuration file /etc/nginx/nginx.conf:\nuser x;\n# configuration file /etc/nginx/conf.d/a.conf:\nserver {\n  listen 80\n}\n' \
    > "$tmp/dump.conf"
expect conf-no-semicolon 2 \
    "^rstdiag: /etc/nginx/conf.d/a.conf:3: unexpected \"}\": directive \"listen\" (line 2)" \
    -- --nginx-conf "$tmp/dump.conf" -r "$p/crafted-eth.pcap"
printf 'a "b;\n' > "$tmp/quote.conf"
expect conf-quote 2 "^rstdiag: $tmp/quote.conf:1: unterminated quoted string" \
    -- --nginx-conf "$tmp/quote.conf" -r "$p/crafted-eth.pcap"
printf 'http { proxy_read_timeout soon; }\n' > "$tmp/value.conf"
expect conf-bad-value 2 \
    "^rstdiag: $tmp/value.conf:1: invalid value \"soon\" in \"proxy_read_timeout\"" \
    -- --nginx-conf "$tmp/value.conf" -r "$p/crafted-eth.pcap"
expect conf-missing 2 "^rstdiag: $tmp/nope.conf: No such file" -- \
    --nginx-conf "$tmp/nope.conf" -r "$p/crafted-eth.pcap"
expect conf-directory 2 "^rstdiag: $p: Is a directory" -- \
    --nginx-conf "$p" -r "$p/crafted-eth.pcap"
expect conf-two-stdin 2 "cannot both read stdin" -- \
    --nginx-conf - -r -

# A capture cut mid-record: analysed up to the cut, reported as truncated,
# exit 0 or 1, never 2, and the summary says so.
"$bin" -r "$p/crafted-cut-mid-record.pcap" --json --all > "$tmp/out" 2> "$tmp/err"
rc=$?
if [ $rc -gt 1 ] || ! grep -q 'crafted-cut-mid-record.pcap: truncated dump file' "$tmp/err" \
   || ! tail -n 1 "$tmp/out" | grep -q '"truncated":true' \
   || ! tail -n 1 "$tmp/out" | grep -q '"packets":4,'
then
    echo "FAIL cut-mid-record: exit $rc; $(cat "$tmp/err"); $(tail -n 1 "$tmp/out")"
    fails=$((fails + 1))
else
    echo "ok   cut-mid-record"
fi

# A capture with a header and no packets is not an error.
"$bin" -r "$p/crafted-empty.pcap" --json > "$tmp/out" 2> "$tmp/err"
rc=$?
if [ $rc -ne 0 ] || ! grep -q '"type":"summary","packets":0,' "$tmp/out"; then
    echo "FAIL empty: exit $rc; $(cat "$tmp/out" "$tmp/err")"
    fails=$((fails + 1))
else
    echo "ok   empty"
fi

# Standard input, and several files merged as one capture.
"$bin" -r - --json --all < "$p/crafted-eth.pcap" > "$tmp/stdin" 2>&1
"$bin" -r "$p/crafted-eth.pcap" --json --all > "$tmp/file" 2>&1
if ! sed 's/"name":"[^"]*"//' "$tmp/stdin" | cmp -s - "$(sed 's/"name":"[^"]*"//' "$tmp/file" > "$tmp/file2"; echo "$tmp/file2")"; then
    echo "FAIL stdin: output differs from the file's"
    fails=$((fails + 1))
else
    echo "ok   stdin"
fi
"$bin" -r "$p/loopback-healthy.pcap" -r "$p/crafted-eth.pcap" --json --all > "$tmp/out" 2>&1
n=$(grep -c '"type":"connection"' "$tmp/out")
if [ "$n" != 3 ] || ! tail -n 1 "$tmp/out" | grep -q '"packets":34,'; then
    echo "FAIL merge: $n connections; $(tail -n 1 "$tmp/out")"
    fails=$((fails + 1))
else
    echo "ok   merge"
fi

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
