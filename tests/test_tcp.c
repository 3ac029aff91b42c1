/*
 * Unit tests of tcp.c: one direction of a stream driven segment by
 * segment with hand-made struct rd_seg, into a sink that records the
 * delivered bytes and every gap.  rd_tcp_validate_() runs after every
 * step (libevent regress style); the pool comes from cmocka's allocator
 * so a leaked pool fails the test, and a pool not returned full is caught
 * by refilling it to capacity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "talloc.h"

#include "rstdiag/common.h"
#include "rstdiag/decode.h"
#include "rstdiag/tcp.h"

#define T_ISN       1000u
#define T_DIR       1
#define T_TS        1700000000000000LL
#define T_BIG       (1024u * 1024u)     /* a pool that never refuses */
#define T_STREAM    8192u
#define T_MAXGAPS   16u


/* ---- allocator, stream bytes and the recording sink -------------------- */


/* the bytes of the test stream: byte i of the stream is stream[i] */
static uint8_t  stream[T_STREAM];


struct rec {
    uint8_t         buf[T_STREAM];
    size_t          len;                    /* bytes delivered */
    unsigned        ngaps;
    uint64_t        gap[T_MAXGAPS];         /* size of each gap */
    size_t          gap_at[T_MAXGAPS];      /* rec.len when it came */
    uint64_t        gap_total;
    int             bad_dir;                /* callbacks with dir != T_DIR */
};


static void
rec_data(void *ctx, int dir, const uint8_t *p, size_t len, rd_usec_t ts)
{
    struct rec  *r = ctx;

    (void) ts;
    if (dir != T_DIR) {
        r->bad_dir++;
    }
    assert_true(len > 0);
    assert_true(r->len + len <= sizeof(r->buf));
    memcpy(r->buf + r->len, p, len);
    r->len += len;
}


static void
rec_gap(void *ctx, int dir, uint64_t n, rd_usec_t ts)
{
    struct rec  *r = ctx;

    (void) ts;
    if (dir != T_DIR) {
        r->bad_dir++;
    }
    assert_true(n > 0);
    assert_true(r->ngaps < T_MAXGAPS);
    r->gap[r->ngaps] = n;
    r->gap_at[r->ngaps] = r->len;
    r->ngaps++;
    r->gap_total += n;
}


struct fx {
    struct rd_tcp_pool  *pool;
    struct rd_tcp_dir    d;
    struct rec           rec;
    struct rd_tcp_sink   sink;
    uint32_t             nchunks;           /* pool size in chunks */
    uint32_t             dir_segs;          /* per-direction cap */
};


static void
fx_init(struct fx *x, uint32_t pool_bytes, uint32_t dir_bytes,
    uint32_t dir_segs)
{
    unsigned  i;

    for (i = 0; i < T_STREAM; i++) {
        stream[i] = (uint8_t) (i * 7u + i / 251u + 3u);
    }
    memset(x, 0, sizeof(*x));
    x->pool = rd_tcp_pool_create(&talloc, pool_bytes, dir_bytes, dir_segs);
    assert_non_null(x->pool);
    x->nchunks = pool_bytes / RD_TCP_CHUNK_DATA;
    x->dir_segs = RD_MIN(dir_segs, 255u);
    x->sink.data = rec_data;
    x->sink.gap = rec_gap;
    x->sink.ctx = &x->rec;
}


/*
 * Check that the pool holds exactly n free chunks: a scratch direction
 * holds n one-chunk segments without a refusal and the next is refused.
 * The scratch direction is released afterwards.
 */
static void
assert_pool_free(struct rd_tcp_pool *pool, uint32_t n)
{
    struct rd_tcp_dir  d;
    struct rd_seg      s;
    uint64_t           r0;
    uint32_t           i;
    static uint8_t     junk[RD_TCP_CHUNK_DATA];

    memset(&d, 0, sizeof(d));
    memset(&s, 0, sizeof(s));
    s.flags = RD_TCP_SYN;
    s.seq = 0;
    rd_tcp_segment(pool, &d, &s, NULL, 0);
    r0 = rd_tcp_pool_refused(pool);
    s.flags = RD_TCP_ACK;
    s.payload.p = junk;
    s.payload.len = RD_TCP_CHUNK_DATA;
    s.payload_len = RD_TCP_CHUNK_DATA;
    for (i = 0; i <= n; i++) {
        s.seq = 1 + RD_TCP_CHUNK_DATA + i * 2 * RD_TCP_CHUNK_DATA;
        rd_tcp_segment(pool, &d, &s, NULL, 0);
        rd_tcp_validate_(pool, &d);
        if (i < n) {
            assert_int_equal(rd_tcp_pool_refused(pool), r0);
        } else {
            assert_int_equal(rd_tcp_pool_refused(pool), r0 + 1);
        }
    }
    rd_tcp_release(pool, &d);
    rd_tcp_validate_(pool, &d);
}


