/*
 * flow: fixed-capacity 4-tuple table with an LRU, in the manner of p0f's
 * flow list but with a slab and hash buckets sized once at start-up.
 */
#include <string.h>

#include "rstdiag/flow.h"


struct rd_flow_table {
    const struct rd_alloc  *alloc;
    struct rd_flow         *slab;
    struct rd_flow        **buckets;
    uint32_t                nbuckets;       /* power of two */
    uint32_t                max;
    uint64_t                seed;
    struct rd_flow         *free;           /* slots given back */
    uint32_t                fresh;          /* slots never used: slab[fresh..] */
    struct rd_flow         *oldest;
    struct rd_flow         *newest;
    rd_flow_done_cb         done;
    void                   *ctx;
    uint64_t                next_id;
    struct rd_flow_stats    stats;
};


static uint64_t
mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}


static uint64_t
load64(const uint8_t *p)
{
    uint64_t  v;

    memcpy(&v, p, 8);
    return v;
}


/* Direction-neutral hash: both directions of a connection hash alike. */
static uint32_t
tuple_hash(const struct rd_flow_table *t, const uint8_t *a, uint16_t pa,
    const uint8_t *b, uint16_t pb)
{
    uint64_t  ha, hb;

    ha = mix64(load64(a) ^ mix64(load64(a + 8) ^ pa));
    hb = mix64(load64(b) ^ mix64(load64(b + 8) ^ pb));
    return (uint32_t) mix64((ha + hb) ^ (ha ^ hb) * 3 ^ t->seed);
}


static bool
flow_matches(const struct rd_flow *f, const struct rd_seg *seg)
{
    const struct rd_conn  *c = &f->conn;

    if (c->af != seg->af) {
        return false;
    }
    if (seg->sport == c->ep[0].port && seg->dport == c->ep[1].port
        && memcmp(seg->src, c->ep[0].addr, 16) == 0
        && memcmp(seg->dst, c->ep[1].addr, 16) == 0)
    {
        return true;
    }
    return seg->sport == c->ep[1].port && seg->dport == c->ep[0].port
           && memcmp(seg->src, c->ep[1].addr, 16) == 0
           && memcmp(seg->dst, c->ep[0].addr, 16) == 0;
}


static void
lru_unlink(struct rd_flow_table *t, struct rd_flow *f)
{
    if (f->prev != NULL) {
        f->prev->next = f->next;
    } else {
        t->oldest = f->next;
    }
    if (f->next != NULL) {
        f->next->prev = f->prev;
    } else {
        t->newest = f->prev;
    }
    f->prev = NULL;
    f->next = NULL;
}


static void
lru_push(struct rd_flow_table *t, struct rd_flow *f)
{
    f->prev = t->newest;
    f->next = NULL;
    if (t->newest != NULL) {
        t->newest->next = f;
    } else {
        t->oldest = f;
    }
    t->newest = f;
}


