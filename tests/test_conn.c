/*
 * Unit tests of conn.c: roles, handshake, close order, RST acceptability
 * (RFC 9293 section 3.10.7.4 with RFC 5961 section 3.2), per-sender TTL
 * and IP ID.
 * Connections are driven with hand-made segments through rd_conn_start()
 * and rd_conn_packet() over a real out-of-order pool; both directions are
 * validated after every packet and every allocation goes through cmocka's
 * allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "talloc.h"

#include "rstdiag/common.h"
#include "rstdiag/conn.h"
#include "rstdiag/decode.h"
#include "rstdiag/tcp.h"

#define T_SEC       1000000LL
#define T_T0        (1700000000LL * T_SEC)
#define T_CI        1000u                   /* client ISN */
#define T_SI        500000u                 /* server ISN */
#define T_CPORT     40000
#define T_SPORT     80
#define T_CWIN      502u                    /* client window, scale 7 */
#define T_CWIN_SC   (502u << 7)



static uint8_t  payload[4096];


struct fx {
    struct rd_tcp_pool     *pool;
    struct rd_conn_env      env;
    struct rd_conn         *c;
    struct rd_conn_cold     cold;
    bool                    started;
    rd_usec_t               now;
};


static void
fx_init(struct fx *x, uint32_t pool_bytes)
{
    memset(x, 0, sizeof(*x));
    memset(payload, 'x', sizeof(payload));
    x->pool = rd_tcp_pool_create(&talloc, pool_bytes, 64 * 1024, 16);
    assert_non_null(x->pool);
    x->env.pool = x->pool;
    x->env.max_header_bytes = 65536;
    x->c = test_calloc(1, sizeof(*x->c));
    assert_non_null(x->c);
    x->now = T_T0;
}


static void
fx_fini(struct fx *x)
{
    rd_conn_finish(x->c, &x->env, RD_END_CLOSED);
    rd_tcp_validate_(x->pool, &x->c->side[0].tcp);
    rd_tcp_validate_(x->pool, &x->c->side[1].tcp);
    assert_int_equal(x->c->side[0].tcp.ooo_segs, 0);
    assert_int_equal(x->c->side[1].tcp.ooo_segs, 0);
    test_free(x->c);
    rd_tcp_pool_destroy(x->pool);
}


static void
put_ip(uint8_t *a, uint8_t last)
{
    memset(a, 0, 16);
    a[0] = 10;
    a[3] = last;
}


/* A segment from the client (10.0.0.1:40000) or the server (.2:80). */
static struct rd_seg
mk(struct fx *x, int from, uint8_t flags, uint32_t seq, uint32_t ack,
    uint32_t len)
{
    struct rd_seg  s;

    memset(&s, 0, sizeof(s));
    x->now += 1000;
    s.ts = x->now;
    s.af = 4;
    s.ttl = from == RD_CONN_CLIENT ? 64 : 128;
    if (from == RD_CONN_CLIENT) {
        put_ip(s.src, 1);
        put_ip(s.dst, 2);
        s.sport = T_CPORT;
        s.dport = T_SPORT;
        s.win = T_CWIN;
    } else {
        put_ip(s.src, 2);
        put_ip(s.dst, 1);
        s.sport = T_SPORT;
        s.dport = T_CPORT;
        s.win = 509;
    }
    s.flags = flags;
    s.seq = seq;
    s.ack = ack;
    s.payload.p = payload;
    s.payload.len = len;
    s.payload_len = len;
    return s;
}


/* Feed one segment (the first starts the connection) and check both
 * directions' invariants. */
static void
feed(struct fx *x, struct rd_seg s)
{
    if (!x->started) {
        rd_conn_start(x->c, 1, &s);
        x->c->cold = &x->cold;
        x->started = true;
    }
    rd_conn_packet(x->c, &x->env, &s);
    rd_tcp_validate_(x->pool, &x->c->side[0].tcp);
    rd_tcp_validate_(x->pool, &x->c->side[1].tcp);
}


