/*
 * conn: per-connection TCP facts.  Roles, handshake, close order, RST
 * acceptability, sender fingerprints (TTL, IP ID).
 */
#include <stddef.h>
#include <string.h>

#include "rstdiag/conn.h"


const struct rd_tok  rd_close_kind_names[] = {
    { RD_CLOSE_NONE, "none" },
    { RD_CLOSE_FIN, "fin" },
    { RD_CLOSE_RST, "rst" },
    { 0, NULL }
};

const struct rd_tok  rd_proto_names[] = {
    { RD_PROTO_NONE, "none" },
    { RD_PROTO_HTTP, "http" },
    { RD_PROTO_FASTCGI, "fastcgi" },
    { RD_PROTO_TLS, "tls" },
    { 0, NULL }
};

const struct rd_tok  rd_phase_names[] = {
    { RD_PHASE_NONE, "none" },
    { RD_PHASE_CONNECT, "connect" },
    { RD_PHASE_SENDING_REQUEST, "sending_request" },
    { RD_PHASE_AWAITING_RESPONSE_HEADER, "awaiting_response_header" },
    { RD_PHASE_READING_RESPONSE_BODY, "reading_response_body" },
    { RD_PHASE_IDLE_KEEPALIVE, "idle_keepalive" },
    { RD_PHASE_AFTER_COMPLETE_RESPONSE, "after_complete_response" },
    { RD_PHASE_TLS_HANDSHAKE, "tls_handshake" },
    { 0, NULL }
};

const struct rd_tok  rd_conn_end_names[] = {
    { RD_END_CLOSED, "closed" },
    { RD_END_IDLE, "idle_timeout" },
    { RD_END_EVICTED, "evicted" },
    { RD_END_REUSED, "tuple_reused" },
    { RD_END_CAPTURE, "capture_end" },
    { 0, NULL }
};


/*
 * Guess which port is the service when no SYN told us: a port below 1024
 * wins, then a port below the Linux ephemeral range (32768), then the
 * lower port.  Returns true when dport looks like the server's.
 */
static bool
dport_is_service(uint16_t sport, uint16_t dport)
{
    if ((dport < 1024) != (sport < 1024)) {
        return dport < 1024;
    }
    if ((dport < 32768) != (sport < 32768)) {
        return dport < 32768;
    }
    return dport <= sport;
}


void
rd_conn_start(struct rd_conn *c, uint64_t id, const struct rd_seg *seg)
{
    bool  sender_is_client;

    memset(c, 0, sizeof(*c));
    c->id = id;
    c->af = seg->af;
    c->ts_start = seg->ts;
    c->ts_end = seg->ts;

    if ((seg->flags & (RD_TCP_SYN | RD_TCP_RST)) == RD_TCP_SYN) {
        sender_is_client = (seg->flags & RD_TCP_ACK) == 0;
    } else {
        c->roles_inferred = 1;
        sender_is_client = dport_is_service(seg->sport, seg->dport);
    }

    if (sender_is_client) {
        memcpy(c->ep[0].addr, seg->src, 16);
        c->ep[0].port = seg->sport;
        memcpy(c->ep[1].addr, seg->dst, 16);
        c->ep[1].port = seg->dport;
    } else {
        memcpy(c->ep[0].addr, seg->dst, 16);
        c->ep[0].port = seg->dport;
        memcpy(c->ep[1].addr, seg->src, 16);
        c->ep[1].port = seg->sport;
    }
}


int
rd_conn_dir(const struct rd_conn *c, const struct rd_seg *seg)
{
    if (seg->sport == c->ep[0].port
        && memcmp(seg->src, c->ep[0].addr, 16) == 0
        && (seg->dport != c->ep[1].port
            || memcmp(seg->dst, c->ep[1].addr, 16) == 0))
    {
        return RD_CONN_CLIENT;
    }
    return RD_CONN_SERVER;
}


bool
rd_conn_is_new_syn(const struct rd_conn *c, const struct rd_seg *seg)
{
    if ((seg->flags & (RD_TCP_SYN | RD_TCP_ACK | RD_TCP_RST)) != RD_TCP_SYN) {
        return false;
    }
    if (c->closed || (!c->syn && !c->synack)) {
        return true;
    }
    if (rd_conn_dir(c, seg) != RD_CONN_CLIENT) {
        return true;
    }
    return seg->seq != c->side[RD_CONN_CLIENT].tcp.isn;
}


static void
response_ended(struct rd_conn *c)
{
    if (c->peer_ref && c->env != NULL && c->env->on_response_end != NULL) {
        c->env->on_response_end(c->env->ctx, c);
    }
}


/* ---- the pool of application states -------------------------------- */

/* FastCGI parser state or the two TLS readers, in a slab of their own:
 * a connection speaks one or the other, and a slot's pages are touched
 * only as far as its state reaches */
union fcgi_slot {
    struct rd_fcgi          fcgi;
    struct rd_conn_tls      tls;
    union fcgi_slot        *next_free;
};

struct rd_app_pool {
    const struct rd_alloc  *alloc;
    struct rd_conn_app     *slab;
    uint32_t                n;
    uint32_t                fresh;      /* slab[fresh..n) never used */
    struct rd_conn_app     *free;
    union fcgi_slot        *fslab;
    uint32_t                ffresh;     /* fslab[ffresh..n) never used */
    union fcgi_slot        *ffree;
};


struct rd_app_pool *
rd_app_pool_create(const struct rd_alloc *a, uint32_t n)
{
    struct rd_app_pool  *pool;

    pool = a->calloc(a->ctx, 1, sizeof(*pool));
    if (pool == NULL) {
        return NULL;
    }
    pool->alloc = a;
    pool->n = n;
    /* zero pages (rd_big_calloc) handed out in order: pages are touched
     * only as connections with payload need them */
    pool->slab = rd_big_calloc(a, n ? n : 1, sizeof(struct rd_conn_app));
    pool->fslab = rd_big_calloc(a, n ? n : 1, sizeof(union fcgi_slot));
    if (pool->slab == NULL || pool->fslab == NULL) {
        rd_app_pool_destroy(pool);
        return NULL;
    }
    return pool;
}


