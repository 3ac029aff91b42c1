/*
 * Unit tests of the FastCGI record parser (src/fcgi.c).  Byte streams are
 * built record by record with a small helper (a "script" of feed, gap
 * and finish steps per direction); every script is parsed whole, byte by
 * byte and in random splits, and the event logs must be identical
 * (picohttpparser's test_chunked_per_byte idea).
 */
#include <setjmp.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rstdiag/fcgi.h"

#define C   RD_FCGI_CLIENT
#define S   RD_FCGI_SERVER

enum {
    ST_FEED = 0,
    ST_GAP,
    ST_FINISH
};

struct step {
    int         kind;
    int         dir;
    size_t      off;        /* ST_FEED: range in data */
    size_t      len;
    uint64_t    gap;        /* ST_GAP */
    int         how;        /* ST_FINISH */
};

struct script {
    uint8_t     data[200000];
    size_t      len;
    struct step st[64];
    int         n;
};

#define MAX_ENDS  8

struct log {
    char        s[16384];
    size_t      len;
    struct rd_fcgi_exchange  ends[MAX_ENDS];
    int         nend;
    int         headers;
    int         req_done;
    int         errors;
};

static struct script  scr;      /* large: keep off the stack */


/* --- building streams --------------------------------------------------- */

static void
s_reset(void)
{
    memset(&scr, 0, sizeof(scr));
}


static void
s_bytes(int dir, const void *p, size_t len)
{
    struct step  *last;

    assert_true(scr.len + len <= sizeof(scr.data));
    memcpy(scr.data + scr.len, p, len);
    last = scr.n > 0 ? &scr.st[scr.n - 1] : NULL;
    if (last != NULL && last->kind == ST_FEED && last->dir == dir
        && last->off + last->len == scr.len)
    {
        last->len += len;
    } else {
        assert_true(scr.n < 64);
        scr.st[scr.n].kind = ST_FEED;
        scr.st[scr.n].dir = dir;
        scr.st[scr.n].off = scr.len;
        scr.st[scr.n].len = len;
        scr.n++;
    }
    scr.len += len;
}


/* One record: header, content, plen padding bytes. */
static void
s_rec_v(int dir, int version, int type, int id, const void *content,
    size_t clen, int plen)
{
    uint8_t  h[8], pad[255];

    h[0] = (uint8_t) version;
    h[1] = (uint8_t) type;
    h[2] = (uint8_t) (id >> 8);
    h[3] = (uint8_t) id;
    h[4] = (uint8_t) (clen >> 8);
    h[5] = (uint8_t) clen;
    h[6] = (uint8_t) plen;
    h[7] = 0;
    s_bytes(dir, h, 8);
    if (clen > 0) {
        s_bytes(dir, content, clen);
    }
    memset(pad, 0xee, sizeof(pad));
    if (plen > 0) {
        s_bytes(dir, pad, (size_t) plen);
    }
}


/* A version-1 record padded to a multiple of 8 as nginx and php do. */
static void
s_rec(int dir, int type, int id, const void *content, size_t clen)
{
    s_rec_v(dir, 1, type, id, content, clen, (int) ((8 - clen % 8) % 8));
}


static void
s_gap(int dir, uint64_t n)
{
    scr.st[scr.n].kind = ST_GAP;
    scr.st[scr.n].dir = dir;
    scr.st[scr.n].gap = n;
    scr.n++;
}


/* The capture misses n bytes at absolute data offset off: split the
 * feed step holding them into feed, gap, feed. */
static void
s_hole(size_t off, size_t n)
{
    int           i;
    struct step   a = { 0, 0, 0, 0, 0, 0 };

    for (i = 0; i < scr.n; i++) {
        a = scr.st[i];
        if (a.kind == ST_FEED && off >= a.off && off + n <= a.off + a.len) {
            break;
        }
    }
    assert_true(i < scr.n && scr.n + 2 <= 64);
    memmove(&scr.st[i + 3], &scr.st[i + 1],
            (size_t) (scr.n - i - 1) * sizeof(struct step));
    scr.st[i].len = off - a.off;
    scr.st[i + 1].kind = ST_GAP;
    scr.st[i + 1].dir = a.dir;
    scr.st[i + 1].gap = n;
    scr.st[i + 2] = a;
    scr.st[i + 2].off = off + n;
    scr.st[i + 2].len = a.off + a.len - off - n;
    scr.n += 2;
}


static void
s_finish(int dir, int how)
{
    scr.st[scr.n].kind = ST_FINISH;
    scr.st[scr.n].dir = dir;
    scr.st[scr.n].how = how;
    scr.n++;
}


static size_t
nv(uint8_t *b, size_t len, const char *name, const char *value)
{
    size_t  nl, vl, i;
    size_t  ls[2];

    nl = strlen(name);
    vl = strlen(value);
    ls[0] = nl;
    ls[1] = vl;
    for (i = 0; i < 2; i++) {
        if (ls[i] < 128) {
            b[len++] = (uint8_t) ls[i];
        } else {
            b[len++] = (uint8_t) (0x80 | ls[i] >> 24);
            b[len++] = (uint8_t) (ls[i] >> 16);
            b[len++] = (uint8_t) (ls[i] >> 8);
            b[len++] = (uint8_t) ls[i];
        }
    }
    memcpy(b + len, name, nl);
    memcpy(b + len + nl, value, vl);
    return len + nl + vl;
}


/* nginx's request: BEGIN, one PARAMS record, empty PARAMS, STDIN body
 * (if any), empty STDIN. */
