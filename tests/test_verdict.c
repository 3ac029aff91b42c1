/*
 * Table-driven tests of the verdict classifier: one case per rule, and one
 * per precedence conflict.  Connections are built field by field: the
 * classifier is a pure function of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rstdiag/legs.h"
#include "rstdiag/verdict.h"

#define S 1000000

struct vcase {
    const char     *name;
    int             leg;
    /* connection */
    int             close_kind, close_by, phase;
    uint32_t        served;
    bool            refused, syn_only;
    int             rst_by;             /* -1: no RST */
    bool            rst_acceptable;
    uint8_t         rst_ttl;            /* 0: same as the sender */
    /* last exchange; status 0: no response */
    uint16_t        status;
    uint32_t        findings;
    uint64_t        header_bytes;
    bool            two_exchanges;      /* a served one before it */
    /* the other leg (upstream legs): client closed first */
    bool            peer_abort;
    uint32_t        version;
    /* expected */
    int             want;
    const char     *want_msg_part;      /* NULL: no message expected */
};

#define F(x) (1u << RD_HTTP1_ ## x)

static const struct vcase  cases[] = {
    /* upstream leg: one case per rule */
    { "refused", RD_LEG_UPSTREAM, RD_CLOSE_RST, RD_CONN_SERVER,
      RD_PHASE_CONNECT, 0, true, false, RD_CONN_SERVER, true, 0, 0, 0, 0,
      false, false, 0, RD_V_UPSTREAM_REFUSED, "Connection refused" },
    { "connect_timeout", RD_LEG_UPSTREAM, RD_CLOSE_NONE, 0, RD_PHASE_NONE, 0,
      false, true, -1, false, 0, 0, 0, 0, false, false, 0,
      RD_V_UPSTREAM_CONNECT_TIMEOUT, "while connecting to upstream" },
    { "reset_before_response", RD_LEG_UPSTREAM, RD_CLOSE_RST, RD_CONN_SERVER,
      RD_PHASE_AWAITING_RESPONSE_HEADER, 0, false, false, RD_CONN_SERVER,
      true, 0, 0, 0, 0, false, false, 0, RD_V_UPSTREAM_RESET_BEFORE_RESPONSE,
      "recv() failed (104" },
    { "reset_mid_body", RD_LEG_UPSTREAM, RD_CLOSE_RST, RD_CONN_SERVER,
      RD_PHASE_READING_RESPONSE_BODY, 0, false, false, RD_CONN_SERVER, true,
      0, 200, F(TRUNCATED), 200, false, false, 0,
      RD_V_UPSTREAM_RESET_MID_BODY, "readv() failed" },
    { "reset_sending_request", RD_LEG_UPSTREAM, RD_CLOSE_RST, RD_CONN_SERVER,
      RD_PHASE_SENDING_REQUEST, 0, false, false, RD_CONN_SERVER, true, 0, 0,
      0, 0, false, false, 0, RD_V_UPSTREAM_RESET_SENDING_REQUEST,
      "while sending request to upstream" },
    { "closed_before_response", RD_LEG_UPSTREAM, RD_CLOSE_FIN,
      RD_CONN_SERVER, RD_PHASE_AWAITING_RESPONSE_HEADER, 0, false, false, -1,
      false, 0, 0, 0, 0, false, false, 0,
      RD_V_UPSTREAM_CLOSED_BEFORE_RESPONSE, "prematurely closed connection "
      "while reading response header" },
    { "truncated_body", RD_LEG_UPSTREAM, RD_CLOSE_FIN, RD_CONN_SERVER,
      RD_PHASE_READING_RESPONSE_BODY, 0, false, false, -1, false, 0, 200,
      F(TRUNCATED), 200, false, false, 0, RD_V_UPSTREAM_TRUNCATED_BODY,
      "prematurely closed connection while reading upstream" },
    { "excess_body", RD_LEG_UPSTREAM, RD_CLOSE_FIN, RD_CONN_CLIENT,
      RD_PHASE_IDLE_KEEPALIVE, 1, false, false, -1, false, 0, 200,
      F(COMPLETE) | F(EXCESS), 200, false, false, 0,
      RD_V_UPSTREAM_EXCESS_BODY, "more data than specified" },
    { "invalid_chunked", RD_LEG_UPSTREAM, RD_CLOSE_FIN, RD_CONN_CLIENT,
      RD_PHASE_READING_RESPONSE_BODY, 0, false, false, -1, false, 0, 200,
      F(INVALID_CHUNKED), 200, false, false, 0,
      RD_V_UPSTREAM_INVALID_CHUNKED, "invalid chunked response" },
    { "header_too_big_rst", RD_LEG_UPSTREAM, RD_CLOSE_RST, RD_CONN_CLIENT,
      RD_PHASE_IDLE_KEEPALIVE, 1, false, false, RD_CONN_CLIENT, true, 0, 200,
      F(COMPLETE), 10240, false, false, 0, RD_V_UPSTREAM_HEADER_TOO_BIG,
      "too big header" },
    { "header_overflow", RD_LEG_UPSTREAM, RD_CLOSE_RST, RD_CONN_CLIENT,
      RD_PHASE_AWAITING_RESPONSE_HEADER, 0, false, false, RD_CONN_CLIENT,
      true, 0, 200, F(HEADER_OVERFLOW), 70000, false, false, 0,
      RD_V_UPSTREAM_HEADER_TOO_BIG, "too big header" },
    { "timeout", RD_LEG_UPSTREAM, RD_CLOSE_FIN, RD_CONN_CLIENT,
      RD_PHASE_AWAITING_RESPONSE_HEADER, 0, false, false, -1, false, 0, 0, 0,
      0, false, false, 0, RD_V_UPSTREAM_TIMEOUT,
      "timed out (110: Connection timed out) while reading response header" },
    { "keepalive_race_rst", RD_LEG_UPSTREAM, RD_CLOSE_RST, RD_CONN_SERVER,
      RD_PHASE_AWAITING_RESPONSE_HEADER, 1, false, false, RD_CONN_SERVER,
      true, 0, 0, 0, 0, true, false, 0, RD_V_KEEPALIVE_RACE,
      "recv() failed (104" },
    { "keepalive_race_fin", RD_LEG_UPSTREAM, RD_CLOSE_FIN, RD_CONN_SERVER,
      RD_PHASE_AWAITING_RESPONSE_HEADER, 1, false, false, -1, false, 0, 0, 0,
      0, true, false, 0, RD_V_KEEPALIVE_RACE, "prematurely closed" },
    { "client_abort", RD_LEG_UPSTREAM, RD_CLOSE_FIN, RD_CONN_CLIENT,
      RD_PHASE_AWAITING_RESPONSE_HEADER, 0, false, false, -1, false, 0, 0, 0,
      0, false, true, 0, RD_V_CLIENT_ABORT, "client prematurely closed" },
    { "chunked_to_http10", RD_LEG_UPSTREAM, RD_CLOSE_FIN, RD_CONN_CLIENT,
      RD_PHASE_AFTER_COMPLETE_RESPONSE, 1, false, false, -1, false, 0, 200,
      F(COMPLETE) | F(CHUNKED_TO_HTTP10), 100, false, false, 0,
      RD_V_CHUNKED_TO_HTTP10, NULL },
    { "cl_and_te_1_22", RD_LEG_UPSTREAM, RD_CLOSE_FIN, RD_CONN_CLIENT,
      RD_PHASE_AFTER_COMPLETE_RESPONSE, 1, false, false, -1, false, 0, 200,
      F(COMPLETE) | F(CL_AND_TE), 100, false, false, 12201, RD_V_CL_AND_TE,
      NULL },
    { "cl_and_te_1_23", RD_LEG_UPSTREAM, RD_CLOSE_FIN, RD_CONN_CLIENT,
      RD_PHASE_AFTER_COMPLETE_RESPONSE, 1, false, false, -1, false, 0, 200,
      F(COMPLETE) | F(CL_AND_TE), 100, false, false, 12300, RD_V_CL_AND_TE,
      "\"Content-Length\" and \"Transfer-Encoding\" headers at the same" },
    { "nginx_reset", RD_LEG_UPSTREAM, RD_CLOSE_RST, RD_CONN_CLIENT,
      RD_PHASE_IDLE_KEEPALIVE, 1, false, false, RD_CONN_CLIENT, true, 0, 200,
      F(COMPLETE), 100, false, false, 0, RD_V_NGINX_RESET, NULL },
    { "suspect_ttl", RD_LEG_UPSTREAM, RD_CLOSE_RST, RD_CONN_SERVER,
      RD_PHASE_AWAITING_RESPONSE_HEADER, 0, false, false, RD_CONN_SERVER,
      true, 50, 0, 0, 0, false, false, 0, RD_V_SUSPECT_INJECTED_RST,
      "recv() failed" },
    { "suspect_out_of_window", RD_LEG_UPSTREAM, RD_CLOSE_FIN, RD_CONN_SERVER,
      RD_PHASE_AFTER_COMPLETE_RESPONSE, 1, false, false, RD_CONN_SERVER,
      false, 0, 200, F(COMPLETE), 100, false, false, 0,
      RD_V_SUSPECT_INJECTED_RST, NULL },
    { "idle_close_fin", RD_LEG_UPSTREAM, RD_CLOSE_FIN, RD_CONN_SERVER,
      RD_PHASE_IDLE_KEEPALIVE, 1, false, false, -1, false, 0, 200,
      F(COMPLETE), 100, false, false, 0, RD_V_IDLE_CLOSE, NULL },
    { "healthy_nginx_closes", RD_LEG_UPSTREAM, RD_CLOSE_FIN, RD_CONN_CLIENT,
      RD_PHASE_IDLE_KEEPALIVE, 1, false, false, -1, false, 0, 200,
      F(COMPLETE), 100, false, false, 0, RD_V_NONE, NULL },
    { "healthy_close_delimited", RD_LEG_UPSTREAM, RD_CLOSE_FIN,
      RD_CONN_SERVER, RD_PHASE_AFTER_COMPLETE_RESPONSE, 0, false, false, -1,
      false, 0, 200, F(COMPLETE) | F(CLOSE_DELIMITED), 100, false, false, 0,
      RD_V_NONE, NULL },

    /* client leg */
    { "client_leg_abort", RD_LEG_CLIENT, RD_CLOSE_FIN, RD_CONN_CLIENT,
      RD_PHASE_AWAITING_RESPONSE_HEADER, 0, false, false, -1, false, 0, 0, 0,
      0, false, false, 0, RD_V_CLIENT_ABORT, "client prematurely closed" },
    { "client_leg_502", RD_LEG_CLIENT, RD_CLOSE_FIN, RD_CONN_CLIENT,
      RD_PHASE_IDLE_KEEPALIVE, 1, false, false, -1, false, 0, 502,
      F(COMPLETE), 150, false, false, 0, RD_V_BAD_GATEWAY, NULL },
    { "client_leg_cut", RD_LEG_CLIENT, RD_CLOSE_FIN, RD_CONN_SERVER,
      RD_PHASE_READING_RESPONSE_BODY, 0, false, false, -1, false, 0, 200,
      F(TRUNCATED), 150, false, false, 0, RD_V_RESPONSE_CUT_TO_CLIENT, NULL },
    { "client_leg_no_response", RD_LEG_CLIENT, RD_CLOSE_FIN, RD_CONN_SERVER,
      RD_PHASE_AWAITING_RESPONSE_HEADER, 0, false, false, -1, false, 0, 0, 0,
      0, false, false, 0, RD_V_NGINX_CLOSED_WITHOUT_RESPONSE, NULL },
    { "client_leg_healthy", RD_LEG_CLIENT, RD_CLOSE_FIN, RD_CONN_CLIENT,
      RD_PHASE_IDLE_KEEPALIVE, 2, false, false, -1, false, 0, 200,
      F(COMPLETE), 150, false, false, 0, RD_V_NONE, NULL },

    /* precedence conflicts */
    /* a refused connect is refused even though an RST also "closed" it */
    { "prec_refused_over_rst", RD_LEG_UPSTREAM, RD_CLOSE_RST,
      RD_CONN_SERVER, RD_PHASE_AWAITING_RESPONSE_HEADER, 0, true, false,
      RD_CONN_SERVER, true, 0, 0, 0, 0, false, false, 0,
      RD_V_UPSTREAM_REFUSED, "refused" },
    /* a reset on a reused connection is a race, not a plain reset */
    { "prec_race_over_reset", RD_LEG_UPSTREAM, RD_CLOSE_RST, RD_CONN_SERVER,
      RD_PHASE_AWAITING_RESPONSE_HEADER, 3, false, false, RD_CONN_SERVER,
      true, 0, 0, 0, 0, true, false, 0, RD_V_KEEPALIVE_RACE, "recv()" },
    /* an upstream FIN mid body beats the excess warning of an earlier
     * response */
    { "prec_truncated_over_excess", RD_LEG_UPSTREAM, RD_CLOSE_FIN,
      RD_CONN_SERVER, RD_PHASE_READING_RESPONSE_BODY, 0, false, false, -1,
      false, 0, 200, F(TRUNCATED) | F(EXCESS), 100, false, false, 0,
      RD_V_UPSTREAM_TRUNCATED_BODY, "while reading upstream" },
    /* nginx closing while waiting is an abort when the client left first,
     * a timeout otherwise (case "timeout") */
    { "prec_abort_over_timeout", RD_LEG_UPSTREAM, RD_CLOSE_FIN,
      RD_CONN_CLIENT, RD_PHASE_AWAITING_RESPONSE_HEADER, 0, false, false, -1,
      false, 0, 0, 0, 0, false, true, 0, RD_V_CLIENT_ABORT, NULL },
    /* an injected RST that closed the connection beats the upstream rule */
    { "prec_suspect_over_reset", RD_LEG_UPSTREAM, RD_CLOSE_RST,
      RD_CONN_SERVER, RD_PHASE_READING_RESPONSE_BODY, 0, false, false,
      RD_CONN_SERVER, true, 33, 200, F(TRUNCATED), 100, false, false, 0,
      RD_V_SUSPECT_INJECTED_RST, NULL },
    /* a client abort on the client leg beats a 502 seen before it */
    { "prec_client_abort_over_status", RD_LEG_CLIENT, RD_CLOSE_RST,
      RD_CONN_CLIENT, RD_PHASE_READING_RESPONSE_BODY, 0, false, false,
      RD_CONN_CLIENT, true, 0, 200, F(TRUNCATED), 100, false, false, 0,
      RD_V_CLIENT_ABORT, NULL },
};


