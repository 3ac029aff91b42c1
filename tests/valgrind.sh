#!/bin/sh
# Every capture in pcaps/ through rstdiag under valgrind's memcheck, JSON
# (--json --all) and text (-v), then the adversarial captures written by
# tests/adversarial/make (JSON only): no invalid read or write, no use of
# uninitialised memory, no definite leak.  rstdiag's own exit status (0, 1,
# or 2 for the captures that are meant to be refused) is not judged here;
# valgrind's --error-exitcode 99, a signal, or any other status fails.
# usage: valgrind.sh RSTDIAG SOURCE_ROOT
# Skips (77) without valgrind, or when RSTDIAG is a sanitizer build (ASan
# and valgrind cannot run together; that build has its own checks).
set -u
bin=$1 root=$2
if ! command -v valgrind > /dev/null 2>&1; then
    echo "skip: valgrind is not installed"
    exit 77
fi
if grep -q __asan_init "$bin"; then
    echo "skip: $bin is an AddressSanitizer build"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 n=0

adv=
if command -v python3 > /dev/null 2>&1 \
    && python3 "$root/tests/adversarial/make" "$tmp/adv"; then
    adv=$(ls "$tmp"/adv/*.pcap "$tmp"/adv/*.pcapng)
fi

for f in "$root"/pcaps/*.pcap "$root"/pcaps/*.pcapng $adv; do
    [ -f "$f" ] || continue
    modes="json text"
    case $f in "$tmp"/*) modes=json ;; esac
    for mode in $modes; do
        if [ "$mode" = json ]; then set -- --json --all; else set -- -v; fi
        n=$((n + 1))
        valgrind -q --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite --track-origins=yes \
            "$bin" -r "$f" "$@" > /dev/null 2> "$tmp/err" < /dev/null
        rc=$?
        case $rc in
        0|1|2) ;;
        *)
            echo "FAIL $(basename "$f") ($mode): exit $rc"
            sed -n '1,60p' "$tmp/err"
            fails=$((fails + 1))
            ;;
        esac
    done
done
echo "$n runs under valgrind, $fails with errors"
[ "$fails" = 0 ]
