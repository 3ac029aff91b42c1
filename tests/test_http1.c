/*
 * Unit tests of the streaming HTTP/1.x framer.  Every input goes through
 * check(): fed whole, byte by byte and in 32 random splits; the event
 * logs (every field of every event) must be identical, then the test
 * asserts the outcome on the messages recorded from the whole run.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rstdiag/http1.h"

#define MAXMSG  16
#define LOGLEN  16384

struct rec {
    char                 log[LOGLEN];
    size_t               len;
    struct rd_http1_msg  msgs[MAXMSG];
    int                  nmsgs;     /* END events */
    int                  nbegin;
    int                  nexcess;
    int                  nerror;
    int                  rc;        /* finish() */
    struct rd_http1      p;         /* parser after finish */
};

struct push {
    bool    head;
    bool    connect;
    int     version;
};

struct opts {
    int                 type;
    const struct push  *push;
    int                 npush;
    int                 how;        /* 0: do not finish */
    uint32_t            cap;
};


static void
logp(struct rec *r, const char *fmt, ...)
{
    va_list  ap;
    int      n;

    va_start(ap, fmt);
    n = vsnprintf(r->log + r->len, LOGLEN - r->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t) n < LOGLEN - r->len);
    r->len += (size_t) n;
}


static void
cb(void *ctx, const struct rd_http1 *p, const struct rd_http1_msg *m,
    int ev)
{
    struct rec  *r = ctx;
    int          f;

    logp(r, "%s seq=%" PRIu32 " off=%" PRIu64 " ts=%" PRId64,
          rd_tok2str(rd_http1_event_names, ev, "?"), m->seq, m->off_begin,
          m->ts_begin);
    switch (ev) {
    case RD_HTTP1_EV_BEGIN:
        r->nbegin++;
        break;
    case RD_HTTP1_EV_HEADERS:
        logp(r, " v=%d st=%d cl=%" PRId64 " fl=%x conn=%x ka=%d hb=%"
              PRIu64 " m=%.*s t=%.*s s=%.*s", m->version, m->status,
              m->content_length, m->flags, m->conn, m->keep_alive,
              m->header_bytes, m->method_len, m->method, m->target_len,
              m->target, m->server_len, m->server);
        logp(r, " badcl=%.*s", m->bad_cl_len, m->bad_cl);
        logp(r, " fwd=%d/%02x%02x%02x%02x:%u rid=%" PRIx64, m->fwd_af,
              m->fwd_addr[0], m->fwd_addr[3], m->fwd_addr[12],
              m->fwd_addr[15], (unsigned) m->fwd_port, m->req_id);
        break;
    case RD_HTTP1_EV_END:
    case RD_HTTP1_EV_EXCESS:
        logp(r, " %s end=%" PRIu64 " hb=%" PRIu64 " bb=%" PRIu64 " co=%"
              PRIu64 " gap=%" PRIu64 " fl=%x ts_end=%" PRId64,
              rd_tok2str(rd_http1_finding_names, m->primary, "?"),
              m->off_end, m->header_bytes, m->body_bytes, m->chunk_overhead,
              m->gap_bytes, m->flags, m->ts_end);
        for (f = 0; f < RD_HTTP1_NFINDINGS; f++) {
            if (m->findings & (1u << f)) {
                logp(r, " %s@%" PRIu64,
                      rd_tok2str(rd_http1_finding_names, f, "?"),
                      m->finding_off[f]);
            }
        }
        if (ev == RD_HTTP1_EV_END) {
            assert_true(r->nmsgs < MAXMSG);
            r->msgs[r->nmsgs++] = *m;
        } else {
            r->nexcess++;
            r->msgs[r->nmsgs - 1] = *m;
        }
        break;
    default:
        r->nerror++;
        logp(r, " err=%s (%s)",
              rd_tok2str(rd_http1_error_names, p->err, "?"), p->reason);
        break;
    }
    logp(r, "\n");
}


/* Feed in pieces whose sizes are given by cuts[] (0-terminated). */
static void
run(struct rec *r, const struct opts *o, const char *in, size_t len,
    const size_t *cuts)
{
    size_t  pos, n;
    int     i;

    memset(r, 0, sizeof(*r));
    rd_http1_init(&r->p, o->type, o->cap, cb, r);
    for (i = 0; i < o->npush; i++) {
        assert_int_equal(rd_http1_push_request(&r->p, o->push[i].head,
                                               o->push[i].connect,
                                               o->push[i].version), RD_OK);
    }
    pos = 0;
    for (i = 0; pos < len; i++) {
        n = cuts != NULL && cuts[i] != 0 ? cuts[i] : len - pos;
        n = n > len - pos ? len - pos : n;
        (void) rd_http1_feed(&r->p, (const uint8_t *) in + pos, n, 1000);
        pos += n;
    }
    r->rc = o->how != 0 ? rd_http1_finish(&r->p, o->how) : -100;
    logp(r, "finish rc=%d off=%" PRIu64 " ex=%" PRIu64 " tun=%" PRIu64
          " ign=%" PRIu64 "\n", r->rc, r->p.offset, r->p.excess_bytes,
          r->p.tunnel_bytes, r->p.ignored_bytes);
}


/* Accounting that must hold for any input: every byte counted once. */
static void
check_accounting(const struct rec *r)
{
    uint64_t  sum;
    int       i;

    sum = r->p.excess_bytes + r->p.tunnel_bytes + r->p.ignored_bytes;
    for (i = 0; i < r->nmsgs; i++) {
        assert_true(r->msgs[i].off_end >= r->msgs[i].off_begin);
        assert_int_equal(r->msgs[i].off_end - r->msgs[i].off_begin,
                         r->msgs[i].header_bytes + r->msgs[i].body_bytes
                         + r->msgs[i].chunk_overhead);
        sum += r->msgs[i].off_end - r->msgs[i].off_begin;
    }
    assert_int_equal(sum, r->p.offset);
}


static struct rec  whole, other;

/* Whole, per byte, random splits: identical logs.  Result in `whole`. */
static struct rec *
check(const struct opts *o, const char *in, size_t len)
{
    size_t    cuts[LOGLEN];
    size_t    i, k, left;
    unsigned  seed;

    run(&whole, o, in, len, NULL);
    if (o->how != 0) {
        check_accounting(&whole);
        assert_int_equal(whole.nbegin, whole.nmsgs);
    }

    assert_true(len < LOGLEN);
    for (i = 0; i < len; i++) {
        cuts[i] = 1;
    }
    cuts[len] = 0;
    run(&other, o, in, len, cuts);
    if (strcmp(whole.log, other.log) != 0) {
        print_error("whole:\n%s\nbytewise:\n%s\n", whole.log, other.log);
        fail();
    }

    for (seed = 1; seed <= 32; seed++) {
        srand(seed);
        left = len;
        for (k = 0; left > 0; k++) {
            cuts[k] = 1 + (size_t) rand() % (left < 7 ? left : 7);
            left -= cuts[k];
        }
        cuts[k] = 0;
        run(&other, o, in, len, cuts);
        if (strcmp(whole.log, other.log) != 0) {
            print_error("whole:\n%s\nsplit %u:\n%s\n", whole.log, seed,
                        other.log);
            fail();
        }
    }
    return &whole;
}