/* SYN (window scale 7), SYN/ACK (scale 7), ACK. */
static void
handshake(struct fx *x)
{
    struct rd_seg  s;

    s = mk(x, RD_CONN_CLIENT, RD_TCP_SYN, T_CI, 0, 0);
    s.win = 64240;
    s.opts.has_wscale = true;
    s.opts.wscale = 7;
    feed(x, s);
    s = mk(x, RD_CONN_SERVER, RD_TCP_SYN | RD_TCP_ACK, T_SI, T_CI + 1, 0);
    s.win = 65160;
    s.opts.has_wscale = true;
    s.opts.wscale = 7;
    feed(x, s);
    feed(x, mk(x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 1, T_SI + 1, 0));
    assert_true(x->c->syn);
    assert_true(x->c->synack);
    assert_true(x->c->established);
    assert_int_equal(x->c->side[RD_CONN_CLIENT].tcp.win, T_CWIN_SC);
}


/* Handshake, a 20-byte request, the server's ACK of it. */
static void
request(struct fx *x)
{
    handshake(x);
    feed(x, mk(x, RD_CONN_CLIENT, RD_TCP_ACK | RD_TCP_PSH, T_CI + 1,
               T_SI + 1, 20));
    feed(x, mk(x, RD_CONN_SERVER, RD_TCP_ACK, T_SI + 1, T_CI + 21, 0));
}


static void
assert_ep(const struct rd_endpoint *ep, uint8_t last, uint16_t port)
{
    assert_int_equal(ep->addr[0], 10);
    assert_int_equal(ep->addr[3], last);
    assert_int_equal(ep->port, port);
}


/* ---- roles -------------------------------------------------------------- */

/*
 * The sender of a SYN without ACK is the client, whatever its port, and
 * the roles are not marked inferred.
 */
static void
test_conn_roles_from_syn(void **state)
{
    struct fx      x;
    struct rd_seg  s;

    (void) state;
    fx_init(&x, 0);
    s = mk(&x, RD_CONN_CLIENT, RD_TCP_SYN, T_CI, 0, 0);
    feed(&x, s);
    assert_ep(&x.c->ep[RD_CONN_CLIENT], 1, T_CPORT);
    assert_ep(&x.c->ep[RD_CONN_SERVER], 2, T_SPORT);
    assert_false(x.c->roles_inferred);
    assert_true(x.c->syn);
    assert_int_equal(rd_conn_dir(x.c, &s), RD_CONN_CLIENT);
    s = mk(&x, RD_CONN_SERVER, RD_TCP_ACK, 1, 1, 0);
    assert_int_equal(rd_conn_dir(x.c, &s), RD_CONN_SERVER);
    assert_int_equal(x.c->side[RD_CONN_CLIENT].tcp.isn, T_CI);
    assert_int_equal(x.c->ts_start, T_T0 + 1000);
    fx_fini(&x);

    /* a SYN from port 80 to port 40000: port 80 is the client */
    fx_init(&x, 0);
    s = mk(&x, RD_CONN_SERVER, RD_TCP_SYN, T_SI, 0, 0);
    feed(&x, s);
    assert_ep(&x.c->ep[RD_CONN_CLIENT], 2, T_SPORT);
    assert_ep(&x.c->ep[RD_CONN_SERVER], 1, T_CPORT);
    assert_false(x.c->roles_inferred);
    assert_true(x.c->syn);
    fx_fini(&x);
}


/* The sender of a SYN/ACK seen first is the server. */
static void
test_conn_roles_from_synack(void **state)
{
    struct fx      x;
    struct rd_seg  s;

    (void) state;
    fx_init(&x, 0);
    s = mk(&x, RD_CONN_SERVER, RD_TCP_SYN | RD_TCP_ACK, T_SI, T_CI + 1, 0);
    feed(&x, s);
    assert_ep(&x.c->ep[RD_CONN_CLIENT], 1, T_CPORT);
    assert_ep(&x.c->ep[RD_CONN_SERVER], 2, T_SPORT);
    assert_false(x.c->roles_inferred);
    assert_false(x.c->syn);
    assert_true(x.c->synack);
    assert_int_equal(rd_conn_dir(x.c, &s), RD_CONN_SERVER);
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 1, T_SI + 1, 0));
    assert_true(x.c->established);
    fx_fini(&x);
}


