/*
 * lab-upstream: a deliberately misbehaving HTTP/1.x upstream for the nginx
 * lab (tests/lab/run).  One process listens on one address and misbehaves
 * in the way its --mode names; the "healthy" family answers by request
 * path.  It is bounded: it exits after --max-seconds whatever happens.
 *
 *   lab-upstream --listen ADDR:PORT --mode MODE [--delay-ms N]
 *                [--max-seconds N] [--body-bytes N] [--sndbuf N]
 *
 * RSTs are produced the way real servers produce them: close() with
 * SO_LINGER {1, 0} (a killed or aborting worker), or close() with unread
 * request bytes in the receive queue (RFC 2525 sec. 2.17; Linux tcp_close()).
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>


#define LAB_MAX_HEADER      65536   /* request header cap, then close */
#define LAB_BIG_HEADER      10240   /* big_header: > proxy_buffer_size 4k */
#define LAB_HUGE_HEADER_LEN 70000   /* huge_header: > rstdiag's 64 KiB cap */
#define LAB_MID_CL          100000  /* rst_mid_body: announced length */
#define LAB_MID_SENT        30000   /* rst_mid_body: bytes sent before RST */
#define LAB_IDLE_MS         10000   /* close idle connections after this */
#define LAB_RST_SETTLE_MS   100     /* let the peer read before an RST */
#define LAB_SMALL_READ      1024    /* early_413: read little of the body */
#define LAB_BIG_BODY        (8L << 20)  /* big_body_*: default body size */
#define LAB_SNDBUF          8192    /* big_body_*: default SO_SNDBUF (the
                                     * kernel doubles it) */
#define LAB_STREAM_CHUNK    8192    /* big_body_*: bytes queued per refill */

/* send_then() for a string literal: its length without the NUL. */
#define LAB_SEND_LIT(c, lit, after) send_then(c, lit, sizeof(lit) - 1, after)


enum lab_mode {
    LAB_RST_BEFORE_HEADER = 1,
    LAB_RST_MID_BODY,
    LAB_FIN_BEFORE_HEADER,
    LAB_SHORT_BODY,
    LAB_LONG_BODY,
    LAB_CHUNKED_HTTP10,
    LAB_INVALID_CHUNKED,
    LAB_CHUNKED_CUT,
    LAB_BIG_HEADER_MODE,
    LAB_SLOW,
    LAB_WAIT_THEN_RST,
    LAB_HEALTHY,
    LAB_KA_RST_SECOND,
    LAB_KA_IDLE_FIN,
    LAB_KA_IDLE_RST,
    LAB_EARLY_413,
    LAB_CL_AND_TE,
    LAB_HUGE_HEADER,
    LAB_BAD_CL,
    LAB_BIG_BODY_SEND_TIMEOUT,
    LAB_BIG_BODY_SEND_TIMEOUT_RST
};

/* What to do once the output buffer has drained. */
enum lab_after {
    LAB_AFTER_WAIT = 0,     /* keep the connection; the peer closes */
    LAB_AFTER_FIN,          /* close() */
    LAB_AFTER_RST,          /* SO_LINGER {1, 0} + close() after a pause */
    LAB_AFTER_IDLE_FIN,     /* keep-alive: FIN after --delay-ms idle */
    LAB_AFTER_IDLE_RST,     /* keep-alive: RST after --delay-ms idle */
    LAB_AFTER_STREAM        /* big_body_*: queue more of the body */
};

struct lab_tok {
    int                  v;
    const char          *s;
};

