/*
 * metrics: connection counters and the Prometheus text exposition
 * (https://prometheus.io/docs/instrumenting/exposition_formats/, text
 * format 0.0.4): "# HELP" and "# TYPE" before each family, counters end in
 * _total, histograms as cumulative _bucket series with le="+Inf", then
 * _sum and _count.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "rstdiag/decode.h"
#include "rstdiag/http1.h"
#include "rstdiag/legs.h"
#include "rstdiag/metrics.h"

#define NLEGS       3                   /* enum rd_leg */
/* response findings, then FastCGI's invalid_record and stderr_seen */
#define NFINDINGS   (RD_HTTP1_NFINDINGS + 2)

/* Request-to-close seconds: 5 ms (a reset on loopback) to 5 min (nginx's
 * longest usual timeouts are 60 s; proxy_read_timeout is raised to
 * minutes for slow reports). */
static const double  close_bounds[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
    300
};

static const char  *side_names[2] = { "client", "server" };

struct upstream {
    uint8_t         af;
    uint8_t         addr[16];
    uint16_t        port;
    uint64_t        abnormal;
};

struct rd_metrics {
    const struct rd_alloc  *alloc;
    uint64_t        conns[NLEGS][RD_V_NCODES];  /* by leg and verdict */
    uint64_t        abnormal[NLEGS];
    uint64_t        resets[2][NLEGS];           /* first RST's sender */
    uint64_t        findings[NFINDINGS];        /* exchanges with it */
    struct rd_metrics_hist  to_close[NLEGS];
    struct upstream up[RD_METRICS_MAX_UPSTREAMS];
    uint32_t        nup;
    uint64_t        up_other;                   /* past the cap */
};


/* --- exposition primitives ---------------------------------------------- */

void
rd_metrics_label_value(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '\\':
            fputs("\\\\", f);
            break;
        case '"':
            fputs("\\\"", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        default:
            putc(*s >= 0x20 && *s < 0x7f ? *s : '?', f);
            break;
        }
    }
}


/* HELP text: the format escapes backslash and line feed only. */
static void
help_text(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\') {
            fputs("\\\\", f);
        } else if (*s == '\n') {
            fputs("\\n", f);
        } else {
            putc(*s >= 0x20 && *s < 0x7f ? *s : '?', f);
        }
    }
}


void
rd_metrics_family(FILE *f, const char *name, const char *type,
    const char *help)
{
    fprintf(f, "# HELP %s ", name);
    help_text(f, help);
    fprintf(f, "\n# TYPE %s %s\n", name, type);
}


/* name{k="v",...,extra="x"}: extra (with its value) may be NULL */
static void
series(FILE *f, const char *name, const char *suffix,
    const char *const *labels, const char *extra, const char *extra_v)
{
    bool  first = true;

    fputs(name, f);
    fputs(suffix, f);
    for (; labels != NULL && labels[0] != NULL && labels[1] != NULL;
         labels += 2)
    {
        fprintf(f, "%s%s=\"", first ? "{" : ",", labels[0]);
        rd_metrics_label_value(f, labels[1]);
        putc('"', f);
        first = false;
    }
    if (extra != NULL) {
        fprintf(f, "%s%s=\"", first ? "{" : ",", extra);
        rd_metrics_label_value(f, extra_v);
        putc('"', f);
        first = false;
    }
    if (!first) {
        putc('}', f);
    }
}


void
rd_metrics_sample(FILE *f, const char *name, const char *const *labels,
    uint64_t v)
{
    series(f, name, "", labels, NULL, NULL);
    fprintf(f, " %" PRIu64 "\n", v);
}


/* A float as Go's strconv.ParseFloat reads it: NaN and +Inf spelt out. */
static void
put_float(FILE *f, double v)
{
    if (isnan(v)) {
        fputs("NaN", f);
    } else if (isinf(v)) {
        fputs(v > 0 ? "+Inf" : "-Inf", f);
    } else {
        fprintf(f, "%.15g", v);
    }
}


void
rd_metrics_sample_f(FILE *f, const char *name, const char *const *labels,
    double v)
{
    series(f, name, "", labels, NULL, NULL);
    putc(' ', f);
    put_float(f, v);
    putc('\n', f);
}


void
rd_metrics_hist_init(struct rd_metrics_hist *h, const double *bounds,
    uint32_t n)
{
    rd_require(n <= RD_METRICS_HIST_MAX);
    memset(h, 0, sizeof(*h));
    h->bounds = bounds;
    h->nbounds = n;
}


void
rd_metrics_hist_observe(struct rd_metrics_hist *h, double v)
{
    uint32_t  i;

    if (isnan(v)) {
        return;
    }
    for (i = 0; i < h->nbounds && v > h->bounds[i]; i++) {
        /* the first bound v does not exceed: le is inclusive */
    }
    h->bucket[i]++;
    h->count++;
    h->sum += v;
}