static void
s_request(int id, bool keep_conn, const char *method, const char *uri,
    const char *body)
{
    uint8_t  begin[8] = { 0, RD_FCGI_RESPONDER, 0, 0, 0, 0, 0, 0 };
    uint8_t  params[4096];
    size_t   n;
    char     cl[24];

    begin[2] = keep_conn ? RD_FCGI_KEEP_CONN : 0;
    s_rec_v(C, 1, RD_FCGI_BEGIN_REQUEST, id, begin, 8, 0);
    snprintf(cl, sizeof(cl), "%zu", body != NULL ? strlen(body) : 0);
    n = 0;
    n = nv(params, n, "SCRIPT_FILENAME", "/srv/www/index.php");
    n = nv(params, n, "QUERY_STRING", "");
    n = nv(params, n, "REQUEST_METHOD", method);
    n = nv(params, n, "CONTENT_TYPE", "");
    n = nv(params, n, "CONTENT_LENGTH", body != NULL ? cl : "");
    n = nv(params, n, "SCRIPT_NAME", "/index.php");
    n = nv(params, n, "REQUEST_URI", uri);
    n = nv(params, n, "SERVER_PROTOCOL", "HTTP/1.1");
    s_rec(C, RD_FCGI_PARAMS, id, params, n);
    s_rec(C, RD_FCGI_PARAMS, id, NULL, 0);
    if (body != NULL && body[0] != '\0') {
        s_rec(C, RD_FCGI_STDIN, id, body, strlen(body));
    }
    s_rec(C, RD_FCGI_STDIN, id, NULL, 0);
}


static void
s_stdout(int id, const char *text)
{
    s_rec(S, RD_FCGI_STDOUT, id, text, strlen(text));
}


static void
s_end(int id, uint32_t app, uint8_t proto)
{
    uint8_t  c[8] = { 0 };

    c[0] = (uint8_t) (app >> 24);
    c[1] = (uint8_t) (app >> 16);
    c[2] = (uint8_t) (app >> 8);
    c[3] = (uint8_t) app;
    c[4] = proto;
    s_rec(S, RD_FCGI_STDOUT, id, NULL, 0);
    s_rec_v(S, 1, RD_FCGI_END_REQUEST, id, c, 8, 0);
}


/* --- running -------------------------------------------------------------- */

static void
lprintf(struct log *lg, const char *fmt, ...)
{
    va_list  ap;
    int      n;

    va_start(ap, fmt);
    n = vsnprintf(lg->s + lg->len, sizeof(lg->s) - lg->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t) n < sizeof(lg->s) - lg->len);
    lg->len += (size_t) n;
}


static void
on_ex(void *ctx, const struct rd_fcgi *p, const struct rd_fcgi_exchange *x,
    int ev)
{
    struct log  *lg = ctx;

    lprintf(lg, "%s", rd_tok2str(rd_fcgi_event_names, ev, "?"));
    if (x == NULL) {
        lprintf(lg, " err=%d,%d\n", p->dir[0].err, p->dir[1].err);
        lg->errors++;
        return;
    }
    lprintf(lg, " id=%u seq=%u phase=%d", x->id, x->seq, x->phase);
    switch (ev) {
    case RD_FCGI_EV_HEADERS:
        lg->headers++;
        lprintf(lg, " status=%u cl=%lld hb=%llu", x->status,
                (long long) x->content_length,
                (unsigned long long) x->header_bytes);
        break;
    case RD_FCGI_EV_REQUEST_DONE:
        lg->req_done++;
        lprintf(lg, " method=%.*s target=%.*s stdin=%llu", x->method_len,
                (const char *) x->method, x->target_len,
                (const char *) x->target,
                (unsigned long long) x->stdin_bytes);
        break;
    case RD_FCGI_EV_END:
        lprintf(lg, " primary=%s f=%x flags=%x status=%u body=%llu "
                "gap=%llu hb=%llu out=%llu wire=%llu app=%u ps=%u "
                "stderr=%.*s", rd_tok2str(rd_fcgi_finding_names,
                                          x->primary, "?"),
                x->findings, x->flags, x->status,
                (unsigned long long) x->body_bytes,
                (unsigned long long) x->gap_bytes,
                (unsigned long long) x->header_bytes,
                (unsigned long long) x->stdout_bytes,
                (unsigned long long) x->resp_wire_bytes, x->app_status,
                x->protocol_status, x->stderr_len,
                (const char *) x->stderr_text);
        if (lg->nend < MAX_ENDS) {
            lg->ends[lg->nend++] = *x;
        }
        break;
    case RD_FCGI_EV_ERROR:
        lg->errors++;
        lprintf(lg, " err=%d,%d", p->dir[0].err, p->dir[1].err);
        break;
    default:
        break;
    }
    lprintf(lg, "\n");
}


static unsigned  rnd_state;

static size_t
rnd(size_t n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (size_t) ((rnd_state >> 8) % n);
}


/*
 * Run the script with feeds split by mode (0 whole, 1 per byte, 2 random
 * with seed).  Return codes, finish results and phases go in the log.
 */