/*
 * Without a SYN the server is the endpoint with the more service-like
 * port (below 1024, then below 32768, then the lower), and roles_inferred
 * is set.
 */
static void
test_conn_roles_inferred_from_ports(void **state)
{
    static const struct {
        uint16_t    sport, dport;
        uint16_t    client_port;
    } cases[] = {
        { 8080, 51000, 51000 },             /* server sends first */
        { 51000, 443, 51000 },
        { 443, 80, 443 },                   /* both privileged: lower */
        { 3306, 50000, 50000 },
        { 9000, 8080, 9000 },
        { 60001, 60000, 60001 },
    };
    struct fx      x;
    struct rd_seg  s;
    unsigned       i;

    (void) state;
    for (i = 0; i < RD_NELEMS(cases); i++) {
        fx_init(&x, 0);
        s = mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, 7, 9, 0);
        s.sport = cases[i].sport;
        s.dport = cases[i].dport;
        feed(&x, s);
        assert_true(x.c->roles_inferred);
        assert_int_equal(x.c->ep[RD_CONN_CLIENT].port, cases[i].client_port);
        assert_int_equal(rd_conn_dir(x.c, &s),
                         cases[i].sport == cases[i].client_port
                         ? RD_CONN_CLIENT : RD_CONN_SERVER);
        fx_fini(&x);
    }
}


/* ---- RST acceptability ------------------------------------------------ */

/*
 * An RST whose sequence number is exactly the receiver's RCV.NXT is
 * acceptable, judged on known state, and closes the connection.
 */
static void
test_conn_rst_exact(void **state)
{
    struct fx                  x;
    const struct rd_conn_rst  *r;

    (void) state;
    fx_init(&x, 0);
    request(&x);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST | RD_TCP_ACK, T_SI + 1,
                T_CI + 21, 0));
    assert_int_equal(x.c->nrst, 1);
    assert_int_equal(x.c->rst_total, 1);
    r = &x.c->cold->rst[0];
    assert_int_equal(r->by, RD_CONN_SERVER);
    assert_int_equal(r->seq, T_SI + 1);
    assert_int_equal(r->ts, x.now);
    assert_true(r->known);
    assert_true(r->exact);
    assert_true(r->acceptable);
    assert_false(r->answers_syn);
    assert_false(r->after_fin);
    assert_true(x.c->closed);
    assert_int_equal(x.c->close_kind, RD_CLOSE_RST);
    assert_int_equal(x.c->close_by, RD_CONN_SERVER);
    assert_int_equal(x.c->close_ts, x.now);
    assert_true(rd_conn_abnormal(x.c));
    fx_fini(&x);
}


/*
 * An RST inside the receiver's (scaled) window but not at RCV.NXT is
 * acceptable yet draws only a challenge ACK: the connection stays open.
 * Outside the window (at RCV.NXT + RCV.WND, or below RCV.NXT) it is not
 * acceptable.  Only the first RD_LIMITS_RST_KEEP are kept, all counted;
 * a final exact RST closes.
 */
static void
test_conn_rst_window(void **state)
{
    static const struct {
        uint32_t    off;                    /* seq - RCV.NXT */
        bool        acceptable;
    } cases[] = {
        { 1000, true },
        { T_CWIN_SC - 1, true },
        { T_CWIN_SC, false },
        { 0xffffffffu, false },             /* RCV.NXT - 1 */
    };
    struct fx  x;
    unsigned   i;

    (void) state;
    fx_init(&x, 0);
    request(&x);
    for (i = 0; i < RD_NELEMS(cases); i++) {
        feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST | RD_TCP_ACK,
                    T_SI + 1 + cases[i].off, T_CI + 21, 0));
        assert_int_equal(x.c->nrst, i + 1);
        assert_true(x.c->cold->rst[i].known);
        assert_false(x.c->cold->rst[i].exact);
        assert_int_equal(x.c->cold->rst[i].acceptable, cases[i].acceptable);
        assert_false(x.c->closed);
        assert_int_equal(x.c->close_kind, RD_CLOSE_NONE);
    }
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST, T_SI + 1, 0, 0));
    assert_int_equal(x.c->nrst, RD_LIMITS_RST_KEEP);
    assert_int_equal(x.c->rst_total, RD_NELEMS(cases) + 1);
    assert_true(x.c->closed);
    assert_int_equal(x.c->close_kind, RD_CLOSE_RST);
    assert_int_equal(x.c->close_ts, x.now);
    fx_fini(&x);
}


