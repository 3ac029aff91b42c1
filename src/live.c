/*
 * live: libpcap's selectable fd as a libevent read event, a one-second
 * timer for flow expiry (and for platforms where the fd is not always
 * readable, pcap_get_required_select_timeout(3PCAP)), the signals
 * (INT/TERM stop, HUP reopens the output, USR1 writes a summary), the
 * --interval timer, and the /metrics endpoint: evhttp on the same loop,
 * so a scrape reads the counters between two packet batches and nothing
 * needs a lock.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "live.h"
#include "rstdiag/limits.h"
#include "rstdiag/metrics.h"

#define HTTP_TIMEOUT_S      10      /* a scrape that stalls is dropped */
#define HTTP_MAX_HEADERS    8192    /* a GET needs far less */
#define HTTP_BACKLOG        16

struct rd_live {
    struct event_base      *base;
    struct evhttp          *http;       /* NULL without --metrics */
    struct rd_live_cfg      cfg;
    struct rd_live_hooks    hooks;
    /* set by rd_live_run */
    pcap_t                 *p;
    const char             *iface;
    struct rd_pipeline     *pl;
    int                     dlt;
    struct rd_live_result  *res;
    bool                    stop;
    bool                    stopping;   /* a stop signal came: draining */
    bool                    have_last;  /* last_drop, last_ifdrop valid */
    unsigned                last_drop;  /* pcap_stats' 32-bit counters */
    unsigned                last_ifdrop;
    rd_usec_t               stats_at;   /* wall clock of that reading */
    sigset_t                held;       /* blocked until the loop runs */
    sigset_t                saved;      /* the mask before create */
};


static void
on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct rd_live  *lv = (struct rd_live *) user;
    rd_usec_t        ts;

    if (lv->stop) {
        return;
    }
    ts = rd_usec_from_tv((int64_t) h->ts.tv_sec, (int64_t) h->ts.tv_usec);
    rd_pipeline_packet(lv->pl, lv->dlt, data, h->caplen, h->len, ts);
    lv->res->packets++;
    if (lv->cfg.count != 0 && lv->res->packets >= lv->cfg.count) {
        lv->stop = true;
        pcap_breakloop(lv->p);
        event_base_loopbreak(lv->base);
    }
}


/* pcap_stats into res; its u_int counters may wrap, the deltas widen
 * them to 64 bits. */
static void
refresh_stats(struct rd_live *lv)
{
    struct pcap_stat  ps;

    struct timeval    now;
    rd_usec_t         t;
    uint64_t          k, i;

    if (pcap_stats(lv->p, &ps) != 0) {
        return;
    }
    gettimeofday(&now, NULL);
    t = (rd_usec_t) now.tv_sec * 1000000 + now.tv_usec;
    if (lv->have_last) {
        k = (unsigned) (ps.ps_drop - lv->last_drop);
        i = (unsigned) (ps.ps_ifdrop - lv->last_ifdrop);
        lv->res->drops_kernel += k;
        lv->res->drops_iface += i;
    } else {
        k = lv->res->drops_kernel = ps.ps_drop;
        i = lv->res->drops_iface = ps.ps_ifdrop;
        lv->stats_at = t - 1000000;
    }
    /* what was lost arrived between the two readings: packets are
     * stamped on arrival, so the span is in the capture's own time */
    rd_pipeline_note_drops(lv->pl, lv->stats_at, t, k + i);
    lv->stats_at = t;
    lv->have_last = true;
    lv->last_drop = ps.ps_drop;
    lv->last_ifdrop = ps.ps_ifdrop;
    lv->res->drops = lv->res->drops_kernel + lv->res->drops_iface;
    lv->res->stats_ok = true;
}


/* Read what is queued; false on a capture error (interface gone). */
static bool
dispatch(struct rd_live *lv)
{
    int  rc;

    rc = pcap_dispatch(lv->p, RD_LIMITS_LIVE_BATCH, on_packet,
                       (u_char *) lv);
    if (rc == PCAP_ERROR) {
        snprintf(lv->res->error, sizeof(lv->res->error), "%s: %s",
                 lv->iface, pcap_geterr(lv->p));
        lv->stop = true;
        event_base_loopbreak(lv->base);
        return false;
    }
    return true;
}


