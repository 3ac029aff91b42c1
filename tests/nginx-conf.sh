#!/bin/sh
# --nginx-conf: an upstream block names the upstream legs of a lab capture
# (upstream_name); then Debian's own configuration: nginx -T of
# /etc/nginx/nginx.conf fed on stdin with a small capture; exit 0 or 1 and
# the summary's nginx_conf counts.  Skips (77) without nginx or its
# configuration.
# usage: nginx-conf.sh RSTDIAG SOURCE_ROOT
set -u
bin=$1 root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf 'http {\n upstream app { server 127.0.0.21:21081; }\n server {\n  listen 127.0.0.1:8080;\n  location / { proxy_pass http://app; }\n }\n}\n' \
    > "$tmp/up.conf"
"$bin" -r "$root/pcaps/lab-big_header.pcap" --json --all \
    --nginx-conf "$tmp/up.conf" > "$tmp/up.out" 2> "$tmp/up.err"
[ $? -le 1 ] || { echo "FAIL: upstream_name run: $(cat "$tmp/up.err")"; exit 1; }
python3 -c '
import json, sys
ups = clients = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "summary":
        nc = r["nginx_conf"]
        if (nc["directives"], nc["upstreams"], nc["locations"]) != (7, 1, 1):
            sys.exit("FAIL: nginx_conf %r" % nc)
    elif r.get("leg") == "upstream_leg":
        ups += 1
        if r.get("upstream_name") != "app":
            sys.exit("FAIL: upstream_name %r" % r.get("upstream_name"))
    elif "upstream_name" in r:
        sys.exit("FAIL: upstream_name on a %s" % r.get("leg"))
if ups == 0:
    sys.exit("FAIL: no upstream leg")
print("ok: upstream_name on %d upstream legs" % ups)
' "$tmp/up.out" || exit 1
tool=$root/../shared/tools/json-contract
if [ -f "$tool" ] && ! python3 "$tool" --stdin < "$tmp/up.out" > "$tmp/contract"; then
    echo "FAIL: json contract: $(cat "$tmp/contract")"
    exit 1
fi

nginx=/usr/sbin/nginx
conf=/etc/nginx/nginx.conf
[ -x "$nginx" ] || { echo "skip: $nginx is absent"; exit 77; }
[ -f "$conf" ] || { echo "skip: $conf is absent"; exit 77; }
if ! "$nginx" -T -c "$conf" > "$tmp/dump" 2> "$tmp/err"; then
    echo "skip: nginx -T failed: $(cat "$tmp/err")"
    exit 77
fi
# nginx's own stderr lines pasted in front, as users do
cat "$tmp/err" "$tmp/dump" > "$tmp/pasted"
"$bin" --nginx-conf - -r "$root/pcaps/crafted-eth.pcap" --json \
    < "$tmp/pasted" > "$tmp/out" 2> "$tmp/rerr"
rc=$?
if [ $rc -gt 1 ]; then
    echo "FAIL: exit $rc: $(cat "$tmp/rerr")"
    exit 1
fi
# the counts: directives and blocks as a second reading of the dump
# (python, independent of the C parser) finds them
tail -n 1 "$tmp/out" | python3 -c '
import json, re, sys
s = json.loads(sys.stdin.read())
nc = s.get("nginx_conf")
if nc is None:
    sys.exit("FAIL: no nginx_conf in the summary")
text = open(sys.argv[1]).read()
body = "\n".join(l for l in text.split("\n") if not l.startswith("nginx: "))
# strip comments, then quoted strings, then count ; and { (Debian has no
# "#" inside quotes; its comments hold apostrophes)
body = re.sub(r"(^|\s)#[^\n]*", " ", body)
body = re.sub(r"\"(\\.|[^\"])*\"|\x27(\\.|[^\x27])*\x27", "q", body)
want = body.count(";") + body.count("{")
locs = len(re.findall(r"(^|[\s;{}])location\s", body))
ups = len(re.findall(r"(^|[\s;{}])upstream\s", body))
got = (nc["directives"], nc["locations"], nc["upstreams"])
print("nginx_conf:", nc)
if nc["file"] != "-" or got != (want, locs, ups):
    sys.exit("FAIL: nginx_conf %r, want directives %d locations %d "
             "upstreams %d" % (nc, want, locs, ups))
l = s.get("nginx", {}).get("listen", [])
print("listen:", l)
if re.search(r"listen\s+80;", body) and \
        not any(a["addr"] == "0.0.0.0:80" for a in l):
    sys.exit("FAIL: listen 80 not declared as a wildcard")
' "$tmp/pasted" || exit 1
echo "ok: Debian's configuration read"
