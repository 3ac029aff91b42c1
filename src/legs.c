/*
 * legs: role learning and leg pairing by request line and timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rstdiag/legs.h"
#include "rstdiag/limits.h"

#define USEC 1000000

const struct rd_tok  rd_leg_names[] = {
    { RD_LEG_UNKNOWN, "unknown" },
    { RD_LEG_CLIENT, "client_leg" },
    { RD_LEG_UPSTREAM, "upstream_leg" },
    { 0, NULL }
};

const struct rd_tok  rd_pairing_names[] = {
    { RD_PAIR_NONE, "none" },
    { RD_PAIR_REQUEST_LINE, "request_line" },
    { RD_PAIR_FORWARDED, "forwarded_header" },
    { RD_PAIR_REQUEST_ID, "request_id" },
    { RD_PAIR_TIMING, "timing" },
    { 0, NULL }
};

const struct rd_tok  rd_legs_evidence_names[] = {
    { RD_EV_REQUEST_LINE, "request_line" },
    { RD_EV_FORWARDED, "forwarded_header" },
    { RD_EV_REQUEST_ID, "request_id" },
    { RD_EV_TIMING, "timing" },
    { RD_EV_SERVER_HEADER, "server_header" },
    { RD_EV_CONFIRMED, "confirmed_by_repetition" },
    { RD_EV_WEAK, "unconfirmed" },
    { RD_EV_AMBIGUOUS, "ambiguous" },
    { RD_EV_TABLE_FULL, "table_full" },
    { 0, NULL }
};

const struct rd_tok  rd_legs_how_names[] = {
    { RD_HOW_DECLARED, "declared" },
    { RD_HOW_PAIRED, "paired" },
    { RD_HOW_SERVER_HEADER, "server_header" },
    { 0, NULL }
};

/* How sure a role is: a later fact replaces an earlier one only when it
 * is at least as strong, and nothing replaces a declaration. */
enum {
    STRENGTH_SERVER_HEADER = 1,
    STRENGTH_PAIRED = 2,
    STRENGTH_DECLARED = 3
};

/* A known endpoint; port 0 matches any port of the address; any_addr
 * matches port on every address (a wildcard listen). */
struct role_ep {
    uint8_t         af;
    uint8_t         addr[16];
    uint16_t        port;
    uint8_t         leg;            /* RD_LEG_CLIENT: nginx listens here */
    uint8_t         strength;
    bool            fastcgi;        /* --fastcgi */
    bool            any_addr;       /* rd_legs_declare_port() */
};

/* An address nginx connects from. */
struct source {
    uint8_t         af;
    uint8_t         addr[16];
    uint8_t         strength;
};

/* A recent request, for pairing. */
struct recent {
    struct rd_conn *conn;
    uint64_t        conn_id;
    uint64_t        key;            /* hash of method and target */
    rd_usec_t       ts;
    uint32_t        ex;
    uint32_t        older;          /* ring index + 1 of the previous entry
                                     * in the same key bucket, 0: none */
    uint16_t        paired;         /* upstream requests paired with it */
};

#define KEY_BUCKETS 1024u           /* power of two */
#define CONNECTS    256u            /* recent SYNs remembered */
#define ASSOCS      256u            /* listener/source pairs, by hash */
#define WALK_MAX    16u             /* entries looked at per request */

struct connect {
    struct rd_conn *conn;
    uint64_t        conn_id;
    rd_usec_t       ts;
};

/* A TLS client's turn: application data after the server's, which is
 * all a request looks like under encryption. */
struct tls_turn {
    struct rd_conn *conn;
    uint64_t        conn_id;
    rd_usec_t       ts;
    uint16_t        paired;         /* upstream requests paired with it */
};

#define TLS_TURNS   256u            /* recent TLS client turns */
#define TLS_LOOK    64u             /* entries looked at per request */
#define TLS_UPLOAD_MAX (30 * USEC)  /* a turn (a request body) older than
                                     * this is not looked at */

struct rd_legs {
    const struct rd_alloc  *alloc;
    struct role_ep          eps[RD_LIMITS_ROLE_EPS];
    uint32_t                neps;
    struct source           srcs[RD_LIMITS_ROLE_EPS];
    uint32_t                nsrcs;
    struct recent           ring[RD_LIMITS_PAIR_RING];
    uint32_t                head;           /* next slot to write */
    uint32_t                count;
    uint32_t                bucket[KEY_BUCKETS];   /* newest, index + 1 */
    struct connect          connects[CONNECTS];
    uint32_t                connects_head;
    struct tls_turn         turns[TLS_TURNS];
    uint32_t                turns_head;
    uint64_t                assoc[ASSOCS];  /* hashes of weak pairs seen */
    uint64_t                ev[RD_EV_N];
    uint32_t                version;
    bool                    version_fixed;
};


struct rd_legs *
rd_legs_create(const struct rd_alloc *a)
{
    struct rd_legs  *l;

    l = a->calloc(a->ctx, 1, sizeof(*l));
    if (l != NULL) {
        l->alloc = a;
    }
    return l;
}


void
rd_legs_destroy(struct rd_legs *l)
{
    if (l != NULL) {
        l->alloc->free(l->alloc->ctx, l);
    }
}


static struct role_ep *
find_ep(const struct rd_legs *l, uint8_t af, const uint8_t *addr,
    uint16_t port)
{
    uint32_t  i;

    /* exact port first, then an address-wide declaration, then a port
     * on every address */
    for (i = 0; i < l->neps; i++) {
        if (l->eps[i].af == af && l->eps[i].port == port
            && !l->eps[i].any_addr
            && memcmp(l->eps[i].addr, addr, 16) == 0)
        {
            return (struct role_ep *) &l->eps[i];
        }
    }
    for (i = 0; i < l->neps; i++) {
        if (l->eps[i].af == af && l->eps[i].port == 0
            && !l->eps[i].any_addr
            && memcmp(l->eps[i].addr, addr, 16) == 0)
        {
            return (struct role_ep *) &l->eps[i];
        }
    }
    for (i = 0; i < l->neps; i++) {
        if (l->eps[i].any_addr && l->eps[i].port == port) {
            return (struct role_ep *) &l->eps[i];
        }
    }
    return NULL;
}