void
rd_app_pool_destroy(struct rd_app_pool *pool)
{
    if (pool == NULL) {
        return;
    }
    rd_big_free(pool->alloc, pool->slab, pool->n ? pool->n : 1,
                sizeof(struct rd_conn_app));
    rd_big_free(pool->alloc, pool->fslab, pool->n ? pool->n : 1,
                sizeof(union fcgi_slot));
    pool->alloc->free(pool->alloc->ctx, pool);
}


static struct rd_conn_app *
app_get(struct rd_app_pool *pool)
{
    struct rd_conn_app  *a;

    if (pool == NULL) {
        return NULL;
    }
    if (pool->free != NULL) {
        a = pool->free;
        pool->free = a->next_free;
    } else if (pool->fresh < pool->n) {
        a = &pool->slab[pool->fresh++];
    } else {
        return NULL;
    }
    memset(a, 0, sizeof(*a));
    return a;
}


/* FastCGI parser state; the pool holds one per application state, so it
 * is never short when app_get was not */
static struct rd_fcgi *
fcgi_get(struct rd_app_pool *pool)
{
    union fcgi_slot  *f;

    if (pool->ffree != NULL) {
        f = pool->ffree;
        pool->ffree = f->next_free;
    } else if (pool->ffresh < pool->n) {
        f = &pool->fslab[pool->ffresh++];
    } else {
        return NULL;
    }
    return &f->fcgi;
}


/* The TLS readers' slot, from the same slab. */
static struct rd_conn_tls *
tls_get(struct rd_app_pool *pool)
{
    struct rd_fcgi  *f;

    f = fcgi_get(pool);
    return f != NULL ? &((union fcgi_slot *) (void *) f)->tls : NULL;
}


void
rd_conn_release(struct rd_conn *c, const struct rd_conn_env *env)
{
    union fcgi_slot  *f;

    if (c->app != NULL && env->apps != NULL) {
        if ((c->proto == RD_PROTO_FASTCGI && c->app->fcgi != NULL)
            || (c->proto == RD_PROTO_TLS && c->app->tls != NULL))
        {
            f = c->proto == RD_PROTO_TLS ? (union fcgi_slot *) (void *) c->app->tls
                                         : (union fcgi_slot *) (void *) c->app->fcgi;
            f->next_free = env->apps->ffree;
            env->apps->ffree = f;
        }
        c->app->next_free = env->apps->free;
        env->apps->free = c->app;
    }
    c->app = NULL;
}


/* ---- HTTP: the two parsers and the exchange ring ---------------------- */

static struct rd_exchange *
ex_at(struct rd_conn *c, uint32_t i)
{
    if (c->app == NULL || i >= c->nex || c->nex - i > RD_LIMITS_EXCHANGES_KEEP) {
        return NULL;
    }
    return &c->app->ex[i % RD_LIMITS_EXCHANGES_KEEP];
}


const struct rd_exchange *
rd_conn_exchange(const struct rd_conn *c, uint32_t i)
{
    return ex_at((struct rd_conn *) c, i);
}


bool
rd_exchange_bad_framing(const struct rd_exchange *e)
{
    uint32_t  bad;

    bad = 1u << RD_HTTP1_TRUNCATED | 1u << RD_HTTP1_EXCESS
          | 1u << RD_HTTP1_INVALID_CHUNKED | 1u << RD_HTTP1_CL_AND_TE
          | 1u << RD_HTTP1_BAD_CONTENT_LENGTH
          | 1u << RD_HTTP1_CHUNKED_TO_HTTP10
          | 1u << RD_HTTP1_HEADER_OVERFLOW;
    return (e->findings & bad) != 0;
}


static struct rd_exchange *
ex_new(struct rd_conn *c)
{
    rd_require(c->app != NULL);
    struct rd_exchange  *e;

    e = &c->app->ex[c->nex % RD_LIMITS_EXCHANGES_KEEP];
    memset(e, 0, sizeof(*e));
    e->content_length = -1;
    c->nex++;
    return e;
}


static void
on_request(struct rd_conn *c, const struct rd_http1 *p,
    const struct rd_http1_msg *m, int event)
{
    struct rd_exchange  *e;

    if (event == RD_HTTP1_EV_BEGIN) {
        e = ex_new(c);
        e->has_req = 1;
        e->req_start = m->ts_begin;
        return;
    }
    e = c->nex > 0 ? ex_at(c, c->nex - 1) : NULL;
    if (e == NULL || !e->has_req) {
        return;
    }
    if (event == RD_HTTP1_EV_HEADERS) {
        e->version = (uint8_t) m->version;
        e->req_header_bytes = m->header_bytes;
        e->method_len = m->method_len;
        memcpy(e->method, m->method, m->method_len);
        e->target_len = m->target_len;
        memcpy(e->target, m->target, m->target_len);
        e->head = rd_http1_method_is(m, "HEAD");
        e->req_keep_alive = m->keep_alive;
        e->fwd_af = m->fwd_af;
        memcpy(e->fwd_addr, m->fwd_addr, sizeof(e->fwd_addr));
        e->fwd_port = m->fwd_port;
        e->req_id = m->req_id;
        rd_http1_push_request(&c->app->http[RD_CONN_SERVER], e->head,
                              rd_http1_method_is(m, "CONNECT"),
                              m->version);
        if (c->env != NULL && c->env->on_request != NULL) {
            c->env->on_request(c->env->ctx, c, c->nex - 1);
        }
    } else if (event == RD_HTTP1_EV_END) {
        e->req_done = 1;
        e->req_end = m->ts_end;
        e->req_framing = (uint8_t) m->primary;
        e->req_findings = m->findings;
        e->req_body_bytes = m->body_bytes;
    }
    (void) p;
}


