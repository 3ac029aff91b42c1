/*
 * live: drive a live pcap handle from a libevent loop, with the signals,
 * the --interval timer and the /metrics endpoint (evhttp) on the same
 * loop.  Private to the rstdiag program.
 */
#ifndef RD_LIVE_H
#define RD_LIVE_H

#include <stdio.h>
#include <sys/socket.h>

#include <pcap/pcap.h>

#include "rstdiag/common.h"
#include "rstdiag/pipeline.h"

#define RD_LIVE_POLL_MS     200     /* hooks.poll's period */

struct rd_live_result {
    uint64_t        packets;        /* frames handed to the pipeline */
    uint64_t        drops;          /* drops_kernel + drops_iface */
    uint64_t        drops_kernel;   /* pcap_stats ps_drop, widened */
    uint64_t        drops_iface;    /* pcap_stats ps_ifdrop, widened */
    bool            stats_ok;       /* pcap_stats answered at least once */
    char            error[RD_ERRLEN];   /* empty unless capture failed */
};

/* What the loop asks of the program; ctx is the first argument of each.
 * now holds the packets so far and fresh pcap_stats. */
struct rd_live_hooks {
    /* SIGUSR1 or the --interval timer: write a summary of the counters
     * so far */
    void  (*summary)(void *ctx, const struct rd_live_result *now);
    /* SIGHUP: reopen the output file */
    void  (*reopen)(void *ctx);
    /* GET /metrics: write the exposition to f; 0, or -1 on failure */
    int   (*metrics)(void *ctx, FILE *f, const struct rd_live_result *now);
    /* every RD_LIVE_POLL_MS, NULL for none (--error-log: read what nginx
     * appended); now is the wall clock, after the packets queued */
    void  (*poll)(void *ctx, rd_usec_t now);
    void   *ctx;
};

struct rd_live_cfg {
    uint64_t                count;      /* -c, 0 = no limit */
    uint32_t                interval;   /* --interval seconds, 0 = none */
    /* --metrics: where to listen, or metrics_len 0 for no endpoint */
    struct sockaddr_storage metrics_addr;
    socklen_t               metrics_len;
    const char             *metrics_spec;  /* as given, for messages */
};

struct rd_live;

/*
 * The loop, its signals and timer, and the /metrics listener bound and
 * listening (so that an address in use fails here, before the capture
 * is opened).  NULL with a reason naming what failed in err.
 */
struct rd_live *rd_live_create(const struct rd_live_cfg *cfg,
    const struct rd_live_hooks *hooks, char err[RD_ERRLEN]);

/*
 * Run until SIGINT/SIGTERM, count packets or a capture error.  Packets
 * still queued at a signal are drained first.  Returns 0, or -1 with
 * res->error set when the loop could not run at all.  res->drops* hold
 * the last pcap_stats.  The hooks are called from inside the loop.
 */
int rd_live_run(struct rd_live *lv, pcap_t *p, const char *iface,
    struct rd_pipeline *pl, struct rd_live_result *res);

/* Stop the loop from one of the hooks or the pipeline's callback (the
 * output cannot be written): no more packets are read; rd_live_run
 * returns 0 as at SIGTERM. */
void rd_live_stop(struct rd_live *lv);

/* Close the listener and free the loop; lv may be NULL. */
void rd_live_destroy(struct rd_live *lv);

#endif /* RD_LIVE_H */
