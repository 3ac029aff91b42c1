/*
 * conn: one TCP connection seen from the capture point: roles (client =
 * SYN sender), handshake, both directions' streams, FIN and RST in the
 * order they happened, the acceptability of each RST (RFC 9293
 * §3.10.7.4), per-sender TTL and IP ID, and a short timeline.
 *
 * The flow table owns rd_conn storage; this module only updates it.
 * Endpoint index 0 is the client and 1 the server once roles are known.
 */
#ifndef RD_CONN_H
#define RD_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "rstdiag/common.h"
#include "rstdiag/decode.h"
#include "rstdiag/fcgi.h"
#include "rstdiag/http1.h"
#include "rstdiag/limits.h"
#include "rstdiag/tcp.h"
#include "rstdiag/tls.h"

#define RD_CONN_PAIRED_MAX  4       /* other legs remembered */

#define RD_CONN_CLIENT  0
#define RD_CONN_SERVER  1

enum rd_close_kind {
    RD_CLOSE_NONE = 0,
    RD_CLOSE_FIN,
    RD_CLOSE_RST
};

extern const struct rd_tok  rd_close_kind_names[];

/* Why a connection record was finished. */
enum rd_conn_end {
    RD_END_CLOSED = 0,      /* both FINs, or an RST, then quiet */
    RD_END_IDLE,            /* no packet for the idle timeout */
    RD_END_EVICTED,         /* table full: oldest dropped */
    RD_END_REUSED,          /* a new SYN reused the 4-tuple */
    RD_END_CAPTURE          /* capture ended with the connection open */
};

extern const struct rd_tok  rd_conn_end_names[];

struct rd_endpoint {
    uint8_t         addr[16];
    uint16_t        port;
};

/* One RST as seen on the wire. */
struct rd_conn_rst {
    rd_usec_t       ts;
    uint32_t        seq;
    uint32_t        payload_len;    /* RST with data (RFC 9293 §3.5.3) */
    uint8_t         by;             /* RD_CONN_CLIENT / _SERVER */
    uint8_t         ttl;
    uint16_t        ip_id;
    unsigned        acceptable:1;   /* in the receiver's window */
    unsigned        exact:1;        /* seq == the receiver's RCV.NXT */
    unsigned        known:1;        /* receiver state known enough to judge */
    unsigned        answers_syn:1;  /* RST/ACK to a SYN: refused */
    unsigned        after_fin:1;    /* sender had already sent a FIN */
    uint32_t        unacked;        /* sender's bytes the peer had not
                                     * acknowledged when the RST left */
    uint32_t        unread_peer;    /* bytes the peer had sent that this
                                     * side had not acknowledged */
};

/* What the connection carries, decided at its first payload byte. */
enum rd_proto {
    RD_PROTO_NONE = 0,                  /* no payload yet */
    RD_PROTO_HTTP,
    RD_PROTO_FASTCGI,                   /* nginx -> php-fpm and the like */
    RD_PROTO_TLS                        /* the client's first bytes were a
                                         * TLS record (issue 17) */
};

extern const struct rd_tok  rd_proto_names[];

/* Where the exchange stood when the first FIN or RST arrived. */
enum rd_phase {
    RD_PHASE_NONE = 0,                  /* no close seen */
    RD_PHASE_CONNECT,                   /* handshake not complete */
    RD_PHASE_SENDING_REQUEST,           /* request bytes still coming */
    RD_PHASE_AWAITING_RESPONSE_HEADER,  /* request sent, no full header */
    RD_PHASE_READING_RESPONSE_BODY,     /* header done, body not */
    RD_PHASE_IDLE_KEEPALIVE,            /* nothing outstanding, reusable */
    RD_PHASE_AFTER_COMPLETE_RESPONSE,   /* last response said close */
    RD_PHASE_TLS_HANDSHAKE              /* TLS: handshake not complete */
};