void
rd_metrics_hist_write(FILE *f, const char *name, const char *const *labels,
    const struct rd_metrics_hist *h)
{
    char      le[32];
    uint64_t  cum;
    uint32_t  i;

    cum = 0;
    for (i = 0; i < h->nbounds; i++) {
        cum += h->bucket[i];
        snprintf(le, sizeof(le), "%g", h->bounds[i]);
        series(f, name, "_bucket", labels, "le", le);
        fprintf(f, " %" PRIu64 "\n", cum);
    }
    cum += h->bucket[h->nbounds];
    series(f, name, "_bucket", labels, "le", "+Inf");
    fprintf(f, " %" PRIu64 "\n", cum);
    series(f, name, "_sum", labels, NULL, NULL);
    putc(' ', f);
    put_float(f, h->sum);
    putc('\n', f);
    series(f, name, "_count", labels, NULL, NULL);
    fprintf(f, " %" PRIu64 "\n", h->count);
}


/* --- counters ------------------------------------------------------------ */

struct rd_metrics *
rd_metrics_create(const struct rd_alloc *a)
{
    struct rd_metrics  *m;
    int                 i;

    m = a->calloc(a->ctx, 1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->alloc = a;
    for (i = 0; i < NLEGS; i++) {
        rd_metrics_hist_init(&m->to_close[i], close_bounds,
                             (uint32_t) RD_NELEMS(close_bounds));
    }
    return m;
}


void
rd_metrics_destroy(struct rd_metrics *m)
{
    if (m != NULL) {
        m->alloc->free(m->alloc->ctx, m);
    }
}


/* Seconds from c's last request to its first FIN or RST, < 0 when it
 * had none: the verdict's elapsed when it says, else from the end of the
 * last request sent (its start when it never ended). */
static double
to_close(const struct rd_conn *c, const struct rd_verdict *v)
{
    const struct rd_exchange  *e;
    rd_usec_t                  t;

    if (v->elapsed >= 0) {
        return v->elapsed;
    }
    if (c->nex == 0 || c->close_kind == RD_CLOSE_NONE) {
        return -1;
    }
    e = rd_conn_exchange(c, c->nex - 1);
    if (e == NULL || !e->has_req) {
        return -1;
    }
    t = e->req_end != 0 ? e->req_end : e->req_start;
    if (t == 0 || c->close_ts < t) {
        return -1;
    }
    return (double) (c->close_ts - t) / 1e6;
}


static void
count_upstream(struct rd_metrics *m, const struct rd_conn *c)
{
    const struct rd_endpoint  *ep = &c->ep[RD_CONN_SERVER];
    uint32_t                   i;

    for (i = 0; i < m->nup; i++) {
        if (m->up[i].port == ep->port && m->up[i].af == c->af
            && memcmp(m->up[i].addr, ep->addr, 16) == 0)
        {
            m->up[i].abnormal++;
            return;
        }
    }
    if (m->nup == RD_METRICS_MAX_UPSTREAMS) {
        m->up_other++;
        return;
    }
    m->up[m->nup].af = c->af;
    m->up[m->nup].port = ep->port;
    memcpy(m->up[m->nup].addr, ep->addr, 16);
    m->up[m->nup].abnormal = 1;
    m->nup++;
}


void
rd_metrics_conn(struct rd_metrics *m, const struct rd_conn *c,
    const struct rd_verdict *v)
{
    const struct rd_exchange  *e;
    uint32_t                   i;
    int                        leg, b;
    bool                       abnormal;
    double                     s;

    leg = c->leg < NLEGS ? c->leg : RD_LEG_UNKNOWN;
    m->conns[leg][v->code > 0 && v->code < RD_V_NCODES ? v->code : 0]++;
    if (c->nrst > 0) {
        m->resets[c->cold->rst[0].by ? 1 : 0][leg]++;
    }
    for (i = rd_conn_first_kept(c); i < c->nex; i++) {
        e = rd_conn_exchange(c, i);
        if (e == NULL || !e->has_resp) {
            continue;
        }
        for (b = 1; b < RD_HTTP1_NFINDINGS; b++) {     /* not complete */
            if (e->findings & (1u << b)) {
                m->findings[b]++;
            }
        }
        m->findings[RD_HTTP1_NFINDINGS] += e->invalid_record;
        m->findings[RD_HTTP1_NFINDINGS + 1] += e->stderr_seen;
    }
    /* what the report calls abnormal (and the exit status counts) */
    abnormal = rd_conn_abnormal(c) || v->severity >= RD_SEV_WARNING;
    if (!abnormal) {
        return;
    }
    m->abnormal[leg]++;
    s = to_close(c, v);
    if (s >= 0) {
        rd_metrics_hist_observe(&m->to_close[leg], s);
    }
    if (leg == RD_LEG_UPSTREAM) {
        count_upstream(m, c);
    }
}


/* --- the exposition ------------------------------------------------------ */

static const char *
finding_name(int i)
{
    if (i == RD_HTTP1_NFINDINGS) {
        return "invalid_record";
    }
    if (i == RD_HTTP1_NFINDINGS + 1) {
        return "stderr_seen";
    }
    return rd_tok2str(rd_http1_finding_names, i, "?");
}


static void
counter(FILE *f, const char *name, const char *help, uint64_t v)
{
    rd_metrics_family(f, name, "counter", help);
    rd_metrics_sample(f, name, NULL, v);
}


static void
gauge(FILE *f, const char *name, const char *help, double v)
{
    rd_metrics_family(f, name, "gauge", help);
    rd_metrics_sample_f(f, name, NULL, v);
}


static void
write_packets(FILE *f, const struct rd_metrics_source *src)
{
    const struct rd_pipeline_stats  *pl = src->pl;
    const char                      *l[3] = { "reason", NULL, NULL };
    int                              st;

    counter(f, "rstdiag_packets_total", "Frames captured and decoded.",
            pl->packets);
    counter(f, "rstdiag_bytes_total", "Captured bytes of those frames.",
            pl->bytes);
    counter(f, "rstdiag_tcp_packets_total", "Frames that decoded to a TCP "
            "segment.", pl->tcp);
    rd_metrics_family(f, "rstdiag_skipped_packets_total", "counter",
                      "Frames skipped: not IP, not TCP, or an IP fragment.");
    for (st = RD_DECODE_SKIP_NOT_IP; st <= RD_DECODE_SKIP_FRAGMENT; st++) {
        l[1] = rd_tok2str(rd_decode_status_names, st, "?");
        rd_metrics_sample(f, "rstdiag_skipped_packets_total", l,
                          pl->status[st]);
    }
    rd_metrics_family(f, "rstdiag_malformed_packets_total", "counter",
                      "Frames counted and skipped as malformed, by reason.");
    for (st = RD_DECODE_SKIP_FRAGMENT + 1; st < RD_DECODE_NSTATUS; st++) {
        l[1] = rd_tok2str(rd_decode_status_names, st, "?");
        rd_metrics_sample(f, "rstdiag_malformed_packets_total", l,
                          pl->status[st]);
    }
    if (src->capture_stats) {
        const char  *w[3] = { "where", "kernel", NULL };

        rd_metrics_family(f, "rstdiag_capture_drops_total", "counter",
                          "Packets the capture lost (pcap_stats): dropped by "
                          "the kernel for lack of buffer space, or by the "
                          "interface.");
        rd_metrics_sample(f, "rstdiag_capture_drops_total", w,
                          src->drops_kernel);
        w[1] = "interface";
        rd_metrics_sample(f, "rstdiag_capture_drops_total", w,
                          src->drops_iface);
    }
    counter(f, "rstdiag_capture_gaps_total", "Capture gaps in finished "
            "connections: bytes a receiver acknowledged that the capture "
            "never held.", pl->gaps);
    counter(f, "rstdiag_capture_gap_bytes_total", "Bytes missing in those "
            "gaps.", pl->gap_bytes);
}


static void
write_flows(FILE *f, const struct rd_metrics_source *src)
{
    const struct rd_flow_stats  *fl = src->flows;

    gauge(f, "rstdiag_flows_active", "Connections in the flow table now.",
          (double) fl->active);
    gauge(f, "rstdiag_flows_peak", "Most connections in the flow table at "
          "once.", (double) fl->peak);
    counter(f, "rstdiag_flows_created_total", "Connections started.",
            fl->created);
    counter(f, "rstdiag_flows_evicted_total", "Connections finished early "
            "because the flow table was full (--max-flows).", fl->evicted);
    counter(f, "rstdiag_flows_expired_total", "Connections finished by the "
            "idle timeout or after the linger that follows a close.",
            fl->expired);
}


static void
write_conns(FILE *f, const struct rd_metrics *m)
{
    const char  *l[5] = { "leg", NULL, "verdict", NULL, NULL };
    const char  *r[5] = { "by", NULL, "leg", NULL, NULL };
    const char  *u[3] = { "upstream", NULL, NULL };
    char         ep[RD_EP_STRLEN];
    int          leg, code, i;

    rd_metrics_family(f, "rstdiag_connections_total", "counter",
                      "Connections finished, by leg and verdict (none: "
                      "nothing to say).");
    for (leg = 0; leg < NLEGS; leg++) {
        l[1] = rd_tok2str(rd_leg_names, leg, "?");
        for (code = 0; code < RD_V_NCODES; code++) {
            l[3] = rd_tok2str(rd_verdict_names, code, "?");
            rd_metrics_sample(f, "rstdiag_connections_total", l,
                              m->conns[leg][code]);
        }
    }
    rd_metrics_family(f, "rstdiag_abnormal_connections_total", "counter",
                      "Connections reported as abnormal (an RST, a refused "
                      "or unanswered connect, a failed exchange, or a "
                      "warning), by leg.");
    for (leg = 0; leg < NLEGS; leg++) {
        l[1] = rd_tok2str(rd_leg_names, leg, "?");
        l[2] = NULL;
        rd_metrics_sample(f, "rstdiag_abnormal_connections_total", l,
                          m->abnormal[leg]);
    }
    rd_metrics_family(f, "rstdiag_resets_total", "counter",
                      "Connections with an RST, by the side that sent the "
                      "first one and by leg.");
    for (i = 0; i < 2; i++) {
        r[1] = side_names[i];
        for (leg = 0; leg < NLEGS; leg++) {
            r[3] = rd_tok2str(rd_leg_names, leg, "?");
            rd_metrics_sample(f, "rstdiag_resets_total", r, m->resets[i][leg]);
        }
    }
    rd_metrics_family(f, "rstdiag_framing_findings_total", "counter",
                      "Responses with a framing finding, among the last "
                      "exchanges each finished connection holds.");
    for (i = 1; i < NFINDINGS; i++) {
        const char  *g[3] = { "finding", NULL, NULL };

        g[1] = finding_name(i);
        rd_metrics_sample(f, "rstdiag_framing_findings_total", g,
                          m->findings[i]);
    }
    rd_metrics_family(f, "rstdiag_upstream_abnormal_total", "counter",
                      "Abnormal upstream-leg connections by upstream "
                      "address; past 32 addresses, under other.");
    for (i = 0; i < (int) m->nup; i++) {
        rd_ep_format(ep, sizeof(ep), m->up[i].af, m->up[i].addr,
                     m->up[i].port);
        u[1] = ep;
        rd_metrics_sample(f, "rstdiag_upstream_abnormal_total", u,
                          m->up[i].abnormal);
    }
    u[1] = "other";
    rd_metrics_sample(f, "rstdiag_upstream_abnormal_total", u, m->up_other);
    rd_metrics_family(f, "rstdiag_request_to_close_seconds", "histogram",
                      "Abnormal connections: seconds from the last request "
                      "to the first FIN or RST, by leg.");
    for (leg = 0; leg < NLEGS; leg++) {
        l[1] = rd_tok2str(rd_leg_names, leg, "?");
        l[2] = NULL;
        rd_metrics_hist_write(f, "rstdiag_request_to_close_seconds", l,
                              &m->to_close[leg]);
    }
}


/* --evidence */
static void
write_evidence(FILE *f, const struct rd_metrics_source *src)
{
    const struct rd_evdir_stats  *d = src->evidence;

    counter(f, "rstdiag_evidence_files_total", "Incident pcapng files "
            "written to the --evidence directory.", d->files);
    counter(f, "rstdiag_evidence_removed_total", "Evidence files removed "
            "again to keep within --evidence-max-files and "
            "--evidence-max-bytes.", d->removed);
    counter(f, "rstdiag_evidence_errors_total", "Evidence files that could "
            "not be written.", d->errors);
    gauge(f, "rstdiag_evidence_files", "Evidence files kept now.",
          (double) d->kept);
    gauge(f, "rstdiag_evidence_bytes", "Bytes of the evidence files kept "
          "now.", (double) d->bytes);
    if (src->evidence_store != NULL) {
        counter(f, "rstdiag_evidence_packets_reclaimed_total", "Stored "
                "packets of tracked connections overwritten because the "
                "pool (--evidence-pool-bytes) was full.",
                src->evidence_store->reclaimed);
    }
}


int
rd_metrics_write(FILE *f, const struct rd_metrics *m,
    const struct rd_metrics_source *src)
{
    const char  *b[3] = { "version", NULL, NULL };

    b[1] = src->version != NULL ? src->version : "unknown";
    rd_metrics_family(f, "rstdiag_build_info", "gauge",
                      "Always 1; the version is the label.");
    rd_metrics_sample(f, "rstdiag_build_info", b, 1);
    gauge(f, "rstdiag_start_time_seconds", "When the capture started, "
          "seconds since the epoch.", src->start_time);
    write_packets(f, src);
    write_flows(f, src);
    write_conns(f, m);
    if (src->evidence != NULL) {
        write_evidence(f, src);
    }
    return ferror(f) ? -1 : 0;
}
