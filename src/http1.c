/*
 * Streaming HTTP/1.x framing (RFC 9112), byte at a time in the style of
 * nginx's ngx_http_parse.c.  See include/rstdiag/http1.h for the
 * contract and the decisions taken where the RFC leaves a choice.
 *
 * Speed (issue 6): bodies are counted in bulk, and scan_header() takes
 * the runs of a header block (method, target, reason, names, values and
 * the plain CRLFs between fields) many bytes at a time, with the same
 * effects as step() byte by byte; every other byte goes through step().
 */
#include <arpa/inet.h>
#include <string.h>

#include "rstdiag/http1.h"


enum {
    S_START = 0,
    S_REQ_METHOD,
    S_REQ_TARGET,
    S_REQ_VERSION,
    S_START_LF,           /* CR seen at the end of the start line */
    S_RESP_VERSION,
    S_RESP_STATUS,
    S_RESP_AFTER_STATUS,
    S_RESP_REASON,
    S_LINE_START,
    S_HDR_NAME,
    S_HDR_VALUE,
    S_FOLD_WS,            /* leading whitespace of a folded line */
    S_HDR_LF,
    S_HDR_END_LF,
    S_BODY_CL,
    S_BODY_CLOSE,
    S_CH_SIZE_START,
    S_CH_SIZE,
    S_CH_EXT,
    S_CH_SIZE_LF,
    S_CH_DATA,
    S_CH_DATA_CR,
    S_CH_DATA_LF,
    S_CH_TRAILER_START,
    S_CH_TRAILER,
    S_CH_TRAILER_LF,
    S_CH_LAST_LF,
    S_EXCESS,
    S_UPGRADED,
    S_UPGRADE_WAIT,
    S_DEAD,
    S_LOST,
    S_DONE
};

enum {
    H_NONE = 0,
    H_OTHER,
    H_CL,
    H_TE,
    H_CONN,
    H_UPGRADE,
    H_SERVER,
    H_EXPECT,
    H_XFF,              /* X-Forwarded-For (requests) */
    H_XRIP,             /* X-Real-IP (requests) */
    H_FWD,              /* Forwarded (requests) */
    H_RID               /* X-Request-ID (requests) */
};

/* Content-Length value sub-states */
enum {
    CL_LWS = 0,
    CL_DIGITS,
    CL_TWS,
    CL_BAD
};

#define STEP_NEXT   0   /* byte consumed */
#define STEP_AGAIN  1   /* state changed, look at the byte again */

#define BIT(f)      (1u << (f))

/* a, alen equals the string literal lit */
#define LIT_EQ(a, alen, lit)                                               \
    ((alen) == sizeof(lit) - 1 && memcmp(a, lit, sizeof(lit) - 1) == 0)


const struct rd_tok  rd_http1_event_names[] = {
    { RD_HTTP1_EV_BEGIN, "begin" },
    { RD_HTTP1_EV_HEADERS, "headers" },
    { RD_HTTP1_EV_END, "end" },
    { RD_HTTP1_EV_EXCESS, "excess" },
    { RD_HTTP1_EV_ERROR, "error" },
    { 0, NULL }
};

const struct rd_tok  rd_http1_finding_names[] = {
    { RD_HTTP1_COMPLETE, "complete" },
    { RD_HTTP1_TRUNCATED, "truncated" },
    { RD_HTTP1_EXCESS, "excess" },
    { RD_HTTP1_INVALID_CHUNKED, "invalid_chunked" },
    { RD_HTTP1_CL_AND_TE, "cl_and_te" },
    { RD_HTTP1_BAD_CONTENT_LENGTH, "bad_content_length" },
    { RD_HTTP1_CHUNKED_TO_HTTP10, "chunked_to_http10" },
    { RD_HTTP1_UNKNOWN_GAP, "unknown_gap" },
    { RD_HTTP1_HEADER_OVERFLOW, "header_overflow" },
    { RD_HTTP1_CLOSE_DELIMITED, "close_delimited" },
    { RD_HTTP1_NO_BODY, "no_body" },
    { RD_HTTP1_UPGRADED, "upgraded" },
    { RD_HTTP1_INCOMPLETE, "incomplete" },
    { 0, NULL }
};

const struct rd_tok  rd_http1_error_names[] = {
    { RD_HTTP1_E_NONE, "none" },
    { RD_HTTP1_E_START_LINE, "start_line" },
    { RD_HTTP1_E_HEADER, "header" },
    { RD_HTTP1_E_CONTENT_LENGTH, "content_length" },
    { RD_HTTP1_E_TRANSFER_ENCODING, "transfer_encoding" },
    { RD_HTTP1_E_CHUNKED, "chunked" },
    { RD_HTTP1_E_HEADER_OVERFLOW, "header_overflow" },
    { 0, NULL }
};

const struct rd_tok  rd_http1_phase_names[] = {
    { RD_HTTP1_PH_IDLE, "idle" },
    { RD_HTTP1_PH_HEADER, "header" },
    { RD_HTTP1_PH_BODY, "body" },
    { RD_HTTP1_PH_EXCESS, "excess" },
    { RD_HTTP1_PH_UPGRADED, "upgraded" },
    { RD_HTTP1_PH_STOPPED, "stopped" },
    { RD_HTTP1_PH_LOST, "lost" },
    { RD_HTTP1_PH_FINISHED, "finished" },
    { 0, NULL }
};

/* primary finding: first set bit in this order (see http1.h) */
static const int  primary_order[] = {
    RD_HTTP1_HEADER_OVERFLOW,
    RD_HTTP1_INVALID_CHUNKED,
    RD_HTTP1_BAD_CONTENT_LENGTH,
    RD_HTTP1_UNKNOWN_GAP,
    RD_HTTP1_TRUNCATED,
    RD_HTTP1_INCOMPLETE,
    RD_HTTP1_EXCESS,
    RD_HTTP1_CL_AND_TE,
    RD_HTTP1_CHUNKED_TO_HTTP10,
    RD_HTTP1_UPGRADED,
    RD_HTTP1_NO_BODY,
    RD_HTTP1_COMPLETE,
    /* after complete: a close-delimited body ended by the server's FIN
     * is a complete message (RFC 9112 sec. 6.3 item 8); close_delimited
     * says how it ended.  Primary only while the body is still read. */
    RD_HTTP1_CLOSE_DELIMITED
};

static const char  http_prefix[] = "HTTP/";

/*
 * Header name bytes as stored (lower case); 0 for the bytes that end a
 * name in the fast path: ':', CTLs up to SP and DEL (step() decides).
 */
static const uint8_t  name_map[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    0x38, 0x39, 0x00, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
    0x40, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
    0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
    0x78, 0x79, 0x7a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
    0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
    0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
    0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x00,
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
    0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
    0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
    0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
    0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
    0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
    0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
    0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
    0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
    0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
    0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
};

#define MAX_OFF     ((uint64_t) INT64_MAX)


static uint8_t
lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t) (c | 0x20) : c;
}


static bool
is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}


static bool
is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}


static bool
bytes_eq(const uint8_t *a, size_t alen, const char *s)
{
    size_t  n;

    n = strlen(s);
    return alen == n && memcmp(a, s, n) == 0;
}


static int
hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = lower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}


static void
emit(struct rd_http1 *p, int event)
{
    if (p->on_msg != NULL) {
        p->on_msg(p->ctx, p, &p->msg, event);
    }
}


static void
finding(struct rd_http1 *p, int f, uint64_t off)
{
    if ((p->msg.findings & BIT(f)) == 0) {
        p->msg.findings |= BIT(f);
        p->msg.finding_off[f] = off;
    }
}


static void
msg_begin(struct rd_http1 *p, uint64_t off, rd_usec_t ts)
{
    struct rd_http1_msg  *m;

    m = &p->msg;
    memset(m, 0, sizeof(*m));
    m->type = p->type;
    m->seq = p->nmsgs++;
    m->off_begin = off;
    m->ts_begin = ts;
    m->ts_end = ts;
    m->content_length = -1;
    m->version = 11;
    m->req_version = 11;
    p->_in_msg = true;
    p->_hkind = H_NONE;
    p->_cl_seen = false;
    p->_cl_bad = false;
    p->_te_last_chunked = false;
    emit(p, RD_HTTP1_EV_BEGIN);
}