/*
 * An RST made in reply to a segment takes its sequence number from that
 * segment's ACK (RFC 9293 section 3.5.2): when it equals what the
 * receiver acknowledged it is exact, even though the sender had sent
 * more.
 */
static void
test_conn_rst_reply_takes_ack_seq(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, 0);
    request(&x);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_ACK, T_SI + 1, T_CI + 21, 500));
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 21, T_SI + 201, 0));
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST, T_SI + 201, 0, 0));
    assert_true(x.c->cold->rst[0].known);
    assert_true(x.c->cold->rst[0].exact);
    assert_true(x.c->cold->rst[0].acceptable);
    assert_true(x.c->closed);
    assert_int_equal(x.c->close_kind, RD_CLOSE_RST);
    fx_fini(&x);
}


/*
 * An RST answering the client's SYN: the client is in SYN-SENT, so the
 * RST is acceptable only with ACK set and SEG.ACK == ISN + 1; then the
 * connection was refused and closed in the connect phase.  Otherwise it
 * is recorded, not acceptable, and changes nothing.
 */
static void
test_conn_rst_answers_syn(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, 0);
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_SYN, T_CI, 0, 0));
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST | RD_TCP_ACK, 0, T_CI + 1,
                0));
    assert_true(x.c->cold->rst[0].answers_syn);
    assert_true(x.c->cold->rst[0].known);
    assert_true(x.c->cold->rst[0].acceptable);
    assert_true(x.c->refused);
    assert_true(x.c->closed);
    assert_int_equal(x.c->close_kind, RD_CLOSE_RST);
    assert_int_equal(x.c->close_by, RD_CONN_SERVER);
    assert_int_equal(x.c->phase, RD_PHASE_CONNECT);
    assert_true(rd_conn_abnormal(x.c));
    fx_fini(&x);

    /* wrong ACK */
    fx_init(&x, 0);
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_SYN, T_CI, 0, 0));
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST | RD_TCP_ACK, 0, T_CI + 7,
                0));
    assert_true(x.c->cold->rst[0].answers_syn);
    assert_false(x.c->cold->rst[0].acceptable);
    assert_false(x.c->refused);
    assert_false(x.c->closed);
    assert_int_equal(x.c->close_kind, RD_CLOSE_NONE);
    fx_fini(&x);

    /* right number in the ACK field but no ACK flag */
    fx_init(&x, 0);
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_SYN, T_CI, 0, 0));
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST, 0, T_CI + 1, 0));
    assert_true(x.c->cold->rst[0].answers_syn);
    assert_false(x.c->cold->rst[0].acceptable);
    assert_false(x.c->refused);
    assert_false(x.c->closed);
    fx_fini(&x);
}


/*
 * The capture missed the handshake: the receiver's RCV.NXT comes from
 * what the sender was seen to send and what the receiver acknowledged,
 * the window scale is unknown (the largest is assumed).  An exact RST is
 * known and closes; an RST with nothing known about the receiver is
 * taken at its word (closes, known = 0).
 */
