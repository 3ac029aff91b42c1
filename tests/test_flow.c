/*
 * Unit tests of flow.c: the 4-tuple table driven with hand-made segments
 * through rd_flow_get() and rd_conn_packet(), as the pipeline does.  The
 * done callback records (id, why) and finishes the connection so its pool
 * storage returns; rd_flow_validate_() runs after every operation, and
 * every allocation goes through cmocka's allocator.
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
#include "rstdiag/flow.h"
#include "rstdiag/limits.h"
#include "rstdiag/pipeline.h"
#include "rstdiag/tcp.h"

#define T_SEC       1000000LL
#define T_T0        (1700000000LL * T_SEC)
#define T_CLIENT    0x0a000001u             /* 10.0.0.1 */
#define T_SERVER    0x0a000002u             /* 10.0.0.2 */
#define T_MAXDONE   256u


struct done_rec {
    uint64_t        id;
    int             why;
    uint16_t        cport;                  /* client port of the record */
    bool            closed;
};

struct fx {
    struct rd_flow_table   *t;
    struct rd_tcp_pool     *pool;
    struct rd_conn_env      env;
    unsigned                ndone;
    struct done_rec         done[T_MAXDONE];
};


static void
on_done(void *ctx, struct rd_flow *f, int why)
{
    struct fx  *x = ctx;

    assert_true(f->used);
    assert_true(x->ndone < T_MAXDONE);
    x->done[x->ndone].id = f->conn.id;
    x->done[x->ndone].why = why;
    x->done[x->ndone].cport = f->conn.ep[RD_CONN_CLIENT].port;
    x->done[x->ndone].closed = f->conn.closed;
    x->ndone++;
    rd_conn_finish(&f->conn, &x->env, why);
}


static void
fx_init(struct fx *x, uint32_t max_flows)
{
    memset(x, 0, sizeof(*x));
    x->pool = rd_tcp_pool_create(&talloc, 64 * 1024, 16 * 1024, 16);
    assert_non_null(x->pool);
    x->env.pool = x->pool;
    x->env.max_header_bytes = 65536;
    x->t = rd_flow_create(&talloc, max_flows, 0x5eed, on_done, x);
    assert_non_null(x->t);
    rd_flow_validate_(x->t);
}


static void
fx_fini(struct fx *x)
{
    rd_flow_flush(x->t, RD_END_CAPTURE);
    rd_flow_validate_(x->t);
    assert_int_equal(rd_flow_stats(x->t)->active, 0);
    rd_flow_destroy(x->t);
    rd_tcp_pool_destroy(x->pool);
}


static void
put_ip(uint8_t *a, uint32_t ip)
{
    memset(a, 0, 16);
    a[0] = (uint8_t) (ip >> 24);
    a[1] = (uint8_t) (ip >> 16);
    a[2] = (uint8_t) (ip >> 8);
    a[3] = (uint8_t) ip;
}


static struct rd_seg
mk(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
    uint8_t flags, uint32_t seq, uint32_t ack, rd_usec_t ts)
{
    struct rd_seg  s;

    memset(&s, 0, sizeof(s));
    s.ts = ts;
    s.af = 4;
    s.ttl = 64;
    put_ip(s.src, src);
    put_ip(s.dst, dst);
    s.sport = sport;
    s.dport = dport;
    s.flags = flags;
    s.seq = seq;
    s.ack = ack;
    s.win = 1000;
    return s;
}


/* The client side (port cport) of a connection to T_SERVER:80 sends. */
static struct rd_seg
cli(uint16_t cport, uint8_t flags, uint32_t seq, uint32_t ack, rd_usec_t ts)
{
    return mk(T_CLIENT, cport, T_SERVER, 80, flags, seq, ack, ts);
}


static struct rd_seg
srv(uint16_t cport, uint8_t flags, uint32_t seq, uint32_t ack, rd_usec_t ts)
{
    return mk(T_SERVER, 80, T_CLIENT, cport, flags, seq, ack, ts);
}


