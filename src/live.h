/*
 * live: drive a live pcap handle from a libevent loop.  Private to the
 * rstdiag program.
 */
#ifndef RD_LIVE_H
#define RD_LIVE_H

#include <pcap/pcap.h>

#include "rstdiag/common.h"
#include "rstdiag/pipeline.h"

struct rd_live_result {
    uint64_t        packets;        /* frames handed to the pipeline */
    uint64_t        drops;          /* kernel drops (pcap_stats) */
    char            error[RD_ERRLEN];   /* empty unless capture failed */
};

/*
 * Run until SIGINT/SIGTERM, count packets (0 = no limit) or a capture
 * error.  Packets still queued at a signal are drained first.  Returns 0,
 * or -1 with res->error set when the loop could not run at all.
 */
int rd_live_run(pcap_t *p, const char *iface, struct rd_pipeline *pl,
    uint64_t count, struct rd_live_result *res);

#endif /* RD_LIVE_H */