static void
set_primary(struct rd_http1_msg *m)
{
    size_t  i;

    m->primary = RD_HTTP1_COMPLETE;
    for (i = 0; i < RD_NELEMS(primary_order); i++) {
        if (m->findings & BIT(primary_order[i])) {
            m->primary = primary_order[i];
            break;
        }
    }
}


static void
msg_end(struct rd_http1 *p, uint64_t off_end)
{
    struct rd_http1_msg  *m;

    m = &p->msg;
    m->off_end = off_end;
    m->ts_end = p->_ts;
    if ((m->flags & RD_HTTP1_F_HEADERS_DONE) == 0) {
        m->header_bytes = off_end - m->off_begin;
        m->off_body = off_end;
    } else if (m->flags & RD_HTTP1_F_CHUNKED
               && (m->findings & BIT(RD_HTTP1_NO_BODY)) == 0
               && (m->findings & BIT(RD_HTTP1_UPGRADED)) == 0)
    {
        m->chunk_overhead = off_end - m->off_body - m->body_bytes;
    }

    set_primary(m);
    p->_in_msg = false;
    emit(p, RD_HTTP1_EV_END);
}


/* The message reached its positively delimited end. */
static void
msg_complete(struct rd_http1 *p, uint64_t off_end)
{
    finding(p, RD_HTTP1_COMPLETE, off_end);
    msg_end(p, off_end);
    if (p->type == RD_HTTP1_REQUEST
        && (p->msg.flags & RD_HTTP1_F_UPGRADE_REQ))
    {
        p->_state = S_UPGRADE_WAIT;
    } else {
        p->_state = S_START;
    }
}


/*
 * Stop on a syntax error at the current byte.  The message in progress
 * ends there; the byte and all later ones are counted as ignored.
 */
static int
fail(struct rd_http1 *p, int err, const char *reason)
{
    if (p->_in_msg) {
        if (err == RD_HTTP1_E_HEADER_OVERFLOW) {
            finding(p, RD_HTTP1_HEADER_OVERFLOW, p->offset);
        } else if (err == RD_HTTP1_E_CHUNKED) {
            p->msg.flags |= RD_HTTP1_F_CHUNK_HARD;
            finding(p, RD_HTTP1_INVALID_CHUNKED, p->offset);
        } else if (err == RD_HTTP1_E_CONTENT_LENGTH) {
            finding(p, RD_HTTP1_BAD_CONTENT_LENGTH, p->offset);
        } else {
            finding(p, RD_HTTP1_INCOMPLETE, p->offset);
        }
        msg_end(p, p->offset);
    }
    p->err = err;
    p->reason = reason;
    p->_state = S_DEAD;
    emit(p, RD_HTTP1_EV_ERROR);
    return STEP_AGAIN;
}


/*
 * Stop after a complete header block whose framing cannot be followed
 * (nginx rejects the request): the message ends after its header.
 */
static int
stop_after_header(struct rd_http1 *p, uint64_t off, int err,
    const char *reason)
{
    if ((p->msg.findings & BIT(RD_HTTP1_BAD_CONTENT_LENGTH)) == 0) {
        finding(p, RD_HTTP1_INCOMPLETE, off);
    }
    msg_end(p, off);
    p->err = err;
    p->reason = reason;
    p->_state = S_DEAD;
    emit(p, RD_HTTP1_EV_ERROR);
    return STEP_NEXT;
}


static unsigned
fifo_len(const struct rd_http1 *p)
{
    return p->_fifo_len;
}


void
rd_http1_init(struct rd_http1 *p, int type, uint32_t max_header_bytes,
    rd_http1_cb on_msg, void *ctx)
{
    memset(p, 0, sizeof(*p));
    p->type = type == RD_HTTP1_RESPONSE ? RD_HTTP1_RESPONSE
                                        : RD_HTTP1_REQUEST;
    p->max_header_bytes = max_header_bytes != 0 ? max_header_bytes
                                                : RD_HTTP1_MAX_HEADER_BYTES;
    p->on_msg = on_msg;
    p->ctx = ctx;
    p->_state = S_START;
    p->_last_ka = true;
}


int
rd_http1_push_request(struct rd_http1 *resp, bool head, bool connect,
    int version)
{
    struct rd_http1_expect  *e;

    if (resp->_fifo_len >= RD_HTTP1_FIFO_LEN) {
        resp->fifo_dropped++;
        return -RD_ENOMEM;
    }
    e = &resp->_fifo[(resp->_fifo_head + resp->_fifo_len)
                     % RD_HTTP1_FIFO_LEN];
    e->head = head;
    e->connect = connect;
    e->version = (uint8_t) (version == 10 || version == 9 ? version : 11);
    e->assumed = 0;
    resp->_fifo_len++;
    return RD_OK;
}


unsigned
rd_http1_pending(const struct rd_http1 *resp)
{
    return fifo_len(resp);
}


int
rd_http1_upgrade_refused(struct rd_http1 *req)
{
    if (req->_state != S_UPGRADE_WAIT || req->tunnel_bytes != 0) {
        return -RD_EINVAL;
    }
    req->_state = S_START;
    return RD_OK;
}


bool
rd_http1_method_is(const struct rd_http1_msg *m, const char *name)
{
    return bytes_eq(m->method, m->method_len, name);
}


enum rd_http1_phase
rd_http1_phase(const struct rd_http1 *p)
{
    switch (p->_state) {
    case S_START:
        return RD_HTTP1_PH_IDLE;
    case S_BODY_CL:
    case S_BODY_CLOSE:
    case S_CH_SIZE_START:
    case S_CH_SIZE:
    case S_CH_EXT:
    case S_CH_SIZE_LF:
    case S_CH_DATA:
    case S_CH_DATA_CR:
    case S_CH_DATA_LF:
    case S_CH_TRAILER_START:
    case S_CH_TRAILER:
    case S_CH_TRAILER_LF:
    case S_CH_LAST_LF:
        return RD_HTTP1_PH_BODY;
    case S_EXCESS:
        return RD_HTTP1_PH_EXCESS;
    case S_UPGRADED:
    case S_UPGRADE_WAIT:
        return RD_HTTP1_PH_UPGRADED;
    case S_DEAD:
        return RD_HTTP1_PH_STOPPED;
    case S_LOST:
        return RD_HTTP1_PH_LOST;
    case S_DONE:
        return RD_HTTP1_PH_FINISHED;
    default:
        return RD_HTTP1_PH_HEADER;
    }
}


/* ---- header fields */


static int
header_kind(const struct rd_http1 *p)
{
    const uint8_t  *n;

    n = p->_name;
    switch (p->_nlen) {
    case 6:
        if (memcmp(n, "server", 6) == 0) {
            return p->type == RD_HTTP1_REQUEST ? H_OTHER : H_SERVER;
        }
        if (memcmp(n, "expect", 6) == 0) {
            return H_EXPECT;
        }
        break;
    case 7:
        if (memcmp(n, "upgrade", 7) == 0) {
            return H_UPGRADE;
        }
        break;
    case 9:
        if (p->type != RD_HTTP1_REQUEST) {
            break;
        }
        if (memcmp(n, "x-real-ip", 9) == 0) {
            return H_XRIP;
        }
        if (memcmp(n, "forwarded", 9) == 0) {
            return H_FWD;
        }
        break;
    case 12:
        if (p->type == RD_HTTP1_REQUEST && memcmp(n, "x-request-id", 12) == 0) {
            return H_RID;
        }
        break;
    case 15:
        if (p->type == RD_HTTP1_REQUEST
            && memcmp(n, "x-forwarded-for", 15) == 0)
        {
            return H_XFF;
        }
        break;
    case 10:
        if (memcmp(n, "connection", 10) == 0) {
            return H_CONN;
        }
        break;
    case 14:
        if (memcmp(n, "content-length", 14) == 0) {
            return H_CL;
        }
        break;
    case 17:
        if (memcmp(n, "transfer-encoding", 17) == 0) {
            return H_TE;
        }
        break;
    default:
        break;
    }
    return H_OTHER;
}