static const struct lab_tok lab_modes[] = {
    { LAB_RST_BEFORE_HEADER, "rst_before_header" },
    { LAB_RST_MID_BODY,      "rst_mid_body" },
    { LAB_FIN_BEFORE_HEADER, "fin_before_header" },
    { LAB_SHORT_BODY,        "short_body" },
    { LAB_LONG_BODY,         "long_body" },
    { LAB_CHUNKED_HTTP10,    "chunked_http10" },
    { LAB_INVALID_CHUNKED,   "invalid_chunked" },
    { LAB_CHUNKED_CUT,       "chunked_cut" },
    { LAB_BIG_HEADER_MODE,   "big_header" },
    { LAB_SLOW,              "slow" },
    { LAB_WAIT_THEN_RST,     "wait_then_rst" },
    { LAB_HEALTHY,           "healthy" },
    { LAB_KA_RST_SECOND,     "keepalive_rst_second" },
    { LAB_KA_IDLE_FIN,       "keepalive_idle_fin" },
    { LAB_KA_IDLE_RST,       "keepalive_idle_rst" },
    { LAB_EARLY_413,         "early_413" },
    { LAB_CL_AND_TE,         "cl_and_te" },
    { LAB_HUGE_HEADER,       "huge_header" },
    { LAB_BAD_CL,            "bad_content_length" },
    { LAB_BIG_BODY_SEND_TIMEOUT, "big_body_send_timeout" },
    { LAB_BIG_BODY_SEND_TIMEOUT_RST, "big_body_send_timeout_rst" },
    { 0, NULL }
};

struct lab_srv {
    struct event_base   *base;
    int                  mode;
    long                 delay_ms;      /* slow, wait_then_rst, idle close,
                                         * big_body_*: the send timeout */
    long                 body_bytes;    /* big_body_*: Content-Length */
    long                 sndbuf;        /* big_body_*: SO_SNDBUF */
    unsigned long        nconn;         /* connections accepted */
};

struct lab_conn {
    struct lab_srv      *srv;
    struct bufferevent  *bev;
    struct event        *timer;         /* delays, idle close, RST settle */
    unsigned             nreq;          /* requests seen on this conn */
    size_t               body_left;     /* request body bytes to discard */
    long                 out_left;      /* big_body_*: body bytes to queue */
    int                  after;         /* enum lab_after once drained */
    int                  keepalive;     /* current request allows reuse */
    int                  head;          /* current request is HEAD */
    char                 target[256];   /* current request target */
};


static void conn_free(struct lab_conn *c);
static void conn_rst(struct lab_conn *c);
static void conn_drained(struct bufferevent *bev, void *arg);


static void
usage(void)
{
    const struct lab_tok  *t;

    fprintf(stderr, "usage: lab-upstream --listen ADDR:PORT --mode MODE "
            "[--delay-ms N] [--max-seconds N] [--body-bytes N] "
            "[--sndbuf N]\nmodes:");
    for (t = lab_modes; t->s != NULL; t++) {
        fprintf(stderr, " %s", t->s);
    }
    fprintf(stderr, "\n");
}


static long
parse_num(const char *s, long max)
{
    char  *end;
    long   v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max) {
        return -1;
    }
    return v;
}


static void
ms_to_tv(long ms, struct timeval *tv)
{
    tv->tv_sec = (time_t) (ms / 1000);
    tv->tv_usec = (suseconds_t) ((ms % 1000) * 1000);
}


/*
 * close() now, with whatever linger the socket has: unread input turns it
 * into an RST.  bufferevent_free() alone would close the socket only when
 * libevent runs its finalizers, a loop iteration later, and the peer could
 * act first (nginx reading an early 413 and closing, say).
 */
static void
conn_free(struct lab_conn *c)
{
    evutil_socket_t  fd;

    if (c->timer != NULL) {
        event_free(c->timer);
    }
    fd = bufferevent_getfd(c->bev);
    (void) bufferevent_setfd(c->bev, -1);
    bufferevent_free(c->bev);
    if (fd >= 0) {
        (void) evutil_closesocket(fd);
    }
    free(c);
}


/* Abortive close: the kernel sends RST and drops any unsent bytes. */
static void
conn_rst(struct lab_conn *c)
{
    struct linger  lg;
    evutil_socket_t  fd;

    fd = bufferevent_getfd(c->bev);
    lg.l_onoff = 1;
    lg.l_linger = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == -1) {
        perror("lab-upstream: SO_LINGER");
    }
    conn_free(c);
}


