/*
 * legs: which addresses are nginx, which are its upstreams, and which
 * upstream connection served which client request.
 *
 * nginx is a set of addresses, learnt from the traffic: the listeners
 * its clients connect to and the source addresses it connects from, which
 * need not be the same (proxy_bind, a loopback upstream behind a public
 * listener, a private NIC to the backends, IPv6 clients in front of IPv4
 * backends).  A request arriving on one connection and, shortly after,
 * the same request leaving on another pairs the two; the pair is strong
 * when a forwarding header on the upstream request names the client
 * (X-Forwarded-For, X-Real-IP, Forwarded), when both carry the same
 * X-Request-ID, when nginx's listener and source are one address, or when
 * the same listener and source were paired before; otherwise it is one
 * coincidence, kept but marked weak.  A Server: nginx header on responses
 * marks a listener; a client that got 502/504 with no upstream request
 * seen is paired by timing with the connection attempts made meanwhile.
 * --nginx and --upstream override all of it.  All tables are fixed-size;
 * when full, learning stops (counted).
 */
#ifndef RD_LEGS_H
#define RD_LEGS_H

#include <stdbool.h>
#include <stdint.h>

#include "rstdiag/common.h"
#include "rstdiag/conn.h"

enum rd_leg {
    RD_LEG_UNKNOWN = 0,
    RD_LEG_CLIENT,                  /* client -> nginx */
    RD_LEG_UPSTREAM                 /* nginx -> upstream */
};

extern const struct rd_tok  rd_leg_names[];

struct rd_legs;

/* How two legs were paired (the JSON key "pairing"). */
enum rd_pairing {
    RD_PAIR_NONE = 0,
    RD_PAIR_REQUEST_LINE,           /* the same request, soon after */
    RD_PAIR_FORWARDED,              /* ... and a forwarding header names
                                     * the client */
    RD_PAIR_REQUEST_ID,             /* ... and the same X-Request-ID */
    RD_PAIR_TIMING                  /* a connection attempt while the
                                     * client waited for its 5xx */
};

extern const struct rd_tok  rd_pairing_names[];

/* Evidence counted for the summary. */
enum rd_legs_evidence {
    RD_EV_REQUEST_LINE = 0,         /* pairs by request line */
    RD_EV_FORWARDED,                /* pairs confirmed by a forwarding
                                     * header */
    RD_EV_REQUEST_ID,               /* ... by X-Request-ID */
    RD_EV_TIMING,                   /* failed attempts paired by time */
    RD_EV_SERVER_HEADER,            /* listeners marked by Server: nginx */
    RD_EV_CONFIRMED,                /* listener/source pairs seen twice */
    RD_EV_WEAK,                     /* pairs left on one coincidence */
    RD_EV_AMBIGUOUS,                /* pairs where two candidates fitted */
    RD_EV_TABLE_FULL,               /* addresses not learnt: table full */
    RD_EV_N
};

extern const struct rd_tok  rd_legs_evidence_names[];

/* What was learnt, for the summary. */
struct rd_legs_addr {
    uint8_t         af;             /* 4 or 6 */
    uint8_t         addr[16];
    uint16_t        port;           /* 0: any port (a source address) */
    uint8_t         leg;            /* RD_LEG_CLIENT: nginx listens here;
                                     * RD_LEG_UPSTREAM: an upstream */
    uint8_t         how;            /* enum rd_legs_how */
};

enum rd_legs_how {
    RD_HOW_DECLARED = 0,            /* --nginx, --upstream, --fastcgi */
    RD_HOW_PAIRED,                  /* from paired requests */
    RD_HOW_SERVER_HEADER            /* from Server: nginx alone */
};

extern const struct rd_tok  rd_legs_how_names[];

/* Evidence counters (RD_EV_N of them). */
const uint64_t *rd_legs_evidence(const struct rd_legs *l);

/* The i-th known endpoint (listeners and upstreams), false past the end. */
bool rd_legs_endpoint(const struct rd_legs *l, uint32_t i,
    struct rd_legs_addr *out);

/* The i-th address nginx was seen connecting from, false past the end. */
bool rd_legs_source(const struct rd_legs *l, uint32_t i,
    struct rd_legs_addr *out);

struct rd_legs *rd_legs_create(const struct rd_alloc *a);
void rd_legs_destroy(struct rd_legs *l);

