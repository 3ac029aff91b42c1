/*
 * rstdiag: streaming FastCGI (nginx <-> php-fpm) record parser of one TCP
 * connection, both directions (FastCGI Specification 1.0, Open Market
 * 1996, sections 3 to 6; nginx's ngx_http_fastcgi_module.c for what nginx
 * accepts).
 *
 * One struct rd_fcgi per connection, owned by the caller: no allocation,
 * nothing buffered but a few fixed arrays.  Each direction is a
 * byte-at-a-time state machine, so records split at any byte boundary
 * (across segments, a record header split in two) give the same events.
 * Unlike rd_http1 one struct reads both directions, because an exchange
 * (one requestId) spans both and its phase depends on both:
 *   client (RD_FCGI_CLIENT, nginx -> php-fpm): BEGIN_REQUEST, PARAMS
 *     name-value pairs up to the empty PARAMS record, STDIN up to the
 *     empty STDIN record (also ABORT_REQUEST, DATA, GET_VALUES);
 *   server (RD_FCGI_SERVER, php-fpm -> nginx): STDOUT (a CGI header
 *     block, RFC 3875 section 6, then the body), STDERR, END_REQUEST
 *     (also GET_VALUES_RESULT, UNKNOWN_TYPE).
 *
 * Events, through p->on_ex(ctx, p, x, event), per exchange in this order:
 *   RD_FCGI_EV_BEGIN         BEGIN_REQUEST seen (or the first record of a
 *                            requestId never begun: RD_FCGI_F_NO_BEGIN).
 *   RD_FCGI_EV_REQUEST_DONE  the empty STDIN record: the request is sent.
 *   RD_FCGI_EV_HEADERS       the CGI header block ended (status known).
 *   RD_FCGI_EV_END           END_REQUEST, or finish() / a lost framing
 *                            closed it: x->primary, x->findings.
 *                            Exactly one END per BEGIN (after finish()).
 *   RD_FCGI_EV_ERROR         a record broke the rules: p->dir[d].err and
 *                            reason (x may be NULL).
 * x points into p and is valid during the callback only: copy what you
 * keep.
 *
 * Decisions:
 * - Phases (x->phase, rd_fcgi_phase()) use the names of struct rd_conn:
 *   sending_request until the empty STDIN record, then
 *   awaiting_response_header until the end of the CGI header block, then
 *   reading_response_body until END_REQUEST.  A response header that ends
 *   before the empty STDIN record moves the phase on anyway.
 * - Status: the "Status:" header's code; 302 when there is a "Location:"
 *   and no Status; 200 otherwise (nginx ngx_http_fastcgi_process_header).
 * - header_overflow: the server bytes of one exchange (record headers,
 *   STDOUT and STDERR content, padding) before the end of the CGI header
 *   block exceed max_header_bytes (default 4096: nginx's
 *   fastcgi_buffer_size is one page and holds the records as received).
 *   nginx then closes: the rest of STDOUT is counted, not parsed.
 * - truncated: FIN/RST ended the server stream before END_REQUEST, or
 *   END_REQUEST came before the end of the header block (nginx: "upstream
 *   prematurely closed FastCGI stdout", flag RD_FCGI_F_EARLY_END) or
 *   before Content-Length body bytes (nginx: "upstream prematurely closed
 *   FastCGI request", flag RD_FCGI_F_SHORT_BODY).  On the client side a
 *   FIN/RST before the empty STDIN sets RD_FCGI_F_REQ_TRUNC.
 * - incomplete: the capture ended (RD_FCGI_EOF_CAPTURE_END) first.
 * - unknown_gap: the capture missed bytes of the exchange.  Inside a
 *   record's content or padding the record length is known, so framing
 *   stays in sync: the bytes are counted (STDOUT body: body_bytes and
 *   gap_bytes) and the exchange can still complete.  A gap inside or
 *   between record headers loses that direction (phase frozen, open
 *   exchanges of the server side end with unknown_gap).  A gap inside the
 *   CGI header block leaves the header facts unknown (RD_FCGI_F_HDR_LOST).
 * - invalid_record: a version other than 1 stops the direction (p->dir[d]
 *   .err, later bytes are only counted); a type unknown to FastCGI 1.0 or
 *   sent by the wrong side, a BEGIN_REQUEST or END_REQUEST whose content
 *   is not 8 bytes, or a name-value pair cut by the empty PARAMS record
 *   marks the exchange (nginx logs "upstream sent invalid FastCGI record
 *   type" or "unexpected FastCGI record") but, lengths being known, the
 *   parse goes on.
 * - stderr_seen: any STDERR content; the first RD_FCGI_STDERR_LEN bytes
 *   are kept (nginx logs them as "FastCGI sent in stderr").
 * - Management records (requestId 0) are counted in p->mgmt_records.
 * - At most RD_FCGI_SLOTS exchanges are open at once (nginx opens one per
 *   connection, always requestId 1).  Records that belong to no exchange
 *   (no slot free, client records of a requestId never begun, invalid
 *   types) are counted in p->dropped_records.  A server record of a
 *   requestId never begun (capture started late) begins an exchange
 *   flagged RD_FCGI_F_NO_BEGIN; a second BEGIN_REQUEST for an open
 *   requestId ends the first with invalid_record.
 */
