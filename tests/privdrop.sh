#!/bin/bash
# -Z USER (issue 15, "Privilege"): rstdiag -i lo -Z nobody gives up root
# once the capture and the metrics socket are open, and keeps working.
#   - /proc says uid and gid 65534 (real, effective, saved), no
#     supplementary groups, no effective or permitted capabilities;
#   - the capture still sees packets and /metrics still answers;
#   - the --output file root opened now belongs to nobody; renamed away,
#     SIGHUP makes a new one in the nobody-owned directory, and the
#     records go on there;
#   - SIGTERM: final summary, exit status 1 (abnormal connections seen);
#   - offline with -Z and --output: the file is nobody's;
#   - a user who cannot become root asking -Z root: exit 2, "cannot
#     become", and no record written;
#   - -Z with an unknown user: exit 2, "no such user".
# Addresses and ports of its own: 127.0.0.87, 27101, 27190.
# Skips (77) without root, curl, setpriv or the nobody user.
# usage: privdrop.sh RSTDIAG PCAP
set -u
bin=$(readlink -f "$1")
pcap=$(readlink -f "$2")
ip=127.0.0.87
closed=27101 mport=27190

[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
for t in curl setpriv; do
    command -v $t > /dev/null || { echo "skip: no $t"; exit 77; }
done
getent passwd nobody > /dev/null || { echo "skip: no user nobody"; exit 77; }
nuid=$(id -u nobody)
ngid=$(id -g nobody)

tmp=$(mktemp -d)
chmod 755 "$tmp"
rd=
cleanup() {
    [ -n "$rd" ] && kill "$rd" 2> /dev/null
    wait 2> /dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok   $*"; }

wait_for() {    # wait_for FILE PATTERN TENTHS
    local i
    for ((i = 0; i < $3; i++)); do
        grep -q -- "$2" "$1" 2> /dev/null && return 0
        sleep 0.1
    done
    return 1
}
count_records() { cat "$@" 2> /dev/null | grep -c '"type":"connection"'; }
wait_records() {    # wait_records N TENTHS FILE...
    local n=$1 t=$2 i
    shift 2
    for ((i = 0; i < t; i++)); do
        [ "$(count_records "$@")" -ge "$n" ] && return 0
        sleep 0.1
    done
    return 1
}

# --- live, -Z nobody ---------------------------------------------------
mkdir "$tmp/out"
chown nobody "$tmp/out"
"$bin" -i lo -Z nobody --json --output "$tmp/out/out.jsonl" \
    --metrics $ip:$mport --upstream $ip:$closed \
    "host $ip and tcp port $closed" 2> "$tmp/err" &
rd=$!
wait_for "$tmp/err" "listening on" 100 \
    || { fail "rstdiag not ready: $(cat "$tmp/err")"; exit 1; }

st=/proc/$rd/status
read -r _ u1 u2 u3 u4 < <(grep '^Uid:' $st)
read -r _ g1 g2 g3 g4 < <(grep '^Gid:' $st)
groups=$(awk '/^Groups:/ { $1 = ""; print }' $st | tr -d ' ')
ceff=$(awk '/^CapEff:/ { print $2 }' $st)
cprm=$(awk '/^CapPrm:/ { print $2 }' $st)
if [ "$u1 $u2 $u3 $u4" = "$nuid $nuid $nuid $nuid" ]; then
    ok "uid $nuid (real, effective, saved, fs)"
else
    fail "Uid: $u1 $u2 $u3 $u4, want $nuid"
fi
if [ "$g1 $g2 $g3 $g4" = "$ngid $ngid $ngid $ngid" ]; then
    ok "gid $ngid"
else
    fail "Gid: $g1 $g2 $g3 $g4, want $ngid"
fi
case "$groups" in
    ''|"$ngid") ok "supplementary groups: '${groups}'" ;;
    *) fail "supplementary groups: $groups" ;;
