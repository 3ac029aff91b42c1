/*
 * Streaming FastCGI record parser (FastCGI Specification 1.0), both
 * directions of one connection, byte at a time.  See
 * include/rstdiag/fcgi.h for the contract and the decisions.
 */
#include <arpa/inet.h>
#include <string.h>

#include "rstdiag/fcgi.h"


/* record framing states of a direction */
enum {
    R_HDR = 0,
    R_CONTENT,
    R_PADDING,
    R_DEAD,               /* unsupported version: framing untrusted */
    R_LOST,               /* a capture gap hit a record header */
    R_DONE
};

/* name-value pair states (FastCGI 1.0 section 3.4) */
enum {
    NV_NLEN = 0,
    NV_NLEN_MORE,
    NV_VLEN,
    NV_VLEN_MORE,
    NV_NAME,
    NV_VALUE,
    NV_LOST
};

/* kept parameters */
enum {
    K_NONE = 0,
    K_METHOD,
    K_URI,
    K_SCRIPT,
    K_CLEN,
    K_PROTO,
    K_RADDR,
    K_RPORT
};

/* CGI header block states (RFC 3875 section 6) */
enum {
    H_LINE_START = 0,
    H_NAME,
    H_VALUE_WS,
    H_VALUE,
    H_LF,
    H_END_LF,
    H_DONE,
    H_OVERFLOW,
    H_LOST
};

/* kept response headers */
enum {
    HK_NONE = 0,
    HK_STATUS,
    HK_CLEN,
    HK_LOCATION
};

/* Content-Length value states */
enum {
    CLS_NONE = 0,
    CLS_DIGITS,
    CLS_TWS,
    CLS_BAD
};

#define BIT(f)          (1u << (f))
#define NAME_LONG       0xffu   /* _nv_namelen/_h_namelen: not kept */
#define CL_MAX          0x7fffffffffffffffull


const struct rd_tok  rd_fcgi_type_names[] = {
    { RD_FCGI_BEGIN_REQUEST, "BEGIN_REQUEST" },
    { RD_FCGI_ABORT_REQUEST, "ABORT_REQUEST" },
    { RD_FCGI_END_REQUEST, "END_REQUEST" },
    { RD_FCGI_PARAMS, "PARAMS" },
    { RD_FCGI_STDIN, "STDIN" },
    { RD_FCGI_STDOUT, "STDOUT" },
    { RD_FCGI_STDERR, "STDERR" },
    { RD_FCGI_DATA, "DATA" },
    { RD_FCGI_GET_VALUES, "GET_VALUES" },
    { RD_FCGI_GET_VALUES_RESULT, "GET_VALUES_RESULT" },
    { RD_FCGI_UNKNOWN_TYPE, "UNKNOWN_TYPE" },
    { 0, NULL }
};

const struct rd_tok  rd_fcgi_role_names[] = {
    { RD_FCGI_RESPONDER, "responder" },
    { RD_FCGI_AUTHORIZER, "authorizer" },
    { RD_FCGI_FILTER, "filter" },
    { 0, NULL }
};

const struct rd_tok  rd_fcgi_protocol_status_names[] = {
    { RD_FCGI_REQUEST_COMPLETE, "request_complete" },
    { RD_FCGI_CANT_MPX_CONN, "cant_mpx_conn" },
    { RD_FCGI_OVERLOADED, "overloaded" },
    { RD_FCGI_UNKNOWN_ROLE, "unknown_role" },
    { 0, NULL }
};

const struct rd_tok  rd_fcgi_event_names[] = {
    { RD_FCGI_EV_BEGIN, "begin" },
    { RD_FCGI_EV_REQUEST_DONE, "request_done" },
    { RD_FCGI_EV_HEADERS, "headers" },
    { RD_FCGI_EV_END, "end" },
    { RD_FCGI_EV_ERROR, "error" },
    { 0, NULL }
};

const struct rd_tok  rd_fcgi_finding_names[] = {
    { RD_FCGI_COMPLETE, "complete" },
    { RD_FCGI_TRUNCATED, "truncated" },
    { RD_FCGI_INCOMPLETE, "incomplete" },
    { RD_FCGI_UNKNOWN_GAP, "unknown_gap" },
    { RD_FCGI_HEADER_OVERFLOW, "header_overflow" },
    { RD_FCGI_INVALID_RECORD, "invalid_record" },
    { RD_FCGI_STDERR_SEEN, "stderr_seen" },
    { 0, NULL }
};

const struct rd_tok  rd_fcgi_error_names[] = {
    { RD_FCGI_E_NONE, "none" },
    { RD_FCGI_E_VERSION, "version" },
    { RD_FCGI_E_TYPE, "type" },
    { RD_FCGI_E_UNEXPECTED, "unexpected" },
    { RD_FCGI_E_LENGTH, "length" },
    { RD_FCGI_E_PARAMS, "params" },
    { 0, NULL }
};

const struct rd_tok  rd_fcgi_phase_names[] = {
    { RD_FCGI_PH_NONE, "none" },
    { RD_FCGI_PH_SENDING_REQUEST, "sending_request" },
    { RD_FCGI_PH_AWAITING_RESPONSE_HEADER, "awaiting_response_header" },
    { RD_FCGI_PH_READING_RESPONSE_BODY, "reading_response_body" },
    { RD_FCGI_PH_IDLE_KEEPALIVE, "idle_keepalive" },
    { RD_FCGI_PH_AFTER_COMPLETE_RESPONSE, "after_complete_response" },
    { 0, NULL }
};