static void
on_response(struct rd_conn *c, const struct rd_http1 *p,
    const struct rd_http1_msg *m, int event)
{
    struct rd_exchange  *e;

    (void) p;
    if (event == RD_HTTP1_EV_BEGIN) {
        return;                     /* wait for the status to know 1xx */
    }
    if (event == RD_HTTP1_EV_HEADERS) {
        if (m->server_len > 0) {
            c->app->server_len = m->server_len;
            memcpy(c->app->server_hdr, m->server, m->server_len);
        }
        if (m->bad_cl_len > 0 && c->app->bad_cl_len == 0) {
            c->app->bad_cl_len = m->bad_cl_len;
            memcpy(c->app->bad_cl, m->bad_cl, m->bad_cl_len);
        }
        if ((m->flags & RD_HTTP1_F_INFORMATIONAL) && m->status != 101) {
            e = ex_at(c, c->next_resp);
            if (e != NULL) {
                e->interim++;
            }
            return;                 /* 100 Continue: the answer follows */
        }
        if (c->next_resp >= c->nex) {
            /* a response to a request the capture did not hold */
            c->next_resp = c->nex;
            ex_new(c);
        }
        e = ex_at(c, c->next_resp);
        if (e == NULL) {
            return;
        }
        e->has_resp = 1;
        e->resp_start = m->ts_begin;
        e->status = (uint16_t) m->status;
        e->resp_version = (uint8_t) m->version;
        e->content_length = m->content_length;
        e->header_bytes = m->header_bytes;
        e->findings = m->findings;      /* so far: the header's */
        e->chunked = (m->flags & RD_HTTP1_F_CHUNKED) != 0;
        /* reuse needs both sides to agree (RFC 9112 §9.3): an HTTP/1.0
         * request without keep-alive closes after any answer */
        e->keep_alive = m->keep_alive && (!e->has_req || e->req_keep_alive);
        if (c->env != NULL && c->env->on_response != NULL) {
            c->env->on_response(c->env->ctx, c, c->next_resp);
        }
        return;
    }
    if (event != RD_HTTP1_EV_END && event != RD_HTTP1_EV_EXCESS) {
        return;
    }
    if ((m->flags & RD_HTTP1_F_INFORMATIONAL) && m->status != 101) {
        return;
    }
    e = ex_at(c, event == RD_HTTP1_EV_EXCESS && c->next_resp > 0
                 ? c->next_resp - 1 : c->next_resp);
    if (e != NULL && !e->has_resp && event == RD_HTTP1_EV_END
        && (m->flags & RD_HTTP1_F_HEADERS_DONE) == 0
        && (m->findings & (1u << RD_HTTP1_HEADER_OVERFLOW
                           | 1u << RD_HTTP1_INCOMPLETE)) != 0)
    {
        /* the header block failed (overflow, syntax error) before
         * RD_HTTP1_EV_HEADERS: the response still happened */
        e->has_resp = 1;
        e->resp_start = m->ts_begin;
        e->status = (uint16_t) (m->status >= 100 ? m->status : 0);
        e->resp_version = (uint8_t) m->version;
        e->header_bytes = m->header_bytes;
    }
    if (e != NULL && e->has_resp) {
        e->resp_end = m->ts_end;
        e->body_bytes = m->body_bytes;
        e->findings = m->findings;
        e->bare_lf_chunks = (m->findings & (1u << RD_HTTP1_INVALID_CHUNKED))
                            && (m->flags & RD_HTTP1_F_CHUNK_BARE_LF)
                            && !(m->flags & RD_HTTP1_F_CHUNK_HARD);
        e->framing = (uint8_t) m->primary;
        e->framing_off = m->finding_off[m->primary];
        if (event == RD_HTTP1_EV_END) {
            e->resp_done = 1;
            response_ended(c);
        }
    }
    if (event == RD_HTTP1_EV_END) {
        if (m->findings & (1u << RD_HTTP1_COMPLETE)) {
            c->served++;
        }
        c->next_resp++;
    }
}


static void
on_http(void *ctx, const struct rd_http1 *p, const struct rd_http1_msg *m,
    int event)
{
    struct rd_conn  *c = ctx;

    if (p->type == RD_HTTP1_REQUEST) {
        on_request(c, p, m, event);
    } else {
        on_response(c, p, m, event);
    }
}


/*
 * Does a stream whose start was not captured begin with a message here?
 * A response must start "HTTP/", a request with an upper-case token and
 * a space; anything else is the middle of a message.
 */
static bool
looks_like_start(int dir, const uint8_t *p, size_t len)
{
    size_t  i;

    if (dir == RD_CONN_SERVER) {
        return len >= 5 && memcmp(p, "HTTP/", 5) == 0;
    }
    for (i = 0; i < len && i < 16; i++) {
        if (p[i] == ' ') {
            return i > 0;
        }
        if (p[i] < 'A' || p[i] > 'Z') {
            return false;
        }
    }
    return false;
}


/* ---- FastCGI: the record parser's exchanges into the ring ---------- */

static uint32_t
fcgi_to_http1_findings(uint32_t f)
{
    uint32_t  h = 0;

    if (f & (1u << RD_FCGI_COMPLETE)) {
        h |= 1u << RD_HTTP1_COMPLETE;
    }
    if (f & (1u << RD_FCGI_TRUNCATED)) {
        h |= 1u << RD_HTTP1_TRUNCATED;
    }
    if (f & (1u << RD_FCGI_INCOMPLETE)) {
        h |= 1u << RD_HTTP1_INCOMPLETE;
    }
    if (f & (1u << RD_FCGI_UNKNOWN_GAP)) {
        h |= 1u << RD_HTTP1_UNKNOWN_GAP;
    }
    if (f & (1u << RD_FCGI_HEADER_OVERFLOW)) {
        h |= 1u << RD_HTTP1_HEADER_OVERFLOW;
    }
    return h;
}


static int
fcgi_primary(int p)
{
    switch (p) {
    case RD_FCGI_TRUNCATED:
        return RD_HTTP1_TRUNCATED;
    case RD_FCGI_INCOMPLETE:
        return RD_HTTP1_INCOMPLETE;
    case RD_FCGI_UNKNOWN_GAP:
        return RD_HTTP1_UNKNOWN_GAP;
    case RD_FCGI_HEADER_OVERFLOW:
        return RD_HTTP1_HEADER_OVERFLOW;
    default:
        return RD_HTTP1_COMPLETE;
    }
}