static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    dispatch(arg);
}


static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct rd_live  *lv = arg;
    struct timeval   now;

    (void) fd;
    (void) what;
    if (!dispatch(lv) || lv->stop) {
        return;
    }
    /* drops first: the connections the tick decides see them */
    refresh_stats(lv);
    /* with no traffic packet time stands still: use the clock to age */
    gettimeofday(&now, NULL);
    rd_pipeline_tick(lv->pl,
                     (rd_usec_t) now.tv_sec * 1000000 + now.tv_usec);
}


/* Drain what the kernel holds, boundedly, then stop. */
static void
on_drained(evutil_socket_t fd, short what, void *arg)
{
    struct rd_live  *lv = arg;
    int              i;

    (void) fd;
    (void) what;
    for (i = 0; i < 1024 && !lv->stop; i++) {
        if (pcap_dispatch(lv->p, RD_LIMITS_LIVE_BATCH, on_packet,
                          (u_char *) lv) <= 0)
        {
            break;
        }
    }
    lv->stop = true;
    event_base_loopbreak(lv->base);
}


/*
 * SIGINT, SIGTERM.  Packets captured before the signal may still sit in
 * a TPACKET_V3 block the kernel hands over only at its timeout: the loop
 * runs on for that long (reading, answering scrapes), then drains and
 * stops.  A second signal stops at once.
 */
static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
    struct rd_live  *lv = arg;
    struct timeval   tv;

    (void) sig;
    (void) what;
    if (!lv->stopping) {
        lv->stopping = true;
        tv.tv_sec = 0;
        tv.tv_usec = (RD_LIMITS_LIVE_TIMEOUT_MS + 50) * 1000;
        if (event_base_once(lv->base, -1, EV_TIMEOUT, on_drained, lv, &tv)
            == 0)
        {
            return;
        }
    }
    on_drained(-1, 0, lv);
}


/* SIGUSR1 and the --interval timer */
static void
on_summary(evutil_socket_t sig, short what, void *arg)
{
    struct rd_live  *lv = arg;

    (void) sig;
    (void) what;
    if (lv->stop || lv->hooks.summary == NULL) {
        return;
    }
    /* what is queued belongs to "so far" */
    if (!dispatch(lv) || lv->stop) {
        return;
    }
    refresh_stats(lv);
    lv->hooks.summary(lv->hooks.ctx, lv->res);
}


/* The poll hook: the followed error.log.  The packets queued first, so
 * that the connections nginx wrote about are decided. */
static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct rd_live  *lv = arg;
    struct timeval   now;

    (void) fd;
    (void) what;
    if (lv->stop || !dispatch(lv) || lv->stop) {
        return;
    }
    gettimeofday(&now, NULL);
    lv->hooks.poll(lv->hooks.ctx,
                   (rd_usec_t) now.tv_sec * 1000000 + now.tv_usec);
}


static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct rd_live  *lv = arg;

    (void) sig;
    (void) what;
    if (lv->hooks.reopen != NULL) {
        lv->hooks.reopen(lv->hooks.ctx);
    }
}


static void
reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *type, const char *body, size_t len)
{
    struct evbuffer  *b;

    b = evbuffer_new();
    if (b == NULL || evbuffer_add(b, body, len) != 0) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type", type);
        evhttp_send_reply(req, code, reason, b);
    }
    if (b != NULL) {
        evbuffer_free(b);
    }
}