/* One packet through the table and the connection, then the checks. */
static struct rd_flow *
pkt(struct fx *x, struct rd_seg s, bool *created)
{
    struct rd_flow  *f;
    bool             c;

    f = rd_flow_get(x->t, &s, &c);
    assert_non_null(f);
    assert_true(f->used);
    rd_flow_validate_(x->t);
    rd_conn_packet(&f->conn, &x->env, &s);
    rd_flow_validate_(x->t);
    if (created != NULL) {
        *created = c;
    }
    return f;
}


/* Handshake and FIN/FIN close of client port cport, from time ts. */
static struct rd_flow *
full_conn(struct fx *x, uint16_t cport, uint32_t ci, uint32_t si,
    rd_usec_t ts)
{
    struct rd_flow  *f;

    f = pkt(x, cli(cport, RD_TCP_SYN, ci, 0, ts), NULL);
    pkt(x, srv(cport, RD_TCP_SYN | RD_TCP_ACK, si, ci + 1, ts + 1), NULL);
    pkt(x, cli(cport, RD_TCP_ACK, ci + 1, si + 1, ts + 2), NULL);
    pkt(x, cli(cport, RD_TCP_FIN | RD_TCP_ACK, ci + 1, si + 1, ts + 3), NULL);
    pkt(x, srv(cport, RD_TCP_FIN | RD_TCP_ACK, si + 1, ci + 2, ts + 4),
        NULL);
    assert_true(pkt(x, cli(cport, RD_TCP_ACK, ci + 2, si + 2, ts + 5), NULL)
                == f);
    assert_true(f->conn.closed);
    return f;
}


/*
 * Both directions of a tuple map to one flow; a tuple differing only in
 * which side has which port, or in one port, is another flow.
 */
static void
test_flow_both_directions_one_flow(void **state)
{
    struct fx        x;
    struct rd_flow  *a, *b;
    bool             created;

    (void) state;
    fx_init(&x, 8);
    a = pkt(&x, cli(40000, RD_TCP_SYN, 1, 0, T_T0), &created);
    assert_true(created);
    b = pkt(&x, srv(40000, RD_TCP_SYN | RD_TCP_ACK, 9, 2, T_T0 + 1),
            &created);
    assert_false(created);
    assert_ptr_equal(a, b);
    b = pkt(&x, cli(40000, RD_TCP_ACK, 2, 10, T_T0 + 2), &created);
    assert_false(created);
    assert_ptr_equal(a, b);
    assert_int_equal(a->conn.id, 1);
    assert_true(a->conn.established);

    /* 10.0.0.1:80 -> 10.0.0.2:40000 is not the same connection */
    b = pkt(&x, mk(T_CLIENT, 80, T_SERVER, 40000, RD_TCP_ACK, 5, 5,
                   T_T0 + 3), &created);
    assert_true(created);
    assert_ptr_not_equal(a, b);
    b = pkt(&x, cli(40001, RD_TCP_ACK, 5, 5, T_T0 + 4), &created);
    assert_true(created);
    assert_ptr_not_equal(a, b);
    assert_int_equal(b->conn.id, 3);
    assert_int_equal(rd_flow_stats(x.t)->created, 3);
    assert_int_equal(rd_flow_stats(x.t)->active, 3);
    assert_int_equal(x.ndone, 0);
    fx_fini(&x);
}


/*
 * With many tuples in a table of one bucket per flow, every packet of
 * every connection still finds its own flow from either direction.
 */
static void
test_flow_many_tuples_found_from_both_sides(void **state)
{
    struct fx        x;
    struct rd_flow  *f[200];
    unsigned         i;
    bool             created;

    (void) state;
    fx_init(&x, 200);
    for (i = 0; i < 200; i++) {
        f[i] = pkt(&x, cli((uint16_t) (30000 + i), RD_TCP_SYN, i, 0,
                           T_T0 + i), &created);
        assert_true(created);
    }
    for (i = 0; i < 200; i++) {
        assert_ptr_equal(pkt(&x, srv((uint16_t) (30000 + i),
                                     RD_TCP_SYN | RD_TCP_ACK, 7, i + 1,
                                     T_T0 + 1000 + i), &created), f[i]);
        assert_false(created);
        assert_int_equal(f[i]->conn.ep[RD_CONN_CLIENT].port, 30000 + i);
    }
    assert_int_equal(rd_flow_stats(x.t)->evicted, 0);
    assert_int_equal(x.ndone, 0);
    fx_fini(&x);
}