static void
test_conn_rst_missed_handshake(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, 0);
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_ACK | RD_TCP_PSH, 7000, 9000,
                10));
    assert_true(x.c->roles_inferred);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_ACK, 9000, 7010, 0));
    /* in the window of an unknown scale: 502 << 14 */
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST, 9000 + 5000000, 0, 0));
    assert_true(x.c->cold->rst[0].known);
    assert_true(x.c->cold->rst[0].acceptable);
    assert_false(x.c->cold->rst[0].exact);
    assert_false(x.c->closed);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST, 9000, 0, 0));
    assert_true(x.c->cold->rst[1].known);
    assert_true(x.c->cold->rst[1].exact);
    assert_true(x.c->cold->rst[1].acceptable);
    assert_false(x.c->cold->rst[1].answers_syn);
    assert_true(x.c->closed);
    assert_int_equal(x.c->close_kind, RD_CLOSE_RST);
    assert_int_equal(x.c->close_by, RD_CONN_SERVER);
    fx_fini(&x);

    /* the server sent nothing but the RST: the client's ACK tells RCV.NXT */
    fx_init(&x, 0);
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, 7000, 9000, 10));
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST, 9000, 0, 0));
    assert_true(x.c->cold->rst[0].known);
    assert_true(x.c->cold->rst[0].exact);
    assert_true(x.c->closed);
    fx_fini(&x);

    /* the RST is all the capture holds */
    fx_init(&x, 0);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST, 9000, 0, 0));
    assert_true(x.c->roles_inferred);
    assert_ep(&x.c->ep[RD_CONN_CLIENT], 1, T_CPORT);
    assert_false(x.c->cold->rst[0].known);
    assert_false(x.c->cold->rst[0].answers_syn);
    assert_true(x.c->closed);
    assert_int_equal(x.c->close_kind, RD_CLOSE_RST);
    assert_int_equal(x.c->close_by, RD_CONN_SERVER);
    fx_fini(&x);
}


/*
 * A FIN then an RST from the same side: the first close is the FIN (with
 * its time), the RST entry says it came after that side's FIN, and its
 * sequence number (FIN + 1) is exact.
 */
static void
test_conn_fin_then_rst_same_side(void **state)
{
    struct fx  x;
    rd_usec_t  fin_ts;

    (void) state;
    fx_init(&x, 0);
    request(&x);
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_FIN | RD_TCP_ACK, T_CI + 21,
                T_SI + 1, 0));
    fin_ts = x.now;
    assert_false(x.c->closed);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_ACK, T_SI + 1, T_CI + 22, 0));
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_RST, T_CI + 22, 0, 0));
    assert_int_equal(x.c->close_kind, RD_CLOSE_FIN);
    assert_int_equal(x.c->close_by, RD_CONN_CLIENT);
    assert_int_equal(x.c->close_ts, fin_ts);
    assert_int_equal(x.c->side[RD_CONN_CLIENT].fin_ts, fin_ts);
    assert_int_equal(x.c->nrst, 1);
    assert_int_equal(x.c->cold->rst[0].by, RD_CONN_CLIENT);
    assert_true(x.c->cold->rst[0].after_fin);
    assert_true(x.c->cold->rst[0].exact);
    assert_true(x.c->cold->rst[0].known);
    assert_true(x.c->closed);
    fx_fini(&x);
}


/*
 * An RST carrying data (RFC 9293 section 3.5.3 diagnostic text) records its
 * payload length; the bytes are not part of the stream.
 */
static void
test_conn_rst_with_data(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, 0);
    request(&x);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST | RD_TCP_ACK, T_SI + 1,
                T_CI + 21, 23));
    assert_int_equal(x.c->cold->rst[0].payload_len, 23);
    assert_true(x.c->cold->rst[0].exact);
    assert_int_equal(x.c->side[RD_CONN_SERVER].tcp.bytes, 0);
    assert_int_equal(rd_conn_stream_bytes(x.c, RD_CONN_SERVER), 0);
    assert_int_equal(rd_conn_stream_bytes(x.c, RD_CONN_CLIENT), 20);
    assert_true(x.c->closed);
    fx_fini(&x);
}


/*
 * Both sides FIN (the server first, on an idle connection): the first
 * FIN is the first close, the connection is closed only by the second,
 * and nothing is abnormal.
 */
static void
test_conn_close_order_both_fin(void **state)
{
    struct fx  x;
    rd_usec_t  sfin;

    (void) state;
    fx_init(&x, 0);
    handshake(&x);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_FIN | RD_TCP_ACK, T_SI + 1,
                T_CI + 1, 0));
    sfin = x.now;
    assert_false(x.c->closed);
    assert_int_equal(x.c->close_kind, RD_CLOSE_FIN);
    assert_int_equal(x.c->close_by, RD_CONN_SERVER);
    assert_int_equal(x.c->phase, RD_PHASE_IDLE_KEEPALIVE);
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_FIN | RD_TCP_ACK, T_CI + 1,
                T_SI + 2, 0));
    assert_true(x.c->closed);
    assert_int_equal(x.c->close_kind, RD_CLOSE_FIN);
    assert_int_equal(x.c->close_by, RD_CONN_SERVER);
    assert_int_equal(x.c->close_ts, sfin);
    assert_int_equal(x.c->side[RD_CONN_SERVER].fin_ts, sfin);
    assert_int_equal(x.c->side[RD_CONN_CLIENT].fin_ts, x.now);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_ACK, T_SI + 2, T_CI + 2, 0));
    assert_int_equal(x.c->side[RD_CONN_CLIENT].tcp.gaps, 0);
    assert_int_equal(x.c->side[RD_CONN_SERVER].tcp.gaps, 0);
    assert_int_equal(x.c->rst_total, 0);
    assert_false(rd_conn_abnormal(x.c));
    fx_fini(&x);
}