extern const struct rd_tok  rd_phase_names[];

/*
 * One request and its response.  Strings are raw packet bytes (escape
 * before printing).  A connection keeps the last RD_LIMITS_EXCHANGES_KEEP.
 */
struct rd_exchange {
    rd_usec_t       req_start, req_end;     /* 0 = not seen */
    rd_usec_t       resp_start, resp_end;
    int64_t         content_length;         /* response; -1 absent */
    uint64_t        body_bytes;             /* response body */
    uint64_t        req_body_bytes;
    uint64_t        header_bytes;           /* response header block */
    uint64_t        req_header_bytes;
    uint64_t        framing_off;            /* where the primary finding was */
    uint32_t        findings;               /* response: 1u << finding */
    uint32_t        req_findings;
    uint16_t        status;                 /* 0 = no response */
    uint16_t        interim;                /* 1xx responses before it */
    uint8_t         version;                /* request: 9, 10, 11; 0 none */
    uint8_t         resp_version;
    uint8_t         framing;                /* primary rd_http1_finding */
    uint8_t         req_framing;
    unsigned        has_req:1;
    unsigned        has_resp:1;
    unsigned        resp_done:1;
    unsigned        req_done:1;
    unsigned        chunked:1;
    unsigned        keep_alive:1;           /* both allow reuse */
    unsigned        req_keep_alive:1;       /* the request allows it */
    unsigned        head:1;
    unsigned        stderr_seen:1;          /* FastCGI STDERR records */
    unsigned        invalid_record:1;       /* FastCGI framing broken */
    unsigned        bare_lf_chunks:1;       /* invalid_chunked only for a
                                             * bare LF (nginx < 1.29.4
                                             * accepts it) */
    uint8_t         method_len;
    uint8_t         target_len;
    uint8_t         fwd_af;                 /* request: forwarded client */
    uint8_t         fwd_addr[16];           /* ... address (4, 6; 0 none) */
    uint16_t        fwd_port;               /* ... and port, 0 unknown */
    uint64_t        req_id;                 /* request: X-Request-ID hash */
    uint8_t         method[RD_HTTP1_METHOD_LEN];
    uint8_t         target[RD_HTTP1_TARGET_LEN];
};

/*
 * A TLS connection: the record-layer reader of each direction, and the
 * request/response turns inferred from its application-data records
 * (the HTTP inside cannot be read).  A turn is a run of records from one
 * side; a client turn is taken for a request, the server turn after it
 * for its response.  TLS 1.3 servers send session tickets as encrypted
 * records right after the handshake: the server's first two records, if
 * each is at most RD_CONN_TLS_TICKET_MAX bytes, the second as long as the
 * first (a resumed session may get one ticket, then a small response),
 * and both come before any server turn, are taken for tickets, not a
 * response.
 */
#define RD_CONN_TLS_TICKET_MAX  512u

/* A close less than this after the server's last record is taken to cut
 * the response (reading_response_body), a later one to end an idle
 * connection (idle_keepalive). */
#define RD_CONN_TLS_BODY_GAP    ((rd_usec_t) 1000000)

struct rd_conn_tls {
    struct rd_tls       dir[2];         /* [0] client's, [1] server's */
    uint32_t            requests;       /* client turns */
    uint32_t            responses;      /* server turns after a request */
    rd_usec_t           req_ts;         /* the last client turn began */
    rd_usec_t           req_last_ts;    /* ... its last record */
    rd_usec_t           resp_ts;        /* the last server turn began */
    rd_usec_t           resp_last_ts;   /* ... its last record */
    uint8_t             last_dir;       /* side of the last turn, 2 none */
    uint8_t             tickets;        /* records taken for tickets */
    uint16_t            ticket_len;     /* the first one's record length:
                                         * a server issues tickets of one
                                         * size */
    uint8_t             alert_by;       /* first clear alert: side, 2 none */
    uint8_t             alert_level;
    uint8_t             alert_desc;
    uint8_t             notify[2];      /* a side sent an encrypted record
                                         * of an alert's size: probably its
                                         * close_notify, not data */
    rd_usec_t           notify_ts[2];   /* ... when, first */
};