static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct lab_conn  *c = arg;

    (void) fd;
    (void) what;

    switch (c->after) {
    case LAB_AFTER_RST:
    case LAB_AFTER_IDLE_RST:
        conn_rst(c);
        return;
    case LAB_AFTER_STREAM:
        /*
         * The send timeout: nothing could be written for --delay-ms (the
         * peer's window is closed).  A worker that gives up closes the
         * socket; what its kernel still holds goes out before the FIN,
         * once the peer opens its window again.  The _rst mode aborts.
         */
        printf("send timeout: %ld body bytes not written, closing with "
               "%s\n", c->out_left + (long) evbuffer_get_length(
                   bufferevent_get_output(c->bev)),
               c->srv->mode == LAB_BIG_BODY_SEND_TIMEOUT_RST ? "RST" : "FIN");
        fflush(stdout);
        if (c->srv->mode == LAB_BIG_BODY_SEND_TIMEOUT_RST) {
            conn_rst(c);
        } else {
            conn_free(c);
        }
        return;
    default:
        conn_free(c);
        return;
    }
}


static void
arm(struct lab_conn *c, int after, long ms)
{
    struct timeval  tv;

    c->after = after;
    ms_to_tv(ms, &tv);
    evtimer_add(c->timer, &tv);
}


/*
 * Queue a response and say what to do when the kernel has it: the write
 * callback fires when the bufferevent's output buffer is empty.
 */
static void
send_then(struct lab_conn *c, const char *data, size_t len, int after)
{
    c->after = after;
    if (len > 0) {
        (void) bufferevent_write(c->bev, data, len);
    }
}


static void
send_fill(struct lab_conn *c, char ch, size_t n)
{
    char    buf[4096];
    size_t  k;

    memset(buf, ch, sizeof(buf));
    while (n > 0) {
        k = n < sizeof(buf) ? n : sizeof(buf);
        (void) bufferevent_write(c->bev, buf, k);
        n -= k;
    }
}


/*
 * big_body_*: queue the next piece of the body, as a worker writing a
 * large response does, and (re)start the send timeout: the write callback
 * comes back only when the kernel took everything queued.
 */
static void
stream_more(struct lab_conn *c)
{
    long  n;

    n = c->out_left < LAB_STREAM_CHUNK ? c->out_left : LAB_STREAM_CHUNK;
    if (n == 0) {
        c->after = LAB_AFTER_WAIT;
        arm(c, LAB_AFTER_WAIT, LAB_IDLE_MS);
        return;
    }
    send_fill(c, 'B', (size_t) n);
    c->out_left -= n;
    arm(c, LAB_AFTER_STREAM, c->srv->delay_ms);
}


/* The answers of the healthy family, chosen by method and path. */
static void
respond_healthy(struct lab_conn *c)
{
    char         hdr[512];
    const char  *conn_hdr, *body;
    int          n;
    int          after;

    conn_hdr = c->keepalive ? "" : "Connection: close\r\n";
    after = LAB_AFTER_WAIT;
    if (c->keepalive && c->srv->mode == LAB_KA_IDLE_FIN) {
        after = LAB_AFTER_IDLE_FIN;
    } else if (c->keepalive && c->srv->mode == LAB_KA_IDLE_RST) {
        after = LAB_AFTER_IDLE_RST;
    }

    if (strcmp(c->target, "/204") == 0) {
        n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 204 No Content\r\n%s\r\n", conn_hdr);

    } else if (strcmp(c->target, "/304") == 0) {
        n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 304 Not Modified\r\n"
                     "ETag: \"lab\"\r\n%s\r\n", conn_hdr);

    } else if (strcmp(c->target, "/chunked") == 0) {
        body = c->head ? "" : "5\r\nhello\r\n7\r\n world\n\r\n0\r\n\r\n";
        n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "Transfer-Encoding: chunked\r\n%s\r\n%s",
                     conn_hdr, body);

    } else if (strcmp(c->target, "/close") == 0) {
        /* Close-delimited body (RFC 9112 sec. 6.3 item 8): our FIN ends it. */
        n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "Connection: close\r\n\r\n%s",
                     c->head ? "" : "until close\n");
        after = LAB_AFTER_FIN;

    } else {
        n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "Content-Length: 12\r\n%s\r\n%s",
                     conn_hdr, c->head ? "" : "hello world\n");
    }

    if (n < 0 || (size_t) n >= sizeof(hdr)) {
        conn_free(c);
        return;
    }
    send_then(c, hdr, (size_t) n, after);
}