static const struct role_ep *
server_ep(const struct rd_legs *l, const struct rd_conn *c)
{
    return find_ep(l, c->af, c->ep[RD_CONN_SERVER].addr,
                   c->ep[RD_CONN_SERVER].port);
}


static void
learn_ep(struct rd_legs *l, uint8_t af, const uint8_t *addr, uint16_t port,
    int leg, int strength)
{
    struct role_ep  *e;

    e = find_ep(l, af, addr, port);
    if (e != NULL && e->port == port && !e->any_addr) {
        if (strength >= e->strength
            && (e->strength < STRENGTH_DECLARED
                || strength == STRENGTH_DECLARED))
        {
            e->leg = (uint8_t) leg;
            e->strength = (uint8_t) strength;
        }
        return;
    }
    if (l->neps == RD_LIMITS_ROLE_EPS) {
        l->ev[RD_EV_TABLE_FULL]++;
        return;
    }
    e = &l->eps[l->neps++];
    e->af = af;
    memcpy(e->addr, addr, 16);
    e->port = port;
    e->leg = (uint8_t) leg;
    e->strength = (uint8_t) strength;
}


static struct source *
find_source(const struct rd_legs *l, uint8_t af, const uint8_t *addr)
{
    uint32_t  i;

    for (i = 0; i < l->nsrcs; i++) {
        if (l->srcs[i].af == af && memcmp(l->srcs[i].addr, addr, 16) == 0) {
            return (struct source *) &l->srcs[i];
        }
    }
    return NULL;
}


static void
learn_source(struct rd_legs *l, uint8_t af, const uint8_t *addr,
    int strength)
{
    struct source  *s;

    s = find_source(l, af, addr);
    if (s != NULL) {
        if (strength > s->strength) {
            s->strength = (uint8_t) strength;
        }
        return;
    }
    if (l->nsrcs == RD_LIMITS_ROLE_EPS) {
        l->ev[RD_EV_TABLE_FULL]++;
        return;
    }
    s = &l->srcs[l->nsrcs++];
    s->af = af;
    memcpy(s->addr, addr, 16);
    s->strength = (uint8_t) strength;
}


/* nginx is known to connect from this address */
static bool
is_source(const struct rd_legs *l, uint8_t af, const uint8_t *addr)
{
    const struct source  *s;

    s = find_source(l, af, addr);
    return s != NULL && s->strength >= STRENGTH_PAIRED;
}


const uint64_t *
rd_legs_evidence(const struct rd_legs *l)
{
    return l->ev;
}


bool
rd_legs_endpoint(const struct rd_legs *l, uint32_t i, struct rd_legs_addr *out)
{
    const struct role_ep  *e;

    if (i >= l->neps) {
        return false;
    }
    e = &l->eps[i];
    out->af = e->af;
    memcpy(out->addr, e->addr, 16);
    out->port = e->port;
    out->leg = e->leg;
    out->how = e->strength == STRENGTH_DECLARED || e->any_addr
               ? RD_HOW_DECLARED
               : e->strength == STRENGTH_PAIRED ? RD_HOW_PAIRED
                                                : RD_HOW_SERVER_HEADER;
    return true;
}


bool
rd_legs_source(const struct rd_legs *l, uint32_t i, struct rd_legs_addr *out)
{
    uint32_t  k, n;

    /* only the confirmed ones */
    for (k = 0, n = 0; k < l->nsrcs; k++) {
        if (l->srcs[k].strength < STRENGTH_PAIRED) {
            continue;
        }
        if (n++ == i) {
            out->af = l->srcs[k].af;
            memcpy(out->addr, l->srcs[k].addr, 16);
            out->port = 0;
            out->leg = RD_LEG_CLIENT;
            out->how = l->srcs[k].strength == STRENGTH_DECLARED
                       ? RD_HOW_DECLARED : RD_HOW_PAIRED;
            return true;
        }
    }
    return false;
}


#define DECLARE_EP      1u
#define DECLARE_SOURCE  2u

/* spec as an endpoint of leg, a source of nginx's, or both (what). */
static int
declare_spec(struct rd_legs *l, int leg, const char *spec, unsigned what,
    const char *opt, char err[RD_ERRLEN])
{
    uint8_t   af, addr[16];
    uint16_t  port;

    if (rd_parse_endpoint(spec, &af, addr, &port) != 0) {
        snprintf(err, RD_ERRLEN, "%s: '%s' is not ADDR, ADDR:PORT or "
                 "[ADDR]:PORT", opt, spec);
        return -RD_EINVAL;
    }
    if (what & DECLARE_EP) {
        learn_ep(l, af, addr, port, leg, STRENGTH_DECLARED);
    }
    if (what & DECLARE_SOURCE) {
        learn_source(l, af, addr, STRENGTH_DECLARED);
    }
    return RD_OK;
}


int
rd_legs_declare(struct rd_legs *l, int leg, const char *spec,
    char err[RD_ERRLEN])
{
    if (leg == RD_LEG_CLIENT) {
        return declare_spec(l, leg, spec, DECLARE_EP | DECLARE_SOURCE,
                            "--nginx", err);
    }
    return declare_spec(l, leg, spec, DECLARE_EP, "--upstream", err);
}


int
rd_legs_declare_listen(struct rd_legs *l, const char *spec,
    char err[RD_ERRLEN])
{
    return declare_spec(l, RD_LEG_CLIENT, spec, DECLARE_EP, "listen", err);
}


int
rd_legs_declare_source(struct rd_legs *l, const char *spec,
    char err[RD_ERRLEN])
{
    return declare_spec(l, RD_LEG_CLIENT, spec, DECLARE_SOURCE, "bind", err);
}