#define CHECK(o, s)  check(o, s, sizeof(s) - 1)
#define HAS(m, f)    (((m)->findings & (1u << (f))) != 0)

static const struct opts  req_fin = { RD_HTTP1_REQUEST, NULL, 0,
                                      RD_HTTP1_EOF_FIN, 0 };
static const struct opts  resp_fin = { RD_HTTP1_RESPONSE, NULL, 0,
                                       RD_HTTP1_EOF_FIN, 0 };
static const struct push  get11[] = { { false, false, 11 } };
static const struct opts  resp_get_fin = { RD_HTTP1_RESPONSE, get11, 1,
                                           RD_HTTP1_EOF_FIN, 0 };


/* The finding names are part of the JSON schema: exact strings. */
static void
test_http1_finding_names_exact(void **state)
{
    static const char  *want[] = {
        "complete", "truncated", "excess", "invalid_chunked", "cl_and_te",
        "bad_content_length", "chunked_to_http10", "unknown_gap",
        "header_overflow", "close_delimited", "no_body", "upgraded",
        "incomplete"
    };
    int  f;

    (void) state;
    assert_int_equal(RD_NELEMS(want), RD_HTTP1_NFINDINGS);
    for (f = 0; f < RD_HTTP1_NFINDINGS; f++) {
        assert_string_equal(rd_tok2str(rd_http1_finding_names, f, "?"),
                            want[f]);
    }
}


/* A bodiless GET: request facts, no_body, safe end on FIN. */
static void
test_http1_request_get_facts(void **state)
{
    struct rec  *r;
    const char   in[] = "\r\nGET /index.html?a=1 HTTP/1.1\r\n"
                        "Host: x\r\nConnection: keep-alive\r\n\r\n";

    (void) state;
    r = CHECK(&req_fin, in);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->rc, RD_HTTP1_SAFE);
    assert_memory_equal(r->msgs[0].method, "GET", 3);
    assert_int_equal(r->msgs[0].method_len, 3);
    assert_int_equal(r->msgs[0].target_len, 15);
    assert_memory_equal(r->msgs[0].target, "/index.html?a=1", 15);
    assert_int_equal(r->msgs[0].version, 11);
    assert_int_equal(r->msgs[0].off_begin, 2);
    assert_int_equal(r->msgs[0].header_bytes, sizeof(in) - 1 - 2);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_NO_BODY);
    assert_true(HAS(&r->msgs[0], RD_HTTP1_COMPLETE));
    assert_int_equal(r->msgs[0].conn, RD_HTTP1_CONN_KEEPALIVE);
    assert_true(r->msgs[0].keep_alive);
    assert_int_equal(r->p.ignored_bytes, 2);
}


/* Forwarding headers: the last address of the last header, any form. */
static void
fwd_case(const char *hdrs, uint8_t af, const char *addr, uint16_t port)
{
    char         in[512];
    uint8_t      want[16];
    struct rec  *r;
    int          n;

    n = snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nHost: x\r\n%s\r\n", hdrs);
    assert_true(n > 0 && (size_t) n < sizeof(in));
    r = check(&req_fin, in, (size_t) n);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->msgs[0].fwd_af, af);
    if (af != 0) {
        memset(want, 0, sizeof(want));
        assert_int_equal(inet_pton(af == 4 ? AF_INET : AF_INET6, addr, want),
                         1);
        assert_memory_equal(r->msgs[0].fwd_addr, want, 16);
        assert_int_equal(r->msgs[0].fwd_port, port);
    }
}


static void
test_http1_forwarding_headers(void **state)
{
    (void) state;
    fwd_case("X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n", 4, "192.0.2.7", 0);
    fwd_case("x-forwarded-for:192.0.2.7\r\n", 4, "192.0.2.7", 0);
    fwd_case("X-Real-IP: 2001:db8::5 \r\n", 6, "2001:db8::5", 0);
    fwd_case("X-Forwarded-For: 192.0.2.7:5555\r\n", 4, "192.0.2.7", 5555);
    fwd_case("Forwarded: for=192.0.2.1;proto=http, "
             "For=\"[2001:db8::9]:4711\";by=x\r\n", 6, "2001:db8::9", 4711);
    fwd_case("Forwarded: proto=https;for=198.51.100.3\r\n", 4,
             "198.51.100.3", 0);
    /* the header that came last decides */
    fwd_case("X-Real-IP: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.2\r\n", 4,
             "192.0.2.2", 0);
    /* not addresses */
    fwd_case("X-Forwarded-For: unknown\r\n", 0, NULL, 0);
    fwd_case("Forwarded: for=_hidden\r\n", 0, NULL, 0);
    fwd_case("Forwarded: by=192.0.2.1\r\n", 0, NULL, 0);
    fwd_case("X-Forwarded-For: [2001:db8::1\r\n", 0, NULL, 0);
    fwd_case("X-Forwarded-For: 192.0.2.1:99999\r\n", 4, "192.0.2.1", 0);
    fwd_case("X-Forwarded-For: "
             "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb\r\n", 0,
             NULL, 0);
}


static void
test_http1_request_id(void **state)
{
    struct rec  *r, *r2;
    uint64_t     id;
    const char   a[] = "GET / HTTP/1.1\r\nX-Request-ID: abc-123\r\n\r\n";
    const char   b[] = "GET / HTTP/1.1\r\nx-request-id:  abc-123 \r\n\r\n";
    const char   c[] = "GET / HTTP/1.1\r\nX-Request-ID: abc-124\r\n\r\n";
    const char   d[] = "GET / HTTP/1.1\r\nX-Request-ID: \r\n\r\n";

    (void) state;
    r = CHECK(&req_fin, a);
    id = r->msgs[0].req_id;
    assert_true(id != 0);
    r2 = CHECK(&req_fin, b);
    assert_true(r2->msgs[0].req_id == id);
    r2 = CHECK(&req_fin, c);
    assert_true(r2->msgs[0].req_id != id);
    r2 = CHECK(&req_fin, d);
    assert_true(r2->msgs[0].req_id == 0);
}



/* A bad Content-Length is kept as nginx 1.23.0+ quotes it. */
static void
test_http1_bad_cl_quoted(void **state)
{
    struct rec  *r;
    const char   a[] = "HTTP/1.1 200 OK\r\ncontent-LENGTH:  12abc \r\n"
                       "Content-Length: 7x\r\n\r\nbody";
    const char   b[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody";

    (void) state;
    r = CHECK(&resp_get_fin, a);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->msgs[0].bad_cl_len, strlen("content-LENGTH: 12abc"));
    assert_memory_equal(r->msgs[0].bad_cl, "content-LENGTH: 12abc",
                        r->msgs[0].bad_cl_len);
    r = CHECK(&resp_get_fin, b);
    assert_int_equal(r->msgs[0].bad_cl_len, 0);
}