/* A header field's name starts at off (the byte is looked at again). */
static void
line_begin(struct rd_http1 *p, uint64_t off)
{
    p->_line_off = off;
    p->_nlen = 0;
    p->_ucase = 0;
    p->_state = S_HDR_NAME;
}


/* The ':' after a non-empty field name was consumed. */
static void
name_done(struct rd_http1 *p)
{
    p->_hkind = p->_nlen <= sizeof(p->_name) ? header_kind(p) : H_OTHER;
    p->_clst = CL_LWS;
    p->_clv = 0;
    p->_clraw_len = 0;
    p->_toklen = 0;
    p->_tok_ws = false;
    if (p->_hkind == H_SERVER && p->msg.server_len > 0) {
        p->_hkind = H_OTHER;    /* keep the first Server */
    }
    p->_vlen = 0;
    p->_vover = false;
    if (p->_hkind == H_RID) {
        p->msg.req_id = 0xcbf29ce484222325ULL;
    }
    p->_state = S_HDR_VALUE;
}


/* One list element of Connection / Transfer-Encoding / Expect ended. */
static void
token_end(struct rd_http1 *p)
{
    struct rd_http1_msg  *m;
    size_t                n;

    m = &p->msg;
    n = p->_toklen;
    p->_toklen = 0;
    p->_tok_ws = false;
    if (n == 0) {
        return;
    }

    switch (p->_hkind) {
    case H_TE:
        if (n <= sizeof(p->_tok) && LIT_EQ(p->_tok, n, "chunked")) {
            p->_te_last_chunked = true;
        } else {
            p->_te_last_chunked = false;
            m->flags |= RD_HTTP1_F_TE_OTHER;
        }
        break;
    case H_CONN:
        if (n <= sizeof(p->_tok)) {
            if (LIT_EQ(p->_tok, n, "close")) {
                m->conn |= RD_HTTP1_CONN_CLOSE;
            } else if (LIT_EQ(p->_tok, n, "keep-alive")) {
                m->conn |= RD_HTTP1_CONN_KEEPALIVE;
            } else if (LIT_EQ(p->_tok, n, "upgrade")) {
                m->conn |= RD_HTTP1_CONN_UPGRADE;
            }
        }
        break;
    case H_EXPECT:
        if (n <= sizeof(p->_tok) && LIT_EQ(p->_tok, n, "100-continue")) {
            m->flags |= RD_HTTP1_F_EXPECT_CONTINUE;
        }
        break;
    default:
        break;
    }
}


static void
token_byte(struct rd_http1 *p, uint8_t ch)
{
    if (ch == ',') {
        token_end(p);
        return;
    }
    if (is_ows(ch)) {
        if (p->_toklen != 0) {
            p->_tok_ws = true;
        }
        return;
    }
    if (p->_tok_ws) {
        /* whitespace inside an element: never a token we know */
        p->_toklen = (uint8_t) (sizeof(p->_tok) + 1);
        p->_tok_ws = false;
    }
    if (p->_toklen < sizeof(p->_tok)) {
        p->_tok[p->_toklen] = lower(ch);
    }
    if (p->_toklen <= sizeof(p->_tok)) {
        p->_toklen++;
    }
}


static void
cl_byte(struct rd_http1 *p, uint8_t ch)
{
    uint64_t  d;

    if (ch >= '0' && ch <= '9' && (p->_clst == CL_LWS
                                   || p->_clst == CL_DIGITS))
    {
        d = (uint64_t) (ch - '0');
        if (p->_clv > (MAX_OFF - d) / 10) {
            p->_clst = CL_BAD;      /* > 2^63 - 1 */
        } else {
            p->_clv = p->_clv * 10 + d;
            p->_clst = CL_DIGITS;
        }
    } else if (is_ows(ch) && p->_clst != CL_BAD) {
        if (p->_clst == CL_DIGITS) {
            p->_clst = CL_TWS;
        }
    } else {
        p->_clst = CL_BAD;
    }
}


/*
 * Forwarding headers: only the last list element is kept (nginx's
 * $proxy_add_x_forwarded_for appends the address it saw), at most
 * RD_HTTP1_FWD_LEN bytes of it; an element longer than that is no address.
 */
static void
fwd_byte(struct rd_http1 *p, uint8_t ch)
{
    if (ch == ',' && p->_hkind != H_XRIP) {
        p->_vlen = 0;
        p->_vover = false;
        return;
    }
    if (is_ows(ch) || p->_vover) {
        return;
    }
    if (p->_vlen == sizeof(p->_vbuf)) {
        p->_vover = true;
        return;
    }
    p->_vbuf[p->_vlen++] = ch;
}


/* The element ended: parse an address out of it (IPv4, IPv4:port, IPv6,
 * [IPv6], [IPv6]:port; Forwarded's for= parameter, quoted or not). */
static void
fwd_end(struct rd_http1 *p)
{
    char      a[RD_HTTP1_FWD_LEN + 1];
    uint8_t   addr[16];
    size_t    i, b, e, n, colons, pb, pe;
    uint32_t  port;

    if (p->_vover || p->_vlen == 0) {
        return;
    }
    b = 0;
    e = p->_vlen;
    if (p->_hkind == H_FWD) {
        /* for=... among ';'-separated pairs */
        for (i = 0; i + 4 <= p->_vlen; i++) {
            if ((i == 0 || p->_vbuf[i - 1] == ';')
                && lower(p->_vbuf[i]) == 'f' && lower(p->_vbuf[i + 1]) == 'o'
                && lower(p->_vbuf[i + 2]) == 'r' && p->_vbuf[i + 3] == '=')
            {
                break;
            }
        }
        if (i + 4 > p->_vlen) {
            return;
        }
        b = i + 4;
        for (e = b; e < p->_vlen && p->_vbuf[e] != ';'; e++) {
        }
    }
    if (e > b && p->_vbuf[b] == '"') {
        b++;
        if (e > b && p->_vbuf[e - 1] == '"') {
            e--;
        }
    }
    pb = pe = 0;
    if (e > b && p->_vbuf[b] == '[') {
        b++;
        for (i = b; i < e && p->_vbuf[i] != ']'; i++) {
        }
        if (i == e) {
            return;
        }
        if (i + 1 < e && p->_vbuf[i + 1] == ':') {
            pb = i + 2;
            pe = e;
        }
        e = i;
    } else {
        colons = 0;
        for (i = b; i < e; i++) {
            colons += p->_vbuf[i] == ':';
        }
        if (colons == 1) {          /* IPv4:port */
            for (i = b; p->_vbuf[i] != ':'; i++) {
            }
            pb = i + 1;
            pe = e;
            e = i;
        }
    }
    n = e - b;
    if (n == 0 || n > RD_HTTP1_FWD_LEN) {
        return;
    }
    memcpy(a, p->_vbuf + b, n);
    a[n] = '\0';
    memset(addr, 0, sizeof(addr));
    if (inet_pton(AF_INET, a, addr) == 1) {
        p->msg.fwd_af = 4;
    } else if (inet_pton(AF_INET6, a, addr) == 1) {
        p->msg.fwd_af = 6;
    } else {
        return;
    }
    memcpy(p->msg.fwd_addr, addr, sizeof(addr));
    port = 0;
    for (i = pb; i < pe && port <= 65535; i++) {
        if (p->_vbuf[i] < '0' || p->_vbuf[i] > '9') {
            port = 0;
            break;
        }
        port = port * 10 + (uint32_t) (p->_vbuf[i] - '0');
    }
    p->msg.fwd_port = port <= 65535 ? (uint16_t) port : 0;
}


