/*
 * rstdiag: streaming HTTP/1.x framing of one direction of one TCP
 * connection (RFC 9112, following nginx's ngx_http_parse.c rules).
 *
 * One struct rd_http1 per direction, owned by the caller: no allocation,
 * nothing buffered.  The parser is a state machine (nginx sw_* style)
 * whose every decision is taken byte by byte, so input split at any byte
 * boundary yields the same events; runs of bytes that decide nothing
 * (header values we do not keep, bodies) are skipped in bulk.  Of the
 * header block only a few facts are kept in fixed arrays (method,
 * target, Server).
 *
 * Events, through p->on_msg(ctx, p, m, event), in this order per message:
 *   RD_HTTP1_EV_BEGIN    the message starts (m->off_begin, m->ts_begin).
 *                        A response begins once its status line is valid
 *                        (or it was judged HTTP/0.9), a request at its
 *                        first byte.
 *   RD_HTTP1_EV_HEADERS  the header block is complete (all header facts).
 *   RD_HTTP1_EV_END      the message ended: m->primary, m->findings.
 *                        Exactly one END per BEGIN (after finish()).
 *   RD_HTTP1_EV_EXCESS   bytes follow an ended response (finding excess
 *                        set on that message, which m still points to).
 *   RD_HTTP1_EV_ERROR    the parser stopped: p->err, p->reason.
 * m points into p and is valid until the next BEGIN.
 *
 * Decisions (where the RFC or the brief left a choice):
 * - Bare LF line ends in the start line and headers are accepted (nginx
 *   1.22 does) and flagged RD_HTTP1_F_BARE_LF.  Inside chunk framing a
 *   bare LF is still accepted, so the parse keeps sync as nginx < 1.29.4
 *   does, but it sets finding invalid_chunked (at its offset) and flag
 *   RD_HTTP1_F_CHUNK_BARE_LF: nginx >= 1.29.4 fails such a body.  The
 *   message can then carry both complete and invalid_chunked; a consumer
 *   that knows nginx < 1.29.4 ignores invalid_chunked when that flag is
 *   the only cause (m->flags has no RD_HTTP1_F_CHUNK_HARD).
 * - Obsolete line folding is a continuation (a single SP in stored
 *   values), flagged RD_HTTP1_F_OBS_FOLD.
 * - HTTP/0.9-looking reply: the FIRST response of a direction that does
 *   not start with a valid status line is an HTTP/0.9 reply, as nginx
 *   treats it (C5): version 9, status 0 (nginx logs "009"), no header,
 *   every byte is body, close-delimited.  Later in the stream such bytes
 *   are excess on the previous response instead.
 * - excess: after a response ended, bytes that arrive when no request is
 *   pending, after a response that was not keep-alive, or that are not a
 *   valid status line.  The direction then only counts (p->excess_bytes).
 * - A response-side gap inside chunk data that fits in the current chunk
 *   is counted like a Content-Length body gap (framing stays known).  A
 *   gap in a close-delimited body or a tunnel is just counted.
 * - Transfer-Encoding is read as a list over all its header lines: the
 *   message is chunked when the last coding is "chunked".  Otherwise a
 *   response is close-delimited (RFC 9112 6.3) and a request is an error
 *   (nginx answers 501).  RD_HTTP1_F_TE_OTHER marks other codings (nginx
 *   >= 1.23 rejects them, D4).
 * - bad_content_length: a non-numeric, overflowing (> 2^63-1) or empty
 *   value, or two different values.  A response then falls back as if
 *   there were no Content-Length (nginx 1.22's ngx_atoof gives -1), a
 *   request stops the parser (nginx answers 400).
 * - no_body is set only where a rule says so: HEAD/1xx/204/304 responses
 *   and requests without Content-Length and Transfer-Encoding; a
 *   "Content-Length: 0" message is simply complete.
 * - A request carrying Upgrade + "Connection: upgrade", or CONNECT, puts
 *   the request side in a waiting state after it: later bytes are tunnel
 *   bytes.  rd_http1_upgrade_refused() resumes parsing if the answer was
 *   not an upgrade and no byte arrived meanwhile.
 * - Leading empty lines before a request are skipped (RFC 9112 2.2) and
 *   counted in p->ignored_bytes.
 */
#ifndef RD_HTTP1_H
#define RD_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rstdiag/common.h"

#define RD_HTTP1_REQUEST          1
#define RD_HTTP1_RESPONSE         2