/*
 * A table of N given N+k connections evicts the k least recently active
 * ones, oldest first, through the done callback with RD_END_EVICTED;
 * touching a flow protects it; the counters say so.
 */
static void
test_flow_capacity_evicts_oldest(void **state)
{
    struct fx                    x;
    const struct rd_flow_stats  *st;
    unsigned                     i;
    bool                         created;

    (void) state;
    fx_init(&x, 4);
    for (i = 0; i < 7; i++) {
        pkt(&x, cli((uint16_t) (50000 + i), RD_TCP_SYN, 100 + i, 0,
                    T_T0 + i * T_SEC), &created);
        assert_true(created);
    }
    st = rd_flow_stats(x.t);
    assert_int_equal(x.ndone, 3);
    for (i = 0; i < 3; i++) {
        assert_int_equal(x.done[i].id, i + 1);
        assert_int_equal(x.done[i].why, RD_END_EVICTED);
        assert_int_equal(x.done[i].cport, 50000 + i);
    }
    assert_int_equal(st->created, 7);
    assert_int_equal(st->evicted, 3);
    assert_int_equal(st->active, 4);
    assert_int_equal(st->peak, 4);
    assert_int_equal(st->expired, 0);
    assert_int_equal(st->reused, 0);

    /* touch the oldest (id 4, port 50003): id 5 goes next */
    pkt(&x, srv(50003, RD_TCP_SYN | RD_TCP_ACK, 1, 104, T_T0 + 8 * T_SEC),
        &created);
    assert_false(created);
    assert_int_equal(x.ndone, 3);
    pkt(&x, cli(50007, RD_TCP_SYN, 107, 0, T_T0 + 9 * T_SEC), &created);
    assert_true(created);
    assert_int_equal(x.ndone, 4);
    assert_int_equal(x.done[3].id, 5);
    assert_int_equal(x.done[3].why, RD_END_EVICTED);
    assert_int_equal(st->evicted, 4);
    assert_int_equal(st->active, 4);

    /* a flush finishes the rest in order of activity: 6, 7, 4, 8 */
    rd_flow_flush(x.t, RD_END_CAPTURE);
    rd_flow_validate_(x.t);
    assert_int_equal(x.ndone, 8);
    assert_int_equal(x.done[4].id, 6);
    assert_int_equal(x.done[5].id, 7);
    assert_int_equal(x.done[6].id, 4);
    assert_int_equal(x.done[7].id, 8);
    for (i = 4; i < 8; i++) {
        assert_int_equal(x.done[i].why, RD_END_CAPTURE);
    }
    assert_int_equal(st->active, 0);
    assert_int_equal(st->peak, 4);
    fx_fini(&x);
}


/* A table of one flow: every new tuple evicts the previous one. */
static void
test_flow_capacity_one(void **state)
{
    struct fx        x;
    struct rd_flow  *a, *b;
    bool             created;

    (void) state;
    fx_init(&x, 1);
    a = pkt(&x, cli(1111, RD_TCP_ACK, 1, 1, T_T0), &created);
    b = pkt(&x, cli(2222, RD_TCP_ACK, 1, 1, T_T0 + 1), &created);
    assert_true(created);
    assert_ptr_equal(a, b);                 /* the slot was reused */
    assert_int_equal(b->conn.id, 2);
    assert_int_equal(x.ndone, 1);
    assert_int_equal(x.done[0].id, 1);
    assert_int_equal(x.done[0].why, RD_END_EVICTED);
    assert_int_equal(x.done[0].cport, 1111);
    pkt(&x, srv(2222, RD_TCP_ACK, 1, 1, T_T0 + 2), &created);
    assert_false(created);
    assert_int_equal(rd_flow_stats(x.t)->evicted, 1);
    fx_fini(&x);
}