int
rd_legs_declare_port(struct rd_legs *l, int leg, uint16_t port)
{
    struct role_ep  *e;
    uint32_t         i;

    if (port == 0) {
        return -RD_EINVAL;
    }
    for (i = 0; i < l->neps; i++) {
        if (l->eps[i].any_addr && l->eps[i].port == port) {
            l->eps[i].leg = (uint8_t) leg;
            return RD_OK;
        }
    }
    if (l->neps == RD_LIMITS_ROLE_EPS) {
        l->ev[RD_EV_TABLE_FULL]++;
        return RD_OK;
    }
    /* as weak as a Server: header, so that pairing can still find an
     * upstream on that port elsewhere (proxy_pass http://backend; to port
     * 80 behind "listen 80;"): what it learns is exact and wins */
    e = &l->eps[l->neps++];
    memset(e, 0, sizeof(*e));
    e->af = 4;
    e->port = port;
    e->leg = (uint8_t) leg;
    e->strength = STRENGTH_SERVER_HEADER;
    e->any_addr = true;
    return RD_OK;
}


int
rd_legs_declare_fastcgi(struct rd_legs *l, const char *spec,
    char err[RD_ERRLEN])
{
    uint8_t          af, addr[16];
    uint16_t         port;
    struct role_ep  *e;

    if (rd_parse_endpoint(spec, &af, addr, &port) != 0) {
        snprintf(err, RD_ERRLEN, "--fastcgi: '%s' is not ADDR, ADDR:PORT or "
                 "[ADDR]:PORT", spec);
        return -RD_EINVAL;
    }
    learn_ep(l, af, addr, port, RD_LEG_UPSTREAM, STRENGTH_DECLARED);
    e = find_ep(l, af, addr, port);
    if (e != NULL) {
        e->fastcgi = true;
    }
    return RD_OK;
}


bool
rd_legs_is_fastcgi(const struct rd_legs *l, const struct rd_conn *c)
{
    const struct role_ep  *e;

    e = find_ep(l, c->af, c->ep[1].addr, c->ep[1].port);
    return e != NULL && e->fastcgi;
}


static uint32_t
parse_version(const uint8_t *p, size_t len)
{
    uint32_t  part[3] = { 0, 0, 0 };
    size_t    i;
    int       k;

    k = 0;
    for (i = 0; i < len && k < 3; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            if (part[k] > 999) {
                return 0;
            }
            part[k] = part[k] * 10 + (uint32_t) (p[i] - '0');
        } else if (p[i] == '.' && i > 0) {
            k++;
        } else {
            break;
        }
    }
    if (k < 1 || part[1] > 99 || part[2] > 99) {
        return 0;
    }
    return part[0] * 10000 + part[1] * 100 + part[2];
}


int
rd_legs_set_version(struct rd_legs *l, const char *v)
{
    uint32_t  n;

    n = parse_version((const uint8_t *) v, strlen(v));
    if (n == 0) {
        return -RD_EINVAL;
    }
    l->version = n;
    l->version_fixed = true;
    return RD_OK;
}


uint32_t
rd_legs_version(const struct rd_legs *l)
{
    return l->version;
}


const char *
rd_legs_version_from(const struct rd_legs *l)
{
    return l->version_fixed ? "option"
           : l->version != 0 ? "server_header" : "unknown";
}


/* Where the last path segment of e's target begins (the part a
 * proxy_pass URI keeps), or 0 when the whole target must match: no '/'
 * in the path, or a target cut at RD_HTTP1_TARGET_LEN. */
static size_t
target_tail(const struct rd_exchange *e)
{
    size_t  i, end, tail;

    if (e->target_len >= RD_HTTP1_TARGET_LEN) {
        return 0;
    }
    end = e->target_len;
    for (i = 0; i < e->target_len; i++) {
        if (e->target[i] == '?') {
            end = i;
            break;
        }
    }
    tail = 0;
    for (i = 0; i < end; i++) {
        if (e->target[i] == '/') {
            tail = i;
        }
    }
    return tail;
}


/*
 * FNV-1a over the method and the last path segment of the target (with
 * the query): nginx's proxy_pass with a URI replaces the location's
 * prefix (location /api/ { proxy_pass http://up/; } sends /api/x as /x),
 * so only the end of the target is the same on both legs.
 */
static uint64_t
request_key(const struct rd_exchange *e)
{
    uint64_t  h = 0xcbf29ce484222325ULL;
    size_t    i;

    for (i = 0; i < e->method_len; i++) {
        h = (h ^ e->method[i]) * 0x100000001b3ULL;
    }
    h = (h ^ ' ') * 0x100000001b3ULL;
    for (i = target_tail(e); i < e->target_len; i++) {
        h = (h ^ e->target[i]) * 0x100000001b3ULL;
    }
    return h;
}


/* The two request lines can be one request on both sides of nginx: the
 * same method, and the same target, or one target (from a '/') the end
 * of the other, whole (not cut at RD_HTTP1_TARGET_LEN). */
static bool
same_request(const struct rd_exchange *a, const struct rd_exchange *b)
{
    const struct rd_exchange  *lo, *sh;

    if (a->method_len != b->method_len
        || memcmp(a->method, b->method, a->method_len) != 0)
    {
        return false;
    }
    if (a->target_len == b->target_len) {
        return memcmp(a->target, b->target, a->target_len) == 0;
    }
    lo = a->target_len > b->target_len ? a : b;
    sh = lo == a ? b : a;
    return lo->target_len < RD_HTTP1_TARGET_LEN && sh->target_len > 0
           && sh->target[0] == '/'
           && memcmp(lo->target + lo->target_len - sh->target_len,
                     sh->target, sh->target_len) == 0;
}


void
rd_legs_connect(struct rd_legs *l, struct rd_conn *c)
{
    struct connect  *k;

    k = &l->connects[l->connects_head];
    k->conn = c;
    k->conn_id = c->id;
    k->ts = c->ts_start;
    l->connects_head = (l->connects_head + 1) % CONNECTS;
}


