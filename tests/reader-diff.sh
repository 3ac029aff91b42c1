#!/bin/sh
# Our readers (capture.c + pcapfile.c, pcapngfile.c) against libpcap's
# pcap_next_ex (RSTDIAG_READER=libpcap): for every capture in pcaps/, in
# ../shared/pcaps-public/ when present, and for captures grown here past
# the 1 MiB read block (classic pcap and pcapng, both byte orders,
# nanoseconds, two interfaces, skipped blocks, cut mid-record and
# mid-header), rstdiag --json --all must print the same bytes on stdout
# and stderr and exit the same way.  Also: merged files, a filter,
# standard input from a file and from a pipe, and editcap's pcapng copies
# of the bundled classic captures when editcap is installed.
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

# pcapng: the same packets as EPBs on two interfaces (microseconds; 10^-9
# and an offset), with statistics and custom blocks between them
def block(order, btype, body):
    body += bytes(-len(body) % 4)
    n = struct.pack(order + "I", 12 + len(body))
    return struct.pack(order + "I", btype) + n + body + n

def idb(order, tsresol=None, tsoffset=0):
    opts = b""
    if tsresol is not None:
        opts += struct.pack(order + "HH", 9, 1) + bytes([tsresol, 0, 0, 0])
    if tsoffset:
        opts += struct.pack(order + "HHq", 14, 8, tsoffset)
    snaplen = struct.unpack("<I", hdr[16:20])[0]
    return block(order, 1, struct.pack(order + "HHI", 1, 0, snaplen) + opts
                 + struct.pack(order + "HH", 0, 0))

def write_ng(name, order, reps):
    b = bytearray(block(order, 0x0a0d0d0a, struct.pack(
        order + "IHHq", 0x1a2b3c4d, 1, 0, -1)))
    b += idb(order) + idb(order, 9, -3600)
    starts = []
    for r in range(reps):
        for i, (sec, usec, caplen, length, payload) in enumerate(recs):
            sec += 3600 * r
            if i % 2:
                ifid, ts = 1, (sec + 3600) * 10**9 + usec * 1000 + r
            else:
                ifid, ts = 0, sec * 10**6 + usec
            starts.append(len(b))
            b += block(order, 6, struct.pack(order + "IIIII", ifid, ts >> 32,
                                             ts & 0xffffffff, caplen, length)
                       + payload)
            if i % 97 == 0:
                b += block(order, 5, bytes(20))
            if i % 131 == 0:
                b += block(order, 0xbad, b"custom")
    open(out + "/" + name, "wb").write(b)
    return b, starts

ng, starts = write_ng("big-le.pcapng", "<", 9)
write_ng("big-be.pcapng", ">", 7)
for s in starts:
    if s > 2200000:
        open(out + "/big-cut-data.pcapng", "wb").write(ng[:s + 40])
        open(out + "/big-cut-header.pcapng", "wb").write(ng[:s + 5])
        break
EOF

# editcap's pcapng copies: what dumpcap and Wireshark write, link types
# whose LINKTYPE_ and DLT_ differ included
if command -v editcap > /dev/null 2>&1; then
    for f in "$root"/pcaps/*.pcap; do
        editcap -F pcapng "$f" "$tmp/ng-$(basename "$f")ng" 2> /dev/null \
            || rm -f "$tmp/ng-$(basename "$f")ng"
    done
else
    echo "skip: editcap is absent"
fi

for f in "$root"/pcaps/*.pcap "$root"/pcaps/*.pcapng "$tmp"/big-*.pcap \
    "$tmp"/big-*.pcapng "$tmp"/ng-*.pcapng
do
    [ -e "$f" ] || continue
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
same "merge-ng" "$bin" -r "$tmp/big-le.pcapng" -r "$tmp/big-be.pcapng" \
    -r "$tmp/big-cut-header.pcapng" --json --all
same "filter-ng" "$bin" -r "$tmp/big-be.pcapng" --json --all \
    'tcp[tcpflags] & (tcp-rst|tcp-fin) != 0 or port 9000'
same "count" "$bin" -r "$tmp/big-be-nsec.pcap" -c 1000 --json --all
same "stdin-file" sh -c '"$1" -r - --json --all < "$2"' sh "$bin" \
    "$tmp/big-cut-header.pcap"
same "stdin-pipe" sh -c 'cat "$2" | "$1" -r - --json --all' sh "$bin" \
    "$tmp/big-le.pcap"
same "stdin-file-ng" sh -c '"$1" -r - --json --all < "$2"' sh "$bin" \
    "$tmp/big-cut-data.pcapng"

[ $fails -eq 0 ] && echo "readers agree on $runs runs" && exit 0
echo "$fails of $runs runs differ"
exit 1