#define RD_HTTP1_EOF_FIN          1   /* the sender's FIN */
#define RD_HTTP1_EOF_RST          2   /* an RST (either side) */
#define RD_HTTP1_EOF_CAPTURE_END  3   /* capture stopped, stream open */

#define RD_HTTP1_SAFE             1   /* finish(): EOF ended a message */
#define RD_HTTP1_UNSAFE           0   /* finish(): EOF cut a message */

#define RD_HTTP1_MAX_HEADER_BYTES 65536u  /* default header block cap */
#define RD_HTTP1_METHOD_LEN       16
#define RD_HTTP1_TARGET_LEN       128
#define RD_HTTP1_SERVER_LEN       64
#define RD_HTTP1_FWD_LEN          64    /* one forwarding header element */
#define RD_HTTP1_BAD_CL_LEN       48    /* "Name: value" of a bad length */
#define RD_HTTP1_FIFO_LEN         16      /* pipelined requests queued */

/* events */
#define RD_HTTP1_EV_BEGIN         1
#define RD_HTTP1_EV_HEADERS       2
#define RD_HTTP1_EV_END           3
#define RD_HTTP1_EV_EXCESS        4
#define RD_HTTP1_EV_ERROR         5

extern const struct rd_tok  rd_http1_event_names[];

/*
 * Framing findings.  A message has a bitmask (1u << finding) and a
 * primary value: the first set finding in this order:
 *   header_overflow, invalid_chunked, bad_content_length, unknown_gap,
 *   truncated, incomplete, excess, cl_and_te, chunked_to_http10,
 *   upgraded, no_body, complete, close_delimited.
 * complete: the end was positively found (off = end of message); a
 *   close-delimited body ended by FIN is complete (RFC 9112 sec. 6.3
 *   item 8), with close_delimited among its findings.
 * truncated: FIN/RST cut the header or a CL/chunked body, or RST cut a
 *   close-delimited body (off = where the stream ended).
 * incomplete: the message had not ended when the capture ended, or the
 *   parser stopped inside it on a syntax error (see p->err).
 * close_delimited, no_body, upgraded: off = first byte after the header;
 *   close_delimited is primary only before the body has ended.
 */
enum rd_http1_finding {
    RD_HTTP1_COMPLETE = 0,
    RD_HTTP1_TRUNCATED,
    RD_HTTP1_EXCESS,
    RD_HTTP1_INVALID_CHUNKED,
    RD_HTTP1_CL_AND_TE,
    RD_HTTP1_BAD_CONTENT_LENGTH,
    RD_HTTP1_CHUNKED_TO_HTTP10,
    RD_HTTP1_UNKNOWN_GAP,
    RD_HTTP1_HEADER_OVERFLOW,
    RD_HTTP1_CLOSE_DELIMITED,
    RD_HTTP1_NO_BODY,
    RD_HTTP1_UPGRADED,
    RD_HTTP1_INCOMPLETE,
    RD_HTTP1_NFINDINGS
};

extern const struct rd_tok  rd_http1_finding_names[];

/* Sticky parser errors (llhttp HPE_* style), with p->reason. */
enum rd_http1_error {
    RD_HTTP1_E_NONE = 0,
    RD_HTTP1_E_START_LINE,
    RD_HTTP1_E_HEADER,
    RD_HTTP1_E_CONTENT_LENGTH,
    RD_HTTP1_E_TRANSFER_ENCODING,
    RD_HTTP1_E_CHUNKED,
    RD_HTTP1_E_HEADER_OVERFLOW
};

extern const struct rd_tok  rd_http1_error_names[];

/* Where the parser is (for the phase at close). */
enum rd_http1_phase {
    RD_HTTP1_PH_IDLE = 0,      /* between messages */
    RD_HTTP1_PH_HEADER,        /* inside a start line or header block */
    RD_HTTP1_PH_BODY,          /* inside a body (any framing) */
    RD_HTTP1_PH_EXCESS,        /* counting bytes after an ended message */
    RD_HTTP1_PH_UPGRADED,      /* tunnel (101, CONNECT, upgrade wait) */
    RD_HTTP1_PH_STOPPED,       /* syntax error or header overflow */
    RD_HTTP1_PH_LOST,          /* a capture gap broke the framing */
    RD_HTTP1_PH_FINISHED       /* finish() was called */
};

extern const struct rd_tok  rd_http1_phase_names[];

