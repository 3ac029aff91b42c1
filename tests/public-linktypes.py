#!/usr/bin/env python3
"""Link types from captures nobody here wrote: PPI/802.11 and FDDI.

usage: public-linktypes.py RSTDIAG DIR
DIR is ../shared/pcaps-public; skips (77) when it or a capture is absent.

- libpcap__http_PPI.pcap: PPI + 802.11 QoS data frames.  Two 802.11 ACK
  control frames are not IP, two DNS datagrams are not TCP, and the one
  TCP packet is a SYN 192.168.1.132:3827 -> 130.192.73.1:80, so the
  client is known (roles not inferred).
- zeek__llc.pcap: FDDI + LLC/SNAP, snaplen 68: 1333 RSTs, all from
  128.3.140.132:2035 to 194.140.136.34:80, one a minute (each closes its
  connection, so each is a connection of its own).

When tshark is installed its reading of the same files is compared too
(the test does not depend on it).
"""
import collections
import json
import os
import shutil
import subprocess
import sys

PPI = "libpcap__http_PPI.pcap"
LLC = "zeek__llc.pcap"


def run(binary, path):
    r = subprocess.run([binary, "-r", path, "--json", "--all"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    recs = [json.loads(line) for line in r.stdout.decode().splitlines()]
    return r.returncode, recs, r.stderr.decode()


def tshark_tcp(path, flt):
    out = subprocess.run(["tshark", "-n", "-r", path, "-Y", flt, "-T",
                          "fields", "-e", "ip.src", "-e", "tcp.srcport",
                          "-e", "ip.dst", "-e", "tcp.dstport"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         check=True).stdout.decode()
    return collections.Counter(
        (f"{a}:{b}", f"{c}:{d}")
        for a, b, c, d in (line.split("\t") for line in out.splitlines()))


def main():
    binary, d = sys.argv[1], sys.argv[2]
    paths = {n: os.path.join(d, n) for n in (PPI, LLC)}
    missing = [p for p in paths.values() if not os.path.exists(p)]
    if missing:
        print(f"skip: {', '.join(missing)} absent")
        return 77
    fails = []

    def want(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            fails.append(what)

    rc, recs, err = run(binary, paths[PPI])
    conns = [r for r in recs if r["type"] == "connection"]
    summ = recs[-1] if recs else {}
    want(rc in (0, 1), f"{PPI}: exit {rc} {err.strip()}")
    want(summ.get("type") == "summary" and summ["packets"] == 5
         and summ["tcp_packets"] == 1
         and summ["skipped"] == {"not_ip": 2, "not_tcp": 2, "fragment": 0}
         and summ["malformed"] == {},
         f"{PPI}: 5 packets, 1 TCP, 2 not IP, 2 not TCP")
    want(len(conns) == 1 and conns[0]["client"] == "192.168.1.132:3827"
         and conns[0]["server"] == "130.192.73.1:80"
         and conns[0]["handshake"]["syn"]
         and not conns[0]["roles_inferred"],
         f"{PPI}: the SYN's connection 192.168.1.132:3827 -> "
         f"130.192.73.1:80")

    rc, recs, err = run(binary, paths[LLC])
    conns = [r for r in recs if r["type"] == "connection"]
    summ = recs[-1] if recs else {}
    rsts = collections.Counter()
    for c in conns:
        for r in c["rst"]:
            by = c["client"] if r["by"] == "client" else c["server"]
            to = c["server"] if r["by"] == "client" else c["client"]
            rsts[(by, to)] += 1
    want(rc in (0, 1), f"{LLC}: exit {rc} {err.strip()}")
    want(summ.get("type") == "summary" and summ["packets"] == 1333
         and summ["tcp_packets"] == 1333 and summ["malformed"] == {},
         f"{LLC}: 1333 packets, all TCP, none malformed")
    want({(c["client"], c["server"]) for c in conns}
         == {("128.3.140.132:2035", "194.140.136.34:80")},
         f"{LLC}: one 4-tuple 128.3.140.132:2035 - 194.140.136.34:80")
    want(sum(c["rst_count"] for c in conns) == 1333
         and rsts == {("128.3.140.132:2035", "194.140.136.34:80"): 1333},
         f"{LLC}: 1333 RSTs from 128.3.140.132:2035")

    if shutil.which("tshark"):
        t = tshark_tcp(paths[LLC], "tcp.flags.reset==1")
        want(t == rsts, f"{LLC}: tshark agrees on the RSTs ({dict(t)})")
        t = tshark_tcp(paths[PPI], "tcp.flags.syn==1")
        want(t == {("192.168.1.132:3827", "130.192.73.1:80"): 1},
             f"{PPI}: tshark agrees on the SYN ({dict(t)})")
    else:
        print("skip tshark comparison: tshark not installed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
