/*
 * tcp: in-order delivery of one direction's bytes, out-of-order holding in
 * a bounded pool, retransmission and capture-gap accounting.
 */
#include <string.h>

#include "rstdiag/tcp.h"


/*
 * A pool chunk.  A held segment is a chain of chunks; its first chunk
 * carries seq, len and the link to the next held segment of the same
 * direction (kept sorted by seq).  Links are index + 1, 0 = none.
 */
struct chunk {
    uint32_t        next;           /* next chunk of this segment */
    uint32_t        next_seg;       /* next held segment (first chunk) */
    uint32_t        seq;            /* first chunk: segment's seq */
    uint32_t        len;            /* first chunk: segment's length */
    rd_usec_t       ts;             /* first chunk: capture time */
    uint8_t         data[RD_TCP_CHUNK_DATA];
};

struct rd_tcp_pool {
    const struct rd_alloc  *alloc;
    struct chunk           *chunks;
    uint32_t                nchunks;
    uint32_t                free_head;      /* index + 1, returned chunks */
    uint32_t                fresh;          /* chunks never handed out
                                             * start here */
    uint32_t                nfree;          /* returned + never used */
    uint32_t                dir_bytes;
    uint32_t                dir_segs;
    uint64_t                refused;
};


struct rd_tcp_pool *
rd_tcp_pool_create(const struct rd_alloc *a, uint32_t pool_bytes,
    uint32_t dir_bytes, uint32_t dir_segs)
{
    struct rd_tcp_pool  *pool;

    pool = a->calloc(a->ctx, 1, sizeof(*pool));
    if (pool == NULL) {
        return NULL;
    }
    pool->alloc = a;
    pool->nchunks = pool_bytes / RD_TCP_CHUNK_DATA;
    pool->dir_bytes = dir_bytes;
    pool->dir_segs = dir_segs > 255 ? 255 : dir_segs;
    if (pool->nchunks > 0) {
        pool->chunks = rd_big_calloc(a, pool->nchunks, sizeof(struct chunk));
        if (pool->chunks == NULL) {
            a->free(a->ctx, pool);
            return NULL;
        }
    }
    /* chunks are handed out from the never-used end first and linked
     * only when returned, and the array is zero pages (rd_big_calloc), so
     * the pool's pages are touched as segments are held, not at start-up
     * (resident memory follows use) */
    pool->free_head = 0;
    pool->fresh = 0;
    pool->nfree = pool->nchunks;
    return pool;
}


void
rd_tcp_pool_destroy(struct rd_tcp_pool *pool)
{
    if (pool == NULL) {
        return;
    }
    rd_big_free(pool->alloc, pool->chunks, pool->nchunks,
                sizeof(struct chunk));
    pool->alloc->free(pool->alloc->ctx, pool);
}


uint64_t
rd_tcp_pool_refused(const struct rd_tcp_pool *pool)
{
    return pool->refused;
}


static struct chunk *
chunk_at(const struct rd_tcp_pool *pool, uint32_t link)
{
    return &pool->chunks[link - 1];
}


static void
free_segment(struct rd_tcp_pool *pool, struct rd_tcp_dir *d, uint32_t link)
{
    struct chunk  *c;
    uint32_t       next;

    d->ooo_bytes -= chunk_at(pool, link)->len;
    d->ooo_segs--;
    while (link != 0) {
        c = chunk_at(pool, link);
        next = c->next;
        c->next = pool->free_head;
        pool->free_head = link;
        pool->nfree++;
        link = next;
    }
}


static void
emit_gap(struct rd_tcp_dir *d, uint64_t n, const struct rd_tcp_sink *sink,
    int dir, rd_usec_t ts)
{
    if (n == 0) {
        return;
    }
    d->gap_bytes += n;
    d->gaps++;
    if (sink != NULL && sink->gap != NULL) {
        sink->gap(sink->ctx, dir, n, ts);
    }
}


/* Bytes the snapshot length cut off: known to exist, so not a capture
 * gap in the statistics, but the stream consumer cannot see them either. */
static void
emit_cut(struct rd_tcp_dir *d, uint64_t n, const struct rd_tcp_sink *sink,
    int dir, rd_usec_t ts)
{
    d->cut_bytes += n;
    if (sink != NULL && sink->gap != NULL) {
        sink->gap(sink->ctx, dir, n, ts);
    }
}


/*
 * Deliver bytes [seq, seq+len) of which the first `cap` were captured,
 * from position next_seq on: the caller guarantees seq <= next_seq.
 */