#ifndef RD_FCGI_H
#define RD_FCGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rstdiag/common.h"

#define RD_FCGI_CLIENT            0   /* nginx -> application */
#define RD_FCGI_SERVER            1   /* application -> nginx */

#define RD_FCGI_EOF_FIN           1   /* the sender's FIN */
#define RD_FCGI_EOF_RST           2   /* an RST (either side) */
#define RD_FCGI_EOF_CAPTURE_END   3   /* capture stopped, stream open */

#define RD_FCGI_SAFE              1   /* finish(): no exchange was open */
#define RD_FCGI_UNSAFE            0   /* finish(): the end cut one */

#define RD_FCGI_VERSION_1         1
#define RD_FCGI_HEADER_LEN        8
#define RD_FCGI_KEEP_CONN         0x01u   /* BEGIN_REQUEST flags */

#define RD_FCGI_MAX_HEADER_BYTES  4096u   /* fastcgi_buffer_size default */
#define RD_FCGI_SLOTS             4       /* exchanges open at once */
#define RD_FCGI_METHOD_LEN        16
#define RD_FCGI_TARGET_LEN        128
#define RD_FCGI_PROTO_LEN         16
#define RD_FCGI_CLEN_LEN          20      /* CONTENT_LENGTH param text */
#define RD_FCGI_LOCATION_LEN      128
#define RD_FCGI_STDERR_LEN        128

/* Record types (FastCGI 1.0 section 8). */
enum rd_fcgi_type {
    RD_FCGI_BEGIN_REQUEST = 1,
    RD_FCGI_ABORT_REQUEST = 2,
    RD_FCGI_END_REQUEST = 3,
    RD_FCGI_PARAMS = 4,
    RD_FCGI_STDIN = 5,
    RD_FCGI_STDOUT = 6,
    RD_FCGI_STDERR = 7,
    RD_FCGI_DATA = 8,
    RD_FCGI_GET_VALUES = 9,
    RD_FCGI_GET_VALUES_RESULT = 10,
    RD_FCGI_UNKNOWN_TYPE = 11
};

extern const struct rd_tok  rd_fcgi_type_names[];

/* BEGIN_REQUEST roles */
#define RD_FCGI_RESPONDER         1
#define RD_FCGI_AUTHORIZER        2
#define RD_FCGI_FILTER            3

extern const struct rd_tok  rd_fcgi_role_names[];

/* END_REQUEST protocolStatus */
#define RD_FCGI_REQUEST_COMPLETE  0
#define RD_FCGI_CANT_MPX_CONN     1
#define RD_FCGI_OVERLOADED        2
#define RD_FCGI_UNKNOWN_ROLE      3

extern const struct rd_tok  rd_fcgi_protocol_status_names[];

/* events */
#define RD_FCGI_EV_BEGIN          1
#define RD_FCGI_EV_REQUEST_DONE   2
#define RD_FCGI_EV_HEADERS        3
#define RD_FCGI_EV_END            4
#define RD_FCGI_EV_ERROR          5