/* POST with Content-Length and Expect: 100-continue; body counted. */
static void
test_http1_request_cl_body_counted(void **state)
{
    struct rec  *r;
    const char   in[] = "POST /u HTTP/1.1\r\nContent-Length: 5\r\n"
                        "Expect: 100-Continue\r\n\r\nhelloGET / HTTP/1.0\r\n"
                        "\r\n";

    (void) state;
    r = CHECK(&req_fin, in);
    assert_int_equal(r->nmsgs, 2);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_COMPLETE);
    assert_int_equal(r->msgs[0].content_length, 5);
    assert_int_equal(r->msgs[0].body_bytes, 5);
    assert_true(r->msgs[0].flags & RD_HTTP1_F_EXPECT_CONTINUE);
    assert_int_equal(r->msgs[0].off_end, r->msgs[1].off_begin);
    assert_int_equal(r->msgs[1].version, 10);
    assert_false(r->msgs[1].keep_alive);
}


/* Chunk extensions are skipped, trailers accepted; body de-chunked. */
static void
test_http1_chunked_ext_trailers(void **state)
{
    struct rec  *r;
    const char   in[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                        "\r\n5;name=\"v\"\r\nhello\r\n1A \r\n"
                        "abcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\r\n"
                        "Y: 2\r\n\r\n";

    (void) state;
    r = CHECK(&resp_get_fin, in);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_COMPLETE);
    assert_int_equal(r->msgs[0].body_bytes, 31);
    assert_true(r->msgs[0].flags & RD_HTTP1_F_CHUNKED);
    assert_true(r->msgs[0].flags & RD_HTTP1_F_TRAILERS);
    assert_int_equal(r->msgs[0].off_end, sizeof(in) - 1);
    assert_int_equal(r->rc, RD_HTTP1_SAFE);
}


/* 3 pipelined requests, then their 3 responses; the HEAD one has a
 * Content-Length but no body, the FIFO pairs them in order. */
static void
test_http1_pipelining_with_head(void **state)
{
    static const struct push  pushes[] = {
        { false, false, 11 }, { true, false, 11 }, { false, false, 11 }
    };
    struct opts  o = { RD_HTTP1_RESPONSE, pushes, 3, RD_HTTP1_EOF_FIN, 0 };
    struct rec  *r;
    const char   req[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                         "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n"
                         "GET /c HTTP/1.1\r\nHost: h\r\n\r\n";
    const char   in[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n"
                        "Server: nginx/1.22.1\r\n\r\nno";

    (void) state;
    r = CHECK(&req_fin, req);
    assert_int_equal(r->nmsgs, 3);
    assert_true(rd_http1_method_is(&r->msgs[1], "HEAD"));
    assert_memory_equal(r->msgs[2].target, "/c", 2);

    r = CHECK(&o, in);
    assert_int_equal(r->nmsgs, 3);
    assert_int_equal(r->msgs[0].body_bytes, 3);
    assert_int_equal(r->msgs[1].primary, RD_HTTP1_NO_BODY);
    assert_true(r->msgs[1].req_head);
    assert_int_equal(r->msgs[1].content_length, 100);
    assert_int_equal(r->msgs[1].body_bytes, 0);
    assert_int_equal(r->msgs[2].status, 404);
    assert_int_equal(r->msgs[2].primary, RD_HTTP1_COMPLETE);
    assert_int_equal(r->msgs[2].server_len, 12);
    assert_memory_equal(r->msgs[2].server, "nginx/1.22.1", 12);
    assert_int_equal(rd_http1_pending(&r->p), 0);
}


/* 204 and 304 have no body whatever their Content-Length says. */
static void
test_http1_204_304_no_body(void **state)
{
    static const struct push  pushes[] = {
        { false, false, 11 }, { false, false, 11 }, { false, false, 11 }
    };
    struct opts  o = { RD_HTTP1_RESPONSE, pushes, 3, RD_HTTP1_EOF_FIN, 0 };
    struct rec  *r;
    const char   in[] = "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n"
                        "HTTP/1.1 304 Not Modified\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"
                        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

    (void) state;
    r = CHECK(&o, in);
    assert_int_equal(r->nmsgs, 3);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_NO_BODY);
    assert_int_equal(r->msgs[1].primary, RD_HTTP1_NO_BODY);
    assert_int_equal(r->msgs[2].primary, RD_HTTP1_COMPLETE);
    assert_int_equal(r->msgs[2].content_length, 0);
    assert_int_equal(r->rc, RD_HTTP1_SAFE);
}


/* 100 Continue and 103 are their own messages and leave the request
 * pending; the final 200 consumes it. */
static void
test_http1_1xx_does_not_consume_request(void **state)
{
    struct rec  *r;
    const char   in[] = "HTTP/1.1 100 Continue\r\n\r\n"
                        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    (void) state;
    r = CHECK(&resp_get_fin, in);
    assert_int_equal(r->nmsgs, 3);
    assert_int_equal(r->msgs[0].status, 100);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_NO_BODY);
    assert_true(r->msgs[0].flags & RD_HTTP1_F_INFORMATIONAL);
    assert_false(r->msgs[0].flags & RD_HTTP1_F_NO_REQUEST);
    assert_int_equal(r->msgs[1].status, 103);
    assert_int_equal(r->msgs[2].status, 200);
    assert_int_equal(r->msgs[2].body_bytes, 2);
    assert_int_equal(rd_http1_pending(&r->p), 0);
    assert_int_equal(r->nexcess, 0);
}


/* Without any pushed request, 100 then 200 still parse (assumed GET). */
static void
test_http1_1xx_without_request(void **state)
{
    struct rec  *r;
    const char   in[] = "HTTP/1.1 100 Continue\r\n\r\n"
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    (void) state;
    r = CHECK(&resp_fin, in);
    assert_int_equal(r->nmsgs, 2);
    assert_true(r->msgs[1].flags & RD_HTTP1_F_NO_REQUEST);
    assert_int_equal(r->msgs[1].primary, RD_HTTP1_COMPLETE);
    assert_int_equal(rd_http1_pending(&r->p), 0);
}


/* 101 upgrades: parsing stops, later bytes are tunnel bytes. */
static void
test_http1_101_upgraded(void **state)
{
    struct rec  *r;
    const char   in[] = "HTTP/1.1 101 Switching Protocols\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                        "\x81\x05hello";
    const char   req[] = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\n\r\n\x81\x85xxxx";

    (void) state;
    r = CHECK(&resp_get_fin, in);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_UPGRADED);
    assert_int_equal(r->msgs[0].conn, RD_HTTP1_CONN_UPGRADE);
    assert_int_equal(r->p.tunnel_bytes, 7);
    assert_int_equal(r->rc, RD_HTTP1_SAFE);
    assert_int_equal(rd_http1_pending(&r->p), 0);

    r = CHECK(&req_fin, req);
    assert_int_equal(r->nmsgs, 1);
    assert_true(r->msgs[0].flags & RD_HTTP1_F_UPGRADE_REQ);
    assert_int_equal(r->p.tunnel_bytes, 6);
    assert_int_equal(r->nerror, 0);
}


