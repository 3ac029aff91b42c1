/*
 * fixedit: verdict + configuration in force -> the edit to make.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rstdiag/fixedit.h"
#include "rstdiag/legs.h"

const struct rd_tok  rd_fix_side_names[] = {
    { RD_FIX_NGINX, "nginx" },
    { RD_FIX_BACKEND, "backend" },
    { RD_FIX_CLIENT, "client" },
    { 0, NULL }
};


/* non-negative values only: no libm */
static double
floor_pos(double x)
{
    return x < 0 ? 0 : (double) (int64_t) x;
}


static double
absd(double x)
{
    return x < 0 ? -x : x;
}


/* A time in nginx's syntax: whole seconds when it is, else ms. */
static void
fmt_time(char *buf, size_t size, double s)
{
    if (s >= 1 && absd(s - floor_pos(s + 0.5)) < 0.0005) {
        snprintf(buf, size, "%.0fs", floor_pos(s + 0.5));
    } else {
        snprintf(buf, size, "%.0fms", s * 1000);
    }
}


/* Whole seconds give or take 50 ms: what configured timeouts produce. */
static bool
whole_seconds(double s)
{
    double  frac;

    if (s < 1.0) {
        return false;
    }
    frac = s - floor_pos(s);
    return frac < 0.05 || frac > 0.95;
}


/* The response header bytes nginx had to hold for the exchange at c's
 * close (the largest kept one). */
static uint64_t
header_bytes(const struct rd_conn *c)
{
    const struct rd_exchange  *e;
    uint64_t                   h;
    uint32_t                   i;

    h = 0;
    for (i = rd_conn_first_kept(c); i < c->nex; i++) {
        e = rd_conn_exchange(c, i);
        if (e != NULL && e->header_bytes > h) {
            h = e->header_bytes;
        }
    }
    if (h == 0) {
        h = rd_conn_stream_bytes(c, RD_CONN_SERVER);
    }
    return h;
}


/* The length of the response the upstream cut: its Content-Length, else
 * the bytes it sent; 0 when no response was seen. */
static uint64_t
cut_length(const struct rd_conn *c)
{
    const struct rd_exchange  *e;
    uint32_t                   i;

    for (i = c->nex; i > rd_conn_first_kept(c); i--) {
        e = rd_conn_exchange(c, i - 1);
        if (e != NULL && e->has_resp) {
            return e->content_length >= 0 ? (uint64_t) e->content_length
                                          : e->header_bytes + e->body_bytes;
        }
    }
    return 0;
}


static void
pick(struct rd_fix_edit *out, const struct rd_nginxconf_values *lv, int key)
{
    out->key = key;
    out->directive = rd_tok2str(rd_nginxconf_key_names, key, "?");
    out->current = lv->v[key];
    out->location = lv->location;
}


bool
rd_fix_edit(const struct rd_nginxconf *nc, uint32_t version,
    const struct rd_conn *c, const struct rd_verdict *v, double backend_idle,
    struct rd_fix_edit *out)
{
    struct rd_nginxconf_values  lv;
    const char                 *name;
    double                      cur, e, idle;
    uint64_t                    h, sz;
    bool                        fcgi;
    char                        t[32], t2[32];

    memset(out, 0, sizeof(*out));
    if (nc == NULL || c->leg != RD_LEG_UPSTREAM) {
        return false;
    }
    name = rd_nginxconf_upstream_name(nc, c->af, c->ep[RD_CONN_SERVER].addr,
                                      c->ep[RD_CONN_SERVER].port);
    if (rd_nginxconf_location_for(nc, version, name, c->af,
                                  c->ep[RD_CONN_SERVER].addr,
                                  c->ep[RD_CONN_SERVER].port, 0, &lv) == 0
        && (name == NULL
            || rd_nginxconf_location_for(nc, version, NULL, c->af,
                                         c->ep[RD_CONN_SERVER].addr,
                                         c->ep[RD_CONN_SERVER].port, 0,
                                         &lv) == 0))
    {
        return false;
    }
    fcgi = lv.fastcgi || c->proto == RD_PROTO_FASTCGI;
    e = v->elapsed;