static void
run(int mode, unsigned seed, uint32_t cap, struct rd_fcgi *p, struct log *lg)
{
    const struct step  *st;
    size_t              off, n, end;
    int                 i, rc, last_rc[2] = { RD_OK, RD_OK };

    memset(lg, 0, sizeof(*lg));
    rd_fcgi_init(p, cap, on_ex, lg);
    rnd_state = seed;
    for (i = 0; i < scr.n; i++) {
        st = &scr.st[i];
        switch (st->kind) {
        case ST_FEED:
            off = st->off;
            end = st->off + st->len;
            while (off < end) {
                n = end - off;
                if (mode == 1) {
                    n = 1;
                } else if (mode == 2) {
                    n = 1 + rnd(RD_MIN(n, (size_t) 40));
                }
                rc = rd_fcgi_feed(p, st->dir, scr.data + off, n,
                                  (rd_usec_t) i);
                if (rc != last_rc[st->dir]) {
                    /* once per change: splits make more calls */
                    lprintf(lg, "rc=%d\n", rc);
                    last_rc[st->dir] = rc;
                }
                off += n;
            }
            break;
        case ST_GAP:
            rd_fcgi_gap(p, st->dir, st->gap);
            break;
        default:
            lprintf(lg, "finish %d -> %d\n", st->dir,
                    rd_fcgi_finish(p, st->dir, st->how));
            break;
        }
    }
    lprintf(lg, "phase=%s off=%llu,%llu ign=%llu,%llu\n",
            rd_tok2str(rd_fcgi_phase_names, rd_fcgi_phase(p), "?"),
            (unsigned long long) p->dir[0].offset,
            (unsigned long long) p->dir[1].offset,
            (unsigned long long) p->dir[0].ignored_bytes,
            (unsigned long long) p->dir[1].ignored_bytes);
}


static struct rd_fcgi  P;
static struct log      L;

/* Parse the script whole (result in P, L), then byte by byte and in 30
 * random splits: every log must equal the whole one. */
static void
run_all(uint32_t cap)
{
    static struct rd_fcgi  q;
    static struct log      m;
    unsigned               seed;

    run(1, 0, cap, &q, &m);
    run(0, 0, cap, &P, &L);
    assert_string_equal(L.s, m.s);
    for (seed = 1; seed <= 30; seed++) {
        run(2, seed, cap, &q, &m);
        assert_string_equal(L.s, m.s);
    }
}


static bool
eq(const uint8_t *b, size_t len, const char *s)
{
    return len == strlen(s) && memcmp(b, s, len) == 0;
}


/* --- tests ---------------------------------------------------------------- */

/* A whole nginx -> php-fpm exchange: the kept params, Status, body bytes,
 * END_REQUEST fields, phases, and after it php-fpm's FIN is safe. */
static void
test_fcgi_exchange_complete_every_split(void **state)
{
    const struct rd_fcgi_exchange  *x;

    (void) state;
    s_reset();
    s_request(1, false, "POST", "/form.php?a=1", "name=value");
    s_stdout(1, "Status: 404 Not Found\r\nContent-type: text/html\r\n"
                "Content-Length: 5\r\n\r\nhello");
    s_end(1, 0, RD_FCGI_REQUEST_COMPLETE);
    s_finish(S, RD_FCGI_EOF_FIN);
    s_finish(C, RD_FCGI_EOF_FIN);
    run_all(0);

    assert_int_equal(L.nend, 1);
    x = &L.ends[0];
    assert_int_equal(x->primary, RD_FCGI_COMPLETE);
    assert_int_equal(x->findings, 1u << RD_FCGI_COMPLETE);
    assert_true(eq(x->method, x->method_len, "POST"));
    assert_true(eq(x->target, x->target_len, "/form.php?a=1"));
    assert_true(eq(x->proto, x->proto_len, "HTTP/1.1"));
    assert_int_equal(x->req_content_length, 10);
    assert_int_equal(x->stdin_bytes, 10);
    assert_int_equal(x->status, 404);
    assert_int_equal(x->content_length, 5);
    assert_int_equal(x->body_bytes, 5);
    assert_int_equal(x->header_bytes, strlen("Status: 404 Not Found\r\n"
        "Content-type: text/html\r\nContent-Length: 5\r\n\r\n"));
    assert_int_equal(x->role, RD_FCGI_RESPONDER);
    assert_false(x->flags & RD_FCGI_F_KEEP_CONN);
    assert_true(x->flags & RD_FCGI_F_END_REQUEST);
    assert_true(x->flags & RD_FCGI_F_STDOUT_DONE);
    assert_false(x->flags & RD_FCGI_F_TARGET_SCRIPT);
    assert_int_equal(L.headers, 1);
    assert_int_equal(L.req_done, 1);
    assert_int_equal(L.errors, 0);
    assert_int_equal(P.ncomplete, 1);
    assert_int_equal(rd_fcgi_phase(&P), RD_FCGI_PH_AFTER_COMPLETE_RESPONSE);
    assert_non_null(strstr(L.s, "finish 1 -> 1\n"));
    assert_int_equal(P.dir[S].offset + P.dir[C].offset, scr.len);
}


/* Padding after every record (up to 255 bytes, after empty records and
 * END_REQUEST too), on both sides, changes nothing but the offsets. */