/* up is an upstream leg serving client: the client leg stays in the
 * table while up's response is under way (peer_refs), so that a failure
 * of up is judged and drawn with the client's side */
static void
set_peer(struct rd_conn *up, struct rd_conn *client)
{
    if (rd_conn_peer(up) == client && up->peer_ref) {
        return;
    }
    rd_legs_unref_peer(up);
    up->cold->peer_leg = client;
    up->cold->peer_leg_id = client->id;
    up->has_peer = 1;
    up->peer_ref = 1;
    client->peer_refs++;
}


void
rd_legs_unref_peer(struct rd_conn *up)
{
    struct rd_conn  *client;

    if (!up->peer_ref) {
        return;
    }
    up->peer_ref = 0;
    client = rd_conn_peer(up);
    if (client != NULL && client->peer_refs > 0) {
        client->peer_refs--;
    }
}


static bool
same_addr(uint8_t af_a, const uint8_t *a, uint8_t af_b, const uint8_t *b)
{
    return af_a == af_b && memcmp(a, b, 16) == 0;
}


static bool
same_ep(const struct rd_endpoint *a, uint8_t af_a, const struct rd_endpoint *b,
    uint8_t af_b)
{
    return a->port == b->port && same_addr(af_a, a->addr, af_b, b->addr);
}


/* A connection that carried no request and is over (or never got an
 * answer) may be an attempt of nginx's that failed. */
static bool
failed_attempt(const struct rd_conn *k)
{
    return k->nex == 0
           && (k->close_kind != RD_CLOSE_NONE || rd_conn_syn_unanswered(k)
               || (k->syn && !k->synack));
}


/* Pair attempt k with client leg client. */
static void
pair_attempt(struct rd_legs *l, struct rd_conn *k, struct rd_conn *client,
    bool weak, uint64_t alt)
{
    rd_conn_pair(k, client->id, RD_PAIR_TIMING, weak, alt);
    rd_conn_pair(client, k->id, RD_PAIR_TIMING, weak, alt);
    set_peer(k, client);
    l->ev[RD_EV_TIMING]++;
}


/*
 * up carries the client request of client (sent at since): earlier
 * connections from up's source address that began after the client
 * request and never carried a request (a refused connect, a timed-out
 * SYN) were attempts for the same request (proxy_next_upstream).
 */
static void
pair_failed_attempts(struct rd_legs *l, struct rd_conn *up,
    struct rd_conn *client, rd_usec_t since, bool weak)
{
    struct connect  *k;
    uint32_t         i;

    /* newest first: SYNs are remembered in capture order, so the walk
     * stops at the first one older than the client's request */
    for (i = 1; i <= CONNECTS; i++) {
        k = &l->connects[(l->connects_head + CONNECTS - i) % CONNECTS];
        if (k->conn == NULL || k->ts < since) {
            break;
        }
        if (k->conn == up || k->conn->id != k->conn_id
            || k->ts > up->ts_start || !failed_attempt(k->conn)
            || rd_conn_peer(k->conn) != NULL
            || !same_addr(k->conn->af, k->conn->ep[0].addr, up->af,
                          up->ep[0].addr))
        {
            continue;
        }
        pair_attempt(l, k->conn, client, weak, 0);
    }
}


/* the entry in the ring for request ex of c, or NULL */
static struct recent *
find_recent(struct rd_legs *l, const struct rd_conn *c, uint32_t ex,
    uint64_t key)
{
    struct recent  *r;
    uint32_t        link, steps;

    steps = 0;
    for (link = l->bucket[key & (KEY_BUCKETS - 1)];
         link != 0 && steps < WALK_MAX; link = r->older)
    {
        steps++;
        r = &l->ring[link - 1];
        if ((r->key & (KEY_BUCKETS - 1)) != (key & (KEY_BUCKETS - 1))) {
            break;
        }
        if (r->conn == c && r->conn_id == c->id && r->ex == ex) {
            return r;
        }
    }
    return NULL;
}


static uint64_t
assoc_hash(const struct rd_conn *client, const struct rd_conn *up)
{
    uint64_t  h = 0xcbf29ce484222325ULL;
    size_t    i;

    h = (h ^ client->af) * 0x100000001b3ULL;
    for (i = 0; i < 16; i++) {
        h = (h ^ client->ep[RD_CONN_SERVER].addr[i]) * 0x100000001b3ULL;
    }
    h = (h ^ (client->ep[RD_CONN_SERVER].port & 0xff)) * 0x100000001b3ULL;
    h = (h ^ (client->ep[RD_CONN_SERVER].port >> 8)) * 0x100000001b3ULL;
    h = (h ^ up->af) * 0x100000001b3ULL;
    for (i = 0; i < 16; i++) {
        h = (h ^ up->ep[RD_CONN_CLIENT].addr[i]) * 0x100000001b3ULL;
    }
    return h | 1;
}


/* Candidate ranks: what ties the upstream request to the client's. */
enum {
    RANK_MISMATCH = 1,              /* a forwarding header names another
                                     * client */
    RANK_WEAK = 2,                  /* the request line, once */
    RANK_STRONG = 4,                /* ... and nginx's addresses fit */
    RANK_HEADER = 6,                /* a header names the client */
    RANK_EXACT = 7                  /* ... with its port (FastCGI's
                                     * REMOTE_PORT, Forwarded's for=) */
};


/*
 * What ties upstream request e (on up) to client request pe (on client):
 * a rank (0: nothing, not a candidate) and the pairing method.
 */
