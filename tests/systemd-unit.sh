#!/bin/bash
# contrib/rstdiag.service (issue 15, "Privilege"):
#   - systemd-analyze verify passes on it (the binary path replaced by the
#     one under test, the man page on MANPATH), with nothing on stderr;
#   - it keeps the hardening it promises;
#   - what it grants is enough and nothing less would do: as nobody with
#     CAP_NET_RAW alone (the unit's AmbientCapabilities), rstdiag -i lo
#     captures, writes its records and serves /metrics; without it, exit 2
#     with "permission denied".
# Addresses and ports of its own: 127.0.0.89, 27301, 27390.
# Skips (77) without systemd-analyze, setpriv, curl or root.
# usage: systemd-unit.sh RSTDIAG UNIT MANPAGE
set -u
bin=$(readlink -f "$1")
unit=$(readlink -f "$2")
page=$(readlink -f "$3")
ip=127.0.0.89
closed=27301 mport=27390

[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
for t in systemd-analyze setpriv curl; do
    command -v $t > /dev/null || { echo "skip: no $t"; exit 77; }
done
nuid=$(id -u nobody) || { echo "skip: no user nobody"; exit 77; }
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

# --- verify --------------------------------------------------------------
grep -q '^ExecStart=/usr/local/bin/rstdiag ' "$unit" \
    || fail "ExecStart does not start /usr/local/bin/rstdiag"
sed "s#/usr/local/bin/rstdiag#$bin#" "$unit" > "$tmp/rstdiag.service"
mkdir -p "$tmp/man/man8"
ln -s "$page" "$tmp/man/man8/rstdiag.8"
if (cd "$tmp" && MANPATH=$tmp/man systemd-analyze verify rstdiag.service) \
        > "$tmp/verify.out" 2>&1 && [ ! -s "$tmp/verify.out" ]
then
    ok "systemd-analyze verify"
else
    fail "systemd-analyze verify: $(cat "$tmp/verify.out")"
fi
for want in 'CapabilityBoundingSet=CAP_NET_RAW' 'AmbientCapabilities=CAP_NET_RAW' \
    'NoNewPrivileges=yes' 'ProtectSystem=strict' 'DynamicUser=yes' \
    'LogsDirectory=rstdiag' 'StateDirectory=rstdiag' \
    'ExecReload=/bin/kill -HUP $MAINPID' 'SuccessExitStatus=1' \
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_PACKET AF_NETLINK'
do
    grep -qxF -- "$want" "$unit" || fail "the unit lacks '$want'"
done
# the output it names is in the only writable log directory
grep -q -- '--output /var/log/rstdiag/' "$unit" \
    || fail "--output is not under LogsDirectory"

# --- the unit's privileges: nobody + CAP_NET_RAW --------------------------
mkdir "$tmp/log"
chown nobody "$tmp/log"
caps="--inh-caps=-all,+net_raw --ambient-caps=-all,+net_raw --bounding-set=-all,+net_raw"
setpriv --reuid="$nuid" --regid="$ngid" --clear-groups $caps \
    "$bin" -i lo --json --output "$tmp/log/rstdiag.jsonl" \
    --metrics $ip:$mport --upstream $ip:$closed "host $ip and tcp port $closed" \
    2> "$tmp/err" &
rd=$!
for ((i = 0; i < 100; i++)); do
    grep -q "listening on" "$tmp/err" 2> /dev/null && break
    sleep 0.1
done
grep -q "listening on" "$tmp/err" || { fail "not listening: $(cat "$tmp/err")"; exit 1; }
curl -s -m 2 -o /dev/null http://$ip:$closed/
for ((i = 0; i < 80; i++)); do
    grep -q '"verdict":"upstream_refused"' "$tmp/log/rstdiag.jsonl" 2> /dev/null && break
    sleep 0.1
done
if grep -q '"verdict":"upstream_refused"' "$tmp/log/rstdiag.jsonl" 2> /dev/null; then
    ok "nobody with CAP_NET_RAW alone: captured and decided"
else
    fail "nobody with CAP_NET_RAW: no record: $(cat "$tmp/err")"
fi
curl -s -f http://$ip:$mport/metrics | grep -q '^rstdiag_packets_total [1-9]' \
    && ok "/metrics as nobody" || fail "/metrics as nobody"
kill -TERM $rd
wait $rd
rc=$?
rd=
[ $rc = 1 ] && ok "SIGTERM: exit 1 (SuccessExitStatus)" || fail "SIGTERM: exit $rc"

setpriv --reuid="$nuid" --regid="$ngid" --clear-groups \
    --inh-caps=-all --bounding-set=-all \
    "$bin" -i lo --json "host $ip" > /dev/null 2> "$tmp/err2"
rc=$?
if [ $rc = 2 ] && grep -q "lo: permission denied" "$tmp/err2"; then
    ok "without CAP_NET_RAW: exit 2, $(head -1 "$tmp/err2")"
else
    fail "without CAP_NET_RAW: exit $rc, $(cat "$tmp/err2")"
fi

echo "$fails failed"
[ $fails = 0 ]