/* n bytes of a header value, none CR, LF or NUL (obs-fold is one SP). */
static void
value_bytes(struct rd_http1 *p, const uint8_t *s, size_t n)
{
    struct rd_http1_msg  *m;
    size_t                i;

    m = &p->msg;
    switch (p->_hkind) {
    case H_CL:
        for (i = 0; i < n; i++) {
            cl_byte(p, s[i]);
            if ((p->_clraw_len > 0 || !is_ows(s[i]))
                && p->_clraw_len < sizeof(p->_clraw))
            {
                p->_clraw[p->_clraw_len++] = s[i];
            }
        }
        break;
    case H_TE:
    case H_CONN:
    case H_EXPECT:
        for (i = 0; i < n; i++) {
            token_byte(p, s[i]);
        }
        break;
    case H_UPGRADE:
        for (i = 0; i < n; i++) {
            if (!is_ows(s[i])) {
                m->flags |= RD_HTTP1_F_UPGRADE_HDR;
                break;
            }
        }
        break;
    case H_XFF:
    case H_FWD:
    case H_XRIP:
        for (i = 0; i < n; i++) {
            fwd_byte(p, s[i]);
        }
        break;
    case H_RID:
        for (i = 0; i < n; i++) {
            if (!is_ows(s[i])) {
                m->req_id = (m->req_id ^ s[i]) * 0x100000001b3ULL;
            }
        }
        break;
    case H_SERVER:
        for (i = 0; i < n; i++) {
            if (m->server_len == 0 && is_ows(s[i])) {
                continue;
            }
            if (m->server_len == RD_HTTP1_SERVER_LEN) {
                m->flags |= RD_HTTP1_F_SERVER_TRUNC;
                break;
            }
            m->server[m->server_len++] = s[i];
        }
        break;
    default:
        break;
    }
}


/* nginx 1.23.0+ names a bad Content-Length as "%V: %V": the header's
 * name as sent and its value without surrounding whitespace. */
static void
bad_cl_keep(struct rd_http1 *p)
{
    struct rd_http1_msg  *m = &p->msg;
    size_t                i, n;

    n = 0;
    for (i = 0; i < p->_nlen && i < sizeof(p->_name); i++) {
        m->bad_cl[n++] = (p->_ucase & (1u << i))
                         ? (uint8_t) (p->_name[i] - 32) : p->_name[i];
    }
    m->bad_cl[n++] = ':';
    m->bad_cl[n++] = ' ';
    while (p->_clraw_len > 0 && is_ows(p->_clraw[p->_clraw_len - 1])) {
        p->_clraw_len--;
    }
    for (i = 0; i < p->_clraw_len && n < sizeof(m->bad_cl); i++) {
        m->bad_cl[n++] = p->_clraw[i];
    }
    m->bad_cl_len = (uint8_t) n;
}


/* The logical header line (with its folds) that began at _line_off ended. */
static void
header_end(struct rd_http1 *p)
{
    struct rd_http1_msg  *m;
    int64_t               v;

    m = &p->msg;
    switch (p->_hkind) {
    case H_CL:
        m->flags |= RD_HTTP1_F_CL_PRESENT;
        if (p->_clst != CL_DIGITS && p->_clst != CL_TWS) {
            p->_cl_bad = true;
        } else {
            v = (int64_t) p->_clv;
            if (p->_cl_seen && m->content_length != v) {
                p->_cl_bad = true;
            }
            if (!p->_cl_seen) {
                m->content_length = v;
            }
        }
        p->_cl_seen = true;
        if (p->_cl_bad) {
            finding(p, RD_HTTP1_BAD_CONTENT_LENGTH, p->_line_off);
            if (m->bad_cl_len == 0) {
                bad_cl_keep(p);
            }
        }
        if (m->flags & RD_HTTP1_F_TE_PRESENT) {
            finding(p, RD_HTTP1_CL_AND_TE, p->_line_off);
        }
        break;
    case H_TE:
        token_end(p);
        if ((m->flags & RD_HTTP1_F_TE_PRESENT) == 0) {
            p->_te_off = p->_line_off;
        }
        m->flags |= RD_HTTP1_F_TE_PRESENT;
        if (m->flags & RD_HTTP1_F_CL_PRESENT) {
            finding(p, RD_HTTP1_CL_AND_TE, p->_line_off);
        }
        break;
    case H_CONN:
    case H_EXPECT:
        token_end(p);
        break;
    case H_SERVER:
        while (m->server_len > 0 && is_ows(m->server[m->server_len - 1])) {
            m->server_len--;
        }
        break;
    case H_XFF:
    case H_FWD:
    case H_XRIP:
        fwd_end(p);
        break;
    case H_RID:
        if (m->req_id == 0xcbf29ce484222325ULL) {
            m->req_id = 0;          /* an empty value */
        } else if (m->req_id == 0) {
            m->req_id = 1;
        }
        break;
    default:
        break;
    }
    p->_hkind = H_NONE;
}


static void
keep_alive(struct rd_http1_msg *m)
{
    if (m->conn & RD_HTTP1_CONN_CLOSE) {
        m->keep_alive = false;
    } else if (m->version >= 11) {
        m->keep_alive = true;
    } else if (m->version == 10) {
        m->keep_alive = (m->conn & RD_HTTP1_CONN_KEEPALIVE) != 0;
    } else {
        m->keep_alive = false;
    }
}


static void
upgrade(struct rd_http1 *p, uint64_t off)
{
    p->msg.keep_alive = false;
    finding(p, RD_HTTP1_UPGRADED, off);
    emit(p, RD_HTTP1_EV_HEADERS);
    finding(p, RD_HTTP1_COMPLETE, off);
    msg_end(p, off);
    p->_state = S_UPGRADED;
}


static int
request_headers_done(struct rd_http1 *p, uint64_t off)
{
    struct rd_http1_msg  *m;

    m = &p->msg;
    if (LIT_EQ(m->method, m->method_len, "CONNECT")
        || ((m->flags & RD_HTTP1_F_UPGRADE_HDR)
            && (m->conn & RD_HTTP1_CONN_UPGRADE)))
    {
        m->flags |= RD_HTTP1_F_UPGRADE_REQ;
    }

    if (m->flags & RD_HTTP1_F_TE_PRESENT) {
        if (!p->_te_last_chunked) {
            emit(p, RD_HTTP1_EV_HEADERS);
            return stop_after_header(p, off, RD_HTTP1_E_TRANSFER_ENCODING,
                                     "request Transfer-Encoding is not "
                                     "chunked");
        }
        m->flags |= RD_HTTP1_F_CHUNKED;
        emit(p, RD_HTTP1_EV_HEADERS);
        p->_state = S_CH_SIZE_START;
        return STEP_NEXT;
    }

    if (p->_cl_bad) {
        emit(p, RD_HTTP1_EV_HEADERS);
        /* nginx answers 400: the rest of the stream is not framed */
        return stop_after_header(p, off, RD_HTTP1_E_CONTENT_LENGTH,
                                 "request with invalid Content-Length");
    }

    emit(p, RD_HTTP1_EV_HEADERS);
    if (m->content_length > 0) {
        p->_remain = (uint64_t) m->content_length;
        p->_state = S_BODY_CL;
    } else {
        if (m->content_length < 0) {
            finding(p, RD_HTTP1_NO_BODY, off);
        }
        msg_complete(p, off);
    }
    return STEP_NEXT;
}


