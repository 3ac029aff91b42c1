#!/bin/sh
# The JSON contract (../shared/tools/json-contract) over every bundled capture
# and the public ones; skips (77) when the shared tools are absent.
# usage: json-contract.sh RSTDIAG SOURCE_ROOT
bin=$1 root=$2
tool=$root/../shared/tools/json-contract
[ -x "$tool" ] || [ -f "$tool" ] || { echo "skip: $tool is absent"; exit 77; }
set --
for f in "$root"/pcaps/*.pcap "$root"/pcaps/*.pcapng \
         "$root"/../shared/pcaps-public/*.pcap "$root"/../shared/pcaps-public/*.pcapng; do
    [ -f "$f" ] || continue
    # captures rstdiag refuses (exit 2) are the bad-input test's business
    "$bin" -r "$f" --json > /dev/null 2>&1
    [ $? -eq 2 ] && continue
    set -- "$@" "$f"
done
python3 "$tool" "$bin" "$@"