/*
 * The application-level state of a connection (parsers and the last
 * exchanges): most of a connection's size, so it comes from a pool only
 * once payload flows.  A SYN flood touches none of it.
 */
struct rd_conn_app {
    union {
        struct rd_http1 http[2];        /* HTTP: [0] requests, [1] responses */
        struct rd_fcgi *fcgi;           /* FastCGI: both directions, from
                                         * the pool's own slab (it is twice
                                         * the size of the HTTP parsers) */
        struct rd_conn_tls *tls;        /* TLS: from the same slab */
    };
    struct rd_exchange  ex[RD_LIMITS_EXCHANGES_KEEP];   /* ring */
    struct rd_conn_app *next_free;
    uint8_t             server_len;
    uint8_t             server_hdr[RD_HTTP1_SERVER_LEN];   /* Server: */
    uint8_t             bad_cl_len;     /* the first bad Content-Length */
    uint8_t             bad_cl[RD_HTTP1_BAD_CL_LEN];       /* ... quoted */
};

struct rd_app_pool;

/* A pool of n application states, touched only as they are used.  NULL
 * when memory is short. */
struct rd_app_pool *rd_app_pool_create(const struct rd_alloc *a, uint32_t n);
void rd_app_pool_destroy(struct rd_app_pool *pool);

/* Per-sender facts beyond the stream itself. */
struct rd_conn_side {
    struct rd_tcp_dir   tcp;
    rd_usec_t           first_ts;       /* first packet */
    rd_usec_t           first_data_ts;  /* 0 when no data */
    rd_usec_t           last_data_ts;
    rd_usec_t           fin_ts;         /* first FIN, 0 when none */
    rd_usec_t           syn_ts;         /* first SYN (or SYN/ACK) */
    uint32_t            syns;           /* SYN packets (retransmissions) */
    uint32_t            ttl_samples;    /* non-RST packets in ttl_* */
    uint32_t            after_rst;      /* data/FIN sent after its own
                                         * effective RST */
    bool                sent_rst;       /* an effective RST from this side */
    uint8_t             ttl_first;
    uint8_t             ttl_min;
    uint8_t             ttl_max;
    uint16_t            ip_id_first;
    uint16_t            ip_id_last;
    bool                ip_v4;
};

/*
 * What few connections have: RST records, the other legs of the same
 * request, zero-window episodes.  It lives in a slab beside the flow
 * table, one per slot, written only when there is something to keep, and
 * read only below nrst, npaired, has_peer and has_zw; so a connection
 * without them never touches its page and the table entry stays small.
 */
struct rd_conn_cold {
    struct rd_conn_rst  rst[RD_LIMITS_RST_KEEP];
    uint64_t            paired[RD_CONN_PAIRED_MAX];    /* other leg ids */
    struct rd_conn     *peer_leg;       /* upstream leg: its client leg */
    uint64_t            peer_leg_id;    /* ... valid while ids match */
    uint64_t            pair_alt;       /* another leg that fitted as well
                                         * (ambiguous pairing), 0: none */
    uint64_t            cause_id;       /* client leg: the upstream leg
                                         * whose verdict is its cause */
    rd_usec_t           cause_ts;       /* ... when that leg's failed
                                         * request (or attempt) began */
    uint8_t             pairing;        /* enum rd_pairing of the pair */
    uint8_t             pair_weak;      /* one coincidence, unconfirmed */
    uint8_t             cause;          /* client leg: that verdict code */
    struct rd_tcp_zw    zw[2];          /* zero windows each side
                                         * advertised; valid when has_zw */
    struct rd_tcp_zw_close zw_close;    /* the window of the side that did
                                         * not close first, at that close;
                                         * valid when has_zw */
};