static int
response_headers_done(struct rd_http1 *p, uint64_t off)
{
    struct rd_http1_msg     *m;
    struct rd_http1_expect  *e;
    int                      st;

    m = &p->msg;
    st = m->status;

    /* the request this answers; a 1xx other than 101 does not use it */
    if (p->_fifo_len == 0) {
        m->flags |= RD_HTTP1_F_NO_REQUEST;
        m->req_version = 11;
        if (st / 100 == 1 && st != 101) {
            /* the assumed request is still waiting for its answer */
            (void) rd_http1_push_request(p, false, false, 11);
            p->_fifo[p->_fifo_head].assumed = 1;
        }
    } else {
        e = &p->_fifo[p->_fifo_head];
        if (e->assumed) {
            m->flags |= RD_HTTP1_F_NO_REQUEST;
        }
        m->req_head = e->head;
        m->req_connect = e->connect;
        m->req_version = e->version;
        if (st / 100 != 1 || st == 101) {
            p->_fifo_head = (uint8_t) ((p->_fifo_head + 1)
                                       % RD_HTTP1_FIFO_LEN);
            p->_fifo_len--;
        }
    }

    if (st / 100 == 1) {
        m->flags |= RD_HTTP1_F_INFORMATIONAL;
        if (st == 101) {
            upgrade(p, off);
            return STEP_NEXT;
        }
        finding(p, RD_HTTP1_NO_BODY, off);
        emit(p, RD_HTTP1_EV_HEADERS);
        msg_complete(p, off);
        return STEP_NEXT;
    }

    p->_last_ka = m->keep_alive;

    if (m->req_connect && st / 100 == 2) {
        upgrade(p, off);
        p->_last_ka = false;
        return STEP_NEXT;
    }

    if (m->req_head || st == 204 || st == 304) {
        finding(p, RD_HTTP1_NO_BODY, off);
        emit(p, RD_HTTP1_EV_HEADERS);
        msg_complete(p, off);
        return STEP_NEXT;
    }

    if ((m->flags & RD_HTTP1_F_TE_PRESENT) && p->_te_last_chunked) {
        m->flags |= RD_HTTP1_F_CHUNKED;
        if (m->req_version == 10) {
            finding(p, RD_HTTP1_CHUNKED_TO_HTTP10, p->_te_off);
        }
        emit(p, RD_HTTP1_EV_HEADERS);
        p->_state = S_CH_SIZE_START;
        return STEP_NEXT;
    }

    if ((m->flags & RD_HTTP1_F_TE_PRESENT) == 0 && !p->_cl_bad
        && m->content_length >= 0)
    {
        emit(p, RD_HTTP1_EV_HEADERS);
        if (m->content_length == 0) {
            msg_complete(p, off);
        } else {
            p->_remain = (uint64_t) m->content_length;
            p->_state = S_BODY_CL;
        }
        return STEP_NEXT;
    }

    /* RFC 9112 6.3 items 4 and 8: read until the server closes */
    m->keep_alive = false;
    p->_last_ka = false;
    finding(p, RD_HTTP1_CLOSE_DELIMITED, off);
    emit(p, RD_HTTP1_EV_HEADERS);
    p->_state = S_BODY_CLOSE;
    return STEP_NEXT;
}


/* The empty line ending the header block was consumed; off is after it. */
static int
headers_done(struct rd_http1 *p, uint64_t off)
{
    struct rd_http1_msg  *m;

    header_end(p);
    m = &p->msg;
    m->flags |= RD_HTTP1_F_HEADERS_DONE;
    m->off_body = off;
    m->header_bytes = off - m->off_begin;
    keep_alive(m);
    if (p->type == RD_HTTP1_REQUEST) {
        return request_headers_done(p, off);
    }
    return response_headers_done(p, off);
}


/* ---- start lines */


/* The response candidate's status line is valid: the message begins. */
static void
response_begin(struct rd_http1 *p)
{
    msg_begin(p, p->_start_off, p->_ts_start);
    p->msg.version = p->_cand_ver;
    p->msg.status = p->_cand_status;
}


/*
 * The bytes since _start_off are not a status line.  First response of
 * the direction: an HTTP/0.9 reply.  Later: excess after the previous
 * response.  The current byte is looked at again.
 */
static int
not_status_line(struct rd_http1 *p)
{
    struct rd_http1_msg  *m;
    uint64_t              n;

    n = p->offset - p->_start_off;
    if (p->nmsgs == 0) {
        msg_begin(p, p->_start_off, p->_ts_start);
        m = &p->msg;
        m->version = 9;
        m->status = 0;
        m->flags |= RD_HTTP1_F_HTTP09 | RD_HTTP1_F_HEADERS_DONE;
        m->off_body = p->_start_off;
        m->header_bytes = 0;
        m->body_bytes = n;
        m->keep_alive = false;
        if (p->_fifo_len == 0) {
            m->flags |= RD_HTTP1_F_NO_REQUEST;
        } else {
            m->req_head = p->_fifo[p->_fifo_head].head;
            m->req_connect = p->_fifo[p->_fifo_head].connect;
            m->req_version = p->_fifo[p->_fifo_head].version;
            p->_fifo_head = (uint8_t) ((p->_fifo_head + 1)
                                       % RD_HTTP1_FIFO_LEN);
            p->_fifo_len--;
        }
        p->_last_ka = false;
        finding(p, RD_HTTP1_CLOSE_DELIMITED, p->_start_off);
        emit(p, RD_HTTP1_EV_HEADERS);
        p->_state = S_BODY_CLOSE;
        return STEP_AGAIN;
    }

    finding(p, RD_HTTP1_EXCESS, p->_start_off);
    set_primary(&p->msg);
    p->excess_bytes += n;
    p->_state = S_EXCESS;
    emit(p, RD_HTTP1_EV_EXCESS);
    return STEP_AGAIN;
}


static int
step_start(struct rd_http1 *p, uint8_t ch)
{
    if (p->type == RD_HTTP1_REQUEST) {
        if (ch == '\r' || ch == '\n') {
            p->ignored_bytes++;
            return STEP_NEXT;
        }
        msg_begin(p, p->offset, p->_ts);
        p->_state = S_REQ_METHOD;
        return STEP_AGAIN;
    }

    if (p->nmsgs > 0 && (p->_fifo_len == 0 || !p->_last_ka)) {
        p->_start_off = p->offset;
        return not_status_line(p);
    }
    p->_start_off = p->offset;
    p->_ts_start = p->_ts;
    p->_idx = 0;
    p->_cand_ver = 0;
    p->_cand_status = 0;
    p->_state = S_RESP_VERSION;
    return STEP_AGAIN;
}


