/*
 * legs: role learning and leg pairing by request line and timing.
 */
#include <arpa/inet.h>
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

/* A known endpoint; port 0 matches any port of the address. */
struct role_ep {
    uint8_t         af;
    uint8_t         addr[16];
    uint16_t        port;
    uint8_t         leg;            /* RD_LEG_CLIENT: nginx listens here */
    bool            declared;       /* from the command line */
    bool            fastcgi;        /* --fastcgi */
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
};

#define KEY_BUCKETS 1024u           /* power of two */
#define CONNECTS    256u            /* recent SYNs remembered */

struct connect {
    struct rd_conn *conn;
    uint64_t        conn_id;
    rd_usec_t       ts;
};

struct rd_legs {
    const struct rd_alloc  *alloc;
    struct role_ep          eps[RD_LIMITS_ROLE_EPS];
    uint32_t                neps;
    uint8_t                 nginx_hosts[RD_LIMITS_ROLE_EPS][17];
    uint32_t                nhosts;
    struct recent           ring[RD_LIMITS_PAIR_RING];
    uint32_t                head;           /* next slot to write */
    uint32_t                count;
    uint32_t                bucket[KEY_BUCKETS];   /* newest, index + 1 */
    struct connect          connects[CONNECTS];
    uint32_t                connects_head;
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

    /* exact port first, then an address-wide declaration */
    for (i = 0; i < l->neps; i++) {
        if (l->eps[i].af == af && l->eps[i].port == port
            && memcmp(l->eps[i].addr, addr, 16) == 0)
        {
            return (struct role_ep *) &l->eps[i];
        }
    }
    for (i = 0; i < l->neps; i++) {
        if (l->eps[i].af == af && l->eps[i].port == 0
            && memcmp(l->eps[i].addr, addr, 16) == 0)
        {
            return (struct role_ep *) &l->eps[i];
        }
    }
    return NULL;
}


static void
learn_ep(struct rd_legs *l, uint8_t af, const uint8_t *addr, uint16_t port,
    int leg, bool declared)
{
    struct role_ep  *e;

    e = find_ep(l, af, addr, port);
    if (e != NULL && e->port == port) {
        if (declared || !e->declared) {
            e->leg = (uint8_t) leg;
            e->declared = e->declared || declared;
        }
        return;
    }
    if (l->neps == RD_LIMITS_ROLE_EPS) {
        return;
    }
    e = &l->eps[l->neps++];
    e->af = af;
    memcpy(e->addr, addr, 16);
    e->port = port;
    e->leg = (uint8_t) leg;
    e->declared = declared;
}


static void
learn_nginx_host(struct rd_legs *l, uint8_t af, const uint8_t *addr)
{
    uint32_t  i;

    for (i = 0; i < l->nhosts; i++) {
        if (l->nginx_hosts[i][0] == af
            && memcmp(&l->nginx_hosts[i][1], addr, 16) == 0)
        {
            return;
        }
    }
    if (l->nhosts < RD_LIMITS_ROLE_EPS) {
        l->nginx_hosts[l->nhosts][0] = af;
        memcpy(&l->nginx_hosts[l->nhosts][1], addr, 16);
        l->nhosts++;
    }
}


static bool
is_nginx_host(const struct rd_legs *l, uint8_t af, const uint8_t *addr)
{
    uint32_t  i;

    for (i = 0; i < l->nhosts; i++) {
        if (l->nginx_hosts[i][0] == af
            && memcmp(&l->nginx_hosts[i][1], addr, 16) == 0)
        {
            return true;
        }
    }
    return false;
}


static int
parse_spec(const char *spec, uint8_t *af_out, uint8_t addr[16],
    uint16_t *port_out);


int
rd_legs_declare(struct rd_legs *l, int leg, const char *spec,
    char err[RD_ERRLEN])
{
    uint8_t   af, addr[16];
    uint16_t  port;

    if (parse_spec(spec, &af, addr, &port) != 0) {
        snprintf(err, RD_ERRLEN, "%s: '%s' is not ADDR, ADDR:PORT or "
                 "[ADDR]:PORT", leg == RD_LEG_CLIENT ? "--nginx"
                                                     : "--upstream", spec);
        return -RD_EINVAL;
    }
    learn_ep(l, af, addr, port, leg, true);
    if (leg == RD_LEG_CLIENT) {
        learn_nginx_host(l, af, addr);
    }
    return RD_OK;
}