static void
test_fcgi_padding_on_every_record(void **state)
{
    uint8_t   begin[8] = { 0, RD_FCGI_RESPONDER, 0, 0, 0, 0, 0, 0 };
    uint8_t   params[256], end[8] = { 0, 0, 0, 7, 0, 0, 0, 0 };
    size_t    n;
    const char *hdr = "Content-Type: text/plain\r\n\r\nbody";

    (void) state;
    s_reset();
    n = nv(params, 0, "REQUEST_METHOD", "GET");
    s_rec_v(C, 1, RD_FCGI_BEGIN_REQUEST, 1, begin, 8, 255);
    s_rec_v(C, 1, RD_FCGI_PARAMS, 1, params, n, 3);
    s_rec_v(C, 1, RD_FCGI_PARAMS, 1, NULL, 0, 7);
    s_rec_v(C, 1, RD_FCGI_STDIN, 1, NULL, 0, 1);
    s_rec_v(S, 1, RD_FCGI_STDOUT, 1, hdr, strlen(hdr), 200);
    s_rec_v(S, 1, RD_FCGI_STDOUT, 1, NULL, 0, 9);
    s_rec_v(S, 1, RD_FCGI_END_REQUEST, 1, end, 8, 16);
    s_finish(S, RD_FCGI_EOF_FIN);
    run_all(0);

    assert_int_equal(L.nend, 1);
    assert_int_equal(L.ends[0].primary, RD_FCGI_COMPLETE);
    assert_int_equal(L.ends[0].status, 200);
    assert_int_equal(L.ends[0].body_bytes, 4);
    assert_int_equal(L.ends[0].app_status, 7);
    assert_true(eq(L.ends[0].method, L.ends[0].method_len, "GET"));
    assert_int_equal(L.ends[0].resp_wire_bytes,
                     8 + strlen(hdr) + 200 + 8 + 9 + 8 + 8);
    assert_int_equal(P.dir[C].offset + P.dir[S].offset, scr.len);
    assert_int_equal(L.errors, 0);
}


/* REMOTE_ADDR and REMOTE_PORT name the client nginx serves; values that
 * are no address or port are ignored. */
static void
remote_case(const char *addr, const char *port, uint8_t af,
    const char *want_addr, uint16_t want_port)
{
    uint8_t   begin[8] = { 0, RD_FCGI_RESPONDER, 0, 0, 0, 0, 0, 0 };
    uint8_t   params[512], want[16], end[8] = { 0 };
    size_t    n;
    const char *hdr = "Content-Type: text/plain\r\n\r\nok";

    s_reset();
    n = nv(params, 0, "REQUEST_METHOD", "GET");
    n = nv(params, n, "REMOTE_ADDR", addr);
    n = nv(params, n, "REMOTE_PORT", port);
    s_rec_v(C, 1, RD_FCGI_BEGIN_REQUEST, 1, begin, 8, 0);
    s_rec(C, RD_FCGI_PARAMS, 1, params, n);
    s_rec(C, RD_FCGI_PARAMS, 1, NULL, 0);
    s_rec(C, RD_FCGI_STDIN, 1, NULL, 0);
    s_rec(S, RD_FCGI_STDOUT, 1, hdr, strlen(hdr));
    s_rec(S, RD_FCGI_STDOUT, 1, NULL, 0);
    s_rec(S, RD_FCGI_END_REQUEST, 1, end, 8);
    s_finish(S, RD_FCGI_EOF_FIN);
    run_all(0);
    assert_int_equal(L.nend, 1);
    assert_int_equal(L.ends[0].remote_af, af);
    if (af != 0) {
        memset(want, 0, sizeof(want));
        assert_int_equal(inet_pton(af == 4 ? AF_INET : AF_INET6, want_addr,
                                   want), 1);
        assert_memory_equal(L.ends[0].remote_addr, want, 16);
    }
    assert_int_equal(L.ends[0].remote_port, want_port);
}


static void
test_fcgi_remote_addr_port(void **state)
{
    (void) state;
    remote_case("127.0.0.10", "54694", 4, "127.0.0.10", 54694);
    remote_case("::1", "1", 6, "::1", 1);
    remote_case("not-an-address", "80", 0, NULL, 80);
    remote_case("127.0.0.1", "65536", 4, "127.0.0.1", 0);
    remote_case("127.0.0.1", "8x", 4, "127.0.0.1", 0);
    remote_case("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc",
                "", 0, NULL, 0);
}


/* The CGI header block and a PARAMS value split across records (a
 * 4-byte name-value length, a "Status" name cut in two); Location
 * without Status gives 302. */
static void
test_fcgi_split_across_records(void **state)
{
    uint8_t     begin[8] = { 0, RD_FCGI_RESPONDER, 1, 0, 0, 0, 0, 0 };
    uint8_t     params[1024];
    char        longuri[301];
    size_t      n;

    (void) state;
    s_reset();
    memset(longuri, 'u', 300);
    longuri[0] = '/';
    longuri[300] = '\0';
    n = nv(params, 0, "SCRIPT_NAME", "/x.php");
    n = nv(params, n, "REQUEST_URI", longuri);
    n = nv(params, n, "REQUEST_METHOD", "GET");
    s_rec_v(C, 1, RD_FCGI_BEGIN_REQUEST, 9, begin, 8, 0);
    /* the REQUEST_URI pair's lengths and value cut across 3 records */
    s_rec(C, RD_FCGI_PARAMS, 9, params, 20);
    s_rec(C, RD_FCGI_PARAMS, 9, params + 20, 100);
    s_rec(C, RD_FCGI_PARAMS, 9, params + 120, n - 120);
    s_rec(C, RD_FCGI_PARAMS, 9, NULL, 0);
    s_rec(C, RD_FCGI_STDIN, 9, NULL, 0);
    s_stdout(9, "X-Powered-By: PHP/8.2\r\nSta");
    s_stdout(9, "tus");
    s_stdout(9, ": 201 Created\r\nLocation: /new\r");
    s_stdout(9, "\n\r");
    s_stdout(9, "\nabc");
    s_end(9, 0, 0);
    s_finish(S, RD_FCGI_EOF_FIN);
    run_all(0);

    assert_int_equal(L.nend, 1);
    assert_int_equal(L.ends[0].id, 9);
    assert_int_equal(L.ends[0].status, 201);
    assert_true(eq(L.ends[0].location, L.ends[0].location_len, "/new"));
    assert_int_equal(L.ends[0].body_bytes, 3);
    assert_int_equal(L.ends[0].target_len, RD_FCGI_TARGET_LEN);
    assert_memory_equal(L.ends[0].target, longuri, RD_FCGI_TARGET_LEN);
    assert_true(L.ends[0].flags & RD_FCGI_F_TARGET_TRUNC);
    assert_true(L.ends[0].flags & RD_FCGI_F_KEEP_CONN);
    assert_true(eq(L.ends[0].method, L.ends[0].method_len, "GET"));

    /* Location alone: 302, as nginx sets it */
    s_reset();
    s_request(1, false, "GET", "/r", NULL);
    s_stdout(1, "Location: http://x/\r\n\r\n");
    s_end(1, 0, 0);
    run_all(0);
    assert_int_equal(L.ends[0].status, 302);

    /* only SCRIPT_NAME: it is the target, flagged */
    s_reset();
    n = nv(params, 0, "SCRIPT_NAME", "/only.php");
    s_rec_v(C, 1, RD_FCGI_BEGIN_REQUEST, 1, begin, 8, 0);
    s_rec(C, RD_FCGI_PARAMS, 1, params, n);
    s_rec(C, RD_FCGI_PARAMS, 1, NULL, 0);
    s_rec(C, RD_FCGI_STDIN, 1, NULL, 0);
    s_finish(C, RD_FCGI_EOF_CAPTURE_END);
    run_all(0);
    assert_true(eq(L.ends[0].target, L.ends[0].target_len, "/only.php"));
    assert_true(L.ends[0].flags & RD_FCGI_F_TARGET_SCRIPT);
    assert_int_equal(L.ends[0].primary, RD_FCGI_INCOMPLETE);
}