static void
fx_fini(struct fx *x)
{
    rd_tcp_release(x->pool, &x->d);
    rd_tcp_validate_(x->pool, &x->d);
    assert_int_equal(x->d.ooo_segs, 0);
    assert_int_equal(x->d.ooo_bytes, 0);
    assert_int_equal(x->rec.bad_dir, 0);
    /* the direction under test gave every chunk back (checkable when the
     * per-direction cap does not refuse first) */
    if (x->nchunks <= x->dir_segs) {
        assert_pool_free(x->pool, x->nchunks);
    }
    rd_tcp_pool_destroy(x->pool);
}


/* A segment of this direction. */
static void
mkseg(struct rd_seg *s, uint8_t flags, uint32_t seq, const uint8_t *p,
    uint32_t cap, uint32_t len)
{
    memset(s, 0, sizeof(*s));
    s->ts = T_TS;
    s->af = 4;
    s->ttl = 64;
    s->src[0] = 10;
    s->src[3] = 1;
    s->dst[0] = 10;
    s->dst[3] = 2;
    s->sport = 40000;
    s->dport = 80;
    s->seq = seq;
    s->flags = flags;
    s->win = 1000;
    s->payload.p = p;
    s->payload.len = cap;
    s->payload_len = len;
}


/* Send the SYN: the stream's byte 0 is sequence number isn + 1. */
static void
tsyn(struct fx *x, uint32_t isn)
{
    struct rd_seg  s;

    mkseg(&s, RD_TCP_SYN, isn, NULL, 0, 0);
    x->d.syn = 1;
    x->d.isn = isn;
    rd_tcp_segment(x->pool, &x->d, &s, &x->sink, T_DIR);
    rd_tcp_validate_(x->pool, &x->d);
    assert_int_equal(x->d.next_seq, isn + 1);
}


/* Send stream bytes [off, off+len) with extra flags, whole. */
static void
tdata(struct fx *x, uint32_t isn, uint32_t off, uint32_t len, uint8_t flags)
{
    struct rd_seg  s;

    mkseg(&s, (uint8_t) (RD_TCP_ACK | flags), isn + 1 + off, stream + off,
          len, len);
    rd_tcp_segment(x->pool, &x->d, &s, &x->sink, T_DIR);
    rd_tcp_validate_(x->pool, &x->d);
}


static void
tack(struct fx *x, uint32_t ack)
{
    rd_tcp_acked(x->pool, &x->d, ack, &x->sink, T_DIR, T_TS);
    rd_tcp_validate_(x->pool, &x->d);
}


/* What was delivered is stream[from, from + len). */
static void
assert_delivered(const struct fx *x, size_t at, uint32_t from, uint32_t len)
{
    assert_true(x->rec.len >= at + len);
    assert_memory_equal(x->rec.buf + at, stream + from, len);
}


/* ---- tests -------------------------------------------------------------- */

/*
 * A stream whose sequence numbers wrap from 2^32-1 to 0 in the middle of a
 * segment, with an out-of-order segment beyond the wrap, is delivered
 * whole, in order, without a gap; the ACK and FIN after the wrap account
 * normally.
 */
static void
test_tcp_seq_wrap_mid_stream(void **state)
{
    struct fx  x;
    uint32_t   isn = 0xfffffff0u;

    (void) state;
    fx_init(&x, T_BIG, T_BIG, 16);
    tsyn(&x, isn);
    tdata(&x, isn, 0, 10, 0);               /* 0xfffffff1 .. 0xfffffffa */
    tdata(&x, isn, 20, 10, 0);              /* 0x00000005: early */
    assert_int_equal(x.d.ooo, 1);
    assert_int_equal(x.d.ooo_segs, 1);
    tdata(&x, isn, 10, 10, 0);              /* crosses 2^32 */
    assert_int_equal(x.d.ooo_segs, 0);
    assert_int_equal(x.rec.len, 30);
    assert_delivered(&x, 0, 0, 30);
    assert_int_equal(x.d.next_seq, isn + 1 + 30);
    assert_int_equal(x.d.next_seq, 0x0000000fu);
    assert_int_equal(x.d.snd_max, 0x0000000fu);
    tdata(&x, isn, 30, 5, RD_TCP_FIN);
    assert_int_equal(x.d.fin_seq, 0x00000014u);
    assert_int_equal(x.d.snd_max, 0x00000015u);
    tack(&x, 0x00000015u);
    assert_int_equal(x.rec.ngaps, 0);
    assert_int_equal(x.d.bytes, 35);
    assert_int_equal(x.d.retrans, 0);
    assert_int_equal(x.d.gap_bytes, 0);
    fx_fini(&x);
}