esac
if [ "$ceff" = 0000000000000000 ] && [ "$cprm" = 0000000000000000 ]; then
    ok "no capabilities"
else
    fail "CapEff $ceff CapPrm $cprm"
fi
owner=$(stat -c %u "$tmp/out/out.jsonl")
[ "$owner" = "$nuid" ] && ok "--output handed to nobody" \
    || fail "--output owned by uid $owner"

for i in 1 2; do
    curl -s -m 2 -o /dev/null http://$ip:$closed/
done
if wait_records 2 80 "$tmp/out/out.jsonl"; then
    ok "capture works after the drop"
else
    fail "2 records wanted, $(count_records "$tmp/out/out.jsonl") written"
fi
grep -q '"verdict":"upstream_refused"' "$tmp/out/out.jsonl" \
    || fail "no upstream_refused record"
if curl -s -f -o "$tmp/m.txt" http://$ip:$mport/metrics \
    && grep -q '^rstdiag_packets_total [1-9]' "$tmp/m.txt"
then
    ok "/metrics answers as nobody"
else
    fail "/metrics after the drop"
fi

mv "$tmp/out/out.jsonl" "$tmp/out/out.jsonl.1"
kill -HUP $rd
sleep 0.5   # the reopen is handled on the loop, between packets
[ -e "$tmp/out/out.jsonl" ] || fail "SIGHUP made no new --output file: $(cat "$tmp/err")"
curl -s -m 2 -o /dev/null http://$ip:$closed/
if wait_records 1 80 "$tmp/out/out.jsonl"; then
    ok "SIGHUP as nobody: records go to the new file"
else
    fail "new file: $(count_records "$tmp/out/out.jsonl") records"
fi
[ "$(count_records "$tmp/out/out.jsonl.1")" = 2 ] \
    || fail "old file: $(count_records "$tmp/out/out.jsonl.1") records, want 2"

kill -TERM $rd
wait $rd
rc=$?
rd=
[ $rc = 1 ] && ok "SIGTERM: exit 1" || fail "SIGTERM: exit $rc, want 1"
grep -q '"final":true' "$tmp/out/out.jsonl" || fail "no final summary"

# --- offline, -Z nobody --output --------------------------------------
"$bin" -r "$pcap" -Z nobody --json --output "$tmp/off.jsonl" 2> "$tmp/err.off"
rc=$?
owner=$(stat -c %u "$tmp/off.jsonl" 2> /dev/null)
if [ "$owner" = "$nuid" ] && [ "$(count_records "$tmp/off.jsonl")" -ge 1 ]
then
    ok "offline: --output nobody's, records written (exit $rc)"
else
    fail "offline: owner '$owner', exit $rc, $(cat "$tmp/err.off")"
fi

# --- a drop that cannot happen ----------------------------------------
setpriv --reuid="$nuid" --regid="$ngid" --clear-groups \
    "$bin" -r "$pcap" -Z root --json > "$tmp/o.root" 2> "$tmp/e.root"
rc=$?
if [ $rc = 2 ] && grep -q "cannot become 'root'" "$tmp/e.root" \
    && [ ! -s "$tmp/o.root" ]
then
    ok "-Z root as nobody: exit 2, $(head -1 "$tmp/e.root")"
else
    fail "-Z root as nobody: exit $rc, $(cat "$tmp/e.root"), $(wc -c < "$tmp/o.root") bytes out"
fi

"$bin" -r "$pcap" -Z no-such-user-rstdiag > "$tmp/o.nu" 2> "$tmp/e.nu"
rc=$?
if [ $rc = 2 ] && grep -q "no such user 'no-such-user-rstdiag'" "$tmp/e.nu"
then
    ok "-Z unknown user: exit 2"
else
    fail "-Z unknown user: exit $rc, $(cat "$tmp/e.nu")"
fi

echo "$fails failed"
[ $fails = 0 ]