static struct rd_conn_app  app;
static struct rd_conn_cold cold;
static struct rd_fcgi      fcgi_state;


static void
build(const struct vcase *k, struct rd_conn *c, struct rd_verdict_ctx *x)
{
    struct rd_exchange  *e;
    struct rd_conn_rst  *r;
    int                  i;

    memset(c, 0, sizeof(*c));
    memset(x, 0, sizeof(*x));
    memset(&app, 0, sizeof(app));
    memset(&cold, 0, sizeof(cold));
    c->app = &app;
    c->cold = &cold;
    c->id = 7;
    c->af = 4;
    c->ts_start = 100 * S;
    c->syn = 1;
    c->synack = !k->syn_only && !k->refused;
    c->established = c->synack;
    c->refused = k->refused;
    c->close_kind = (uint8_t) k->close_kind;
    c->close_by = (uint8_t) k->close_by;
    c->close_ts = 105 * S;
    c->phase = (uint8_t) k->phase;
    c->served_at_close = k->served;
    for (i = 0; i < 2; i++) {
        c->side[i].tcp.pkts = 5;
        c->side[i].first_ts = 100 * S;
        c->side[i].ttl_first = 64;
        c->side[i].ttl_min = 64;
        c->side[i].ttl_max = 64;
        c->side[i].ttl_samples = 4;
    }
    c->side[0].syns = k->syn_only ? 3 : 1;
    if (k->rst_by >= 0) {
        r = &c->cold->rst[0];
        c->nrst = 1;
        c->rst_total = 1;
        r->by = (uint8_t) k->rst_by;
        r->ts = k->close_kind == RD_CLOSE_RST ? c->close_ts : 103 * S;
        r->known = 1;
        r->acceptable = k->rst_acceptable;
        r->exact = k->rst_acceptable;
        r->answers_syn = k->refused;
        r->ttl = k->rst_ttl != 0 ? k->rst_ttl : 64;
    }
    if (k->two_exchanges) {
        e = &c->app->ex[c->nex++];
        e->has_req = e->has_resp = e->resp_done = 1;
        e->req_start = 101 * S;
        e->resp_end = 101 * S + 1000;
        e->status = 200;
        e->findings = F(COMPLETE);
        e->keep_alive = 1;
    }
    if (k->phase != RD_PHASE_CONNECT && k->phase != RD_PHASE_NONE
        && (k->phase != RD_PHASE_IDLE_KEEPALIVE || k->status != 0))
    {
        e = &c->app->ex[c->nex++];
        e->has_req = 1;
        e->req_start = 104 * S;
        e->req_end = 104 * S;
        if (k->status != 0) {
            e->has_resp = 1;
            e->resp_start = 104 * S + 500;
            e->status = k->status;
            e->findings = k->findings;
            e->header_bytes = k->header_bytes;
        }
    }
    c->next_resp = c->nex;
    x->leg = k->leg;
    x->nginx_version = k->version;
    if (k->peer_abort) {
        x->peer_known = true;
        x->peer_close_by = RD_CONN_CLIENT;
        x->peer_close_kind = RD_CLOSE_FIN;
        x->peer_close_ts = 104 * S + 500000;
    }
}