/* The whole connection.  Zero-filled by rd_conn_start(), except cold,
 * which the owner sets. */
struct rd_conn {
    uint64_t            id;             /* 1, 2, ... in order of creation */
    uint8_t             af;
    struct rd_endpoint  ep[2];          /* [0] client, [1] server */
    struct rd_conn_side side[2];
    rd_usec_t           ts_start;
    rd_usec_t           ts_end;         /* last packet */
    rd_usec_t           close_ts;       /* first FIN or RST */
    uint8_t             close_by;
    uint8_t             close_kind;     /* enum rd_close_kind */
    uint8_t             end;            /* enum rd_conn_end */
    uint8_t             nrst;           /* entries used in rst[] */
    uint32_t            rst_total;      /* RSTs seen, kept or not */
    struct rd_conn_cold *cold;          /* cold->rst[0 .. nrst) */
    struct rd_conn_app *app;            /* NULL until the first payload */
    uint8_t             proto;          /* enum rd_proto */
    uint32_t            nex;            /* exchanges begun */
    uint32_t            next_resp;      /* exchange the next response is
                                         * for */
    uint32_t            served;         /* complete responses */
    uint32_t            served_at_close;    /* ... before the first close */
    uint8_t             phase;          /* enum rd_phase at first close */
    uint8_t             npaired;        /* entries used in cold->paired */
    uint8_t             leg;            /* enum rd_leg, set at finish */
    uint8_t             zw_shut;        /* sides whose last window was
                                         * zero (their tcp.zw bits) */
    const struct rd_conn_env *env;      /* set by rd_conn_packet */
    uint32_t            peer_refs;      /* client leg: live upstream legs
                                         * whose peer_leg it is (kept in
                                         * the table for their report) */
    unsigned            no_app:1;       /* pool empty: TCP level only */
    unsigned            roles_inferred:1;
    unsigned            syn:1;          /* client SYN seen */
    unsigned            synack:1;       /* server SYN/ACK seen */
    unsigned            established:1;  /* client ACK of SYN/ACK seen */
    unsigned            refused:1;      /* RST answered the SYN */
    unsigned            closed:1;       /* both FINs, or an RST */
    unsigned            has_peer:1;     /* cold->peer_leg was set */
    unsigned            has_cause:1;    /* cold->cause, cause_id were set */
    unsigned            peer_ref:1;     /* ... and counted in its
                                         * peer_refs (until the response
                                         * it serves ends) */
    unsigned            has_zw:1;       /* a side advertised a zero
                                         * window: cold->zw is set */
};

/* What the connection layer needs from its surroundings. */
struct rd_conn_env {
    struct rd_tcp_pool     *pool;
    struct rd_app_pool     *apps;
    uint32_t                max_header_bytes;   /* --max-header-bytes */
    /* told when a request (ex: exchange index) or a response header
     * completes, for leg pairing; may be NULL */
    void                  (*on_request)(void *ctx, struct rd_conn *c,
                                        uint32_t ex);
    void                  (*on_response)(void *ctx, struct rd_conn *c,
                                         uint32_t ex);
    /* told when a response ended (complete or not); may be NULL */
    void                  (*on_response_end)(void *ctx, struct rd_conn *c);
    /* told when the client of a TLS connection begins a turn (its first
     * application data after the server's, or after the handshake): a
     * request, as far as the encrypted records tell; may be NULL */
    void                  (*on_tls_turn)(void *ctx, struct rd_conn *c);
    /* RD_PROTO_FASTCGI when c's server was declared FastCGI, else 0 */
    int                   (*proto_hint)(void *ctx, const struct rd_conn *c);
    void                   *ctx;
};


/*
 * Start a connection from its first packet.  Decides roles: the sender of
 * a SYN without ACK is the client, the sender of a SYN/ACK the server;
 * otherwise the endpoint with the lower port in the usual service range
 * is the server and roles_inferred is set.
 */
