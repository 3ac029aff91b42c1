#!/bin/sh
# Golden test: rstdiag's JSON for pcaps/NAME must equal tests/golden/NAME.jsonl.
# usage: golden.sh RSTDIAG SOURCE_ROOT NAME [extra rstdiag options...]
# Regenerate every expected file with tests/golden/regen (then review the diff).
set -u
bin=$1 root=$2 name=$3
shift 3
exp="$root/tests/golden/$name.jsonl"
[ -f "$exp" ] || { echo "no expected output $exp"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bin" -r "$root/pcaps/$name" --json --all "$@" > "$out" 2>/dev/null
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
    echo "rstdiag exited $rc on $name"
    exit 1
fi
# the summary names the input by path: compare everything else
if ! diff -u "$exp" "$out" | sed "s|$root/||g" | grep -q '^[-+][^-+]'; then
    exit 0
fi
if sed "s|\"name\":\"[^\"]*/pcaps/|\"name\":\"pcaps/|" "$out" | diff -u "$exp" -; then
    exit 0
fi
echo "FAIL: output for $name differs from $exp (above)"
exit 1
