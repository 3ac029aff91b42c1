/*
 * Unit tests of metrics.h: the Prometheus text exposition writer (HELP and
 * TYPE, label escaping, histograms) and the counters fed by finished
 * connections.  Output is captured with open_memstream.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "talloc.h"

#include "rstdiag/legs.h"
#include "rstdiag/metrics.h"

struct cap {
    FILE   *f;
    char   *buf;
    size_t  len;
};


static void
cap_open(struct cap *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
}


/* The text written so far; the caller frees it. */
static char *
cap_close(struct cap *c)
{
    assert_int_equal(fclose(c->f), 0);
    return c->buf;
}


/* A family's HELP comes first, then its TYPE; HELP escapes backslash and
 * line feed (and nothing else: a quote stays as it is). */
static void
test_metrics_family_help_then_type(void **state)
{
    struct cap  c;
    char       *s;

    (void) state;
    cap_open(&c);
    rd_metrics_family(c.f, "rstdiag_x_total", "counter",
                      "a \"b\" \\ c\nd");
    s = cap_close(&c);
    assert_string_equal(s, "# HELP rstdiag_x_total a \"b\" \\\\ c\\nd\n"
                           "# TYPE rstdiag_x_total counter\n");
    free(s);
}


/* Label values escape backslash, double quote and line feed; bytes a
 * scraper could choke on (controls, non-ASCII) become '?'. */
static void
test_metrics_label_value_escaped(void **state)
{
    const char  *l[5] = { "a", "x\"y\\z\nw", "b", "\t\xc3\xa9", NULL };
    struct cap   c;
    char        *s;

    (void) state;
    cap_open(&c);
    rd_metrics_sample(c.f, "m_total", l, 7);
    rd_metrics_sample(c.f, "m_total", NULL, 0);
    s = cap_close(&c);
    assert_string_equal(s, "m_total{a=\"x\\\"y\\\\z\\nw\",b=\"???\"} 7\n"
                           "m_total 0\n");
    free(s);
}


/* Floats are written so that Go's ParseFloat reads them: NaN, +Inf. */
static void
test_metrics_sample_float_special(void **state)
{
    struct cap  c;
    char       *s;

    (void) state;
    cap_open(&c);
    rd_metrics_sample_f(c.f, "g", NULL, 0.25);
    rd_metrics_sample_f(c.f, "g", NULL, NAN);
    rd_metrics_sample_f(c.f, "g", NULL, INFINITY);
    rd_metrics_sample_f(c.f, "g", NULL, 1796650025.5);
    s = cap_close(&c);
    assert_string_equal(s, "g 0.25\ng NaN\ng +Inf\ng 1796650025.5\n");
    free(s);
}


/*
 * Buckets are cumulative, le is inclusive (an observation equal to a
 * bound falls in it), +Inf holds everything, and _sum and _count follow
 * with the same labels.
 */
static void
test_metrics_hist_cumulative(void **state)
{
    static const double      b[] = { 0.1, 1, 10 };
    const char              *l[3] = { "leg", "upstream_leg", NULL };
    struct rd_metrics_hist   h;
    struct cap               c;
    char                    *s;

    (void) state;
    rd_metrics_hist_init(&h, b, 3);
    rd_metrics_hist_observe(&h, 0.05);
    rd_metrics_hist_observe(&h, 0.1);
    rd_metrics_hist_observe(&h, 0.5);
    rd_metrics_hist_observe(&h, 5);
    rd_metrics_hist_observe(&h, 50);
    rd_metrics_hist_observe(&h, 50);
    rd_metrics_hist_observe(&h, NAN);       /* ignored */
    cap_open(&c);
    rd_metrics_hist_write(c.f, "t_seconds", l, &h);
    s = cap_close(&c);
    assert_string_equal(s,
        "t_seconds_bucket{leg=\"upstream_leg\",le=\"0.1\"} 2\n"
        "t_seconds_bucket{leg=\"upstream_leg\",le=\"1\"} 3\n"
        "t_seconds_bucket{leg=\"upstream_leg\",le=\"10\"} 4\n"
        "t_seconds_bucket{leg=\"upstream_leg\",le=\"+Inf\"} 6\n"
        "t_seconds_sum{leg=\"upstream_leg\"} 105.65\n"
        "t_seconds_count{leg=\"upstream_leg\"} 6\n");
    free(s);
}


