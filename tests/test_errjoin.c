/*
 * errjoin: error.log lines joined with finished connections.  Lines come
 * from an array (the parser has its own tests), connections are built
 * field by field; the sink records what the join decided.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rstdiag/errjoin.h"
#include "rstdiag/legs.h"

#define S 1000000
#define T0 1796627157           /* a capture's first second, UTC */
#define MSG_RESET "recv() failed (104: Connection reset by peer) while " \
                  "reading response header from upstream"

struct src {
    const struct rd_errjoin_line  *l;
    size_t                         n, i;
    unsigned                       rewinds;
    bool                           live;    /* lines from avail on are
                                             * not written yet */
    size_t                         avail;
    /* only_times, as the source was told it (and then keeps to it) */
    bool                           tw;
    int64_t                        base, width, step;
    unsigned                       nwin, tw_calls;
    size_t                         handed;  /* lines handed out */
};

struct got_conn {
    uint64_t                  id;
    struct rd_errjoin_result  r;
};

struct sink {
    struct got_conn  c[32];
    size_t           nc;
    int64_t          line_utc[32];
    uint64_t         line_no[32];
    int              reason[32];
    size_t           nl;
};


static int
src_next(void *arg, struct rd_errjoin_line *out, char err[RD_ERRLEN])
{
    struct src  *s = arg;

    (void) err;
    if (s->live && s->i == s->avail) {
        return RD_ERRJOIN_AGAIN;
    }
    for (;;) {
        if (s->i == s->n) {
            return 0;
        }
        if (s->tw) {
            int64_t  d = s->l[s->i].local - s->base;

            if (d < 0 || d / s->step >= (int64_t) s->nwin
                || d % s->step > s->width)
            {
                s->i++;
                continue;
            }
        }
        break;
    }
    s->handed++;
    *out = s->l[s->i++];
    return 1;
}


static void
src_only_times(void *arg, int64_t base, int64_t width, int64_t step,
    unsigned n)
{
    struct src  *s = arg;

    s->tw = width < step;
    s->base = base;
    s->width = width;
    s->step = step;
    s->nwin = n;
    s->tw_calls++;
}


static int
src_rewind(void *arg, char err[RD_ERRLEN])
{
    struct src  *s = arg;

    (void) err;
    s->i = 0;
    s->rewinds++;
    s->tw = false;
    return 0;
}


static void
sink_conn(void *arg, uint64_t id, char *rendered, size_t len,
    const struct rd_errjoin_result *r)
{
    struct sink  *k = arg;

    (void) len;
    free(rendered);
    assert_true(k->nc < 32);
    k->c[k->nc].id = id;
    k->c[k->nc].r = *r;
    k->nc++;
}


static void
sink_line(void *arg, const struct rd_errjoin_line *l, int64_t utc, int reason)
{
    struct sink  *k = arg;

    assert_true(k->nl < 32);
    k->line_utc[k->nl] = utc;
    k->line_no[k->nl] = l->lineno;
    k->reason[k->nl] = reason;
    k->nl++;
}


static struct rd_errjoin_line
line(uint64_t no, int64_t local, uint8_t level, uint8_t up_last,
    uint16_t port, const char *msg)
{
    struct rd_errjoin_line  l;

    memset(&l, 0, sizeof(l));
    l.local = local;
    l.file = "error.log";
    l.lineno = no;
    l.level = level;
    l.conn_no = no;
    if (up_last != 0) {
        l.has_upstream = true;
        l.up_af = 4;
        l.up_addr[0] = 127;
        l.up_addr[3] = up_last;
        l.up_port = port;
    }
    l.has_client = true;
    l.cl_af = 4;
    l.cl_addr[0] = 127;
    l.cl_addr[3] = 10;
    snprintf(l.method, sizeof(l.method), "GET");
    snprintf(l.target, sizeof(l.target), "/");
    snprintf(l.message, sizeof(l.message), "%s", msg);
    return l;
}