static void
on_fcgi(void *ctx, const struct rd_fcgi *p, const struct rd_fcgi_exchange *x,
    int event)
{
    struct rd_conn      *c = ctx;
    struct rd_exchange  *e;

    (void) p;
    if (x == NULL) {
        return;                     /* a direction stopped: nothing to file */
    }
    if (event == RD_FCGI_EV_BEGIN) {
        if (x->seq > c->nex + RD_LIMITS_EXCHANGES_KEEP) {
            c->nex = x->seq - RD_LIMITS_EXCHANGES_KEEP;
        }
        while (c->nex <= x->seq) {
            ex_new(c);
        }
    }
    e = ex_at(c, x->seq);
    if (e == NULL) {
        return;
    }
    e->has_req = 1;
    e->req_start = x->ts_begin;
    if (x->method_len > 0) {
        e->method_len = x->method_len;
        memcpy(e->method, x->method, x->method_len);
    }
    if (x->target_len > 0) {
        e->target_len = (uint8_t) RD_MIN(x->target_len, RD_HTTP1_TARGET_LEN);
        memcpy(e->target, x->target, e->target_len);
    }
    e->fwd_af = x->remote_af;
    memcpy(e->fwd_addr, x->remote_addr, sizeof(e->fwd_addr));
    e->fwd_port = x->remote_af != 0 ? x->remote_port : 0;
    e->keep_alive = (x->begin_flags & RD_FCGI_KEEP_CONN) != 0;
    if (x->proto_len == 8 && memcmp(x->proto, "HTTP/1.", 7) == 0
        && (x->proto[7] == '0' || x->proto[7] == '1'))
    {
        e->version = (uint8_t) (10 + (x->proto[7] - '0'));  /* the client's */
    }
    e->stderr_seen = (x->findings & (1u << RD_FCGI_STDERR_SEEN)) != 0;
    e->invalid_record = (x->findings & (1u << RD_FCGI_INVALID_RECORD)) != 0;
    if (x->ts_resp != 0) {
        e->resp_start = x->ts_resp;
    }

    switch (event) {
    case RD_FCGI_EV_REQUEST_DONE:
        e->req_done = 1;
        e->req_end = x->ts_req_done;
        e->req_body_bytes = x->stdin_bytes;
        e->req_framing = RD_HTTP1_COMPLETE;
        e->req_header_bytes = x->params_bytes;
        if (c->env != NULL && c->env->on_request != NULL) {
            c->env->on_request(c->env->ctx, c, x->seq);
        }
        break;
    case RD_FCGI_EV_HEADERS:
        e->has_resp = 1;
        e->status = x->status;
        e->content_length = x->content_length;
        e->header_bytes = x->header_bytes;
        if (c->env != NULL && c->env->on_response != NULL) {
            c->env->on_response(c->env->ctx, c, x->seq);
        }
        break;
    case RD_FCGI_EV_END:
        e->resp_end = x->ts_end;
        e->body_bytes = x->body_bytes;
        e->findings = fcgi_to_http1_findings(x->findings);
        e->framing = (uint8_t) fcgi_primary(x->primary);
        if (x->findings & (1u << RD_FCGI_HEADER_OVERFLOW)) {
            e->has_resp = 1;        /* a response too big to be read */
            e->header_bytes = RD_MAX(e->header_bytes, x->stdout_bytes);
        }
        if (e->has_resp) {
            e->resp_done = 1;
            response_ended(c);
        }
        if (x->findings & (1u << RD_FCGI_COMPLETE)) {
            c->served++;
        }
        if (c->next_resp <= x->seq) {
            c->next_resp = x->seq + 1;
        }
        break;
    default:
        break;
    }
}


/* ---- TLS: the record-layer readers and the inferred turns ---------- */

static void
note_notify(struct rd_conn_tls *t, int dir, rd_usec_t ts)
{
    if (!t->notify[dir]) {
        t->notify[dir] = 1;
        t->notify_ts[dir] = ts;
    }
}


static void
on_tls(void *ctx, const struct rd_tls *p, int ev)
{
    struct rd_conn      *c = ctx;
    struct rd_conn_tls  *t = c->app->tls;
    int                  dir = p->dir;

    if (ev == RD_TLS_EV_ALERT && t->alert_by == 2) {
        t->alert_by = (uint8_t) dir;
        t->alert_level = p->alert_level;
        t->alert_desc = p->alert_desc;
        return;
    }
    if (ev == RD_TLS_EV_ENC_ALERT) {
        note_notify(t, dir, p->ts_last_record);     /* TLS <= 1.2: an
                                                     * encrypted alert */
        return;
    }
    if (ev != RD_TLS_EV_APPDATA) {
        return;
    }
    if (rd_tls_probable_close_notify(p) == 1) {
        note_notify(t, dir, p->ts_last_appdata);    /* an alert's size:
                                                     * not a turn */
        return;
    }
    if (dir == RD_CONN_SERVER && t->responses == 0 && t->tickets < 2
        && p->version == RD_TLS_V13 && p->appdata_records <= 2
        && p->last_len <= RD_CONN_TLS_TICKET_MAX
        && (t->tickets == 0 || p->last_len == t->ticket_len))
    {
        t->tickets++;               /* a NewSessionTicket, most likely */
        t->ticket_len = (uint16_t) p->last_len;
        return;
    }
    if (dir == RD_CONN_CLIENT) {
        t->req_last_ts = p->ts_last_appdata;
        if (t->last_dir != RD_CONN_CLIENT) {
            t->requests++;
            t->req_ts = p->ts_last_appdata;
            t->last_dir = RD_CONN_CLIENT;
            if (c->env != NULL && c->env->on_tls_turn != NULL) {
                c->env->on_tls_turn(c->env->ctx, c);
            }
        }
    } else {
        if (t->last_dir == RD_CONN_CLIENT) {
            t->responses++;
            t->resp_ts = p->ts_last_appdata;
        }
        t->resp_last_ts = p->ts_last_appdata;
    }
    t->last_dir = (uint8_t) dir;
}


/* tls_start() zeroes what follows the readers */
_Static_assert(offsetof(struct rd_conn_tls, dir) == 0,
               "struct rd_conn_tls begins with its readers");


static void
tls_start(struct rd_conn *c, struct rd_conn_tls *t)
{
    /* the fields after the two readers; rd_tls_init() zeroes each
     * reader but its 4 KiB hello buffer, which only a hello fills */
    memset((uint8_t *) t + sizeof(t->dir), 0, sizeof(*t) - sizeof(t->dir));
    t->last_dir = 2;
    t->alert_by = 2;
    rd_tls_init(&t->dir[RD_CONN_CLIENT], RD_TLS_CLIENT, on_tls, c);
    rd_tls_init(&t->dir[RD_CONN_SERVER], RD_TLS_SERVER, on_tls, c);
    rd_tls_pair(&t->dir[RD_CONN_CLIENT], &t->dir[RD_CONN_SERVER]);
}