/* A STDOUT record longer than what the capture kept (snaplen): the gap
 * lies inside the record's known content, so the body is counted,
 * END_REQUEST is still found: unknown_gap, not truncated. */
static void
test_fcgi_gap_inside_stdout_content(void **state)
{
    static char  big[30000];
    size_t       hole;

    (void) state;
    s_reset();
    memcpy(big, "Content-Length: 29974\r\n\r\n", 25);
    memset(big + 25, 'b', sizeof(big) - 25 - 1);
    big[sizeof(big) - 1] = '\0';
    s_request(1, false, "GET", "/big", NULL);
    hole = scr.len + 8 + 1000;      /* 1000 bytes into the content */
    s_stdout(1, big);
    s_end(1, 0, 0);
    s_hole(hole, 20000);
    s_finish(S, RD_FCGI_EOF_FIN);
    run_all(0);

    assert_int_equal(L.nend, 1);
    assert_int_equal(L.ends[0].primary, RD_FCGI_UNKNOWN_GAP);
    assert_true(L.ends[0].findings & (1u << RD_FCGI_COMPLETE));
    assert_false(L.ends[0].findings & (1u << RD_FCGI_TRUNCATED));
    assert_int_equal(L.ends[0].body_bytes, 29974);
    assert_int_equal(L.ends[0].gap_bytes, 20000);
    assert_int_equal(L.ends[0].content_length, 29974);
    assert_false(L.ends[0].flags & RD_FCGI_F_SHORT_BODY);
    assert_int_equal(P.dir[S].ignored_bytes, 0);
    assert_int_equal(P.dir[C].offset + P.dir[S].offset, scr.len);
}


/* A gap across a record header loses the server side: the open
 * exchange ends with unknown_gap in the phase it had, later bytes are
 * ignored, finish() says unsafe. */
static void
test_fcgi_gap_on_record_header_loses_sync(void **state)
{
    size_t  hole;

    (void) state;
    s_reset();
    s_request(1, false, "GET", "/", NULL);
    s_stdout(1, "Status: 200 OK\r\n\r\nxy");
    hole = scr.len + 3;
    s_end(1, 0, 0);
    s_hole(hole, 10);
    s_finish(S, RD_FCGI_EOF_FIN);
    run_all(0);

    assert_int_equal(L.nend, 1);
    assert_int_equal(L.ends[0].primary, RD_FCGI_UNKNOWN_GAP);
    assert_int_equal(L.ends[0].phase, RD_FCGI_PH_READING_RESPONSE_BODY);
    assert_false(L.ends[0].flags & RD_FCGI_F_END_REQUEST);
    assert_int_equal(rd_fcgi_phase(&P), RD_FCGI_PH_READING_RESPONSE_BODY);
    assert_int_equal(P.dir[S].ignored_bytes, 10 + 8 + 16 - 3 - 10);
    assert_non_null(strstr(L.s, "finish 1 -> 0\n"));
}


/* An unknown record type (version 1) from php: invalid_record, err
 * "type", but lengths are known so the exchange still completes. */
