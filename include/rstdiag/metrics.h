/*
 * metrics: counters fed by finished connections (the report edge, never
 * the per-packet path) and the Prometheus text exposition format, version
 * 0.0.4, that live mode serves on /metrics.
 *
 * rd_metrics_conn() runs once per finished connection, beside the report;
 * rd_metrics_write() once per scrape, reading these counters and the
 * pipeline's.  Every label takes a bounded set of values: legs, verdict
 * codes, framing finding names, sides, decode reasons, and at most
 * RD_METRICS_MAX_UPSTREAMS upstream addresses (the rest are "other").
 *
 * The writer primitives (family, sample, histogram) are exported for the
 * unit test and for any later family; they write to a stdio stream.
 */
#ifndef RD_METRICS_H
#define RD_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rstdiag/common.h"
#include "rstdiag/conn.h"
#include "rstdiag/flow.h"
#include "rstdiag/pipeline.h"
#include "rstdiag/verdict.h"

#define RD_METRICS_MAX_UPSTREAMS  32    /* distinct upstream labels */
#define RD_METRICS_HIST_MAX       24    /* bounds a histogram may have */

/* Content-Type of the exposition (Prometheus text format 0.0.4). */
#define RD_METRICS_CONTENT_TYPE   "text/plain; version=0.0.4; charset=utf-8"

/*
 * A histogram with fixed upper bounds ("le"), plus the +Inf bucket.
 * bucket[] holds per-bucket counts (not cumulative): bucket[i] counts
 * observations v with bounds[i-1] < v <= bounds[i], bucket[nbounds] those
 * above the last bound.  The writer makes them cumulative.
 */
struct rd_metrics_hist {
    const double   *bounds;             /* ascending, caller-owned */
    uint32_t        nbounds;            /* <= RD_METRICS_HIST_MAX */
    uint64_t        bucket[RD_METRICS_HIST_MAX + 1];
    uint64_t        count;
    double          sum;
};

/* Zero h and give it bounds[0 .. n) (n <= RD_METRICS_HIST_MAX, ascending;
 * bounds must outlive h). */
void rd_metrics_hist_init(struct rd_metrics_hist *h, const double *bounds,
    uint32_t n);

/* Count one observation v (NaN is ignored). */
void rd_metrics_hist_observe(struct rd_metrics_hist *h, double v);

/*
 * Exposition primitives.  name must be a valid metric name (the callers
 * pass constants).  labels is NULL or a NULL-terminated list of
 * alternating names and values: { "leg", "client_leg", "by", "server",
 * NULL }.  Values are escaped as the format requires (backslash, double
 * quote and line feed as \\, \" and \n); other bytes outside printable
 * ASCII become '?', so the output is always valid UTF-8.
 */

/* "# HELP name help" (help escaped) and "# TYPE name type". */
void rd_metrics_family(FILE *f, const char *name, const char *type,
    const char *help);

/* One sample line with an integer value. */
void rd_metrics_sample(FILE *f, const char *name, const char *const *labels,
    uint64_t v);

/* One sample line with a floating-point value. */
void rd_metrics_sample_f(FILE *f, const char *name,
    const char *const *labels, double v);

/* The series of one histogram: name_bucket{...,le="B"} cumulative for
 * every bound and +Inf, then name_sum and name_count. */
void rd_metrics_hist_write(FILE *f, const char *name,
    const char *const *labels, const struct rd_metrics_hist *h);

/* s as a label value, quotes excluded, escaped as above. */
void rd_metrics_label_value(FILE *f, const char *s);


struct rd_metrics;

/* NULL when memory is short. */
struct rd_metrics *rd_metrics_create(const struct rd_alloc *a);

void rd_metrics_destroy(struct rd_metrics *m);

/*
 * Count one finished connection and its verdict (the pipeline's
 * rd_pipeline_conn_cb, beside the report): by leg and verdict, its first
 * RST's sender, the framing findings of the exchanges it still holds,
 * and, when abnormal, the time from its last request to the close and
 * its upstream.  c and v are read during the call only.
 */
void rd_metrics_conn(struct rd_metrics *m, const struct rd_conn *c,
    const struct rd_verdict *v);

/* What a scrape reads beside the counters of rd_metrics_conn(). */
struct rd_metrics_source {
    const struct rd_pipeline_stats *pl;
    const struct rd_flow_stats     *flows;
    bool            capture_stats;      /* pcap_stats() answered */
    uint64_t        drops_kernel;       /* ps_drop, widened to 64 bits */
    uint64_t        drops_iface;        /* ps_ifdrop, likewise */
    double          start_time;         /* epoch seconds of the start */
    const char     *version;            /* rstdiag's */
    /* --evidence: the directory's and the store's counters, or NULL */
    const struct rd_evdir_stats    *evidence;
    const struct rd_evstore_stats  *evidence_store;
};

/* The whole exposition, every family with HELP and TYPE.  Returns 0, or
 * -1 when the stream reports an error. */
int rd_metrics_write(FILE *f, const struct rd_metrics *m,
    const struct rd_metrics_source *src);

#endif /* RD_METRICS_H */