/* true once the TLS handshake completed (see tls.h, "Completion") */
bool
rd_conn_tls_established(const struct rd_conn *c)
{
    const struct rd_conn_tls  *t;

    if (c->proto != RD_PROTO_TLS || c->app == NULL) {
        return false;
    }
    t = c->app->tls;
    if (t->dir[RD_CONN_SERVER].version == RD_TLS_V13) {
        return t->dir[RD_CONN_CLIENT].finished;
    }
    return t->dir[RD_CONN_CLIENT].finished && t->dir[RD_CONN_SERVER].finished;
}


/* c's ClientHello is not one nginx sends upstream: it offered ALPN with
 * http/1.1, as user agents do (curl, browsers), where nginx's HTTP/1
 * proxy offers no ALPN and its HTTP/2 and gRPC proxies h2 alone; or it
 * is malformed, or SSLv2-style. */
bool
rd_conn_tls_user_agent(const struct rd_conn *c)
{
    const struct rd_tls  *h;
    size_t                i;

    if (c->proto != RD_PROTO_TLS || c->app == NULL) {
        return false;
    }
    h = &c->app->tls->dir[RD_CONN_CLIENT];
    if (h->flags & (RD_TLS_F_HELLO_BAD | RD_TLS_F_SSL2_HELLO)) {
        return true;                /* OpenSSL in nginx writes neither */
    }
    for (i = 0; i + 8 <= h->alpn_len && i + 8 <= sizeof(h->alpn); i++) {
        if (memcmp(h->alpn + i, "http/1.1", 8) == 0
            && (i == 0 || h->alpn[i - 1] == ',')
            && (i + 8 == h->alpn_len || h->alpn[i + 8] == ','))
        {
            return true;
        }
    }
    return false;
}


/* Phase of a TLS connection at its first close, from the record flow. */
static int
tls_phase_now(const struct rd_conn *c, rd_usec_t ts)
{
    const struct rd_conn_tls  *t = c->app->tls;

    if (!rd_conn_tls_established(c)) {
        return RD_PHASE_TLS_HANDSHAKE;
    }
    if (t->last_dir == RD_CONN_CLIENT) {
        return RD_PHASE_AWAITING_RESPONSE_HEADER;
    }
    if (t->last_dir == RD_CONN_SERVER
        && ts - t->resp_last_ts < RD_CONN_TLS_BODY_GAP)
    {
        return RD_PHASE_READING_RESPONSE_BODY;
    }
    return RD_PHASE_IDLE_KEEPALIVE;
}


/* The first payload byte decides what the connection speaks. */
static void
decide_proto(struct rd_conn *c, int dir, const uint8_t *p, size_t len)
{
    const struct rd_conn_env  *env = c->env;
    bool                       fastcgi;

    c->app = app_get(env != NULL ? env->apps : NULL);
    if (c->app == NULL) {
        c->proto = RD_PROTO_NONE;
        c->no_app = 1;              /* followed at the TCP level only */
        return;
    }
    fastcgi = env != NULL && env->proto_hint != NULL
              && env->proto_hint(env->ctx, c) == RD_PROTO_FASTCGI;
    if (!fastcgi && dir == RD_CONN_CLIENT && p != NULL) {
        fastcgi = rd_fcgi_sniff(p, len);
    }
    if (!fastcgi && dir == RD_CONN_CLIENT && p != NULL
        && rd_tls_looks_like(p, len) > 0)
    {
        c->app->tls = tls_get(env->apps);
        if (c->app->tls == NULL) {
            rd_conn_release(c, env);
            c->proto = RD_PROTO_NONE;
            c->no_app = 1;
            return;
        }
        c->proto = RD_PROTO_TLS;
        tls_start(c, c->app->tls);
        return;
    }
    if (fastcgi) {
        c->app->fcgi = fcgi_get(env->apps);
        if (c->app->fcgi == NULL) {
            rd_conn_release(c, env);
            c->proto = RD_PROTO_NONE;
            c->no_app = 1;
            return;
        }
        c->proto = RD_PROTO_FASTCGI;
        rd_fcgi_init(c->app->fcgi, 0, on_fcgi, c);
        return;
    }
    c->proto = RD_PROTO_HTTP;
    rd_http1_init(&c->app->http[RD_CONN_CLIENT], RD_HTTP1_REQUEST,
                  env != NULL ? env->max_header_bytes : 0, on_http, c);
    rd_http1_init(&c->app->http[RD_CONN_SERVER], RD_HTTP1_RESPONSE,
                  env != NULL ? env->max_header_bytes : 0, on_http, c);
}


static void
sink_data(void *ctx, int dir, const uint8_t *p, size_t len, rd_usec_t ts)
{
    struct rd_conn  *c = ctx;

    if (c->proto == RD_PROTO_NONE) {
        if (c->no_app) {
            return;
        }
        decide_proto(c, dir, p, len);
        if (c->app == NULL) {
            return;
        }
    }
    if (c->proto == RD_PROTO_FASTCGI) {
        rd_fcgi_feed(c->app->fcgi, dir, p, len, ts);
        return;
    }
    if (c->proto == RD_PROTO_TLS) {
        (void) rd_tls_feed(&c->app->tls->dir[dir], p, len, ts);
        return;
    }
    if (!c->side[dir].tcp.syn && c->app->http[dir].offset == 0
        && !looks_like_start(dir, p, len))
    {
        /* joined mid-message: say so rather than misread the bytes */
        rd_http1_gap(&c->app->http[dir], 1);
    }
    rd_http1_feed(&c->app->http[dir], p, len, ts);
}


static void
sink_gap(void *ctx, int dir, uint64_t n, rd_usec_t ts)
{
    struct rd_conn  *c = ctx;

    (void) ts;
    if (c->proto == RD_PROTO_NONE) {
        if (c->no_app) {
            return;
        }
        decide_proto(c, dir, NULL, 0);
        if (c->app == NULL) {
            return;
        }
    }
    if (c->proto == RD_PROTO_FASTCGI) {
        rd_fcgi_gap(c->app->fcgi, dir, n);
        return;
    }
    if (c->proto == RD_PROTO_TLS) {
        rd_tls_gap(&c->app->tls->dir[dir], n);
        return;
    }
    rd_http1_gap(&c->app->http[dir], n);
}


static void
stream_sink(struct rd_conn *c, const struct rd_conn_env *env,
    struct rd_tcp_sink *sink)
{
    c->env = env;
    sink->data = sink_data;
    sink->gap = sink_gap;
    sink->ctx = c;
}