static void
test_fcgi_unknown_type_keeps_framing(void **state)
{
    (void) state;
    s_reset();
    s_request(1, false, "GET", "/", NULL);
    s_rec(S, 42, 1, "zzz", 3);
    s_stdout(1, "Status: 500 Oops\r\n\r\n");
    s_end(1, 255, 0);
    s_finish(S, RD_FCGI_EOF_FIN);
    run_all(0);

    assert_int_equal(P.dir[S].err, RD_FCGI_E_TYPE);
    assert_non_null(P.dir[S].reason);
    assert_int_equal(L.nend, 1);
    assert_int_equal(L.ends[0].primary, RD_FCGI_INVALID_RECORD);
    assert_true(L.ends[0].findings & (1u << RD_FCGI_COMPLETE));
    assert_int_equal(L.ends[0].status, 500);
    assert_int_equal(L.ends[0].app_status, 255);

    /* a type of the other side: STDOUT sent by the client */
    s_reset();
    s_request(1, false, "GET", "/", NULL);
    s_rec(C, RD_FCGI_STDOUT, 1, "x", 1);
    s_finish(S, RD_FCGI_EOF_RST);
    run_all(0);
    assert_int_equal(P.dir[C].err, RD_FCGI_E_UNEXPECTED);
    assert_int_equal(L.ends[0].primary, RD_FCGI_INVALID_RECORD);
    assert_true(L.ends[0].findings & (1u << RD_FCGI_TRUNCATED));

    /* END_REQUEST with 4 content bytes */
    s_reset();
    s_request(1, false, "GET", "/", NULL);
    s_stdout(1, "\r\n");
    s_rec(S, RD_FCGI_END_REQUEST, 1, "\0\0\0\3", 4);
    run_all(0);
    assert_int_equal(P.dir[S].err, RD_FCGI_E_LENGTH);
    assert_int_equal(L.ends[0].app_status, 3);
    assert_int_equal(L.ends[0].primary, RD_FCGI_INVALID_RECORD);
}


/* An unsupported version stops the direction: feed returns -RD_EPROTO,
 * the open exchange ends invalid_record, the rest is only counted. */
static void
test_fcgi_unknown_version_stops(void **state)
{
    (void) state;
    s_reset();
    s_request(1, false, "GET", "/", NULL);
    s_rec_v(S, 2, RD_FCGI_STDOUT, 1, "Status: 200\r\n\r\n", 15, 1);
    s_end(1, 0, 0);
    s_finish(S, RD_FCGI_EOF_FIN);
    run_all(0);

    assert_int_equal(P.dir[S].err, RD_FCGI_E_VERSION);
    assert_int_equal(L.nend, 1);
    assert_int_equal(L.ends[0].primary, RD_FCGI_INVALID_RECORD);
    assert_int_equal(L.ends[0].phase, RD_FCGI_PH_AWAITING_RESPONSE_HEADER);
    assert_int_equal(P.dir[S].ignored_bytes, 16 + 8 + 16);
    assert_non_null(strstr(L.s, "rc=-3\n"));
    assert_non_null(strstr(L.s, "finish 1 -> 0\n"));
    assert_int_equal(rd_fcgi_feed(&P, S, (const uint8_t *) "x", 1, 0),
                     -RD_EINVAL);
}


/* fastcgi_keep_conn on: two requests (both requestId 1, as nginx does)
 * on one connection, then idle: two complete exchanges, phase
 * idle_keepalive (a gap while idle loses the framing, no exchange). */
static void
test_fcgi_keep_conn_two_requests(void **state)
{
    (void) state;
    s_reset();
    s_request(1, true, "GET", "/one", NULL);
    s_stdout(1, "Content-Length: 3\r\n\r\none");
    s_end(1, 0, 0);
    s_request(1, true, "HEAD", "/two", NULL);
    s_stdout(1, "Status: 204 No Content\r\n\r\n");
    s_end(1, 0, 0);
    /* a gap while idle: framing lost, later records only counted */
    s_gap(S, 5);
    s_stdout(1, "\r\n");
    run_all(0);

    assert_int_equal(L.nend, 2);
    assert_int_equal(P.nexchanges, 2);
    assert_int_equal(P.ncomplete, 2);
    assert_int_equal(L.ends[0].seq, 0);
    assert_int_equal(L.ends[1].seq, 1);
    assert_true(eq(L.ends[0].target, L.ends[0].target_len, "/one"));
    assert_true(eq(L.ends[1].target, L.ends[1].target_len, "/two"));
    assert_true(eq(L.ends[1].method, L.ends[1].method_len, "HEAD"));
    assert_int_equal(L.ends[0].status, 200);
    assert_int_equal(L.ends[1].status, 204);
    assert_int_equal(L.ends[1].primary, RD_FCGI_COMPLETE);
    assert_int_equal(rd_fcgi_phase(&P), RD_FCGI_PH_IDLE_KEEPALIVE);
    assert_int_equal(P.dir[S].ignored_bytes, 5 + 16);
}


/* php-fpm killed by request_terminate_timeout: RST after the request,
 * no STDOUT: truncated, awaiting_response_header.  And a FIN in the
 * middle of the body: truncated, reading_response_body. */
