/*
 * pipeline: the per-packet path.  No allocation here after creation.
 */
#include <stdio.h>
#include <string.h>

#include "rstdiag/limits.h"
#include "rstdiag/pipeline.h"
#include "rstdiag/tcp.h"

#define USEC 1000000


struct rd_pipeline {
    const struct rd_alloc      *alloc;
    struct rd_pipeline_cfg      cfg;
    struct rd_flow_table       *flows;
    struct rd_tcp_pool         *pool;
    struct rd_legs             *legs;
    struct rd_app_pool         *apps;
    struct rd_conn_env          env;
    rd_pipeline_conn_cb         cb;
    void                       *ctx;
    rd_usec_t                   last_expiry;
    struct rd_pipeline_stats    stats;
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
}


static void
on_request(void *ctx, struct rd_conn *c, uint32_t ex)
{
    struct rd_pipeline  *pl = ctx;

    rd_legs_request(pl->legs, c, ex);
}


static int
proto_hint(void *ctx, const struct rd_conn *c)
{
    struct rd_pipeline  *pl = ctx;

    return rd_legs_is_fastcgi(pl->legs, c) ? RD_PROTO_FASTCGI : 0;
}


static void
on_response(void *ctx, struct rd_conn *c)
{
    struct rd_pipeline  *pl = ctx;

    rd_legs_response(pl->legs, c);
}


static void
conn_done(void *ctx, struct rd_flow *f, int why)
{
    struct rd_pipeline     *pl = ctx;
    struct rd_conn         *c = &f->conn;
    struct rd_verdict_ctx   x;
    struct rd_verdict       v;
    const struct rd_conn   *peer;
    int                     i;

    rd_conn_finish(c, &pl->env, why);
    c->leg = (uint8_t) rd_legs_classify(pl->legs, c);
    memset(&x, 0, sizeof(x));
    x.leg = c->leg;
    x.nginx_version = rd_legs_version(pl->legs);
    peer = c->peer_leg;
    if (peer != NULL && peer->id == c->peer_leg_id) {
        x.peer_known = true;
        x.peer_close_by = peer->close_by;
        x.peer_close_kind = peer->close_kind;
        x.peer_close_ts = peer->close_ts;
    }
    rd_verdict_classify(c, &x, &v);
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
    pl->cb(pl->ctx, c, &v);
    rd_conn_release(c, &pl->env);
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
    if (pl->flows == NULL || pl->pool == NULL || pl->legs == NULL
        || pl->apps == NULL)
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
    pl->env.on_response = on_response;
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
    pl->alloc->free(pl->alloc->ctx, pl);
}


void
rd_pipeline_tick(struct rd_pipeline *pl, rd_usec_t now)
{
    pl->last_expiry = now;
    rd_flow_expire(pl->flows, now, (rd_usec_t) pl->cfg.idle_timeout * USEC,
                   (rd_usec_t) pl->cfg.closed_linger * USEC);
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
    if (created && (seg.flags & (RD_TCP_SYN | RD_TCP_ACK)) == RD_TCP_SYN) {
        rd_legs_connect(pl->legs, &f->conn);
    }
    rd_conn_packet(&f->conn, &pl->env, &seg);
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