/* An empty histogram still has every bucket, at 0. */
static void
test_metrics_hist_empty_no_labels(void **state)
{
    static const double      b[] = { 1 };
    struct rd_metrics_hist   h;
    struct cap               c;
    char                    *s;

    (void) state;
    rd_metrics_hist_init(&h, b, 1);
    cap_open(&c);
    rd_metrics_hist_write(c.f, "t", NULL, &h);
    s = cap_close(&c);
    assert_string_equal(s, "t_bucket{le=\"1\"} 0\nt_bucket{le=\"+Inf\"} 0\n"
                           "t_sum 0\nt_count 0\n");
    free(s);
}


/* A refused upstream connection: an RST by the server answering SYN. */
static void
refused(struct rd_conn *c, struct rd_conn_cold *cold, uint8_t last_octet)
{
    memset(c, 0, sizeof(*c));
    memset(cold, 0, sizeof(*cold));
    c->af = 4;
    c->ep[RD_CONN_CLIENT].addr[0] = 127;
    c->ep[RD_CONN_CLIENT].addr[3] = 1;
    c->ep[RD_CONN_CLIENT].port = 40000;
    c->ep[RD_CONN_SERVER].addr[0] = 10;
    c->ep[RD_CONN_SERVER].addr[3] = last_octet;
    c->ep[RD_CONN_SERVER].port = 8080;
    c->leg = RD_LEG_UPSTREAM;
    c->refused = 1;
    c->syn = 1;
    c->closed = 1;
    c->rst_total = 1;
    c->nrst = 1;
    c->close_kind = RD_CLOSE_RST;
    c->close_by = RD_CONN_SERVER;
    c->cold = cold;
    cold->rst[0].by = RD_CONN_SERVER;
}


/* The value of the sample line that starts with key (then a space). */
static double
value_of(const char *text, const char *key)
{
    const char  *p = text;
    size_t       n = strlen(key);

    while ((p = strstr(p, key)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            return strtod(p + n + 1, NULL);
        }
        p += n;
    }
    return -1;
}


/*
 * The whole exposition: every family has HELP then TYPE, every sample
 * belongs to the family announced last (histograms through _bucket, _sum
 * and _count), counters end in _total; connections are counted by leg and
 * verdict, resets by side, upstreams up to the cap and then as other.
 */