    switch (v->code) {
    case RD_V_UPSTREAM_TIMEOUT:
        pick(out, &lv, fcgi ? RD_NGINXCONF_FASTCGI_READ_TIMEOUT
                            : RD_NGINXCONF_PROXY_READ_TIMEOUT);
        if (c->phase == RD_PHASE_SENDING_REQUEST) {
            pick(out, &lv, fcgi ? RD_NGINXCONF_FASTCGI_SEND_TIMEOUT
                                : RD_NGINXCONF_PROXY_SEND_TIMEOUT);
        }
        cur = (double) out->current.num / 1000;
        fmt_time(t, sizeof(t), cur * 2);
        if (e >= 0 && absd(e - cur) <= 0.5) {
            snprintf(out->why, sizeof(out->why), "nginx gave up after %.3f s,"
                     " its %s of %s: the backend needs longer, or must get "
                     "faster", e, out->directive, out->current.text);
            snprintf(out->set, sizeof(out->set), "%s", t);
        } else {
            snprintf(out->why, sizeof(out->why), "nginx closed after %.3f s, "
                     "not at its %s of %s: another limit of nginx's, or a "
                     "client abort the capture did not show", e < 0 ? 0 : e,
                     out->directive, out->current.text);
        }
        return true;
    case RD_V_UPSTREAM_CONNECT_TIMEOUT:
        pick(out, &lv, fcgi ? RD_NGINXCONF_FASTCGI_CONNECT_TIMEOUT
                            : RD_NGINXCONF_PROXY_CONNECT_TIMEOUT);
        out->side = RD_FIX_BACKEND;
        snprintf(out->why, sizeof(out->why), "the backend never answered the "
                 "SYN within %s (%s): a firewall, a route or a full listen "
                 "backlog; a shorter value only fails over sooner",
                 out->current.text, out->directive);
        return true;
    case RD_V_UPSTREAM_RESET_BEFORE_RESPONSE:
    case RD_V_UPSTREAM_CLOSED_BEFORE_RESPONSE:
        pick(out, &lv, fcgi ? RD_NGINXCONF_FASTCGI_READ_TIMEOUT
                            : RD_NGINXCONF_PROXY_READ_TIMEOUT);
        out->side = RD_FIX_BACKEND;
        cur = (double) out->current.num / 1000;
        if (e >= 0 && whole_seconds(e) && e + 0.5 < cur) {
            snprintf(out->why, sizeof(out->why), "the backend gave up after "
                     "%.3f s, a whole number of seconds below nginx's %s of "
                     "%s: its own limit (gunicorn --timeout 30 s, uWSGI "
                     "harakiri, php-fpm request_terminate_timeout); raise "
                     "that, nginx is not the side to change", e,
                     out->directive, out->current.text);
        } else {
            snprintf(out->why, sizeof(out->why), "the backend closed after "
                     "%.3f s, within nginx's %s of %s: nginx is not the side "
                     "to change; see the backend's logs", e < 0 ? 0 : e,
                     out->directive, out->current.text);
        }
        return true;
    case RD_V_KEEPALIVE_RACE:
        pick(out, &lv, RD_NGINXCONF_KEEPALIVE_TIMEOUT);
        cur = (double) out->current.num / 1000;
        idle = backend_idle > 0 ? backend_idle : v->idle;
        if (idle <= 0) {
            snprintf(out->why, sizeof(out->why), "the backend closed a "
                     "reused connection; its idle timeout was not measured: "
                     "set %s below it", out->directive);
            return true;
        }
        fmt_time(t, sizeof(t), idle > 2.5 ? floor_pos(idle * 0.8) : idle * 0.8);
        fmt_time(t2, sizeof(t2), idle);
        snprintf(out->set, sizeof(out->set), "%s", t);
        snprintf(out->why, sizeof(out->why), "the backend closes idle "
                 "connections after about %s (%s), nginx keeps them %s "
                 "(%s): set it below the backend's", t2,
                 backend_idle > 0 ? "measured from its idle closes"
                                  : "the idle time before this reuse",
                 out->current.text, out->directive);
        if (cur > 0 && cur < idle) {
            snprintf(out->why, sizeof(out->why), "nginx's %s (%s) is already "
                     "below the backend's idle closes (about %s): the backend "
                     "closed early for another reason (keepalive_requests, a "
                     "restart)", out->directive, out->current.text, t2);
            out->set[0] = '\0';
            out->side = RD_FIX_BACKEND;
        }
        return true;
    case RD_V_UPSTREAM_HEADER_TOO_BIG:
        pick(out, &lv, fcgi ? RD_NGINXCONF_FASTCGI_BUFFER_SIZE
                            : RD_NGINXCONF_PROXY_BUFFER_SIZE);
        h = header_bytes(c);
        for (sz = 4096; sz < h + 1024 && sz < (1u << 30); sz *= 2) {
        }
        snprintf(out->set, sizeof(out->set), "%" PRIu64 "k", sz / 1024);
        snprintf(out->why, sizeof(out->why), "the response header took %"
                 PRIu64 " bytes, more than %s %s", h, out->directive,
                 out->current.text);
        return true;
    case RD_V_CHUNKED_TO_HTTP10:
        pick(out, &lv, RD_NGINXCONF_PROXY_HTTP_VERSION);
        snprintf(out->set, sizeof(out->set), "1.1");
        snprintf(out->why, sizeof(out->why), "nginx asked with HTTP/1.0 (%s "
                 "%s) and the backend answered chunked; with 1.1 also set "
                 "proxy_set_header Connection \"\"; for keep-alive",
                 out->directive, out->current.text);
        return true;
    case RD_V_CLIENT_ABORT:
        pick(out, &lv, RD_NGINXCONF_PROXY_IGNORE_CLIENT_ABORT);
        out->side = RD_FIX_CLIENT;
        snprintf(out->why, sizeof(out->why), "the client gave up first; "
                 "with %s on nginx lets the backend finish anyway (now %s)",
                 out->directive, out->current.text);
        return true;
    case RD_V_UPSTREAM_SEND_TIMEOUT_BACKPRESSURE:
        if (fcgi) {
            return false;           /* fastcgi_max_temp_file_size unread */
        }
        if (lv.v[RD_NGINXCONF_PROXY_BUFFERING].num == 0) {
            pick(out, &lv, RD_NGINXCONF_PROXY_BUFFERING);
            snprintf(out->set, sizeof(out->set), "on");
            snprintf(out->why, sizeof(out->why), "with %s %s nginx reads "
                     "the backend only as fast as the client takes the "
                     "response: its window to the backend was shut %.3f s "
                     "until the backend gave up", out->directive,
                     out->current.text, v->stall);
            return true;
        }
        pick(out, &lv, RD_NGINXCONF_PROXY_MAX_TEMP_FILE_SIZE);
        sz = cut_length(c);
        if (sz > 0 && out->current.num >= 0
            && (uint64_t) out->current.num >= sz)
        {
            /* nginx could have written all of it to disk: not the cap */
            out->side = RD_FIX_BACKEND;
            snprintf(out->why, sizeof(out->why), "%s %s lets nginx write "
                     "all %" PRIu64 " bytes to disk, yet its window to the "
                     "backend was shut %.3f s (X-Accel-Buffering: no, a slow "
                     "or full proxy_temp_path?): raise the backend's send "
                     "timeout above the slowest client's download",
                     out->directive, out->current.text, sz, v->stall);
            return true;
        }
        if (sz > 0) {
            snprintf(out->set, sizeof(out->set), "%" PRIu64 "m",
                     (sz + (1u << 20) - 1) >> 20);
        }
        snprintf(out->why, sizeof(out->why), "%s %s leaves nginx only its "
                 "proxy_buffers: its window to the backend was shut %.3f s "
                 "until the backend's send timeout closed it; room for the "
                 "%" PRIu64 "-byte response on disk lets nginx read it all "
                 "while the client drains (or raise the backend's send "
                 "timeout)", out->directive, out->current.text, v->stall,
                 sz);
        return true;
    case RD_V_UPSTREAM_RESET_SENDING_REQUEST:
        pick(out, &lv, RD_NGINXCONF_CLIENT_MAX_BODY_SIZE);
        out->side = RD_FIX_BACKEND;
        snprintf(out->why, sizeof(out->why), "nginx accepted the body (%s "
                 "%s) but the backend closed without reading it: raise the "
                 "backend's own body limit, or lower nginx's to match it",
                 out->directive, out->current.text);
        return true;
    default:
        return false;
    }
}
