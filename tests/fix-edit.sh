#!/bin/sh
# tests/fix-edit.sh RSTDIAG SRCDIR: fixes as edits (issue 16).  For lab
# captures in pcaps/ (recorded in topology "one": nginx on 127.0.0.2:PORT,
# upstream 127.0.0.21:PORT+1), writes the lab's nginx configuration of the
# scenario, has Debian's nginx print it with -T, hands that to rstdiag
# --nginx-conf and asserts the fix_edit of the upstream leg: directive,
# value in force, file:line (or default), and the value to set.
# Skips (77) without nginx.
set -u
bin=$1
src=$2
NGINX_BIN=${LAB_NGINX:-/usr/sbin/nginx}
[ -x "$NGINX_BIN" ] || { echo "SKIP: $NGINX_BIN not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# conf NAME PORT UPSTREAM_LINES LOCATION_LINES: writes $tmp/NAME/nginx.conf
conf() {
    d=$tmp/$1
    mkdir -p "$d/logs"
    cat > "$d/nginx.conf" <<EOC
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    upstream up {
        server 127.0.0.21:$(($2 + 1));
$3
    }
    server {
        listen 127.0.0.2:$2;
        location / {
            proxy_pass http://up;
$4
        }
    }
}
EOC
    env -u NGINX "$NGINX_BIN" -T -p "$d" -c "$d/nginx.conf" > "$d/T" 2> "$d/T.err" \
        || { echo "FAIL: nginx -T on $1: $(cat "$d/T.err")"; fail=1; return 1; }
}

# check NAME PCAP DIRECTIVE CURRENT WHERE SET SIDE
check() {
    out=$("$bin" -r "$src/pcaps/$2" --json --nginx-conf "$tmp/$1/T")
    rc=$?
    if [ $rc -gt 1 ]; then
        echo "FAIL: $1: rstdiag exited $rc"; fail=1; return
    fi
    where=$5
    case $where in
    default) ;;
    *) where="$tmp/$1/nginx.conf:$(grep -n "$where" "$tmp/$1/nginx.conf" \
                                   | head -n 1 | cut -d: -f1)" ;;
    esac
    printf '%s\n' "$out" | python3 -c '
import json, sys
name, d, cur, where, want_set, side = sys.argv[1:]
got = [json.loads(l) for l in sys.stdin]
ups = [o for o in got if o.get("type") == "connection"
       and o.get("leg") == "upstream_leg" and o.get("fix_edit")]
if not ups:
    print("FAIL: %s: no upstream leg with fix_edit" % name); sys.exit(1)
fe = ups[0]["fix_edit"]
want = {"directive": d, "current": cur, "where": where,
        "set": None if want_set == "-" else want_set, "side": side}
bad = {k: (fe.get(k), v) for k, v in want.items() if fe.get(k) != v}
if bad:
    print("FAIL: %s: fix_edit %s differs: %s" % (name, fe, bad)); sys.exit(1)
print("ok: %s: %s %s (%s) -> %s [%s]" % (name, d, cur, where, want_set, side))
' "$1" "$3" "$4" "$where" "$6" "$7" || fail=1
}

conf slow 21090 "" "            proxy_read_timeout 1s;" \
    && check slow lab-slow.pcap proxy_read_timeout 1s proxy_read_timeout 2s nginx
conf big_header 21080 "" "" \
    && check big_header lab-big_header.pcap proxy_buffer_size 4k default 16k nginx
conf chunked 21050 "" "" \
    && check chunked lab-chunked_http10.pcap proxy_http_version 1.0 default 1.1 nginx
conf rst 21000 "" "            proxy_read_timeout 300s;" \
    && check rst lab-rst_before_header.pcap proxy_read_timeout 300s \
             proxy_read_timeout - backend
conf race 21120 "        keepalive 4;
        keepalive_timeout 75s;" "            proxy_http_version 1.1;
            proxy_set_header Connection \"\";" \
    && check race lab-keepalive_race.pcap keepalive_timeout 75s \
             keepalive_timeout 249ms nginx
# a slow client: proxy_max_temp_file_size 0 gets a size for the 4 MiB
# response; proxy_buffering off gets on; the default 1024m could hold it
# all, so the stall was not nginx's cap: the backend's send timeout
conf temp0 21290 "" "            proxy_max_temp_file_size 0;
            proxy_buffers 4 4k;" \
    && check temp0 lab-slow_client_temp_file.pcap proxy_max_temp_file_size 0 \
             "proxy_max_temp_file_size 0" 4m nginx
conf temp0_rst 21295 "" "            proxy_max_temp_file_size 0;" \
    && check temp0_rst lab-slow_client_temp_file_rst.pcap \
             proxy_max_temp_file_size 0 "proxy_max_temp_file_size 0" 4m nginx
conf buffering_off 21290 "" "            proxy_buffering off;" \
    && check buffering_off lab-slow_client_temp_file.pcap proxy_buffering off \
             "proxy_buffering off" on nginx
conf temp_default 21290 "" "" \
    && check temp_default lab-slow_client_temp_file.pcap \
             proxy_max_temp_file_size 1024m default - backend
exit $fail