static void
delay_cb(evutil_socket_t fd, short what, void *arg)
{
    struct lab_conn  *c = arg;

    (void) fd;
    (void) what;

    evtimer_assign(c->timer, c->srv->base, timer_cb, c);
    if (c->srv->mode == LAB_WAIT_THEN_RST) {
        conn_rst(c);
        return;
    }
    respond_healthy(c);
}


/*
 * One complete request header has been read: misbehave.  Returns 1 when
 * the connection stays open for further requests, 0 when c was freed or
 * must not be touched any more by the reader.
 */
static int
respond(struct lab_conn *c)
{
    static const char  hdr_cl_fmt[] =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        "Content-Length: %lu\r\n\r\n";
    static const char  chunked_hdr[] =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    static const char  r413[] =
        "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n";
    char               buf[256];
    struct timeval     tv;
    evutil_socket_t    fd;
    int                n;

    switch (c->srv->mode) {

    case LAB_RST_BEFORE_HEADER:
        conn_rst(c);
        return 0;

    case LAB_FIN_BEFORE_HEADER:
        conn_free(c);
        return 0;

    case LAB_RST_MID_BODY:
        n = snprintf(buf, sizeof(buf), hdr_cl_fmt,
                     (unsigned long) LAB_MID_CL);
        (void) bufferevent_write(c->bev, buf, (size_t) n);
        send_fill(c, 'm', LAB_MID_SENT);
        LAB_SEND_LIT(c, "", LAB_AFTER_RST);
        return 0;

    case LAB_SHORT_BODY:
        n = snprintf(buf, sizeof(buf), hdr_cl_fmt, 1000UL);
        (void) bufferevent_write(c->bev, buf, (size_t) n);
        send_fill(c, 's', 400);
        LAB_SEND_LIT(c, "", LAB_AFTER_FIN);
        return 0;

    case LAB_LONG_BODY:
        n = snprintf(buf, sizeof(buf), hdr_cl_fmt, 10UL);
        (void) bufferevent_write(c->bev, buf, (size_t) n);
        send_fill(c, 'l', 100);
        LAB_SEND_LIT(c, "", LAB_AFTER_WAIT);
        return 0;

    case LAB_CHUNKED_HTTP10:
        (void) bufferevent_write(c->bev, chunked_hdr,
                                 sizeof(chunked_hdr) - 1);
        LAB_SEND_LIT(c, "5\r\nhello\r\n7\r\n world\n\r\n0\r\n\r\n",
                     LAB_AFTER_WAIT);
        return 0;

    case LAB_INVALID_CHUNKED:
        /* "xyz" is not a chunk-size (RFC 9112 sec. 7.1: 1*HEXDIG). */
        (void) bufferevent_write(c->bev, chunked_hdr,
                                 sizeof(chunked_hdr) - 1);
        LAB_SEND_LIT(c, "xyz\r\nhello\r\n0\r\n\r\n", LAB_AFTER_WAIT);
        return 0;

    case LAB_CHUNKED_CUT:
        (void) bufferevent_write(c->bev, chunked_hdr,
                                 sizeof(chunked_hdr) - 1);
        LAB_SEND_LIT(c, "5\r\nhello\r\n", LAB_AFTER_FIN);
        return 0;

    case LAB_BIG_HEADER_MODE:
        LAB_SEND_LIT(c, "HTTP/1.1 200 OK\r\nX-Big: ", LAB_AFTER_WAIT);
        send_fill(c, 'b', LAB_BIG_HEADER);
        LAB_SEND_LIT(c, "\r\nContent-Length: 2\r\n\r\nok", LAB_AFTER_WAIT);
        return 0;

    case LAB_SLOW:
    case LAB_WAIT_THEN_RST:
        /*
         * A busy worker: it does not notice that nginx gave up and
         * closed, so the late answer meets nginx's RST.
         */
        bufferevent_disable(c->bev, EV_READ);
        evtimer_assign(c->timer, c->srv->base, delay_cb, c);
        ms_to_tv(c->srv->delay_ms, &tv);
        evtimer_add(c->timer, &tv);
        return 0;

    case LAB_KA_RST_SECOND:
        if (c->nreq >= 2) {
            conn_rst(c);
            return 0;
        }
        respond_healthy(c);
        return c->keepalive;

    case LAB_EARLY_413:
        /*
         * Answer before reading the body and close at once with the body
         * unread: the close() turns into an RST (Go's net/http does this
         * for bodies over 256 KiB).
         */
        fd = bufferevent_getfd(c->bev);
        if (send(fd, r413, sizeof(r413) - 1, 0) == -1) {
            perror("lab-upstream: send 413");
        }
        conn_free(c);
        return 0;

    case LAB_HUGE_HEADER:
        LAB_SEND_LIT(c, "HTTP/1.1 200 OK\r\nX-Huge: ", LAB_AFTER_WAIT);
        send_fill(c, 'h', LAB_HUGE_HEADER_LEN);
        LAB_SEND_LIT(c, "\r\nContent-Length: 2\r\n\r\nok", LAB_AFTER_WAIT);
        return 0;

    case LAB_BAD_CL:
        /* not a number: nginx before 1.23.0 reads to the close */
        LAB_SEND_LIT(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "Content-Length: 12abc\r\n\r\nhello", LAB_AFTER_FIN);
        return 0;

    case LAB_BIG_BODY_SEND_TIMEOUT:
    case LAB_BIG_BODY_SEND_TIMEOUT_RST:
        /* a large body to a peer that stops reading: the send timeout
         * (uWSGI socket-timeout, a worker timeout) ends it mid-body */
        n = snprintf(buf, sizeof(buf), hdr_cl_fmt,
                     (unsigned long) c->srv->body_bytes);
        (void) bufferevent_write(c->bev, buf, (size_t) n);
        c->out_left = c->srv->body_bytes;
        stream_more(c);
        return 0;

    case LAB_CL_AND_TE:
        LAB_SEND_LIT(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "Content-Length: 100\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n0\r\n\r\n", LAB_AFTER_WAIT);
        return 0;

    default:
        respond_healthy(c);
        return c->keepalive && c->after != LAB_AFTER_FIN;
    }
}