/* Every case of the table: the expected code and nginx message. */
static void
test_verdict_table(void **state)
{
    struct rd_conn         c;
    struct rd_verdict_ctx  x;
    struct rd_verdict      v;
    size_t                 i;
    int                    bad = 0;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        build(&cases[i], &c, &x);
        rd_verdict_classify(&c, &x, &v);
        if (v.code != cases[i].want) {
            print_error("%s: got %s, want %s\n", cases[i].name,
                        rd_tok2str(rd_verdict_names, v.code, "?"),
                        rd_tok2str(rd_verdict_names, cases[i].want, "?"));
            bad++;
            continue;
        }
        if (cases[i].want_msg_part != NULL
            && (v.message == NULL
                || strstr(v.message, cases[i].want_msg_part) == NULL))
        {
            print_error("%s: message '%s' lacks '%s'\n", cases[i].name,
                        v.message ? v.message : "(null)",
                        cases[i].want_msg_part);
            bad++;
        }
        if (cases[i].want_msg_part == NULL && cases[i].want != RD_V_NONE
            && cases[i].want != RD_V_CLIENT_ABORT
            && cases[i].want != RD_V_SUSPECT_INJECTED_RST
            && v.message != NULL)
        {
            print_error("%s: unexpected message '%s'\n", cases[i].name,
                        v.message);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}


/* Every code has a name, a severity and a fix; messages name nginx's
 * phase ("while ..."), as error.log lines do. */
static void
test_verdict_rules_complete(void **state)
{
    const struct rd_verdict_rule  *r;
    int                            i;

    (void) state;
    for (i = 1; i < RD_V_NCODES; i++) {
        r = rd_verdict_rule(i);
        assert_int_equal(r->code, i);
        assert_non_null(rd_tok2str(rd_verdict_names, i, NULL));
        assert_true(r->severity >= RD_SEV_INFO);
        assert_non_null(r->fix);
        assert_non_null(r->causes);
        if (r->message != NULL && i != RD_V_FASTCGI_STDERR) {
            assert_non_null(strstr(r->message, " while "));
            assert_non_null(r->level);
        }
    }
}


/* Gaps weaken a verdict; so does an unknown leg. */
static void
test_verdict_confidence(void **state)
{
    struct rd_conn         c;
    struct rd_verdict_ctx  x;
    struct rd_verdict      v;

    (void) state;
    build(&cases[2], &c, &x);
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.confidence, RD_CONF_HIGH);
    x.leg = RD_LEG_UNKNOWN;
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.confidence, RD_CONF_MEDIUM);
    assert_non_null(v.why);
    c.side[1].tcp.gap_bytes = 100;
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.confidence, RD_CONF_LOW);
}


