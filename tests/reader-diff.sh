#!/bin/sh
# Our classic pcap reader (capture.c + pcapfile.c) against libpcap's
# pcap_next_ex (RSTDIAG_READER=libpcap): for every capture in pcaps/, in
# ../shared/pcaps-public/ when present, and for captures grown here past
# the 1 MiB read block (both byte orders, nanoseconds, cut mid-record and
# mid-header), rstdiag --json --all must print the same bytes on stdout
# and stderr and exit the same way.  Also: merged files, a filter,
# standard input from a file and from a pipe.
# usage: reader-diff.sh RSTDIAG SOURCE_ROOT
set -u
bin=$1 root=$2
public=$root/../shared/pcaps-public
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 runs=0

# same NAME COMMAND...: COMMAND's outputs and status with both readers
same() {
    name=$1
    shift
    RSTDIAG_READER= "$@" > "$tmp/own.out" 2> "$tmp/own.err"
    echo "exit $?" >> "$tmp/own.err"
    RSTDIAG_READER=libpcap "$@" > "$tmp/lib.out" 2> "$tmp/lib.err"
    echo "exit $?" >> "$tmp/lib.err"
    runs=$((runs + 1))
    if ! cmp -s "$tmp/own.out" "$tmp/lib.out" \
        || ! cmp -s "$tmp/own.err" "$tmp/lib.err"
    then
        echo "FAIL: $name: the readers differ"
        diff "$tmp/lib.out" "$tmp/own.out" | head -5 | cut -c1-200
        diff "$tmp/lib.err" "$tmp/own.err" | head -5 | cut -c1-200
        fails=$((fails + 1))
    fi
}

# Captures bigger than the read block, from a bundled one repeated with
# later timestamps: every block boundary falls inside some record.
python3 - "$root/pcaps/lab-fpm_healthy.pcap" "$tmp" <<'EOF' || exit 1
import struct, sys
src, out = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
assert struct.unpack("<I", data[:4])[0] == 0xa1b2c3d4, "want a LE usec file"
hdr, recs, off = data[:24], [], 24
while off < len(data):
    sec, usec, caplen, length = struct.unpack("<IIII", data[off:off + 16])
    recs.append((sec, usec, caplen, length, data[off + 16:off + 16 + caplen]))
    off += 16 + caplen

def write(name, order, nsec, reps):
    magic = 0xa1b23c4d if nsec else 0xa1b2c3d4
    b = bytearray(struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0,
                              *struct.unpack("<II", hdr[16:24])))
    for r in range(reps):
        for sec, usec, caplen, length, payload in recs:
            frac = usec * 1000 + r if nsec else usec
            b += struct.pack(order + "IIII", sec + 3600 * r, frac, caplen,
                             length) + payload
    open(out + "/" + name, "wb").write(b)
    return b

big = write("big-le.pcap", "<", False, 9)
write("big-be-nsec.pcap", ">", True, 7)
# cut past the second block: inside a record's data, then its header
off, cut_data, cut_hdr = 24, None, None
while off < len(big):
    caplen = struct.unpack("<I", big[off + 8:off + 12])[0]
    if off > 2200000 and caplen > 40 and cut_data is None:
        cut_data = off + 16 + caplen // 2
    elif cut_data is not None and off > cut_data and cut_hdr is None:
        cut_hdr = off + 9
    off += 16 + caplen
open(out + "/big-cut-data.pcap", "wb").write(big[:cut_data])
open(out + "/big-cut-header.pcap", "wb").write(big[:cut_hdr])
EOF

for f in "$root"/pcaps/*.pcap "$root"/pcaps/*.pcapng "$tmp"/big-*.pcap; do
    same "$(basename "$f")" "$bin" -r "$f" --json --all
done
if [ -d "$public" ]; then
    for f in "$public"/*; do
        case $f in
        *.tsv|*.md) continue ;;
        esac
        same "public/$(basename "$f")" "$bin" -r "$f" --json --all
    done
else
    echo "skip: $public is absent"
fi

same "merge" "$bin" -r "$tmp/big-le.pcap" -r "$tmp/big-be-nsec.pcap" \
    -r "$root/pcaps/crafted-ng-eth.pcapng" -r "$tmp/big-cut-data.pcap" \
    --json --all
same "filter" "$bin" -r "$tmp/big-le.pcap" -r "$root/pcaps/crafted-sll.pcap" \
    --json --all 'tcp[tcpflags] & (tcp-rst|tcp-fin) != 0 or port 9000'
same "count" "$bin" -r "$tmp/big-be-nsec.pcap" -c 1000 --json --all
same "stdin-file" sh -c '"$1" -r - --json --all < "$2"' sh "$bin" \
    "$tmp/big-cut-header.pcap"
same "stdin-pipe" sh -c 'cat "$2" | "$1" -r - --json --all' sh "$bin" \
    "$tmp/big-le.pcap"

[ $fails -eq 0 ] && echo "readers agree on $runs runs" && exit 0
echo "$fails of $runs runs differ"
exit 1