/* primary finding: the first set bit in this order (see fcgi.h) */
static const int  primary_order[] = {
    RD_FCGI_HEADER_OVERFLOW,
    RD_FCGI_INVALID_RECORD,
    RD_FCGI_UNKNOWN_GAP,
    RD_FCGI_TRUNCATED,
    RD_FCGI_INCOMPLETE,
    RD_FCGI_COMPLETE,
    RD_FCGI_STDERR_SEEN
};


static void
emit(struct rd_fcgi *p, const struct rd_fcgi_exchange *x, int ev)
{
    if (p->on_ex != NULL) {
        p->on_ex(p->ctx, p, x, ev);
    }
}


static void
finding(struct rd_fcgi_exchange *x, int f)
{
    if (x != NULL) {
        x->findings |= BIT(f);
    }
}


static void
set_phase(struct rd_fcgi_exchange *x)
{
    if (!x->open) {
        return;
    }
    if (x->flags & RD_FCGI_F_HEADERS_DONE) {
        x->phase = RD_FCGI_PH_READING_RESPONSE_BODY;
    } else if (x->flags & (RD_FCGI_F_REQ_DONE | RD_FCGI_F_NO_BEGIN)) {
        x->phase = RD_FCGI_PH_AWAITING_RESPONSE_HEADER;
    } else {
        x->phase = RD_FCGI_PH_SENDING_REQUEST;
    }
}


/* The exchange is over: primary finding, phase left behind, END event. */
static void
ex_end(struct rd_fcgi *p, struct rd_fcgi_exchange *x)
{
    size_t  i;

    x->primary = RD_FCGI_COMPLETE;
    for (i = 0; i < RD_NELEMS(primary_order); i++) {
        if (x->findings & BIT(primary_order[i])) {
            x->primary = primary_order[i];
            break;
        }
    }
    x->ts_end = p->_ts;
    x->open = false;
    if ((x->findings & BIT(RD_FCGI_COMPLETE))
        && !(x->findings & BIT(RD_FCGI_HEADER_OVERFLOW)))
    {
        p->ncomplete++;
        p->_last_phase = (uint8_t) ((x->flags & RD_FCGI_F_KEEP_CONN)
                                    ? RD_FCGI_PH_IDLE_KEEPALIVE
                                    : RD_FCGI_PH_AFTER_COMPLETE_RESPONSE);
    } else {
        p->_last_phase = x->phase;
    }
    emit(p, x, RD_FCGI_EV_END);
}


static struct rd_fcgi_exchange *
find_open(struct rd_fcgi *p, uint16_t id)
{
    int  i;

    for (i = 0; i < RD_FCGI_SLOTS; i++) {
        if (p->slot[i].open && p->slot[i].id == id) {
            return &p->slot[i];
        }
    }
    return NULL;
}


/* A new exchange in a free slot, or NULL when all are open. */
static struct rd_fcgi_exchange *
ex_new(struct rd_fcgi *p, uint16_t id, bool no_begin)
{
    struct rd_fcgi_exchange  *x;
    int                       i;

    x = NULL;
    for (i = 0; i < RD_FCGI_SLOTS; i++) {
        if (!p->slot[i].open) {
            x = &p->slot[i];
            break;
        }
    }
    if (x == NULL) {
        return NULL;
    }
    memset(x, 0, sizeof(*x));
    x->id = id;
    x->seq = p->nexchanges++;
    x->open = true;
    x->ts_begin = p->_ts;
    x->content_length = -1;
    x->req_content_length = -1;
    x->primary = RD_FCGI_INCOMPLETE;
    if (no_begin) {
        x->flags |= RD_FCGI_F_NO_BEGIN;
    }
    set_phase(x);
    emit(p, x, RD_FCGI_EV_BEGIN);
    return x;
}


/* The exchange the current record of direction d belongs to. */
static struct rd_fcgi_exchange *
cur_ex(struct rd_fcgi *p, struct rd_fcgi_dir *d)
{
    struct rd_fcgi_exchange  *x;

    if (d->_slot < 0) {
        return NULL;
    }
    x = &p->slot[d->_slot];
    return x->open && x->id == d->_id ? x : NULL;
}


/* A record broke a rule: note it (the first reason sticks), mark x. */
static void
rec_error(struct rd_fcgi *p, struct rd_fcgi_dir *d,
    struct rd_fcgi_exchange *x, int err, const char *reason)
{
    if (d->err == RD_FCGI_E_NONE) {
        d->err = err;
        d->reason = reason;
    }
    finding(x, RD_FCGI_INVALID_RECORD);
    emit(p, x, RD_FCGI_EV_ERROR);
}


/* --- name-value pairs of PARAMS ----------------------------------------- */

static const struct {
    const char  *name;
    uint8_t      key;
} kept_params[] = {
    { "REQUEST_METHOD", K_METHOD },
    { "REQUEST_URI", K_URI },
    { "SCRIPT_NAME", K_SCRIPT },
    { "CONTENT_LENGTH", K_CLEN },
    { "SERVER_PROTOCOL", K_PROTO },
    { "REMOTE_ADDR", K_RADDR },
    { "REMOTE_PORT", K_RPORT }
};