/* GET /metrics (HEAD too); / says where they are; 404 otherwise. */
static void
on_http(struct evhttp_request *req, void *arg)
{
    static const char  index[] = "rstdiag: metrics are at /metrics\n";
    struct rd_live    *lv = arg;
    const char        *path;
    char              *buf;
    size_t             len;
    FILE              *f;
    int                rc;

    path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (path != NULL && strcmp(path, "/") == 0) {
        reply_text(req, HTTP_OK, "OK", "text/plain; charset=utf-8", index,
                   sizeof(index) - 1);
        return;
    }
    if (path == NULL || strcmp(path, "/metrics") != 0 || lv->res == NULL
        || lv->hooks.metrics == NULL)
    {
        evhttp_send_error(req, HTTP_NOTFOUND, NULL);
        return;
    }
    refresh_stats(lv);
    buf = NULL;
    len = 0;
    f = open_memstream(&buf, &len);
    if (f == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    rc = lv->hooks.metrics(lv->hooks.ctx, f, lv->res);
    if (fclose(f) != 0 || rc != 0) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
    } else {
        reply_text(req, HTTP_OK, "OK", RD_METRICS_CONTENT_TYPE, buf, len);
    }
    free(buf);
}


/* A listening TCP socket on sa, or -1 with the reason in err. */
static evutil_socket_t
listen_on(const struct rd_live_cfg *cfg, char err[RD_ERRLEN])
{
    evutil_socket_t  fd;
    int              one = 1;

    fd = socket(cfg->metrics_addr.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(err, RD_ERRLEN, "--metrics %s: cannot make a socket: %s",
                 cfg->metrics_spec, strerror(errno));
        return -1;
    }
    /* a restart must not wait out TIME_WAIT; another listener on the
     * address still makes bind fail (Linux: both would need
     * SO_REUSEPORT) */
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (cfg->metrics_addr.ss_family == AF_INET6) {
        (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, (const struct sockaddr *) &cfg->metrics_addr,
             cfg->metrics_len) != 0
        || listen(fd, HTTP_BACKLOG) != 0)
    {
        snprintf(err, RD_ERRLEN, "--metrics %s: cannot listen: %s",
                 cfg->metrics_spec, strerror(errno));
        evutil_closesocket(fd);
        return -1;
    }
    if (evutil_make_socket_nonblocking(fd) != 0
        || evutil_make_socket_closeonexec(fd) != 0)
    {
        snprintf(err, RD_ERRLEN, "--metrics %s: cannot set the socket "
                 "non-blocking", cfg->metrics_spec);
        evutil_closesocket(fd);
        return -1;
    }
    return fd;
}


void
rd_live_stop(struct rd_live *lv)
{
    lv->stop = true;
    if (lv->p != NULL) {
        pcap_breakloop(lv->p);
    }
    event_base_loopbreak(lv->base);
}


struct rd_live *
rd_live_create(const struct rd_live_cfg *cfg, const struct rd_live_hooks *hooks,
    char err[RD_ERRLEN])
{
    struct rd_live   *lv;
    evutil_socket_t   fd;

    lv = calloc(1, sizeof(*lv));
    if (lv == NULL) {
        snprintf(err, RD_ERRLEN, "out of memory");
        return NULL;
    }
    lv->cfg = *cfg;
    lv->hooks = *hooks;
    /* from here the stop, reopen and summary signals wait (blocked) until
     * rd_live_run has its handlers on the loop: a SIGTERM sent as soon as
     * the "listening on" line appears still writes the final summary */
    sigemptyset(&lv->held);
    sigaddset(&lv->held, SIGINT);
    sigaddset(&lv->held, SIGTERM);
    sigaddset(&lv->held, SIGHUP);
    sigaddset(&lv->held, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &lv->held, &lv->saved) != 0) {
        snprintf(err, RD_ERRLEN, "cannot block signals: %s",
                 strerror(errno));
        free(lv);
        return NULL;
    }
    lv->base = event_base_new();
    if (lv->base == NULL) {
        snprintf(err, RD_ERRLEN, "cannot create event base");
        (void) sigprocmask(SIG_SETMASK, &lv->saved, NULL);
        free(lv);
        return NULL;
    }
    if (cfg->metrics_len == 0) {
        return lv;
    }
    fd = listen_on(cfg, err);
    if (fd < 0) {
        rd_live_destroy(lv);
        return NULL;
    }
    lv->http = evhttp_new(lv->base);
    if (lv->http == NULL || evhttp_accept_socket_with_handle(lv->http, fd)
                            == NULL)
    {
        snprintf(err, RD_ERRLEN, "--metrics %s: cannot start the HTTP "
                 "server", cfg->metrics_spec);
        evutil_closesocket(fd);
        rd_live_destroy(lv);
        return NULL;
    }
    evhttp_set_allowed_methods(lv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_timeout(lv->http, HTTP_TIMEOUT_S);
    evhttp_set_max_headers_size(lv->http, HTTP_MAX_HEADERS);
    evhttp_set_max_body_size(lv->http, 0);
    evhttp_set_gencb(lv->http, on_http, lv);
    return lv;
}