static int
step_request_line(struct rd_http1 *p, uint8_t ch)
{
    struct rd_http1_msg  *m;

    m = &p->msg;
    switch (p->_state) {
    case S_REQ_METHOD:
        if ((ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '-') {
            if (m->method_len < RD_HTTP1_METHOD_LEN) {
                m->method[m->method_len++] = ch;
            } else {
                m->flags |= RD_HTTP1_F_METHOD_TRUNC;
            }
            return STEP_NEXT;
        }
        if (ch == ' ' && m->method_len > 0) {
            p->_state = S_REQ_TARGET;
            return STEP_NEXT;
        }
        return fail(p, RD_HTTP1_E_START_LINE, "invalid method");

    case S_REQ_TARGET:
        if (ch == ' ' && m->target_len > 0) {
            p->_state = S_REQ_VERSION;
            p->_idx = 0;
            return STEP_NEXT;
        }
        if ((ch == '\r' || ch == '\n') && m->target_len > 0) {
            /* "GET /" CRLF: HTTP/0.9 request, no header block */
            m->version = 9;
            if (ch == '\n') {
                m->flags |= RD_HTTP1_F_BARE_LF;
                m->flags |= RD_HTTP1_F_HEADERS_DONE;
                m->off_body = p->offset + 1;
                m->header_bytes = m->off_body - m->off_begin;
                emit(p, RD_HTTP1_EV_HEADERS);
                finding(p, RD_HTTP1_NO_BODY, p->offset + 1);
                msg_complete(p, p->offset + 1);
                return STEP_NEXT;
            }
            p->_state = S_START_LF;
            return STEP_NEXT;
        }
        if (ch <= 0x20 || ch == 0x7f) {
            return fail(p, RD_HTTP1_E_START_LINE, "invalid request target");
        }
        if (m->target_len < RD_HTTP1_TARGET_LEN) {
            m->target[m->target_len++] = ch;
        } else {
            m->flags |= RD_HTTP1_F_TARGET_TRUNC;
        }
        return STEP_NEXT;

    default: /* S_REQ_VERSION */
        if (p->_idx < 5) {
            if (ch != (uint8_t) http_prefix[p->_idx]) {
                return fail(p, RD_HTTP1_E_START_LINE, "invalid version");
            }
        } else if (p->_idx == 5 || p->_idx == 7) {
            if (ch < '0' || ch > '9') {
                return fail(p, RD_HTTP1_E_START_LINE, "invalid version");
            }
            if (p->_idx == 5) {
                m->version = (ch - '0') * 10;
            } else {
                m->version += ch - '0';
            }
        } else if (p->_idx == 6) {
            if (ch != '.') {
                return fail(p, RD_HTTP1_E_START_LINE, "invalid version");
            }
        } else {
            if (ch == '\r') {
                p->_state = S_START_LF;
                return STEP_NEXT;
            }
            if (ch == '\n') {
                m->flags |= RD_HTTP1_F_BARE_LF;
                p->_state = S_LINE_START;
                return STEP_NEXT;
            }
            return fail(p, RD_HTTP1_E_START_LINE, "invalid request line");
        }
        if (p->_idx == 5 && m->version != 10) {
            return fail(p, RD_HTTP1_E_START_LINE,
                        "unsupported HTTP major version");
        }
        p->_idx++;
        return STEP_NEXT;
    }
}


static int
step_status_line(struct rd_http1 *p, uint8_t ch)
{
    switch (p->_state) {
    case S_RESP_VERSION:
        if (p->_idx < 5) {
            if (ch != (uint8_t) http_prefix[p->_idx]) {
                return not_status_line(p);
            }
        } else if (p->_idx == 5 || p->_idx == 7) {
            if (ch < '0' || ch > '9') {
                return not_status_line(p);
            }
            if (p->_idx == 5) {
                p->_cand_ver = (uint8_t) ((ch - '0') * 10);
            } else {
                p->_cand_ver = (uint8_t) (p->_cand_ver + (ch - '0'));
            }
        } else if (p->_idx == 6) {
            if (ch != '.') {
                return not_status_line(p);
            }
        } else {
            if (ch != ' ') {
                return not_status_line(p);
            }
            p->_idx = 0;
            p->_state = S_RESP_STATUS;
            return STEP_NEXT;
        }
        p->_idx++;
        return STEP_NEXT;

    case S_RESP_STATUS:
        if (ch < '0' || ch > '9') {
            return not_status_line(p);
        }
        p->_cand_status = (uint16_t) (p->_cand_status * 10 + (ch - '0'));
        if (++p->_idx == 3) {
            p->_state = S_RESP_AFTER_STATUS;
        }
        return STEP_NEXT;

    case S_RESP_AFTER_STATUS:
        if (ch == ' ') {
            response_begin(p);
            p->_state = S_RESP_REASON;
            return STEP_NEXT;
        }
        if (ch == '\r' || ch == '\n') {
            response_begin(p);
            p->_state = S_RESP_REASON;
            return STEP_AGAIN;
        }
        return not_status_line(p);

    default: /* S_RESP_REASON */
        if (ch == '\r') {
            p->_state = S_START_LF;
        } else if (ch == '\n') {
            p->msg.flags |= RD_HTTP1_F_BARE_LF;
            p->_state = S_LINE_START;
        } else if (ch == '\0') {
            return fail(p, RD_HTTP1_E_START_LINE, "NUL in reason phrase");
        }
        return STEP_NEXT;
    }
}


/* ---- header block */


static int
step_header(struct rd_http1 *p, uint8_t ch)
{
    struct rd_http1_msg  *m;

    m = &p->msg;
    switch (p->_state) {
    case S_START_LF:
        if (ch != '\n') {
            return fail(p, RD_HTTP1_E_START_LINE, "CR without LF");
        }
        if (p->type == RD_HTTP1_REQUEST && m->version == 9) {
            m->flags |= RD_HTTP1_F_HEADERS_DONE;
            m->off_body = p->offset + 1;
            m->header_bytes = m->off_body - m->off_begin;
            emit(p, RD_HTTP1_EV_HEADERS);
            finding(p, RD_HTTP1_NO_BODY, p->offset + 1);
            msg_complete(p, p->offset + 1);
            return STEP_NEXT;
        }
        p->_state = S_LINE_START;
        return STEP_NEXT;

    case S_LINE_START:
        if (is_ows(ch)) {
            if (p->_hkind == H_NONE) {
                return fail(p, RD_HTTP1_E_HEADER,
                            "folded line without a header");
            }
            m->flags |= RD_HTTP1_F_OBS_FOLD;
            value_bytes(p, (const uint8_t *) " ", 1);
            p->_state = S_FOLD_WS;
            return STEP_NEXT;
        }
        header_end(p);
        if (ch == '\r') {
            p->_state = S_HDR_END_LF;
            return STEP_NEXT;
        }
        if (ch == '\n') {
            m->flags |= RD_HTTP1_F_BARE_LF;
            return headers_done(p, p->offset + 1);
        }
        line_begin(p, p->offset);
        return STEP_AGAIN;

    case S_HDR_NAME:
        if (ch == ':') {
            if (p->_nlen == 0) {
                return fail(p, RD_HTTP1_E_HEADER, "empty header name");
            }
            name_done(p);
            return STEP_NEXT;
        }
        if (ch <= 0x20 || ch == 0x7f) {
            return fail(p, RD_HTTP1_E_HEADER, "invalid header name");
        }
        if (p->_nlen < sizeof(p->_name)) {
            p->_name[p->_nlen] = lower(ch);
            if (p->_name[p->_nlen] != ch) {
                p->_ucase |= 1u << p->_nlen;
            }
        }
        if (p->_nlen <= sizeof(p->_name)) {
            p->_nlen++;
        }
        return STEP_NEXT;

    case S_HDR_VALUE:
        if (ch == '\r') {
            p->_state = S_HDR_LF;
            return STEP_NEXT;
        }
        if (ch == '\n') {
            m->flags |= RD_HTTP1_F_BARE_LF;
            p->_state = S_LINE_START;
            return STEP_NEXT;
        }
        if (ch == '\0') {
            return fail(p, RD_HTTP1_E_HEADER, "NUL in header value");
        }
        value_bytes(p, &ch, 1);
        return STEP_NEXT;

    case S_FOLD_WS:
        if (is_ows(ch)) {
            return STEP_NEXT;
        }
        p->_state = S_HDR_VALUE;
        return STEP_AGAIN;

    case S_HDR_LF:
        if (ch != '\n') {
            return fail(p, RD_HTTP1_E_HEADER, "CR without LF in header");
        }
        p->_state = S_LINE_START;
        return STEP_NEXT;

    default: /* S_HDR_END_LF */
        if (ch != '\n') {
            return fail(p, RD_HTTP1_E_HEADER, "CR without LF after header");
        }
        return headers_done(p, p->offset + 1);
    }
}


/* The first CR, LF or NUL in [s, e), or e. */
static const uint8_t *
value_end(const uint8_t *s, const uint8_t *e)
{
    const uint8_t  *lim;
    uint64_t        w;

    for ( ;; ) {
        /* eight bytes at a time while none is below 0x0e */
        while (e - s >= 8) {
            memcpy(&w, s, 8);
            if (((w - 0x0e0e0e0e0e0e0e0eull) & ~w & 0x8080808080808080ull)
                != 0)
            {
                break;
            }
            s += 8;
        }
        lim = e - s > 8 ? s + 8 : e;
        for ( ; s < lim; s++) {
            if (*s == '\r' || *s == '\n' || *s == '\0') {
                return s;
            }
        }
        if (s == e) {
            return s;
        }
    }
}


/*
 * Fast path over the bulk of a start line and header block, n bytes at
 * d (the caller passes no more than the header cap allows).  It takes
 * runs of target, reason, name and value bytes and the plain CRLF
 * between header fields, with exactly the effects step() would have had
 * byte by byte, and stops, leaving p->_state consistent, before any
 * byte that needs more (an error, a bare LF, a fold, the end of the
 * block, a start-line delimiter).  Values of header fields that are not
 * kept are skipped without a look at their bytes beyond the line end.
 * Returns the bytes consumed (p->offset is advanced by as much).
 */
static size_t
scan_header(struct rd_http1 *p, const uint8_t *d, size_t n)
{
    struct rd_http1_msg  *m;
    const uint8_t        *s, *e, *v;
    size_t                k, nlen;
    uint8_t               ch;

    m = &p->msg;
    s = d;
    e = d + n;

    switch (p->_state) {

    case S_REQ_METHOD:
        k = m->method_len;
        while (s < e && ((*s >= 'A' && *s <= 'Z') || *s == '_' || *s == '-'))
        {
            if (k < RD_HTTP1_METHOD_LEN) {
                m->method[k++] = *s;
            } else {
                m->flags |= RD_HTTP1_F_METHOD_TRUNC;
            }
            s++;
        }
        m->method_len = (uint8_t) k;
        if (s == e || *s != ' ' || k == 0) {
            goto done;
        }
        s++;
        p->_state = S_REQ_TARGET;
        /* fall through */

    case S_REQ_TARGET:
        /* stop at SP, CR, LF and anything step() rejects */
        k = m->target_len;
        while (s < e && *s > 0x20 && *s != 0x7f) {
            if (k < RD_HTTP1_TARGET_LEN) {
                m->target[k++] = *s;
            } else {
                m->flags |= RD_HTTP1_F_TARGET_TRUNC;
            }
            s++;
        }
        m->target_len = (uint8_t) k;
        if (s == e || *s != ' ' || k == 0) {
            goto done;
        }
        s++;
        p->_state = S_REQ_VERSION;
        p->_idx = 0;
        /* fall through */

    case S_REQ_VERSION:
        /* only the whole "HTTP/1.d" CR; anything else byte by byte */
        if (p->_idx != 0 || e - s < 9 || memcmp(s, "HTTP/1.", 7) != 0
            || !is_digit(s[7]) || s[8] != '\r')
        {
            goto done;
        }
        m->version = 10 + (s[7] - '0');
        p->_idx = 8;
        s += 9;
        p->_state = S_START_LF;
        goto start_lf;

    case S_RESP_VERSION:
        /* only the whole "HTTP/d.d ddd"; the next byte begins or not */
        if (p->_idx == 0 && e - s >= 12 && memcmp(s, http_prefix, 5) == 0
            && is_digit(s[5]) && s[6] == '.' && is_digit(s[7])
            && s[8] == ' ' && is_digit(s[9]) && is_digit(s[10])
            && is_digit(s[11]))
        {
            p->_cand_ver = (uint8_t) ((s[5] - '0') * 10 + (s[7] - '0'));
            p->_cand_status = (uint16_t) ((s[9] - '0') * 100
                                          + (s[10] - '0') * 10
                                          + (s[11] - '0'));
            p->_idx = 3;
            p->_state = S_RESP_AFTER_STATUS;
            s += 12;
        }
        goto done;

    case S_RESP_REASON:
        s = value_end(s, e);
        if (s == e || *s != '\r') {
            goto done;
        }
        s++;
        p->_state = S_START_LF;
        /* fall through */

    case S_START_LF:
    start_lf:
        if (s == e || *s != '\n'
            || (p->type == RD_HTTP1_REQUEST && m->version == 9))
        {
            goto done;
        }
        s++;
        p->_state = S_LINE_START;
        goto line_start;

    case S_HDR_VALUE:
    case S_HDR_LF:
    case S_LINE_START:
    case S_HDR_NAME:
        break;

    default:
        goto done;
    }

    for ( ;; ) {
        switch (p->_state) {

        case S_HDR_VALUE:
            v = s;
            s = value_end(s, e);
            if (p->_hkind != H_OTHER) {
                value_bytes(p, v, (size_t) (s - v));
            }
            if (s == e || *s != '\r') {
                goto done;
            }
            s++;
            p->_state = S_HDR_LF;
            /* fall through */

        case S_HDR_LF:
            if (s == e || *s != '\n') {
                goto done;
            }
            s++;
            p->_state = S_LINE_START;
            /* fall through */

        case S_LINE_START:
        line_start:
            if (s == e) {
                goto done;
            }
            ch = *s;
            if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
                goto done;
            }
            header_end(p);
            line_begin(p, p->offset + (uint64_t) (s - d));
            /* fall through */

        default: /* S_HDR_NAME */
            nlen = p->_nlen;
            while (s < e) {
                ch = name_map[*s];
                if (ch == 0) {
                    break;
                }
                if (nlen < sizeof(p->_name)) {
                    p->_name[nlen] = ch;
                    if (ch != *s) {
                        p->_ucase |= 1u << nlen;
                    }
                }
                if (nlen <= sizeof(p->_name)) {
                    nlen++;
                }
                s++;
            }
            p->_nlen = (uint8_t) nlen;
            if (s == e || *s != ':' || nlen == 0) {
                goto done;
            }
            s++;
            name_done(p);
            break;
        }
    }

done:
    k = (size_t) (s - d);
    p->offset += k;
    return k;
}