struct rd_flow_table *
rd_flow_create(const struct rd_alloc *a, uint32_t max_flows, uint64_t seed,
    rd_flow_done_cb done, void *ctx)
{
    struct rd_flow_table  *t;

    if (max_flows == 0 || max_flows > (1u << 30)) {
        return NULL;
    }
    t = a->calloc(a->ctx, 1, sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    t->alloc = a;
    t->max = max_flows;
    t->seed = seed;
    t->done = done;
    t->ctx = ctx;
    t->next_id = 1;
    t->nbuckets = 1;
    while (t->nbuckets < max_flows) {
        t->nbuckets <<= 1;
    }
    t->slab = a->calloc(a->ctx, max_flows, sizeof(struct rd_flow));
    t->buckets = a->calloc(a->ctx, t->nbuckets, sizeof(struct rd_flow *));
    if (t->slab == NULL || t->buckets == NULL) {
        rd_flow_destroy(t);
        return NULL;
    }
    /* slots are handed out in slab order and never touched before, so
     * resident memory follows the peak number of connections, not the
     * configured maximum */
    t->fresh = 0;
    return t;
}


void
rd_flow_destroy(struct rd_flow_table *t)
{
    if (t == NULL) {
        return;
    }
    if (t->slab != NULL) {
        t->alloc->free(t->alloc->ctx, t->slab);
    }
    if (t->buckets != NULL) {
        t->alloc->free(t->alloc->ctx, t->buckets);
    }
    t->alloc->free(t->alloc->ctx, t);
}


/* Take f out of the table and return its slot to the free list. */
static void
unlink_flow(struct rd_flow_table *t, struct rd_flow *f)
{
    struct rd_flow  **pp;

    for (pp = &t->buckets[f->hash & (t->nbuckets - 1)]; *pp != NULL;
         pp = &(*pp)->hnext)
    {
        if (*pp == f) {
            *pp = f->hnext;
            break;
        }
    }
    lru_unlink(t, f);
    f->used = false;
    f->hnext = t->free;
    t->free = f;
    t->stats.active--;
}


/* Report f as finished and return its slot to the free list. */
static void
finish(struct rd_flow_table *t, struct rd_flow *f, int why)
{
    t->done(t->ctx, f, why);
    unlink_flow(t, f);
}


struct rd_flow *
rd_flow_get(struct rd_flow_table *t, const struct rd_seg *seg, bool *created)
{
    uint32_t         h;
    struct rd_flow  *f, **bucket;

    *created = false;
    h = tuple_hash(t, seg->src, seg->sport, seg->dst, seg->dport);
    bucket = &t->buckets[h & (t->nbuckets - 1)];
    for (f = *bucket; f != NULL; f = f->hnext) {
        if (f->hash == h && flow_matches(f, seg)) {
            break;
        }
    }

    if (f != NULL && rd_conn_is_new_syn(&f->conn, seg)) {
        /* busy proxies reuse a tuple seconds after its last close */
        t->stats.reused++;
        finish(t, f, RD_END_REUSED);
        f = NULL;
    }

    if (f == NULL) {
        if (t->free == NULL && t->fresh == t->max) {
            t->stats.evicted++;
            finish(t, t->oldest, RD_END_EVICTED);
        }
        if (t->free != NULL) {
            f = t->free;
            t->free = f->hnext;
        } else {
            f = &t->slab[t->fresh++];
        }
        f->hash = h;
        f->used = true;
        f->hnext = *bucket;
        *bucket = f;
        rd_conn_start(&f->conn, t->next_id++, seg);
        t->stats.created++;
        t->stats.active++;
        if (t->stats.active > t->stats.peak) {
            t->stats.peak = t->stats.active;
        }
        lru_push(t, f);
        *created = true;
        return f;
    }

    if (t->newest != f) {
        lru_unlink(t, f);
        lru_push(t, f);
    }
    return f;
}


void
rd_flow_expire(struct rd_flow_table *t, rd_usec_t now, rd_usec_t idle_usec,
    rd_usec_t linger_usec)
{
    struct rd_flow  *f, *next;
    rd_usec_t        floor, quiet;

    floor = RD_MIN(idle_usec, linger_usec);
    for (f = t->oldest; f != NULL; f = next) {
        next = f->next;
        quiet = now - f->conn.ts_end;
        if (quiet < floor) {
            /* the LRU is ordered by last packet: nothing newer is due,
             * except for out-of-order timestamps, which wait their turn */
            break;
        }
        if (quiet >= idle_usec || (f->conn.closed && quiet >= linger_usec)) {
            t->stats.expired++;
            finish(t, f, f->conn.closed ? RD_END_CLOSED : RD_END_IDLE);
        }
    }
}


void
rd_flow_flush(struct rd_flow_table *t, int why)
{
    while (t->oldest != NULL) {
        finish(t, t->oldest, t->oldest->conn.closed ? RD_END_CLOSED : why);
    }
}


const struct rd_flow_stats *
rd_flow_stats(const struct rd_flow_table *t)
{
    return &t->stats;
}


void
rd_flow_validate_(const struct rd_flow_table *t)
{
    uint32_t               i, n, lru;
    const struct rd_flow  *f, *prev;

    n = 0;
    for (i = 0; i < t->nbuckets; i++) {
        for (f = t->buckets[i]; f != NULL; f = f->hnext) {
            rd_require(f->used);
            rd_require((f->hash & (t->nbuckets - 1)) == i);
            n++;
            rd_require(n <= t->max);
        }
    }
    rd_require(n == t->stats.active);
    lru = 0;
    prev = NULL;
    for (f = t->oldest; f != NULL; f = f->next) {
        rd_require(f->prev == prev);
        rd_require(f->used);
        prev = f;
        lru++;
        rd_require(lru <= t->max);
    }
    rd_require(prev == t->newest);
    rd_require(lru == n);
    for (f = t->free; f != NULL; f = f->hnext) {
        rd_require(!f->used);
        n++;
        rd_require(n <= t->max);
    }
    rd_require(n + (t->max - t->fresh) == t->max);
}


void
rd_flow_finish(struct rd_flow_table *t, struct rd_flow *f)
{
    t->stats.closed++;
    finish(t, f, RD_END_CLOSED);
}


void
rd_flow_discard(struct rd_flow_table *t, struct rd_flow *f)
{
    if (f->conn.id + 1 == t->next_id) {
        t->next_id--;
    }
    t->stats.created--;
    unlink_flow(t, f);
}
