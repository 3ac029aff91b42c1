/*
 * flow: the table of live connections, keyed by the 4-tuple.
 *
 * Fixed capacity (--max-flows) set at creation; slots come from a slab
 * with a free list, linked into hash buckets and an LRU list ordered by
 * the last packet time.  When the table is full the least recently active
 * connection is finished and its slot reused (an eviction, counted).  Time
 * is packet time: nothing here reads the clock.
 */
#ifndef RD_FLOW_H
#define RD_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "rstdiag/common.h"
#include "rstdiag/conn.h"
#include "rstdiag/decode.h"

/* words of a flow's lookup key */
#define RD_FLOW_KEY_WORDS  5

/*
 * The fields before conn are flow.c's; a hash chain walk reads hnext,
 * hash and key only, which share the first cache line.
 */
struct rd_flow {
    struct rd_flow *hnext;          /* hash chain, or free list */
    uint32_t        hash;
    bool            used;
    uint64_t        key[RD_FLOW_KEY_WORDS];    /* both endpoints, lower
                                                 * first (flow.c) */
    struct rd_flow *prev;           /* LRU: older */
    struct rd_flow *next;           /* LRU: newer */
    struct rd_conn  conn;
};

/*
 * Called when a connection is finished, before its slot is reused:
 * why is an enum rd_conn_end.  The callback may read the flow only.
 */
typedef void (*rd_flow_done_cb)(void *ctx, struct rd_flow *f, int why);

struct rd_flow_stats {
    uint64_t        created;        /* connections started */
    uint64_t        evicted;        /* finished because the table was full */
    uint64_t        expired;        /* finished by idle timeout or linger */
    uint64_t        reused;         /* finished by a new SYN on the tuple */
    uint64_t        closed;         /* finished at once after a clean close */
    uint32_t        active;         /* in the table now */
    uint32_t        peak;           /* most in the table at once */
};

struct rd_flow_table;

/*
 * Create a table for max_flows connections (>= 1).  seed keys the hash:
 * chains stay short against chosen tuples (a SYN flood from spoofed
 * addresses) only while the seed is unknown to the sender, so pass a
 * random one.  done is called for every finished connection.  Returns
 * NULL when memory is short.
 */
struct rd_flow_table *rd_flow_create(const struct rd_alloc *a,
    uint32_t max_flows, uint64_t seed, rd_flow_done_cb done, void *ctx);

/* Free the table; connections still in it are NOT reported (call
 * rd_flow_flush first). */
void rd_flow_destroy(struct rd_flow_table *t);

/*
 * The connection seg belongs to.  A SYN that starts a new connection on a
 * tuple whose old one is over finishes the old one first (why REUSED).
 * When no connection exists one is created (evicting the oldest when the
 * table is full).  Moves the flow to the newest end of the LRU.  Never
 * returns NULL.  *created is set when the returned flow is new.  Cheapest
 * when consecutive packets belong to one flow.
 */
struct rd_flow *rd_flow_get(struct rd_flow_table *t, const struct rd_seg *seg,
    bool *created);

/* Finish every connection silent for idle_usec (why IDLE, or CLOSED when
 * it had closed), and every closed one silent for linger_usec (why
 * CLOSED), as of packet time now. */
void rd_flow_expire(struct rd_flow_table *t, rd_usec_t now,
    rd_usec_t idle_usec, rd_usec_t linger_usec);

/* Finish every connection, oldest activity first: why for those still
 * open, CLOSED for those that had closed. */
void rd_flow_flush(struct rd_flow_table *t, int why);

/* Finish f now (why CLOSED): a clean close needs no linger.  Counted in
 * stats.closed.  f must not be used afterwards. */
void rd_flow_finish(struct rd_flow_table *t, struct rd_flow *f);

/* Forget f, which rd_flow_get has just created, without reporting it:
 * its packet belonged to a connection already finished. */
void rd_flow_discard(struct rd_flow_table *t, struct rd_flow *f);

const struct rd_flow_stats *rd_flow_stats(const struct rd_flow_table *t);

/* f's slot in the table, 0 .. max_flows - 1 (for tables kept beside it,
 * such as the evidence store's). */
uint32_t rd_flow_slot(const struct rd_flow_table *t, const struct rd_flow *f);

/* Debug: check hash chains, LRU and counters; aborts on violation. */
void rd_flow_validate_(const struct rd_flow_table *t);

/* Tests: the number of flows in the longest hash chain. */
uint32_t rd_flow_chain_max_(const struct rd_flow_table *t);

#endif /* RD_FLOW_H */
