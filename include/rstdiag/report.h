/*
 * report: writes finished connections and the closing summary, as JSON
 * lines (--json, schema in rstdiag(8)) or as a human report.
 *
 * The human report prints the summary first: connection blocks are spooled
 * to a temporary file meanwhile, so memory stays flat however many
 * connections there are.
 */
#ifndef RD_REPORT_H
#define RD_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "rstdiag/common.h"
#include "rstdiag/conn.h"
#include "rstdiag/errjoin.h"
#include "rstdiag/errlog.h"
#include "rstdiag/legs.h"
#include "rstdiag/nginxconf.h"
#include "rstdiag/pipeline.h"
#include "rstdiag/verdict.h"

struct rd_report_cfg {
    bool            json;           /* --json */
    bool            all;            /* --all: every connection */
    bool            verbose;        /* -v */
    bool            stream;         /* live: each record is written and
                                     * flushed when decided (text blocks
                                     * too, not spooled for the end) */
    /* --nginx-conf, parsed, or NULL: upstream legs get "upstream_name"
     * and the summary "nginx_conf"; must outlive the report */
    const struct rd_nginxconf  *nginx_conf;
    /* --error-log, opened, or NULL: records gain "error_log", lines that
     * match nothing become records of their own; must outlive the report */
    struct rd_errlog           *error_log;
    struct rd_errjoin_cfg       errjoin;    /* with error_log */
};

/* One input as the summary lists it. */
struct rd_report_input {
    const char     *name;           /* file name, "-" or interface */
    uint64_t        packets;
    bool            truncated;      /* cut mid-record or read error */
    const char     *error;          /* libpcap's words, or NULL */
    int             dlt;
};

struct rd_report_totals {
    const struct rd_pipeline_stats *pl;
    const struct rd_flow_stats     *flows;
    const struct rd_report_input   *inputs;
    size_t                          ninputs;
    uint64_t                        pcap_drops;     /* live: kernel drops */
    uint64_t                        drops_kernel;   /* ... of them ps_drop */
    uint64_t                        drops_iface;    /* ... and ps_ifdrop */
    bool                            live;
    bool                            interim;        /* live: counters so
                                                     * far, more to come */
    uint32_t                        nginx_version;  /* 0 unknown */
    const struct rd_legs           *legs;   /* what was learnt, or NULL */
    /* --evidence: the directory's and the store's counters, or NULL */
    const struct rd_evdir_stats    *evidence;
    const struct rd_evstore_stats  *evidence_store;
};

struct rd_report;

/* NULL and a reason in err when the spool file cannot be made. */
struct rd_report *rd_report_create(FILE *out, const struct rd_report_cfg *cfg,
    char err[RD_ERRLEN]);

/* Where the nginx version comes from for the fixes of --nginx-conf (its
 * defaults depend on it); may be NULL. */
void rd_report_set_legs(struct rd_report *r, const struct rd_legs *legs);

/* A finished connection and its verdict (printed when abnormal or when
 * the verdict is a warning or an error; always with --all). */
void rd_report_conn(struct rd_report *r, const struct rd_conn *c,
    const struct rd_verdict *v);

/* The summary (and, for text, the spooled blocks); then flush.  With
 * --error-log, the lines left are reported first; -1 with err when the
 * log could not be read (the summary is written all the same). */
int rd_report_summary(struct rd_report *r, const struct rd_report_totals *t,
    char err[RD_ERRLEN]);

/*
 * Live mode (SIGUSR1, --interval): a summary of the counters so far, the
 * same record as the last with "final": false (text: headed "interim
 * summary"), then flush.  Nothing is finished or consumed: the report
 * goes on and rd_report_summary() still ends it.
 */
void rd_report_interim(struct rd_report *r, const struct rd_report_totals *t);

/*
 * Live with --error-log (errjoin.live): the followed log was read as far
 * as it goes, at wall time now; the connections whose lines had time to
 * be written are joined and written (flushed), the lines that waited too
 * long are written unmatched.  Nothing without a log.
 */
void rd_report_poll(struct rd_report *r, rd_usec_t now);

/*
 * Write to out from now on (SIGHUP reopened --output) and return the
 * stream written so far, flushed, for the caller to close.  Text blocks
 * already spooled stay in the spool and go to out with the summary.
 */
FILE *rd_report_set_output(struct rd_report *r, FILE *out);

/* Connections printed so far that were abnormal (for the exit status). */
uint64_t rd_report_findings(const struct rd_report *r);

void rd_report_destroy(struct rd_report *r);

#endif /* RD_REPORT_H */