/*
 * Every one of the 24 arrival orders of 4 segments (two of them spanning
 * several pool chunks) delivers the same bytes in order, with no gap and
 * no retransmission, counts as early exactly the segments that arrived
 * before one preceding them, and returns the pool full.
 */
static void
test_tcp_reorder_every_permutation(void **state)
{
    static const uint32_t  len[4] = { 3, 1500, 7, 2100 };
    uint32_t               off[4], total, k, i, j, idx, early, ooo;
    unsigned               perm[4], n, used;
    bool                   arrived[4];
    struct fx              x;

    (void) state;
    total = 0;
    for (i = 0; i < 4; i++) {
        off[i] = total;
        total += len[i];
    }
    n = 0;
    for (k = 0; k < 256; k++) {
        /* k as four base-4 digits; keep the permutations */
        used = 0;
        for (i = 0; i < 4; i++) {
            perm[i] = (k >> (2 * i)) & 3;
            used |= 1u << perm[i];
        }
        if (used != 0xf) {
            continue;
        }
        n++;
        fx_init(&x, 16 * RD_TCP_CHUNK_DATA, T_BIG, 16);
        tsyn(&x, T_ISN);
        memset(arrived, 0, sizeof(arrived));
        ooo = 0;
        for (i = 0; i < 4; i++) {
            idx = perm[i];
            early = 0;
            for (j = 0; j < idx; j++) {
                early |= !arrived[j];
            }
            ooo += early;
            arrived[idx] = true;
            tdata(&x, T_ISN, off[idx], len[idx], 0);
        }
        assert_int_equal(x.rec.len, total);
        assert_delivered(&x, 0, 0, total);
        assert_int_equal(x.rec.ngaps, 0);
        assert_int_equal(x.d.bytes, total);
        assert_int_equal(x.d.retrans, 0);
        assert_int_equal(x.d.overlaps, 0);
        assert_int_equal(x.d.ooo, ooo);
        assert_int_equal(x.d.next_seq, T_ISN + 1 + total);
        fx_fini(&x);
    }
    assert_int_equal(n, 24);
}


/*
 * A segment sent twice is counted as a retransmission and delivered once,
 * whether the copy comes after delivery or while the first copy waits in
 * the out-of-order pool.
 */
static void
test_tcp_retransmission_counted_not_redelivered(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, T_BIG, T_BIG, 16);
    tsyn(&x, T_ISN);
    tdata(&x, T_ISN, 0, 10, 0);
    tdata(&x, T_ISN, 0, 10, 0);
    assert_int_equal(x.d.retrans, 1);
    assert_int_equal(x.rec.len, 10);
    /* early segment, then its copy while held */
    tdata(&x, T_ISN, 20, 10, 0);
    tdata(&x, T_ISN, 20, 10, 0);
    assert_int_equal(x.d.retrans, 2);
    assert_int_equal(x.d.ooo_segs, 1);
    assert_int_equal(x.rec.len, 10);
    tdata(&x, T_ISN, 10, 10, 0);
    assert_int_equal(x.rec.len, 30);
    assert_delivered(&x, 0, 0, 30);
    /* a copy of delivered data again, and of the first byte only */
    tdata(&x, T_ISN, 20, 10, 0);
    tdata(&x, T_ISN, 0, 1, 0);
    assert_int_equal(x.d.retrans, 4);
    assert_int_equal(x.d.bytes, 30);
    assert_int_equal(x.rec.len, 30);
    assert_int_equal(x.rec.ngaps, 0);
    assert_int_equal(x.d.overlaps, 0);
    fx_fini(&x);
}


/*
 * A segment partly old, partly new delivers only its new bytes and counts
 * an overlap; two held segments that overlap each other are delivered
 * without repeating the shared bytes.
 */
static void
test_tcp_partial_overlap(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, T_BIG, T_BIG, 16);
    tsyn(&x, T_ISN);
    tdata(&x, T_ISN, 0, 10, 0);
    tdata(&x, T_ISN, 5, 15, 0);             /* 5..10 old, 10..20 new */
    assert_int_equal(x.d.overlaps, 1);
    assert_int_equal(x.d.retrans, 0);
    assert_int_equal(x.rec.len, 20);
    assert_delivered(&x, 0, 0, 20);
    /* held [30,40) and [35,50), then [20,32) fills the hole */
    tdata(&x, T_ISN, 30, 10, 0);
    tdata(&x, T_ISN, 35, 15, 0);
    assert_int_equal(x.d.ooo_segs, 2);
    tdata(&x, T_ISN, 20, 12, 0);
    assert_int_equal(x.d.ooo_segs, 0);
    assert_int_equal(x.rec.len, 50);
    assert_delivered(&x, 0, 0, 50);
    assert_int_equal(x.d.bytes, 50);
    assert_int_equal(x.rec.ngaps, 0);
    fx_fini(&x);
}


