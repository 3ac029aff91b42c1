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
RSTDIAG=$1 SOAK_OUT=$out SOAK_CONNS=4 SOAK_THREADS=2 SOAK_DELAY_MS=2 \
    bash "$(dirname "$0")/../bench/soak" 20