static void
test_fcgi_truncated_before_end_request(void **state)
{
    (void) state;
    s_reset();
    s_request(1, false, "GET", "/sleep.php", NULL);
    s_finish(S, RD_FCGI_EOF_RST);
    s_finish(C, RD_FCGI_EOF_RST);
    run_all(0);
    assert_int_equal(L.nend, 1);
    assert_int_equal(L.ends[0].primary, RD_FCGI_TRUNCATED);
    assert_int_equal(L.ends[0].phase, RD_FCGI_PH_AWAITING_RESPONSE_HEADER);
    assert_int_equal(L.ends[0].status, 0);
    assert_int_equal(rd_fcgi_phase(&P), RD_FCGI_PH_AWAITING_RESPONSE_HEADER);
    assert_non_null(strstr(L.s, "finish 1 -> 0\n"));

    s_reset();
    s_request(1, false, "GET", "/", NULL);
    s_stdout(1, "Content-Length: 100\r\n\r\n0123456789");
    s_finish(S, RD_FCGI_EOF_FIN);
    run_all(0);
    assert_int_equal(L.ends[0].primary, RD_FCGI_TRUNCATED);
    assert_int_equal(L.ends[0].phase, RD_FCGI_PH_READING_RESPONSE_BODY);
    assert_int_equal(L.ends[0].body_bytes, 10);

    /* the capture ended in the body: incomplete, not truncated */
    s_reset();
    s_request(1, false, "GET", "/", NULL);
    s_stdout(1, "\r\nabc");
    s_finish(C, RD_FCGI_EOF_CAPTURE_END);
    s_finish(S, RD_FCGI_EOF_CAPTURE_END);
    run_all(0);
    assert_int_equal(L.ends[0].primary, RD_FCGI_INCOMPLETE);

    /* the client closed in the middle of its STDIN */
    s_reset();
    s_request(1, false, "POST", "/", "abcdef");
    scr.st[scr.n - 1].len -= 2 + 2 + 8;    /* cut inside the STDIN body */
    s_finish(C, RD_FCGI_EOF_FIN);
    s_finish(S, RD_FCGI_EOF_FIN);
    run_all(0);
    assert_true(L.ends[0].flags & RD_FCGI_F_REQ_TRUNC);
    assert_int_equal(L.ends[0].phase, RD_FCGI_PH_SENDING_REQUEST);
    assert_int_equal(L.ends[0].primary, RD_FCGI_TRUNCATED);
}


/* A PHP fatal error: STDERR text first (nginx logs "FastCGI sent in
 * stderr"), then a 500 and END_REQUEST: complete, stderr_seen, the text
 * kept up to RD_FCGI_STDERR_LEN bytes across records. */
static void
test_fcgi_stderr_then_500(void **state)
{
    static const char  msg[] = "PHP message: PHP Fatal error:  Uncaught "
        "Error: Call to undefined function nope() in /srv/fatal.php:3";
    char               longer[300];

    (void) state;
    s_reset();
    s_request(1, false, "GET", "/fatal.php", NULL);
    s_rec(S, RD_FCGI_STDERR, 1, msg, 20);
    s_rec(S, RD_FCGI_STDERR, 1, msg + 20, strlen(msg) - 20);
    s_stdout(1, "Status: 500 Internal Server Error\r\n"
                "Content-type: text/html; charset=UTF-8\r\n\r\n");
    s_end(1, 0, 0);
    s_finish(S, RD_FCGI_EOF_FIN);
    run_all(0);

    assert_int_equal(L.nend, 1);
    assert_int_equal(L.ends[0].status, 500);
    assert_int_equal(L.ends[0].primary, RD_FCGI_COMPLETE);
    assert_int_equal(L.ends[0].findings, (1u << RD_FCGI_COMPLETE)
                                         | (1u << RD_FCGI_STDERR_SEEN));
    assert_true(eq(L.ends[0].stderr_text, L.ends[0].stderr_len, msg));
    assert_int_equal(L.ends[0].stderr_bytes, strlen(msg));
    assert_false(L.ends[0].flags & RD_FCGI_F_STDERR_TRUNC);
    assert_int_equal(L.ends[0].body_bytes, 0);

    s_reset();
    memset(longer, 'e', sizeof(longer));
    s_request(1, false, "GET", "/", NULL);
    s_rec(S, RD_FCGI_STDERR, 1, longer, sizeof(longer));
    s_stdout(1, "\r\n");
    s_end(1, 0, 0);
    run_all(0);
    assert_int_equal(L.ends[0].stderr_len, RD_FCGI_STDERR_LEN);
    assert_int_equal(L.ends[0].stderr_bytes, sizeof(longer));
    assert_true(L.ends[0].flags & RD_FCGI_F_STDERR_TRUNC);
}


/* Response headers larger than fastcgi_buffer_size: header_overflow
 * (phase stays awaiting_response_header); just under the cap is fine. */
static void
test_fcgi_header_overflow(void **state)
{
    static char  h[6000];
    size_t       i;

    (void) state;
    s_reset();
    memcpy(h, "X-Big: ", 7);
    for (i = 7; i < 5000; i++) {
        h[i] = 'a';
    }
    memcpy(h + 5000, "\r\n\r\nbody", 9);
    s_request(1, false, "GET", "/big_header.php", NULL);
    s_stdout(1, h);
    s_end(1, 0, 0);
    s_finish(S, RD_FCGI_EOF_FIN);
    run_all(0);
    assert_int_equal(L.ends[0].primary, RD_FCGI_HEADER_OVERFLOW);
    assert_int_equal(L.ends[0].phase, RD_FCGI_PH_AWAITING_RESPONSE_HEADER);
    assert_int_equal(L.ends[0].header_bytes, 4096 - 8);
    assert_int_equal(L.headers, 0);
    assert_int_equal(rd_fcgi_phase(&P), RD_FCGI_PH_AWAITING_RESPONSE_HEADER);

    /* a cap of 8 KiB takes it */
    run_all(8192);
    assert_int_equal(L.ends[0].primary, RD_FCGI_COMPLETE);
    assert_int_equal(L.ends[0].header_bytes, 5004);
    assert_int_equal(L.ends[0].body_bytes, 4);

    /* the header ends exactly at the cap: accepted */
    s_reset();
    memset(h, 0, sizeof(h));
    memcpy(h, "X: ", 3);
    for (i = 3; i < 100 - 8 - 4; i++) {
        h[i] = 'a';
    }
    memcpy(h + i, "\r\n\r\n", 4);
    s_request(1, false, "GET", "/", NULL);
    s_stdout(1, h);
    s_end(1, 0, 0);
    run_all(100);
    assert_int_equal(L.ends[0].primary, RD_FCGI_COMPLETE);
    run_all(99);
    assert_int_equal(L.ends[0].primary, RD_FCGI_HEADER_OVERFLOW);
}


