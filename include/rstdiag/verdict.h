/*
 * verdict: what a finished connection means for nginx, as a stable code
 * with the side to blame, the nginx error.log line that this condition
 * produces, the likely causes and the configuration fix.
 *
 * rd_verdict_classify() is a pure function of one connection, its leg and
 * a little context (the other leg's close, the nginx version): a table
 * of rules in order of precedence, testable alone.
 */
#ifndef RD_VERDICT_H
#define RD_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "rstdiag/common.h"
#include "rstdiag/conn.h"

/* Verdict codes: stable once released (their names are the contract). */
enum rd_verdict_code {
    RD_V_NONE = 0,
    RD_V_UPSTREAM_REFUSED,
    RD_V_UPSTREAM_CONNECT_TIMEOUT,
    RD_V_UPSTREAM_RESET_BEFORE_RESPONSE,
    RD_V_UPSTREAM_RESET_MID_BODY,
    RD_V_UPSTREAM_RESET_SENDING_REQUEST,
    RD_V_UPSTREAM_CLOSED_BEFORE_RESPONSE,
    RD_V_UPSTREAM_TRUNCATED_BODY,
    RD_V_UPSTREAM_EXCESS_BODY,
    RD_V_UPSTREAM_INVALID_CHUNKED,
    RD_V_UPSTREAM_HEADER_TOO_BIG,
    RD_V_UPSTREAM_TIMEOUT,
    RD_V_KEEPALIVE_RACE,
    RD_V_CLIENT_ABORT,
    RD_V_CHUNKED_TO_HTTP10,
    RD_V_CL_AND_TE,
    RD_V_NGINX_RESET,
    RD_V_SUSPECT_INJECTED_RST,
    RD_V_IDLE_CLOSE,
    RD_V_BAD_GATEWAY,               /* client leg: nginx answered 502/504 */
    RD_V_RESPONSE_CUT_TO_CLIENT,    /* client leg: body cut by nginx */
    RD_V_NGINX_CLOSED_WITHOUT_RESPONSE,  /* client leg: no answer at all */
    RD_V_FASTCGI_STDERR,            /* the application wrote to STDERR */
    RD_V_UPSTREAM_BAD_CONTENT_LENGTH,
    RD_V_UPSTREAM_SEND_TIMEOUT_BACKPRESSURE,    /* closed mid-body while
                                                 * nginx's window was shut */
    RD_V_UPSTREAM_TLS_HANDSHAKE_CLOSED, /* TLS upstream: FIN in handshake */
    RD_V_UPSTREAM_TLS_HANDSHAKE_RESET,  /* ... RST in handshake */
    RD_V_UPSTREAM_TLS_ALERT,        /* ... a fatal alert in handshake */
    RD_V_UPSTREAM_NOT_TLS,          /* ... answered in plain HTTP */
    RD_V_NGINX_TLS_HANDSHAKE_ABORT, /* nginx ended the upstream handshake */
    RD_V_CLIENT_TLS_HANDSHAKE_ABORT,    /* client leg: the client gave up
                                         * its TLS handshake */
    RD_V_CLIENT_TLS_REJECTED,       /* client leg: nginx refused the
                                     * client's handshake with an alert */
    RD_V_CLIENT_PLAIN_HTTP_TO_TLS,  /* client leg: plain HTTP to nginx's
                                     * TLS port (its 400 page) */
    RD_V_NCODES
};

extern const struct rd_tok  rd_verdict_names[];

enum rd_severity {
    RD_SEV_NONE = 0,
    RD_SEV_INFO,
    RD_SEV_WARNING,
    RD_SEV_ERROR
};

extern const struct rd_tok  rd_severity_names[];

enum rd_blame {
    RD_BLAME_NONE = 0,
    RD_BLAME_UPSTREAM,
    RD_BLAME_NGINX,
    RD_BLAME_CLIENT,
    RD_BLAME_MIDDLEBOX,
    RD_BLAME_EITHER
};

extern const struct rd_tok  rd_blame_names[];

enum rd_confidence {
    RD_CONF_HIGH = 0,
    RD_CONF_MEDIUM,
    RD_CONF_LOW
};

extern const struct rd_tok  rd_confidence_names[];

/* The fixed text of a verdict. */
struct rd_verdict_rule {
    int             code;
    int             severity;
    int             blame;
    const char     *level;          /* error.log level: "error", "warn", ... */
    const char     *message;        /* nginx <= 1.29.6 defaults, NULL: none */
    const char     *causes;
    const char     *fix;
};

/* What the client gets when the failure is nginx's last attempt (the
 * JSON key nginx_client_gets). */
enum rd_client_gets {
    RD_GETS_UNKNOWN = 0,            /* depends on timing: not predicted */
    RD_GETS_ERROR_PAGE,             /* nginx's own status (client_status) */
    RD_GETS_CUT_RESPONSE,           /* the upstream's header, body cut */
    RD_GETS_WHOLE_RESPONSE,         /* the upstream's response as sent */
    RD_GETS_RETRIED,                /* the answer to nginx's retry */
    RD_GETS_NO_RESPONSE,            /* the connection closed, no status */
    RD_GETS_CLIENT_GONE             /* the client left first (access log
                                     * status client_status) */
};