/* Case-insensitive header lookup inside [p, end); value into out. */
static int
header_value(const char *p, const char *end, const char *name,
             char *out, size_t outlen)
{
    size_t       nlen, vlen;
    const char  *eol, *v;

    nlen = strlen(name);
    while (p < end) {
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            eol = end;
        }
        if ((size_t) (eol - p) > nlen && p[nlen] == ':'
            && strncasecmp(p, name, nlen) == 0)
        {
            v = p + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) {
                v++;
            }
            vlen = (size_t) (eol - v);
            while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' ')) {
                vlen--;
            }
            if (vlen >= outlen) {
                vlen = outlen - 1;
            }
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 1;
        }
        p = eol + 1;
    }
    return 0;
}


/*
 * Parse the request line and the few headers we care about.  The lab's
 * only client is nginx, so this is forgiving; it never reads past len.
 */
static int
parse_request(struct lab_conn *c, const char *h, size_t len)
{
    const char  *end, *sp1, *sp2, *eol;
    char         val[64];
    size_t       tlen;
    long         cl;
    int          http11;

    end = h + len;
    eol = memchr(h, '\n', len);
    sp1 = memchr(h, ' ', len);
    if (eol == NULL || sp1 == NULL || sp1 > eol) {
        return -1;
    }
    sp2 = memchr(sp1 + 1, ' ', (size_t) (eol - sp1 - 1));
    if (sp2 == NULL) {
        return -1;
    }
    tlen = (size_t) (sp2 - sp1 - 1);
    if (tlen >= sizeof(c->target)) {
        tlen = sizeof(c->target) - 1;
    }
    memcpy(c->target, sp1 + 1, tlen);
    c->target[tlen] = '\0';
    c->head = (sp1 - h == 4 && memcmp(h, "HEAD", 4) == 0);
    http11 = (eol - sp2 >= 9 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0);

    c->keepalive = http11;
    if (header_value(eol + 1, end, "Connection", val, sizeof(val))) {
        if (strcasecmp(val, "close") == 0) {
            c->keepalive = 0;
        } else if (strcasecmp(val, "keep-alive") == 0) {
            c->keepalive = 1;
        }
    }

    c->body_left = 0;
    if (header_value(eol + 1, end, "Content-Length", val, sizeof(val))) {
        cl = parse_num(val, LONG_MAX);
        if (cl < 0) {
            return -1;
        }
        c->body_left = (size_t) cl;
    }
    return 0;
}