/* The nginx version decides: both CL and TE is a warning for 1.22 and
 * an error (a 502) from 1.23.0 on. */
static void
test_verdict_version_changes_severity(void **state)
{
    struct rd_conn         c;
    struct rd_verdict_ctx  x;
    struct rd_verdict      v;

    (void) state;
    build(&cases[16], &c, &x);          /* cl_and_te_1_22 */
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.code, RD_V_CL_AND_TE);
    assert_int_equal(v.severity, RD_SEV_WARNING);
    assert_null(v.message);
    x.nginx_version = 12905;
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.severity, RD_SEV_ERROR);
    assert_non_null(v.message);
    assert_non_null(v.note);
}


/* The version table: rows of one code and kind never overlap, name a
 * real code, and say what the client gets; a range that ends has a note
 * saying what changes. */
static void
test_verdict_version_table_sound(void **state)
{
    const struct rd_version_row  *t, *a, *b;
    size_t                        n, i, j;
    uint32_t                      a_to, b_to;

    (void) state;
    t = rd_verdict_versions(&n);
    assert_true(n > 0);
    for (i = 0; i < n; i++) {
        a = &t[i];
        assert_true(a->code > RD_V_NONE && a->code < RD_V_NCODES);
        assert_true(a->to == 0 || a->to > a->from);
        assert_non_null(rd_tok2str(rd_client_gets_names, a->gets, NULL));
        if (a->gets == RD_GETS_ERROR_PAGE || a->gets == RD_GETS_CLIENT_GONE) {
            assert_true(a->client_status >= 400);
        }
        if (a->from != 0 || a->to != 0) {
            assert_non_null(a->note);
        }
        if (a->message != NULL && a->message[0] != '\0') {
            assert_non_null(a->level);
            assert_non_null(strstr(a->message, " while "));
        }
        for (j = i + 1; j < n; j++) {
            b = &t[j];
            if (b->code != a->code || b->when != a->when) {
                continue;
            }
            a_to = a->to == 0 ? UINT32_MAX : a->to;
            b_to = b->to == 0 ? UINT32_MAX : b->to;
            if (a->from < b_to && b->from < a_to) {
                print_error("rows %zu and %zu overlap\n", i, j);
                fail();
            }
        }
    }
}