/*
 * Declare an endpoint: leg RD_LEG_CLIENT for "this is nginx" (--nginx),
 * RD_LEG_UPSTREAM for an upstream (--upstream).  spec is ADDR, ADDR:PORT
 * or [V6ADDR]:PORT.  -RD_EINVAL with a reason in err on a bad spec.
 */
int rd_legs_declare(struct rd_legs *l, int leg, const char *spec,
    char err[RD_ERRLEN]);

/*
 * From a configuration, which says less than --nginx: a listen address
 * (the endpoint only: nginx connects from wherever the kernel chooses)
 * and a proxy_bind/fastcgi_bind address (a source only: nothing listens
 * there).  -RD_EINVAL with a reason in err on a bad spec.
 */
int rd_legs_declare_listen(struct rd_legs *l, const char *spec,
    char err[RD_ERRLEN]);
int rd_legs_declare_source(struct rd_legs *l, const char *spec,
    char err[RD_ERRLEN]);

/*
 * Declare a port on every address (a wildcard listen: "listen 80;",
 * "listen [::]:443;"): connections to it have leg unless an exact
 * ADDR:PORT or address-wide declaration or learnt role says otherwise.
 * It is as weak as a Server: nginx header: pairing may still learn an
 * upstream on that port of another address.  Listed by
 * rd_legs_endpoint() as 0.0.0.0:port, how RD_HOW_DECLARED.  -RD_EINVAL when port
 * is 0; a full table only counts RD_EV_TABLE_FULL.
 */
int rd_legs_declare_port(struct rd_legs *l, int leg, uint16_t port);

/* Declare a FastCGI server (--fastcgi ADDR[:PORT]): connections to it
 * are read as FastCGI whatever their first bytes.  -RD_EINVAL on a bad
 * spec. */
int rd_legs_declare_fastcgi(struct rd_legs *l, const char *spec,
    char err[RD_ERRLEN]);

/* true when c's server was declared FastCGI */
bool rd_legs_is_fastcgi(const struct rd_legs *l, const struct rd_conn *c);

/* Use this nginx version instead of the one announced in Server:
 * headers ("1.22.1"); -RD_EINVAL when it does not parse. */
int rd_legs_set_version(struct rd_legs *l, const char *v);

/*
 * A request's header block completed on c (its exchange index ex).
 * Learns roles and pairs it with the client request it forwards.
 */
void rd_legs_request(struct rd_legs *l, struct rd_conn *c, uint32_t ex);

/*
 * The client of TLS connection c began a turn (conn.h, on_tls_turn).  As
 * an upstream leg's request, it is paired by timing with the client leg
 * waiting for it (a TLS client's turn, or a plain request), where
 * nginx's addresses allow (see pair_tls in legs.c); otherwise it is kept
 * as a client turn that a later upstream request may serve.
 */
void rd_legs_tls_turn(struct rd_legs *l, struct rd_conn *c);

/* A connection began with a SYN: remembered for a while, so that an
 * attempt that never carried a request (refused, timed out) can be paired
 * with the client request whose retry comes next. */
void rd_legs_connect(struct rd_legs *l, struct rd_conn *c);

/* A response's header completed on c (exchange ex): learns nginx's
 * version and listeners from Server: headers; a 5xx to a client whose
 * request left no upstream request pairs the attempts made meanwhile. */
void rd_legs_response(struct rd_legs *l, struct rd_conn *c, uint32_t ex);

/* c's pairing holds more than one coincidence: it was strong when made,
 * or since then nginx's listener (c's, or client's when c is the upstream
 * leg of client, which may be NULL) answered with Server: nginx, or its
 * listener and source were paired again. */
bool rd_legs_pair_confirmed(const struct rd_legs *l, const struct rd_conn *c,
    const struct rd_conn *client);

/* The leg of c, from declarations and what was learned so far. */
int rd_legs_classify(const struct rd_legs *l, const struct rd_conn *c);

/* nginx version as major*10000 + minor*100 + patch, 0 when unknown. */
uint32_t rd_legs_version(const struct rd_legs *l);

/* Where that version comes from: "option" (--nginx-version),
 * "server_header" (Server: nginx/x.y.z), or "unknown" (the predictions
 * are then nginx 1.22's, the defaults before 1.23.0). */
const char *rd_legs_version_from(const struct rd_legs *l);

/* up's response ended, or up is reported: its client leg no longer
 * waits for it (idempotent). */
void rd_legs_unref_peer(struct rd_conn *up);

#endif /* RD_LEGS_H */
