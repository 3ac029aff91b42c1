#!/bin/sh
# TLS client legs paired with their upstream legs (issue 17), on captures
# of the lab's real nginx (pcaps/lab-two-tls_*: nginx on one address, its
# upstream connections from another) and on pcaps/crafted-tls-two-clients
# (made by pcaps/make-tls-two-clients: two TLS clients waiting at once).
#
#   tls-pairing.sh RSTDIAG SOURCE_ROOT
set -eu
bin=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the committed crafted capture is what its script makes
python3 "$root/pcaps/make-tls-two-clients" "$tmp"
cmp "$tmp/crafted-tls-two-clients.pcap" \
    "$root/pcaps/crafted-tls-two-clients.pcap" \
    || { echo "FAIL: pcaps/crafted-tls-two-clients.pcap is stale"; exit 1; }

for f in lab-two-tls_client_rst_before_header lab-two-tls_client_xff_mid_body \
         crafted-tls-two-clients
do
    "$bin" -r "$root/pcaps/$f.pcap" --json --all > "$tmp/$f.jsonl" || [ $? -eq 1 ]
done

python3 - "$tmp" <<'PY'
import json, os, sys
tmp = sys.argv[1]
fails = []


def load(name):
    recs = [json.loads(l) for l in open(os.path.join(tmp, name + '.jsonl'))]
    return {r['id']: r for r in recs if r.get('type') != 'summary'}, \
        [r for r in recs if r.get('type') == 'summary'][0]


def check(what, cond):
    if not cond:
        fails.append(what)


def legs(recs):
    ups = [r for r in recs.values() if r.get('leg') == 'upstream_leg']
    cls = [r for r in recs.values() if r.get('leg') == 'client_leg']
    return ups, cls


# timing alone, one candidate: paired, the client's verdict inferred
recs, summ = load('lab-two-tls_client_rst_before_header')
ups, cls = legs(recs)
check('rst_before_header: one upstream and one client leg',
      len(ups) == 1 and len(cls) == 1)
if len(ups) == 1 and len(cls) == 1:
    up, cl = ups[0], cls[0]
    check('rst_before_header: upstream paired with the client by timing',
          up.get('paired_with') == [cl['id']] and up.get('pairing') == 'timing')
    check('rst_before_header: client bad_gateway caused by the reset',
          cl.get('verdict') == 'bad_gateway'
          and cl.get('cause') == 'upstream_reset_before_response')
    check('rst_before_header: client confidence medium, inferred',
          cl.get('confidence') == 'medium'
          and 'inferred' in (cl.get('confidence_reason') or '')
          and 'timing' in (cl.get('confidence_reason') or ''))
    check('rst_before_header: no other candidate',
          not cl.get('pairing_candidates'))

# X-Forwarded-For: strong, roles learnt
recs, summ = load('lab-two-tls_client_xff_mid_body')
ups, cls = legs(recs)
if len(ups) == 1 and len(cls) == 1:
    up, cl = ups[0], cls[0]
    check('xff: pairing forwarded_header',
          up.get('pairing') == 'forwarded_header'
          and up.get('paired_with') == [cl['id']])
    check('xff: client response_cut_to_client caused by the mid-body reset',
          cl.get('verdict') == 'response_cut_to_client'
          and cl.get('cause') == 'upstream_reset_mid_body')
    check('xff: the reason says inferred, not timing',
          'inferred' in (cl.get('confidence_reason') or '')
          and 'timing' not in (cl.get('confidence_reason') or ''))
    listen = [l['addr'] for l in summ['nginx']['listen']]
    check('xff: the listener learnt from the pair', cl['server'] in listen)
else:
    fails.append('xff: one upstream and one client leg')

# two TLS clients waiting: ambiguous, the other named, confidence low
recs, summ = load('crafted-tls-two-clients')
ups, cls = legs(recs)
check('two clients: one upstream, two client legs',
      len(ups) == 1 and len(cls) == 2)
if len(ups) == 1 and len(cls) == 2:
    up = ups[0]
    pw = up.get('paired_with') or []
    cand = up.get('pairing_candidates') or []
    ids = sorted(c['id'] for c in cls)
    check('two clients: paired with one, both named as candidates',
          len(pw) == 1 and sorted(cand) == ids)
    newest = max(cls, key=lambda c: c['ts_start'])
    check('two clients: the newest request wins', pw == [newest['id']])
    check('two clients: its verdict bad_gateway, confidence low',
          newest.get('verdict') == 'bad_gateway'
          and newest.get('confidence') == 'low'
          and 'fitted as well' in (newest.get('confidence_reason') or ''))
    check('two clients: counted ambiguous',
          summ['nginx']['evidence']['ambiguous'] == 1)

for f in fails:
    print('FAIL: ' + f)
print('%d checks failed' % len(fails) if fails else 'tls pairing: all hold')
sys.exit(1 if fails else 0)
PY