static void
read_cb(struct bufferevent *bev, void *arg)
{
    struct lab_conn        *c = arg;
    struct evbuffer        *in;
    struct evbuffer_ptr     pos;
    size_t                  n, hlen;
    unsigned char          *h;

    in = bufferevent_get_input(bev);

    for ( ;; ) {
        if (c->body_left > 0) {
            n = evbuffer_get_length(in);
            n = n < c->body_left ? n : c->body_left;
            (void) evbuffer_drain(in, n);
            c->body_left -= n;
            if (c->body_left > 0) {
                return;
            }
        }

        pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (pos.pos < 0) {
            if (evbuffer_get_length(in) > LAB_MAX_HEADER) {
                conn_free(c);
            }
            return;
        }
        hlen = (size_t) pos.pos + 4;
        h = evbuffer_pullup(in, (ev_ssize_t) hlen);
        if (h == NULL || parse_request(c, (const char *) h, hlen) != 0) {
            conn_free(c);
            return;
        }
        (void) evbuffer_drain(in, hlen);
        c->nreq++;
        if (evtimer_pending(c->timer, NULL)) {
            /* A new request on an idle keep-alive connection. */
            evtimer_del(c->timer);
        }

        /* respond() may free c: never touch it afterwards. */
        if (respond(c) == 0) {
            return;
        }
    }
}


static void
conn_drained(struct bufferevent *bev, void *arg)
{
    struct lab_conn  *c = arg;

    (void) bev;

    switch (c->after) {
    case LAB_AFTER_FIN:
        conn_free(c);
        return;
    case LAB_AFTER_STREAM:
        stream_more(c);
        return;
    case LAB_AFTER_RST:
        /* Give the peer a moment to read what was sent, then abort. */
        arm(c, LAB_AFTER_RST, LAB_RST_SETTLE_MS);
        return;
    case LAB_AFTER_IDLE_FIN:
    case LAB_AFTER_IDLE_RST:
        arm(c, c->after, c->srv->delay_ms);
        return;
    default:
        arm(c, LAB_AFTER_WAIT, LAB_IDLE_MS);
        return;
    }
}


static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct lab_conn  *c = arg;

    (void) bev;

    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        conn_free(c);
    }
}


static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd,
          struct sockaddr *sa, int salen, void *arg)
{
    struct lab_srv   *srv = arg;
    struct lab_conn  *c;

    (void) l;
    (void) sa;
    (void) salen;

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c->srv = srv;
    c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(srv->base, timer_cb, c);
    if (c->bev == NULL || c->timer == NULL) {
        if (c->bev != NULL) {
            bufferevent_free(c->bev);
        } else {
            evutil_closesocket(fd);
        }
        if (c->timer != NULL) {
            event_free(c->timer);
        }
        free(c);
        return;
    }
    srv->nconn++;
    if (srv->mode == LAB_BIG_BODY_SEND_TIMEOUT
        || srv->mode == LAB_BIG_BODY_SEND_TIMEOUT_RST)
    {
        /* a small send buffer: the writer blocks soon after the peer's
         * window closes, as its send timeout then measures */
        int  sndbuf = (int) srv->sndbuf;

        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf))
            == -1)
        {
            perror("lab-upstream: SO_SNDBUF");
        }
    }
    if (srv->mode == LAB_EARLY_413) {
        /* Read the header and as little of the body as we can. */
        (void) bufferevent_set_max_single_read(c->bev, LAB_SMALL_READ);
    }
    bufferevent_setcb(c->bev, read_cb, conn_drained, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}