static int
candidate_rank(const struct rd_legs *l, const struct rd_conn *up,
    const struct rd_exchange *e, const struct rd_conn *client,
    const struct rd_exchange *pe, int *how)
{
    const struct role_ep  *ka;

    /* the client's server must be able to be a listener */
    ka = server_ep(l, client);
    if (ka != NULL && ka->leg == RD_LEG_UPSTREAM
        && ka->strength >= STRENGTH_PAIRED)
    {
        return 0;
    }
    *how = RD_PAIR_REQUEST_LINE;
    if (e->req_id != 0 && e->req_id == pe->req_id) {
        *how = RD_PAIR_REQUEST_ID;
        return RANK_HEADER;
    }
    if (e->fwd_af != 0) {
        if (!same_addr(e->fwd_af, e->fwd_addr, client->af,
                       client->ep[RD_CONN_CLIENT].addr)
            || (e->fwd_port != 0
                && e->fwd_port != client->ep[RD_CONN_CLIENT].port))
        {
            return RANK_MISMATCH;
        }
        *how = RD_PAIR_FORWARDED;
        return e->fwd_port != 0 ? RANK_EXACT : RANK_HEADER;
    }
    if (same_addr(up->af, up->ep[RD_CONN_CLIENT].addr, client->af,
                  client->ep[RD_CONN_SERVER].addr)
        || is_source(l, up->af, up->ep[RD_CONN_CLIENT].addr)
        || (ka != NULL && ka->leg == RD_LEG_CLIENT
            && ka->strength >= STRENGTH_PAIRED)
        || l->assoc[assoc_hash(client, up) & (ASSOCS - 1)]
           == assoc_hash(client, up))
    {
        return RANK_STRONG;
    }
    return RANK_WEAK;
}


static void
ring_push(struct rd_legs *l, struct rd_conn *c, uint32_t ex,
    const struct rd_exchange *e, uint64_t key)
{
    struct recent  *r;

    r = &l->ring[l->head];
    r->conn = c;
    r->conn_id = c->id;
    r->key = key;
    r->ts = e->req_start;
    r->ex = ex;
    r->paired = 0;
    r->older = l->bucket[key & (KEY_BUCKETS - 1)];
    if (r->older == l->head + 1) {
        r->older = 0;               /* it pointed at the slot we reuse */
    }
    l->bucket[key & (KEY_BUCKETS - 1)] = l->head + 1;
    l->head = (l->head + 1) % RD_LIMITS_PAIR_RING;
    if (l->count < RD_LIMITS_PAIR_RING) {
        l->count++;
    }
}


static bool known_upstream(const struct rd_legs *l, const struct rd_conn *c);


/* A client leg candidate for an upstream request by timing alone. */
struct tls_cand {
    struct rd_conn *conn;
    rd_usec_t       ts;             /* its turn or request began */
    uint16_t       *paired;
    int             rank;
    int             how;
};


/* cand's listener can be nginx's for upstream request up: not a known
 * upstream, not up's own server; and up goes to another address than
 * cand's listener, unless nginx's addresses show (up leaves from a known
 * source of nginx's or from cand's listener address, or goes to a known
 * upstream): a connection from elsewhere to another port of cand's
 * listener address is another client of the same host, not nginx. */
static bool
tls_cand_fits(const struct rd_legs *l, const struct rd_conn *up,
    const struct rd_conn *cand)
{
    const struct role_ep  *ka;
    bool                   from_nginx;

    if (cand == up
        || same_ep(&cand->ep[RD_CONN_SERVER], cand->af,
                   &up->ep[RD_CONN_SERVER], up->af))
    {
        return false;
    }
    ka = server_ep(l, cand);
    if (ka != NULL && ka->leg == RD_LEG_UPSTREAM
        && ka->strength >= STRENGTH_PAIRED)
    {
        return false;
    }
    from_nginx = same_addr(up->af, up->ep[RD_CONN_CLIENT].addr, cand->af,
                           cand->ep[RD_CONN_SERVER].addr)
                 || is_source(l, up->af, up->ep[RD_CONN_CLIENT].addr)
                 || known_upstream(l, up);
    return from_nginx
           || !same_addr(up->af, up->ep[RD_CONN_SERVER].addr, cand->af,
                         cand->ep[RD_CONN_SERVER].addr);
}


/*
 * Pair upstream request e on up (NULL: up is TLS, its turn began at t)
 * with the client leg that waits for it when the request line cannot
 * say which: a TLS client whose turn began no later than t and went on
 * until at most RD_LIMITS_TLS_PAIR_MS before it, still waiting for an
 * answer; or, for a TLS upstream, a plain client request not yet
 * answered.  A forwarding header on e names the client, or rules it
 * out.  The newest fitting candidate wins; another that fits as well is
 * named (pair_alt) and the pair is ambiguous.  true when paired.
 */