static void
nv_name_done(struct rd_fcgi_exchange *x)
{
    size_t  i;

    x->_nv_key = K_NONE;
    if (x->_nv_namelen != NAME_LONG) {
        for (i = 0; i < RD_NELEMS(kept_params); i++) {
            if (strlen(kept_params[i].name) == x->_nv_namelen
                && memcmp(kept_params[i].name, x->_nv_name,
                          x->_nv_namelen) == 0)
            {
                x->_nv_key = kept_params[i].key;
                break;
            }
        }
    }

    /* a later value of the same name replaces the earlier one */
    switch (x->_nv_key) {
    case K_METHOD:
        x->method_len = 0;
        x->flags &= ~RD_FCGI_F_METHOD_TRUNC;
        break;
    case K_SCRIPT:
        if (x->_nv_uri_seen) {
            /* REQUEST_URI names the target better (nginx's fastcgi_params
             * send SCRIPT_NAME first) */
            x->_nv_key = K_NONE;
            break;
        }
        x->target_len = 0;
        x->flags &= ~RD_FCGI_F_TARGET_TRUNC;
        x->flags |= RD_FCGI_F_TARGET_SCRIPT;
        break;
    case K_URI:
        x->_nv_uri_seen = true;
        x->target_len = 0;
        x->flags &= ~(RD_FCGI_F_TARGET_TRUNC | RD_FCGI_F_TARGET_SCRIPT);
        break;
    case K_CLEN:
        x->clen_len = 0;
        x->req_content_length = -1;
        x->flags &= ~RD_FCGI_F_CLEN_TRUNC;
        break;
    case K_PROTO:
        x->proto_len = 0;
        x->flags &= ~RD_FCGI_F_PROTO_TRUNC;
        break;
    case K_RADDR:
        x->remote_af = 0;
        x->_nv_tlen = 0;
        break;
    case K_RPORT:
        x->remote_port = 0;
        x->_nv_tlen = 0;
        break;
    default:
        break;
    }
    x->_nv_left = x->_nv_vlen;
    x->_nv_state = NV_VALUE;
}


/* CONTENT_LENGTH's text to a number: digits only, no overflow. */
static void
nv_clen_done(struct rd_fcgi_exchange *x)
{
    uint64_t  v;
    uint8_t   i;

    if (x->clen_len == 0 || (x->flags & RD_FCGI_F_CLEN_TRUNC)) {
        return;
    }
    v = 0;
    for (i = 0; i < x->clen_len; i++) {
        if (x->clen[i] < '0' || x->clen[i] > '9'
            || v > (CL_MAX - (uint64_t) (x->clen[i] - '0')) / 10)
        {
            return;
        }
        v = v * 10 + (uint64_t) (x->clen[i] - '0');
    }
    x->req_content_length = (int64_t) v;
}


/* REMOTE_ADDR's or REMOTE_PORT's text (a value longer than the buffer
 * is no address: _nv_tlen is past it). */
static void
nv_remote_done(struct rd_fcgi_exchange *x)
{
    char      t[sizeof(x->_nv_text) + 1];
    uint32_t  port;
    uint8_t   i;

    if (x->_nv_tlen == 0 || x->_nv_tlen > sizeof(x->_nv_text)) {
        return;
    }
    if (x->_nv_key == K_RPORT) {
        port = 0;
        for (i = 0; i < x->_nv_tlen; i++) {
            if (x->_nv_text[i] < '0' || x->_nv_text[i] > '9') {
                return;
            }
            port = port * 10 + (uint32_t) (x->_nv_text[i] - '0');
            if (port > 65535) {
                return;
            }
        }
        x->remote_port = (uint16_t) port;
        return;
    }
    memcpy(t, x->_nv_text, x->_nv_tlen);
    t[x->_nv_tlen] = '\0';
    memset(x->remote_addr, 0, sizeof(x->remote_addr));
    if (inet_pton(AF_INET, t, x->remote_addr) == 1) {
        x->remote_af = 4;
    } else if (inet_pton(AF_INET6, t, x->remote_addr) == 1) {
        x->remote_af = 6;
    }
}


static void
nv_value_done(struct rd_fcgi_exchange *x)
{
    if (x->_nv_key == K_CLEN) {
        nv_clen_done(x);
    }
    if (x->_nv_key == K_RADDR || x->_nv_key == K_RPORT) {
        nv_remote_done(x);
    }
    x->_nv_key = K_NONE;
    x->_nv_state = NV_NLEN;
}


/* Append c to a kept array, or flag the truncation. */
static void
keep(uint8_t *buf, uint8_t *len, size_t cap, uint8_t c, uint32_t *flags,
    uint32_t trunc)
{
    if (*len < cap) {
        buf[(*len)++] = c;
    } else {
        *flags |= trunc;
    }
}


static void
nv_value_byte(struct rd_fcgi_exchange *x, uint8_t c)
{
    switch (x->_nv_key) {
    case K_METHOD:
        keep(x->method, &x->method_len, sizeof(x->method), c, &x->flags,
             RD_FCGI_F_METHOD_TRUNC);
        break;
    case K_URI:
    case K_SCRIPT:
        keep(x->target, &x->target_len, sizeof(x->target), c, &x->flags,
             RD_FCGI_F_TARGET_TRUNC);
        break;
    case K_CLEN:
        keep(x->clen, &x->clen_len, sizeof(x->clen), c, &x->flags,
             RD_FCGI_F_CLEN_TRUNC);
        break;
    case K_PROTO:
        keep(x->proto, &x->proto_len, sizeof(x->proto), c, &x->flags,
             RD_FCGI_F_PROTO_TRUNC);
        break;
    case K_RADDR:
    case K_RPORT:
        if (x->_nv_tlen < sizeof(x->_nv_text)) {
            x->_nv_text[x->_nv_tlen] = c;
        }
        if (x->_nv_tlen <= sizeof(x->_nv_text)) {
            x->_nv_tlen++;
        }
        break;
    default:
        break;
    }
}


/* Lengths are 1 byte (high bit 0) or 4 bytes big-endian (high bit set,
 * masked off): FastCGI 1.0 section 3.4. */