static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;

    event_base_loopbreak(arg);
}


int
main(int argc, char **argv)
{
    struct lab_srv           srv;
    struct sockaddr_in       sin;
    struct evconnlistener   *lst;
    struct event            *deadline, *sigterm, *sigint;
    struct timeval           tv;
    const struct lab_tok    *t;
    const char              *listen_at, *mode;
    char                     host[64];
    const char              *colon;
    long                     max_s, port;
    int                      i;

    listen_at = NULL;
    mode = NULL;
    max_s = 30;
    memset(&srv, 0, sizeof(srv));
    srv.delay_ms = 2000;
    srv.body_bytes = LAB_BIG_BODY;
    srv.sndbuf = LAB_SNDBUF;

    for (i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        if (strcmp(argv[i], "--listen") == 0) {
            listen_at = argv[++i];
        } else if (strcmp(argv[i], "--mode") == 0) {
            mode = argv[++i];
        } else if (strcmp(argv[i], "--delay-ms") == 0) {
            srv.delay_ms = parse_num(argv[++i], 600000);
        } else if (strcmp(argv[i], "--max-seconds") == 0) {
            max_s = parse_num(argv[++i], 3600);
        } else if (strcmp(argv[i], "--body-bytes") == 0) {
            srv.body_bytes = parse_num(argv[++i], 1L << 34);
        } else if (strcmp(argv[i], "--sndbuf") == 0) {
            srv.sndbuf = parse_num(argv[++i], 1L << 24);
        } else {
            usage();
            return 2;
        }
    }
    if (listen_at == NULL || mode == NULL || srv.delay_ms < 0 || max_s < 1
        || srv.body_bytes < 0 || srv.sndbuf < 0)
    {
        usage();
        return 2;
    }
    for (t = lab_modes; t->s != NULL; t++) {
        if (strcmp(t->s, mode) == 0) {
            srv.mode = t->v;
        }
    }
    colon = strrchr(listen_at, ':');
    if (srv.mode == 0 || colon == NULL
        || (size_t) (colon - listen_at) >= sizeof(host))
    {
        usage();
        return 2;
    }
    memcpy(host, listen_at, (size_t) (colon - listen_at));
    host[colon - listen_at] = '\0';
    port = parse_num(colon + 1, 65535);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) (port < 0 ? 0 : port));
    if (port <= 0 || inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, "lab-upstream: bad --listen %s\n", listen_at);
        return 2;
    }

    (void) signal(SIGPIPE, SIG_IGN);
    srv.base = event_base_new();
    if (srv.base == NULL) {
        fprintf(stderr, "lab-upstream: event_base_new failed\n");
        return 1;
    }
    lst = evconnlistener_new_bind(srv.base, accept_cb, &srv,
                                  LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE,
                                  16, (struct sockaddr *) &sin, sizeof(sin));
    if (lst == NULL) {
        fprintf(stderr, "lab-upstream: listen on %s: %s\n", listen_at,
                strerror(errno));
        event_base_free(srv.base);
        return 1;
    }

    deadline = evtimer_new(srv.base, stop_cb, srv.base);
    sigterm = evsignal_new(srv.base, SIGTERM, stop_cb, srv.base);
    sigint = evsignal_new(srv.base, SIGINT, stop_cb, srv.base);
    if (deadline == NULL || sigterm == NULL || sigint == NULL) {
        fprintf(stderr, "lab-upstream: cannot create events\n");
        return 1;
    }
    tv.tv_sec = (time_t) max_s;
    tv.tv_usec = 0;
    evtimer_add(deadline, &tv);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);

    printf("listening %s mode %s\n", listen_at, mode);
    fflush(stdout);

    event_base_dispatch(srv.base);

    printf("exiting after %lu connections\n", srv.nconn);
    fflush(stdout);
    event_free(sigint);
    event_free(sigterm);
    event_free(deadline);
    evconnlistener_free(lst);
    event_base_free(srv.base);
    return 0;
}