static void
test_metrics_write_families_and_counts(void **state)
{
    struct rd_metrics          *m;
    struct rd_conn              c;
    struct rd_conn_cold         cold;
    struct rd_verdict           v;
    struct rd_pipeline_stats    pl;
    struct rd_flow_stats        fl;
    struct rd_metrics_source    src;
    struct rd_evdir_stats       evd;
    struct rd_evstore_stats     evs;
    struct cap                  cp;
    char                       *s, *line, *save, fam[128], type[32];
    int                         i, families;
    size_t                      n;

    (void) state;
    m = rd_metrics_create(&talloc);
    assert_non_null(m);
    memset(&v, 0, sizeof(v));
    v.code = RD_V_UPSTREAM_REFUSED;
    v.severity = RD_SEV_ERROR;
    v.elapsed = -1;
    for (i = 0; i < RD_METRICS_MAX_UPSTREAMS + 8; i++) {
        refused(&c, &cold, (uint8_t) (i + 1));
        rd_metrics_conn(m, &c, &v);
    }
    refused(&c, &cold, 1);              /* a second one for 10.0.0.1 */
    rd_metrics_conn(m, &c, &v);

    memset(&pl, 0, sizeof(pl));
    memset(&fl, 0, sizeof(fl));
    pl.packets = 123;
    pl.status[RD_DECODE_SHORT_TCP] = 4;
    fl.active = 5;
    memset(&src, 0, sizeof(src));
    src.pl = &pl;
    src.flows = &fl;
    src.capture_stats = true;
    src.drops_kernel = 9;
    src.version = "0.1.0";
    /* without --evidence: no evidence families */
    cap_open(&cp);
    assert_int_equal(rd_metrics_write(cp.f, m, &src), 0);
    s = cap_close(&cp);
    assert_null(strstr(s, "rstdiag_evidence"));
    free(s);
    memset(&evd, 0, sizeof(evd));
    memset(&evs, 0, sizeof(evs));
    evd.files = 7;
    evd.removed = 3;
    evd.kept = 4;
    evd.bytes = 4096;
    evs.reclaimed = 11;
    src.evidence = &evd;
    src.evidence_store = &evs;
    cap_open(&cp);
    assert_int_equal(rd_metrics_write(cp.f, m, &src), 0);
    s = cap_close(&cp);

    assert_true(value_of(s, "rstdiag_evidence_files_total") == 7);
    assert_true(value_of(s, "rstdiag_evidence_removed_total") == 3);
    assert_true(value_of(s, "rstdiag_evidence_errors_total") == 0);
    assert_true(value_of(s, "rstdiag_evidence_files") == 4);
    assert_true(value_of(s, "rstdiag_evidence_bytes") == 4096);
    assert_true(value_of(s, "rstdiag_evidence_packets_reclaimed_total") == 11);
    assert_non_null(strstr(s, "# TYPE rstdiag_evidence_files_total "
                              "counter\n"));
    assert_non_null(strstr(s, "# TYPE rstdiag_evidence_removed_total "
                              "counter\n"));

    assert_true(value_of(s, "rstdiag_packets_total") == 123);
    assert_true(value_of(s, "rstdiag_malformed_packets_total"
                            "{reason=\"short_tcp\"}") == 4);
    assert_true(value_of(s, "rstdiag_capture_drops_total"
                            "{where=\"kernel\"}") == 9);
    assert_true(value_of(s, "rstdiag_capture_drops_total"
                            "{where=\"interface\"}") == 0);
    assert_true(value_of(s, "rstdiag_flows_active") == 5);
    assert_true(value_of(s, "rstdiag_connections_total{leg=\"upstream_leg\","
                            "verdict=\"upstream_refused\"}")
                == RD_METRICS_MAX_UPSTREAMS + 9);
    assert_true(value_of(s, "rstdiag_connections_total{leg=\"client_leg\","
                            "verdict=\"none\"}") == 0);
    assert_true(value_of(s, "rstdiag_resets_total{by=\"server\","
                            "leg=\"upstream_leg\"}")
                == RD_METRICS_MAX_UPSTREAMS + 9);
    assert_true(value_of(s, "rstdiag_resets_total{by=\"client\","
                            "leg=\"upstream_leg\"}") == 0);
    assert_true(value_of(s, "rstdiag_upstream_abnormal_total"
                            "{upstream=\"10.0.0.1:8080\"}") == 2);
    assert_true(value_of(s, "rstdiag_upstream_abnormal_total"
                            "{upstream=\"10.0.0.32:8080\"}") == 1);
    assert_true(value_of(s, "rstdiag_upstream_abnormal_total"
                            "{upstream=\"10.0.0.33:8080\"}") == -1);
    assert_true(value_of(s, "rstdiag_upstream_abnormal_total"
                            "{upstream=\"other\"}") == 8);
    /* a refused connect has no request: nothing in the histogram */
    assert_true(value_of(s, "rstdiag_request_to_close_seconds_count"
                            "{leg=\"upstream_leg\"}") == 0);

    families = 0;
    fam[0] = '\0';
    type[0] = '\0';
    for (line = strtok_r(s, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
    {
        if (strncmp(line, "# HELP ", 7) == 0) {
            n = strcspn(line + 7, " ");
            assert_true(n < sizeof(fam));
            memcpy(fam, line + 7, n);
            fam[n] = '\0';
            type[0] = '\0';
            families++;
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            n = strlen(fam);
            /* TYPE names the family HELP just named */
            assert_int_equal(strncmp(line + 7, fam, n), 0);
            assert_int_equal(line[7 + n], ' ');
            snprintf(type, sizeof(type), "%s", line + 8 + n);
            if (strcmp(type, "counter") == 0) {
                assert_true(n > 6 && strcmp(fam + n - 6, "_total") == 0);
            }
            continue;
        }
        /* a sample: of the current family, after its TYPE */
        assert_true(type[0] != '\0');
        n = strlen(fam);
        assert_int_equal(strncmp(line, fam, n), 0);
        if (strcmp(type, "histogram") == 0) {
            assert_true(strncmp(line + n, "_bucket{", 8) == 0
                        || strncmp(line + n, "_sum", 4) == 0
                        || strncmp(line + n, "_count", 6) == 0);
        } else {
            assert_true(line[n] == ' ' || line[n] == '{');
        }
    }
    assert_true(families >= 20);
    free(s);
    rd_metrics_destroy(m);
}


/* An abnormal exchange with a request: the histogram counts the seconds
 * from the request's end to the close, and framing findings are counted
 * per response, "complete" excepted. */
static void
test_metrics_conn_histogram_and_findings(void **state)
{
    struct rd_metrics         *m;
    struct rd_conn             c;
    struct rd_conn_cold        cold;
    struct rd_verdict          v;
    struct rd_pipeline_stats   pl;
    struct rd_flow_stats       fl;
    struct rd_metrics_source   src;
    struct cap                 cp;
    char                      *s;

    (void) state;
    m = rd_metrics_create(&talloc);
    assert_non_null(m);
    refused(&c, &cold, 7);
    memset(&v, 0, sizeof(v));
    v.code = RD_V_UPSTREAM_RESET_MID_BODY;
    v.severity = RD_SEV_ERROR;
    v.elapsed = 0.3;
    rd_metrics_conn(m, &c, &v);
    memset(&pl, 0, sizeof(pl));
    memset(&fl, 0, sizeof(fl));
    memset(&src, 0, sizeof(src));
    src.pl = &pl;
    src.flows = &fl;
    cap_open(&cp);
    assert_int_equal(rd_metrics_write(cp.f, m, &src), 0);
    s = cap_close(&cp);
    assert_true(value_of(s, "rstdiag_request_to_close_seconds_bucket"
                            "{leg=\"upstream_leg\",le=\"0.25\"}") == 0);
    assert_true(value_of(s, "rstdiag_request_to_close_seconds_bucket"
                            "{leg=\"upstream_leg\",le=\"0.5\"}") == 1);
    assert_true(value_of(s, "rstdiag_request_to_close_seconds_bucket"
                            "{leg=\"upstream_leg\",le=\"+Inf\"}") == 1);
    assert_true(value_of(s, "rstdiag_request_to_close_seconds_sum"
                            "{leg=\"upstream_leg\"}") == 0.3);
    /* no capture stats: no drops family rather than a made-up 0 */
    assert_null(strstr(s, "rstdiag_capture_drops_total"));
    assert_null(strstr(s, "finding=\"complete\""));
    assert_non_null(strstr(s, "rstdiag_framing_findings_total"
                              "{finding=\"truncated\"} 0\n"));
    free(s);
    rd_metrics_destroy(m);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_metrics_family_help_then_type),
        cmocka_unit_test(test_metrics_label_value_escaped),
        cmocka_unit_test(test_metrics_sample_float_special),
        cmocka_unit_test(test_metrics_hist_cumulative),
        cmocka_unit_test(test_metrics_hist_empty_no_labels),
        cmocka_unit_test(test_metrics_write_families_and_counts),
        cmocka_unit_test(test_metrics_conn_histogram_and_findings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