static int
fcgi_phase_now(const struct rd_conn *c)
{
    switch (rd_fcgi_phase(c->app->fcgi)) {
    case RD_FCGI_PH_SENDING_REQUEST:
        return RD_PHASE_SENDING_REQUEST;
    case RD_FCGI_PH_AWAITING_RESPONSE_HEADER:
        return RD_PHASE_AWAITING_RESPONSE_HEADER;
    case RD_FCGI_PH_READING_RESPONSE_BODY:
        return RD_PHASE_READING_RESPONSE_BODY;
    case RD_FCGI_PH_AFTER_COMPLETE_RESPONSE:
        return RD_PHASE_AFTER_COMPLETE_RESPONSE;
    default:
        return RD_PHASE_IDLE_KEEPALIVE;
    }
}


/* Phase of the exchange now (called at the first close). */
static int
phase_now(const struct rd_conn *c, int dir, int kind, rd_usec_t ts)
{
    const struct rd_exchange  *last;
    enum rd_http1_phase        rq, rs;

    if (c->syn && !c->established && c->nex == 0) {
        return RD_PHASE_CONNECT;
    }
    if (c->proto == RD_PROTO_NONE) {
        return c->syn && !c->established ? RD_PHASE_CONNECT
                                         : RD_PHASE_IDLE_KEEPALIVE;
    }
    if (c->proto == RD_PROTO_FASTCGI) {
        return fcgi_phase_now(c);
    }
    if (c->proto == RD_PROTO_TLS) {
        return tls_phase_now(c, ts);
    }
    rq = rd_http1_phase(&c->app->http[RD_CONN_CLIENT]);
    rs = rd_http1_phase(&c->app->http[RD_CONN_SERVER]);
    if (rq == RD_HTTP1_PH_HEADER || rq == RD_HTTP1_PH_BODY) {
        return RD_PHASE_SENDING_REQUEST;
    }
    if ((rs == RD_HTTP1_PH_STOPPED || rs == RD_HTTP1_PH_LOST)
        && (c->app->http[RD_CONN_SERVER].msg.flags & RD_HTTP1_F_HEADERS_DONE)
        && c->next_resp < c->nex)
    {
        /* the body broke the framing (bad chunk line, capture gap) */
        return RD_PHASE_READING_RESPONSE_BODY;
    }
    if (rs == RD_HTTP1_PH_BODY) {
        /* the server's FIN is how a close-delimited body ends */
        if (dir == RD_CONN_SERVER && kind == RD_CLOSE_FIN
            && (c->app->http[RD_CONN_SERVER].msg.findings
                & (1u << RD_HTTP1_CLOSE_DELIMITED)))
        {
            return RD_PHASE_AFTER_COMPLETE_RESPONSE;
        }
        return RD_PHASE_READING_RESPONSE_BODY;
    }
    if (c->next_resp < c->nex) {
        return RD_PHASE_AWAITING_RESPONSE_HEADER;
    }
    last = c->nex > 0 ? rd_conn_exchange(c, c->nex - 1) : NULL;
    if (last != NULL && last->has_resp
        && (rs == RD_HTTP1_PH_STOPPED || rs == RD_HTTP1_PH_LOST)
        && (last->findings & (1u << RD_HTTP1_INVALID_CHUNKED
                              | 1u << RD_HTTP1_UNKNOWN_GAP)))
    {
        /* the parser gave up inside the body: nginx did too */
        return RD_PHASE_READING_RESPONSE_BODY;
    }
    if (last != NULL && last->has_resp && !last->keep_alive) {
        return RD_PHASE_AFTER_COMPLETE_RESPONSE;
    }
    return RD_PHASE_IDLE_KEEPALIVE;
}


/*
 * The sender's fingerprint: TTL range and IP IDs of its packets other
 * than RSTs, so that an RST can be compared against them.
 */
static void
note_sender(struct rd_conn_side *s, const struct rd_seg *seg)
{
    if (s->tcp.pkts == 0) {
        s->first_ts = seg->ts;
        s->ip_v4 = seg->af == 4;
    }
    if (seg->flags & RD_TCP_RST) {
        return;
    }
    if (s->ttl_samples == 0) {
        s->ttl_first = seg->ttl;
        s->ttl_min = seg->ttl;
        s->ttl_max = seg->ttl;
        s->ip_id_first = seg->ip_id;
    }
    s->ttl_samples++;
    if (seg->ttl < s->ttl_min) {
        s->ttl_min = seg->ttl;
    }
    if (seg->ttl > s->ttl_max) {
        s->ttl_max = seg->ttl;
    }
    s->ip_id_last = seg->ip_id;
}


static void
note_close(struct rd_conn *c, int dir, int kind, rd_usec_t ts)
{
    if (c->close_kind == RD_CLOSE_NONE) {
        c->close_kind = (uint8_t) kind;
        c->close_by = (uint8_t) dir;
        c->close_ts = ts;
        c->phase = (uint8_t) phase_now(c, dir, kind, ts);
        c->served_at_close = c->served;
        if (c->proto == RD_PROTO_TLS && c->app != NULL) {
            /* responses done: every server turn before the client's
             * latest, and the last one too once the client spoke again
             * or the connection went idle */
            const struct rd_conn_tls  *t = c->app->tls;

            c->served_at_close = t->last_dir == RD_CONN_CLIENT
                                     || c->phase == RD_PHASE_IDLE_KEEPALIVE
                                 ? t->responses
                                 : (t->responses > 0 ? t->responses - 1 : 0);
        }
        /* was the receiver's window shut when this side gave up? */
        if (c->has_zw) {
            rd_tcp_zw_peer_closed(&c->side[1 - dir].tcp,
                                  &c->cold->zw[1 - dir], ts,
                                  &c->cold->zw_close);
        }
    }
}


/*
 * A segment from dir that advertises window 0, or that meets a shut
 * window on either side (called only then): open or close dir's episode,
 * count a probe to the peer.  SYNs carry no usable window here.
 */
static void
zero_window(struct rd_conn *c, int dir, const struct rd_seg *seg)
{
    struct rd_tcp_dir  *s = &c->side[dir].tcp;

    if (seg->flags & RD_TCP_SYN) {
        return;
    }
    if (rd_tcp_zw_changes(s, seg->win)) {
        if (!c->has_zw) {
            memset(c->cold->zw, 0, sizeof(c->cold->zw));
            memset(&c->cold->zw_close, 0, sizeof(c->cold->zw_close));
            c->has_zw = 1;
        }
        rd_tcp_zw_window(s, &c->cold->zw[dir], s->win, seg->ts);
        c->zw_shut = (uint8_t) (c->side[0].tcp.zw + c->side[1].tcp.zw);
    }
    if (c->side[1 - dir].tcp.zw) {
        rd_tcp_zw_probe(&c->cold->zw[1 - dir], seg);
    }
}