/* CONNECT answered 200 is a tunnel; refused upgrade resumes parsing. */
static void
test_http1_connect_tunnel(void **state)
{
    static const struct push  conn[] = { { false, true, 11 } };
    struct opts      o = { RD_HTTP1_RESPONSE, conn, 1, RD_HTTP1_EOF_FIN, 0 };
    struct rec      *r;
    struct rd_http1  p;
    const char       in[] = "HTTP/1.1 200 Connection Established\r\n\r\n"
                            "\x16\x03\x01";
    const char       req[] = "CONNECT h:443 HTTP/1.1\r\n\r\n";
    const char       next[] = "GET / HTTP/1.1\r\n\r\n";

    (void) state;
    r = CHECK(&o, in);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_UPGRADED);
    assert_int_equal(r->p.tunnel_bytes, 3);

    rd_http1_init(&p, RD_HTTP1_REQUEST, 0, NULL, NULL);
    assert_int_equal(rd_http1_feed(&p, (const uint8_t *) req,
                                   sizeof(req) - 1, 1), RD_OK);
    assert_int_equal(rd_http1_phase(&p), RD_HTTP1_PH_UPGRADED);
    assert_int_equal(rd_http1_upgrade_refused(&p), RD_OK);
    assert_int_equal(rd_http1_feed(&p, (const uint8_t *) next,
                                   sizeof(next) - 1, 2), RD_OK);
    assert_int_equal(p.nmsgs, 2);
    assert_int_equal(rd_http1_phase(&p), RD_HTTP1_PH_IDLE);
}


/* Close-delimited: FIN is a safe end, and the message is complete
 * (RFC 9112 sec. 6.3 item 8) with close_delimited among its findings;
 * RST is truncated, capture end is incomplete. */
static void
test_http1_close_delimited_fin_rst_capture_end(void **state)
{
    struct opts  o = resp_get_fin;
    struct rec  *r;
    const char   in[] = "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody bytes";

    (void) state;
    r = CHECK(&o, in);
    assert_int_equal(r->rc, RD_HTTP1_SAFE);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_COMPLETE);
    assert_true(HAS(&r->msgs[0], RD_HTTP1_COMPLETE));
    assert_true(HAS(&r->msgs[0], RD_HTTP1_CLOSE_DELIMITED));
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_COMPLETE], 40);
    assert_int_equal(r->msgs[0].body_bytes, 10);
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_CLOSE_DELIMITED], 30);
    assert_false(r->msgs[0].keep_alive);

    o.how = RD_HTTP1_EOF_RST;
    r = CHECK(&o, in);
    assert_int_equal(r->rc, RD_HTTP1_UNSAFE);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_TRUNCATED);
    assert_true(HAS(&r->msgs[0], RD_HTTP1_CLOSE_DELIMITED));
    assert_false(HAS(&r->msgs[0], RD_HTTP1_COMPLETE));
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_TRUNCATED], 40);

    o.how = RD_HTTP1_EOF_CAPTURE_END;
    r = CHECK(&o, in);
    assert_int_equal(r->rc, RD_HTTP1_UNSAFE);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_INCOMPLETE);
    assert_false(HAS(&r->msgs[0], RD_HTTP1_TRUNCATED));
}


/*
 * Regression: an HTTP/1.1 response with neither Content-Length nor
 * chunked, ended by the server's FIN, was reported with framing
 * "close_delimited" as if it were not a finished message.  It is
 * complete (RFC 9112 sec. 6.3 item 8); close_delimited stays among the
 * findings, at the first body byte.
 */
static void
test_http1_close_delimited_fin_is_complete(void **state)
{
    struct rec  *r;
    const char   in[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                        "0123456789abcdef";

    (void) state;
    r = CHECK(&resp_get_fin, in);
    assert_int_equal(r->rc, RD_HTTP1_SAFE);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_COMPLETE);
    assert_string_equal(rd_tok2str(rd_http1_finding_names,
                                   r->msgs[0].primary, "?"), "complete");
    assert_int_equal(r->msgs[0].findings,
                     (1u << RD_HTTP1_COMPLETE)
                     | (1u << RD_HTTP1_CLOSE_DELIMITED));
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_CLOSE_DELIMITED], 38);
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_COMPLETE],
                     sizeof(in) - 1);
    assert_int_equal(r->msgs[0].body_bytes, 16);
}


/* FIN inside a Content-Length body, a chunked body, or a header: all
 * truncated at the offset where the stream ended. */
static void
test_http1_truncated_cl_chunked_header(void **state)
{
    struct rec  *r;
    const char   cl[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345";
    const char   ch[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                        "\r\n5\r\nhello\r\n";
    const char   hd[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Le";
    const char   sl[] = "HTTP/1.";
    struct opts  o = resp_get_fin;

    (void) state;
    r = CHECK(&o, cl);
    assert_int_equal(r->rc, RD_HTTP1_UNSAFE);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_TRUNCATED);
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_TRUNCATED],
                     sizeof(cl) - 1);
    assert_int_equal(r->msgs[0].body_bytes, 5);

    r = CHECK(&o, ch);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_TRUNCATED);
    assert_int_equal(r->msgs[0].body_bytes, 5);

    r = CHECK(&o, hd);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_TRUNCATED);
    assert_int_equal(r->msgs[0].status, 502);
    assert_int_equal(r->msgs[0].header_bytes, sizeof(hd) - 1);

    /* cut inside the status line: still one truncated message */
    r = CHECK(&o, sl);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_TRUNCATED);

    o.type = RD_HTTP1_REQUEST;
    o.how = RD_HTTP1_EOF_RST;
    o.npush = 0;
    r = CHECK(&o, "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab");
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_TRUNCATED);
}


/* Bytes after a complete Content-Length body with no request pending
 * are excess on that response (nginx E4), at their offset. */
static void
test_http1_excess_after_cl_body(void **state)
{
    struct rec  *r;
    const char   in[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
                        "okEXTRA";

    (void) state;
    r = CHECK(&resp_get_fin, in);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->nexcess, 1);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_EXCESS);
    assert_true(HAS(&r->msgs[0], RD_HTTP1_COMPLETE));
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_EXCESS],
                     sizeof(in) - 1 - 5);
    assert_int_equal(r->p.excess_bytes, 5);
    assert_int_equal(rd_http1_phase(&r->p), RD_HTTP1_PH_FINISHED);
}


/* With a request pending, bytes that are not a status line (here a
 * stray CRLF after a chunked body, nginx E6) are excess too. */