/* An unknown version is predicted as 1.22 and says so; the row used is
 * named by its range; the client's 502 from 1.23.0 on. */
static void
test_verdict_version_unknown_assumed(void **state)
{
    struct rd_conn         c;
    struct rd_verdict_ctx  x;
    struct rd_verdict      v;

    (void) state;
    build(&cases[16], &c, &x);          /* cl_and_te_1_22 */
    x.nginx_version = 0;
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.code, RD_V_CL_AND_TE);
    assert_int_equal(v.severity, RD_SEV_WARNING);
    assert_non_null(v.row);
    assert_string_equal(v.versions, "<1.23.0");
    assert_int_equal(v.row->gets, RD_GETS_WHOLE_RESPONSE);
    assert_non_null(v.note);
    assert_non_null(strstr(v.note, "version unknown, 1.22 assumed"));
    x.nginx_version = 13004;
    rd_verdict_classify(&c, &x, &v);
    assert_string_equal(v.versions, ">=1.23.0");
    assert_int_equal(v.row->gets, RD_GETS_ERROR_PAGE);
    assert_int_equal(v.row->client_status, 502);
    assert_null(strstr(v.note, "unknown"));
}


/* A bad Content-Length from 1.23.0 on: nginx quotes the header; when the
 * capture did not keep it, no half-made message is predicted. */