static void
nv_byte(struct rd_fcgi_exchange *x, uint8_t c)
{
    switch (x->_nv_state) {
    case NV_NLEN:
    case NV_VLEN:
        if (c & 0x80u) {
            x->_nv_len = c & 0x7fu;
            x->_nv_lbytes = 3;
            x->_nv_state++;         /* NV_NLEN_MORE or NV_VLEN_MORE */
            return;
        }
        x->_nv_len = c;
        break;
    case NV_NLEN_MORE:
    case NV_VLEN_MORE:
        x->_nv_len = x->_nv_len << 8 | c;
        if (--x->_nv_lbytes > 0) {
            return;
        }
        break;
    case NV_NAME:
        if (x->_nv_namelen < sizeof(x->_nv_name)) {
            x->_nv_name[x->_nv_namelen++] = c;
        } else {
            x->_nv_namelen = NAME_LONG;
        }
        if (--x->_nv_left == 0) {
            nv_name_done(x);
            if (x->_nv_left == 0) {
                nv_value_done(x);
            }
        }
        return;
    case NV_VALUE:
        nv_value_byte(x, c);
        if (--x->_nv_left == 0) {
            nv_value_done(x);
        }
        return;
    default:                        /* NV_LOST */
        return;
    }

    /* a length is complete */
    if (x->_nv_state == NV_NLEN || x->_nv_state == NV_NLEN_MORE) {
        x->_nv_nlen = x->_nv_len;
        x->_nv_state = NV_VLEN;
        return;
    }
    x->_nv_vlen = x->_nv_len;
    x->_nv_namelen = 0;
    x->_nv_left = x->_nv_nlen;
    x->_nv_state = NV_NAME;
    if (x->_nv_left == 0) {
        nv_name_done(x);
        if (x->_nv_left == 0) {
            nv_value_done(x);
        }
    }
}


/* --- the CGI header block inside STDOUT ----------------------------------- */

static uint8_t
lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t) (c + ('a' - 'A')) : c;
}


static void
h_name_done(struct rd_fcgi_exchange *x)
{
    x->_h_key = HK_NONE;
    if (x->_h_namelen == 6 && memcmp(x->_h_name, "status", 6) == 0) {
        x->_h_key = HK_STATUS;
        x->flags |= RD_FCGI_F_STATUS_HDR;
        x->_h_st_digits = 0;
        x->_h_status = 0;
    } else if (x->_h_namelen == 14
               && memcmp(x->_h_name, "content-length", 14) == 0)
    {
        x->_h_key = HK_CLEN;
        if (x->_h_cl_state != CLS_NONE) {
            x->flags |= RD_FCGI_F_BAD_CL;   /* a second one */
        }
        x->_h_cl_state = CLS_DIGITS;
        x->_h_cl = 0;
    } else if (x->_h_namelen == 8
               && memcmp(x->_h_name, "location", 8) == 0)
    {
        x->_h_key = HK_LOCATION;
        x->location_len = 0;
        x->flags &= ~RD_FCGI_F_LOCATION_TRUNC;
    }
}


static void
h_value_byte(struct rd_fcgi_exchange *x, uint8_t c)
{
    switch (x->_h_key) {
    case HK_STATUS:
        /* "Status: 404 Not Found": the first three digits */
        if (x->_h_st_digits < 3) {
            if (c >= '0' && c <= '9') {
                x->_h_status = (uint16_t) (x->_h_status * 10 + (c - '0'));
                x->_h_st_digits++;
            } else {
                x->_h_st_digits = 0xff;     /* invalid */
            }
        }
        break;
    case HK_CLEN:
        if (x->_h_cl_state == CLS_DIGITS && c >= '0' && c <= '9') {
            if (x->_h_cl > (CL_MAX - (uint64_t) (c - '0')) / 10) {
                x->_h_cl_state = CLS_BAD;
            } else {
                x->_h_cl = x->_h_cl * 10 + (uint64_t) (c - '0');
            }
        } else if (c == ' ' || c == '\t') {
            if (x->_h_cl_state == CLS_DIGITS) {
                x->_h_cl_state = CLS_TWS;
            }
        } else {
            x->_h_cl_state = CLS_BAD;
        }
        break;
    case HK_LOCATION:
        keep(x->location, &x->location_len, sizeof(x->location), c,
             &x->flags, RD_FCGI_F_LOCATION_TRUNC);
        break;
    default:
        break;
    }
}


static void
h_line_done(struct rd_fcgi_exchange *x)
{
    if (x->_h_key == HK_STATUS && x->_h_st_digits != 3) {
        x->flags |= RD_FCGI_F_BAD_HEADER;
        x->flags &= ~RD_FCGI_F_STATUS_HDR;
    }
    x->_h_key = HK_NONE;
    x->_h_state = H_LINE_START;
}


static void
h_block_done(struct rd_fcgi *p, struct rd_fcgi_exchange *x)
{
    x->_h_state = H_DONE;
    x->flags |= RD_FCGI_F_HEADERS_DONE;
    if (x->flags & RD_FCGI_F_STATUS_HDR) {
        x->status = x->_h_status;
    } else if (x->location_len > 0) {
        x->status = 302;    /* ngx_http_fastcgi_process_header */
    } else {
        x->status = 200;
    }
    if (x->_h_cl_state == CLS_BAD || (x->flags & RD_FCGI_F_BAD_CL)
        || x->_h_cl_state == CLS_NONE)
    {
        x->content_length = -1;
        if (x->_h_cl_state == CLS_BAD) {
            x->flags |= RD_FCGI_F_BAD_CL;
        }
    } else {
        x->content_length = (int64_t) x->_h_cl;
    }
    x->ts_headers = p->_ts;
    set_phase(x);
    emit(p, x, RD_FCGI_EV_HEADERS);
}