/*
 * unacked and unread_peer of an RST: the client resets after reading
 * only 200 of the server's 500 bytes (unread_peer 300, unacked 0); the
 * server resets with 300 of its bytes unacknowledged and 50 of the
 * client's unread (unacked 300, unread_peer 50).
 */
static void
test_conn_rst_unacked_unread(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, 0);
    request(&x);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_ACK, T_SI + 1, T_CI + 21, 500));
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 21, T_SI + 201, 0));
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_RST | RD_TCP_ACK, T_CI + 21,
                T_SI + 201, 0));
    assert_int_equal(x.c->cold->rst[0].by, RD_CONN_CLIENT);
    assert_true(x.c->cold->rst[0].exact);
    assert_int_equal(x.c->cold->rst[0].unacked, 0);
    assert_int_equal(x.c->cold->rst[0].unread_peer, 300);
    fx_fini(&x);

    fx_init(&x, 0);
    request(&x);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_ACK, T_SI + 1, T_CI + 21, 500));
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 21, T_SI + 201, 50));
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_RST, T_SI + 501, 0, 0));
    assert_int_equal(x.c->cold->rst[0].by, RD_CONN_SERVER);
    assert_true(x.c->cold->rst[0].exact);
    assert_int_equal(x.c->cold->rst[0].unacked, 300);
    assert_int_equal(x.c->cold->rst[0].unread_peer, 50);
    fx_fini(&x);
}


/*
 * Per sender: TTL first/min/max and IP ID first/last over its packets
 * other than RSTs (the fingerprint an RST is compared against); each RST
 * records its own TTL and IP ID.
 */
static void
test_conn_ttl_and_ip_id(void **state)
{
    struct fx                   x;
    struct rd_seg               s;
    const struct rd_conn_side  *cs, *ss;

    (void) state;
    fx_init(&x, 0);
    s = mk(&x, RD_CONN_CLIENT, RD_TCP_SYN, T_CI, 0, 0);
    s.ttl = 64;
    s.ip_id = 100;
    feed(&x, s);
    s = mk(&x, RD_CONN_SERVER, RD_TCP_SYN | RD_TCP_ACK, T_SI, T_CI + 1, 0);
    s.ttl = 128;
    s.ip_id = 0;
    feed(&x, s);
    s = mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 1, T_SI + 1, 0);
    s.ttl = 60;
    s.ip_id = 101;
    feed(&x, s);
    s = mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 1, T_SI + 1, 10);
    s.ttl = 70;
    s.ip_id = 105;
    feed(&x, s);
    s = mk(&x, RD_CONN_SERVER, RD_TCP_ACK, T_SI + 1, T_CI + 11, 0);
    s.ttl = 127;
    s.ip_id = 9;
    feed(&x, s);
    s = mk(&x, RD_CONN_SERVER, RD_TCP_RST, T_SI + 1, 0, 0);
    s.ttl = 50;
    s.ip_id = 7;
    feed(&x, s);
    cs = &x.c->side[RD_CONN_CLIENT];
    ss = &x.c->side[RD_CONN_SERVER];
    assert_int_equal(cs->ttl_first, 64);
    assert_int_equal(cs->ttl_min, 60);
    assert_int_equal(cs->ttl_max, 70);
    assert_int_equal(cs->ip_id_first, 100);
    assert_int_equal(cs->ip_id_last, 105);
    assert_int_equal(cs->ttl_samples, 3);
    assert_true(cs->ip_v4);
    assert_int_equal(ss->ttl_first, 128);
    assert_int_equal(ss->ttl_min, 127);
    assert_int_equal(ss->ttl_max, 128);
    assert_int_equal(ss->ip_id_first, 0);
    assert_int_equal(ss->ip_id_last, 9);
    assert_int_equal(ss->ttl_samples, 2);
    assert_true(ss->ip_v4);
    assert_int_equal(x.c->cold->rst[0].ttl, 50);
    assert_int_equal(x.c->cold->rst[0].ip_id, 7);
    assert_int_equal(cs->tcp.pkts, 3);
    assert_int_equal(ss->tcp.pkts, 3);
    fx_fini(&x);

    /* an RST alone: first_ts and address family, no TTL sample */
    fx_init(&x, 0);
    s = mk(&x, RD_CONN_SERVER, RD_TCP_RST, 9000, 0, 0);
    s.ttl = 50;
    feed(&x, s);
    ss = &x.c->side[RD_CONN_SERVER];
    assert_int_equal(ss->first_ts, s.ts);
    assert_true(ss->ip_v4);
    assert_int_equal(ss->ttl_samples, 0);
    assert_int_equal(x.c->cold->rst[0].ttl, 50);
    fx_fini(&x);
}