int
rd_legs_declare_fastcgi(struct rd_legs *l, const char *spec,
    char err[RD_ERRLEN])
{
    uint8_t          af, addr[16];
    uint16_t         port;
    struct role_ep  *e;

    if (parse_spec(spec, &af, addr, &port) != 0) {
        snprintf(err, RD_ERRLEN, "--fastcgi: '%s' is not ADDR, ADDR:PORT or "
                 "[ADDR]:PORT", spec);
        return -RD_EINVAL;
    }
    learn_ep(l, af, addr, port, RD_LEG_UPSTREAM, true);
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


/* ADDR, ADDR:PORT or [V6ADDR]:PORT; port 0 when absent. */
static int
parse_spec(const char *spec, uint8_t *af_out, uint8_t addr[16],
    uint16_t *port_out)
{
    char            host[64];
    const char     *colon, *end;
    unsigned long   port;
    size_t          n;
    uint8_t         af;
    char           *stop;

    port = 0;
    if (spec[0] == '[') {
        end = strchr(spec, ']');
        if (end == NULL) {
            goto bad;
        }
        n = (size_t) (end - spec - 1);
        colon = end[1] == ':' ? end + 1 : NULL;
        if (end[1] != '\0' && colon == NULL) {
            goto bad;
        }
        spec++;
    } else {
        colon = strrchr(spec, ':');
        if (colon != NULL && strchr(spec, ':') != colon) {
            colon = NULL;           /* a bare IPv6 address */
        }
        n = colon != NULL ? (size_t) (colon - spec) : strlen(spec);
    }
    if (n == 0 || n >= sizeof(host)) {
        goto bad;
    }
    memcpy(host, spec, n);
    host[n] = '\0';
    if (colon != NULL) {
        port = strtoul(colon + 1, &stop, 10);
        if (colon[1] == '\0' || *stop != '\0' || port == 0 || port > 65535) {
            goto bad;
        }
    }
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, host, addr) == 1) {
        af = 4;
    } else if (inet_pton(AF_INET6, host, addr) == 1) {
        af = 6;
    } else {
        goto bad;
    }
    *af_out = af;
    *port_out = (uint16_t) port;
    return 0;

bad:
    return -1;
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


/*
 * up carries the client request of client (sent at since): earlier
 * connections from nginx's address that began after the client request
 * and never carried a request (a refused connect, a timed-out SYN) were
 * attempts for the same request (proxy_next_upstream).
 */
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


static void
pair_failed_attempts(struct rd_legs *l, struct rd_conn *up,
    struct rd_conn *client, rd_usec_t since)
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
        /* a failed attempt: began between the client's request and this
         * connection, carried no request, and is already over */
        if (k->conn == NULL || k->conn == up || k->conn->id != k->conn_id
            || k->ts < since || k->ts > up->ts_start || k->conn->nex != 0
            || (k->conn->close_kind == RD_CLOSE_NONE
                && !rd_conn_syn_unanswered(k->conn))
            || k->conn->af != up->af
            || memcmp(k->conn->ep[0].addr, up->ep[0].addr, 16) != 0)
        {
            continue;
        }
        rd_conn_pair(k->conn, client->id);
        rd_conn_pair(client, k->conn->id);
        set_peer(k->conn, client);
    }
}


