#!/bin/sh
# --evidence DIR (issue 15): every incident file is a pcapng file that
# capinfos and tshark read, with the verdict on the deciding packet and
# in the section comment; each JSON record's "evidence" is its file; the
# summary counts them; --evidence-max-files removes the oldest; -Z USER
# still writes there; on every bundled capture the records and the files
# agree.  Skips (77) without tshark and capinfos.
# usage: evidence.sh RSTDIAG SOURCE_ROOT
set -u
bin=$1 root=$2
p=$root/pcaps
command -v tshark > /dev/null && command -v capinfos > /dev/null || {
    echo "tshark or capinfos missing (Debian: tshark, wireshark-common)"
    exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
    echo "FAIL $*"
    fails=$((fails + 1))
}
# tshark 3.x and later name the field frame.comment, older pkt_comment
field=frame.comment
tshark -G fields 2> /dev/null | grep -q "	frame.comment	" || field=pkt_comment

# check_dir DIR JSONL: every file, and the records that name them; n is
# set to the number of files
check_dir() {
    dir=$1 out=$2
    n=0
    for f in "$dir"/*.pcapng; do
        [ -e "$f" ] || continue
        n=$((n + 1))
        base=${f##*/}
        case $base in
        rstdiag-[0-9]*T[0-9]*.[0-9]*-[a-z_0-9]*-*.pcapng) ;;
        *) fail "name $base" ;;
        esac
        if printf '%s' "$base" | LC_ALL=C grep -q '[^A-Za-z0-9._-]'; then
            fail "unsafe name $base"
        fi
        verdict=$(echo "$base" | sed 's/^rstdiag-[^-]*-\([a-z_0-9]*\)-.*/\1/')
        capinfos "$f" > "$tmp/capinfos" 2>&1 \
            || fail "capinfos $base: $(cat "$tmp/capinfos")"
        grep -q 'File type: *Wireshark/... - pcapng' "$tmp/capinfos" \
            || fail "capinfos $base: not pcapng"
        capinfos -k "$f" 2> /dev/null | grep -q "rstdiag: $verdict " \
            || fail "capinfos -k $base: section comment lacks $verdict"
        tshark -r "$f" > "$tmp/tshark" 2>&1 \
            || fail "tshark -r $base: $(cat "$tmp/tshark")"
        [ -s "$tmp/tshark" ] || fail "tshark -r $base: no packets"
        c=$(tshark -r "$f" -Y "$field" -T fields -e "$field" 2> /dev/null)
        case $c in
        "rstdiag: $verdict "*) ;;
        *) fail "$base: packet comment '$c' lacks $verdict" ;;
        esac
        [ "$(printf '%s\n' "$c" | wc -l)" = 1 ] \
            || fail "$base: not one packet comment"
        # the record that names it
        m=$(grep -c "\"evidence\":\"$f\"" "$out")
        [ "$m" = 1 ] || fail "$base: named by $m records"
        grep "\"evidence\":\"$f\"" "$out" | grep -q "\"verdict\":\"$verdict\"" \
            || fail "$base: its record's verdict is not $verdict"
    done
}

# a capture with an error verdict on each leg
d=$tmp/one
mkdir "$d"
"$bin" -r "$p/lab-rst_before_header.pcap" --evidence "$d" --json \
    > "$tmp/one.jsonl" 2> "$tmp/err"
rc=$?
[ $rc = 1 ] || fail "exit $rc, want 1: $(cat "$tmp/err")"
check_dir "$d" "$tmp/one.jsonl"
[ "$n" = 2 ] || fail "$n files, want 2 (upstream and client leg)"
grep -c '"evidence":"' "$tmp/one.jsonl" | grep -qx 2 \
    || fail "records naming a file: $(grep -c '"evidence":"' "$tmp/one.jsonl")"
tail -n 1 "$tmp/one.jsonl" | grep -q '"evidence_files":{"written":2,"removed":0,' \
    || fail "summary: $(tail -n 1 "$tmp/one.jsonl")"