static bool
pair_tls(struct rd_legs *l, struct rd_conn *up, const struct rd_exchange *e,
    rd_usec_t t)
{
    const rd_usec_t             win = (rd_usec_t) RD_LIMITS_TLS_PAIR_MS * 1000;
    const struct rd_exchange   *pe;
    const struct rd_conn_tls   *tt;
    struct tls_turn            *k;
    struct recent              *r;
    struct tls_cand             cur, best, alt;
    uint32_t                    i;
    bool                        weak;
    uint64_t                    h;

    memset(&best, 0, sizeof(best));
    memset(&alt, 0, sizeof(alt));
    for (i = 1; i <= TLS_LOOK * 2; i++) {
        memset(&cur, 0, sizeof(cur));
        if (i <= TLS_LOOK) {
            /* TLS client turns, newest first */
            k = &l->turns[(l->turns_head + TLS_TURNS - i) % TLS_TURNS];
            if (k->conn == NULL || (k->ts < t && t - k->ts > TLS_UPLOAD_MAX)) {
                i = TLS_LOOK;       /* older still: on to the plain ones */
                continue;
            }
            if (k->conn->id != k->conn_id || k->conn->proto != RD_PROTO_TLS
                || k->conn->app == NULL || k->ts > t)
            {
                continue;
            }
            tt = k->conn->app->tls;
            if (tt->req_ts != k->ts || tt->last_dir != RD_CONN_CLIENT
                || (t - k->ts > win && t > tt->req_last_ts + win))
            {
                continue;           /* answered, or too long before */
            }
            cur.conn = k->conn;
            cur.ts = k->ts;
            cur.paired = &k->paired;
        } else if (e == NULL) {
            /* plain client requests, for a TLS upstream */
            if (i - TLS_LOOK > l->count) {
                continue;
            }
            r = &l->ring[(l->head + RD_LIMITS_PAIR_RING - (i - TLS_LOOK))
                         % RD_LIMITS_PAIR_RING];
            if (r->conn == NULL || (r->ts < t && t - r->ts > win)) {
                break;              /* the ring is in time order */
            }
            if (r->conn->id != r->conn_id || r->ts > t) {
                continue;
            }
            pe = rd_conn_exchange(r->conn, r->ex);
            if (pe == NULL || pe->has_resp) {
                continue;
            }
            cur.conn = r->conn;
            cur.ts = r->ts;
            cur.paired = &r->paired;
        } else {
            break;
        }
        if (!tls_cand_fits(l, up, cur.conn)) {
            continue;
        }
        cur.how = RD_PAIR_TIMING;
        cur.rank = RANK_WEAK;
        if (e != NULL && e->fwd_af != 0) {
            if (!same_addr(e->fwd_af, e->fwd_addr, cur.conn->af,
                           cur.conn->ep[RD_CONN_CLIENT].addr)
                || (e->fwd_port != 0
                    && e->fwd_port != cur.conn->ep[RD_CONN_CLIENT].port))
            {
                continue;           /* the header names another client */
            }
            cur.how = RD_PAIR_FORWARDED;
            cur.rank = e->fwd_port != 0 ? RANK_EXACT : RANK_HEADER;
        }
        /* as in rd_legs_request: a client not yet forwarded fits better */
        cur.rank = cur.rank * 2 + (*cur.paired == 0);
        if (best.conn == NULL || cur.rank > best.rank
            || (cur.rank == best.rank && cur.ts > best.ts))
        {
            if (best.conn != NULL && best.rank == cur.rank
                && best.conn != cur.conn)
            {
                alt = best;
            } else {
                memset(&alt, 0, sizeof(alt));
            }
            best = cur;
        } else if (cur.rank == best.rank && cur.conn != best.conn
                   && alt.conn == NULL)
        {
            alt = cur;
        }
    }
    if (best.conn == NULL) {
        return false;
    }
    if (alt.conn != NULL && best.rank == RANK_EXACT * 2 + 1) {
        memset(&alt, 0, sizeof(alt));  /* the header named the port too */
    }
    weak = best.how != RD_PAIR_FORWARDED || alt.conn != NULL;
    if (weak) {
        l->ev[RD_EV_WEAK]++;
        h = assoc_hash(best.conn, up);
        l->assoc[h & (ASSOCS - 1)] = h;
    } else {
        learn_ep(l, best.conn->af, best.conn->ep[RD_CONN_SERVER].addr,
                 best.conn->ep[RD_CONN_SERVER].port, RD_LEG_CLIENT,
                 STRENGTH_PAIRED);
        learn_source(l, up->af, up->ep[RD_CONN_CLIENT].addr, STRENGTH_PAIRED);
        learn_ep(l, up->af, up->ep[RD_CONN_SERVER].addr,
                 up->ep[RD_CONN_SERVER].port, RD_LEG_UPSTREAM,
                 STRENGTH_PAIRED);
    }
    l->ev[best.how == RD_PAIR_FORWARDED ? RD_EV_FORWARDED : RD_EV_TIMING]++;
    if (alt.conn != NULL) {
        l->ev[RD_EV_AMBIGUOUS]++;
    }
    (*best.paired)++;
    rd_conn_pair(up, best.conn->id, best.how, weak,
                 alt.conn != NULL ? alt.conn->id : 0);
    rd_conn_pair(best.conn, up->id, best.how, weak,
                 alt.conn != NULL ? alt.conn->id : 0);
    set_peer(up, best.conn);
    pair_failed_attempts(l, up, best.conn, best.ts, weak);
    return true;
}


void
rd_legs_tls_turn(struct rd_legs *l, struct rd_conn *c)
{
    const struct role_ep  *known;
    struct tls_turn       *k;
    rd_usec_t              t;

    if (c->proto != RD_PROTO_TLS || c->app == NULL) {
        return;
    }
    t = c->app->tls->req_ts;
    /* the first turn of a fresh upstream connection: nginx connected
     * for the request, so the client's turn came before the SYN */
    if (c->app->tls->requests == 1 && c->syn
        && c->side[RD_CONN_CLIENT].syn_ts != 0)
    {
        t = RD_MIN(t, c->side[RD_CONN_CLIENT].syn_ts);
    }
    /* a user agent's ClientHello (rd_conn_tls_user_agent) is a client
     * leg's, never nginx's upstream request */
    known = server_ep(l, c);
    if ((known == NULL || known->leg != RD_LEG_CLIENT
         || known->strength < STRENGTH_PAIRED)
        && !rd_conn_tls_user_agent(c) && pair_tls(l, c, NULL, t))
    {
        return;
    }
    k = &l->turns[l->turns_head];
    k->conn = c;
    k->conn_id = c->id;
    k->ts = c->app->tls->req_ts;
    k->paired = 0;
    l->turns_head = (l->turns_head + 1) % TLS_TURNS;
}