/*
 * With no pool at all an early segment is refused: the hole before it is
 * reported as a gap of exactly its size at its place in the stream, the
 * segment and the later bytes are still delivered, the refusal is
 * counted, and the late arrival of the missed bytes is not delivered out
 * of order.
 */
static void
test_tcp_refused_segment_gap_then_delivery(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, 0, T_BIG, 16);
    tsyn(&x, T_ISN);
    tdata(&x, T_ISN, 0, 10, 0);
    tdata(&x, T_ISN, 20, 10, 0);
    assert_int_equal(rd_tcp_pool_refused(x.pool), 1);
    assert_int_equal(x.rec.ngaps, 1);
    assert_int_equal(x.rec.gap[0], 10);
    assert_int_equal(x.rec.gap_at[0], 10);
    assert_int_equal(x.d.gaps, 1);
    assert_int_equal(x.d.gap_bytes, 10);
    tdata(&x, T_ISN, 30, 10, 0);
    assert_int_equal(x.rec.len, 30);
    assert_delivered(&x, 0, 0, 10);
    assert_delivered(&x, 10, 20, 20);
    /* the hole's bytes arrive late: never delivered after later bytes */
    tdata(&x, T_ISN, 10, 10, 0);
    assert_int_equal(x.rec.len, 30);
    assert_int_equal(x.d.bytes, 30);
    assert_int_equal(x.d.next_seq, T_ISN + 1 + 40);
    fx_fini(&x);
}


/*
 * A one-chunk pool holds one early segment; a second early segment is
 * refused.  The bytes already held must still be delivered: the gap is
 * only the hole the capture really missed ([10,20)), then [20,30) from
 * the pool, then the refused [30,40).
 */
static void
test_tcp_refused_segment_keeps_held_bytes(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, RD_TCP_CHUNK_DATA, T_BIG, 16);
    tsyn(&x, T_ISN);
    tdata(&x, T_ISN, 0, 10, 0);
    tdata(&x, T_ISN, 20, 10, 0);            /* held */
    assert_int_equal(x.d.ooo_segs, 1);
    tdata(&x, T_ISN, 30, 10, 0);            /* pool full: refused */
    assert_int_equal(rd_tcp_pool_refused(x.pool), 1);
    assert_int_equal(x.d.ooo_segs, 0);
    assert_int_equal(x.rec.ngaps, 1);
    assert_int_equal(x.rec.gap[0], 10);
    assert_int_equal(x.rec.gap_at[0], 10);
    assert_int_equal(x.d.gap_bytes, 10);
    assert_int_equal(x.rec.len, 30);
    assert_delivered(&x, 0, 0, 10);
    assert_delivered(&x, 10, 20, 20);
    assert_int_equal(x.d.bytes, 30);
    fx_fini(&x);
}


/*
 * The per-direction segment cap refuses like a full pool: with a cap of
 * one held segment the second early one is refused and counted.
 */
static void
test_tcp_dir_segs_cap_refuses(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, T_BIG, T_BIG, 1);
    tsyn(&x, T_ISN);
    tdata(&x, T_ISN, 10, 10, 0);
    assert_int_equal(x.d.ooo_segs, 1);
    assert_int_equal(rd_tcp_pool_refused(x.pool), 0);
    tdata(&x, T_ISN, 30, 10, 0);
    assert_int_equal(rd_tcp_pool_refused(x.pool), 1);
    assert_int_equal(x.d.ooo, 2);
    assert_int_equal(x.d.next_seq, T_ISN + 1 + 40);
    fx_fini(&x);
}


/*
 * A copy of a segment already held is a retransmission even when the
 * per-direction cap is reached: it needs no room, so it is not refused
 * and does not turn the hole before it into a gap; the hole's bytes
 * arriving later are delivered normally.
 */