extern const struct rd_tok  rd_fcgi_event_names[];

/*
 * Findings of an exchange: a bitmask (1u << finding) and a primary value,
 * the first set in this order: header_overflow, invalid_record,
 * unknown_gap, truncated, incomplete, complete, stderr_seen.  The names
 * are rd_http1's where the meaning is the same.
 */
enum rd_fcgi_finding {
    RD_FCGI_COMPLETE = 0,       /* END_REQUEST after a whole response */
    RD_FCGI_TRUNCATED,
    RD_FCGI_INCOMPLETE,
    RD_FCGI_UNKNOWN_GAP,
    RD_FCGI_HEADER_OVERFLOW,
    RD_FCGI_INVALID_RECORD,
    RD_FCGI_STDERR_SEEN,
    RD_FCGI_NFINDINGS
};

extern const struct rd_tok  rd_fcgi_finding_names[];

/* Sticky per-direction errors, with a reason. */
enum rd_fcgi_error {
    RD_FCGI_E_NONE = 0,
    RD_FCGI_E_VERSION,          /* stops the direction */
    RD_FCGI_E_TYPE,             /* unknown type */
    RD_FCGI_E_UNEXPECTED,       /* a type the other side sends */
    RD_FCGI_E_LENGTH,           /* BEGIN/END_REQUEST content not 8 */
    RD_FCGI_E_PARAMS            /* name-value pair cut */
};

extern const struct rd_tok  rd_fcgi_error_names[];

/* Phase, with the names of enum rd_phase (conn.h). */
enum rd_fcgi_phase {
    RD_FCGI_PH_NONE = 0,                /* nothing seen yet */
    RD_FCGI_PH_SENDING_REQUEST,
    RD_FCGI_PH_AWAITING_RESPONSE_HEADER,
    RD_FCGI_PH_READING_RESPONSE_BODY,
    RD_FCGI_PH_IDLE_KEEPALIVE,          /* ended, keep-conn was set */
    RD_FCGI_PH_AFTER_COMPLETE_RESPONSE  /* ended, keep-conn not set */
};

extern const struct rd_tok  rd_fcgi_phase_names[];

/* x->flags */
#define RD_FCGI_F_KEEP_CONN       0x00000001u /* BEGIN_REQUEST flag */
#define RD_FCGI_F_NO_BEGIN        0x00000002u /* first record not BEGIN */
#define RD_FCGI_F_PARAMS_DONE     0x00000004u /* empty PARAMS seen */
#define RD_FCGI_F_REQ_DONE        0x00000008u /* empty STDIN seen */
#define RD_FCGI_F_HEADERS_DONE    0x00000010u
#define RD_FCGI_F_STDOUT_DONE     0x00000020u /* empty STDOUT seen */
#define RD_FCGI_F_END_REQUEST     0x00000040u /* END_REQUEST seen */
#define RD_FCGI_F_EARLY_END       0x00000080u /* END before header end */
#define RD_FCGI_F_SHORT_BODY      0x00000100u /* END before CL bytes */
#define RD_FCGI_F_REQ_TRUNC       0x00000200u /* client closed in request */
#define RD_FCGI_F_ABORTED         0x00000400u /* ABORT_REQUEST sent */
#define RD_FCGI_F_METHOD_TRUNC    0x00000800u
#define RD_FCGI_F_TARGET_TRUNC    0x00001000u
#define RD_FCGI_F_PROTO_TRUNC     0x00002000u
#define RD_FCGI_F_CLEN_TRUNC      0x00004000u
#define RD_FCGI_F_LOCATION_TRUNC  0x00008000u
#define RD_FCGI_F_STDERR_TRUNC    0x00010000u /* more than kept */
#define RD_FCGI_F_TARGET_SCRIPT   0x00020000u /* target is SCRIPT_NAME */
#define RD_FCGI_F_HDR_LOST        0x00040000u /* gap in the header block */
#define RD_FCGI_F_PARAMS_LOST     0x00080000u /* gap in PARAMS */
#define RD_FCGI_F_BAD_HEADER      0x00100000u /* line without ':' */
#define RD_FCGI_F_BAD_CL          0x00200000u /* Content-Length bad */
#define RD_FCGI_F_STATUS_HDR      0x00400000u /* Status: present */