static struct rd_errjoin_conn
upconn(uint64_t id, uint8_t up_last, uint16_t port, int64_t at,
    const char *msg)
{
    struct rd_errjoin_conn  c;

    memset(&c, 0, sizeof(c));
    c.id = id;
    c.leg = RD_LEG_UPSTREAM;
    c.af = 4;
    c.client[0] = 127;
    c.client[3] = 2;
    c.server[0] = 127;
    c.server[3] = up_last;
    c.server_port = port;
    c.ts_start = (rd_usec_t) at * S + 100;
    c.close_ts = (rd_usec_t) at * S + 200000;
    c.ts_end = c.close_ts;
    snprintf(c.method, sizeof(c.method), "GET");
    snprintf(c.target, sizeof(c.target), "/");
    if (msg != NULL) {
        snprintf(c.message, sizeof(c.message), "%s", msg);
    }
    c.level = msg != NULL ? "error" : NULL;
    c.abnormal = msg != NULL;
    return c;
}


/* A join on s and k; only_times (or NULL) offered by the source. */
static struct rd_errjoin *
make_src(struct src *s, struct sink *k, bool known, int64_t off,
    void (*only_times)(void *, int64_t, int64_t, int64_t, unsigned))
{
    struct rd_errjoin_cfg     cfg;
    struct rd_errjoin_source  src = { src_next, src_rewind, s, NULL,
                                      only_times };
    struct rd_errjoin_sink    snk = { sink_conn, sink_line, k };
    struct rd_errjoin        *j;
    char                      err[RD_ERRLEN];

    memset(&cfg, 0, sizeof(cfg));
    cfg.offset_known = known;
    cfg.offset = off;
    cfg.host_offset = 0;
    cfg.window_s = 30;
    cfg.max_lines = 8;
    cfg.hold_max = 4;
    cfg.hold_bytes = 1 << 20;
    memset(k, 0, sizeof(*k));
    j = rd_errjoin_create(&cfg, &src, &snk, err);
    assert_non_null(j);
    return j;
}


static struct rd_errjoin *
make(struct src *s, struct sink *k, bool known, int64_t off)
{
    return make_src(s, k, known, off, NULL);
}


/* Two failures to the same upstream a few seconds apart, a log in
 * +08:00 with no zone: the offset is found from the data, each line goes
 * to its own connection, one line the capture never saw is reported. */
static void
test_errjoin_offset_and_match(void **state)
{
    struct rd_errjoin_line  l[4];
    struct src              s;
    struct sink             k;
    struct rd_errjoin      *j;
    char                    err[RD_ERRLEN], off[8];
    int64_t                 tz = 8 * 3600;

    (void) state;
    l[0] = line(1, T0 - 100 + tz, RD_ERRJOIN_L_ERROR, 21, 21001, MSG_RESET);
    l[1] = line(2, T0 + 1 + tz, RD_ERRJOIN_L_ERROR, 21, 21001, MSG_RESET);
    l[2] = line(3, T0 + 5 + tz, RD_ERRJOIN_L_ERROR, 21, 21001, MSG_RESET);
    l[3] = line(4, T0 + 6 + tz, RD_ERRJOIN_L_ERROR, 99, 21001, MSG_RESET);
    memset(&s, 0, sizeof(s));
    s.l = l;
    s.n = 4;
    j = make(&s, &k, false, 0);
    struct rd_errjoin_conn  a = upconn(7, 21, 21001, T0 + 1, MSG_RESET);
    struct rd_errjoin_conn  b = upconn(8, 21, 21001, T0 + 5, MSG_RESET);
    assert_int_equal(rd_errjoin_conn(j, &a, strdup("a"), 1, err), 0);
    assert_int_equal(rd_errjoin_conn(j, &b, strdup("b"), 1, err), 0);
    assert_int_equal(k.nc, 0);          /* held while the offset is found */
    assert_int_equal(rd_errjoin_finish(j, (rd_usec_t) T0 * S,
                                       (rd_usec_t) (T0 + 10) * S, err), 0);
    assert_int_equal(rd_errjoin_stats(j)->offset, tz);
    assert_string_equal(rd_errjoin_stats(j)->offset_from, "data");
    assert_int_equal(rd_errjoin_stats(j)->offset_fits, 2);
    rd_errjoin_offset_str(rd_errjoin_stats(j)->offset, off);
    assert_string_equal(off, "+0800");
    assert_int_equal(s.rewinds, 1);
    assert_int_equal(k.nc, 2);
    assert_int_equal(k.c[0].id, 7);
    assert_int_equal(k.c[0].r.n, 1);
    assert_int_equal(k.c[0].r.m[0].lineno, 2);
    assert_false(k.c[0].r.disagrees);
    assert_int_equal(k.c[1].id, 8);
    assert_int_equal(k.c[1].r.n, 1);
    assert_int_equal(k.c[1].r.m[0].lineno, 3);
    /* line 1 is before the capture, line 4 names an upstream never seen */
    assert_int_equal(k.nl, 2);
    assert_int_equal(k.line_no[0], 1);
    assert_int_equal(k.reason[0], RD_ERRJOIN_R_BEFORE);
    assert_int_equal(k.line_no[1], 4);
    assert_int_equal(k.reason[1], RD_ERRJOIN_R_NOT_CAPTURED);
    rd_errjoin_destroy(j);
}