static void
test_http1_excess_not_status_line(void **state)
{
    static const struct push  two[] = {
        { false, false, 11 }, { false, false, 11 }
    };
    struct opts  o = { RD_HTTP1_RESPONSE, two, 2, RD_HTTP1_EOF_FIN, 0 };
    struct rec  *r;
    const char   in[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                        "\r\n0\r\n\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";

    (void) state;
    r = CHECK(&o, in);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_EXCESS);
    assert_int_equal(r->p.excess_bytes, 21);
}


/* Bad chunk-size character, missing CRLF after data, and a size of 2^64:
 * invalid_chunked at the offending byte, the parser stops. */
static void
test_http1_invalid_chunked_hard(void **state)
{
    struct rec  *r;
    const char   hdr[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         "\r\n";
    const char   bad[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         "\r\nzz\r\n";
    const char   nocrlf[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                            "\r\n\r\n2\r\nabX\r\n0\r\n\r\n";
    const char   big[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         "\r\n10000000000000000\r\n";
    const char   max[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         "\r\n7fffffffffffffff\r\nab";

    (void) state;
    r = CHECK(&resp_get_fin, bad);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_INVALID_CHUNKED);
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_INVALID_CHUNKED],
                     sizeof(hdr) - 1);
    assert_true(r->msgs[0].flags & RD_HTTP1_F_CHUNK_HARD);
    assert_int_equal(r->p.err, RD_HTTP1_E_CHUNKED);
    assert_int_equal(r->nerror, 1);
    assert_int_equal(r->rc, RD_HTTP1_UNSAFE);

    r = CHECK(&resp_get_fin, nocrlf);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_INVALID_CHUNKED);
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_INVALID_CHUNKED],
                     sizeof(hdr) - 1 + 5);
    assert_int_equal(r->msgs[0].body_bytes, 2);

    r = CHECK(&resp_get_fin, big);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_INVALID_CHUNKED);
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_INVALID_CHUNKED],
                     sizeof(hdr) - 1 + 16);

    /* 2^63 - 1 is still a valid size: cut short, not invalid */
    r = CHECK(&resp_get_fin, max);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_TRUNCATED);
    assert_int_equal(r->msgs[0].body_bytes, 2);
}


/* Bare LF in chunk framing: parsed on (nginx < 1.29.4), but flagged
 * invalid_chunked with CHUNK_BARE_LF, not CHUNK_HARD. */
static void
test_http1_chunked_bare_lf_soft(void **state)
{
    struct rec  *r;
    const char   in[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                        "\r\n3\nabc\n0\n\n";

    (void) state;
    r = CHECK(&resp_get_fin, in);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_INVALID_CHUNKED);
    assert_true(HAS(&r->msgs[0], RD_HTTP1_COMPLETE));
    assert_true(r->msgs[0].flags & RD_HTTP1_F_CHUNK_BARE_LF);
    assert_false(r->msgs[0].flags & RD_HTTP1_F_CHUNK_HARD);
    assert_int_equal(r->msgs[0].body_bytes, 3);
    assert_int_equal(r->msgs[0].off_end, sizeof(in) - 1);
    assert_int_equal(r->rc, RD_HTTP1_SAFE);
}


/* CL and TE together: chunked wins, cl_and_te at the second header. */
static void
test_http1_cl_and_te_chunked_wins(void **state)
{
    struct rec  *r;
    const char   in[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"
                        "2\r\nok\r\n0\r\n\r\n";

    (void) state;
    r = CHECK(&resp_get_fin, in);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_CL_AND_TE);
    assert_true(HAS(&r->msgs[0], RD_HTTP1_COMPLETE));
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_CL_AND_TE], 38);
    assert_int_equal(r->msgs[0].body_bytes, 2);
    assert_int_equal(r->msgs[0].off_end, sizeof(in) - 1);
}


/* Non-numeric, differing duplicate, and > 2^63-1 Content-Length are
 * bad_content_length; a response then reads until close. */
static void
test_http1_bad_content_length(void **state)
{
    struct rec  *r;

    (void) state;
    r = CHECK(&resp_get_fin, "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n"
              "\r\nabc");
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_BAD_CONTENT_LENGTH);
    assert_true(HAS(&r->msgs[0], RD_HTTP1_CLOSE_DELIMITED));
    assert_int_equal(r->msgs[0].body_bytes, 3);
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_BAD_CONTENT_LENGTH],
                     17);

    r = CHECK(&resp_get_fin, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
              "Content-Length: 3\r\n\r\nabc");
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_BAD_CONTENT_LENGTH);

    r = CHECK(&resp_get_fin, "HTTP/1.1 200 OK\r\n"
              "Content-Length: 9223372036854775808\r\n\r\nabc");
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_BAD_CONTENT_LENGTH);
    assert_int_equal(r->msgs[0].content_length, -1);

    /* identical duplicates and 2^63-1 are fine */
    r = CHECK(&resp_get_fin, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
              "Content-Length:  3 \r\n\r\nabc");
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_COMPLETE);
    r = CHECK(&resp_get_fin, "HTTP/1.1 200 OK\r\n"
              "Content-Length: 9223372036854775807\r\n\r\nabc");
    assert_int_equal(r->msgs[0].content_length, INT64_MAX);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_TRUNCATED);

    /* a request stops the parser (nginx answers 400) */
    r = CHECK(&req_fin, "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\nab");
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_BAD_CONTENT_LENGTH);
    assert_int_equal(r->p.err, RD_HTTP1_E_CONTENT_LENGTH);
    assert_int_equal(r->p.ignored_bytes, 2);
}


/* A chunked answer to an HTTP/1.0 request is flagged, still de-chunked. */
static void
test_http1_chunked_to_http10(void **state)
{
    static const struct push  v10[] = { { false, false, 10 } };
    struct opts  o = { RD_HTTP1_RESPONSE, v10, 1, RD_HTTP1_EOF_FIN, 0 };
    struct rec  *r;
    const char   in[] = "HTTP/1.1 200 OK\r\nServer: gunicorn\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n"
                        "\r\n";

    (void) state;
    r = CHECK(&o, in);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_CHUNKED_TO_HTTP10);
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_CHUNKED_TO_HTTP10], 35);
    assert_true(HAS(&r->msgs[0], RD_HTTP1_COMPLETE));
    assert_int_equal(r->msgs[0].body_bytes, 1);
    assert_int_equal(r->msgs[0].req_version, 10);
}


/* A gap inside a Content-Length body is counted: unknown_gap, never
 * truncated; the next message still parses. */