static void
test_tcp_held_copy_not_refused_at_cap(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, T_BIG, T_BIG, 1);
    tsyn(&x, T_ISN);
    tdata(&x, T_ISN, 0, 10, 0);
    tdata(&x, T_ISN, 20, 10, 0);            /* held: the cap is reached */
    tdata(&x, T_ISN, 20, 10, 0);            /* its copy */
    assert_int_equal(rd_tcp_pool_refused(x.pool), 0);
    assert_int_equal(x.d.retrans, 1);
    assert_int_equal(x.rec.ngaps, 0);
    assert_int_equal(x.d.ooo_segs, 1);
    tdata(&x, T_ISN, 10, 10, 0);
    assert_int_equal(x.rec.len, 30);
    assert_delivered(&x, 0, 0, 30);
    assert_int_equal(x.rec.ngaps, 0);
    assert_int_equal(x.d.gap_bytes, 0);
    fx_fini(&x);
}


/*
 * An ACK beyond everything the sender was seen to send proves the bytes
 * existed: a gap of exactly the missing bytes, after which the stream
 * goes on.  With a segment held in between, the gap is split around it
 * and the held bytes are delivered.
 */
static void
test_tcp_ack_beyond_seen_is_gap(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, T_BIG, T_BIG, 16);
    tsyn(&x, T_ISN);
    tdata(&x, T_ISN, 0, 10, 0);
    tack(&x, T_ISN + 1 + 10);               /* what was seen: no gap */
    assert_int_equal(x.rec.ngaps, 0);
    tack(&x, T_ISN + 1 + 30);
    assert_int_equal(x.rec.ngaps, 1);
    assert_int_equal(x.rec.gap[0], 20);
    assert_int_equal(x.rec.gap_at[0], 10);
    assert_int_equal(x.d.gap_bytes, 20);
    assert_int_equal(x.d.gaps, 1);
    assert_int_equal(x.d.next_seq, T_ISN + 1 + 30);
    tack(&x, T_ISN + 1 + 30);               /* same ACK again: nothing */
    tack(&x, T_ISN + 1 + 5);                /* older ACK: nothing */
    assert_int_equal(x.rec.ngaps, 1);
    tdata(&x, T_ISN, 30, 10, 0);
    assert_int_equal(x.rec.len, 20);
    assert_delivered(&x, 10, 30, 10);
    /* held [50,60), ACK up to 70: gaps [40,50) and [60,70) */
    tdata(&x, T_ISN, 50, 10, 0);
    tack(&x, T_ISN + 1 + 70);
    assert_int_equal(x.rec.ngaps, 3);
    assert_int_equal(x.rec.gap[1], 10);
    assert_int_equal(x.rec.gap_at[1], 20);
    assert_int_equal(x.rec.gap[2], 10);
    assert_int_equal(x.rec.gap_at[2], 30);
    assert_delivered(&x, 20, 50, 10);
    assert_int_equal(x.d.gap_bytes, 40);
    assert_int_equal(x.d.ooo_segs, 0);
    assert_int_equal(x.d.snd_max, T_ISN + 1 + 70);
    fx_fini(&x);
}


/*
 * A payload cut by the snapshot length (payload.len < payload_len)
 * delivers the captured part and reports the rest to the sink as a gap,
 * counted as cut bytes, not as a capture gap; the stream continues after
 * the whole wire length.  An early cut segment is not held.
 */
static void
test_tcp_snaplen_cut_payload(void **state)
{
    struct fx      x;
    struct rd_seg  s;

    (void) state;
    fx_init(&x, T_BIG, T_BIG, 16);
    tsyn(&x, T_ISN);
    mkseg(&s, RD_TCP_ACK, T_ISN + 1, stream, 40, 100);
    rd_tcp_segment(x.pool, &x.d, &s, &x.sink, T_DIR);
    rd_tcp_validate_(x.pool, &x.d);
    assert_int_equal(x.rec.len, 40);
    assert_delivered(&x, 0, 0, 40);
    assert_int_equal(x.rec.ngaps, 1);
    assert_int_equal(x.rec.gap[0], 60);
    assert_int_equal(x.rec.gap_at[0], 40);
    assert_int_equal(x.d.cut_bytes, 60);
    assert_int_equal(x.d.gap_bytes, 0);
    assert_int_equal(x.d.gaps, 0);
    assert_int_equal(x.d.bytes, 40);
    assert_int_equal(x.d.next_seq, T_ISN + 1 + 100);
    tdata(&x, T_ISN, 100, 10, 0);
    assert_int_equal(x.rec.len, 50);
    assert_delivered(&x, 40, 100, 10);
    /* early and cut: [120,140) with 5 captured -> gap 10, 5 bytes, cut 15 */
    mkseg(&s, RD_TCP_ACK, T_ISN + 1 + 120, stream + 120, 5, 20);
    rd_tcp_segment(x.pool, &x.d, &s, &x.sink, T_DIR);
    rd_tcp_validate_(x.pool, &x.d);
    assert_int_equal(x.d.ooo_segs, 0);
    assert_int_equal(x.rec.ngaps, 3);
    assert_int_equal(x.rec.gap[1], 10);
    assert_int_equal(x.rec.gap_at[1], 50);
    assert_int_equal(x.rec.gap[2], 15);
    assert_int_equal(x.rec.gap_at[2], 55);
    assert_delivered(&x, 50, 120, 5);
    assert_int_equal(x.d.gap_bytes, 10);
    assert_int_equal(x.d.cut_bytes, 75);
    assert_int_equal(x.d.next_seq, T_ISN + 1 + 140);
    fx_fini(&x);
}


