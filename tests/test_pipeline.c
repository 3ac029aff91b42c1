/*
 * test_pipeline: what the pipeline adds around a connection's verdict,
 * here the capture-loss spans of live mode (issue 15): a verdict whose
 * connection was open while the capture dropped packets is one
 * confidence lower and counts them; spans elsewhere leave it alone.
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
    pl = rd_pipeline_create(rd_alloc_default(), &cfg, on_conn, s, err);
    assert_non_null(pl);
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


int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_drops_lower_confidence),
    };

    capture = argc > 1 ? argv[1] : "pcaps/lab-rst_before_header.pcap";
    return cmocka_run_group_tests(tests, NULL, NULL);
}