/* m->flags */
#define RD_HTTP1_F_CHUNKED         0x00000001u /* TE: last coding chunked */
#define RD_HTTP1_F_TE_PRESENT      0x00000002u
#define RD_HTTP1_F_TE_OTHER        0x00000004u /* a coding besides chunked */
#define RD_HTTP1_F_CL_PRESENT      0x00000008u
#define RD_HTTP1_F_UPGRADE_HDR     0x00000010u /* Upgrade: header present */
#define RD_HTTP1_F_EXPECT_CONTINUE 0x00000020u /* Expect: 100-continue */
#define RD_HTTP1_F_BARE_LF         0x00000040u /* LF-only line in header */
#define RD_HTTP1_F_OBS_FOLD        0x00000080u
#define RD_HTTP1_F_CHUNK_BARE_LF   0x00000100u /* LF-only in chunk framing */
#define RD_HTTP1_F_CHUNK_HARD      0x00000200u /* chunk error, parse stop */
#define RD_HTTP1_F_METHOD_TRUNC    0x00000400u
#define RD_HTTP1_F_TARGET_TRUNC    0x00000800u
#define RD_HTTP1_F_SERVER_TRUNC    0x00001000u
#define RD_HTTP1_F_NO_REQUEST      0x00002000u /* response, FIFO empty */
#define RD_HTTP1_F_HTTP09          0x00004000u
#define RD_HTTP1_F_TRAILERS        0x00008000u /* chunked trailer lines */
#define RD_HTTP1_F_UPGRADE_REQ     0x00010000u /* CONNECT or Upgrade req */
#define RD_HTTP1_F_INFORMATIONAL   0x00020000u /* 1xx response */
#define RD_HTTP1_F_HEADERS_DONE    0x00040000u

/* m->conn: tokens of the Connection header */
#define RD_HTTP1_CONN_CLOSE        0x01u
#define RD_HTTP1_CONN_KEEPALIVE    0x02u
#define RD_HTTP1_CONN_UPGRADE      0x04u

struct rd_http1_msg {
    int             type;          /* RD_HTTP1_REQUEST / _RESPONSE */
    uint32_t        seq;           /* 0-based index in this direction */

    uint64_t        off_begin;     /* stream offset of the first byte */
    uint64_t        off_body;      /* first byte after the header block */
    uint64_t        off_end;       /* one past the last byte (at END) */
    rd_usec_t       ts_begin;      /* ts of the first byte */
    rd_usec_t       ts_end;        /* ts of the last byte seen */

    uint64_t        header_bytes;  /* start line .. final CRLF */
    uint64_t        body_bytes;    /* payload (de-chunked), gaps included */
    uint64_t        chunk_overhead; /* size lines, CRLFs, trailers */
    uint64_t        gap_bytes;     /* of body_bytes, missed by capture */
    int64_t         content_length; /* -1 if absent or bad */

    uint32_t        findings;      /* 1u << enum rd_http1_finding */
    int             primary;       /* enum rd_http1_finding */
    uint64_t        finding_off[RD_HTTP1_NFINDINGS];

    uint32_t        flags;         /* RD_HTTP1_F_* */
    int             version;       /* 9, 10, 11 (major * 10 + minor) */
    int             status;        /* responses; 0 for HTTP/0.9 */
    unsigned        conn;          /* RD_HTTP1_CONN_* */
    bool            keep_alive;    /* RFC 9112 9.3, after the header */

    /* responses: the request this answered (or the assumed GET 1.1) */
    bool            req_head;
    bool            req_connect;
    int             req_version;

    /* raw bytes, not NUL-terminated, escape before printing */
    uint8_t         method_len;
    uint8_t         target_len;
    uint8_t         server_len;
    uint8_t         method[RD_HTTP1_METHOD_LEN];
    uint8_t         target[RD_HTTP1_TARGET_LEN];
    uint8_t         server[RD_HTTP1_SERVER_LEN];

    /* requests: the client address a proxy put in X-Forwarded-For (its
     * last element), X-Real-IP or Forwarded (for=), whichever came last;
     * fwd_af 4 or 6, 0 when none parsed */
    uint8_t         fwd_af;
    uint8_t         fwd_addr[16];
    uint16_t        fwd_port;      /* Forwarded: for="[a]:port", 0 none */
    /* requests: FNV-1a of the X-Request-ID value, 0 when absent */
    uint64_t        req_id;
    /* the first Content-Length header that is not a number, as nginx
     * 1.23.0+ quotes it ("Content-Length: 12abc", name as sent, value
     * without surrounding whitespace); cut at RD_HTTP1_BAD_CL_LEN */
    uint8_t         bad_cl_len;
    uint8_t         bad_cl[RD_HTTP1_BAD_CL_LEN];
};

