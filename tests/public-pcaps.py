#!/usr/bin/env python3
"""Real captures that nobody here wrote (../shared/pcaps-public): never crash,
never leak, never print invalid JSON.

usage: public-pcaps.py RSTDIAG DIR
Each capture runs through rstdiag (the sanitizer build too, when the suite runs
there) with --json --all and in text mode. Passes when every run exits 0 or 1
with valid JSON lines closed by one summary, text output free of control
characters, and no sanitizer report; exit 2 is accepted only with a message
naming the file, for captures libpcap cannot read (MANIFEST says
"unreadable") or whose link type rstdiag does not decode. Skips (77) when DIR
is absent, as on a user's machine.
"""
import json
import os
import re
import subprocess
import sys

CTRL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")


def main():
    binary, d = sys.argv[1], sys.argv[2]
    if not os.path.isdir(d):
        print(f"skip: {d} is absent")
        return 77
    unreadable = set()
    man = os.path.join(d, "MANIFEST.tsv")
    if os.path.exists(man):
        for line in open(man, encoding="utf-8"):
            cols = line.rstrip("\n").split("\t")
            if len(cols) > 4 and cols[4].startswith("unreadable"):
                unreadable.add(cols[0])
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:exitcode=86"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=86"
    bad, n = [], 0
    for name in sorted(os.listdir(d)):
        if not name.endswith((".pcap", ".pcapng", ".cap")):
            continue
        path = os.path.join(d, name)
        n += 1
        p = subprocess.run([binary, "-r", path, "--json", "--all"],
                           capture_output=True, env=env, timeout=120)
        err = p.stderr.decode("utf-8", "replace")
        if "Sanitizer" in err or "runtime error" in err:
            bad.append(f"{name}: sanitizer report:\n{err[:2000]}")
            continue
        if p.returncode == 2:
            first = err.strip().splitlines()[0] if err.strip() else ""
            ok_reason = name in unreadable or "unsupported link type" in err \
                or "different from the type" in err
            if not first.startswith(f"rstdiag: {path}: ") or not ok_reason:
                bad.append(f"{name}: exit 2: {err.strip()[:300]}")
            continue
        if p.returncode not in (0, 1):
            bad.append(f"{name}: exit {p.returncode}: {err.strip()[:300]}")
            continue
        lines = p.stdout.decode("utf-8").splitlines()
        try:
            recs = [json.loads(x) for x in lines]
        except ValueError as e:
            bad.append(f"{name}: invalid JSON: {e}")
            continue
        if not recs or recs[-1].get("type") != "summary" \
                or sum(r.get("type") == "summary" for r in recs) != 1:
            bad.append(f"{name}: output does not end with one summary line")
            continue
        t = subprocess.run([binary, "-r", path, "-v"], capture_output=True,
                           env=env, timeout=120)
        if t.returncode not in (0, 1) or CTRL.search(t.stdout):
            bad.append(f"{name}: text mode exit {t.returncode} or control "
                       f"characters in the report")
    for b in bad:
        print("FAIL", b)
    print(f"{n} captures, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
