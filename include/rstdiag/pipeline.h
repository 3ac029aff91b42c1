/*
 * pipeline: frame -> decode -> flow table -> connection, with counters.
 *
 * The one entry point that capture code (offline or live) and the
 * whole-capture fuzzer drive.  Finished connections are handed to a
 * callback; nothing here writes output or reads the clock.
 */
#ifndef RD_PIPELINE_H
#define RD_PIPELINE_H

#include <stdint.h>

#include "rstdiag/common.h"
#include "rstdiag/conn.h"
#include "rstdiag/decode.h"
#include "rstdiag/evidence.h"
#include "rstdiag/flow.h"
#include "rstdiag/legs.h"
#include "rstdiag/verdict.h"

struct rd_pipeline_cfg {
    uint32_t        max_flows;          /* --max-flows */
    uint32_t        idle_timeout;       /* --idle-timeout, seconds */
    uint32_t        closed_linger;      /* seconds kept after a close */
    uint32_t        ooo_pool_bytes;     /* --max-ooo-bytes */
    uint32_t        max_header_bytes;   /* --max-header-bytes */
    uint64_t        seed;               /* hash seed */
    uint32_t        evidence_max_packets;   /* --evidence-max-packets;
                                         * 0: no --evidence, no store */
    uint64_t        evidence_pool_bytes;    /* --evidence-pool-bytes */
    uint32_t        evidence_snaplen;   /* --evidence-snaplen: bytes
                                         * kept of each packet (the
                                         * wire length stays); 0: all */
};

/* Fill cfg with the defaults of limits.h. */
void rd_pipeline_cfg_default(struct rd_pipeline_cfg *cfg);

#define RD_PIPELINE_ELAPSED_BUCKETS 128
#define RD_PIPELINE_IDLE_UPSTREAMS  16  /* upstreams whose idle closes are
                                         * measured */
#define RD_PIPELINE_IDLE_SAMPLES    32  /* ... first closes kept each */

/* An upstream's own idle timeout, measured: how long its keep-alive
 * connections sat idle after a response before it closed them. */
struct rd_idle_close {
    uint8_t         af;
    uint8_t         addr[16];
    uint16_t        port;
    uint32_t        count;              /* idle closes seen */
    uint32_t        nsamples;           /* of them in sample[] */
    double          min, max;           /* seconds, over all */
    float           sample[RD_PIPELINE_IDLE_SAMPLES];
};

struct rd_pipeline_stats {
    uint64_t        packets;            /* frames offered */
    uint64_t        bytes;              /* captured bytes offered */
    uint64_t        tcp;                /* decoded TCP segments */
    uint64_t        status[RD_DECODE_NSTATUS];  /* by rd_decode_status */
    uint64_t        ts_backwards;       /* frames older than the previous */
    uint64_t        ooo_refused;        /* early segments not held */
    uint64_t        late;               /* packets after a clean close,
                                         * once the record was written */
    rd_usec_t       ts_first;
    rd_usec_t       ts_last;
    uint64_t        gap_bytes;          /* over finished connections */
    uint64_t        gaps;
    uint64_t        reported;           /* connections finished */
    uint64_t        abnormal;           /* of which abnormal */
    uint64_t        verdicts[RD_V_NCODES];  /* by verdict code */
    uint64_t        legs[3];            /* by enum rd_leg */
    /* elapsed seconds (request sent -> close) per verdict, whole seconds
     * 0..RD_PIPELINE_ELAPSED_BUCKETS-1, for timeout clusters */
    uint32_t        elapsed[RD_V_NCODES][RD_PIPELINE_ELAPSED_BUCKETS];
    /* upstream legs that carried one request and closed: churn */
    uint64_t        upstream_single_use;
    uint64_t        upstream_with_requests;
    struct rd_idle_close idle_close[RD_PIPELINE_IDLE_UPSTREAMS];
    uint32_t        nidle_close;
};

#define RD_PIPELINE_DROP_SPANS      32  /* capture-loss spans kept; the
                                         * oldest two merge when full */

/* Packets the capture lost (pcap_stats) in a span of time: live mode
 * learns of drops when it reads the counters, so a span runs from the
 * read before (less the ring's backlog) to the read that saw them. */
struct rd_drop_span {
    rd_usec_t       from, to;
    uint64_t        n;
};

/* The median of k's samples, seconds. */
double rd_idle_close_median(const struct rd_idle_close *k);

/* Called once per finished connection with its verdict; both are valid
 * during the call only. */
typedef void (*rd_pipeline_conn_cb)(void *ctx, const struct rd_conn *c,
    const struct rd_verdict *v);

struct rd_pipeline;

/* NULL and a reason in err when the configured tables cannot be had. */
struct rd_pipeline *rd_pipeline_create(const struct rd_alloc *a,
    const struct rd_pipeline_cfg *cfg, rd_pipeline_conn_cb cb, void *ctx,
    char err[RD_ERRLEN]);

void rd_pipeline_destroy(struct rd_pipeline *pl);

/* One captured frame of link type dlt. */
void rd_pipeline_packet(struct rd_pipeline *pl, int dlt, const uint8_t *p,
    uint32_t caplen, uint32_t wirelen, rd_usec_t ts);

/* Expire idle connections as of time now (live mode's timer). */
void rd_pipeline_tick(struct rd_pipeline *pl, rd_usec_t now);

/* Live mode: the capture lost n packets between from and to.  A
 * connection decided later whose life overlaps the span says so in its
 * verdict's confidence. */
void rd_pipeline_note_drops(struct rd_pipeline *pl, rd_usec_t from,
    rd_usec_t to, uint64_t n);

/*
 * --evidence: called for each finished connection whose verdict is a
 * warning or an error, before the connection callback, with its packets
 * and those of its client leg (peer, when c is an upstream leg whose
 * client leg is still tracked; else NULL) in time order, the one that
 * decided the verdict marked.  Returns the file written (valid until the
 * connection callback returns), which becomes v->evidence, or NULL.
 */
typedef const char *(*rd_pipeline_evidence_cb)(void *ctx,
    const struct rd_conn *c, const struct rd_conn *peer,
    const struct rd_verdict *v, const struct rd_evpkt *pk, size_t n,
    uint64_t omitted);

/* Set the evidence writer; needs cfg.evidence_max_packets > 0. */
void rd_pipeline_set_evidence(struct rd_pipeline *pl,
    rd_pipeline_evidence_cb cb, void *ctx);

/* The evidence store's counters, NULL without --evidence. */
const struct rd_evstore_stats *rd_pipeline_evidence_stats(
    const struct rd_pipeline *pl);

/* End of capture: every remaining connection is finished and reported. */
void rd_pipeline_finish(struct rd_pipeline *pl);

const struct rd_pipeline_stats *rd_pipeline_stats(const struct rd_pipeline *pl);
const struct rd_flow_stats *rd_pipeline_flow_stats(const struct rd_pipeline *pl);

/* The role learner, for --nginx, --upstream and --nginx-version. */
struct rd_legs *rd_pipeline_legs(struct rd_pipeline *pl);

#endif /* RD_PIPELINE_H */
