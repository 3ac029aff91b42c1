/*
 * Differential test of the HTTP/1.x framer against Debian's
 * libhttp-parser (nodejs/http-parser 2.9): on a corpus of valid streams
 * (requests and responses; Content-Length, chunked, close-delimited;
 * pipelined), both parsers must accept, and find the same message end
 * offsets and the same body lengths.  http_parser is fed one byte at a
 * time so that the offset of each on_message_complete is known.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <http_parser.h>

#include "rstdiag/http1.h"

#define MAXMSG  16

struct side {
    int         n;
    uint64_t    end[MAXMSG];
    uint64_t    body[MAXMSG];
};

struct entry {
    int          type;
    const char  *heads;     /* responses: 'H' per HEAD request, '.' else */
    const char  *data;
};

struct hp_ctx {
    struct side      *s;
    const char       *heads;
    int               begun;
    uint64_t          pos;
};


static const struct entry  corpus[] = {
    { RD_HTTP1_REQUEST, "", "GET / HTTP/1.1\r\nHost: a\r\n\r\n" },
    { RD_HTTP1_REQUEST, "", "GET /a?b=c HTTP/1.0\r\n\r\n" },
    { RD_HTTP1_REQUEST, "",
      "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"
      "hello world" },
    { RD_HTTP1_REQUEST, "",
      "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n" },
    { RD_HTTP1_REQUEST, "",
      "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;ext=1\r\nabc\r\n0\r\nTrailer: v\r\n\r\n" },
    { RD_HTTP1_REQUEST, "",
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
      "HEAD /3 HTTP/1.1\r\nHost: a\r\n\r\n" },
    { RD_HTTP1_REQUEST, "",
      "POST /1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
      "POST /2 HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
      "DELETE /3 HTTP/1.1\r\n\r\n" },
    { RD_HTTP1_REQUEST, "",
      "POST /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n"
      "\r\nbody" },
    { RD_HTTP1_REQUEST, "",
      "OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n" },
    { RD_HTTP1_REQUEST, "",
      "GET / HTTP/1.1\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n" },
    { RD_HTTP1_REQUEST, "",
      "PATCH /q HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}"
      "GET /r HTTP/1.1\r\n\r\n" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "a;foo=bar\r\n0123456789\r\n0\r\nExpires: never\r\nX: y\r\n\r\n" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nclose delimited" },
    { RD_HTTP1_RESPONSE, "...",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nbc"
      "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n" },
    { RD_HTTP1_RESPONSE, ".H.",
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ndef" },
    { RD_HTTP1_RESPONSE, "..",
      "HTTP/1.1 204 No Content\r\n\r\n"
      "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" },
    { RD_HTTP1_RESPONSE, "..",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1\r\na\r\n0\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\n"
      "Content-Type: text/html\r\nContent-Length: 9\r\n\r\nnot found" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
      "Connection: close\r\n\r\n" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n0123456789abcdef" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "FF\r\n"
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
      "\r\n0\r\n\r\n" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n"
      "Content-Length: 0\r\n\r\n" },
    { RD_HTTP1_RESPONSE, "H",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\n\r\n" },
    { RD_HTTP1_RESPONSE, ".",
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nno length" },
    { RD_HTTP1_RESPONSE, "..",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n"
      "\r\nhiHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye" },
};


static int
hp_begin(http_parser *hp)
{
    struct hp_ctx  *c = hp->data;

    c->begun++;
    return 0;
}


static int
hp_headers(http_parser *hp)
{
    struct hp_ctx  *c = hp->data;
    int             i = c->s->n;

    if (hp->type == HTTP_RESPONSE && hp->status_code / 100 != 1
        && c->heads[0] != '\0')
    {
        /* this final response consumes one request */
        if (c->heads[0] == 'H') {
            c->heads++;
            return 1;       /* no body follows */
        }
        c->heads++;
    }
    (void) i;
    return 0;
}


static int
hp_body(http_parser *hp, const char *at, size_t len)
{
    struct hp_ctx  *c = hp->data;

    (void) at;
    c->s->body[c->s->n] += len;
    return 0;
}


static int
hp_complete(http_parser *hp)
{
    struct hp_ctx  *c = hp->data;

    c->s->end[c->s->n] = c->pos;
    c->s->n++;
    return 0;
}


static void
run_http_parser(const struct entry *e, struct side *s)
{
    http_parser_settings  st;
    http_parser           hp;
    struct hp_ctx         c;
    size_t                len, i, n;

    memset(s, 0, sizeof(*s));
    memset(&st, 0, sizeof(st));
    memset(&c, 0, sizeof(c));
    st.on_message_begin = hp_begin;
    st.on_headers_complete = hp_headers;
    st.on_body = hp_body;
    st.on_message_complete = hp_complete;
    c.s = s;
    c.heads = e->heads;
    http_parser_init(&hp, e->type == RD_HTTP1_REQUEST ? HTTP_REQUEST
                                                      : HTTP_RESPONSE);
    hp.data = &c;

    len = strlen(e->data);
    for (i = 0; i < len && !hp.upgrade; i++) {
        c.pos = i + 1;
        n = http_parser_execute(&hp, &st, e->data + i, 1);
        if (hp.upgrade) {
            break;
        }
        assert_int_equal(n, 1);
        assert_int_equal(HTTP_PARSER_ERRNO(&hp), HPE_OK);
    }
    c.pos = len;
    if (!hp.upgrade) {
        (void) http_parser_execute(&hp, &st, NULL, 0);
        assert_int_equal(HTTP_PARSER_ERRNO(&hp), HPE_OK);
    }
}


static void
on_msg(void *ctx, const struct rd_http1 *p, const struct rd_http1_msg *m,
    int event)
{
    struct side  *s = ctx;

    (void) p;
    assert_int_not_equal(event, RD_HTTP1_EV_ERROR);
    assert_int_not_equal(event, RD_HTTP1_EV_EXCESS);
    if (event == RD_HTTP1_EV_END) {
        assert_true(s->n < MAXMSG);
        assert_true(m->findings & (1u << RD_HTTP1_COMPLETE));
        s->end[s->n] = m->off_end;
        s->body[s->n] = m->body_bytes;
        s->n++;
    }
}


static void
run_rd(const struct entry *e, struct side *s)
{
    struct rd_http1  p;
    const char      *h;

    memset(s, 0, sizeof(*s));
    rd_http1_init(&p, e->type, 0, on_msg, s);
    for (h = e->heads; *h != '\0'; h++) {
        assert_int_equal(rd_http1_push_request(&p, *h == 'H', false, 11),
                         RD_OK);
    }
    assert_int_equal(rd_http1_feed(&p, (const uint8_t *) e->data,
                                   strlen(e->data), 1), RD_OK);
    assert_int_equal(rd_http1_finish(&p, RD_HTTP1_EOF_FIN), RD_HTTP1_SAFE);
}


/* Same message boundaries and body lengths as http_parser, entry by
 * entry, on the whole corpus. */
static void
test_http1_diff_boundaries_match_http_parser(void **state)
{
    struct side  a, b;
    size_t       i;
    int          k;

    (void) state;
    assert_true(RD_NELEMS(corpus) >= 30);
    for (i = 0; i < RD_NELEMS(corpus); i++) {
        run_http_parser(&corpus[i], &a);
        run_rd(&corpus[i], &b);
        assert_true(a.n >= 1);
        if (a.n != b.n) {
            print_error("entry %zu: http_parser %d msgs, rd %d\n", i, a.n,
                        b.n);
            fail();
        }
        for (k = 0; k < a.n; k++) {
            if (a.end[k] != b.end[k] || a.body[k] != b.body[k]) {
                print_error("entry %zu msg %d: end %" PRIu64 "/%" PRIu64
                            " body %" PRIu64 "/%" PRIu64 "\n", i, k,
                            a.end[k], b.end[k], a.body[k], b.body[k]);
                fail();
            }
        }
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_http1_diff_boundaries_match_http_parser),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
