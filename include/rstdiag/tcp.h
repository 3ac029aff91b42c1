/*
 * tcp: one direction of a TCP connection as a byte stream.
 *
 * Tracks the next expected sequence number, delivers payload in order to a
 * callback, holds out-of-order segments in a shared bounded pool, counts
 * retransmissions, and reports capture gaps: bytes the receiver
 * acknowledged (or the sender clearly sent) that the capture never held.
 * A gap is not a truncation: the bytes existed, we just did not see them.
 *
 * The pool is sized once at start-up; nothing is allocated per packet.
 */
#ifndef RD_TCP_H
#define RD_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "rstdiag/common.h"
#include "rstdiag/decode.h"

#define RD_TCP_CHUNK_DATA  1008u    /* payload bytes per pool chunk */

struct rd_tcp_pool;

/*
 * Where in-order bytes go.  data is valid only during the call.  gap()
 * reports n bytes that the capture missed at this point of the stream.
 */
struct rd_tcp_sink {
    void  (*data)(void *ctx, int dir, const uint8_t *p, size_t len,
                  rd_usec_t ts);
    void  (*gap)(void *ctx, int dir, uint64_t n, rd_usec_t ts);
    void   *ctx;
};

/* One direction, as sent by one endpoint.  Zero-fill before use. */
struct rd_tcp_dir {
    uint32_t        isn;            /* valid when syn */
    uint32_t        next_seq;       /* next in-order byte expected */
    uint32_t        snd_max;        /* highest seq+len(+FIN) seen */
    uint32_t        fin_seq;        /* sequence number of the FIN */
    uint32_t        max_ack;        /* highest ACK this side sent */
    uint32_t        win;            /* last window, scaled when known */
    uint64_t        bytes;          /* payload bytes delivered in order */
    uint64_t        gap_bytes;      /* bytes the capture missed */
    uint64_t        cut_bytes;      /* bytes cut off by the snapshot length */
    uint32_t        gaps;           /* number of gaps */
    uint32_t        retrans;        /* segments carrying only old data */
    uint32_t        overlaps;       /* segments partly old, partly new */
    uint32_t        ooo;            /* segments that arrived early */
    uint32_t        pkts;           /* packets sent */
    uint32_t        ooo_head;       /* pool index + 1 of the first held
                                     * segment, 0 when none */
    uint32_t        ooo_bytes;      /* bytes held in the pool */
    uint8_t         ooo_segs;       /* segments held in the pool */
    uint8_t         wscale;         /* window scale from the SYN */
    unsigned        init:1;         /* next_seq is known */
    unsigned        syn:1;          /* SYN seen from this side */
    unsigned        fin:1;          /* FIN seen from this side */
    unsigned        ack_seen:1;     /* max_ack is valid */
    unsigned        ws_ok:1;        /* both SYNs carried window scale */
    unsigned        zw:1;           /* this side's last window was zero:
                                     * an rd_tcp_zw episode is open */
};

/*
 * The zero windows one side advertised (RFC 9293 §3.8.6.1: a receiver
 * whose buffer is full offers window 0, and its peer probes until it
 * opens).  Rare, so not part of rd_tcp_dir: the caller keeps it apart
 * (its cold storage) and calls rd_tcp_zw_window() only when
 * rd_tcp_zw_changes() says so, which costs one compare per packet.
 * Durations are in milliseconds, counts saturate.  Zero-fill before use.
 */
struct rd_tcp_zw {
    rd_usec_t       mark;           /* while rd_tcp_dir.zw: when the open
                                     * episode began; else when the last
                                     * one ended (0: none yet) */
    uint32_t        last_ms;        /* the last closed episode's length */
    uint32_t        total_ms;       /* closed episodes, summed */
    uint32_t        longest_ms;     /* the longest closed episode */
    uint16_t        episodes;       /* episodes begun */
    uint16_t        probes;         /* the peer's segments of at most one
                                     * byte while the window was zero */
};