/*
 * Judge an RST against what its receiver last told us (RFC 9293
 * §3.10.7.4, with the RFC 5961 rule it adopted): in SYN-SENT the RST must
 * acknowledge the SYN; otherwise it is acceptable when its sequence number
 * lies in the receive window, and takes effect at once only when it equals
 * RCV.NXT exactly (in window but not exact draws a challenge ACK).
 */
static void
judge_rst(struct rd_conn *c, int dir, const struct rd_seg *seg,
    struct rd_conn_rst *r)
{
    struct rd_conn_side  *s, *peer;
    uint32_t              rcv_nxt, wnd;
    bool                  known;

    s = &c->side[dir];
    peer = &c->side[1 - dir];

    r->ts = seg->ts;
    r->seq = seg->seq;
    r->payload_len = seg->payload_len;
    r->by = (uint8_t) dir;
    r->ttl = seg->ttl;
    r->ip_id = seg->ip_id;
    r->after_fin = s->tcp.fin;

    if (dir == RD_CONN_SERVER && c->syn && !c->synack && !c->established) {
        /* answer to the client's SYN: the receiver is in SYN-SENT */
        r->answers_syn = 1;
        r->known = 1;
        r->acceptable = (seg->flags & RD_TCP_ACK)
                        && seg->ack == c->side[RD_CONN_CLIENT].tcp.isn + 1;
        r->exact = r->acceptable;
        return;
    }

    known = true;
    if (s->tcp.init) {
        rcv_nxt = s->tcp.snd_max;
    } else if (peer->tcp.ack_seen) {
        rcv_nxt = peer->tcp.max_ack;
    } else {
        rcv_nxt = seg->seq;
        known = false;
    }
    if (peer->tcp.ack_seen && RD_SEQ_GT(peer->tcp.max_ack, rcv_nxt)) {
        /* the receiver acknowledged more than we saw sent: trust it */
        rcv_nxt = peer->tcp.max_ack;
    }

    if (peer->tcp.pkts == 0) {
        wnd = 65535;
        known = false;
    } else if (c->syn && c->synack) {
        wnd = peer->tcp.win;
    } else {
        /* no handshake seen: the scale is unknown, assume the largest */
        wnd = (uint32_t) RD_MIN((uint64_t) peer->tcp.win << 14,
                                (uint64_t) 1 << 30);
    }

    r->known = known;
    /* an RST made in reply to a segment takes its sequence number from
     * that segment's ACK (RFC 9293 §3.5.2): the receiver's own RCV.NXT */
    r->exact = seg->seq == rcv_nxt
               || (peer->tcp.ack_seen && seg->seq == peer->tcp.max_ack);
    r->acceptable = r->exact
                    || (RD_SEQ_GEQ(seg->seq, rcv_nxt)
                        && RD_SEQ_LT(seg->seq, rcv_nxt + wnd));
    if (peer->tcp.ack_seen && s->tcp.init) {
        r->unacked = (uint32_t) RD_MAX(0, RD_SEQ_DIFF(s->tcp.snd_max,
                                                      peer->tcp.max_ack));
    }
    if (s->tcp.ack_seen && peer->tcp.init) {
        r->unread_peer = (uint32_t) RD_MAX(0, RD_SEQ_DIFF(peer->tcp.snd_max,
                                                          s->tcp.max_ack));
    }
}


void
rd_conn_packet(struct rd_conn *c, const struct rd_conn_env *env,
    const struct rd_seg *seg)
{
    int                   dir;
    struct rd_conn_side  *s, *peer;
    struct rd_conn_rst    r;
    struct rd_tcp_sink    sink;
    uint32_t              retrans, ooo;
    uint8_t               shift;

    c->env = env;
    dir = rd_conn_dir(c, seg);
    s = &c->side[dir];
    peer = &c->side[1 - dir];
    if (seg->ts > c->ts_end) {
        c->ts_end = seg->ts;
    }
    note_sender(s, seg);

    if (seg->flags & RD_TCP_RST) {
        memset(&r, 0, sizeof(r));
        judge_rst(c, dir, seg, &r);
        if (r.answers_syn && r.acceptable) {
            c->refused = 1;
        }
        if (c->nrst < RD_LIMITS_RST_KEEP) {
            c->cold->rst[c->nrst++] = r;
        }
        c->rst_total++;
        s->tcp.pkts++;
        /* an RST the receiver drops (outside the window) or answers with a
         * challenge ACK (in the window, not exact: RFC 5961 §3.2) does not
         * end the connection; one we cannot judge is taken at its word */
        if (r.exact || !r.known) {
            note_close(c, dir, RD_CLOSE_RST, seg->ts);
            c->closed = 1;
            s->sent_rst = 1;
        }
        return;
    }

    /* a sender whose own RST took effect has no socket left: data or a
     * FIN from it afterwards means someone else sent that RST */
    if (s->sent_rst && !(seg->flags & RD_TCP_SYN)
        && (seg->payload_len > 0 || (seg->flags & RD_TCP_FIN)))
    {
        s->after_rst++;
    }

    if (seg->flags & RD_TCP_SYN) {
        s->syns++;
        if (s->syn_ts == 0) {
            s->syn_ts = seg->ts;
        }
        if (!s->tcp.syn) {
            s->tcp.syn = 1;
            s->tcp.isn = seg->seq;
            s->tcp.wscale = seg->opts.has_wscale
                            ? (uint8_t) RD_MIN(seg->opts.wscale, 14) : 0;
            s->tcp.ws_ok = seg->opts.has_wscale;
        }
        if (seg->flags & RD_TCP_ACK) {
            if (dir == RD_CONN_SERVER) {
                c->synack = 1;
                if (!peer->tcp.syn) {
                    /* the ISN the SYN/ACK acknowledges, so that the
                     * client's SYN retransmission is recognised */
                    peer->tcp.isn = seg->ack - 1;
                }
            }
        } else if (dir == RD_CONN_CLIENT) {
            c->syn = 1;
        }
    } else if (dir == RD_CONN_CLIENT && c->synack && !c->established
               && (seg->flags & RD_TCP_ACK)
               && seg->ack == c->side[RD_CONN_SERVER].tcp.isn + 1)
    {
        c->established = 1;
    }

    /* window scaling applies only when both SYNs offered it (RFC 7323 §2.2)
     * and never to the SYNs themselves */
    shift = 0;
    if (!(seg->flags & RD_TCP_SYN) && s->tcp.ws_ok && peer->tcp.ws_ok) {
        shift = s->tcp.wscale;
    }
    s->tcp.win = (uint32_t) seg->win << shift;

    retrans = s->tcp.retrans;
    ooo = s->tcp.ooo;
    stream_sink(c, env, &sink);
    rd_tcp_segment(env->pool, &s->tcp, seg, &sink, dir);
    if (seg->payload_len > 0 && s->tcp.retrans == retrans) {
        if (s->first_data_ts == 0) {
            s->first_data_ts = seg->ts;
        }
        if (s->tcp.ooo == ooo || seg->ts > s->last_data_ts) {
            s->last_data_ts = seg->ts;
        }
    }

    if (seg->flags & RD_TCP_ACK) {
        if (!s->tcp.ack_seen || RD_SEQ_GT(seg->ack, s->tcp.max_ack)) {
            s->tcp.max_ack = seg->ack;
            s->tcp.ack_seen = 1;
        }
        rd_tcp_acked(env->pool, &peer->tcp, seg->ack, &sink, 1 - dir,
                     seg->ts);
    }

    if ((seg->flags & RD_TCP_FIN) && s->fin_ts == 0) {
        s->fin_ts = seg->ts;
        note_close(c, dir, RD_CLOSE_FIN, seg->ts);
        if (peer->fin_ts != 0) {
            c->closed = 1;
        }
    }

    /* zero windows (RFC 9293 §3.8.6.1): the common case, an open window
     * on both sides, costs one test (last: a FIN's close judges the
     * other side's window, which this segment does not change) */
    if ((seg->win == 0) | (c->zw_shut != 0)) {
        zero_window(c, dir, seg);
    }
}