void rd_conn_start(struct rd_conn *c, uint64_t id, const struct rd_seg *seg);

/* The client leg an upstream leg serves, while it is still in the table;
 * NULL otherwise. */
static inline struct rd_conn *
rd_conn_peer(const struct rd_conn *c)
{
    return c->has_peer && c->cold->peer_leg->id == c->cold->peer_leg_id
           ? c->cold->peer_leg : NULL;
}

/* The Server header the responses carried (length in *len, 0: none). */
static inline const uint8_t *
rd_conn_server(const struct rd_conn *c, size_t *len)
{
    *len = c->app != NULL ? c->app->server_len : 0;
    return c->app != NULL ? c->app->server_hdr : NULL;
}

/* Index of the oldest exchange the ring still holds. */
static inline uint32_t
rd_conn_first_kept(const struct rd_conn *c)
{
    return c->nex > RD_LIMITS_EXCHANGES_KEEP
           ? c->nex - RD_LIMITS_EXCHANGES_KEEP : 0;
}

/* The exchange with absolute index i (< c->nex), or NULL when the ring
 * no longer holds it. */
const struct rd_exchange *rd_conn_exchange(const struct rd_conn *c,
    uint32_t i);

/* true when a response framing finding says the exchange went wrong */
bool rd_exchange_bad_framing(const struct rd_exchange *e);

/* Which endpoint sent seg: RD_CONN_CLIENT or RD_CONN_SERVER. */
int rd_conn_dir(const struct rd_conn *c, const struct rd_seg *seg);

/*
 * true when seg (a SYN without ACK from the client side) must start a new
 * connection on this 4-tuple: the previous one closed, or the SYN carries
 * another initial sequence number.
 */
bool rd_conn_is_new_syn(const struct rd_conn *c, const struct rd_seg *seg);

/* Account one packet of this connection. */
void rd_conn_packet(struct rd_conn *c, const struct rd_conn_env *env,
    const struct rd_seg *seg);

/*
 * Finish the connection (why: enum rd_conn_end): flush held bytes, return
 * pool storage.  The record stays readable until the slot is reused.
 */
void rd_conn_finish(struct rd_conn *c, const struct rd_conn_env *env,
    int why);

/* Record that c and the connection with id other are two legs of one
 * request (bounded: later pairs are dropped), made by pairing (enum
 * rd_pairing in legs.h); weak: one coincidence, not confirmed; alt:
 * another connection that fitted as well (0: none).  The first pair
 * decides how the record says it was made, unless a later one is
 * stronger. */
void rd_conn_pair(struct rd_conn *c, uint64_t other, int pairing, bool weak,
    uint64_t alt);

/* true when SYNs were retransmitted and never answered. */
bool rd_conn_syn_unanswered(const struct rd_conn *c);

/* Bytes sent in direction dir: captured, missed by the capture, or cut
 * by the snapshot length. */
uint64_t rd_conn_stream_bytes(const struct rd_conn *c, int dir);

/* Give c's application state back to the pool (after it was reported). */
void rd_conn_release(struct rd_conn *c, const struct rd_conn_env *env);

/* true once c (a TLS connection) completed its handshake */
bool rd_conn_tls_established(const struct rd_conn *c);

/* true when c's ClientHello is not one nginx sends to an upstream: it
 * offered ALPN http/1.1, as user agents do (nginx's HTTP/1 proxy offers
 * no ALPN, its HTTP/2 and gRPC proxies h2 alone), or it is malformed or
 * SSLv2-style.  Its server is then a listener. */
bool rd_conn_tls_user_agent(const struct rd_conn *c);

/* true when the connection ended abnormally: any RST, refused, or SYNs
 * left unanswered.  Such connections are reported without --all. */
bool rd_conn_abnormal(const struct rd_conn *c);

#endif /* RD_CONN_H */
