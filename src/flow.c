/*
 * flow: fixed-capacity 4-tuple table with an LRU, in the manner of p0f's
 * flow list but with a slab and hash buckets sized once at start-up.
 */
#include <string.h>

#include "rstdiag/flow.h"


struct rd_flow_table {
    const struct rd_alloc  *alloc;
    struct rd_flow         *slab;
    struct rd_conn_cold    *cold;           /* cold[i] goes with slab[i] */
    struct rd_flow        **buckets;
    uint32_t                nbuckets;       /* power of two */
    uint32_t                max;
    uint32_t                nh[2 * RD_FLOW_KEY_WORDS];  /* key_hash()'s
                                                         * secret, from
                                                         * the seed */
    struct rd_flow         *free;           /* slots given back */
    uint32_t                fresh;          /* slots never used: slab[fresh..] */
    struct rd_flow         *oldest;
    struct rd_flow         *newest;
    rd_flow_done_cb         done;
    void                   *ctx;
    uint64_t                next_id;
    struct rd_flow_stats    stats;
};


/* MurmurHash3's fmix64: every output bit depends on every input bit. */
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


/* splitmix64 (Steele et al., 2014): the seed into the secret words */
static uint64_t
splitmix64(uint64_t *x)
{
    *x += 0x9e3779b97f4a7c15ULL;
    return mix64(*x);
}


static uint64_t
load64(const uint8_t *p)
{
    uint64_t  v;

    memcpy(&v, p, 8);
    return v;
}


/*
 * The lookup key: both endpoints, the lower one first, so that both
 * directions of a connection make the same key.
 *
 *   IPv4: key[0], key[1] = address << 16 | port of each endpoint,
 *         key[2] = key[3] = 0, key[4] = 4 << 32.
 *   else: key[0..1], key[2..3] = the two 16-byte addresses,
 *         key[4] = af << 32 | their ports in the same order.
 *
 * Addresses are loaded in host byte order: the endpoint order only has
 * to come out the same from both sides, it need not be numeric.  The af
 * in key[4] keeps IPv4 and IPv6 keys apart.  For IPv4 the 12 address
 * bytes after the first 4 are not read (rd_seg says they are zero).
 */
static inline void
key_make(uint64_t *k, uint8_t af, const uint8_t *a, uint16_t pa,
    const uint8_t *b, uint16_t pb)
{
    uint32_t  a4, b4;
    uint64_t  ea, eb, a0, a1, b0, b1;

    if (af == 4) {
        memcpy(&a4, a, 4);
        memcpy(&b4, b, 4);
        ea = (uint64_t) a4 << 16 | pa;
        eb = (uint64_t) b4 << 16 | pb;
        k[0] = RD_MIN(ea, eb);
        k[1] = RD_MAX(ea, eb);
        k[2] = 0;
        k[3] = 0;
        k[4] = (uint64_t) 4 << 32;
        return;
    }

    a0 = load64(a);
    a1 = load64(a + 8);
    b0 = load64(b);
    b1 = load64(b + 8);
    if (a0 < b0 || (a0 == b0 && (a1 < b1 || (a1 == b1 && pa <= pb)))) {
        k[0] = a0;
        k[1] = a1;
        k[2] = b0;
        k[3] = b1;
        k[4] = (uint64_t) af << 32 | (uint64_t) pa << 16 | pb;
    } else {
        k[0] = b0;
        k[1] = b1;
        k[2] = a0;
        k[3] = a1;
        k[4] = (uint64_t) af << 32 | (uint64_t) pb << 16 | pa;
    }
}


static inline bool
key_eq(const uint64_t *a, const uint64_t *b)
{
    /* the first word tells most other flows apart */
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3]
           && a[4] == b[4];
}


/* One NH term: the two 32-bit halves of w, each plus a secret word. */
static inline uint64_t
nh_term(uint64_t w, uint32_t k0, uint32_t k1)
{
    return (uint64_t) (uint32_t) ((uint32_t) w + k0)
           * (uint32_t) ((uint32_t) (w >> 32) + k1);
}


/*
 * Keyed hash of a key: NH (RFC 4418 sec. 5.2.1, the first layer of
 * UMAC) over its 32-bit halves with the table's secret words, then
 * fmix64, whose low bits pick the bucket.
 *
 * Why this is enough against a flood of chosen tuples (spoofed SYNs):
 * for any two different keys, NH's 64-bit results are equal with
 * probability at most 2^-32 over the secret words (NH is 2^-32-almost-
 * universal; Black et al., "UMAC", CRYPTO 1999), and otherwise differ by
 * an amount the sender cannot know.  fmix64 spreads that difference over
 * every bucket bit (NH's own low bits depend only on the low bits of
 * each half: tuples differing in the high bits alone would share a
 * bucket).  So a sender who does not know the seed cannot aim tuples at
 * one bucket: a flood fills buckets as random keys do and, with at least
 * one bucket per flow, chains stay about one long.  It is no MAC: a
 * sender able to time many lookups might learn something, which is far
 * from the SYN flood this guards against.  Two multiplies for an IPv4
 * tuple and five for IPv6, then fmix64's two, where the former hash
 * chained five fmix64 (ten multiplies) over a 40-byte tuple.
 */