static void
test_http1_gap_in_cl_body_counted(void **state)
{
    static const struct push  two[] = {
        { false, false, 11 }, { false, false, 11 }
    };
    struct rec   *r = &whole;
    const char    a[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab";
    const char    b[] = "ghijHTTP/1.1 204 No\r\n\r\n";
    int           i;

    (void) state;
    memset(r, 0, sizeof(*r));
    rd_http1_init(&r->p, RD_HTTP1_RESPONSE, 0, cb, r);
    for (i = 0; i < 2; i++) {
        rd_http1_push_request(&r->p, two[i].head, two[i].connect, 11);
    }
    rd_http1_feed(&r->p, (const uint8_t *) a, sizeof(a) - 1, 1);
    rd_http1_gap(&r->p, 4);
    rd_http1_feed(&r->p, (const uint8_t *) b, sizeof(b) - 1, 2);
    r->rc = rd_http1_finish(&r->p, RD_HTTP1_EOF_RST);
    assert_int_equal(r->nmsgs, 2);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_UNKNOWN_GAP);
    assert_false(HAS(&r->msgs[0], RD_HTTP1_TRUNCATED));
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_UNKNOWN_GAP],
                     sizeof(a) - 1);
    assert_int_equal(r->msgs[0].body_bytes, 10);
    assert_int_equal(r->msgs[0].gap_bytes, 4);
    assert_int_equal(r->msgs[1].status, 204);
    assert_int_equal(r->rc, RD_HTTP1_SAFE);
    check_accounting(r);
}


/* A gap in a header, or between messages, loses sync: the message ends
 * unknown_gap and the direction stops (LOST), no guessing. */
static void
test_http1_gap_in_header_loses_sync(void **state)
{
    struct rec  *r = &whole;
    const char   a[] = "GET / HTTP/1.1\r\nHo";
    const char   b[] = "st: x\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";

    (void) state;
    memset(r, 0, sizeof(*r));
    rd_http1_init(&r->p, RD_HTTP1_REQUEST, 0, cb, r);
    rd_http1_feed(&r->p, (const uint8_t *) a, sizeof(a) - 1, 1);
    rd_http1_gap(&r->p, 3);
    assert_int_equal(rd_http1_phase(&r->p), RD_HTTP1_PH_LOST);
    rd_http1_feed(&r->p, (const uint8_t *) b, sizeof(b) - 1, 2);
    r->rc = rd_http1_finish(&r->p, RD_HTTP1_EOF_FIN);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_UNKNOWN_GAP);
    assert_int_equal(r->msgs[0].off_end, sizeof(a) - 1);
    assert_int_equal(r->rc, RD_HTTP1_UNSAFE);
    check_accounting(r);
}


/* A gap inside chunk data that fits the chunk keeps the framing. */
static void
test_http1_gap_in_chunk_data(void **state)
{
    struct rec  *r = &whole;
    const char   a[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                       "\r\na\r\nab";
    const char   b[] = "ij\r\n0\r\n\r\n";

    (void) state;
    memset(r, 0, sizeof(*r));
    rd_http1_init(&r->p, RD_HTTP1_RESPONSE, 0, cb, r);
    rd_http1_feed(&r->p, (const uint8_t *) a, sizeof(a) - 1, 1);
    rd_http1_gap(&r->p, 6);
    rd_http1_feed(&r->p, (const uint8_t *) b, sizeof(b) - 1, 2);
    r->rc = rd_http1_finish(&r->p, RD_HTTP1_EOF_FIN);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_UNKNOWN_GAP);
    assert_true(HAS(&r->msgs[0], RD_HTTP1_COMPLETE));
    assert_int_equal(r->msgs[0].body_bytes, 10);
    check_accounting(r);
}


/* The header block cap: a block of exactly cap bytes passes, one byte
 * less cap overflows at the first byte beyond it. */
static void
test_http1_header_overflow_at_cap(void **state)
{
    struct opts  o = resp_get_fin;
    struct rec  *r;
    const char   in[] = "HTTP/1.1 200 OK\r\nX-Big: 0123456789\r\n\r\n";

    (void) state;
    o.cap = sizeof(in) - 1;
    r = CHECK(&o, in);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_COMPLETE);
    assert_true(HAS(&r->msgs[0], RD_HTTP1_CLOSE_DELIMITED));
    assert_int_equal(r->msgs[0].header_bytes, sizeof(in) - 1);

    o.cap = sizeof(in) - 2;
    r = CHECK(&o, in);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_HEADER_OVERFLOW);
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_HEADER_OVERFLOW],
                     sizeof(in) - 2);
    assert_int_equal(r->msgs[0].header_bytes, sizeof(in) - 2);
    assert_int_equal(r->p.err, RD_HTTP1_E_HEADER_OVERFLOW);
    assert_int_equal(rd_http1_phase(&r->p), RD_HTTP1_PH_FINISHED);

    /* the cap also holds inside the status line */
    o.cap = 8;
    r = CHECK(&o, in);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_HEADER_OVERFLOW);
    assert_int_equal(r->msgs[0].header_bytes, 8);
}


/* Obsolete line folding continues the previous header (flagged), and
 * its tokens still count. */
static void
test_http1_obs_fold_continues(void **state)
{
    struct rec  *r;
    const char   in[] = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
                        "\t(Debian)\r\nConnection: keep-alive,\r\n close\r\n"
                        "Content-Length: 0\r\n\r\n";

    (void) state;
    r = CHECK(&resp_get_fin, in);
    assert_true(r->msgs[0].flags & RD_HTTP1_F_OBS_FOLD);
    assert_int_equal(r->msgs[0].server_len, 21);
    assert_memory_equal(r->msgs[0].server, "nginx/1.22.1 (Debian)", 21);
    assert_int_equal(r->msgs[0].conn,
                     RD_HTTP1_CONN_KEEPALIVE | RD_HTTP1_CONN_CLOSE);
    assert_false(r->msgs[0].keep_alive);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_COMPLETE);
}


/* Bare LF line ends in the header are accepted (nginx 1.22), flagged. */
static void
test_http1_bare_lf_header_accepted(void **state)
{
    struct rec  *r;
    const char   in[] = "HTTP/1.1 200 OK\nContent-Length: 2\n\nok";

    (void) state;
    r = CHECK(&resp_get_fin, in);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_COMPLETE);
    assert_true(r->msgs[0].flags & RD_HTTP1_F_BARE_LF);
    assert_int_equal(r->msgs[0].header_bytes, sizeof(in) - 3);
}


/* A first reply without a status line is HTTP/0.9: version 9, every
 * byte is body, close-delimited (nginx C5, status 009). */
static void
test_http1_http09_reply(void **state)
{
    struct rec  *r;
    const char   in[] = "HTTP/x <html>hello</html>";

    (void) state;
    r = CHECK(&resp_get_fin, in);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->msgs[0].version, 9);
    assert_int_equal(r->msgs[0].status, 0);
    assert_true(r->msgs[0].flags & RD_HTTP1_F_HTTP09);
    assert_int_equal(r->msgs[0].header_bytes, 0);
    assert_int_equal(r->msgs[0].body_bytes, sizeof(in) - 1);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_COMPLETE);
    assert_true(HAS(&r->msgs[0], RD_HTTP1_CLOSE_DELIMITED));
    assert_int_equal(r->rc, RD_HTTP1_SAFE);
    assert_int_equal(rd_http1_pending(&r->p), 0);

    /* an HTTP/0.9 request: no header block, no body */
    r = CHECK(&req_fin, "GET /old\r\n");
    assert_int_equal(r->msgs[0].version, 9);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_NO_BODY);
}