# the upstream leg's file holds its client leg too: the 502 to the client
f=$(ls "$d"/*upstream_reset_before_response*.pcapng)
tshark -r "$f" 2> /dev/null | grep -q '502 Bad Gateway' \
    || fail "upstream leg's file lacks the client leg's 502"
tshark -r "$f" -Y "$field" -T fields -e tcp.flags.reset 2> /dev/null \
    | grep -Eq '^(1|True)$' || fail "the comment is not on the RST"
# the client leg's file (the 502) holds the upstream leg that failed it,
# over before it: the upstream's RST is there, without a comment
f=$(ls "$d"/*bad_gateway*.pcapng)
tshark -r "$f" -Y 'ip.src == 127.0.0.21 && tcp.flags.reset == 1' \
    2> /dev/null | grep -q RST || fail "client leg's file lacks the upstream's RST"
# the text report names the file
"$bin" -r "$p/lab-rst_before_header.pcap" --evidence "$tmp/one" \
    > "$tmp/text" 2>&1
grep -q "^    evidence: $tmp/one/rstdiag-.*-2.pcapng" "$tmp/text" \
    || fail "text report does not name the file: $(grep evidence "$tmp/text")"
echo "ok   one incident per leg, read by tshark and capinfos"

# --evidence-max-files 2 on four incidents: the two newest stay
d=$tmp/max
mkdir "$d"
: > "$d/not-ours.txt"
"$bin" -r "$p/crafted-reset-cluster.pcap" --evidence "$d" --json \
    --evidence-max-files 2 > "$tmp/max.jsonl" 2> "$tmp/err"
all=$(grep -o '"evidence":"[^"]*"' "$tmp/max.jsonl" | sed 's/.*:"//; s/"$//')
[ "$(echo "$all" | wc -l)" = 4 ] || fail "max-files: $(echo "$all" | wc -l) records name a file, want 4"
kept=$(ls "$d"/*.pcapng | sort)
[ "$(echo "$kept" | wc -l)" = 2 ] || fail "max-files: $(echo "$kept" | wc -l) kept"
[ "$kept" = "$(echo "$all" | tail -n 2 | sort)" ] \
    || fail "max-files: kept $kept, not the newest two"
[ -e "$d/not-ours.txt" ] || fail "max-files removed a file not its own"
tail -n 1 "$tmp/max.jsonl" | grep -q '"evidence_files":{"written":4,"removed":2,"errors":0,"kept":2,' \
    || fail "max-files summary: $(tail -n 1 "$tmp/max.jsonl")"
check_dir "$d" "$tmp/max.jsonl"
echo "ok   --evidence-max-files removes the oldest"

# -Z: a root-owned directory is handed to USER, who writes the files
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
    d=$tmp/z
    mkdir "$d"
    chmod 755 "$tmp"
    "$bin" -r "$p/lab-rst_before_header.pcap" --evidence "$d" -Z nobody \
        > /dev/null 2> "$tmp/err"
    rc=$?
    [ $rc = 1 ] || fail "-Z: exit $rc: $(cat "$tmp/err")"
    [ "$(ls "$d" | wc -l)" = 2 ] || fail "-Z: $(ls "$d" | wc -l) files"
    [ "$(stat -c %U "$d"/*-upstream_reset_before_response-*)" = nobody ] \
        || fail "-Z: not written by nobody"
    echo "ok   -Z nobody writes the evidence"
fi

# every bundled capture: each record's file exists, each file is named
# by one record, and capinfos reads it as pcapng
for cap in "$p"/*.pcap "$p"/*.pcapng; do
    d=$tmp/all
    rm -rf "$d"
    mkdir "$d"
    "$bin" -r "$cap" --json --evidence "$d" > "$tmp/all.jsonl" 2> /dev/null
    grep -o '"evidence":"[^"]*"' "$tmp/all.jsonl" | sed 's/.*:"//; s/"$//' \
        | sort > "$tmp/named"
    ls "$d"/*.pcapng 2> /dev/null | sort > "$tmp/files"
    cmp -s "$tmp/named" "$tmp/files" \
        || fail "${cap##*/}: records name $(wc -l < "$tmp/named"), files $(wc -l < "$tmp/files")"
    for f in $(cat "$tmp/files"); do
        capinfos -t "$f" 2> /dev/null | grep -q pcapng \
            || fail "${cap##*/}: capinfos cannot read ${f##*/}"
    done
done
echo "ok   every bundled capture: records and files agree"

# --evidence-snaplen: packets cut to 256 bytes by default, their wire
# length kept (tshark's frame.len); 0 keeps them whole; under 128 is a
# usage error
d=$tmp/snap
mkdir "$d" "$d/0"
"$bin" -r "$p/lab-rst_before_header.pcap" --json --evidence "$d" \
    > /dev/null 2>&1
"$bin" -r "$p/lab-rst_before_header.pcap" --json --evidence "$d/0" \
    --evidence-snaplen 0 > /dev/null 2>&1
for f in "$d"/*.pcapng; do
    tshark -r "$f" -T fields -e frame.cap_len -e frame.len 2> /dev/null
done > "$tmp/snap.256"
for f in "$d"/0/*.pcapng; do
    tshark -r "$f" -T fields -e frame.cap_len -e frame.len 2> /dev/null
done > "$tmp/snap.0"
[ -s "$tmp/snap.256" ] || fail "snaplen: no packets"
awk '$1 > 256 { bad = 1 } END { exit bad }' "$tmp/snap.256" \
    || fail "snaplen: a packet over 256 bytes kept"
awk '$2 > 256 && $1 == 256 { cut = 1 } END { exit !cut }' "$tmp/snap.256" \
    || fail "snaplen: no packet cut with its length kept"
awk '$1 != $2 { bad = 1 } END { exit bad }' "$tmp/snap.0" \
    || fail "--evidence-snaplen 0: a packet cut"
[ "$(awk '{ print $2 }' "$tmp/snap.256")" = "$(awk '{ print $2 }' "$tmp/snap.0")" ] \
    || fail "snaplen: wire lengths differ from the whole packets'"
"$bin" -r "$p/lab-rst_before_header.pcap" --evidence "$d" \
    --evidence-snaplen 100 > /dev/null 2>&1
[ $? = 2 ] || fail "--evidence-snaplen 100: not a usage error"
echo "ok   --evidence-snaplen cuts packets, keeps their length"

# no --evidence: no key, no store
"$bin" -r "$p/lab-rst_before_header.pcap" --json > "$tmp/none.jsonl"
grep -q '"evidence":"' "$tmp/none.jsonl" && fail "evidence key without --evidence"
tail -n 1 "$tmp/none.jsonl" | grep -q '"evidence_files":' \
    && fail "summary evidence without --evidence"

[ $fails = 0 ] || exit 1
echo "all ok"