void
rd_conn_finish(struct rd_conn *c, const struct rd_conn_env *env, int why)
{
    struct rd_tcp_sink  sink;
    bool                rst;
    unsigned            k;
    int                 i, how;

    c->end = (uint8_t) why;
    c->env = env;
    stream_sink(c, env, &sink);
    rst = false;
    for (k = 0; k < c->nrst; k++) {
        rst = rst || c->cold->rst[k].exact || !c->cold->rst[k].known;
    }
    for (i = 0; i < 2; i++) {
        rd_tcp_flush(env->pool, &c->side[i].tcp, &sink, i, c->ts_end);
        rd_tcp_release(env->pool, &c->side[i].tcp);
        /* how this direction's byte stream ended */
        if (c->side[i].fin_ts != 0 && !(rst && c->close_kind == RD_CLOSE_RST
                                        && c->close_ts < c->side[i].fin_ts))
        {
            how = RD_HTTP1_EOF_FIN;
        } else if (rst) {
            how = RD_HTTP1_EOF_RST;
        } else {
            how = RD_HTTP1_EOF_CAPTURE_END;
        }
        if (c->proto == RD_PROTO_FASTCGI) {
            rd_fcgi_finish(c->app->fcgi, i, how);
        } else if (c->proto == RD_PROTO_HTTP) {
            rd_http1_finish(&c->app->http[i], how);
        } else if (c->proto == RD_PROTO_TLS) {
            (void) rd_tls_finish(&c->app->tls->dir[i]);
        }
    }
}


void
rd_conn_pair(struct rd_conn *c, uint64_t other, int pairing, bool weak,
    uint64_t alt)
{
    struct rd_conn_cold  *k = c->cold;
    unsigned              i;

    if (c->npaired == 0 || (k->pair_weak && !weak)) {
        k->pairing = (uint8_t) pairing;
        k->pair_weak = weak;
        k->pair_alt = alt;
    }
    for (i = 0; i < c->npaired; i++) {
        if (k->paired[i] == other) {
            return;
        }
    }
    if (c->npaired < RD_CONN_PAIRED_MAX) {
        k->paired[c->npaired++] = other;
    }
}


bool
rd_conn_syn_unanswered(const struct rd_conn *c)
{
    /* one SYN could be the last packet of the capture or an evicted flow;
     * a retransmitted SYN proves the wait (the first retry is after 1 s) */
    return c->syn && !c->synack && c->rst_total == 0
           && c->side[RD_CONN_CLIENT].syns >= 2;
}


uint64_t
rd_conn_stream_bytes(const struct rd_conn *c, int dir)
{
    const struct rd_tcp_dir  *d = &c->side[dir].tcp;

    return d->bytes + d->gap_bytes + d->cut_bytes;
}


bool
rd_conn_abnormal(const struct rd_conn *c)
{
    const struct rd_exchange  *e;
    uint32_t                   i;

    if (c->rst_total > 0 || c->refused || rd_conn_syn_unanswered(c)) {
        return true;
    }
    /* the server closed while a request waited for its answer (a FIN in
     * a body is judged by the framing: close-delimited bodies end so) */
    if (c->close_kind != RD_CLOSE_NONE && c->close_by == RD_CONN_SERVER
        && (c->phase == RD_PHASE_SENDING_REQUEST
            || c->phase == RD_PHASE_AWAITING_RESPONSE_HEADER))
    {
        return true;
    }
    for (i = rd_conn_first_kept(c); i < c->nex; i++) {
        e = rd_conn_exchange(c, i);
        if (e != NULL && rd_exchange_bad_framing(e)) {
            return true;
        }
    }
    /* TLS: a close before the handshake completed, a fatal alert in
     * clear, or a server that does not speak TLS */
    if (c->proto == RD_PROTO_TLS && c->app != NULL) {
        const struct rd_conn_tls  *t = c->app->tls;

        if ((c->close_kind != RD_CLOSE_NONE
             && c->phase == RD_PHASE_TLS_HANDSHAKE)
            || (t->alert_by != 2 && t->alert_level == RD_TLS_ALERT_FATAL)
            || t->dir[RD_CONN_SERVER].err == RD_TLS_E_NOT_TLS)
        {
            return true;
        }
    }
    return false;
}