/* The vote tells the source the windows of local time a line can vote
 * in (the held spans' hull, [T0, T0 + 6], under each half hour from
 * -12:00): a source that keeps to them hands out fewer lines and the
 * vote and the join come out the same. */
static void
test_errjoin_vote_windows(void **state)
{
    struct rd_errjoin_line  l[4];
    struct src              s;
    struct sink             k;
    struct rd_errjoin      *j;
    char                    err[RD_ERRLEN];
    int64_t                 tz = 8 * 3600;

    (void) state;
    l[0] = line(1, T0 - 100 + tz, RD_ERRJOIN_L_ERROR, 21, 21001, MSG_RESET);
    l[1] = line(2, T0 + 1 + tz, RD_ERRJOIN_L_ERROR, 21, 21001, MSG_RESET);
    l[2] = line(3, T0 + 5 + tz, RD_ERRJOIN_L_ERROR, 21, 21001, MSG_RESET);
    l[3] = line(4, T0 + 6 + tz, RD_ERRJOIN_L_ERROR, 99, 21001, MSG_RESET);
    memset(&s, 0, sizeof(s));
    s.l = l;
    s.n = 4;
    j = make_src(&s, &k, false, 0, src_only_times);
    struct rd_errjoin_conn  a = upconn(7, 21, 21001, T0 + 1, MSG_RESET);
    struct rd_errjoin_conn  b = upconn(8, 21, 21001, T0 + 5, MSG_RESET);
    assert_int_equal(rd_errjoin_conn(j, &a, strdup("a"), 1, err), 0);
    assert_int_equal(rd_errjoin_conn(j, &b, strdup("b"), 1, err), 0);
    assert_int_equal(rd_errjoin_finish(j, (rd_usec_t) T0 * S,
                                       (rd_usec_t) (T0 + 10) * S, err), 0);
    assert_int_equal(s.tw_calls, 1);
    assert_int_equal(s.base, T0 - 12 * 3600);
    assert_int_equal(s.width, 6);
    assert_int_equal(s.step, 1800);
    assert_int_equal(s.nwin, 53);
    /* the vote saw lines 2 to 4 (line 1 is in no window), the join all */
    assert_int_equal(s.handed, 3 + 4);
    assert_int_equal(rd_errjoin_stats(j)->offset, tz);
    assert_int_equal(rd_errjoin_stats(j)->offset_fits, 2);
    assert_int_equal(k.nc, 2);
    assert_int_equal(k.c[0].r.m[0].lineno, 2);
    assert_int_equal(k.c[1].r.m[0].lineno, 3);
    assert_int_equal(k.nl, 2);
    assert_int_equal(k.reason[0], RD_ERRJOIN_R_BEFORE);
    assert_int_equal(k.reason[1], RD_ERRJOIN_R_NOT_CAPTURED);
    rd_errjoin_destroy(j);
}


/* The offset given: nothing held; a line saying something else than the
 * prediction is a disagreement; a predicted info line not in a log
 * without info lines is named with the level that hides it. */