static inline uint32_t
key_hash(const struct rd_flow_table *t, const uint64_t *k)
{
    uint64_t  h;

    h = nh_term(k[0], t->nh[0], t->nh[1]) + nh_term(k[1], t->nh[2], t->nh[3]);
    if (k[4] >> 32 != 4) {
        /* IPv4 keys are constant there: the terms are left out */
        h += nh_term(k[2], t->nh[4], t->nh[5])
             + nh_term(k[3], t->nh[6], t->nh[7])
             + nh_term(k[4], t->nh[8], t->nh[9]);
    }
    return (uint32_t) mix64(h);
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


/*
 * Make f, which is not the newest, the newest: lru_unlink() and
 * lru_push() without the tests that cannot fail here (f has a newer
 * neighbour, the list is not empty).
 */
static void
lru_touch(struct rd_flow_table *t, struct rd_flow *f)
{
    f->next->prev = f->prev;
    if (f->prev != NULL) {
        f->prev->next = f->next;
    } else {
        t->oldest = f->next;
    }
    f->prev = t->newest;
    f->next = NULL;
    t->newest->next = f;
    t->newest = f;
}


struct rd_flow_table *
rd_flow_create(const struct rd_alloc *a, uint32_t max_flows, uint64_t seed,
    rd_flow_done_cb done, void *ctx)
{
    size_t                 i;
    uint64_t               w;
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
    for (i = 0; i < RD_NELEMS(t->nh); i += 2) {
        w = splitmix64(&seed);
        t->nh[i] = (uint32_t) w;
        t->nh[i + 1] = (uint32_t) (w >> 32);
    }
    t->done = done;
    t->ctx = ctx;
    t->next_id = 1;
    t->nbuckets = 1;
    while (t->nbuckets < max_flows) {
        t->nbuckets <<= 1;
    }
    t->slab = rd_big_calloc(a, max_flows, sizeof(struct rd_flow));
    t->cold = rd_big_calloc(a, max_flows, sizeof(struct rd_conn_cold));
    t->buckets = rd_big_calloc(a, t->nbuckets, sizeof(struct rd_flow *));
    if (t->slab == NULL || t->cold == NULL || t->buckets == NULL) {
        rd_flow_destroy(t);
        return NULL;
    }
    /* slots are handed out in slab order and never touched before, and
     * the tables are rd_big_calloc()'ed (zero pages until written), so
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
    rd_big_free(t->alloc, t->slab, t->max, sizeof(struct rd_flow));
    rd_big_free(t->alloc, t->buckets, t->nbuckets, sizeof(struct rd_flow *));
    rd_big_free(t->alloc, t->cold, t->max, sizeof(struct rd_conn_cold));
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


/*
 * rd_flow_get() for IPv4 makes no call but tail calls and saves no
 * register: what calls other modules or needs more registers (a new
 * connection, a SYN, IPv6) is kept out of line, where a compiler would
 * inline a static function called once or twice.
 */
#if defined(__GNUC__)
#define RD_FLOW_NOINLINE  __attribute__((noinline))
#else
#define RD_FLOW_NOINLINE
#endif


/*
 * A new connection for seg's tuple, whose hash is h, evicting the oldest
 * if the table is full.  The key is made again here rather than passed:
 * its address would keep the caller's copy out of registers.
 */
RD_FLOW_NOINLINE static struct rd_flow *
flow_new(struct rd_flow_table *t, const struct rd_seg *seg, bool *created,
    uint32_t h)
{
    struct rd_flow  *f, **bucket;

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
    key_make(f->key, seg->af, seg->src, seg->sport, seg->dst, seg->dport);
    f->hash = h;
    f->used = true;
    bucket = &t->buckets[h & (t->nbuckets - 1)];
    f->hnext = *bucket;
    *bucket = f;
    rd_conn_start(&f->conn, t->next_id++, seg);
    f->conn.cold = &t->cold[f - t->slab];
    t->stats.created++;
    t->stats.active++;
    if (t->stats.active > t->stats.peak) {
        t->stats.peak = t->stats.active;
    }
    lru_push(t, f);
    *created = true;
    return f;
}


/* A SYN without ACK on f's tuple: f itself, or a new connection. */
RD_FLOW_NOINLINE static struct rd_flow *
flow_syn(struct rd_flow_table *t, const struct rd_seg *seg, bool *created,
    struct rd_flow *f)
{
    uint32_t  h;

    if (!rd_conn_is_new_syn(&f->conn, seg)) {
        if (t->newest != f) {
            lru_touch(t, f);
        }
        return f;
    }

    /* busy proxies reuse a tuple seconds after its last close */
    h = f->hash;
    t->stats.reused++;
    finish(t, f, RD_END_REUSED);
    return flow_new(t, seg, created, h);
}


/*
 * The connection of key k, made from seg: rd_flow_get() but for the key.
 * Inline in both callers, so that for IPv4 the compiler folds the key's
 * constant words into the hash and the compares.
 */
static inline struct rd_flow *
get_key(struct rd_flow_table *t, const struct rd_seg *seg, bool *created,
    const uint64_t *k)
{
    uint32_t         h;
    struct rd_flow  *f;

    /*
     * Packets come in trains of one connection (a window of data, the
     * ACKs for it), and the newest flow of the LRU is the one the last
     * packet got: a match there costs no hash, no chain walk and no LRU
     * move.
     */
    f = t->newest;
    if (f == NULL || !key_eq(f->key, k)) {
        h = key_hash(t, k);
        for (f = t->buckets[h & (t->nbuckets - 1)]; f != NULL;
             f = f->hnext)
        {
            if (f->hash == h && key_eq(f->key, k)) {
                break;
            }
        }
        if (f == NULL) {
            return flow_new(t, seg, created, h);
        }
    }

    /* rd_conn_is_new_syn() holds only for a SYN without ACK */
    if ((seg->flags & (RD_TCP_SYN | RD_TCP_ACK)) == RD_TCP_SYN) {
        return flow_syn(t, seg, created, f);
    }
    if (t->newest != f) {
        lru_touch(t, f);
    }
    return f;
}


/* IPv6, out of line: its five key words would crowd IPv4's registers. */
RD_FLOW_NOINLINE static struct rd_flow *
get_other(struct rd_flow_table *t, const struct rd_seg *seg, bool *created)
{
    uint64_t  k[RD_FLOW_KEY_WORDS];

    key_make(k, seg->af, seg->src, seg->sport, seg->dst, seg->dport);
    return get_key(t, seg, created, k);
}


struct rd_flow *
rd_flow_get(struct rd_flow_table *t, const struct rd_seg *seg, bool *created)
{
    uint64_t  k[RD_FLOW_KEY_WORDS];

    *created = false;
    if (seg->af != 4) {
        return get_other(t, seg, created);
    }
    key_make(k, 4, seg->src, seg->sport, seg->dst, seg->dport);
    return get_key(t, seg, created, k);
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
        /* a closed client leg waits past the linger for the upstream legs
         * that still refer to it (their verdict is its cause), up to the
         * idle timeout */
        if (quiet >= idle_usec
            || (f->conn.closed && quiet >= linger_usec
                && f->conn.peer_refs == 0))
        {
            t->stats.expired++;
            finish(t, f, f->conn.closed ? RD_END_CLOSED : RD_END_IDLE);
        }
    }
}


void
rd_flow_flush(struct rd_flow_table *t, int why)
{
    struct rd_flow  *f, *next;

    /* upstream legs first: the client legs they refer to take their
     * verdicts as causes */
    for (f = t->oldest; f != NULL; f = next) {
        next = f->next;
        if (f->conn.peer_ref) {
            finish(t, f, f->conn.closed ? RD_END_CLOSED : why);
        }
    }
    while (t->oldest != NULL) {
        finish(t, t->oldest, t->oldest->conn.closed ? RD_END_CLOSED : why);
    }
}


uint32_t
rd_flow_slot(const struct rd_flow_table *t, const struct rd_flow *f)
{
    return (uint32_t) (f - t->slab);
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
    uint64_t               k[RD_FLOW_KEY_WORDS];
    const struct rd_flow  *f, *prev;
    const struct rd_conn  *c;

    n = 0;
    for (i = 0; i < t->nbuckets; i++) {
        for (f = t->buckets[i]; f != NULL; f = f->hnext) {
            rd_require(f->used);
            rd_require((f->hash & (t->nbuckets - 1)) == i);
            /* the key is the connection's tuple, and hashes to f->hash */
            c = &f->conn;
            key_make(k, c->af, c->ep[0].addr, c->ep[0].port, c->ep[1].addr,
                     c->ep[1].port);
            rd_require(key_eq(k, f->key));
            rd_require(key_hash(t, f->key) == f->hash);
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


uint32_t
rd_flow_chain_max_(const struct rd_flow_table *t)
{
    uint32_t               i, n, max;
    const struct rd_flow  *f;

    max = 0;
    for (i = 0; i < t->nbuckets; i++) {
        n = 0;
        for (f = t->buckets[i]; f != NULL; f = f->hnext) {
            n++;
        }
        max = RD_MAX(max, n);
    }
    return max;
}