/*
 * rd_conn_finish delivers what the pool holds behind a gap and returns
 * the storage: a two-chunk pool holds two segments again afterwards.
 */
static void
test_conn_finish_returns_pool(void **state)
{
    struct fx          x;
    struct rd_tcp_dir  d;
    struct rd_seg      s;
    static uint8_t     junk[RD_TCP_CHUNK_DATA];
    unsigned           i;

    (void) state;
    fx_init(&x, 2 * RD_TCP_CHUNK_DATA);
    request(&x);
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 41, T_SI + 1, 10));
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 61, T_SI + 1, 10));
    assert_int_equal(x.c->side[RD_CONN_CLIENT].tcp.ooo_segs, 2);
    rd_conn_finish(x.c, &x.env, RD_END_CAPTURE);
    assert_int_equal(x.c->end, RD_END_CAPTURE);
    assert_int_equal(x.c->side[RD_CONN_CLIENT].tcp.ooo_segs, 0);
    assert_int_equal(x.c->side[RD_CONN_CLIENT].tcp.bytes, 40);
    assert_int_equal(x.c->side[RD_CONN_CLIENT].tcp.gap_bytes, 30);
    assert_int_equal(rd_conn_stream_bytes(x.c, RD_CONN_CLIENT), 70);

    memset(&d, 0, sizeof(d));
    memset(&s, 0, sizeof(s));
    s.flags = RD_TCP_SYN;
    rd_tcp_segment(x.pool, &d, &s, NULL, 0);
    s.flags = RD_TCP_ACK;
    s.payload.p = junk;
    s.payload.len = sizeof(junk);
    s.payload_len = sizeof(junk);
    for (i = 0; i < 2; i++) {
        s.seq = 2 + i * 2 * RD_TCP_CHUNK_DATA;
        rd_tcp_segment(x.pool, &d, &s, NULL, 0);
    }
    assert_int_equal(d.ooo_segs, 2);
    assert_int_equal(rd_tcp_pool_refused(x.pool), 0);
    rd_tcp_release(x.pool, &d);
    test_free(x.c);
    rd_tcp_pool_destroy(x.pool);
}


/* ---- zero windows ------------------------------------------------------- */

/*
 * The client (nginx on an upstream leg) shuts its window while the server
 * has more to send; the server probes, then resets: the connection
 * records one episode, the probes, and that the RST came while the window
 * was shut.  The slot's cold part holds an earlier connection's bytes
 * (it is not zeroed per connection): they must not show.  SYN and RST
 * windows (an RST carries window 0) open no episode.
 */