/*
 * One byte of the CGI header block.  Returns true when the block ended
 * before this byte, which is then a body byte.
 */
static bool
h_byte(struct rd_fcgi *p, struct rd_fcgi_exchange *x, uint8_t c)
{
    /* Lines end in CRLF or a bare LF, as nginx's
     * ngx_http_parse_header_line accepts; a bare CR ends a line too. */
    for ( ;; ) {
        switch (x->_h_state) {
        case H_LINE_START:
            if (c == '\r') {
                x->_h_state = H_END_LF;
                return false;
            }
            if (c == '\n') {
                h_block_done(p, x);
                return false;
            }
            x->_h_namelen = 0;
            x->_h_state = H_NAME;
            continue;
        case H_NAME:
            if (c == ':') {
                h_name_done(x);
                x->_h_state = H_VALUE_WS;
                return false;
            }
            if (c == '\r' || c == '\n') {
                x->flags |= RD_FCGI_F_BAD_HEADER;   /* nginx: 502 */
                x->_h_key = HK_NONE;
                x->_h_state = c == '\r' ? H_LF : H_LINE_START;
                return false;
            }
            if (x->_h_namelen < sizeof(x->_h_name)) {
                x->_h_name[x->_h_namelen++] = lower(c);
            } else {
                x->_h_namelen = NAME_LONG;
            }
            return false;
        case H_VALUE_WS:
            if (c == ' ' || c == '\t') {
                return false;
            }
            x->_h_state = H_VALUE;
            continue;
        case H_VALUE:
            if (c == '\r') {
                x->_h_state = H_LF;
                return false;
            }
            if (c == '\n') {
                h_line_done(x);
                return false;
            }
            h_value_byte(x, c);
            return false;
        case H_LF:
            h_line_done(x);
            if (c == '\n') {
                return false;
            }
            continue;           /* a bare CR ended the line */
        case H_END_LF:
            if (c != '\n') {
                x->header_bytes--;  /* a body byte after a bare CR */
            }
            h_block_done(p, x);
            return c != '\n';
        default:
            return true;
        }
    }
}


/* --- record content ---------------------------------------------------- */

static void
on_stdout(struct rd_fcgi *p, struct rd_fcgi_exchange *x,
    const uint8_t *data, size_t n)
{
    size_t  i;

    x->stdout_bytes += n;
    if (x->_h_state == H_DONE) {
        x->body_bytes += n;
        return;
    }
    if (x->_h_state == H_OVERFLOW || x->_h_state == H_LOST) {
        return;
    }
    /* resp_wire_bytes got the whole record already: walk back to this
     * byte's position to compare with the cap as nginx's buffer fills */
    for (i = 0; i < n; i++) {
        if (x->resp_wire_bytes - (n - i) + 1 > p->max_header_bytes) {
            finding(x, RD_FCGI_HEADER_OVERFLOW);
            x->_h_state = H_OVERFLOW;
            return;
        }
        /* counted first: the HEADERS event inside sees the whole block */
        x->header_bytes++;
        if (h_byte(p, x, data[i])) {
            x->body_bytes += n - i;
            return;
        }
        if (x->_h_state == H_DONE) {
            x->body_bytes += n - i - 1;
            return;
        }
    }
}


static void
on_stderr(struct rd_fcgi_exchange *x, const uint8_t *data, size_t n)
{
    size_t  i;

    finding(x, RD_FCGI_STDERR_SEEN);
    x->stderr_bytes += n;
    for (i = 0; i < n; i++) {
        keep(x->stderr_text, &x->stderr_len, sizeof(x->stderr_text),
             data[i], &x->flags, RD_FCGI_F_STDERR_TRUNC);
        if (x->flags & RD_FCGI_F_STDERR_TRUNC) {
            break;
        }
    }
}


/* n content bytes of the current record at content position pos. */
static void
content(struct rd_fcgi *p, struct rd_fcgi_dir *d, const uint8_t *data,
    size_t n, uint32_t pos)
{
    struct rd_fcgi_exchange  *x;
    size_t                    i;

    x = cur_ex(p, d);
    if (x == NULL) {
        return;
    }
    if (d == &p->dir[RD_FCGI_SERVER]) {
        x->resp_wire_bytes += n;
    }
    switch (d->_type) {
    case RD_FCGI_BEGIN_REQUEST:
    case RD_FCGI_END_REQUEST:
        for (i = 0; i < n && pos + i < sizeof(x->_end); i++) {
            x->_end[pos + i] = data[i];
        }
        break;
    case RD_FCGI_PARAMS:
        x->params_bytes += n;
        for (i = 0; i < n; i++) {
            nv_byte(x, data[i]);
        }
        break;
    case RD_FCGI_STDIN:
        x->stdin_bytes += n;
        break;
    case RD_FCGI_STDOUT:
        on_stdout(p, x, data, n);
        break;
    case RD_FCGI_STDERR:
        on_stderr(x, data, n);
        break;
    default:
        break;
    }
}