/* ---- chunked body (nginx ngx_http_parse_chunked) */


static void
chunk_bare_lf(struct rd_http1 *p)
{
    p->msg.flags |= RD_HTTP1_F_CHUNK_BARE_LF;
    finding(p, RD_HTTP1_INVALID_CHUNKED, p->offset);
}


static int
chunk_size_done(struct rd_http1 *p)
{
    if (p->_remain == 0) {
        p->_state = S_CH_TRAILER_START;
        p->_line_off = p->offset + 1;
    } else {
        p->_state = S_CH_DATA;
    }
    return STEP_NEXT;
}


static int
trailer_check(struct rd_http1 *p)
{
    uint64_t  n;

    n = p->offset + 1 - p->_line_off;
    if (n > p->max_header_bytes) {
        return fail(p, RD_HTTP1_E_HEADER_OVERFLOW, "trailers too big");
    }
    return STEP_NEXT;
}


static int
step_chunked(struct rd_http1 *p, uint8_t ch)
{
    int  h;

    switch (p->_state) {
    case S_CH_SIZE_START:
        h = hexval(ch);
        if (h < 0) {
            return fail(p, RD_HTTP1_E_CHUNKED, "invalid chunk size");
        }
        p->_remain = (uint64_t) h;
        p->_state = S_CH_SIZE;
        return STEP_NEXT;

    case S_CH_SIZE:
        h = hexval(ch);
        if (h >= 0) {
            if (p->_remain > MAX_OFF / 16) {
                return fail(p, RD_HTTP1_E_CHUNKED, "chunk size overflow");
            }
            p->_remain = p->_remain * 16 + (uint64_t) h;
            return STEP_NEXT;
        }
        if (ch == '\r') {
            p->_state = S_CH_SIZE_LF;
            return STEP_NEXT;
        }
        if (ch == '\n') {
            chunk_bare_lf(p);
            return chunk_size_done(p);
        }
        if (ch == ';' || is_ows(ch)) {
            p->_state = S_CH_EXT;
            return STEP_NEXT;
        }
        return fail(p, RD_HTTP1_E_CHUNKED, "invalid chunk size");

    case S_CH_EXT:
        if (ch == '\r') {
            p->_state = S_CH_SIZE_LF;
        } else if (ch == '\n') {
            chunk_bare_lf(p);
            return chunk_size_done(p);
        }
        return STEP_NEXT;

    case S_CH_SIZE_LF:
        if (ch != '\n') {
            return fail(p, RD_HTTP1_E_CHUNKED, "CR without LF in chunk size");
        }
        return chunk_size_done(p);

    case S_CH_DATA_CR:
        if (ch == '\r') {
            p->_state = S_CH_DATA_LF;
            return STEP_NEXT;
        }
        if (ch == '\n') {
            chunk_bare_lf(p);
            p->_state = S_CH_SIZE_START;
            return STEP_NEXT;
        }
        return fail(p, RD_HTTP1_E_CHUNKED, "no CRLF after chunk data");

    case S_CH_DATA_LF:
        if (ch != '\n') {
            return fail(p, RD_HTTP1_E_CHUNKED, "no CRLF after chunk data");
        }
        p->_state = S_CH_SIZE_START;
        return STEP_NEXT;

    case S_CH_TRAILER_START:
        if (ch == '\r') {
            p->_state = S_CH_LAST_LF;
            return trailer_check(p);
        }
        if (ch == '\n') {
            chunk_bare_lf(p);
            msg_complete(p, p->offset + 1);
            return STEP_NEXT;
        }
        p->msg.flags |= RD_HTTP1_F_TRAILERS;
        p->_state = S_CH_TRAILER;
        return trailer_check(p);

    case S_CH_TRAILER:
        if (ch == '\r') {
            p->_state = S_CH_TRAILER_LF;
        } else if (ch == '\n') {
            p->msg.flags |= RD_HTTP1_F_BARE_LF;
            p->_state = S_CH_TRAILER_START;
        }
        return trailer_check(p);

    case S_CH_TRAILER_LF:
        if (ch != '\n') {
            return fail(p, RD_HTTP1_E_CHUNKED, "CR without LF in trailer");
        }
        p->_state = S_CH_TRAILER_START;
        return trailer_check(p);

    default: /* S_CH_LAST_LF */
        if (ch != '\n') {
            return fail(p, RD_HTTP1_E_CHUNKED, "CR without LF after chunks");
        }
        msg_complete(p, p->offset + 1);
        return STEP_NEXT;
    }
}