static void
deliver(struct rd_tcp_dir *d, uint32_t seq, const uint8_t *p, uint32_t len,
    uint32_t cap, const struct rd_tcp_sink *sink, int dir, rd_usec_t ts)
{
    uint32_t  skip, end;

    end = seq + len;
    if (RD_SEQ_LEQ(end, d->next_seq)) {
        return;
    }
    skip = (uint32_t) RD_SEQ_DIFF(d->next_seq, seq);
    len -= skip;
    if (cap > skip) {
        cap -= skip;
        p += skip;
    } else {
        cap = 0;
    }
    if (cap > len) {
        cap = len;
    }
    if (cap > 0) {
        d->bytes += cap;
        if (sink != NULL && sink->data != NULL) {
            sink->data(sink->ctx, dir, p, cap, ts);
        }
    }
    if (len > cap) {
        /* cut by the snapshot length: existed on the wire, not captured */
        emit_cut(d, len - cap, sink, dir, ts);
    }
    d->next_seq = end;
}


/* Deliver every held segment that next_seq has reached. */
static void
drain(struct rd_tcp_pool *pool, struct rd_tcp_dir *d,
    const struct rd_tcp_sink *sink, int dir)
{
    struct chunk  *first, *c;
    uint32_t       link, seq, n, end;

    while (d->ooo_head != 0) {
        link = d->ooo_head;
        first = chunk_at(pool, link);
        if (RD_SEQ_GT(first->seq, d->next_seq)) {
            return;
        }
        d->ooo_head = first->next_seg;
        end = first->seq + first->len;
        seq = first->seq;
        for (c = first; c != NULL && RD_SEQ_LT(d->next_seq, end);
             c = c->next ? chunk_at(pool, c->next) : NULL)
        {
            n = RD_MIN((uint32_t) RD_TCP_CHUNK_DATA,
                       (uint32_t) RD_SEQ_DIFF(end, seq));
            deliver(d, seq, c->data, n, n, sink, dir, first->ts);
            seq += n;
        }
        free_segment(pool, d, link);
    }
}


/* Hold an early segment; false when a cap refuses it. */
static bool
hold(struct rd_tcp_pool *pool, struct rd_tcp_dir *d, uint32_t seq,
    const uint8_t *p, uint32_t len, rd_usec_t ts)
{
    uint32_t       need, i, link, first_link, *pp;
    struct chunk  *c, *prev;

    /* a segment already held at the same seq with at least this length is
     * a retransmission of held data: keep the first copy */
    for (link = d->ooo_head; link != 0; link = c->next_seg) {
        c = chunk_at(pool, link);
        if (c->seq == seq && c->len >= len) {
            d->retrans++;
            return true;
        }
    }

    need = (len + RD_TCP_CHUNK_DATA - 1) / RD_TCP_CHUNK_DATA;
    if (len == 0 || need > pool->nfree || d->ooo_segs >= pool->dir_segs
        || d->ooo_bytes + len > pool->dir_bytes)
    {
        pool->refused++;
        return false;
    }

    first_link = 0;
    prev = NULL;
    for (i = 0; i < need; i++) {
        if (pool->free_head != 0) {
            link = pool->free_head;
            c = chunk_at(pool, link);
            pool->free_head = c->next;
        } else {
            link = ++pool->fresh;
            c = chunk_at(pool, link);
        }
        pool->nfree--;
        c->next = 0;
        memcpy(c->data, p + (size_t) i * RD_TCP_CHUNK_DATA,
               RD_MIN(RD_TCP_CHUNK_DATA, len - i * RD_TCP_CHUNK_DATA));
        if (prev == NULL) {
            first_link = link;
        } else {
            prev->next = link;
        }
        prev = c;
    }
    c = chunk_at(pool, first_link);
    c->seq = seq;
    c->len = len;
    c->ts = ts;

    /* insert sorted by seq */
    pp = &d->ooo_head;
    while (*pp != 0 && RD_SEQ_LEQ(chunk_at(pool, *pp)->seq, seq)) {
        pp = &chunk_at(pool, *pp)->next_seg;
    }
    c->next_seg = *pp;
    *pp = first_link;
    d->ooo_segs++;
    d->ooo_bytes += len;
    return true;
}


/*
 * Move next_seq up to seq: held segments below seq are delivered, only
 * the holes between them are reported as gaps.
 */