/* The capture missed n content bytes of the current record. */
static void
content_gap(struct rd_fcgi *p, struct rd_fcgi_dir *d, uint64_t n)
{
    struct rd_fcgi_exchange  *x;

    x = cur_ex(p, d);
    if (x == NULL) {
        return;
    }
    finding(x, RD_FCGI_UNKNOWN_GAP);
    if (d == &p->dir[RD_FCGI_SERVER]) {
        x->resp_wire_bytes += n;
    }
    switch (d->_type) {
    case RD_FCGI_PARAMS:
        x->params_bytes += n;
        x->flags |= RD_FCGI_F_PARAMS_LOST;
        x->_nv_state = NV_LOST;
        break;
    case RD_FCGI_STDIN:
        x->stdin_bytes += n;
        break;
    case RD_FCGI_STDOUT:
        x->stdout_bytes += n;
        if (x->_h_state == H_DONE) {
            x->body_bytes += n;
            x->gap_bytes += n;
        } else if (x->_h_state != H_OVERFLOW) {
            x->flags |= RD_FCGI_F_HDR_LOST;
            x->_h_state = H_LOST;
        }
        break;
    case RD_FCGI_STDERR:
        x->stderr_bytes += n;
        x->flags |= RD_FCGI_F_STDERR_TRUNC;
        break;
    default:
        break;
    }
}


static void
begin_done(struct rd_fcgi *p, struct rd_fcgi_dir *d,
    struct rd_fcgi_exchange *x)
{
    if (d->_clen != 8) {
        rec_error(p, d, x, RD_FCGI_E_LENGTH,
                  "BEGIN_REQUEST content is not 8 bytes");
    }
    x->role = (uint16_t) (d->_clen >= 2
                          ? (unsigned) x->_end[0] << 8 | x->_end[1] : 0);
    x->begin_flags = d->_clen >= 3 ? x->_end[2] : 0;
    if (x->begin_flags & RD_FCGI_KEEP_CONN) {
        x->flags |= RD_FCGI_F_KEEP_CONN;
    }
}


static void
end_done(struct rd_fcgi *p, struct rd_fcgi_dir *d, struct rd_fcgi_exchange *x)
{
    if (d->_clen != 8) {
        rec_error(p, d, x, RD_FCGI_E_LENGTH,
                  "END_REQUEST content is not 8 bytes");
    }
    if (d->_clen >= 4) {
        x->app_status = (uint32_t) x->_end[0] << 24
                        | (uint32_t) x->_end[1] << 16
                        | (uint32_t) x->_end[2] << 8 | x->_end[3];
    }
    x->protocol_status = d->_clen >= 5 ? x->_end[4] : 0;
    x->flags |= RD_FCGI_F_END_REQUEST;

    if (!(x->flags & RD_FCGI_F_HEADERS_DONE)) {
        /* nginx: "upstream prematurely closed FastCGI stdout" */
        x->flags |= RD_FCGI_F_EARLY_END;
        finding(x, RD_FCGI_TRUNCATED);
    } else if (x->content_length >= 0
               && x->body_bytes < (uint64_t) x->content_length)
    {
        /* nginx: "upstream prematurely closed FastCGI request" */
        x->flags |= RD_FCGI_F_SHORT_BODY;
        finding(x, RD_FCGI_TRUNCATED);
    } else {
        finding(x, RD_FCGI_COMPLETE);
    }
    ex_end(p, x);
}


/* The current record's content is complete (or it had none). */
static void
content_done(struct rd_fcgi *p, struct rd_fcgi_dir *d)
{
    struct rd_fcgi_exchange  *x;

    x = cur_ex(p, d);
    if (x != NULL) {
        switch (d->_type) {
        case RD_FCGI_BEGIN_REQUEST:
            begin_done(p, d, x);
            break;
        case RD_FCGI_END_REQUEST:
            end_done(p, d, x);
            break;
        case RD_FCGI_PARAMS:
            if (d->_clen == 0) {
                x->flags |= RD_FCGI_F_PARAMS_DONE;
                if (x->_nv_state != NV_NLEN && x->_nv_state != NV_LOST) {
                    rec_error(p, d, x, RD_FCGI_E_PARAMS,
                              "name-value pair cut by the empty PARAMS");
                }
            }
            break;
        case RD_FCGI_STDIN:
            if (d->_clen == 0 && !(x->flags & RD_FCGI_F_REQ_DONE)) {
                x->flags |= RD_FCGI_F_REQ_DONE;
                x->ts_req_done = p->_ts;
                set_phase(x);
                emit(p, x, RD_FCGI_EV_REQUEST_DONE);
            }
            break;
        case RD_FCGI_STDOUT:
            if (d->_clen == 0) {
                x->flags |= RD_FCGI_F_STDOUT_DONE;
            }
            break;
        default:
            break;
        }
    }
    if (d->_plen > 0) {
        d->_remain = d->_plen;
        d->_state = R_PADDING;
    } else {
        d->_state = R_HDR;
    }
}


/* Record types each side may send (FastCGI 1.0 section 8). */
static bool
type_of_side(int dir, uint8_t type)
{
    switch (type) {
    case RD_FCGI_BEGIN_REQUEST:
    case RD_FCGI_ABORT_REQUEST:
    case RD_FCGI_PARAMS:
    case RD_FCGI_STDIN:
    case RD_FCGI_DATA:
    case RD_FCGI_GET_VALUES:
        return dir == RD_FCGI_CLIENT;
    default:
        return dir == RD_FCGI_SERVER;
    }
}


/* Open exchanges of the whole connection get finding f; with end_them,
 * they end. */
static void
mark_open(struct rd_fcgi *p, int f, bool end_them)
{
    int  i;

    for (i = 0; i < RD_FCGI_SLOTS; i++) {
        if (p->slot[i].open) {
            finding(&p->slot[i], f);
            if (end_them) {
                ex_end(p, &p->slot[i]);
            }
        }
    }
}