static int
step(struct rd_http1 *p, uint8_t ch)
{
    switch (p->_state) {
    case S_START:
        return step_start(p, ch);
    case S_REQ_METHOD:
    case S_REQ_TARGET:
    case S_REQ_VERSION:
        return step_request_line(p, ch);
    case S_RESP_VERSION:
    case S_RESP_STATUS:
    case S_RESP_AFTER_STATUS:
    case S_RESP_REASON:
        return step_status_line(p, ch);
    case S_START_LF:
    case S_LINE_START:
    case S_HDR_NAME:
    case S_HDR_VALUE:
    case S_FOLD_WS:
    case S_HDR_LF:
    case S_HDR_END_LF:
        return step_header(p, ch);
    default:
        return step_chunked(p, ch);
    }
}


static bool
in_header(const struct rd_http1 *p)
{
    return p->_state >= S_REQ_METHOD && p->_state <= S_HDR_END_LF;
}


int
rd_http1_feed(struct rd_http1 *p, const uint8_t *data, size_t len,
    rd_usec_t ts)
{
    size_t    i, n, k;
    uint64_t  base, hdr;

    if (p->_finished) {
        return -RD_EINVAL;
    }
    if (len == 0) {
        return p->_state == S_DEAD ? -RD_EPROTO : RD_OK;
    }
    p->_ts = ts;
    if (p->_in_msg) {
        p->msg.ts_end = ts;
    }

    i = 0;
    while (i < len) {
        n = len - i;
        switch (p->_state) {
        case S_BODY_CL:
        case S_CH_DATA:
            n = (size_t) RD_MIN((uint64_t) n, p->_remain);
            p->msg.body_bytes += n;
            p->_remain -= n;
            p->offset += n;
            i += n;
            if (p->_remain == 0) {
                if (p->_state == S_CH_DATA) {
                    p->_state = S_CH_DATA_CR;
                } else {
                    msg_complete(p, p->offset);
                }
            }
            continue;
        case S_BODY_CLOSE:
            p->msg.body_bytes += n;
            break;
        case S_EXCESS:
            p->excess_bytes += n;
            break;
        case S_UPGRADED:
        case S_UPGRADE_WAIT:
            p->tunnel_bytes += n;
            break;
        case S_DEAD:
        case S_LOST:
            p->ignored_bytes += n;
            break;
        default:
            if (in_header(p)) {
                base = p->_in_msg ? p->msg.off_begin : p->_start_off;
                hdr = p->offset + 1 - base;
                if (hdr > p->max_header_bytes) {
                    if (!p->_in_msg) {
                        response_begin(p);
                    }
                    fail(p, RD_HTTP1_E_HEADER_OVERFLOW,
                         "header block too big");
                    continue;
                }
                /* bytes up to the cap: offset < base + max_header_bytes */
                k = scan_header(p, data + i,
                                (size_t) RD_MIN((uint64_t) n,
                                                base + p->max_header_bytes
                                                - p->offset));
                if (k > 0) {
                    i += k;
                    continue;
                }
            }
            if (step(p, data[i]) == STEP_NEXT) {
                p->offset++;
                i++;
            }
            continue;
        }
        p->offset += n;
        i += n;
    }
    return p->_state == S_DEAD ? -RD_EPROTO : RD_OK;
}


/* The framing of the rest of the stream is unknown from here on. */
static void
lose_sync(struct rd_http1 *p, uint64_t nbytes)
{
    if (!p->_in_msg && in_header(p)) {
        response_begin(p);
    }
    if (p->_in_msg) {
        finding(p, RD_HTTP1_UNKNOWN_GAP, p->offset);
        msg_end(p, p->offset);
    }
    p->_state = S_LOST;
    p->ignored_bytes += nbytes;
    p->offset += nbytes;
}


void
rd_http1_gap(struct rd_http1 *p, uint64_t nbytes)
{
    uint64_t  n;

    if (nbytes == 0 || p->_finished) {
        return;
    }
    switch (p->_state) {
    case S_BODY_CL:
    case S_CH_DATA:
        finding(p, RD_HTTP1_UNKNOWN_GAP, p->offset);
        n = RD_MIN(nbytes, p->_remain);
        p->msg.body_bytes += n;
        p->msg.gap_bytes += n;
        p->_remain -= n;
        p->offset += n;
        if (p->_remain == 0 && p->_state == S_BODY_CL) {
            msg_complete(p, p->offset);
        } else if (p->_remain == 0) {
            p->_state = S_CH_DATA_CR;
        }
        if (n < nbytes) {
            lose_sync(p, nbytes - n);
        }
        return;
    case S_BODY_CLOSE:
        finding(p, RD_HTTP1_UNKNOWN_GAP, p->offset);
        p->msg.body_bytes += nbytes;
        p->msg.gap_bytes += nbytes;
        break;
    case S_EXCESS:
        p->excess_bytes += nbytes;
        break;
    case S_UPGRADED:
    case S_UPGRADE_WAIT:
        p->tunnel_bytes += nbytes;
        break;
    case S_DEAD:
    case S_LOST:
        p->ignored_bytes += nbytes;
        break;
    default:
        lose_sync(p, nbytes);
        return;
    }
    p->offset += nbytes;
}


int
rd_http1_finish(struct rd_http1 *p, int how)
{
    int  rc;

    if (p->_finished
        || (how != RD_HTTP1_EOF_FIN && how != RD_HTTP1_EOF_RST
            && how != RD_HTTP1_EOF_CAPTURE_END))
    {
        return -RD_EINVAL;
    }
    p->_finished = true;

    switch (p->_state) {
    case S_START:
    case S_EXCESS:
    case S_UPGRADED:
    case S_UPGRADE_WAIT:
        rc = RD_HTTP1_SAFE;
        break;
    case S_DEAD:
    case S_LOST:
        rc = RD_HTTP1_UNSAFE;
        break;
    case S_BODY_CLOSE:
        if (how == RD_HTTP1_EOF_FIN) {
            finding(p, RD_HTTP1_COMPLETE, p->offset);
            msg_end(p, p->offset);
            rc = RD_HTTP1_SAFE;
            break;
        }
        /* fall through */
    default:
        if (!p->_in_msg) {
            response_begin(p);
        }
        finding(p, how == RD_HTTP1_EOF_CAPTURE_END ? RD_HTTP1_INCOMPLETE
                                                   : RD_HTTP1_TRUNCATED,
                p->offset);
        msg_end(p, p->offset);
        rc = RD_HTTP1_UNSAFE;
        break;
    }
    p->_state = S_DONE;
    return rc;
}