static void
test_verdict_bad_cl_quotes_header(void **state)
{
    struct rd_conn         c;
    struct rd_verdict_ctx  x;
    struct rd_verdict      v;
    struct vcase           k;

    (void) state;
    k = cases[16];
    k.findings = F(BAD_CONTENT_LENGTH);
    k.version = 12603;
    build(&k, &c, &x);
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.code, RD_V_UPSTREAM_BAD_CONTENT_LENGTH);
    assert_int_equal(v.severity, RD_SEV_ERROR);
    assert_null(v.message);
    memcpy(app.bad_cl, "Content-Length: 12x", 19);
    app.bad_cl_len = 19;
    rd_verdict_classify(&c, &x, &v);
    assert_non_null(v.message);
    assert_string_equal(v.message, "upstream sent invalid \"Content-Length\" "
                        "header: \"Content-Length: 12x\" while reading "
                        "response header from upstream");
    assert_string_equal(v.level, "error");
    x.nginx_version = 12201;
    rd_verdict_classify(&c, &x, &v);
    assert_null(v.message);
    assert_int_equal(v.severity, RD_SEV_WARNING);
}


/* A 400 with the length of nginx's 497 page for its Server: value is a
 * plain HTTP client on the TLS port (lab tls_client_plain_http); any
 * other length, or another server, is an ordinary 400. */