/* The 8-byte record header is complete (FastCGI 1.0 section 3.3). */
static void
record_begin(struct rd_fcgi *p, int dir)
{
    struct rd_fcgi_dir       *d;
    struct rd_fcgi_exchange  *x;

    d = &p->dir[dir];
    d->records++;
    d->_idx = 0;
    d->_type = d->_hdr[1];
    d->_id = (uint16_t) ((unsigned) d->_hdr[2] << 8 | d->_hdr[3]);
    d->_clen = (uint16_t) ((unsigned) d->_hdr[4] << 8 | d->_hdr[5]);
    d->_plen = d->_hdr[6];
    d->_remain = d->_clen;
    d->_slot = -1;
    x = NULL;

    if (d->_hdr[0] != RD_FCGI_VERSION_1) {
        /* nginx: "upstream sent unsupported FastCGI protocol version";
         * nothing after this header can be trusted */
        d->_state = R_DEAD;
        if (d->err == RD_FCGI_E_NONE) {
            d->err = RD_FCGI_E_VERSION;
            d->reason = "unsupported FastCGI protocol version";
        }
        mark_open(p, RD_FCGI_INVALID_RECORD, dir == RD_FCGI_SERVER);
        emit(p, NULL, RD_FCGI_EV_ERROR);
        return;
    }

    /*
     * Which exchange the record belongs to.  nginx uses requestId 1 on
     * every connection (ngx_http_fastcgi_create_request), so exchanges
     * are told apart by order, the id only pairs the two directions.
     */
    if (d->_id == 0) {
        p->mgmt_records++;
    } else if (d->_type == 0 || d->_type > RD_FCGI_UNKNOWN_TYPE) {
        /* nginx: "upstream sent invalid FastCGI record type" */
        rec_error(p, d, find_open(p, d->_id), RD_FCGI_E_TYPE,
                  "invalid FastCGI record type");
    } else if (!type_of_side(dir, d->_type)) {
        /* nginx: "upstream sent unexpected FastCGI record" */
        rec_error(p, d, find_open(p, d->_id), RD_FCGI_E_UNEXPECTED,
                  "FastCGI record type of the other side");
    } else if (d->_type == RD_FCGI_BEGIN_REQUEST) {
        x = find_open(p, d->_id);
        if (x != NULL) {
            /* a second BEGIN for an open requestId */
            rec_error(p, d, x, RD_FCGI_E_UNEXPECTED,
                      "BEGIN_REQUEST for an open requestId");
            ex_end(p, x);
        }
        x = ex_new(p, d->_id, false);
    } else if (dir == RD_FCGI_CLIENT) {
        x = find_open(p, d->_id);
        if (x != NULL && d->_type == RD_FCGI_ABORT_REQUEST) {
            x->flags |= RD_FCGI_F_ABORTED;
        }
    } else {
        x = find_open(p, d->_id);
        if (x == NULL) {
            /* the capture began after the request */
            x = ex_new(p, d->_id, true);
        }
        if (x != NULL) {
            if (x->ts_resp == 0) {
                x->ts_resp = p->_ts;
            }
            x->resp_wire_bytes += RD_FCGI_HEADER_LEN;
            if (d->_type == RD_FCGI_END_REQUEST) {
                memset(x->_end, 0, sizeof(x->_end));
            }
        }
    }

    if (x != NULL) {
        d->_slot = (int8_t) (x - p->slot);
    } else if (d->_id != 0) {
        p->dropped_records++;
    }

    if (d->_clen == 0) {
        content_done(p, d);
    } else {
        d->_state = R_CONTENT;
    }
}


/* The framing of direction dir is unknown from here on. */
static void
lose_sync(struct rd_fcgi *p, int dir, uint64_t n)
{
    struct rd_fcgi_dir  *d;

    d = &p->dir[dir];
    d->_state = R_LOST;
    d->ignored_bytes += n;
    d->offset += n;
    /* the server side's loss means no END_REQUEST can be seen; the
     * client side's still lets the response complete */
    mark_open(p, RD_FCGI_UNKNOWN_GAP, dir == RD_FCGI_SERVER);
}


/* --- the interface ----------------------------------------------------- */

void
rd_fcgi_init(struct rd_fcgi *p, uint32_t max_header_bytes, rd_fcgi_cb on_ex,
    void *ctx)
{
    memset(p, 0, sizeof(*p));
    p->on_ex = on_ex;
    p->ctx = ctx;
    p->max_header_bytes = max_header_bytes != 0 ? max_header_bytes
                                                : RD_FCGI_MAX_HEADER_BYTES;
    p->dir[0]._slot = -1;
    p->dir[1]._slot = -1;
}