static void
test_errjoin_disagree_and_unlogged(void **state)
{
    struct rd_errjoin_line  l[2];
    struct src              s;
    struct sink             k;
    struct rd_errjoin      *j;
    struct rd_errjoin_conn  a, b;
    char                    err[RD_ERRLEN];

    (void) state;
    l[0] = line(1, T0 + 1, RD_ERRJOIN_L_ERROR, 21, 21001,
                "upstream prematurely closed connection while reading "
                "response header from upstream");
    l[1] = line(2, T0 + 40, RD_ERRJOIN_L_NOTICE, 0, 0, "signal 15 received");
    l[1].has_client = false;
    memset(&s, 0, sizeof(s));
    s.l = l;
    s.n = 2;
    j = make(&s, &k, true, 0);
    a = upconn(1, 21, 21001, T0 + 1, MSG_RESET);
    assert_int_equal(rd_errjoin_conn(j, &a, NULL, 0, err), 0);
    assert_int_equal(k.nc, 1);
    assert_int_equal(k.c[0].r.n, 1);
    assert_true(k.c[0].r.disagrees);
    b = upconn(2, 21, 21001, T0 + 3, "epoll_wait() reported that client "
               "prematurely closed connection, so upstream connection is "
               "closed too while sending request to upstream");
    b.level = "info";
    assert_int_equal(rd_errjoin_conn(j, &b, NULL, 0, err), 0);
    assert_int_equal(k.nc, 2);
    assert_int_equal(k.c[1].r.n, 0);
    assert_non_null(k.c[1].r.unlogged_level);
    assert_string_equal(k.c[1].r.unlogged_level, "info");
    assert_non_null(strstr(k.c[1].r.unlogged_why, "error_log"));
    assert_int_equal(rd_errjoin_finish(j, (rd_usec_t) T0 * S,
                                       (rd_usec_t) (T0 + 10) * S, err), 0);
    /* the notice is about nothing: not reported, but counted */
    assert_int_equal(k.nl, 0);
    assert_int_equal(rd_errjoin_stats(j)->lines, 2);
    assert_int_equal(rd_errjoin_stats(j)->matched, 1);
    rd_errjoin_destroy(j);
}


/* The window is bounded: more waiting lines than it holds push the
 * oldest out, reported as window_full; a message with no packets says
 * so. */
static void
test_errjoin_window_bounded(void **state)
{
    struct rd_errjoin_line  l[12];
    struct src              s;
    struct sink             k;
    struct rd_errjoin      *j;
    struct rd_errjoin_conn  a;
    char                    err[RD_ERRLEN];
    size_t                  i, full;

    (void) state;
    for (i = 0; i < 11; i++) {
        l[i] = line(i + 1, T0 + 1, RD_ERRJOIN_L_ERROR, 21, 21001, MSG_RESET);
    }
    l[11] = line(12, T0 + 1, RD_ERRJOIN_L_ERROR, 21, 21001,
                 "no live upstreams while connecting to upstream");
    memset(&s, 0, sizeof(s));
    s.l = l;
    s.n = 12;
    j = make(&s, &k, true, 0);
    a = upconn(1, 21, 21001, T0 + 1, MSG_RESET);
    assert_int_equal(rd_errjoin_conn(j, &a, NULL, 0, err), 0);
    assert_int_equal(k.c[0].r.n, 1);
    assert_int_equal(rd_errjoin_finish(j, (rd_usec_t) T0 * S,
                                       (rd_usec_t) (T0 + 10) * S, err), 0);
    full = 0;
    for (i = 0; i < k.nl; i++) {
        full += k.reason[i] == RD_ERRJOIN_R_WINDOW_FULL;
    }
    assert_int_equal(full, 4);          /* 12 lines, 8 wait */
    assert_int_equal(k.nl, 11);
    assert_int_equal(k.reason[k.nl - 1], RD_ERRJOIN_R_NO_PACKETS);
    rd_errjoin_destroy(j);
}


/*
 * An upstream that reset while nginx's window was shut: nginx reads the
 * RST after the bytes before it, which it first hands to a slow client,
 * so the line comes seconds after the leg's last packet (the lab's
 * slow_client_temp_file_rst: 3 s).  A late connection takes it; the same
 * connection not marked late does not, and the line is left unmatched.
 */
static void
test_errjoin_late_line(void **state)
{
    static const char       msg[] = "readv() failed (104: Connection reset "
                                    "by peer) while reading upstream";
    struct rd_errjoin_line  l[1];
    struct src              s;
    struct sink             k;
    struct rd_errjoin      *j;
    struct rd_errjoin_conn  a;
    char                    err[RD_ERRLEN];
    int                     late;

    (void) state;
    for (late = 1; late >= 0; late--) {
        l[0] = line(1, T0 + 4, RD_ERRJOIN_L_ERROR, 21, 21001, msg);
        memset(&s, 0, sizeof(s));
        s.l = l;
        s.n = 1;
        j = make(&s, &k, true, 0);
        a = upconn(1, 21, 21001, T0, msg);
        a.late = late;
        assert_int_equal(rd_errjoin_conn(j, &a, NULL, 0, err), 0);
        assert_int_equal(rd_errjoin_finish(j, (rd_usec_t) T0 * S,
                                           (rd_usec_t) (T0 + 10) * S, err),
                         0);
        assert_int_equal(k.nc, 1);
        assert_int_equal(k.c[0].r.n, late ? 1 : 0);
        assert_int_equal(k.nl, late ? 0 : 1);
        rd_errjoin_destroy(j);
    }
}