void
rd_live_destroy(struct rd_live *lv)
{
    if (lv == NULL) {
        return;
    }
    if (lv->http != NULL) {
        evhttp_free(lv->http);      /* closes the listener */
    }
    event_base_free(lv->base);
    (void) sigprocmask(SIG_SETMASK, &lv->saved, NULL);
    free(lv);
}


int
rd_live_run(struct rd_live *lv, pcap_t *p, const char *iface,
    struct rd_pipeline *pl, struct rd_live_result *res)
{
    struct event          *ev[8];
    struct timeval         one_sec = { 1, 0 };
    struct timeval         every = { 0, 0 };
    struct timeval         poll_tv = { 0, RD_LIVE_POLL_MS * 1000 };
    size_t                 every_i, poll_i;
    const struct timeval  *req;
    size_t                 i, n;
    int                    fd, rc;

    memset(res, 0, sizeof(*res));
    lv->p = p;
    lv->iface = iface;
    lv->pl = pl;
    lv->res = res;
    lv->stop = false;
    lv->stopping = false;
    lv->have_last = false;
    lv->dlt = pcap_datalink(p);

    fd = pcap_get_selectable_fd(p);
    if (fd < 0) {
        snprintf(res->error, sizeof(res->error),
                 "%s: this capture device has no selectable descriptor",
                 iface);
        return -1;
    }
    req = pcap_get_required_select_timeout(p);
    if (req != NULL && (req->tv_sec < 1 && req->tv_usec < 1000000)) {
        one_sec = *req;
    }
    every.tv_sec = (time_t) lv->cfg.interval;

    memset(ev, 0, sizeof(ev));
    ev[0] = event_new(lv->base, fd, EV_READ | EV_PERSIST, on_readable, lv);
    ev[1] = event_new(lv->base, -1, EV_PERSIST, on_tick, lv);
    ev[2] = evsignal_new(lv->base, SIGINT, on_stop, lv);
    ev[3] = evsignal_new(lv->base, SIGTERM, on_stop, lv);
    ev[4] = evsignal_new(lv->base, SIGHUP, on_hup, lv);
    ev[5] = evsignal_new(lv->base, SIGUSR1, on_summary, lv);
    n = 6;
    every_i = poll_i = SIZE_MAX;
    if (lv->cfg.interval != 0) {
        every_i = n;
        ev[n++] = event_new(lv->base, -1, EV_PERSIST, on_summary, lv);
    }
    if (lv->hooks.poll != NULL) {
        poll_i = n;
        ev[n++] = event_new(lv->base, -1, EV_PERSIST, on_poll, lv);
    }
    rc = -1;
    for (i = 0; i < n; i++) {
        if (ev[i] == NULL) {
            snprintf(res->error, sizeof(res->error), "cannot create events");
            goto out;
        }
    }
    for (i = 0; i < n; i++) {
        if (event_add(ev[i], i == 1 ? &one_sec : i == every_i ? &every
                             : i == poll_i ? &poll_tv : NULL) != 0)
        {
            snprintf(res->error, sizeof(res->error), "cannot add events");
            goto out;
        }
    }
    refresh_stats(lv);      /* the counters since the capture opened */

    /* the handlers are in place: what was held is delivered now */
    (void) sigprocmask(SIG_UNBLOCK, &lv->held, NULL);
    event_base_dispatch(lv->base);
    (void) sigprocmask(SIG_BLOCK, &lv->held, NULL);
    rc = 0;
    refresh_stats(lv);

out:
    for (i = n; i > 0; i--) {
        if (ev[i - 1] != NULL) {
            event_free(ev[i - 1]);
        }
    }
    lv->res = NULL;
    return rc;
}