/* The first response with nothing pushed assumes GET HTTP/1.1. */
static void
test_http1_no_request_assumed(void **state)
{
    struct rec  *r;

    (void) state;
    r = CHECK(&resp_fin, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
    assert_true(r->msgs[0].flags & RD_HTTP1_F_NO_REQUEST);
    assert_int_equal(r->msgs[0].body_bytes, 1);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_COMPLETE);
}


/* Keep-alive per RFC 9112 9.3: 1.0 needs keep-alive, 1.1 unless close;
 * bytes after a non-keep-alive response are excess. */
static void
test_http1_keep_alive_rules(void **state)
{
    static const struct push  two[] = {
        { false, false, 11 }, { false, false, 11 }
    };
    struct opts  o = { RD_HTTP1_RESPONSE, two, 2, RD_HTTP1_EOF_FIN, 0 };
    struct rec  *r;

    (void) state;
    r = CHECK(&o, "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
              "Content-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n"
              "Connection: close\r\nContent-Length: 1\r\n\r\ny");
    assert_int_equal(r->nmsgs, 2);
    assert_true(r->msgs[0].keep_alive);
    assert_false(r->msgs[1].keep_alive);

    r = CHECK(&o, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx"
              "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny");
    assert_int_equal(r->nmsgs, 1);
    assert_false(r->msgs[0].keep_alive);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_EXCESS);
}


/* Target longer than 128 bytes is truncated and flagged. */
static void
test_http1_long_target_truncated(void **state)
{
    char         in[400];
    struct rec  *r;
    int          n;

    (void) state;
    n = snprintf(in, sizeof(in), "GET /%0200d HTTP/1.1\r\n\r\n", 0);
    r = check(&req_fin, in, (size_t) n);
    assert_int_equal(r->msgs[0].target_len, RD_HTTP1_TARGET_LEN);
    assert_true(r->msgs[0].flags & RD_HTTP1_F_TARGET_TRUNC);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_NO_BODY);
}


/* Syntax errors stop the parser with a reason; later bytes are only
 * counted; feed returns -RD_EPROTO. */
static void
test_http1_syntax_error_stops(void **state)
{
    struct rec      *r;
    struct rd_http1  p;
    const char       bad[] = "get / HTTP/1.1\r\n\r\n";

    (void) state;
    r = CHECK(&req_fin, "GET / HTTP/1.1\r\nBad Name: x\r\n\r\nGET / "
              "HTTP/1.1\r\n\r\n");
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->nerror, 1);
    assert_int_equal(r->p.err, RD_HTTP1_E_HEADER);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_INCOMPLETE);

    rd_http1_init(&p, RD_HTTP1_REQUEST, 0, NULL, NULL);
    assert_int_equal(rd_http1_feed(&p, (const uint8_t *) bad,
                                   sizeof(bad) - 1, 1), -RD_EPROTO);
    assert_int_equal(p.err, RD_HTTP1_E_START_LINE);
    assert_non_null(p.reason);
    assert_int_equal(rd_http1_finish(&p, RD_HTTP1_EOF_FIN),
                     RD_HTTP1_UNSAFE);
    assert_int_equal(rd_http1_finish(&p, RD_HTTP1_EOF_FIN), -RD_EINVAL);
}


/* ts_begin is the ts of the first byte, ts_end that of the last. */
static void
test_http1_timestamps(void **state)
{
    struct rec  *r = &whole;
    const char   a[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab";

    (void) state;
    memset(r, 0, sizeof(*r));
    rd_http1_init(&r->p, RD_HTTP1_RESPONSE, 0, cb, r);
    rd_http1_feed(&r->p, (const uint8_t *) "HTT", 3, 100);
    rd_http1_feed(&r->p, (const uint8_t *) a + 3, sizeof(a) - 4, 200);
    rd_http1_feed(&r->p, (const uint8_t *) "cd", 2, 300);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->msgs[0].ts_begin, 100);
    assert_int_equal(r->msgs[0].ts_end, 300);
}


/* The request FIFO is bounded; overflow is refused and counted. */
static void
test_http1_fifo_bounded(void **state)
{
    struct rd_http1  p;
    int              i;

    (void) state;
    rd_http1_init(&p, RD_HTTP1_RESPONSE, 0, NULL, NULL);
    for (i = 0; i < RD_HTTP1_FIFO_LEN; i++) {
        assert_int_equal(rd_http1_push_request(&p, false, false, 11), RD_OK);
    }
    assert_int_equal(rd_http1_push_request(&p, false, false, 11),
                     -RD_ENOMEM);
    assert_int_equal(p.fifo_dropped, 1);
    assert_int_equal(rd_http1_pending(&p), RD_HTTP1_FIFO_LEN);
}


/*
 * check(), plus the input cut once at every position: long runs reach
 * the parser's multi-byte scans in both halves.  Result in `whole`.
 */
static struct rec *
check_all_cuts(const struct opts *o, const char *in, size_t len)
{
    size_t  cuts[2];
    size_t  k;

    (void) check(o, in, len);
    for (k = 1; k < len; k++) {
        cuts[0] = k;
        cuts[1] = 0;
        run(&other, o, in, len, cuts);
        if (strcmp(whole.log, other.log) != 0) {
            print_error("whole:\n%s\ncut at %zu:\n%s\n", whole.log, k,
                        other.log);
            fail();
        }
    }
    return &whole;
}


/* Long values holding TAB, other control bytes and 8-bit bytes are kept
 * or skipped exactly: Server truncated at 64 bytes, list tokens and
 * Content-Length read through the runs, header_bytes exact. */
static void
test_http1_long_values_scanned_exactly(void **state)
{
    struct rec  *r;
    const char   in[] = "HTTP/1.1 200 OK\r\n"
                        "X-Skip: a\tb\x01" "c\x0b\x0c\x0e\x1f\x7f\x80\xff"
                        "0123456789abcdefghijklmnopqrstuvwxyz\r\n"
                        "Server: \t nginx/1.22.1 (Debian) with a very long"
                        " suffix that does not fit\t \r\n"
                        "connection:   Keep-Alive  ,  x y , upgrade,\r\n"
                        "X-Other-Long-Header-Name-Beyond-24: close\r\n"
                        "Content-Length:\t  12345678901234   \r\n"
                        "Upgrade:    \t h2c\r\n\r\n";

    (void) state;
    r = check_all_cuts(&resp_get_fin, in, sizeof(in) - 1);
    assert_int_equal(r->nmsgs, 1);
    assert_int_equal(r->msgs[0].header_bytes, sizeof(in) - 1);
    /* the 64 bytes kept end in the TAB, trimmed as trailing OWS */
    assert_int_equal(r->msgs[0].server_len, RD_HTTP1_SERVER_LEN - 1);
    assert_memory_equal(r->msgs[0].server, "nginx/1.22.1 (Debian) with a "
                        "very long suffix that does not fit",
                        RD_HTTP1_SERVER_LEN - 1);
    assert_true(r->msgs[0].flags & RD_HTTP1_F_SERVER_TRUNC);
    assert_true(r->msgs[0].flags & RD_HTTP1_F_UPGRADE_HDR);
    assert_int_equal(r->msgs[0].conn,
                     RD_HTTP1_CONN_KEEPALIVE | RD_HTTP1_CONN_UPGRADE);
    assert_int_equal(r->msgs[0].content_length, 12345678901234);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_TRUNCATED);
    assert_int_equal(r->p.err, RD_HTTP1_E_NONE);
}