/*
 * Idle expiry by packet time: a connection silent for the idle timeout
 * (exactly, or more) is finished with RD_END_IDLE and counted as expired;
 * one silent for less is kept.
 */
static void
test_flow_expire_idle(void **state)
{
    struct fx                    x;
    const struct rd_flow_stats  *st;

    (void) state;
    fx_init(&x, 8);
    st = rd_flow_stats(x.t);
    pkt(&x, cli(40000, RD_TCP_ACK, 1, 1, T_T0), NULL);
    pkt(&x, cli(40001, RD_TCP_ACK, 1, 1, T_T0 + 100 * T_SEC), NULL);

    rd_flow_expire(x.t, T_T0 + 300 * T_SEC - 1, 300 * T_SEC, 60 * T_SEC);
    rd_flow_validate_(x.t);
    assert_int_equal(x.ndone, 0);
    rd_flow_expire(x.t, T_T0 + 300 * T_SEC, 300 * T_SEC, 60 * T_SEC);
    rd_flow_validate_(x.t);
    assert_int_equal(x.ndone, 1);
    assert_int_equal(x.done[0].id, 1);
    assert_int_equal(x.done[0].why, RD_END_IDLE);
    assert_int_equal(st->expired, 1);
    assert_int_equal(st->active, 1);

    /* a packet renews the second one */
    pkt(&x, srv(40001, RD_TCP_ACK, 1, 1, T_T0 + 350 * T_SEC), NULL);
    rd_flow_expire(x.t, T_T0 + 500 * T_SEC, 300 * T_SEC, 60 * T_SEC);
    rd_flow_validate_(x.t);
    assert_int_equal(x.ndone, 1);
    rd_flow_expire(x.t, T_T0 + 700 * T_SEC, 300 * T_SEC, 60 * T_SEC);
    rd_flow_validate_(x.t);
    assert_int_equal(x.ndone, 2);
    assert_int_equal(x.done[1].id, 2);
    assert_int_equal(x.done[1].why, RD_END_IDLE);
    assert_int_equal(st->expired, 2);
    assert_int_equal(st->active, 0);
    assert_int_equal(st->evicted, 0);
    fx_fini(&x);
}


/*
 * A closed connection (both FINs, or an RST) lingers only linger_usec
 * and is finished with RD_END_CLOSED, even when an older open connection
 * ahead of it in the LRU is not due yet.
 */
static void
test_flow_expire_closed_linger(void **state)
{
    struct fx                    x;
    const struct rd_flow_stats  *st;

    (void) state;
    fx_init(&x, 8);
    st = rd_flow_stats(x.t);
    pkt(&x, cli(40000, RD_TCP_ACK, 1, 1, T_T0), NULL);          /* open */
    full_conn(&x, 40001, 100, 900, T_T0 + 10 * T_SEC);
    /* RST-closed */
    pkt(&x, cli(40002, RD_TCP_ACK, 1, 1, T_T0 + 20 * T_SEC), NULL);
    pkt(&x, srv(40002, RD_TCP_RST, 1, 0, T_T0 + 20 * T_SEC), NULL);
    assert_int_equal(st->active, 3);

    rd_flow_expire(x.t, T_T0 + 60 * T_SEC, 300 * T_SEC, 60 * T_SEC);
    rd_flow_validate_(x.t);
    assert_int_equal(x.ndone, 0);
    rd_flow_expire(x.t, T_T0 + 70 * T_SEC + 5, 300 * T_SEC, 60 * T_SEC);
    rd_flow_validate_(x.t);
    assert_int_equal(x.ndone, 1);
    assert_int_equal(x.done[0].cport, 40001);
    assert_int_equal(x.done[0].why, RD_END_CLOSED);
    rd_flow_expire(x.t, T_T0 + 80 * T_SEC, 300 * T_SEC, 60 * T_SEC);
    rd_flow_validate_(x.t);
    assert_int_equal(x.ndone, 2);
    assert_int_equal(x.done[1].cport, 40002);
    assert_int_equal(x.done[1].why, RD_END_CLOSED);
    assert_int_equal(st->expired, 2);
    assert_int_equal(st->active, 1);
    rd_flow_expire(x.t, T_T0 + 300 * T_SEC, 300 * T_SEC, 60 * T_SEC);
    rd_flow_validate_(x.t);
    assert_int_equal(x.ndone, 3);
    assert_int_equal(x.done[2].cport, 40000);
    assert_int_equal(x.done[2].why, RD_END_IDLE);
    assert_int_equal(st->expired, 3);
    fx_fini(&x);
}