static void
skip_to(struct rd_tcp_pool *pool, struct rd_tcp_dir *d, uint32_t seq,
    const struct rd_tcp_sink *sink, int dir, rd_usec_t ts)
{
    struct chunk  *c;

    while (RD_SEQ_GT(seq, d->next_seq)) {
        if (d->ooo_head != 0) {
            c = chunk_at(pool, d->ooo_head);
            if (RD_SEQ_LT(c->seq, seq)) {
                emit_gap(d, (uint32_t) RD_SEQ_DIFF(c->seq, d->next_seq),
                         sink, dir, ts);
                d->next_seq = c->seq;
                drain(pool, d, sink, dir);
                continue;
            }
        }
        emit_gap(d, (uint32_t) RD_SEQ_DIFF(seq, d->next_seq), sink, dir, ts);
        d->next_seq = seq;
        drain(pool, d, sink, dir);
    }
}


void
rd_tcp_segment(struct rd_tcp_pool *pool, struct rd_tcp_dir *d,
    const struct rd_seg *seg, const struct rd_tcp_sink *sink, int dir)
{
    uint32_t  seq, len, cap, end;

    d->pkts++;
    seq = seg->seq;
    if (seg->flags & RD_TCP_SYN) {
        seq++;                      /* the SYN occupies one number */
    }
    len = seg->payload_len;
    cap = (uint32_t) seg->payload.len;

    if (!d->init) {
        d->init = 1;
        d->next_seq = seq;
        d->snd_max = seq;
    }

    end = seq + len;
    if (seg->flags & RD_TCP_FIN) {
        if (!d->fin) {
            d->fin = 1;
            d->fin_seq = end;
        }
        end++;
    }
    if (RD_SEQ_GT(end, d->snd_max)) {
        d->snd_max = end;
    }
    if (len == 0) {
        return;
    }

    if (RD_SEQ_LEQ(seq + len, d->next_seq)) {
        d->retrans++;
        return;
    }
    if (RD_SEQ_LEQ(seq, d->next_seq)) {
        if (RD_SEQ_LT(seq, d->next_seq)) {
            d->overlaps++;
        }
        deliver(d, seq, seg->payload.p, len, cap, sink, dir, seg->ts);
        drain(pool, d, sink, dir);
        return;
    }

    /* early: hold it if it was captured whole and a cap allows */
    d->ooo++;
    if (cap == len && hold(pool, d, seq, seg->payload.p, len, seg->ts)) {
        return;
    }
    /* a segment more than 1 GiB ahead is not plausible data (a bogus or
     * forged sequence number): drop it rather than invent a huge gap */
    if ((uint32_t) RD_SEQ_DIFF(seq, d->next_seq) > (1u << 30)) {
        return;
    }
    /* cannot hold it: the hole before it becomes a gap */
    skip_to(pool, d, seq, sink, dir, seg->ts);
    deliver(d, seq, seg->payload.p, len, cap, sink, dir, seg->ts);
    drain(pool, d, sink, dir);
}


void
rd_tcp_acked(struct rd_tcp_pool *pool, struct rd_tcp_dir *d, uint32_t ack,
    const struct rd_tcp_sink *sink, int dir, rd_usec_t ts)
{
    uint32_t  limit;

    if (!d->init) {
        return;
    }
    limit = ack;
    /* the FIN's sequence number carries no byte */
    if (d->fin && RD_SEQ_GT(limit, d->fin_seq)) {
        limit = d->fin_seq;
    }
    /* an ACK beyond anything the sender was seen to send still proves the
     * bytes existed (the capture missed them), but bound it to the window
     * of plausibility: 1 GiB */
    if (!RD_SEQ_GT(limit, d->next_seq)
        || (uint32_t) RD_SEQ_DIFF(limit, d->next_seq) > (1u << 30))
    {
        return;
    }
    skip_to(pool, d, limit, sink, dir, ts);
    if (RD_SEQ_GT(d->next_seq, d->snd_max)) {
        d->snd_max = d->next_seq;
    }
}


void
rd_tcp_flush(struct rd_tcp_pool *pool, struct rd_tcp_dir *d,
    const struct rd_tcp_sink *sink, int dir, rd_usec_t ts)
{
    struct chunk  *c;

    while (d->ooo_head != 0) {
        c = chunk_at(pool, d->ooo_head);
        if (RD_SEQ_GT(c->seq, d->next_seq)) {
            emit_gap(d, (uint32_t) RD_SEQ_DIFF(c->seq, d->next_seq), sink,
                     dir, ts);
            d->next_seq = c->seq;
        }
        drain(pool, d, sink, dir);
    }
}


