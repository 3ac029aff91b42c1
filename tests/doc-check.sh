#!/bin/sh
# The man page, --help and the README agree with the program: every option
# --help lists is in man/rstdiag.8 and README.md, every JSON key the program
# writes is documented in the man page, and mandoc -Tlint is clean.
# usage: doc-check.sh RSTDIAG SOURCE_ROOT
set -u
bin=$1 root=$2
man=$root/man/rstdiag.8
readme=$root/README.md
fails=0
for opt in $("$bin" --help | grep -o -- '--[a-z][a-z-]*' | sort -u) \
           $("$bin" --help | grep -o -- '^  -[a-zA-Z]' | tr -d ' ' | sort -u); do
    flag=${opt#-}
    flag=${flag#-}
    if ! grep -q -- "Fl Fl $flag\b\|Fl $flag\b" "$man"; then
        echo "FAIL: $opt is in --help but not in the man page"
        fails=$((fails + 1))
    fi
    if ! grep -q -- "\`$opt\b\|\`$opt " "$readme"; then
        echo "FAIL: $opt is in --help but not in README.md"
        fails=$((fails + 1))
    fi
done
# JSON keys: every key of the records the bundled captures produce
evdir=$(mktemp -d)
keys=$({ for f in "$root"/pcaps/*.pcap; do "$bin" -r "$f" --json --all 2>/dev/null; done
        "$bin" -r "$root/pcaps/lab-rst_before_header.pcap" --json \
            --evidence "$evdir" 2>/dev/null; } |
    python3 -c '
import json, sys
keys = set()
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k not in ("client", "server") or not isinstance(v, (int, float)):
                keys.add(k)
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
for line in sys.stdin:
    walk(json.loads(line))
print("\n".join(sorted(keys)))')
rm -rf "$evdir"
for k in $keys; do
    if ! grep -q "Cm $k\b\|Cm .*, $k\b\|Cm .* $k ,\|Cm .*[ ,]$k\b" "$man"; then
        echo "FAIL: JSON key '$k' is not documented in the man page"
        fails=$((fails + 1))
    fi
done
# every verdict code is documented in the man page and the README
for v in $("$bin" --list-verdicts | grep -v '^ '); do
    if ! grep -q "^\.It Cm $v\$" "$man"; then
        echo "FAIL: verdict '$v' has no entry in the man page's VERDICTS"
        fails=$((fails + 1))
    fi
    if ! grep -q "\`$v\`" "$readme"; then
        echo "FAIL: verdict '$v' is not in README.md"
        fails=$((fails + 1))
    fi
done
# every version boundary of the version table is in the man page's
# Versions section, with the verdict it changes
vsec=$(sed -n '/^\.Ss Versions/,/^\.Sh /p' "$man")
"$bin" --list-verdicts | awk '/^[a-z]/ { code = $1 }
    /^  nginx [<>]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[<>]=?[0-9]/) {
        v = $i; gsub(/[<>=:,]/, "", v); print code, v } }' | sort -u |
while read -r code ver; do
    if ! printf '%s\n' "$vsec" | grep -q "$ver"; then
        echo "FAIL: version $ver of $code is not in the man page's Versions"
        exit 1
    fi
    if ! printf '%s\n' "$vsec" | grep -q "Cm $code\b"; then
        echo "FAIL: $code changes with the version but is not in Versions"
        exit 1
    fi
done || fails=$((fails + 1))
if command -v mandoc > /dev/null; then
    lint=$(mandoc -Tlint -Wwarning "$man" 2>&1)
    if [ -n "$lint" ]; then
        echo "FAIL: mandoc -Tlint: $lint"
        fails=$((fails + 1))
    fi
fi
[ $fails -eq 0 ] && echo "docs agree with the program" && exit 0
exit 1