extern const struct rd_tok  rd_client_gets_names[];

/*
 * The version table (DESIGN.md, "Versions"): what the nginx versions in
 * [from, to) do for one verdict.  Every version-dependent prediction
 * reads it; a verdict with no row behaves the same in every version and
 * takes its rule's message.  Versions are major*10000+minor*100+patch;
 * to 0: no upper bound.
 */
struct rd_version_row {
    int             code;
    uint32_t        from;
    uint32_t        to;
    unsigned        when;           /* RD_VW_*: which connections */
    int             severity;
    const char     *level;          /* error.log level, NULL: silent */
    const char     *message;        /* nginx's words, NULL: silent */
    int             gets;           /* enum rd_client_gets */
    int             client_status;  /* RD_GETS_ERROR_PAGE: 502, 504;
                                     * RD_GETS_CLIENT_GONE: 499 */
    const char     *retry;          /* what nginx retries, NULL: nothing */
    const char     *note;           /* the difference, said plainly; NULL
                                     * where versions agree */
};

#define RD_VW_ANY       0u          /* every connection of the verdict */
#define RD_VW_BARE_LF   1u          /* only bare-LF chunk framing */
#define RD_VW_QUOTE_CL  2u          /* the message quotes the bad
                                     * Content-Length header */
#define RD_VW_TLS       3u          /* on a TLS connection (proxy_pass
                                     * https://) */

/* The table's rows, *n of them, in code order. */
const struct rd_version_row *rd_verdict_versions(size_t *n);

/* "1.23.0" from 12300 into buf. */
const char *rd_version_str(uint32_t v, char *buf, size_t size);

/* Context from outside the connection. */
struct rd_verdict_ctx {
    int             leg;            /* enum rd_leg */
    uint32_t        nginx_version;  /* major*10000+minor*100+patch, 0 ?? */
    bool            peer_known;     /* the client leg of an upstream leg */
    int             peer_close_by;  /* its first close (RD_CONN_*) */
    int             peer_close_kind;
    rd_usec_t       peer_close_ts;
    int             peer_status;    /* the status nginx gave that client
                                     * for the request, 0: none seen */
    int             peer_phase;     /* its phase at its first close */
    bool            peer_resp_done; /* ... and its response to the request
                                     * came whole, as far as seen yet */
    int             cause;          /* client leg: verdict of the upstream
                                     * leg that failed it, RD_V_NONE */
    rd_usec_t       cause_ts;       /* ... when its failed request began */
    bool            pair_weak;      /* paired on one coincidence */
    bool            pair_ambiguous; /* another leg fitted as well */
    uint64_t        drops;          /* packets the capture lost (live,
                                     * pcap_stats) while it was open */
};

struct rd_verdict {
    int                             code;
    const struct rd_verdict_rule   *rule;
    const char                     *message;    /* for this version/kind */
    const char                     *level;      /* its error.log level */
    int                             severity;   /* the rule's, or raised */
    int                             confidence;
    const char                     *why;        /* reason when not high */
    const char                     *note;       /* version remark, or NULL */
    int                             cause;      /* client leg: the upstream
                                                 * leg's verdict, RD_V_NONE */
    bool                            pair_confirmed; /* the pairing is more
                                                 * than one coincidence */
    uint64_t                        capture_drops;  /* x->drops */
    uint32_t                        nginx_version;  /* the prediction's, 0
                                                 * unknown */
    const char                     *nginx_version_from; /* rd_legs_version_from */
    double                          backend_idle;   /* keepalive_race: the
                                                 * upstream's measured idle
                                                 * timeout, s; <= 0 none */
    double                          elapsed;    /* s from request sent to
                                                 * the close, < 0: n/a */
    double                          idle;       /* s idle before reuse,
                                                 * < 0: n/a */
    double                          stall;      /* s nginx's receive window
                                                 * had been zero at the
                                                 * upstream's close, < 0:
                                                 * n/a */
    char                            buf[256];   /* message, when built
                                                 * from packet bytes */
    char                            note_buf[256];  /* note, when built */
    const struct rd_version_row    *row;        /* the version table's
                                                 * row used, or NULL */
    char                            versions[48];   /* the versions the
                                                 * prediction holds for */
    const char                     *evidence;   /* --evidence: the file
                                                 * written, or NULL */
};

/* Classify c.  Always fills *v (code RD_V_NONE for nothing to say). */
void rd_verdict_classify(const struct rd_conn *c,
    const struct rd_verdict_ctx *x, struct rd_verdict *v);

/* The rule of a code (never NULL for a valid code). */
const struct rd_verdict_rule *rd_verdict_rule(int code);

#endif /* RD_VERDICT_H */
