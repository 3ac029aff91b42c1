/*
 * legs: which address:port is nginx, which are its upstreams, and which
 * upstream connection served which client request.
 *
 * nginx is found without help: when a request arrives on one connection
 * and the same request line leaves, shortly after, on another connection
 * whose client address is the first connection's server address, the
 * first server is an nginx listener and the second server an upstream.
 * This works when everything is on 127.0.0.1 too, because it pairs
 * requests, not hosts.  --nginx and --upstream override it.  All tables
 * are fixed-size; when full, learning stops (counted).
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

struct rd_legs *rd_legs_create(const struct rd_alloc *a);
void rd_legs_destroy(struct rd_legs *l);

/*
 * Declare an endpoint: leg RD_LEG_CLIENT for "this is nginx" (--nginx),
 * RD_LEG_UPSTREAM for an upstream (--upstream).  spec is ADDR, ADDR:PORT
 * or [V6ADDR]:PORT.  -RD_EINVAL with a reason in err on a bad spec.
 */
int rd_legs_declare(struct rd_legs *l, int leg, const char *spec,
    char err[RD_ERRLEN]);

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

/* A connection began with a SYN: remembered for a while, so that an
 * attempt that never carried a request (refused, timed out) can be paired
 * with the client request whose retry comes next. */
void rd_legs_connect(struct rd_legs *l, struct rd_conn *c);

/* A response's header completed on c: learns nginx's version. */
void rd_legs_response(struct rd_legs *l, const struct rd_conn *c);

/* The leg of c, from declarations and what was learned so far. */
int rd_legs_classify(const struct rd_legs *l, const struct rd_conn *c);

/* nginx version as major*10000 + minor*100 + patch, 0 when unknown. */
uint32_t rd_legs_version(const struct rd_legs *l);

/* up's response ended, or up is reported: its client leg no longer
 * waits for it (idempotent). */
void rd_legs_unref_peer(struct rd_conn *up);

#endif /* RD_LEGS_H */