static void
test_verdict_plain_http_to_tls_port(void **state)
{
    struct rd_conn         c;
    struct rd_verdict_ctx  x;
    struct rd_verdict      v;
    struct vcase           k;
    struct rd_exchange    *e;

    (void) state;
    memset(&k, 0, sizeof(k));
    k.leg = RD_LEG_CLIENT;
    k.close_kind = RD_CLOSE_FIN;
    k.close_by = RD_CONN_SERVER;
    k.phase = RD_PHASE_IDLE_KEEPALIVE;
    k.rst_by = -1;
    k.status = 400;
    build(&k, &c, &x);
    e = &c.app->ex[c.nex - 1];
    e->resp_done = 1;
    e->content_length = 255;
    memcpy(app.server_hdr, "nginx/1.22.1", 12);
    app.server_len = 12;
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.code, RD_V_CLIENT_PLAIN_HTTP_TO_TLS);
    assert_string_equal(v.level, "info");
    assert_string_equal(v.message, "client sent plain HTTP request to HTTPS "
                        "port while reading client request headers");
    /* server_tokens off: "nginx" in the tail */
    memcpy(app.server_hdr, "nginx", 5);
    app.server_len = 5;
    e->content_length = 248;
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.code, RD_V_CLIENT_PLAIN_HTTP_TO_TLS);
    /* nginx's plain 400 page (157 bytes with nginx/1.22.1) */
    memcpy(app.server_hdr, "nginx/1.22.1", 12);
    app.server_len = 12;
    e->content_length = 157;
    rd_verdict_classify(&c, &x, &v);
    assert_int_not_equal(v.code, RD_V_CLIENT_PLAIN_HTTP_TO_TLS);
    /* the right length from another server */
    memcpy(app.server_hdr, "nginxish/1.2", 12);
    e->content_length = 255;
    rd_verdict_classify(&c, &x, &v);
    assert_int_not_equal(v.code, RD_V_CLIENT_PLAIN_HTTP_TO_TLS);
}


/* nginx resets while the header is still arriving and 4k or more came:
 * too big a header (lab huge_header), not a timeout; a reset with little
 * data is nginx's own. */
static void
test_verdict_reset_mid_header_is_too_big(void **state)
{
    struct rd_conn         c;
    struct rd_verdict_ctx  x;
    struct rd_verdict      v;

    (void) state;
    build(&cases[11], &c, &x);          /* timeout: nginx FIN, waiting */
    c.close_kind = RD_CLOSE_RST;
    c.side[RD_CONN_SERVER].tcp.bytes = 8192;
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.code, RD_V_UPSTREAM_HEADER_TOO_BIG);
    assert_int_equal(v.confidence, RD_CONF_MEDIUM);
    c.side[RD_CONN_SERVER].tcp.bytes = 100;
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.code, RD_V_NGINX_RESET);
}


/* Data from the claimed sender after its own RST: that RST was forged. */
static void
test_verdict_suspect_talks_after_rst(void **state)
{
    struct rd_conn         c;
    struct rd_verdict_ctx  x;
    struct rd_verdict      v;

    (void) state;
    build(&cases[2], &c, &x);           /* reset_before_response */
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.code, RD_V_UPSTREAM_RESET_BEFORE_RESPONSE);
    c.side[RD_CONN_SERVER].after_rst = 3;
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.code, RD_V_SUSPECT_INJECTED_RST);
    assert_int_equal(v.rule->blame, RD_BLAME_MIDDLEBOX);
}


/* A FastCGI exchange with STDERR text names nginx's line, cut at the
 * first line end as error.log shows it; a 500 makes it an error. */
static void
test_verdict_fastcgi_stderr(void **state)
{
    struct rd_conn         c;
    struct rd_verdict_ctx  x;
    struct rd_verdict      v;
    static const char      text[] = "PHP message: PHP Fatal error: boom\nnext";

    (void) state;
    build(&cases[23], &c, &x);          /* healthy_close_delimited */
    c.proto = RD_PROTO_FASTCGI;
    memset(&fcgi_state, 0, sizeof(fcgi_state));
    c.app->fcgi = &fcgi_state;
    c.app->fcgi->slot[1].seq = 0;
    c.app->fcgi->slot[1].status = 500;
    c.app->fcgi->slot[1].stderr_len = sizeof(text) - 1;
    memcpy(c.app->fcgi->slot[1].stderr_text, text, sizeof(text) - 1);
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.code, RD_V_FASTCGI_STDERR);
    assert_string_equal(v.message, "FastCGI sent in stderr: \"PHP message: "
                        "PHP Fatal error: boom");
    assert_int_equal(v.severity, RD_SEV_ERROR);
    c.app->fcgi->slot[1].status = 200;
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.severity, RD_SEV_WARNING);
}


static const struct vcase *
case_named(const char *name)
{
    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strcmp(cases[i].name, name) == 0) {
            return &cases[i];
        }
    }
    fail_msg("no case %s", name);
    return NULL;
}