/*
 * A new SYN with another ISN on a tuple whose connection closed finishes
 * the old connection with RD_END_REUSED and starts a new one with a new
 * id, in the same table slot count.
 */
static void
test_flow_tuple_reuse_new_isn(void **state)
{
    struct fx        x;
    struct rd_flow  *f;
    bool             created;

    (void) state;
    fx_init(&x, 2);
    full_conn(&x, 40000, 1000, 9000, T_T0);
    pkt(&x, cli(40999, RD_TCP_ACK, 1, 1, T_T0 + 10), NULL);     /* other */
    f = pkt(&x, cli(40000, RD_TCP_SYN, 777777, 0, T_T0 + 2 * T_SEC),
            &created);
    assert_true(created);
    assert_int_equal(x.ndone, 1);
    assert_int_equal(x.done[0].id, 1);
    assert_int_equal(x.done[0].why, RD_END_REUSED);
    assert_true(x.done[0].closed);
    assert_int_equal(f->conn.id, 3);
    assert_true(f->conn.syn);
    assert_false(f->conn.closed);
    assert_int_equal(f->conn.side[RD_CONN_CLIENT].tcp.isn, 777777);
    assert_int_equal(f->conn.ts_start, T_T0 + 2 * T_SEC);
    assert_int_equal(rd_flow_stats(x.t)->reused, 1);
    assert_int_equal(rd_flow_stats(x.t)->evicted, 0);
    assert_int_equal(rd_flow_stats(x.t)->created, 3);
    assert_int_equal(rd_flow_stats(x.t)->active, 2);
    /* the server's answer belongs to the new connection */
    assert_ptr_equal(pkt(&x, srv(40000, RD_TCP_SYN | RD_TCP_ACK, 5, 777778,
                                 T_T0 + 2 * T_SEC + 1), &created), f);
    assert_false(created);
    assert_true(f->conn.synack);
    fx_fini(&x);
}


/*
 * A SYN retransmission (same ISN), before or after the SYN/ACK, stays in
 * the same connection: no done callback, no new id, the SYN counted.
 */
static void
test_flow_syn_retransmission_same_conn(void **state)
{
    struct fx        x;
    struct rd_flow  *f;
    bool             created;

    (void) state;
    fx_init(&x, 4);
    f = pkt(&x, cli(40000, RD_TCP_SYN, 1000, 0, T_T0), &created);
    assert_true(created);
    assert_ptr_equal(pkt(&x, cli(40000, RD_TCP_SYN, 1000, 0, T_T0 + T_SEC),
                         &created), f);
    assert_false(created);
    pkt(&x, srv(40000, RD_TCP_SYN | RD_TCP_ACK, 9000, 1001,
                T_T0 + T_SEC + 1), NULL);
    assert_ptr_equal(pkt(&x, cli(40000, RD_TCP_SYN, 1000, 0,
                                 T_T0 + 3 * T_SEC), &created), f);
    assert_false(created);
    assert_int_equal(f->conn.id, 1);
    assert_int_equal(f->conn.side[RD_CONN_CLIENT].syns, 3);
    assert_int_equal(x.ndone, 0);
    assert_int_equal(rd_flow_stats(x.t)->reused, 0);
    assert_int_equal(rd_flow_stats(x.t)->created, 1);
    fx_fini(&x);
}


/*
 * A capture that starts between the SYN and the SYN/ACK sees the SYN/ACK
 * first; the client's SYN retransmission that follows carries the ISN the
 * SYN/ACK acknowledged (ack - 1) and is the same connection.
 */