void
rd_legs_request(struct rd_legs *l, struct rd_conn *c, uint32_t ex)
{
    const struct rd_exchange  *e, *pe;
    struct recent             *r;
    struct role_ep            *known;
    uint64_t                   key;
    uint32_t                   link, next, steps, *lp;
    rd_usec_t                  prev_ts;

    e = rd_conn_exchange(c, ex);
    if (e == NULL) {
        return;
    }
    key = request_key(e);

    /* an upstream request repeats a client request that is still waiting
     * for its answer, from nginx's own address, soon after it */
    known = find_ep(l, c->af, c->ep[1].addr, c->ep[1].port);
    if (known == NULL || known->leg != RD_LEG_CLIENT) {
        /* walk only the requests with the same key bucket, newest first;
         * the ring may have overwritten an entry since: its key or its
         * age tells */
        steps = 0;
        prev_ts = e->req_start;
        lp = &l->bucket[key & (KEY_BUCKETS - 1)];
        for (link = *lp; link != 0 && steps < RD_LIMITS_PAIR_RING;
             link = next)
        {
            steps++;
            r = &l->ring[link - 1];
            if ((r->key & (KEY_BUCKETS - 1)) != (key & (KEY_BUCKETS - 1))
                || e->req_start - r->ts > (rd_usec_t) RD_LIMITS_PAIR_WINDOW
                                          * USEC
                || r->ts > prev_ts)
            {
                break;              /* overwritten: the chain ends here */
            }
            prev_ts = r->ts;
            next = r->older;
            /* a request that was answered (or whose connection is gone)
             * can never be paired again: unlink it, so that a run of
             * identical requests (a health check, a load test) is not
             * walked again by every later one */
            pe = r->conn->id == r->conn_id
                 ? rd_conn_exchange(r->conn, r->ex) : NULL;
            if (pe == NULL || pe->has_resp) {
                *lp = next;
                continue;
            }
            lp = &r->older;
            /* the same listener on both connections is two clients
             * (a load generator on nginx's host), not a proxied request */
            if (r->key != key || r->conn == c || r->conn->af != c->af
                || memcmp(r->conn->ep[1].addr, c->ep[0].addr, 16) != 0
                || (r->conn->ep[1].port == c->ep[1].port
                    && memcmp(r->conn->ep[1].addr, c->ep[1].addr, 16) == 0)
                || !same_request(pe, e))
            {
                continue;
            }
            learn_ep(l, c->af, r->conn->ep[1].addr, r->conn->ep[1].port,
                     RD_LEG_CLIENT, false);
            learn_nginx_host(l, c->af, c->ep[0].addr);
            learn_ep(l, c->af, c->ep[1].addr, c->ep[1].port,
                     RD_LEG_UPSTREAM, false);
            rd_conn_pair(c, r->conn_id);
            rd_conn_pair(r->conn, c->id);
            set_peer(c, r->conn);
            pair_failed_attempts(l, c, r->conn, r->ts);
            return;
        }
    }

    r = &l->ring[l->head];
    r->conn = c;
    r->conn_id = c->id;
    r->key = key;
    r->ts = e->req_start;
    r->ex = ex;
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


void
rd_legs_response(struct rd_legs *l, const struct rd_conn *c)
{
    struct role_ep  *known;
    const uint8_t   *srv;
    size_t           len;
    uint32_t         v;

    srv = rd_conn_server(c, &len);
    if (l->version_fixed || len < 7 || memcmp(srv, "nginx/", 6) != 0) {
        return;
    }
    /* prefer what nginx itself announces to clients */
    known = find_ep(l, c->af, c->ep[1].addr, c->ep[1].port);
    if (l->version != 0 && (known == NULL || known->leg != RD_LEG_CLIENT)) {
        return;
    }
    v = parse_version(srv + 6, len - 6);
    if (v != 0) {
        l->version = v;
    }
}


int
rd_legs_classify(const struct rd_legs *l, const struct rd_conn *c)
{
    const struct role_ep  *e;

    e = find_ep(l, c->af, c->ep[1].addr, c->ep[1].port);
    if (e != NULL) {
        return e->leg;
    }
    /* nginx's own address opening a connection to a server that is not
     * an nginx listener: an upstream, even if no request made it (a
     * refused connect, a SYN timeout) */
    if (is_nginx_host(l, c->af, c->ep[0].addr) && c->ep[0].port >= 1024) {
        e = find_ep(l, c->af, c->ep[0].addr, c->ep[0].port);
        if (e == NULL) {
            return RD_LEG_UPSTREAM;
        }
    }
    return RD_LEG_UNKNOWN;
}