static void
test_conn_zero_window_rst_while_shut(void **state)
{
    struct fx                      x;
    struct rd_seg                  s;
    const struct rd_tcp_zw        *z;
    const struct rd_tcp_zw_close  *zc;

    (void) state;
    fx_init(&x, 0);
    memset(&x.cold, 0xa5, sizeof(x.cold));
    request(&x);
    assert_false(x.c->has_zw);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_ACK | RD_TCP_PSH, T_SI + 1,
                T_CI + 21, 1000));
    s = mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 21, T_SI + 1001, 0);
    s.win = 0;
    x.now += 999000;                        /* at +1 s */
    s.ts = x.now;
    feed(&x, s);
    assert_true(x.c->has_zw);
    assert_true(x.c->side[RD_CONN_CLIENT].tcp.zw);
    /* two probes (old sequence number, no data), answered with zero */
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_ACK, T_SI + 1000, T_CI + 21, 0));
    s = mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 21, T_SI + 1001, 0);
    s.win = 0;
    feed(&x, s);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_ACK, T_SI + 1000, T_CI + 21, 0));
    x.now += 1500000;
    s = mk(&x, RD_CONN_SERVER, RD_TCP_RST | RD_TCP_ACK, T_SI + 1001,
           T_CI + 21, 0);
    s.win = 0;
    feed(&x, s);
    assert_int_equal(x.c->close_kind, RD_CLOSE_RST);
    z = &x.c->cold->zw[RD_CONN_CLIENT];
    zc = &x.c->cold->zw_close;
    assert_int_equal(z->episodes, 1);
    assert_int_equal(z->probes, 2);
    assert_int_equal(x.c->cold->zw[RD_CONN_SERVER].episodes, 0);
    assert_true(zc->seen);
    assert_true(zc->at_close);
    assert_int_equal(zc->stall_ms, 1504);
    assert_false(x.c->side[RD_CONN_SERVER].tcp.zw);
    fx_fini(&x);
}


/*
 * A FIN that waited behind data: the window opens, the server's next
 * segment carries the rest and the FIN.  The record says the close came
 * right after the episode, not during it.
 */
static void
test_conn_zero_window_fin_after_reopen(void **state)
{
    struct fx                      x;
    struct rd_seg                  s;
    const struct rd_tcp_zw_close  *zc;

    (void) state;
    fx_init(&x, 0);
    request(&x);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_ACK | RD_TCP_PSH, T_SI + 1,
                T_CI + 21, 1000));
    s = mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 21, T_SI + 1001, 0);
    s.win = 0;
    feed(&x, s);
    assert_int_equal(x.c->zw_shut, 1);
    x.now += 2000000;
    feed(&x, mk(&x, RD_CONN_CLIENT, RD_TCP_ACK, T_CI + 21, T_SI + 1001, 0));
    assert_int_equal(x.c->zw_shut, 0);
    feed(&x, mk(&x, RD_CONN_SERVER, RD_TCP_ACK | RD_TCP_PSH | RD_TCP_FIN,
                T_SI + 1001, T_CI + 21, 500));
    zc = &x.c->cold->zw_close;
    assert_int_equal(x.c->close_kind, RD_CLOSE_FIN);
    assert_true(zc->seen);
    assert_false(zc->at_close);
    assert_int_equal(zc->stall_ms, 2001);
    assert_int_equal(zc->after_ms, 1);
    assert_int_equal(x.c->cold->zw[RD_CONN_CLIENT].probes, 0);
    fx_fini(&x);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conn_roles_from_syn),
        cmocka_unit_test(test_conn_roles_from_synack),
        cmocka_unit_test(test_conn_roles_inferred_from_ports),
        cmocka_unit_test(test_conn_rst_exact),
        cmocka_unit_test(test_conn_rst_window),
        cmocka_unit_test(test_conn_rst_reply_takes_ack_seq),
        cmocka_unit_test(test_conn_rst_answers_syn),
        cmocka_unit_test(test_conn_rst_missed_handshake),
        cmocka_unit_test(test_conn_fin_then_rst_same_side),
        cmocka_unit_test(test_conn_rst_with_data),
        cmocka_unit_test(test_conn_close_order_both_fin),
        cmocka_unit_test(test_conn_rst_unacked_unread),
        cmocka_unit_test(test_conn_ttl_and_ip_id),
        cmocka_unit_test(test_conn_finish_returns_pool),
        cmocka_unit_test(test_conn_zero_window_rst_while_shut),
        cmocka_unit_test(test_conn_zero_window_fin_after_reopen),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