static void
test_flow_syn_retransmission_after_synack_first(void **state)
{
    struct fx        x;
    struct rd_flow  *f;
    bool             created;

    (void) state;
    fx_init(&x, 4);
    f = pkt(&x, srv(40000, RD_TCP_SYN | RD_TCP_ACK, 9000, 1001, T_T0),
            &created);
    assert_true(created);
    assert_false(f->conn.roles_inferred);
    assert_ptr_equal(pkt(&x, cli(40000, RD_TCP_SYN, 1000, 0, T_T0 + T_SEC),
                         &created), f);
    assert_false(created);
    assert_int_equal(x.ndone, 0);
    assert_int_equal(rd_flow_stats(x.t)->reused, 0);
    fx_fini(&x);
}


/*
 * A flush finishes every connection oldest activity first, with the
 * given reason for open ones and RD_END_CLOSED for closed ones, and
 * counts none of them as evicted or expired.
 */
static void
test_flow_flush_reasons(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, 8);
    pkt(&x, cli(40000, RD_TCP_ACK, 1, 1, T_T0), NULL);
    full_conn(&x, 40001, 100, 900, T_T0 + 10);
    pkt(&x, cli(40002, RD_TCP_ACK, 1, 1, T_T0 + 20), NULL);
    rd_flow_flush(x.t, RD_END_CAPTURE);
    rd_flow_validate_(x.t);
    assert_int_equal(x.ndone, 3);
    assert_int_equal(x.done[0].cport, 40000);
    assert_int_equal(x.done[0].why, RD_END_CAPTURE);
    assert_int_equal(x.done[1].cport, 40001);
    assert_int_equal(x.done[1].why, RD_END_CLOSED);
    assert_int_equal(x.done[2].cport, 40002);
    assert_int_equal(x.done[2].why, RD_END_CAPTURE);
    assert_int_equal(rd_flow_stats(x.t)->evicted, 0);
    assert_int_equal(rd_flow_stats(x.t)->expired, 0);
    assert_int_equal(rd_flow_stats(x.t)->active, 0);
    fx_fini(&x);
}


/*
 * A new SYN on the tuple of the newest flow (the shortcut that skips the
 * hash) still finishes the old connection and starts another, and the
 * slot it frees can be the new one's.
 */
static void
test_flow_tuple_reuse_right_after_close(void **state)
{
    struct fx        x;
    struct rd_flow  *old, *f;
    bool             created;

    (void) state;
    fx_init(&x, 1);
    old = full_conn(&x, 40000, 1000, 9000, T_T0);
    f = pkt(&x, cli(40000, RD_TCP_SYN, 5555, 0, T_T0 + T_SEC), &created);
    assert_true(created);
    assert_ptr_equal(f, old);
    assert_int_equal(x.ndone, 1);
    assert_int_equal(x.done[0].why, RD_END_REUSED);
    assert_int_equal(f->conn.id, 2);
    assert_int_equal(f->conn.side[RD_CONN_CLIENT].tcp.isn, 5555);
    assert_ptr_equal(pkt(&x, srv(40000, RD_TCP_SYN | RD_TCP_ACK, 7, 5556,
                                 T_T0 + T_SEC + 1), &created), f);
    assert_false(created);
    fx_fini(&x);
}


static struct rd_seg
mk6(const uint8_t *src, uint16_t sport, const uint8_t *dst, uint16_t dport,
    uint8_t flags, rd_usec_t ts)
{
    struct rd_seg  s;

    memset(&s, 0, sizeof(s));
    s.ts = ts;
    s.af = 6;
    s.ttl = 64;
    memcpy(s.src, src, 16);
    memcpy(s.dst, dst, 16);
    s.sport = sport;
    s.dport = dport;
    s.flags = flags;
    s.win = 1000;
    return s;
}


/*
 * IPv6 tuples find their flow from both sides; an IPv6 tuple whose
 * addresses start with the bytes of an IPv4 tuple's (the rest zero) is
 * another connection.
 */
