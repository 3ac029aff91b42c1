/*
 * pipeline: the per-packet path.  No allocation here after creation.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "rstdiag/limits.h"
#include "rstdiag/pipeline.h"
#include "rstdiag/tcp.h"

#define USEC 1000000

/* late packets are matched to a finished connection when their sequence
 * number is at most this far from the highest the sender had used */
#define TOMB_SEQ_SPAN   (1u << 20)

/*
 * A connection finished after its close (at once after a clean one, or
 * after the linger) leaves a tombstone: a packet that arrives later on its
 * tuple (a retransmitted FIN, an RST answering data in flight) is counted
 * as late instead of starting a bogus connection.  Direct-mapped by the
 * flow hash, sized from --max-flows; a collision forgets the older one.
 */
struct tomb {
    uint32_t        hash;               /* tomb_hash() of the tuple */
    uint16_t        cport, sport;       /* client and server ports */
    uint32_t        end[2];             /* per side: highest seq sent */
    rd_usec_t       ts;                 /* when it was laid: it lasts
                                         * one linger */
};


struct rd_pipeline {
    const struct rd_alloc      *alloc;
    struct rd_pipeline_cfg      cfg;
    struct rd_flow_table       *flows;
    struct rd_tcp_pool         *pool;
    struct rd_legs             *legs;
    struct rd_app_pool         *apps;
    struct rd_conn_env          env;
    struct tomb                *tombs;
    uint32_t                    ntombs;     /* power of two */
    rd_pipeline_conn_cb         cb;
    void                       *ctx;
    rd_usec_t                   last_expiry;
    struct rd_pipeline_stats    stats;
    struct rd_drop_span         drops[RD_PIPELINE_DROP_SPANS];
    uint32_t                    ndrops;     /* in time order */
    struct rd_evstore          *ev;         /* --evidence, or NULL */
    rd_pipeline_evidence_cb     ev_cb;
    void                       *ev_ctx;
    struct rd_evpkt             ev_frame;   /* the frame being read,
                                             * with --evidence */
    struct rd_evpkt            *ev_pk;      /* 4 x max packets: the
                                             * connection's, its peer's,
                                             * both in time order (2 x) */
};


void
rd_pipeline_cfg_default(struct rd_pipeline_cfg *cfg)
{
    cfg->max_flows = RD_LIMITS_MAX_FLOWS;
    cfg->idle_timeout = RD_LIMITS_IDLE_TIMEOUT;
    cfg->closed_linger = RD_LIMITS_CLOSED_LINGER;
    cfg->ooo_pool_bytes = RD_LIMITS_OOO_POOL_BYTES;
    cfg->max_header_bytes = RD_LIMITS_MAX_HEADER_BYTES;
    cfg->seed = 0x9e3779b97f4a7c15ULL;
    cfg->evidence_max_packets = 0;
    cfg->evidence_pool_bytes = RD_EVIDENCE_POOL_BYTES;
    cfg->evidence_snaplen = RD_EVIDENCE_SNAPLEN;
}


static uint64_t drops_during(const struct rd_pipeline *pl,
    const struct rd_conn *c);


static void
on_request(void *ctx, struct rd_conn *c, uint32_t ex)
{
    struct rd_pipeline  *pl = ctx;

    rd_legs_request(pl->legs, c, ex);
}


static void
on_tls_turn(void *ctx, struct rd_conn *c)
{
    struct rd_pipeline  *pl = ctx;

    rd_legs_tls_turn(pl->legs, c);
}


static int
proto_hint(void *ctx, const struct rd_conn *c)
{
    struct rd_pipeline  *pl = ctx;

    return rd_legs_is_fastcgi(pl->legs, c) ? RD_PROTO_FASTCGI : 0;
}


static void
on_response(void *ctx, struct rd_conn *c, uint32_t ex)
{
    struct rd_pipeline  *pl = ctx;

    rd_legs_response(pl->legs, c, ex);
}