int
rd_fcgi_feed(struct rd_fcgi *p, int dir, const uint8_t *data, size_t len,
    rd_usec_t ts)
{
    struct rd_fcgi_dir  *d;
    size_t               i, n;
    uint32_t             pos;

    if (dir != RD_FCGI_CLIENT && dir != RD_FCGI_SERVER) {
        return -RD_EINVAL;
    }
    d = &p->dir[dir];
    if (d->_finished) {
        return -RD_EINVAL;
    }
    if (p->max_header_bytes == 0) {
        /* zero-filled, not initialised */
        p->max_header_bytes = RD_FCGI_MAX_HEADER_BYTES;
        p->dir[0]._slot = -1;
        p->dir[1]._slot = -1;
    }
    p->_ts = ts;

    /*
     * Record headers go byte by byte into _hdr (a header may be split
     * anywhere); content and padding go in runs bounded by _remain, so a
     * STDOUT body is counted, not walked, once its header block ended.
     */
    i = 0;
    while (i < len) {
        switch (d->_state) {
        case R_HDR:
            d->_hdr[d->_idx++] = data[i];
            d->offset++;
            i++;
            if (d->_idx == RD_FCGI_HEADER_LEN) {
                record_begin(p, dir);
            }
            continue;
        case R_CONTENT:
            n = RD_MIN(len - i, (size_t) d->_remain);
            pos = d->_clen - d->_remain;
            content(p, d, data + i, n, pos);
            d->_remain -= (uint32_t) n;
            if (d->_remain == 0) {
                content_done(p, d);
            }
            break;
        case R_PADDING:
            n = RD_MIN(len - i, (size_t) d->_remain);
            if (dir == RD_FCGI_SERVER && cur_ex(p, d) != NULL) {
                cur_ex(p, d)->resp_wire_bytes += n;
            }
            d->_remain -= (uint32_t) n;
            if (d->_remain == 0) {
                d->_state = R_HDR;
            }
            break;
        default:                    /* R_DEAD, R_LOST */
            n = len - i;
            d->ignored_bytes += n;
            break;
        }
        d->offset += n;
        i += n;
    }
    return d->_state == R_DEAD ? -RD_EPROTO : RD_OK;
}


void
rd_fcgi_gap(struct rd_fcgi *p, int dir, uint64_t nbytes)
{
    struct rd_fcgi_dir  *d;
    uint64_t             n;

    if ((dir != RD_FCGI_CLIENT && dir != RD_FCGI_SERVER) || nbytes == 0) {
        return;
    }
    d = &p->dir[dir];
    if (d->_finished) {
        return;
    }
    /*
     * A gap inside content or padding keeps the framing (the record
     * length is known) and may run on into the next record header, which
     * loses it.
     */
    while (nbytes > 0) {
        switch (d->_state) {
        case R_CONTENT:
            n = RD_MIN(nbytes, (uint64_t) d->_remain);
            content_gap(p, d, n);
            d->_remain -= (uint32_t) n;
            if (d->_remain == 0) {
                content_done(p, d);
            }
            break;
        case R_PADDING:
            n = RD_MIN(nbytes, (uint64_t) d->_remain);
            if (dir == RD_FCGI_SERVER && cur_ex(p, d) != NULL) {
                cur_ex(p, d)->resp_wire_bytes += n;
            }
            d->_remain -= (uint32_t) n;
            if (d->_remain == 0) {
                d->_state = R_HDR;
            }
            break;
        case R_HDR:
            lose_sync(p, dir, nbytes);
            return;
        default:
            d->ignored_bytes += nbytes;
            d->offset += nbytes;
            return;
        }
        d->offset += n;
        nbytes -= n;
    }
}


int
rd_fcgi_finish(struct rd_fcgi *p, int dir, int how)
{
    struct rd_fcgi_dir       *d;
    struct rd_fcgi_exchange  *x;
    int                       rc, i;

    if ((dir != RD_FCGI_CLIENT && dir != RD_FCGI_SERVER)
        || (how != RD_FCGI_EOF_FIN && how != RD_FCGI_EOF_RST
            && how != RD_FCGI_EOF_CAPTURE_END))
    {
        return -RD_EINVAL;
    }
    d = &p->dir[dir];
    if (d->_finished) {
        return -RD_EINVAL;
    }
    d->_finished = true;

    rc = RD_FCGI_SAFE;
    if (d->_state == R_DEAD || d->_state == R_LOST || d->_state == R_CONTENT
        || d->_state == R_PADDING || (d->_state == R_HDR && d->_idx > 0))
    {
        rc = RD_FCGI_UNSAFE;    /* a stop, a loss or a record cut */
    }
    for (i = 0; i < RD_FCGI_SLOTS; i++) {
        x = &p->slot[i];
        if (!x->open) {
            continue;
        }
        if (dir == RD_FCGI_SERVER || how == RD_FCGI_EOF_CAPTURE_END) {
            finding(x, how == RD_FCGI_EOF_CAPTURE_END ? RD_FCGI_INCOMPLETE
                                                      : RD_FCGI_TRUNCATED);
            ex_end(p, x);
            rc = RD_FCGI_UNSAFE;
        } else if (!(x->flags & RD_FCGI_F_REQ_DONE)) {
            x->flags |= RD_FCGI_F_REQ_TRUNC;
            rc = RD_FCGI_UNSAFE;
        }
    }
    d->_state = R_DONE;
    return rc;
}


enum rd_fcgi_phase
rd_fcgi_phase(const struct rd_fcgi *p)
{
    const struct rd_fcgi_exchange  *best;
    int                             i;

    best = NULL;
    for (i = 0; i < RD_FCGI_SLOTS; i++) {
        if (p->slot[i].open
            && (best == NULL || p->slot[i].seq < best->seq))
        {
            best = &p->slot[i];
        }
    }
    if (best != NULL) {
        return (enum rd_fcgi_phase) best->phase;
    }
    if (p->nexchanges == 0) {
        return RD_FCGI_PH_NONE;
    }
    return (enum rd_fcgi_phase) p->_last_phase;
}


bool
rd_fcgi_sniff(const uint8_t *p, size_t len)
{
    unsigned  id, clen, role;

    if (p == NULL || len < 10) {
        return false;
    }
    id = (unsigned) p[2] << 8 | p[3];
    clen = (unsigned) p[4] << 8 | p[5];
    role = (unsigned) p[8] << 8 | p[9];
    return p[0] == RD_FCGI_VERSION_1 && p[1] == RD_FCGI_BEGIN_REQUEST
           && id != 0 && clen == 8
           && role >= RD_FCGI_RESPONDER && role <= RD_FCGI_FILTER;
}