void
rd_legs_request(struct rd_legs *l, struct rd_conn *c, uint32_t ex)
{
    const struct rd_exchange  *e, *pe;
    const struct role_ep      *known;
    struct recent             *r, *best, *alt;
    uint64_t                   key, h;
    uint32_t                   link, next, steps, looked, *lp;
    rd_usec_t                  prev_ts, t, lead;
    int                        rank, best_rank, how, best_how;
    bool                       weak;

    e = rd_conn_exchange(c, ex);
    if (e == NULL) {
        return;
    }
    key = request_key(e);

    /* a request to a listener that pairing or the command line know is a
     * client's: nothing to pair it with */
    known = server_ep(l, c);
    if (known != NULL && known->leg == RD_LEG_CLIENT
        && known->strength >= STRENGTH_PAIRED)
    {
        ring_push(l, c, ex, e, key);
        return;
    }

    /* an upstream request repeats a client request that is still waiting
     * for its answer, soon after it, from any address of nginx's: walk
     * the requests with the same key bucket, newest first; the ring may
     * have overwritten an entry since: its key or its age tells */
    /* nginx acts on a client request as soon as it is read: it sends
     * it on a reused connection at once, or connects first; so the client
     * request came before the upstream SYN of a fresh connection, and the
     * one closest before it is the likeliest */
    t = e->req_start;
    if (ex == 0 && c->syn && c->side[RD_CONN_CLIENT].syn_ts != 0) {
        t = RD_MIN(t, c->side[RD_CONN_CLIENT].syn_ts);
    }
    best = alt = NULL;
    best_rank = 0;
    best_how = RD_PAIR_NONE;
    lead = 0;
    steps = 0;
    prev_ts = e->req_start;
    lp = &l->bucket[key & (KEY_BUCKETS - 1)];
    looked = 0;
    for (link = *lp; link != 0 && steps < 4 * WALK_MAX; link = next) {
        steps++;
        r = &l->ring[link - 1];
        if ((r->key & (KEY_BUCKETS - 1)) != (key & (KEY_BUCKETS - 1))
            || e->req_start - r->ts > (rd_usec_t) RD_LIMITS_PAIR_WINDOW * USEC
            || r->ts > prev_ts)
        {
            break;                  /* overwritten: the chain ends here */
        }
        prev_ts = r->ts;
        next = r->older;
        if (r->ts > t) {
            lp = &r->older;         /* came after: no candidate (cheap) */
            continue;
        }
        if (++looked > WALK_MAX) {
            break;
        }
        /* a request that was answered (or whose connection is gone) can
         * never be paired again: unlink it, so that a run of identical
         * requests (a health check, a load test) is not walked again by
         * every later one */
        pe = r->conn->id == r->conn_id ? rd_conn_exchange(r->conn, r->ex)
                                       : NULL;
        if (pe == NULL || pe->has_resp) {
            *lp = next;
            continue;
        }
        lp = &r->older;
        /* older still than any rival of the best can be: done */
        if (best != NULL && (best_rank & 1) && r->ts + 2 * lead + 50 < t
            && r->ts < best->ts)
        {
            break;
        }
        /* the same listener on both connections is two clients (a load
         * generator on nginx's host), not a proxied request */
        if (r->key != key || r->conn == c
            || same_ep(&r->conn->ep[RD_CONN_SERVER], r->conn->af,
                       &c->ep[RD_CONN_SERVER], c->af)
            || !same_request(pe, e))
        {
            continue;
        }
        rank = candidate_rank(l, c, e, r->conn, pe, &how);
        if (rank == 0) {
            continue;
        }
        /* a request no upstream request answered yet fits better than
         * one already forwarded (whose retry this may be) */
        rank = rank * 2 + (r->paired == 0);
        /* newest first: on a tie the newer request (closer to t) wins;
         * an older one fits as well when it came about as soon before */
        if (rank > best_rank) {
            best = r;
            best_rank = rank;
            best_how = how;
            alt = NULL;
            lead = t - r->ts;
        } else if (rank == best_rank && how != RD_PAIR_REQUEST_ID
                   && rank / 2 != RANK_EXACT && alt == NULL
                   && t - r->ts <= 2 * lead + 50)
        {
            alt = r;
        }
        /* nothing can beat a header that names the client's port or the
         * request id; and once two unforwarded requests fit equally, the
         * pair is ambiguous whatever older ones hold */
        if (best_how == RD_PAIR_REQUEST_ID || best_rank / 2 == RANK_EXACT
            || (alt != NULL && (best_rank & 1)))
        {
            break;
        }
    }

    if (best == NULL) {
        /* no plain client request fits: a TLS client's, by timing */
        if (!pair_tls(l, c, e, t)) {
            ring_push(l, c, ex, e, key);
        }
        return;
    }
    weak = best_rank / 2 < RANK_STRONG;
    h = assoc_hash(best->conn, c);
    if (weak) {
        l->ev[RD_EV_WEAK]++;
        l->assoc[h & (ASSOCS - 1)] = h;
    } else {
        if (best_how == RD_PAIR_REQUEST_LINE
            && l->assoc[h & (ASSOCS - 1)] == h
            && !is_source(l, c->af, c->ep[RD_CONN_CLIENT].addr))
        {
            l->ev[RD_EV_CONFIRMED]++;
        }
        learn_ep(l, best->conn->af, best->conn->ep[RD_CONN_SERVER].addr,
                 best->conn->ep[RD_CONN_SERVER].port, RD_LEG_CLIENT,
                 STRENGTH_PAIRED);
        learn_source(l, c->af, c->ep[RD_CONN_CLIENT].addr, STRENGTH_PAIRED);
        learn_ep(l, c->af, c->ep[RD_CONN_SERVER].addr,
                 c->ep[RD_CONN_SERVER].port, RD_LEG_UPSTREAM,
                 STRENGTH_PAIRED);
    }
    l->ev[best_how == RD_PAIR_FORWARDED ? RD_EV_FORWARDED
          : best_how == RD_PAIR_REQUEST_ID ? RD_EV_REQUEST_ID
                                           : RD_EV_REQUEST_LINE]++;
    if (alt != NULL) {
        l->ev[RD_EV_AMBIGUOUS]++;
    }
    best->paired++;
    rd_conn_pair(c, best->conn_id, best_how, weak,
                 alt != NULL ? alt->conn_id : 0);
    rd_conn_pair(best->conn, c->id, best_how, weak,
                 alt != NULL ? alt->conn_id : 0);
    set_peer(c, best->conn);
    pair_failed_attempts(l, c, best->conn, best->ts, weak);
}


/* true when Server: says nginx (any version, or server_tokens off) */
static bool
says_nginx(const uint8_t *srv, size_t len)
{
    return len >= 5 && memcmp(srv, "nginx", 5) == 0
           && (len == 5 || srv[5] == '/');
}