/*
 * The tombstone slot of f's tuple.  Not the flow table's keyed hash: with
 * a random key, which tombstone a collision forgets would change from run
 * to run, and so would the report.  A flood aimed at these slots only
 * makes late packets look like new connections, as without tombstones.
 */
static uint32_t
tomb_hash(const struct rd_flow *f)
{
    uint64_t  h;
    int       i;

    h = 0;
    for (i = 0; i < RD_FLOW_KEY_WORDS; i++) {
        h = (h ^ f->key[i]) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    return (uint32_t) (h ^ (h >> 32));
}


static void
tomb_add(struct rd_pipeline *pl, const struct rd_flow *f)
{
    uint32_t               h = tomb_hash(f);
    struct tomb           *t = &pl->tombs[h & (pl->ntombs - 1)];
    const struct rd_conn  *c = &f->conn;

    t->hash = h;
    t->cport = c->ep[RD_CONN_CLIENT].port;
    t->sport = c->ep[RD_CONN_SERVER].port;
    t->end[0] = c->side[0].tcp.snd_max;
    t->end[1] = c->side[1].tcp.snd_max;
    t->ts = RD_MAX(c->ts_end, pl->stats.ts_last);  /* laid now */
}


/* the response an upstream leg carried for its client leg ended: the
 * client leg no longer has to wait for it */
static void
on_response_end(void *ctx, struct rd_conn *c)
{
    const struct rd_exchange  *e;

    (void) ctx;
    /* only a clean response on a connection that stays open for reuse
     * lets its client leg go before this leg is judged: otherwise this
     * leg ends soon, and the client's record names its verdict as the
     * cause (nginx may have given up on it already: a timeout, a header
     * too big) */
    e = c->next_resp > 0 ? rd_conn_exchange(c, c->next_resp - 1) : NULL;
    if (e == NULL || !e->keep_alive || c->close_kind != RD_CLOSE_NONE
        || rd_exchange_bad_framing(e))
    {
        return;
    }
    rd_legs_unref_peer(c);
}


/* The status nginx gave the client peer for the request that upstream
 * leg c carried (or attempted): the last client request begun before. */
static int
peer_status(const struct rd_conn *c, const struct rd_conn *peer, bool *done)
{
    const struct rd_exchange  *e;
    rd_usec_t                  t;
    uint32_t                   i;

    t = c->ts_start;
    if (c->nex > 0) {
        e = rd_conn_exchange(c, c->nex - 1);
        if (e != NULL && e->req_start != 0) {
            t = e->req_start;
        }
    }
    for (i = peer->nex; i > rd_conn_first_kept(peer); i--) {
        e = rd_conn_exchange(peer, i - 1);
        if (e != NULL && e->has_req && e->req_start <= t) {
            if (done != NULL) {
                *done = e->has_resp && e->resp_done
                        && (e->findings & (1u << RD_HTTP1_COMPLETE));
            }
            return e->has_resp ? e->status : 0;
        }
    }
    return 0;
}


/* An upstream closed an idle keep-alive connection (server FIN or RST
 * after a complete response, nothing asked since): how long it had been
 * idle is a measure of the upstream's own idle timeout. */
static void
note_idle_close(struct rd_pipeline_stats *st, const struct rd_conn *c,
    const struct rd_verdict *v)
{
    const struct rd_exchange  *e;
    struct rd_idle_close      *k;
    double                     idle;
    uint32_t                   i;

    if (v->code != RD_V_IDLE_CLOSE || c->close_by != RD_CONN_SERVER
        || c->phase != RD_PHASE_IDLE_KEEPALIVE || c->nex == 0)
    {
        return;
    }
    e = rd_conn_exchange(c, c->nex - 1);
    if (e == NULL || e->resp_end == 0 || c->close_ts < e->resp_end) {
        return;
    }
    idle = (double) (c->close_ts - e->resp_end) / 1e6;
    for (i = 0; i < st->nidle_close; i++) {
        k = &st->idle_close[i];
        if (k->af == c->af && k->port == c->ep[RD_CONN_SERVER].port
            && memcmp(k->addr, c->ep[RD_CONN_SERVER].addr, 16) == 0)
        {
            break;
        }
    }
    if (i == st->nidle_close) {
        if (i == RD_PIPELINE_IDLE_UPSTREAMS) {
            return;
        }
        k = &st->idle_close[st->nidle_close++];
        k->af = c->af;
        k->port = c->ep[RD_CONN_SERVER].port;
        memcpy(k->addr, c->ep[RD_CONN_SERVER].addr, 16);
        k->min = k->max = idle;
    }
    k = &st->idle_close[i];
    k->count++;
    k->min = RD_MIN(k->min, idle);
    k->max = RD_MAX(k->max, idle);
    if (k->nsamples < RD_PIPELINE_IDLE_SAMPLES) {
        k->sample[k->nsamples++] = (float) idle;
    }
}


double
rd_idle_close_median(const struct rd_idle_close *k)
{
    float     s[RD_PIPELINE_IDLE_SAMPLES], t;
    uint32_t  i, j, n;

    n = k->nsamples;
    if (n == 0) {
        return -1;
    }
    memcpy(s, k->sample, n * sizeof(s[0]));
    for (i = 1; i < n; i++) {           /* at most 32: insertion sort */
        t = s[i];
        for (j = i; j > 0 && s[j - 1] > t; j--) {
            s[j] = s[j - 1];
        }
        s[j] = t;
    }
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}


/* A keep-alive race on an upstream whose idle closes were measured: the
 * fix names the measured idle timeout and a keepalive_timeout below it. */
static void
race_note(const struct rd_pipeline_stats *st, const struct rd_conn *c,
    struct rd_verdict *v)
{
    const struct rd_idle_close  *k;
    double                       med, set;
    uint32_t                     i;

    if (v->code != RD_V_KEEPALIVE_RACE || v->note != NULL) {
        return;
    }
    for (i = 0; i < st->nidle_close; i++) {
        k = &st->idle_close[i];
        if (k->af != c->af || k->port != c->ep[RD_CONN_SERVER].port
            || memcmp(k->addr, c->ep[RD_CONN_SERVER].addr, 16) != 0)
        {
            continue;
        }
        med = rd_idle_close_median(k);
        if (med <= 0) {
            return;
        }
        set = med > 2.5 ? (double) (long) (med * 0.8) : med * 0.8;
        snprintf(v->note_buf, sizeof(v->note_buf), "this upstream closed "
                 "idle keep-alive connections after %.3f s (median of %u "
                 "seen so far, %.3f to %.3f s): set keepalive_timeout in its "
                 "upstream block below that, e.g. keepalive_timeout %s%ld%s;",
                 med, (unsigned) k->count, k->min, k->max, "",
                 set >= 1 ? (long) set : (long) (set * 1000),
                 set >= 1 ? "s" : "ms");
        v->note = v->note_buf;
        v->backend_idle = med;
        return;
    }
}


/* upstream leg c was judged v: its client leg's record names it */
static void
set_cause(struct rd_conn *peer, const struct rd_conn *c,
    const struct rd_verdict *v)
{
    const struct rd_exchange  *e;

    if (v->severity < RD_SEV_WARNING || v->code == RD_V_CLIENT_ABORT) {
        return;
    }
    if (peer->has_cause
        && rd_verdict_rule(peer->cold->cause)->severity > v->severity)
    {
        return;                     /* an error outranks a warning */
    }
    peer->cold->cause = (uint8_t) v->code;
    peer->cold->cause_id = c->id;
    peer->cold->cause_ts = c->ts_start;
    e = c->nex > 0 ? rd_conn_exchange(c, c->nex - 1) : NULL;
    if (e != NULL && e->req_start != 0) {
        peer->cold->cause_ts = e->req_start;
    }
    peer->has_cause = 1;
}


/* the flow slot of a connection in the table */
static uint32_t
conn_slot(const struct rd_pipeline *pl, const struct rd_conn *c)
{
    const struct rd_flow  *f;

    f = (const struct rd_flow *) (const void *)
        ((const char *) c - offsetof(struct rd_flow, conn));
    return rd_flow_slot(pl->flows, f);
}


/* Mark the packet that decided c: its first close (the RST or FIN at
 * close_ts from close_by), else its last RST or FIN, else its last. */
static void
mark_decisive(const struct rd_conn *c, struct rd_evpkt *pk, size_t n)
{
    size_t    i, k;
    uint8_t   want;
    uint16_t  port;

    if (n == 0) {
        return;
    }
    want = c->close_kind == RD_CLOSE_RST ? RD_TCP_RST : RD_TCP_FIN;
    port = c->ep[c->close_by == RD_CONN_SERVER].port;
    if (c->close_kind != RD_CLOSE_NONE) {
        for (i = 0; i < n; i++) {
            if ((pk[i].flags & want) && pk[i].sport == port
                && pk[i].ts == c->close_ts)
            {
                pk[i].mark = true;
                return;
            }
        }
    }
    k = n - 1;
    for (i = n; i > 0; i--) {
        if (pk[i - 1].flags & (RD_TCP_RST | RD_TCP_FIN)) {
            k = i - 1;
            break;
        }
    }
    pk[k].mark = true;
}


/* --evidence: c's packets and its peer's, in time order, to the writer */
static const char *
evidence(struct rd_pipeline *pl, const struct rd_conn *c,
    const struct rd_conn *peer, const struct rd_verdict *v)
{
    struct rd_evpkt  *a, *b, *out;
    size_t            na, nb, i, j, k, max;
    uint64_t          om, om2;

    max = rd_evstore_max_packets(pl->ev);
    a = pl->ev_pk;
    b = a + max;
    out = b + max;
    na = rd_evstore_collect(pl->ev, conn_slot(pl, c), a, max, &om);
    mark_decisive(c, a, na);
    nb = 0;
    om2 = 0;
    if (peer != NULL) {
        nb = rd_evstore_collect(pl->ev, conn_slot(pl, peer), b, max, &om2);
    } else {
        /* a client leg: its upstream leg, over already */
        nb = rd_evstore_collect_inherited(pl->ev, conn_slot(pl, c), b, max,
                                          &om2);
    }
    om += om2;
    /* merge: each list is in arrival order; ties keep c's first */
    for (i = j = k = 0; i < na || j < nb; k++) {
        out[k] = j >= nb || (i < na && a[i].ts <= b[j].ts) ? a[i++]
                                                          : b[j++];
    }
    return pl->ev_cb(pl->ev_ctx, c, peer, v, out, k, om);
}


static void
conn_done(void *ctx, struct rd_flow *f, int why)
{
    struct rd_pipeline     *pl = ctx;
    struct rd_conn         *c = &f->conn;
    struct rd_verdict_ctx   x;
    struct rd_verdict       v;
    struct rd_conn         *peer;
    int                     i;

    rd_conn_finish(c, &pl->env, why);
    if (why == RD_END_CLOSED) {
        tomb_add(pl, f);
    }
    c->leg = (uint8_t) rd_legs_classify(pl->legs, c);
    memset(&x, 0, sizeof(x));
    x.leg = c->leg;
    x.nginx_version = rd_legs_version(pl->legs);
    peer = rd_conn_peer(c);
    if (peer != NULL) {
        x.peer_known = true;
        x.peer_close_by = peer->close_by;
        x.peer_close_kind = peer->close_kind;
        x.peer_close_ts = peer->close_ts;
        x.peer_status = peer_status(c, peer, &x.peer_resp_done);
        x.peer_phase = peer->phase;
    }
    if (c->npaired > 0) {
        x.pair_weak = !rd_legs_pair_confirmed(pl->legs, c, peer);
        x.pair_ambiguous = c->cold->pair_alt != 0;
    }
    x.cause = c->has_cause ? c->cold->cause : RD_V_NONE;
    x.cause_ts = c->has_cause ? c->cold->cause_ts : 0;
    x.drops = pl->ndrops > 0 ? drops_during(pl, c) : 0;
    rd_verdict_classify(c, &x, &v);
    v.pair_confirmed = c->npaired > 0 && !x.pair_weak;
    v.nginx_version = x.nginx_version;
    v.nginx_version_from = rd_legs_version_from(pl->legs);
    if (peer != NULL && c->leg != RD_LEG_CLIENT) {
        set_cause(peer, c, &v);
    }
    if (c->leg != RD_LEG_CLIENT) {
        note_idle_close(&pl->stats, c, &v);
        race_note(&pl->stats, c, &v);
    }
    pl->stats.verdicts[v.code]++;
    if (v.elapsed >= 0.5 && v.elapsed < RD_PIPELINE_ELAPSED_BUCKETS - 0.5) {
        pl->stats.elapsed[v.code][(int) (v.elapsed + 0.5)]++;
    }
    if (c->leg == RD_LEG_UPSTREAM && c->nex > 0) {
        pl->stats.upstream_with_requests++;
        if (c->nex == 1 && c->close_kind != RD_CLOSE_NONE) {
            pl->stats.upstream_single_use++;
        }
    }
    pl->stats.legs[c->leg < 3 ? c->leg : 0]++;
    for (i = 0; i < 2; i++) {
        pl->stats.gap_bytes += c->side[i].tcp.gap_bytes;
        pl->stats.gaps += c->side[i].tcp.gaps;
    }
    pl->stats.reported++;
    if (rd_conn_abnormal(c)) {
        pl->stats.abnormal++;
    }
    if (pl->ev != NULL) {
        if (pl->ev_cb != NULL && v.severity >= RD_SEV_WARNING) {
            v.evidence = evidence(pl, c, c->leg != RD_LEG_CLIENT ? peer
                                                                 : NULL, &v);
        }
        /* an upstream leg over before its client leg leaves its
         * packets to it: the failed one, else the first */
        if (c->leg != RD_LEG_CLIENT && peer != NULL
            && (v.severity >= RD_SEV_WARNING
                || !rd_evstore_has_inherited(pl->ev, conn_slot(pl, peer))))
        {
            rd_evstore_inherit(pl->ev, rd_flow_slot(pl->flows, f),
                               conn_slot(pl, peer));
        }
        rd_evstore_reset(pl->ev, rd_flow_slot(pl->flows, f));
    }
    pl->cb(pl->ctx, c, &v);
    rd_conn_release(c, &pl->env);
    rd_legs_unref_peer(c);
}


struct rd_pipeline *
rd_pipeline_create(const struct rd_alloc *a, const struct rd_pipeline_cfg *cfg,
    rd_pipeline_conn_cb cb, void *ctx, char err[RD_ERRLEN])
{
    struct rd_pipeline  *pl;

    pl = a->calloc(a->ctx, 1, sizeof(*pl));
    if (pl == NULL) {
        snprintf(err, RD_ERRLEN, "out of memory");
        return NULL;
    }
    pl->alloc = a;
    pl->cfg = *cfg;
    pl->cb = cb;
    pl->ctx = ctx;
    pl->flows = rd_flow_create(a, cfg->max_flows, cfg->seed, conn_done, pl);
    pl->pool = rd_tcp_pool_create(a, cfg->ooo_pool_bytes,
                                  RD_LIMITS_OOO_DIR_BYTES,
                                  RD_LIMITS_OOO_DIR_SEGS);
    pl->legs = rd_legs_create(a);
    pl->apps = rd_app_pool_create(a, cfg->max_flows);
    pl->ntombs = 64;
    while (pl->ntombs < cfg->max_flows / 4) {
        pl->ntombs <<= 1;
    }
    /* zero pages until a tomb is laid (rd_big_calloc) */
    pl->tombs = rd_big_calloc(a, pl->ntombs, sizeof(struct tomb));
    if (cfg->evidence_max_packets > 0) {
        pl->ev = rd_evstore_create(a, cfg->max_flows,
                                   cfg->evidence_max_packets,
                                   cfg->evidence_pool_bytes);
        pl->ev_pk = a->calloc(a->ctx, 4 * (size_t) cfg->evidence_max_packets,
                              sizeof(struct rd_evpkt));
        if (pl->ev == NULL || pl->ev_pk == NULL) {
            snprintf(err, RD_ERRLEN, "cannot allocate the evidence store "
                     "(%llu bytes, %u packets per connection)",
                     (unsigned long long) cfg->evidence_pool_bytes,
                     cfg->evidence_max_packets);
            rd_pipeline_destroy(pl);
            return NULL;
        }
    }
    if (pl->flows == NULL || pl->pool == NULL || pl->legs == NULL
        || pl->apps == NULL || pl->tombs == NULL)
    {
        snprintf(err, RD_ERRLEN,
                 "cannot allocate tables for %u flows and %u out-of-order "
                 "bytes", cfg->max_flows, cfg->ooo_pool_bytes);
        rd_pipeline_destroy(pl);
        return NULL;
    }
    pl->env.pool = pl->pool;
    pl->env.apps = pl->apps;
    pl->env.max_header_bytes = cfg->max_header_bytes;
    pl->env.on_request = on_request;
    pl->env.on_tls_turn = on_tls_turn;
    pl->env.on_response = on_response;
    pl->env.on_response_end = on_response_end;
    pl->env.proto_hint = proto_hint;
    pl->env.ctx = pl;
    return pl;
}


void
rd_pipeline_destroy(struct rd_pipeline *pl)
{
    if (pl == NULL) {
        return;
    }
    rd_flow_destroy(pl->flows);
    rd_tcp_pool_destroy(pl->pool);
    rd_legs_destroy(pl->legs);
    rd_app_pool_destroy(pl->apps);
    rd_big_free(pl->alloc, pl->tombs, pl->ntombs, sizeof(struct tomb));
    rd_evstore_destroy(pl->ev);
    if (pl->ev_pk != NULL) {
        pl->alloc->free(pl->alloc->ctx, pl->ev_pk);
    }
    pl->alloc->free(pl->alloc->ctx, pl);
}


void
rd_pipeline_set_evidence(struct rd_pipeline *pl, rd_pipeline_evidence_cb cb,
    void *ctx)
{
    pl->ev_cb = cb;
    pl->ev_ctx = ctx;
}


const struct rd_evstore_stats *
rd_pipeline_evidence_stats(const struct rd_pipeline *pl)
{
    return pl->ev != NULL ? rd_evstore_stats(pl->ev) : NULL;
}


void
rd_pipeline_note_drops(struct rd_pipeline *pl, rd_usec_t from, rd_usec_t to,
    uint64_t n)
{
    struct rd_drop_span  *last;

    if (n == 0) {
        return;
    }
    if (to < from) {
        to = from;
    }
    last = pl->ndrops > 0 ? &pl->drops[pl->ndrops - 1] : NULL;
    if (last != NULL && from <= last->to + USEC) {
        /* one episode of loss, read twice */
        last->to = to > last->to ? to : last->to;
        last->n += n;
        return;
    }
    if (pl->ndrops == RD_PIPELINE_DROP_SPANS) {
        /* coarser, never forgotten: the oldest two become one */
        pl->drops[0].to = pl->drops[1].to;
        pl->drops[0].n += pl->drops[1].n;
        memmove(&pl->drops[1], &pl->drops[2],
                (RD_PIPELINE_DROP_SPANS - 2) * sizeof(pl->drops[0]));
        pl->ndrops--;
    }
    pl->drops[pl->ndrops].from = from;
    pl->drops[pl->ndrops].to = to;
    pl->drops[pl->ndrops].n = n;
    pl->ndrops++;
}


/* Packets lost while c was open (from its first packet to its last). */
static uint64_t
drops_during(const struct rd_pipeline *pl, const struct rd_conn *c)
{
    uint64_t  n;
    uint32_t  i;

    n = 0;
    for (i = pl->ndrops; i > 0; i--) {
        const struct rd_drop_span  *d = &pl->drops[i - 1];

        if (d->to < c->ts_start) {
            break;                  /* older spans end earlier still */
        }
        if (d->from <= c->ts_end) {
            n += d->n;
        }
    }
    return n;
}


void
rd_pipeline_tick(struct rd_pipeline *pl, rd_usec_t now)
{
    pl->last_expiry = now;
    /* for a summary written while the capture goes on (live) */
    pl->stats.ooo_refused = rd_tcp_pool_refused(pl->pool);
    rd_flow_expire(pl->flows, now, (rd_usec_t) pl->cfg.idle_timeout * USEC,
                   (rd_usec_t) pl->cfg.closed_linger * USEC);
}


/* A finding whose verdict depends on the nginx version (1.23.0 rejects
 * a bad Content-Length and CL with TE, 1.29.4 a bare LF in chunks). */
static bool
version_dependent(const struct rd_conn *c)
{
    const struct rd_exchange  *e;
    uint32_t                   i;

    for (i = rd_conn_first_kept(c); i < c->nex; i++) {
        e = rd_conn_exchange(c, i);
        if (e != NULL
            && (e->findings & (1u << RD_HTTP1_BAD_CONTENT_LENGTH
                               | 1u << RD_HTTP1_CL_AND_TE
                               | 1u << RD_HTTP1_INVALID_CHUNKED)))
        {
            return true;
        }
    }
    return false;
}


/*
 * Both FINs sent and acknowledged, no RST, nothing held out of order,
 * nothing abnormal so far, and no upstream leg waiting to read it: no
 * later packet can change the record, so it need not linger.
 */
static bool
clean_close(const struct rd_conn *c)
{
    const struct rd_tcp_dir  *d, *p;
    int                       i;

    if (c->rst_total != 0 || c->peer_refs != 0) {
        return false;
    }
    /* a connection that carried no request and is paired with nothing
     * may be an attempt of nginx's (a TLS handshake it gave up) that the
     * client's 502, still on its way, pairs */
    if (c->npaired == 0 && c->nex == 0
        && (c->proto != RD_PROTO_TLS || c->app == NULL
            || c->app->tls->requests == 0))
    {
        return false;
    }
    for (i = 0; i < 2; i++) {
        d = &c->side[i].tcp;
        p = &c->side[1 - i].tcp;
        if (!d->fin || d->ooo_segs != 0 || !p->ack_seen
            || p->max_ack != d->fin_seq + 1)
        {
            return false;
        }
    }
    return !rd_conn_abnormal(c);
}


/* true when seg, which found no connection, is a late packet of one
 * finished after a clean close */
static bool
tomb_late(const struct rd_pipeline *pl, const struct rd_flow *f,
    const struct rd_seg *seg)
{
    uint32_t            h = tomb_hash(f);
    const struct tomb  *t = &pl->tombs[h & (pl->ntombs - 1)];
    int                 dir;
    uint32_t            end;

    if (t->hash != h
        || seg->ts - t->ts > (rd_usec_t) pl->cfg.closed_linger * USEC)
    {
        return false;
    }
    if (seg->sport == t->cport && seg->dport == t->sport) {
        dir = RD_CONN_CLIENT;
    } else if (seg->sport == t->sport && seg->dport == t->cport) {
        dir = RD_CONN_SERVER;
    } else {
        return false;
    }
    /* a retransmission lies below what the side had sent, data in
     * flight when an RST ended the connection a little above it */
    end = t->end[dir];
    return RD_SEQ_LEQ(seg->seq, end) ? end - seg->seq <= TOMB_SEQ_SPAN
                                     : seg->seq - end <= TOMB_SEQ_SPAN;
}


void
rd_pipeline_packet(struct rd_pipeline *pl, int dlt, const uint8_t *p,
    uint32_t caplen, uint32_t wirelen, rd_usec_t ts)
{
    struct rd_seg           seg;
    enum rd_decode_status   st;
    struct rd_flow         *f;
    bool                    created;

    pl->stats.packets++;
    pl->stats.bytes += caplen;
    if (pl->stats.packets == 1) {
        pl->stats.ts_first = ts;
        pl->last_expiry = ts;
    } else if (ts < pl->stats.ts_last) {
        pl->stats.ts_backwards++;
    }
    if (ts > pl->stats.ts_last || pl->stats.packets == 1) {
        pl->stats.ts_last = ts;
    }

    /* --evidence: the frame is noted here, not kept live in registers
     * across the calls below, so that without it the cost per packet is
     * two pointer tests and nothing else */
    if (pl->ev != NULL) {
        pl->ev_frame.data = p;
        /* the headers and the start of the payload tell the story; the
         * rest would be copied, and evicted from the caches, for nothing
         * (wirelen still says how long the packet was) */
        pl->ev_frame.caplen = pl->cfg.evidence_snaplen != 0
                              && caplen > pl->cfg.evidence_snaplen
                              ? pl->cfg.evidence_snaplen : caplen;
        pl->ev_frame.wirelen = wirelen;
        pl->ev_frame.dlt = dlt;
    }
    st = rd_decode(dlt, p, caplen, wirelen, ts, &seg);
    pl->stats.status[st < RD_DECODE_NSTATUS ? st : RD_DECODE_BAD_DLT]++;
    if (st != RD_DECODE_OK) {
        return;
    }
    pl->stats.tcp++;

    /* expiry runs once per second of packet time, not per packet */
    if (pl->stats.ts_last - pl->last_expiry >= USEC) {
        rd_pipeline_tick(pl, pl->stats.ts_last);
    }

    f = rd_flow_get(pl->flows, &seg, &created);
    if (created) {
        if (!(seg.flags & RD_TCP_SYN) && tomb_late(pl, f, &seg)) {
            rd_flow_discard(pl->flows, f);
            pl->stats.late++;
            return;
        }
        if ((seg.flags & (RD_TCP_SYN | RD_TCP_ACK)) == RD_TCP_SYN) {
            rd_legs_connect(pl->legs, &f->conn);
        }
    }
    /* the one per-packet cost of --evidence; a pointer test without */
    if (pl->ev != NULL) {
        rd_evstore_add(pl->ev, rd_flow_slot(pl->flows, f),
                       pl->ev_frame.dlt, seg.ts, pl->ev_frame.data,
                       pl->ev_frame.caplen, pl->ev_frame.wirelen, seg.sport,
                       seg.flags);
    }
    rd_conn_packet(&f->conn, &pl->env, &seg);
    /* with the nginx version still unknown, a verdict that depends on it
     * waits the linger: the client's answer (Server: nginx/x.y.z) is
     * usually on its way */
    if (f->conn.closed && clean_close(&f->conn)
        && (rd_legs_version(pl->legs) != 0 || !version_dependent(&f->conn)))
    {
        rd_flow_finish(pl->flows, f);
    }
}


void
rd_pipeline_finish(struct rd_pipeline *pl)
{
    rd_flow_flush(pl->flows, RD_END_CAPTURE);
    pl->stats.ooo_refused = rd_tcp_pool_refused(pl->pool);
}


const struct rd_pipeline_stats *
rd_pipeline_stats(const struct rd_pipeline *pl)
{
    return &pl->stats;
}


const struct rd_flow_stats *
rd_pipeline_flow_stats(const struct rd_pipeline *pl)
{
    return rd_flow_stats(pl->flows);
}


struct rd_legs *
rd_pipeline_legs(struct rd_pipeline *pl)
{
    return pl->legs;
}