/* Live (a followed log): a connection decided before nginx's line is
 * written waits for it, is joined once its last second + 2 has passed,
 * and a line no connection takes falls out after the window, in wall
 * time, while the capture runs. */
static void
test_errjoin_live_waits_for_line(void **state)
{
    struct rd_errjoin_line  l[2];
    struct rd_errjoin_cfg   cfg;
    struct src              s;
    struct sink             k;
    struct rd_errjoin      *j;
    char                    err[RD_ERRLEN];

    (void) state;
    l[0] = line(1, T0 + 1, RD_ERRJOIN_L_ERROR, 21, 21001, MSG_RESET);
    l[1] = line(2, T0 + 4, RD_ERRJOIN_L_ERROR, 99, 21001, MSG_RESET);
    memset(&s, 0, sizeof(s));
    s.l = l;
    s.n = 2;
    s.live = true;
    memset(&cfg, 0, sizeof(cfg));
    cfg.live = true;
    cfg.window_s = 3;
    cfg.max_lines = 8;
    cfg.hold_max = 4;
    cfg.hold_bytes = 1 << 20;
    {
        struct rd_errjoin_source  src = { src_next, src_rewind, &s, NULL, NULL };
        struct rd_errjoin_sink    snk = { sink_conn, sink_line, &k };

        memset(&k, 0, sizeof(k));
        j = rd_errjoin_create(&cfg, &src, &snk, err);
        assert_non_null(j);
    }
    assert_string_equal(rd_errjoin_stats(j)->offset_from, "host");
    struct rd_errjoin_conn  a = upconn(7, 21, 21001, T0 + 1, MSG_RESET);
    assert_int_equal(rd_errjoin_conn(j, &a, strdup("a"), 1, err), 0);
    assert_int_equal(k.nc, 0);
    assert_int_equal(rd_errjoin_poll(j, (rd_usec_t) (T0 + 2) * S, err), 0);
    assert_int_equal(k.nc, 0);          /* nginx may still write */
    s.avail = 1;                        /* ... and does */
    assert_int_equal(rd_errjoin_poll(j, (rd_usec_t) (T0 + 4) * S, err), 0);
    assert_int_equal(k.nc, 1);
    assert_int_equal(k.c[0].id, 7);
    assert_int_equal(k.c[0].r.n, 1);
    assert_int_equal(k.c[0].r.m[0].lineno, 1);
    assert_false(k.c[0].r.disagrees);
    s.avail = 2;                        /* a line about no connection */
    assert_int_equal(rd_errjoin_poll(j, (rd_usec_t) (T0 + 5) * S, err), 0);
    assert_int_equal(k.nl, 0);
    assert_int_equal(rd_errjoin_poll(j, (rd_usec_t) (T0 + 8) * S, err), 0);
    assert_int_equal(k.nl, 1);
    assert_int_equal(k.line_no[0], 2);
    assert_int_equal(k.reason[0], RD_ERRJOIN_R_NOT_CAPTURED);
    assert_int_equal(s.rewinds, 0);
    assert_int_equal(rd_errjoin_finish(j, (rd_usec_t) T0 * S,
                                       (rd_usec_t) (T0 + 8) * S, err), 0);
    assert_int_equal(k.nc, 1);
    assert_int_equal(k.nl, 1);
    rd_errjoin_destroy(j);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_errjoin_live_waits_for_line),
        cmocka_unit_test(test_errjoin_offset_and_match),
        cmocka_unit_test(test_errjoin_vote_windows),
        cmocka_unit_test(test_errjoin_disagree_and_unlogged),
        cmocka_unit_test(test_errjoin_window_bounded),
        cmocka_unit_test(test_errjoin_late_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