struct rd_http1;

typedef void (*rd_http1_cb)(void *ctx, const struct rd_http1 *p,
    const struct rd_http1_msg *m, int event);

struct rd_http1_expect {
    uint8_t         head;
    uint8_t         connect;
    uint8_t         version;
    uint8_t         assumed;       /* no request seen, GET 1.1 assumed */
};

/* Zero-fill or rd_http1_init() before use; fields with _ are private. */
struct rd_http1 {
    rd_http1_cb     on_msg;        /* may be NULL */
    void           *ctx;

    int             type;
    uint32_t        max_header_bytes;

    struct rd_http1_msg  msg;      /* the current or last message */
    uint32_t        nmsgs;         /* messages begun */

    uint64_t        offset;        /* bytes fed + gaps */
    uint64_t        excess_bytes;
    uint64_t        tunnel_bytes;  /* after an upgrade */
    uint64_t        ignored_bytes; /* skipped CRLFs, after stop or gap */
    uint32_t        fifo_dropped;  /* push_request on a full FIFO */

    int             err;           /* enum rd_http1_error, sticky */
    const char     *reason;

    /* private */
    int             _state;
    bool            _in_msg;
    bool            _last_ka;      /* last final response was keep-alive */
    bool            _finished;
    uint8_t         _idx;
    uint8_t         _cand_ver;
    uint16_t        _cand_status;
    rd_usec_t       _ts;
    rd_usec_t       _ts_start;
    uint64_t        _start_off;
    uint64_t        _line_off;
    uint64_t        _te_off;
    uint64_t        _remain;
    uint64_t        _cl;
    int             _hkind;
    int             _clst;
    uint64_t        _clv;
    bool            _cl_seen;
    bool            _cl_bad;
    bool            _te_last_chunked;
    bool            _tok_ws;
    uint8_t         _nlen;
    uint8_t         _toklen;
    uint8_t         _name[24];
    uint8_t         _tok[16];
    uint32_t        _ucase;        /* header name: bit i, byte i was upper */
    uint8_t         _clraw_len;    /* Content-Length value as sent */
    uint8_t         _clraw[32];
    uint8_t         _vlen;         /* forwarding header: current element */
    bool            _vover;
    uint8_t         _vbuf[RD_HTTP1_FWD_LEN];
    struct rd_http1_expect  _fifo[RD_HTTP1_FIFO_LEN];
    uint8_t         _fifo_head;
    uint8_t         _fifo_len;
};

/* max_header_bytes 0 means RD_HTTP1_MAX_HEADER_BYTES. */
void rd_http1_init(struct rd_http1 *p, int type, uint32_t max_header_bytes,
    rd_http1_cb on_msg, void *ctx);

/*
 * Parse in-order stream bytes seen at ts.  Returns RD_OK, or -RD_EPROTO
 * once the parser stopped on an error (sticky; later bytes are only
 * counted), or -RD_EINVAL after finish().
 */
int rd_http1_feed(struct rd_http1 *p, const uint8_t *data, size_t len,
    rd_usec_t ts);

/* The capture missed nbytes of this direction (see the decisions). */
void rd_http1_gap(struct rd_http1 *p, uint64_t nbytes);

/*
 * The stream ended (how: RD_HTTP1_EOF_*): closes the current message.
 * Returns RD_HTTP1_SAFE when the end fell between messages, at the end
 * of a close-delimited body on FIN, or in a tunnel; RD_HTTP1_UNSAFE
 * otherwise (also after a gap or an error); -RD_EINVAL on bad use.
 */
int rd_http1_finish(struct rd_http1 *p, int how);

/*
 * Response parser: queue what the response to the next pipelined
 * request must know.  version is 9, 10 or 11.  Returns -RD_ENOMEM (and
 * counts fifo_dropped) when RD_HTTP1_FIFO_LEN requests are pending.
 */
int rd_http1_push_request(struct rd_http1 *resp, bool head, bool connect,
    int version);

/* Requests pending on a response parser. */
unsigned rd_http1_pending(const struct rd_http1 *resp);

/* Request parser waiting after an upgrade request: the answer was not
 * an upgrade; resume parsing.  Returns RD_OK or -RD_EINVAL. */
int rd_http1_upgrade_refused(struct rd_http1 *req);

enum rd_http1_phase rd_http1_phase(const struct rd_http1 *p);

/* m->method equals name (ASCII, exact). */
bool rd_http1_method_is(const struct rd_http1_msg *m, const char *name);

#endif /* RD_HTTP1_H */
