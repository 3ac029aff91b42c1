/*
 * live: libpcap's selectable fd as a libevent read event, a one-second
 * timer for flow expiry (and for platforms where the fd is not always
 * readable, pcap_get_required_select_timeout(3PCAP)), and signals.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>

#include "live.h"
#include "rstdiag/limits.h"

struct live {
    pcap_t                 *p;
    const char             *iface;
    struct rd_pipeline     *pl;
    struct event_base      *base;
    int                     dlt;
    uint64_t                count;
    struct rd_live_result  *res;
    bool                    stop;
};


static void
on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct live  *lv = (struct live *) user;
    rd_usec_t     ts;

    if (lv->stop) {
        return;
    }
    ts = rd_usec_from_tv((int64_t) h->ts.tv_sec, (int64_t) h->ts.tv_usec);
    rd_pipeline_packet(lv->pl, lv->dlt, data, h->caplen, h->len, ts);
    lv->res->packets++;
    if (lv->count != 0 && lv->res->packets >= lv->count) {
        lv->stop = true;
        pcap_breakloop(lv->p);
        event_base_loopbreak(lv->base);
    }
}


/* Read what is queued; false on a capture error (interface gone). */
static bool
dispatch(struct live *lv)
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
    struct live     *lv = arg;
    struct timeval   now;

    (void) fd;
    (void) what;
    if (!dispatch(lv) || lv->stop) {
        return;
    }
    /* with no traffic packet time stands still: use the clock to age */
    gettimeofday(&now, NULL);
    rd_pipeline_tick(lv->pl,
                     (rd_usec_t) now.tv_sec * 1000000 + now.tv_usec);
}


static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct live  *lv = arg;
    int           i;

    (void) sig;
    (void) what;
    /* drain what the kernel already holds, boundedly, then stop */
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


int
rd_live_run(pcap_t *p, const char *iface, struct rd_pipeline *pl,
    uint64_t count, struct rd_live_result *res)
{
    struct live          lv;
    struct event        *ev_read, *ev_tick, *ev_int, *ev_term;
    struct timeval       one_sec = { 1, 0 };
    struct pcap_stat     ps;
    const struct timeval *req;
    int                  fd, rc;

    memset(&lv, 0, sizeof(lv));
    memset(res, 0, sizeof(*res));
    lv.p = p;
    lv.iface = iface;
    lv.pl = pl;
    lv.count = count;
    lv.res = res;
    lv.dlt = pcap_datalink(p);

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

    lv.base = event_base_new();
    if (lv.base == NULL) {
        snprintf(res->error, sizeof(res->error), "cannot create event base");
        return -1;
    }
    ev_read = event_new(lv.base, fd, EV_READ | EV_PERSIST, on_readable, &lv);
    ev_tick = event_new(lv.base, -1, EV_PERSIST, on_tick, &lv);
    ev_int = evsignal_new(lv.base, SIGINT, on_signal, &lv);
    ev_term = evsignal_new(lv.base, SIGTERM, on_signal, &lv);
    rc = -1;
    if (ev_read == NULL || ev_tick == NULL || ev_int == NULL
        || ev_term == NULL)
    {
        snprintf(res->error, sizeof(res->error), "cannot create events");
        goto out;
    }
    if (event_add(ev_read, NULL) != 0 || event_add(ev_tick, &one_sec) != 0
        || event_add(ev_int, NULL) != 0 || event_add(ev_term, NULL) != 0)
    {
        snprintf(res->error, sizeof(res->error), "cannot add events");
        goto out;
    }

    event_base_dispatch(lv.base);
    rc = 0;
    if (pcap_stats(p, &ps) == 0) {
        res->drops = (uint64_t) ps.ps_drop + ps.ps_ifdrop;
    }

out:
    if (ev_term != NULL) {
        event_free(ev_term);
    }
    if (ev_int != NULL) {
        event_free(ev_int);
    }
    if (ev_tick != NULL) {
        event_free(ev_tick);
    }
    if (ev_read != NULL) {
        event_free(ev_read);
    }
    event_base_free(lv.base);
    return rc;
}
