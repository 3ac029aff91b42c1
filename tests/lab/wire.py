#!/usr/bin/env python3
"""The lab's own, independent reading of a scenario's pcap.

  wire.py FILE.pcap > wire.jsonl

Prints one JSON line per TCP connection in the subset of rstdiag's schema
that needs no HTTP knowledge: client (SYN sender), server, first_close
{by, kind, ts}, rst [{by, ts}], bytes, zero_window (a list: who
advertised a zero window, for how long in all, and whether it was still
zero when the other side's first FIN or RST came); then a summary line.  check.py
holds each scenario's connection expectations against this first
(assertion 0: did the lab produce the wire pattern the scenario is about?),
so that a failing assertion (2) points at rstdiag, not at the lab.

Standard library only; pcap (not pcapng) with Ethernet or Linux SLL2 link
types, IPv4 and IPv6 (hop-by-hop, routing and destination options headers
skipped), which is what tests/lab/run records.  Addresses are printed as
rstdiag prints them: "127.0.0.2:21000", "[::1]:23000".  Not a substitute
for rstdiag: no reassembly, no sequence checks.
"""

import json
import socket
import struct
import sys

LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL2 = 276
TH_FIN, TH_SYN, TH_RST, TH_ACK = 0x01, 0x02, 0x04, 0x10
ETH_IPV4, ETH_IPV6 = b'\x08\x00', b'\x86\xdd'
IPV6_EXT = (0, 43, 60)          # hop-by-hop, routing, destination options


def ip_tcp(ip):
    """(src, dst, tcp segment, tcp length) of an IPv4 or IPv6 packet
    carrying TCP, else None.  tcp length is what the IP header says, the
    segment what was captured of it."""
    if len(ip) >= 20 and ip[0] >> 4 == 4:
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6 or len(ip) < ihl:
            return None
        total = struct.unpack('>H', ip[2:4])[0]
        return ('%d.%d.%d.%d' % tuple(ip[12:16]),
                '%d.%d.%d.%d' % tuple(ip[16:20]), ip[ihl:total], total - ihl)
    if len(ip) >= 40 and ip[0] >> 4 == 6:
        nxt, off = ip[6], 40
        left = struct.unpack('>H', ip[4:6])[0]
        while nxt in IPV6_EXT:
            if len(ip) < off + 8:
                return None
            n = (ip[off + 1] + 1) * 8
            nxt, off, left = ip[off], off + n, left - n
        if nxt != 6:
            return None
        return ('[%s]' % socket.inet_ntop(socket.AF_INET6, ip[8:24]),
                '[%s]' % socket.inet_ntop(socket.AF_INET6, ip[24:40]),
                ip[off:off + left], left)
    return None


def packets(path):
    """(ts, src, dst, flags, payload_len, window) per IPv4 or IPv6 TCP
    packet; window is the raw field (zero needs no scale)."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack('<I', data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        e = '<'
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        e = '>'
    else:
        raise SystemExit('%s: not a pcap file' % path)
    scale = 1e9 if magic in (0xa1b23c4d, 0x4d3cb2a1) else 1e6
    linktype = struct.unpack(e + 'I', data[20:24])[0] & 0x0fffffff
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(e + 'IIII', data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == LINKTYPE_ETHERNET and pkt[12:14] in (ETH_IPV4,
                                                             ETH_IPV6):
            ip = pkt[14:]
        elif linktype == LINKTYPE_LINUX_SLL2 and pkt[0:2] in (ETH_IPV4,
                                                               ETH_IPV6):
            ip = pkt[20:]
        else:
            continue
        got = ip_tcp(ip)
        if got is None:
            continue
        saddr, daddr, tcp, tcplen = got
        if len(tcp) < 20:
            continue
        sport, dport = struct.unpack('>HH', tcp[:4])
        win = struct.unpack('>H', tcp[14:16])[0]
        doff = (tcp[12] >> 4) * 4
        plen = tcplen - doff
        src = '%s:%d' % (saddr, sport)
        dst = '%s:%d' % (daddr, dport)
        yield sec + frac / scale, src, dst, tcp[13], max(plen, 0), win


def connections(path):
    live = {}
    done = []
    for ts, src, dst, flags, plen, win in packets(path):
        key = tuple(sorted((src, dst)))
        c = live.get(key)
        syn_only = flags & TH_SYN and not flags & TH_ACK
        if c is None or (syn_only and c['_closed']):
            if c is not None:
                done.append(c)
            if flags & TH_SYN:
                client = src if syn_only else dst
            else:
                client = src        # SYN not captured: a guess
            c = {'type': 'connection', 'client': client,
                 'server': dst if client == src else src,
                 'ts_start': ts, 'ts_end': ts, 'first_close': None,
                 'rst': [], 'bytes': {'client': 0, 'server': 0},
                 '_closed': False, '_zw': {}}
            live[key] = c
        by = 'client' if src == c['client'] else 'server'
        c['bytes'][by] += plen
        c['ts_end'] = ts
        if flags & TH_RST:
            c['rst'].append({'by': by, 'ts': ts})
        elif not flags & TH_SYN:
            # a zero window: from the first packet that advertises it to
            # the first of the same sender that does not
            z = c['_zw'].setdefault(by, {'by': by, 'seconds': 0.0,
                                         'at_close': False, '_since': None})
            if win == 0 and z['_since'] is None:
                z['_since'] = ts
            elif win != 0 and z['_since'] is not None:
                z['seconds'] += ts - z['_since']
                z['_since'] = None
        if flags & (TH_RST | TH_FIN) and c['first_close'] is None:
            # the other side's window, as this close found it
            z = c['_zw'].get('server' if by == 'client' else 'client')
            if z is not None and z['_since'] is not None:
                z['at_close'] = True
        if flags & (TH_RST | TH_FIN):
            if c['first_close'] is None:
                c['first_close'] = {'by': by,
                                    'kind': 'rst' if flags & TH_RST
                                    else 'fin', 'ts': ts}
            c['_closed'] = True
    done.extend(live.values())
    done.sort(key=lambda x: x['ts_start'])
    for c in done:
        del c['_closed']
        zw = []
        for by in ('client', 'server'):
            z = c['_zw'].get(by)
            if z is None:
                continue
            if z['_since'] is not None:
                z['seconds'] += c['ts_end'] - z['_since']
            del z['_since']
            if z['seconds'] > 0 or z['at_close']:
                z['seconds'] = round(z['seconds'], 6)
                zw.append(z)
        del c['_zw']
        c['zero_window'] = zw
    return done


def main():
    if len(sys.argv) != 2:
        print('usage: wire.py FILE.pcap', file=sys.stderr)
        return 2
    conns = connections(sys.argv[1])
    for c in conns:
        print(json.dumps(c))
    print(json.dumps({'type': 'summary', 'connections': len(conns)}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