/*
 * The upstream cut the body while nginx's receive window to it was shut
 * (the lab's slow_client_temp_file, _rst): with an RST at the close, or a
 * FIN just after the window opened, it is the backend's send timeout, and
 * nginx's words follow the close.  A short stall, or a FIN long after the
 * window opened, stays a plain cut; the client leg names it as cause.
 */
static void
test_verdict_send_timeout_backpressure(void **state)
{
    static const struct {
        const char     *from;       /* the case it modifies */
        uint32_t        stall_ms, after_ms;
        bool            at_close;
        int             want;
        const char     *msg;
    } t[] = {
        { "reset_mid_body", 1754, 0, true,
          RD_V_UPSTREAM_SEND_TIMEOUT_BACKPRESSURE, "readv() failed (104" },
        { "truncated_body", 1932, 0, false,
          RD_V_UPSTREAM_SEND_TIMEOUT_BACKPRESSURE,
          "upstream prematurely closed connection while reading upstream" },
        { "truncated_body", 1932, 400, false,
          RD_V_UPSTREAM_SEND_TIMEOUT_BACKPRESSURE, "prematurely closed" },
        { "truncated_body", 1932, 3000, false, RD_V_UPSTREAM_TRUNCATED_BODY,
          "prematurely closed" },
        { "reset_mid_body", 300, 0, true, RD_V_UPSTREAM_RESET_MID_BODY,
          "readv() failed" },
        { "truncated_body", 0, 0, false, RD_V_UPSTREAM_TRUNCATED_BODY,
          "prematurely closed" },
    };
    struct rd_conn         c;
    struct rd_verdict_ctx  x;
    struct rd_verdict      v;
    size_t                 i;

    (void) state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        build(case_named(t[i].from), &c, &x);
        c.has_zw = 1;
        cold.zw[RD_CONN_CLIENT].episodes = 1;
        cold.zw_close.seen = 1;
        cold.zw_close.at_close = t[i].at_close;
        cold.zw_close.stall_ms = t[i].stall_ms;
        cold.zw_close.after_ms = t[i].after_ms;
        rd_verdict_classify(&c, &x, &v);
        assert_int_equal(v.code, t[i].want);
        assert_non_null(v.message);
        assert_non_null(strstr(v.message, t[i].msg));
        if (t[i].want == RD_V_UPSTREAM_SEND_TIMEOUT_BACKPRESSURE) {
            assert_true(v.stall * 1000 > t[i].stall_ms - 1
                        && v.stall * 1000 < t[i].stall_ms + 1);
            assert_non_null(v.row);
            assert_int_equal(v.row->gets, RD_GETS_CUT_RESPONSE);
            assert_true(v.elapsed >= 0);
        } else {
            assert_true(v.stall < 0);
        }
    }

    /* nginx closed first: its own window does not make it the backend's
     * timeout */
    build(case_named("invalid_chunked"), &c, &x);
    c.has_zw = 1;
    cold.zw_close.seen = 1;
    cold.zw_close.at_close = 1;
    cold.zw_close.stall_ms = 5000;
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.code, RD_V_UPSTREAM_INVALID_CHUNKED);

    /* the client leg: its cut names the upstream leg's verdict */
    build(case_named("client_leg_cut"), &c, &x);
    x.cause = RD_V_UPSTREAM_SEND_TIMEOUT_BACKPRESSURE;
    x.cause_ts = 104 * S + 100;
    rd_verdict_classify(&c, &x, &v);
    assert_int_equal(v.code, RD_V_RESPONSE_CUT_TO_CLIENT);
    assert_int_equal(v.cause, RD_V_UPSTREAM_SEND_TIMEOUT_BACKPRESSURE);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_table),
        cmocka_unit_test(test_verdict_rules_complete),
        cmocka_unit_test(test_verdict_confidence),
        cmocka_unit_test(test_verdict_fastcgi_stderr),
        cmocka_unit_test(test_verdict_suspect_talks_after_rst),
        cmocka_unit_test(test_verdict_version_changes_severity),
        cmocka_unit_test(test_verdict_version_table_sound),
        cmocka_unit_test(test_verdict_version_unknown_assumed),
        cmocka_unit_test(test_verdict_bad_cl_quotes_header),
        cmocka_unit_test(test_verdict_reset_mid_header_is_too_big),
        cmocka_unit_test(test_verdict_plain_http_to_tls_port),
        cmocka_unit_test(test_verdict_send_timeout_backpressure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