/*
 * The FIN takes one sequence number after the data: fin_seq is where it
 * sits, snd_max is one beyond, a FIN retransmission changes neither, and
 * an ACK of the FIN (or beyond it) is not a capture gap.
 */
static void
test_tcp_fin_sequence_accounting(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, T_BIG, T_BIG, 16);
    tsyn(&x, T_ISN);
    assert_int_equal(x.d.snd_max, T_ISN + 1);
    tdata(&x, T_ISN, 0, 10, RD_TCP_FIN);
    assert_true(x.d.fin);
    assert_int_equal(x.d.fin_seq, T_ISN + 1 + 10);
    assert_int_equal(x.d.snd_max, T_ISN + 1 + 11);
    assert_int_equal(x.d.next_seq, T_ISN + 1 + 10);
    tdata(&x, T_ISN, 10, 0, RD_TCP_FIN);    /* bare FIN retransmitted */
    assert_int_equal(x.d.fin_seq, T_ISN + 1 + 10);
    assert_int_equal(x.d.snd_max, T_ISN + 1 + 11);
    assert_int_equal(x.d.retrans, 0);
    tack(&x, T_ISN + 1 + 11);
    tack(&x, T_ISN + 1 + 15);
    assert_int_equal(x.rec.ngaps, 0);
    assert_int_equal(x.d.gap_bytes, 0);
    assert_int_equal(x.d.pkts, 3);
    fx_fini(&x);

    /* a bare FIN beyond the data seen: its ACK is a gap of the hole only */
    fx_init(&x, T_BIG, T_BIG, 16);
    tsyn(&x, T_ISN);
    tdata(&x, T_ISN, 0, 10, 0);
    tdata(&x, T_ISN, 25, 0, RD_TCP_FIN);
    assert_int_equal(x.d.fin_seq, T_ISN + 1 + 25);
    assert_int_equal(x.d.snd_max, T_ISN + 1 + 26);
    tack(&x, T_ISN + 1 + 26);
    assert_int_equal(x.rec.ngaps, 1);
    assert_int_equal(x.rec.gap[0], 15);
    assert_int_equal(x.d.next_seq, T_ISN + 1 + 25);
    fx_fini(&x);
}


/*
 * rd_tcp_flush delivers what is held behind gaps and returns the pool
 * full; rd_tcp_release drops held bytes without delivering them and also
 * returns the pool full.
 */
static void
test_tcp_flush_and_release_return_pool(void **state)
{
    struct fx  x;

    (void) state;
    fx_init(&x, 8 * RD_TCP_CHUNK_DATA, T_BIG, 16);
    tsyn(&x, T_ISN);
    tdata(&x, T_ISN, 0, 10, 0);
    tdata(&x, T_ISN, 20, 1500, 0);          /* two chunks */
    tdata(&x, T_ISN, 2000, 10, 0);
    assert_int_equal(x.d.ooo_segs, 2);
    assert_int_equal(x.d.ooo_bytes, 1510);
    assert_pool_free(x.pool, 5);
    rd_tcp_flush(x.pool, &x.d, &x.sink, T_DIR, T_TS);
    rd_tcp_validate_(x.pool, &x.d);
    assert_int_equal(x.d.ooo_segs, 0);
    assert_int_equal(x.rec.ngaps, 2);
    assert_int_equal(x.rec.gap[0], 10);
    assert_int_equal(x.rec.gap_at[0], 10);
    assert_int_equal(x.rec.gap[1], 2000 - 1520);
    assert_int_equal(x.rec.gap_at[1], 1510);
    assert_int_equal(x.rec.len, 1520);
    assert_delivered(&x, 10, 20, 1500);
    assert_delivered(&x, 1510, 2000, 10);
    fx_fini(&x);

    fx_init(&x, 8 * RD_TCP_CHUNK_DATA, T_BIG, 16);
    tsyn(&x, T_ISN);
    tdata(&x, T_ISN, 20, 3000, 0);          /* three chunks */
    tdata(&x, T_ISN, 4000, 10, 0);
    assert_pool_free(x.pool, 4);
    rd_tcp_release(x.pool, &x.d);
    rd_tcp_validate_(x.pool, &x.d);
    assert_int_equal(x.rec.len, 0);
    assert_int_equal(x.rec.ngaps, 0);
    fx_fini(&x);
}


