#!/bin/sh
# The suite's short soak (issue 15, "days of uptime"): bench/soak for 20 s
# at a steady rate (4 wrk connections, 2 ms between requests), with the
# suite's rstdiag.  See bench/soak for what is checked: RSS and open fds
# flat after warm-up and under 64 MiB, every 502 nginx logged has its
# upstream_refused verdict in the stream (or the summary counts the drops
# that cost it), exit 1 after SIGTERM.
# Addresses and ports of its own: 127.0.0.81, 28080-28082, 28090.
# usage: soak.sh RSTDIAG
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Under ASan freed memory sits in its quarantine (up to 256 MiB) instead of
# being reused, so RSS grows with every evidence file written; without a
# quarantine it still grows a few MiB (its allocator's caches and shadow
# pages: 3.4 MiB over 3,000 files here, against 0.1 MiB without ASan).
# The uninstrumented build keeps the 2 MiB slack; ASan's gets 8 MiB.
if ldd "$1" 2>/dev/null | grep -q libasan; then
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
    SOAK_RSS_SLACK_KB=${SOAK_RSS_SLACK_KB:-8192}
    export ASAN_OPTIONS SOAK_RSS_SLACK_KB
fi
RSTDIAG=$1 SOAK_OUT=$out SOAK_CONNS=4 SOAK_THREADS=2 SOAK_DELAY_MS=2 \
    bash "$(dirname "$0")/../bench/soak" 20
