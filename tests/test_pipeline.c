/*
 * test_pipeline: what the pipeline adds around a connection's verdict,
 * here the capture-loss spans of live mode (issue 15): a verdict whose
 * connection was open while the capture dropped packets is one
 * confidence lower and counts them; spans elsewhere leave it alone.
 * And --evidence: each incident gets its packets and its other leg's, in
 * time order, the deciding RST or FIN marked.
 * Reads pcaps/lab-rst_before_header.pcap (a real nginx run, two legs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <pcap/pcap.h>
#include "rstdiag/pipeline.h"

#define USEC 1000000LL

struct seen {
    uint32_t    ev_max;             /* cfg.evidence_max_packets, 0 off */
    int         ev_calls;           /* evidence callbacks */
    int         ev_named;           /* records with v->evidence */
    int         ev_incidents;       /* warning or error verdicts */
    int         ev_bad;             /* callbacks that broke a rule */
    int         ev_both_legs;       /* files with packets of two tuples */
    uint64_t    ev_omitted;
    int         verdicts;           /* with a code */
    int         lowered;            /* with drops and not high */
    uint64_t    drops;              /* summed capture_drops */
    rd_usec_t   first, last;        /* packet times */
};

static const char  *capture;

static void
on_conn(void *ctx, const struct rd_conn *c, const struct rd_verdict *v)
{
    struct seen  *s = ctx;

    (void) c;
    if (v->severity >= RD_SEV_WARNING) {
        s->ev_incidents++;
    }
    if (v->evidence != NULL) {
        s->ev_named += strcmp(v->evidence, "dir/file.pcapng") == 0;
    }
    if (v->code == RD_V_NONE) {
        return;
    }
    s->verdicts++;
    s->drops += v->capture_drops;
    if (v->capture_drops > 0 && v->confidence != RD_CONF_HIGH
        && v->why != NULL && strstr(v->why, "dropped") != NULL)
    {
        s->lowered++;
    }
}


/* --evidence: what the writer would get */
static const char *
on_evidence(void *ctx, const struct rd_conn *c, const struct rd_conn *peer,
    const struct rd_verdict *v, const struct rd_evpkt *pk, size_t n,
    uint64_t omitted)
{
    struct seen  *s = ctx;
    size_t        i, marked;
    bool          other;

    s->ev_calls++;
    s->ev_omitted += omitted;
    marked = 0;
    other = false;
    for (i = 0; i < n; i++) {
        if (i > 0 && pk[i].ts < pk[i - 1].ts) {
            s->ev_bad++;                /* not in time order */
        }
        if (pk[i].caplen == 0 || pk[i].data == NULL) {
            s->ev_bad++;
        }
        if (pk[i].sport != c->ep[0].port && pk[i].sport != c->ep[1].port) {
            other = true;               /* the other leg's */
        }
        if (pk[i].mark) {
            marked++;
            /* the upstream's RST decided the upstream leg */
            if (v->code == RD_V_UPSTREAM_RESET_BEFORE_RESPONSE
                && (!(pk[i].flags & RD_TCP_RST)
                    || pk[i].sport != c->ep[RD_CONN_SERVER].port))
            {
                s->ev_bad++;
            }
        }
    }
    if (marked != 1 || v->severity < RD_SEV_WARNING
        || (s->ev_max > 0 && n > 2 * (size_t) s->ev_max)
        || (c->leg == RD_LEG_UPSTREAM && peer == NULL))
    {
        s->ev_bad++;
    }
    s->ev_both_legs += other;
    return "dir/file.pcapng";
}


/* The capture's times, then a run with spans noted (from, to, n). */
static void
run(struct seen *s, const rd_usec_t (*span)[3], int nspans)
{
    struct rd_pipeline_cfg   cfg;
    struct rd_pipeline      *pl;
    struct pcap_pkthdr      *h;
    const u_char            *data;
    char                     perr[PCAP_ERRBUF_SIZE], err[RD_ERRLEN];
    pcap_t                  *p;
    rd_usec_t                ts;
    int                      i;

    p = pcap_open_offline(capture, perr);
    assert_non_null(p);
    rd_pipeline_cfg_default(&cfg);
    cfg.max_flows = 64;
    cfg.evidence_max_packets = s->ev_max;
    pl = rd_pipeline_create(rd_alloc_default(), &cfg, on_conn, s, err);
    assert_non_null(pl);
    if (s->ev_max > 0) {
        rd_pipeline_set_evidence(pl, on_evidence, s);
        assert_non_null(rd_pipeline_evidence_stats(pl));
    } else {
        assert_null(rd_pipeline_evidence_stats(pl));
    }
    for (i = 0; i < nspans; i++) {
        rd_pipeline_note_drops(pl, span[i][0], span[i][1],
                               (uint64_t) span[i][2]);
    }
    while (pcap_next_ex(p, &h, &data) == 1) {
        ts = (rd_usec_t) h->ts.tv_sec * USEC + h->ts.tv_usec;
        if (s->first == 0) {
            s->first = ts;
        }
        s->last = ts;
        rd_pipeline_packet(pl, pcap_datalink(p), data, h->caplen, h->len,
                           ts);
    }
    rd_pipeline_finish(pl);
    rd_pipeline_destroy(pl);
    pcap_close(p);
}