/*
 * Bytes before the first segment seen (capture started mid-stream) are
 * not a gap; the first segment sets the stream's start.
 */
static void
test_tcp_mid_stream_start(void **state)
{
    struct fx      x;
    struct rd_seg  s;

    (void) state;
    fx_init(&x, T_BIG, T_BIG, 16);
    mkseg(&s, RD_TCP_ACK, 0x80000000u, stream, 10, 10);
    rd_tcp_segment(x.pool, &x.d, &s, &x.sink, T_DIR);
    rd_tcp_validate_(x.pool, &x.d);
    assert_true(x.d.init);
    assert_int_equal(x.d.next_seq, 0x8000000au);
    assert_int_equal(x.rec.len, 10);
    tack(&x, 0x80000000u);
    assert_int_equal(x.rec.ngaps, 0);
    fx_fini(&x);
}


/* ---- zero windows ------------------------------------------------------- */

#define T_MS        1000LL                  /* usec */


/* What the caller does per packet: the bookkeeping only on a change. */
static void
zw_adv(struct rd_tcp_dir *d, struct rd_tcp_zw *z, uint16_t raw,
    rd_usec_t ts)
{
    if (rd_tcp_zw_changes(d, raw)) {
        rd_tcp_zw_window(d, z, raw, ts);
    }
}


/*
 * Episodes open at the first zero and close at the first non-zero of the
 * same side; repeated zeros (answers to probes) continue one episode;
 * total and longest count closed episodes, and the open one up to now.
 * Pins the per-packet gate: only a transition calls the bookkeeping.
 */
static void
test_tcp_zero_window_episodes(void **state)
{
    struct rd_tcp_dir  d;
    struct rd_tcp_zw   z;

    (void) state;
    memset(&d, 0, sizeof(d));
    memset(&z, 0, sizeof(z));
    assert_false(rd_tcp_zw_changes(&d, 512));
    assert_true(rd_tcp_zw_changes(&d, 0));

    zw_adv(&d, &z, 0, T_TS);
    assert_true(d.zw);
    assert_false(rd_tcp_zw_changes(&d, 0));
    zw_adv(&d, &z, 0, T_TS + 500 * T_MS);       /* probe answered: same */
    assert_int_equal(z.episodes, 1);
    assert_int_equal(rd_tcp_zw_total_ms(&d, &z, T_TS + 1500 * T_MS), 1500);
    zw_adv(&d, &z, 127, T_TS + 2000 * T_MS);
    assert_false(d.zw);
    assert_int_equal(z.last_ms, 2000);
    assert_int_equal(z.total_ms, 2000);
    assert_int_equal(z.longest_ms, 2000);
    assert_true(z.mark == T_TS + 2000 * T_MS);

    zw_adv(&d, &z, 64, T_TS + 2100 * T_MS);     /* still open: nothing */
    zw_adv(&d, &z, 0, T_TS + 3000 * T_MS);
    zw_adv(&d, &z, 1, T_TS + 3500 * T_MS);
    assert_int_equal(z.episodes, 2);
    assert_int_equal(z.total_ms, 2500);
    assert_int_equal(z.longest_ms, 2000);
    assert_int_equal(z.last_ms, 500);

    /* an open episode counts up to now, for the total and the longest */
    zw_adv(&d, &z, 0, T_TS + 4000 * T_MS);
    assert_int_equal(rd_tcp_zw_total_ms(&d, &z, T_TS + 7000 * T_MS), 5500);
    assert_int_equal(rd_tcp_zw_longest_ms(&d, &z, T_TS + 7000 * T_MS),
                     3000);
    assert_int_equal(rd_tcp_zw_longest_ms(&d, &z, T_TS + 4500 * T_MS),
                     2000);
    /* a clock that went back (merged captures) counts nothing */
    assert_int_equal(rd_tcp_zw_total_ms(&d, &z, T_TS), 2500);
    zw_adv(&d, &z, 9, T_TS + 3900 * T_MS);
    assert_int_equal(z.last_ms, 0);
    assert_int_equal(z.total_ms, 2500);
}


/*
 * The peer's first close, as the verdict reads it: an RST while the
 * window is shut is "at close" with the episode's length so far; a FIN
 * that came after the window opened says how soon; later closes change
 * nothing; a window never shut leaves the record empty.
 */