/* END_REQUEST before the header block ended (nginx: "prematurely closed
 * FastCGI stdout") or before Content-Length bytes ("prematurely closed
 * FastCGI request"): truncated, with the flag saying which. */
static void
test_fcgi_end_request_too_early(void **state)
{
    (void) state;
    s_reset();
    s_request(1, false, "GET", "/", NULL);
    s_stdout(1, "Status: 200 OK\r\n");
    s_end(1, 0, 0);
    run_all(0);
    assert_int_equal(L.ends[0].primary, RD_FCGI_TRUNCATED);
    assert_true(L.ends[0].flags & RD_FCGI_F_EARLY_END);
    assert_int_equal(L.ends[0].phase, RD_FCGI_PH_AWAITING_RESPONSE_HEADER);

    s_reset();
    s_request(1, false, "GET", "/", NULL);
    s_stdout(1, "Content-Length: 50\r\n\r\nshort");
    s_end(1, 0, 0);
    run_all(0);
    assert_int_equal(L.ends[0].primary, RD_FCGI_TRUNCATED);
    assert_true(L.ends[0].flags & RD_FCGI_F_SHORT_BODY);
    assert_int_equal(L.ends[0].phase, RD_FCGI_PH_READING_RESPONSE_BODY);
}


/* A response whose request the capture missed begins an exchange
 * flagged no_begin; management records (requestId 0) are counted. */
static void
test_fcgi_midstream_and_management(void **state)
{
    (void) state;
    s_reset();
    s_rec(C, RD_FCGI_GET_VALUES, 0, "\x0e\x00" "FCGI_MAX_CONNS", 16);
    s_stdout(3, "\r\nhi");
    s_end(3, 0, 0);
    run_all(0);
    assert_int_equal(P.mgmt_records, 1);
    assert_int_equal(L.nend, 1);
    assert_true(L.ends[0].flags & RD_FCGI_F_NO_BEGIN);
    assert_int_equal(L.ends[0].primary, RD_FCGI_COMPLETE);
    assert_int_equal(L.ends[0].body_bytes, 2);
}


/* rd_fcgi_sniff: a version-1 BEGIN_REQUEST with a valid role only. */
static void
test_fcgi_sniff(void **state)
{
    uint8_t  b[16] = { 1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };

    (void) state;
    assert_true(rd_fcgi_sniff(b, 16));
    assert_true(rd_fcgi_sniff(b, 10));
    assert_false(rd_fcgi_sniff(b, 9));
    assert_false(rd_fcgi_sniff(NULL, 0));
    b[9] = 4;                       /* role 4 */
    assert_false(rd_fcgi_sniff(b, 16));
    b[9] = 3;
    assert_true(rd_fcgi_sniff(b, 16));
    b[0] = 2;                       /* version 2 */
    assert_false(rd_fcgi_sniff(b, 16));
    b[0] = 1;
    b[1] = 4;                       /* PARAMS */
    assert_false(rd_fcgi_sniff(b, 16));
    b[1] = 1;
    b[3] = 0;                       /* requestId 0 */
    assert_false(rd_fcgi_sniff(b, 16));
    b[3] = 1;
    b[5] = 9;                       /* contentLength 9 */
    assert_false(rd_fcgi_sniff(b, 16));
    assert_false(rd_fcgi_sniff((const uint8_t *) "GET / HTTP/1.1\r\n", 16));
}


/* Bad use: wrong direction, finish twice, unknown how. */
static void
test_fcgi_bad_use(void **state)
{
    struct rd_fcgi  p;

    (void) state;
    rd_fcgi_init(&p, 0, NULL, NULL);
    assert_int_equal(rd_fcgi_feed(&p, 2, (const uint8_t *) "x", 1, 0),
                     -RD_EINVAL);
    assert_int_equal(rd_fcgi_finish(&p, 0, 9), -RD_EINVAL);
    assert_int_equal(rd_fcgi_finish(&p, 0, RD_FCGI_EOF_FIN), RD_FCGI_SAFE);
    assert_int_equal(rd_fcgi_finish(&p, 0, RD_FCGI_EOF_FIN), -RD_EINVAL);
    assert_int_equal(rd_fcgi_phase(&p), RD_FCGI_PH_NONE);
    assert_string_equal(rd_tok2str(rd_fcgi_finding_names,
                                   RD_FCGI_INVALID_RECORD, "?"),
                        "invalid_record");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_fcgi_exchange_complete_every_split),
        cmocka_unit_test(test_fcgi_padding_on_every_record),
        cmocka_unit_test(test_fcgi_remote_addr_port),
        cmocka_unit_test(test_fcgi_split_across_records),
        cmocka_unit_test(test_fcgi_gap_inside_stdout_content),
        cmocka_unit_test(test_fcgi_gap_on_record_header_loses_sync),
        cmocka_unit_test(test_fcgi_unknown_type_keeps_framing),
        cmocka_unit_test(test_fcgi_unknown_version_stops),
        cmocka_unit_test(test_fcgi_keep_conn_two_requests),
        cmocka_unit_test(test_fcgi_truncated_before_end_request),
        cmocka_unit_test(test_fcgi_stderr_then_500),
        cmocka_unit_test(test_fcgi_header_overflow),
        cmocka_unit_test(test_fcgi_end_request_too_early),
        cmocka_unit_test(test_fcgi_midstream_and_management),
        cmocka_unit_test(test_fcgi_sniff),
        cmocka_unit_test(test_fcgi_bad_use),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