static void
test_pipeline_drops_lower_confidence(void **state)
{
    struct seen  base, s;
    rd_usec_t    span[40][3];
    int          i;

    (void) state;
    memset(&base, 0, sizeof(base));
    run(&base, NULL, 0);
    assert_true(base.verdicts >= 1);
    assert_int_equal(base.drops, 0);
    assert_int_equal(base.lowered, 0);

    /* a span over the whole capture: every verdict counts its 7 */
    memset(&s, 0, sizeof(s));
    span[0][0] = base.first - USEC;
    span[0][1] = base.last + USEC;
    span[0][2] = 7;
    run(&s, (const rd_usec_t (*)[3]) span, 1);
    assert_int_equal(s.verdicts, base.verdicts);
    assert_int_equal(s.lowered, base.verdicts);
    assert_int_equal(s.drops, 7 * (uint64_t) base.verdicts);

    /* spans before and after the capture: nothing */
    memset(&s, 0, sizeof(s));
    span[0][0] = base.first - 100 * USEC;
    span[0][1] = base.first - 50 * USEC;
    span[1][0] = base.last + 50 * USEC;
    span[1][1] = base.last + 100 * USEC;
    span[1][2] = 3;
    run(&s, (const rd_usec_t (*)[3]) span, 2);
    assert_int_equal(s.verdicts, base.verdicts);
    assert_int_equal(s.drops, 0);
    assert_int_equal(s.lowered, 0);

    /* more spans than are kept, the one over the capture first: merged
     * into its neighbour, never forgotten */
    memset(&s, 0, sizeof(s));
    span[0][0] = base.first;
    span[0][1] = base.last;
    span[0][2] = 5;
    for (i = 1; i < 40; i++) {
        span[i][0] = base.last + (rd_usec_t) i * 10 * USEC;
        span[i][1] = span[i][0] + USEC;
        span[i][2] = 1;
    }
    run(&s, (const rd_usec_t (*)[3]) span, 40);
    assert_int_equal(s.lowered, base.verdicts);
    assert_true(s.drops >= 5 * (uint64_t) base.verdicts);

    /* two readings a second apart are one episode */
    memset(&s, 0, sizeof(s));
    span[0][0] = base.first - 3 * USEC;
    span[0][1] = base.first - 2 * USEC;
    span[0][2] = 2;
    span[1][0] = base.first - 2 * USEC + USEC / 2;
    span[1][1] = base.last;
    span[1][2] = 4;
    run(&s, (const rd_usec_t (*)[3]) span, 2);
    assert_int_equal(s.drops, 6 * (uint64_t) base.verdicts);
}


/* --evidence on both legs of a real reset: one call per incident, each
 * with both legs' packets in time order and the deciding packet marked
 * (the upstream's RST for the upstream leg); the record names the file.
 * With 3 packets a connection, at most 6 and the rest counted omitted.
 * Without it, no call and no name. */
static void
test_pipeline_evidence_both_legs(void **state)
{
    struct seen  s;

    (void) state;
    memset(&s, 0, sizeof(s));
    s.ev_max = 64;
    run(&s, NULL, 0);
    assert_int_equal(s.ev_incidents, 2);
    assert_int_equal(s.ev_calls, 2);
    assert_int_equal(s.ev_named, 2);
    assert_int_equal(s.ev_bad, 0);
    assert_int_equal(s.ev_both_legs, 2);    /* the client leg's file too */
    assert_int_equal(s.ev_omitted, 0);

    memset(&s, 0, sizeof(s));
    s.ev_max = 3;
    run(&s, NULL, 0);
    assert_int_equal(s.ev_calls, 2);
    assert_int_equal(s.ev_bad, 0);
    assert_true(s.ev_omitted > 0);

    memset(&s, 0, sizeof(s));
    run(&s, NULL, 0);
    assert_int_equal(s.ev_calls, 0);
    assert_int_equal(s.ev_named, 0);
    assert_int_equal(s.ev_incidents, 2);
}


int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_drops_lower_confidence),
        cmocka_unit_test(test_pipeline_evidence_both_legs),
    };

    capture = argc > 1 ? argv[1] : "pcaps/lab-rst_before_header.pcap";
    return cmocka_run_group_tests(tests, NULL, NULL);
}