static void
test_tcp_zero_window_peer_close(void **state)
{
    struct rd_tcp_dir       d;
    struct rd_tcp_zw        z;
    struct rd_tcp_zw_close  out;

    (void) state;
    /* RST while shut */
    memset(&d, 0, sizeof(d));
    memset(&z, 0, sizeof(z));
    memset(&out, 0, sizeof(out));
    zw_adv(&d, &z, 0, T_TS);
    rd_tcp_zw_peer_closed(&d, &z, T_TS + 1754 * T_MS, &out);
    assert_true(out.seen);
    assert_true(out.at_close);
    assert_int_equal(out.stall_ms, 1754);
    assert_int_equal(out.after_ms, 0);
    /* the first close counts, not a later one */
    rd_tcp_zw_peer_closed(&d, &z, T_TS + 9000 * T_MS, &out);
    assert_int_equal(out.stall_ms, 1754);

    /* FIN right after the window opened: it waited there */
    memset(&d, 0, sizeof(d));
    memset(&z, 0, sizeof(z));
    memset(&out, 0, sizeof(out));
    zw_adv(&d, &z, 0, T_TS);
    zw_adv(&d, &z, 127, T_TS + 1932 * T_MS);
    rd_tcp_zw_peer_closed(&d, &z, T_TS + 1932 * T_MS + 25, &out);
    assert_true(out.seen);
    assert_false(out.at_close);
    assert_int_equal(out.stall_ms, 1932);
    assert_int_equal(out.after_ms, 0);

    /* FIN long after */
    memset(&out, 0, sizeof(out));
    rd_tcp_zw_peer_closed(&d, &z, T_TS + 5000 * T_MS, &out);
    assert_int_equal(out.stall_ms, 1932);
    assert_int_equal(out.after_ms, 3068);

    /* no episode before the close */
    memset(&d, 0, sizeof(d));
    memset(&z, 0, sizeof(z));
    memset(&out, 0, sizeof(out));
    rd_tcp_zw_peer_closed(&d, &z, T_TS, &out);
    assert_true(out.seen);
    assert_false(out.at_close);
    assert_int_equal(out.stall_ms, 0);
}


/* Probes: segments of zero or one byte, not SYN/FIN/RST; counts
 * saturate. */
static void
test_tcp_zero_window_probes(void **state)
{
    struct rd_tcp_zw  z;
    struct rd_seg     s;

    (void) state;
    memset(&z, 0, sizeof(z));
    mkseg(&s, RD_TCP_ACK, T_ISN, stream, 0, 0);     /* Linux: no data */
    rd_tcp_zw_probe(&z, &s);
    mkseg(&s, RD_TCP_ACK, T_ISN, stream, 1, 1);     /* one new byte */
    rd_tcp_zw_probe(&z, &s);
    mkseg(&s, RD_TCP_ACK, T_ISN, stream, 2, 2);     /* data: not a probe */
    rd_tcp_zw_probe(&z, &s);
    mkseg(&s, RD_TCP_ACK | RD_TCP_FIN, T_ISN, stream, 0, 0);
    rd_tcp_zw_probe(&z, &s);
    assert_int_equal(z.probes, 2);
    z.probes = UINT16_MAX;
    mkseg(&s, RD_TCP_ACK, T_ISN, stream, 0, 0);
    rd_tcp_zw_probe(&z, &s);
    assert_int_equal(z.probes, UINT16_MAX);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_seq_wrap_mid_stream),
        cmocka_unit_test(test_tcp_reorder_every_permutation),
        cmocka_unit_test(test_tcp_retransmission_counted_not_redelivered),
        cmocka_unit_test(test_tcp_partial_overlap),
        cmocka_unit_test(test_tcp_refused_segment_gap_then_delivery),
        cmocka_unit_test(test_tcp_refused_segment_keeps_held_bytes),
        cmocka_unit_test(test_tcp_dir_segs_cap_refuses),
        cmocka_unit_test(test_tcp_held_copy_not_refused_at_cap),
        cmocka_unit_test(test_tcp_ack_beyond_seen_is_gap),
        cmocka_unit_test(test_tcp_snaplen_cut_payload),
        cmocka_unit_test(test_tcp_fin_sequence_accounting),
        cmocka_unit_test(test_tcp_flush_and_release_return_pool),
        cmocka_unit_test(test_tcp_mid_stream_start),
        cmocka_unit_test(test_tcp_zero_window_episodes),
        cmocka_unit_test(test_tcp_zero_window_peer_close),
        cmocka_unit_test(test_tcp_zero_window_probes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