/* A NUL or a CR without LF deep inside a long value or reason phrase
 * stops the parser at that very byte. */
static void
test_http1_error_inside_long_run_at_offset(void **state)
{
    struct rec  *r;
    const char   nul[] = "HTTP/1.1 200 OK\r\n"
                         "X-Long: 0123456789abcdefghij\0klmnop\r\n\r\n";
    const char   cr[] = "HTTP/1.1 200 OK\r\n"
                        "X-Long: 0123456789abcdefghij\rklmnop\r\n\r\n";
    const char   reason[] = "HTTP/1.1 200 A long reason phrase\0 here\r\n"
                            "\r\n";
    const char   req[] = "GET /a/very/long/target/path?q=1 HTTP/1.1\r\n"
                         "Host: example.com\r\nBad Name: x\r\n\r\n";

    (void) state;
    r = check_all_cuts(&resp_get_fin, nul, sizeof(nul) - 1);
    assert_int_equal(r->p.err, RD_HTTP1_E_HEADER);
    assert_string_equal(r->p.reason, "NUL in header value");
    assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_INCOMPLETE], 45);
    assert_int_equal(r->msgs[0].off_end, 45);

    r = check_all_cuts(&resp_get_fin, cr, sizeof(cr) - 1);
    assert_string_equal(r->p.reason, "CR without LF in header");
    assert_int_equal(r->msgs[0].off_end, 46);

    r = check_all_cuts(&resp_get_fin, reason, sizeof(reason) - 1);
    assert_int_equal(r->p.err, RD_HTTP1_E_START_LINE);
    assert_int_equal(r->msgs[0].off_end, 33);

    r = check_all_cuts(&req_fin, req, sizeof(req) - 1);
    assert_int_equal(r->p.err, RD_HTTP1_E_HEADER);
    assert_string_equal(r->p.reason, "invalid header name");
    assert_int_equal(r->msgs[0].off_end, 65);
    assert_int_equal(r->msgs[0].target_len, 28);
    assert_int_equal(r->msgs[0].version, 11);
}


/* The header cap holds at every byte, wherever it lands: in the start
 * line, a name, a skipped or a kept value, a line end. */
static void
test_http1_header_cap_at_every_byte(void **state)
{
    struct opts  o = resp_get_fin;
    struct opts  q = req_fin;
    struct rec  *r;
    uint32_t     cap;
    const char   resp[] = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
                          "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
                          "Content-Length: 2\r\n\r\nok";
    const char   req[] = "POST /api/v1/items/3?page=2 HTTP/1.1\r\n"
                         "Host: backend\r\nContent-Length: 1\r\n\r\nx";

    (void) state;
    for (cap = 1; cap < sizeof(resp) - 3; cap++) {
        o.cap = cap;
        r = check_all_cuts(&o, resp, sizeof(resp) - 1);
        assert_int_equal(r->msgs[0].primary, RD_HTTP1_HEADER_OVERFLOW);
        assert_int_equal(r->msgs[0].finding_off[RD_HTTP1_HEADER_OVERFLOW],
                         cap);
        assert_int_equal(r->msgs[0].header_bytes, cap);
    }
    o.cap = cap;
    r = check_all_cuts(&o, resp, sizeof(resp) - 1);
    assert_int_equal(r->msgs[0].primary, RD_HTTP1_COMPLETE);

    for (cap = 1; cap < sizeof(req) - 2; cap++) {
        q.cap = cap;
        r = check_all_cuts(&q, req, sizeof(req) - 1);
        assert_int_equal(r->msgs[0].primary, RD_HTTP1_HEADER_OVERFLOW);
        assert_int_equal(r->msgs[0].header_bytes, cap);
        assert_int_equal(r->p.ignored_bytes, sizeof(req) - 1 - cap);
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_http1_finding_names_exact),
        cmocka_unit_test(test_http1_request_get_facts),
        cmocka_unit_test(test_http1_forwarding_headers),
        cmocka_unit_test(test_http1_request_id),
        cmocka_unit_test(test_http1_bad_cl_quoted),
        cmocka_unit_test(test_http1_request_cl_body_counted),
        cmocka_unit_test(test_http1_chunked_ext_trailers),
        cmocka_unit_test(test_http1_pipelining_with_head),
        cmocka_unit_test(test_http1_204_304_no_body),
        cmocka_unit_test(test_http1_1xx_does_not_consume_request),
        cmocka_unit_test(test_http1_1xx_without_request),
        cmocka_unit_test(test_http1_101_upgraded),
        cmocka_unit_test(test_http1_connect_tunnel),
        cmocka_unit_test(test_http1_close_delimited_fin_rst_capture_end),
        cmocka_unit_test(test_http1_close_delimited_fin_is_complete),
        cmocka_unit_test(test_http1_truncated_cl_chunked_header),
        cmocka_unit_test(test_http1_excess_after_cl_body),
        cmocka_unit_test(test_http1_excess_not_status_line),
        cmocka_unit_test(test_http1_invalid_chunked_hard),
        cmocka_unit_test(test_http1_chunked_bare_lf_soft),
        cmocka_unit_test(test_http1_cl_and_te_chunked_wins),
        cmocka_unit_test(test_http1_bad_content_length),
        cmocka_unit_test(test_http1_chunked_to_http10),
        cmocka_unit_test(test_http1_gap_in_cl_body_counted),
        cmocka_unit_test(test_http1_gap_in_header_loses_sync),
        cmocka_unit_test(test_http1_gap_in_chunk_data),
        cmocka_unit_test(test_http1_header_overflow_at_cap),
        cmocka_unit_test(test_http1_obs_fold_continues),
        cmocka_unit_test(test_http1_bare_lf_header_accepted),
        cmocka_unit_test(test_http1_http09_reply),
        cmocka_unit_test(test_http1_no_request_assumed),
        cmocka_unit_test(test_http1_keep_alive_rules),
        cmocka_unit_test(test_http1_long_target_truncated),
        cmocka_unit_test(test_http1_syntax_error_stops),
        cmocka_unit_test(test_http1_timestamps),
        cmocka_unit_test(test_http1_fifo_bounded),
        cmocka_unit_test(test_http1_long_values_scanned_exactly),
        cmocka_unit_test(test_http1_error_inside_long_run_at_offset),
        cmocka_unit_test(test_http1_header_cap_at_every_byte),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
