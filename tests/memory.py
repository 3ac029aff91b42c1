#!/usr/bin/env python3
"""Memory reserved up front stays untouched whatever the allocator does.

usage: memory.py RSTDIAG SOURCE_ROOT
rstdiag sizes its tables for --max-flows at start-up (hundreds of MB); a
small capture must still cost a few MB resident.  The run is made with
MALLOC_PERTURB_=165, under which glibc writes every byte malloc and calloc
return (meson sets it for every test; this pins the value): a table taken
from calloc would be touched end to end.  Peak RSS is the child's
ru_maxrss.  Then, with the address space capped, the default run must
refuse for 65536 flows and a --max-flows 1000 run must not: the defaults
still reserve the full tables, the fix is not a smaller limit.
"""
import os
import resource
import subprocess
import sys

RSS_MAX_KIB = 32 * 1024
AS_CAP = 200 << 20


def cap_as():
    resource.setrlimit(resource.RLIMIT_AS, (AS_CAP, AS_CAP))


def peak_rss(binary, args, env):
    """(peak RSS in KiB, how measured), or (None, reason) on a bad exit.
    GNU time when installed: a forked python child is charged python's own
    RSS until exec (ru_maxrss keeps the high-water mark), ~10 MB more."""
    gnu_time = "/usr/bin/time"
    if os.access(gnu_time, os.X_OK):
        out = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                           f"rstdiag-memory-{os.getpid()}")
        try:
            r = subprocess.run([gnu_time, "-f", "%M", "-o", out, binary]
                               + args, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            with open(out, encoding="ascii") as f:
                rss = int(f.read().split()[-1])
        finally:
            if os.path.exists(out):
                os.unlink(out)
        how = "GNU time"
    else:
        r = subprocess.run([binary] + args, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        how = "getrusage, python's own RSS included"
    if r.returncode not in (0, 1):
        return None, f"exit {r.returncode}: {r.stderr.decode()}"
    return rss, how


def main():
    binary, root = sys.argv[1], sys.argv[2]
    cap = os.path.join(root, "pcaps", "crafted-eth.pcap")
    env = dict(os.environ, MALLOC_PERTURB_="165")
    with open(binary, "rb") as f:
        sanitized = b"__asan_init" in f.read()
    fails = 0

    rss, how = peak_rss(binary, ["-r", cap, "--json"], env)
    if rss is None:
        print(f"FAIL run: {how}")
        return 1
    # ASan+UBSan measured 12 MiB here: the same limit holds
    limit = RSS_MAX_KIB
    if rss > limit:
        print(f"FAIL rss: peak {rss} KiB > {limit} KiB under MALLOC_PERTURB_ "
              f"({how})")
        fails += 1
    else:
        print(f"ok   rss: peak {rss} KiB <= {limit} KiB under MALLOC_PERTURB_ "
              f"({how})")

    if sanitized:
        print("skip address-space cap: sanitizers reserve terabytes of it")
        return 1 if fails else 0
    r = subprocess.run([binary, "-r", cap, "--json"], env=env,
                       preexec_fn=cap_as,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = r.stderr.decode()
    if r.returncode != 2 or "65536 flows" not in err:
        print(f"FAIL default limits: exit {r.returncode} under a "
              f"{AS_CAP >> 20} MiB address space, want 2 naming 65536 "
              f"flows: {err}")
        fails += 1
    else:
        print("ok   default limits: 65536 flows reserved in full")
    r = subprocess.run([binary, "--max-flows", "1000", "-r", cap, "--json"],
                       env=env, preexec_fn=cap_as,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode not in (0, 1):
        print(f"FAIL --max-flows 1000: exit {r.returncode}: "
              f"{r.stderr.decode()}")
        fails += 1
    else:
        print("ok   --max-flows 1000 fits the cap")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