/* c's server is an upstream nginx is known to connect to (declared, or
 * learnt by pairing), whatever address c came from. */
static bool
known_upstream(const struct rd_legs *l, const struct rd_conn *c)
{
    const struct role_ep  *ep;

    ep = find_ep(l, c->af, c->ep[RD_CONN_SERVER].addr,
                 c->ep[RD_CONN_SERVER].port);
    return ep != NULL && ep->leg == RD_LEG_UPSTREAM
           && ep->strength >= STRENGTH_PAIRED;
}


/*
 * c, a client of nginx's listener, got a 5xx to a request that left no
 * upstream request: nginx's attempts failed before one could be sent (a
 * refused connect, SYNs unanswered).  The connections that began while
 * it waited and carried nothing are those attempts; from an address
 * nginx is known to connect from, or, when none is known, from any.
 */
static void
pair_by_timing(struct rd_legs *l, struct rd_conn *c,
    const struct rd_exchange *e)
{
    struct connect  *k, *found[8];
    uint32_t         i, n;
    bool             any_source, several;

    any_source = l->nsrcs == 0;
    n = 0;
    several = false;
    for (i = 1; i <= CONNECTS && n < RD_NELEMS(found); i++) {
        k = &l->connects[(l->connects_head + CONNECTS - i) % CONNECTS];
        if (k->conn == NULL || k->ts < e->req_start) {
            break;
        }
        if (k->conn == c || k->conn->id != k->conn_id
            || k->ts > e->resp_start || !failed_attempt(k->conn)
            || rd_conn_peer(k->conn) != NULL
            || same_ep(&k->conn->ep[RD_CONN_SERVER], k->conn->af,
                       &c->ep[RD_CONN_SERVER], c->af)
            || (!any_source
                && !is_source(l, k->conn->af,
                              k->conn->ep[RD_CONN_CLIENT].addr)
                && !known_upstream(l, k->conn)))
        {
            continue;
        }
        if (n > 0 && !same_addr(k->conn->af, k->conn->ep[0].addr,
                                found[0]->conn->af, found[0]->conn->ep[0].addr))
        {
            several = true;
        }
        found[n++] = k;
    }
    for (i = 0; i < n; i++) {
        pair_attempt(l, found[i]->conn, c, any_source || several,
                     several ? found[i == 0 ? 1 : 0]->conn_id : 0);
    }
    if (several) {
        l->ev[RD_EV_AMBIGUOUS]++;
    }
}


void
rd_legs_response(struct rd_legs *l, struct rd_conn *c, uint32_t ex)
{
    const struct role_ep      *known;
    const struct rd_exchange  *e;
    struct recent             *r;
    const uint8_t             *srv;
    size_t                     len;
    uint32_t                   v;

    srv = rd_conn_server(c, &len);
    known = server_ep(l, c);
    if (srv != NULL && says_nginx(srv, len) && known == NULL) {
        /* a listener, unless pairing says otherwise later (an nginx in
         * front of another nginx) */
        learn_ep(l, c->af, c->ep[RD_CONN_SERVER].addr,
                 c->ep[RD_CONN_SERVER].port, RD_LEG_CLIENT,
                 STRENGTH_SERVER_HEADER);
        l->ev[RD_EV_SERVER_HEADER]++;
        known = server_ep(l, c);
    }

    e = rd_conn_exchange(c, ex);
    if (known != NULL && known->leg == RD_LEG_CLIENT && e != NULL
        && e->has_req && e->status >= 500 && e->status <= 504)
    {
        r = find_recent(l, c, ex, request_key(e));
        if (r != NULL && r->paired == 0) {
            r->paired++;
            pair_by_timing(l, c, e);
        }
    }

    if (l->version_fixed || srv == NULL || len < 7
        || memcmp(srv, "nginx/", 6) != 0)
    {
        return;
    }
    /* prefer what nginx itself announces to clients */
    if (l->version != 0 && (known == NULL || known->leg != RD_LEG_CLIENT)) {
        return;
    }
    v = parse_version(srv + 6, len - 6);
    if (v != 0) {
        l->version = v;
    }
}


bool
rd_legs_pair_confirmed(const struct rd_legs *l, const struct rd_conn *c,
    const struct rd_conn *client)
{
    const struct role_ep  *e;

    if (c->npaired == 0) {
        return false;
    }
    if (!c->cold->pair_weak) {
        return true;
    }
    if (c->has_peer) {
        /* the upstream leg: its source since paired strongly */
        if (is_source(l, c->af, c->ep[RD_CONN_CLIENT].addr)) {
            return true;
        }
    } else {
        client = c;
    }
    if (client == NULL) {
        return false;
    }
    e = server_ep(l, client);
    return e != NULL && e->leg == RD_LEG_CLIENT;
}


int
rd_legs_classify(const struct rd_legs *l, const struct rd_conn *c)
{
    const struct role_ep  *e;

    e = server_ep(l, c);
    if (e != NULL) {
        return e->leg;
    }
    /* nginx's own address opening a connection to a server that is not
     * an nginx listener: an upstream, even if no request made it (a
     * refused connect, a SYN timeout) */
    if (is_source(l, c->af, c->ep[RD_CONN_CLIENT].addr)
        && c->ep[RD_CONN_CLIENT].port >= 1024
        && find_ep(l, c->af, c->ep[RD_CONN_CLIENT].addr,
                   c->ep[RD_CONN_CLIENT].port) == NULL)
    {
        return RD_LEG_UPSTREAM;
    }
    /* paired on a coincidence nothing confirmed: the pair still says
     * which side each is on */
    if (c->has_peer) {
        return RD_LEG_UPSTREAM;
    }
    if (c->npaired > 0) {
        return RD_LEG_CLIENT;
    }
    /* a ClientHello from a user agent, not from nginx's proxy */
    if (rd_conn_tls_user_agent(c)) {
        return RD_LEG_CLIENT;
    }
    return RD_LEG_UNKNOWN;
}