struct rd_fcgi_exchange {
    uint16_t        id;            /* requestId */
    uint32_t        seq;           /* 0-based order of BEGIN */
    uint16_t        role;          /* RD_FCGI_RESPONDER ... */
    uint8_t         begin_flags;   /* BEGIN_REQUEST flags byte */
    uint8_t         phase;         /* enum rd_fcgi_phase (frozen at END) */
    bool            open;          /* BEGIN seen, END not yet */

    rd_usec_t       ts_begin;      /* first record */
    rd_usec_t       ts_req_done;   /* empty STDIN, 0 if not seen */
    rd_usec_t       ts_resp;       /* first server record */
    rd_usec_t       ts_headers;    /* end of the CGI header block */
    rd_usec_t       ts_end;        /* END_REQUEST or finish */

    uint64_t        params_bytes;  /* PARAMS content */
    uint64_t        stdin_bytes;   /* STDIN content (request body) */
    uint64_t        stdout_bytes;  /* STDOUT content, header included */
    uint64_t        header_bytes;  /* CGI header block incl. blank line */
    uint64_t        body_bytes;    /* STDOUT after the header block */
    uint64_t        gap_bytes;     /* of body_bytes, missed by capture */
    uint64_t        stderr_bytes;  /* STDERR content */
    uint64_t        resp_wire_bytes; /* server bytes incl. record framing */
    int64_t         content_length; /* CGI Content-Length, -1 absent */
    int64_t         req_content_length; /* CONTENT_LENGTH param, -1 */

    uint16_t        status;        /* 0 until the header block ended */
    uint32_t        app_status;    /* END_REQUEST appStatus */
    uint8_t         protocol_status; /* END_REQUEST protocolStatus */

    uint32_t        findings;      /* 1u << enum rd_fcgi_finding */
    int             primary;       /* enum rd_fcgi_finding, at END */
    uint32_t        flags;         /* RD_FCGI_F_* */

    /* raw bytes, not NUL-terminated, escape before printing */
    uint8_t         method_len;
    uint8_t         target_len;
    uint8_t         proto_len;
    uint8_t         clen_len;
    uint8_t         location_len;
    uint8_t         stderr_len;
    uint8_t         method[RD_FCGI_METHOD_LEN];     /* REQUEST_METHOD */
    uint8_t         target[RD_FCGI_TARGET_LEN];     /* REQUEST_URI */
    uint8_t         proto[RD_FCGI_PROTO_LEN];       /* SERVER_PROTOCOL */
    uint8_t         clen[RD_FCGI_CLEN_LEN];         /* CONTENT_LENGTH */
    uint8_t         location[RD_FCGI_LOCATION_LEN]; /* Location: */
    uint8_t         stderr_text[RD_FCGI_STDERR_LEN];
    /* REMOTE_ADDR and REMOTE_PORT params (nginx's fastcgi_params send
     * $remote_addr, $remote_port): the client nginx serves */
    uint8_t         remote_af;     /* 4, 6; 0 none or not an address */
    uint8_t         remote_addr[16];
    uint16_t        remote_port;   /* 0 none */

    /* private: name-value and CGI header sub-parsers */
    int             _nv_state;
    uint32_t        _nv_len;       /* length being read */
    uint32_t        _nv_nlen;
    uint32_t        _nv_vlen;
    uint32_t        _nv_left;
    uint8_t         _nv_lbytes;
    uint8_t         _nv_key;       /* which kept param, 0 none */
    uint8_t         _nv_namelen;
    uint8_t         _nv_name[16];
    uint8_t         _nv_tlen;      /* REMOTE_ADDR / REMOTE_PORT text */
    uint8_t         _nv_text[46];
    int             _h_state;
    uint8_t         _h_key;
    uint8_t         _h_namelen;
    uint8_t         _h_name[16];
    uint8_t         _h_st_digits;
    uint16_t        _h_status;
    uint8_t         _h_cl_state;
    bool            _nv_uri_seen;
    uint64_t        _h_cl;
    uint8_t         _end[8];       /* BEGIN/END_REQUEST content */
};