/* The window of one side when its peer first sent FIN or RST. */
struct rd_tcp_zw_close {
    uint32_t        stall_ms;       /* the episode the close met (up to the
                                     * close) or followed; 0: none */
    uint32_t        after_ms;       /* from that episode's end to the
                                     * close; 0 when it met it open */
    uint8_t         seen;           /* set by rd_tcp_zw_peer_closed() */
    uint8_t         at_close;       /* the window was zero at the close */
};

/* true when a segment with the raw window field raw_win opens or closes a
 * zero-window episode of d (the window scale does not matter for 0). */
static inline bool
rd_tcp_zw_changes(const struct rd_tcp_dir *d, uint16_t raw_win)
{
    return (raw_win == 0) != (d->zw != 0);
}

/* d's side advertised window win at ts: begin or end an episode in z. */
void rd_tcp_zw_window(struct rd_tcp_dir *d, struct rd_tcp_zw *z,
    uint32_t win, rd_usec_t ts);

/* The peer of d's side sent its first FIN or RST at ts: out says whether
 * d's window was zero then, or how soon after an episode the close came.
 * The first call fills out; later calls leave it. */
void rd_tcp_zw_peer_closed(const struct rd_tcp_dir *d,
    const struct rd_tcp_zw *z, rd_usec_t ts, struct rd_tcp_zw_close *out);

/* A segment seg sent to d's side while its window is zero (call only
 * then): counted in z as a zero-window probe when it carries at most one
 * byte (Linux probes with an old sequence number and no data, others
 * with one new byte) and no SYN, FIN or RST. */
void rd_tcp_zw_probe(struct rd_tcp_zw *z, const struct rd_seg *seg);

/* Zero-window time in ms up to now, the open episode included; and the
 * longest episode, the open one (up to now) included. */
uint32_t rd_tcp_zw_total_ms(const struct rd_tcp_dir *d,
    const struct rd_tcp_zw *z, rd_usec_t now);
uint32_t rd_tcp_zw_longest_ms(const struct rd_tcp_dir *d,
    const struct rd_tcp_zw *z, rd_usec_t now);

/*
 * Create the out-of-order pool: pool_bytes in total, at most dir_bytes and
 * dir_segs held per direction.  Returns NULL when memory is short.
 */
struct rd_tcp_pool *rd_tcp_pool_create(const struct rd_alloc *a,
    uint32_t pool_bytes, uint32_t dir_bytes, uint32_t dir_segs);
void rd_tcp_pool_destroy(struct rd_tcp_pool *pool);

/* Counters of the pool: segments refused because a cap was reached. */
uint64_t rd_tcp_pool_refused(const struct rd_tcp_pool *pool);

/*
 * Account one segment sent by this direction (d), after the caller has
 * handled SYN bookkeeping.  Payload is delivered in order through sink
 * with dir as its direction index.  Does not look at RST (the caller's
 * business) but does handle FIN's sequence space.
 */
void rd_tcp_segment(struct rd_tcp_pool *pool, struct rd_tcp_dir *d,
    const struct rd_seg *seg, const struct rd_tcp_sink *sink, int dir);

/*
 * The peer of d acknowledged up to ack: bytes below it that the capture
 * never held are reported as a gap, and held segments become deliverable.
 */
void rd_tcp_acked(struct rd_tcp_pool *pool, struct rd_tcp_dir *d,
    uint32_t ack, const struct rd_tcp_sink *sink, int dir, rd_usec_t ts);

/*
 * End of the stream: held segments are delivered behind a gap and returned
 * to the pool.  Call exactly once before the direction is forgotten.
 */
void rd_tcp_flush(struct rd_tcp_pool *pool, struct rd_tcp_dir *d,
    const struct rd_tcp_sink *sink, int dir, rd_usec_t ts);

/* Return held segments to the pool without delivering them. */
void rd_tcp_release(struct rd_tcp_pool *pool, struct rd_tcp_dir *d);

/* Debug: check the pool's and d's invariants; aborts on violation. */
void rd_tcp_validate_(const struct rd_tcp_pool *pool,
    const struct rd_tcp_dir *d);

#endif /* RD_TCP_H */