static void
test_flow_ipv6_and_ipv4_apart(void **state)
{
    static const uint8_t  a6[16] = { 0x0a, 0, 0, 1 };
    static const uint8_t  b6[16] = { 0x0a, 0, 0, 2 };
    static const uint8_t  c6[16] = {
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9
    };
    struct fx        x;
    struct rd_flow  *v4, *v6, *f;
    bool             created;

    (void) state;
    fx_init(&x, 8);
    v4 = pkt(&x, cli(40000, RD_TCP_SYN, 1, 0, T_T0), &created);
    assert_true(created);
    v6 = pkt(&x, mk6(a6, 40000, b6, 80, RD_TCP_SYN, T_T0 + 1), &created);
    assert_true(created);
    assert_ptr_not_equal(v4, v6);
    f = pkt(&x, mk6(b6, 80, a6, 40000, RD_TCP_SYN | RD_TCP_ACK, T_T0 + 2),
            &created);
    assert_false(created);
    assert_ptr_equal(f, v6);
    assert_ptr_equal(pkt(&x, srv(40000, RD_TCP_SYN | RD_TCP_ACK, 9, 2,
                                 T_T0 + 3), &created), v4);
    assert_false(created);
    /* same ports, another address: another flow, found again later */
    f = pkt(&x, mk6(c6, 40000, b6, 80, RD_TCP_SYN, T_T0 + 4), &created);
    assert_true(created);
    assert_ptr_equal(pkt(&x, mk6(b6, 80, a6, 40000, RD_TCP_ACK, T_T0 + 5),
                         &created), v6);
    assert_ptr_equal(pkt(&x, mk6(b6, 80, c6, 40000, RD_TCP_ACK, T_T0 + 6),
                         &created), f);
    assert_int_equal(rd_flow_stats(x.t)->active, 3);
    fx_fini(&x);
}


static void
on_done_count(void *ctx, struct rd_flow *f, int why)
{
    struct fx  *x = ctx;

    x->ndone++;
    rd_conn_finish(&f->conn, &x->env, why);
}


/*
 * Tuples a flood would send, all at one server port: every source port
 * of one address, addresses that differ only in their first or last two
 * bytes, IPv6 sources that differ only in their last 32 bits.  With one
 * bucket per flow the longest chain stays short under two seeds: the
 * keyed hash spreads patterned tuples like random ones (a hash whose
 * bucket bits ignore part of the tuple would chain them by thousands).
 */
static void
test_flow_chosen_tuples_short_chains(void **state)
{
    static const uint64_t  seeds[] = { 0x5eed, 0x9e3779b97f4a7c15ULL };
    struct fx              x;
    struct rd_seg          s;
    uint32_t               i, n, addr;
    unsigned               pat, k;
    bool                   created;

    (void) state;
    n = 16384;
    for (k = 0; k < RD_NELEMS(seeds); k++) {
        for (pat = 0; pat < 4; pat++) {
            memset(&x, 0, sizeof(x));
            x.pool = rd_tcp_pool_create(&talloc, 64 * 1024, 16 * 1024, 16);
            assert_non_null(x.pool);
            x.env.pool = x.pool;
            x.env.max_header_bytes = 65536;
            x.t = rd_flow_create(&talloc, n, seeds[k], on_done_count, &x);
            assert_non_null(x.t);
            for (i = 0; i < n; i++) {
                switch (pat) {
                case 0:
                    s = mk(T_CLIENT, (uint16_t) (1 + i), T_SERVER, 80,
                           RD_TCP_SYN, i, 0, T_T0);
                    break;
                case 1:
                    addr = (i << 16) | 0x0001u;
                    s = mk(addr, 40000, T_SERVER, 80, RD_TCP_SYN, i, 0, T_T0);
                    break;
                case 2:
                    addr = 0x0a000000u | i;
                    s = mk(addr, 40000, T_SERVER, 80, RD_TCP_SYN, i, 0, T_T0);
                    break;
                default:
                    s = mk(T_CLIENT, 40000, T_SERVER, 80, RD_TCP_SYN, i, 0,
                           T_T0);
                    s.af = 6;
                    s.src[0] = 0x20;
                    s.src[12] = (uint8_t) (i >> 24);
                    s.src[13] = (uint8_t) (i >> 16);
                    s.src[14] = (uint8_t) (i >> 8);
                    s.src[15] = (uint8_t) i;
                    break;
                }
                (void) rd_flow_get(x.t, &s, &created);
                assert_true(created);
            }
            rd_flow_validate_(x.t);
            assert_int_equal(rd_flow_stats(x.t)->active, n);
            assert_in_range(rd_flow_chain_max_(x.t), 1, 12);
            rd_flow_flush(x.t, RD_END_CAPTURE);
            assert_int_equal(x.ndone, n);
            rd_flow_destroy(x.t);
            rd_tcp_pool_destroy(x.pool);
        }
    }
}