/* Record framing state of one direction. */
struct rd_fcgi_dir {
    uint64_t        offset;        /* bytes fed + gaps */
    uint64_t        records;       /* record headers read */
    uint64_t        ignored_bytes; /* after a stop or a lost framing */
    int             err;           /* enum rd_fcgi_error, sticky */
    const char     *reason;

    /* private */
    int             _state;
    uint8_t         _idx;
    uint8_t         _hdr[RD_FCGI_HEADER_LEN];
    uint8_t         _type;
    uint16_t        _id;
    uint16_t        _clen;         /* content length of this record */
    uint32_t        _remain;       /* content or padding left */
    uint8_t         _plen;
    int8_t          _slot;         /* exchange of this record, -1 none */
    bool            _finished;
};

struct rd_fcgi;

typedef void (*rd_fcgi_cb)(void *ctx, const struct rd_fcgi *p,
    const struct rd_fcgi_exchange *x, int event);

/* Zero-fill or rd_fcgi_init() before use; fields with _ are private. */
struct rd_fcgi {
    rd_fcgi_cb      on_ex;         /* may be NULL */
    void           *ctx;
    uint32_t        max_header_bytes;

    struct rd_fcgi_dir  dir[2];    /* [RD_FCGI_CLIENT], [RD_FCGI_SERVER] */
    struct rd_fcgi_exchange  slot[RD_FCGI_SLOTS];
    uint32_t        nexchanges;    /* exchanges begun */
    uint32_t        ncomplete;     /* ended with END_REQUEST */
    uint64_t        mgmt_records;  /* requestId 0 */
    uint64_t        dropped_records; /* of no exchange */

    /* private */
    rd_usec_t       _ts;
    uint8_t         _last_phase;   /* of the last ended exchange */
};

/* max_header_bytes 0 means RD_FCGI_MAX_HEADER_BYTES. */
void rd_fcgi_init(struct rd_fcgi *p, uint32_t max_header_bytes,
    rd_fcgi_cb on_ex, void *ctx);

/*
 * Parse in-order stream bytes of direction dir (RD_FCGI_CLIENT or
 * RD_FCGI_SERVER) seen at ts.  Returns RD_OK, -RD_EPROTO once that
 * direction stopped (sticky; later bytes are only counted), or
 * -RD_EINVAL for a bad dir or after finish() of that direction.
 */
int rd_fcgi_feed(struct rd_fcgi *p, int dir, const uint8_t *data,
    size_t len, rd_usec_t ts);

/* The capture missed nbytes of direction dir (see the decisions). */
void rd_fcgi_gap(struct rd_fcgi *p, int dir, uint64_t nbytes);

/*
 * Direction dir ended (how: RD_FCGI_EOF_*).  The server side's end closes
 * every open exchange (truncated, or incomplete at capture end); the
 * client side's end marks requests not fully sent (RD_FCGI_F_REQ_TRUNC),
 * and at capture end also closes what is open.  Returns RD_FCGI_SAFE
 * when no exchange was open in that direction's part, RD_FCGI_UNSAFE
 * otherwise (also after a stop or a lost framing), -RD_EINVAL on bad use.
 */
int rd_fcgi_finish(struct rd_fcgi *p, int dir, int how);

/*
 * Phase of the oldest open exchange; with none open, of the last one
 * ended: idle_keepalive or after_complete_response after a complete
 * exchange, else the phase it was cut in.
 */
enum rd_fcgi_phase rd_fcgi_phase(const struct rd_fcgi *p);

/*
 * True when p[0..len) starts with a FastCGI 1.0 BEGIN_REQUEST record
 * (version 1, type 1, requestId not 0, contentLength 8) whose role is
 * responder, authorizer or filter.  Needs at least 10 bytes.
 */
bool rd_fcgi_sniff(const uint8_t *p, size_t len);

#endif /* RD_FCGI_H */