void
rd_tcp_release(struct rd_tcp_pool *pool, struct rd_tcp_dir *d)
{
    uint32_t  link;

    while (d->ooo_head != 0) {
        link = d->ooo_head;
        d->ooo_head = chunk_at(pool, link)->next_seg;
        free_segment(pool, d, link);
    }
}


void
rd_tcp_validate_(const struct rd_tcp_pool *pool, const struct rd_tcp_dir *d)
{
    uint32_t       link, segs, bytes, n, prev_seq;
    struct chunk  *c;
    bool           first;

    segs = 0;
    bytes = 0;
    first = true;
    prev_seq = 0;
    for (link = d->ooo_head; link != 0; link = c->next_seg) {
        rd_require(link <= pool->nchunks);
        c = chunk_at(pool, link);
        rd_require(first || RD_SEQ_LEQ(prev_seq, c->seq));
        rd_require(RD_SEQ_GT(c->seq, d->next_seq));
        prev_seq = c->seq;
        first = false;
        segs++;
        bytes += c->len;
        n = 0;
        for (uint32_t l = link; l != 0; l = chunk_at(pool, l)->next) {
            n++;
            rd_require(n <= pool->nchunks);
        }
        rd_require(n == (c->len + RD_TCP_CHUNK_DATA - 1) / RD_TCP_CHUNK_DATA);
    }
    rd_require(segs == d->ooo_segs);
    rd_require(bytes == d->ooo_bytes);
    rd_require(pool->nfree <= pool->nchunks);
    rd_require(pool->fresh <= pool->nchunks);
}


/* ---- zero windows (RFC 9293 §3.8.6.1) ----------------------------------- */


/* Milliseconds from a to b, 0 when the capture's clock went back. */
static uint32_t
ms_between(rd_usec_t a, rd_usec_t b)
{
    rd_usec_t  d;

    d = b > a ? (b - a) / 1000 : 0;
    return d > (rd_usec_t) UINT32_MAX ? UINT32_MAX : (uint32_t) d;
}


void
rd_tcp_zw_window(struct rd_tcp_dir *d, struct rd_tcp_zw *z, uint32_t win,
    rd_usec_t ts)
{
    uint32_t  ms;

    if (win == 0) {
        /* a repeated zero (answers to probes) continues the episode */
        if (!d->zw) {
            d->zw = 1;
            z->mark = ts;
            if (z->episodes < UINT16_MAX) {
                z->episodes++;
            }
        }
        return;
    }
    if (!d->zw) {
        return;
    }
    d->zw = 0;
    ms = ms_between(z->mark, ts);
    z->mark = ts;
    z->last_ms = ms;
    z->total_ms = ms > UINT32_MAX - z->total_ms ? UINT32_MAX
                                                : z->total_ms + ms;
    if (ms > z->longest_ms) {
        z->longest_ms = ms;
    }
}


void
rd_tcp_zw_peer_closed(const struct rd_tcp_dir *d, const struct rd_tcp_zw *z,
    rd_usec_t ts, struct rd_tcp_zw_close *out)
{
    if (out->seen) {
        return;
    }
    out->seen = 1;
    if (d->zw) {
        /* the peer gave up while this side's window was shut */
        out->at_close = 1;
        out->stall_ms = ms_between(z->mark, ts);
        out->after_ms = 0;
    } else if (z->episodes > 0) {
        /* a FIN queued behind data leaves only when the window opens: how
         * soon after the episode it came tells whether it waited there */
        out->stall_ms = z->last_ms;
        out->after_ms = ms_between(z->mark, ts);
    }
}


void
rd_tcp_zw_probe(struct rd_tcp_zw *z, const struct rd_seg *seg)
{
    if (seg->payload_len <= 1
        && !(seg->flags & (RD_TCP_SYN | RD_TCP_FIN | RD_TCP_RST))
        && z->probes < UINT16_MAX)
    {
        z->probes++;
    }
}


uint32_t
rd_tcp_zw_total_ms(const struct rd_tcp_dir *d, const struct rd_tcp_zw *z,
    rd_usec_t now)
{
    uint32_t  open;

    open = d->zw ? ms_between(z->mark, now) : 0;
    return open > UINT32_MAX - z->total_ms ? UINT32_MAX : z->total_ms + open;
}


uint32_t
rd_tcp_zw_longest_ms(const struct rd_tcp_dir *d, const struct rd_tcp_zw *z,
    rd_usec_t now)
{
    uint32_t  open;

    open = d->zw ? ms_between(z->mark, now) : 0;
    return open > z->longest_ms ? open : z->longest_ms;
}