/* A table of 0 flows cannot be made. */
static void
test_flow_create_zero_refused(void **state)
{
    (void) state;
    assert_null(rd_flow_create(&talloc, 0, 1, on_done, NULL));
}


/*
 * Each allocation of the start-up constructors may fail: the constructor
 * then returns NULL having freed everything (cmocka checks for leaks),
 * big tables included.  Walks the failure point until creation succeeds.
 */
static void
test_flow_create_every_allocation_fails_cleanly(void **state)
{
    struct tfail               f;
    struct rd_flow_table      *t;
    struct rd_tcp_pool        *pool;
    struct rd_pipeline        *pl;
    struct rd_pipeline_cfg     cfg;
    char                       err[RD_ERRLEN];
    unsigned                   k;

    (void) state;
    for (k = 0;; k++) {
        tfail_init(&f, k);
        t = rd_flow_create(&f.a, 100, 1, on_done, NULL);
        if (t != NULL) {
            assert_true(f.big_live >= 3);
            rd_flow_destroy(t);
            assert_int_equal(f.big_live, 0);
            break;
        }
        assert_int_equal(f.big_live, 0);
    }
    assert_int_equal(k, 4);

    for (k = 0;; k++) {
        tfail_init(&f, k);
        pool = rd_tcp_pool_create(&f.a, 64 * 1024, 16 * 1024, 16);
        if (pool != NULL) {
            rd_tcp_pool_destroy(pool);
            assert_int_equal(f.big_live, 0);
            break;
        }
        assert_int_equal(f.big_live, 0);
    }
    assert_int_equal(k, 2);

    rd_pipeline_cfg_default(&cfg);
    assert_int_equal(cfg.max_flows, RD_LIMITS_MAX_FLOWS);
    cfg.max_flows = 64;
    cfg.ooo_pool_bytes = 64 * 1024;
    for (k = 0;; k++) {
        tfail_init(&f, k);
        pl = rd_pipeline_create(&f.a, &cfg, NULL, NULL, err);
        if (pl != NULL) {
            rd_pipeline_destroy(pl);
            assert_int_equal(f.big_live, 0);
            break;
        }
        assert_string_not_equal(err, "");
        assert_int_equal(f.big_live, 0);
    }
    assert_true(k >= 8);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_both_directions_one_flow),
        cmocka_unit_test(test_flow_many_tuples_found_from_both_sides),
        cmocka_unit_test(test_flow_capacity_evicts_oldest),
        cmocka_unit_test(test_flow_capacity_one),
        cmocka_unit_test(test_flow_expire_idle),
        cmocka_unit_test(test_flow_expire_closed_linger),
        cmocka_unit_test(test_flow_tuple_reuse_new_isn),
        cmocka_unit_test(test_flow_syn_retransmission_same_conn),
        cmocka_unit_test(test_flow_syn_retransmission_after_synack_first),
        cmocka_unit_test(test_flow_flush_reasons),
        cmocka_unit_test(test_flow_tuple_reuse_right_after_close),
        cmocka_unit_test(test_flow_ipv6_and_ipv4_apart),
        cmocka_unit_test(test_flow_chosen_tuples_short_chains),
        cmocka_unit_test(test_flow_create_zero_refused),
        cmocka_unit_test(test_flow_create_every_allocation_fails_cleanly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
