/*
 * conn: per-connection TCP facts.  Roles, handshake, close order, RST
 * acceptability, sender fingerprints (TTL, IP ID).
 */
#include <string.h>

#include "rstdiag/conn.h"


const struct rd_tok  rd_close_kind_names[] = {
    { RD_CLOSE_NONE, "none" },
    { RD_CLOSE_FIN, "fin" },
    { RD_CLOSE_RST, "rst" },
    { 0, NULL }
};

const struct rd_tok  rd_conn_end_names[] = {
    { RD_END_CLOSED, "closed" },
    { RD_END_IDLE, "idle_timeout" },
    { RD_END_EVICTED, "evicted" },
    { RD_END_REUSED, "tuple_reused" },
    { RD_END_CAPTURE, "capture_end" },
    { 0, NULL }
};


/*
 * Guess which port is the service when no SYN told us: a port below 1024
 * wins, then a port below the Linux ephemeral range (32768), then the
 * lower port.  Returns true when dport looks like the server's.
 */
static bool
dport_is_service(uint16_t sport, uint16_t dport)
{
    if ((dport < 1024) != (sport < 1024)) {
        return dport < 1024;
    }
    if ((dport < 32768) != (sport < 32768)) {
        return dport < 32768;
    }
    return dport <= sport;
}


void
rd_conn_start(struct rd_conn *c, uint64_t id, const struct rd_seg *seg)
{
    bool  sender_is_client;

    memset(c, 0, sizeof(*c));
    c->id = id;
    c->af = seg->af;
    c->ts_start = seg->ts;
    c->ts_end = seg->ts;

    if ((seg->flags & (RD_TCP_SYN | RD_TCP_RST)) == RD_TCP_SYN) {
        sender_is_client = (seg->flags & RD_TCP_ACK) == 0;
    } else {
        c->roles_inferred = 1;
        sender_is_client = dport_is_service(seg->sport, seg->dport);
    }

    if (sender_is_client) {
        memcpy(c->ep[0].addr, seg->src, 16);
        c->ep[0].port = seg->sport;
        memcpy(c->ep[1].addr, seg->dst, 16);
        c->ep[1].port = seg->dport;
    } else {
        memcpy(c->ep[0].addr, seg->dst, 16);
        c->ep[0].port = seg->dport;
        memcpy(c->ep[1].addr, seg->src, 16);
        c->ep[1].port = seg->sport;
    }
}


int
rd_conn_dir(const struct rd_conn *c, const struct rd_seg *seg)
{
    if (seg->sport == c->ep[0].port
        && memcmp(seg->src, c->ep[0].addr, 16) == 0
        && (seg->dport != c->ep[1].port
            || memcmp(seg->dst, c->ep[1].addr, 16) == 0))
    {
        return RD_CONN_CLIENT;
    }
    return RD_CONN_SERVER;
}


bool
rd_conn_is_new_syn(const struct rd_conn *c, const struct rd_seg *seg)
{
    if ((seg->flags & (RD_TCP_SYN | RD_TCP_ACK | RD_TCP_RST)) != RD_TCP_SYN) {
        return false;
    }
    if (c->closed || !c->syn) {
        return true;
    }
    if (rd_conn_dir(c, seg) != RD_CONN_CLIENT) {
        return true;
    }
    return seg->seq != c->side[RD_CONN_CLIENT].tcp.isn;
}


static void
note_sender(struct rd_conn_side *s, const struct rd_seg *seg)
{
    if (s->tcp.pkts == 0) {
        s->first_ts = seg->ts;
        s->ttl_first = seg->ttl;
        s->ttl_min = seg->ttl;
        s->ttl_max = seg->ttl;
        s->ip_id_first = seg->ip_id;
        s->ip_v4 = seg->af == 4;
    }
    if (seg->ttl < s->ttl_min) {
        s->ttl_min = seg->ttl;
    }
    if (seg->ttl > s->ttl_max) {
        s->ttl_max = seg->ttl;
    }
    s->ip_id_last = seg->ip_id;
}


static void
note_close(struct rd_conn *c, int dir, int kind, rd_usec_t ts)
{
    if (c->close_kind == RD_CLOSE_NONE) {
        c->close_kind = (uint8_t) kind;
        c->close_by = (uint8_t) dir;
        c->close_ts = ts;
    }
}


/*
 * Judge an RST against what its receiver last told us (RFC 9293
 * §3.10.7.4, with the RFC 5961 rule it adopted): in SYN-SENT the RST must
 * acknowledge the SYN; otherwise it is acceptable when its sequence number
 * lies in the receive window, and takes effect at once only when it equals
 * RCV.NXT exactly (in window but not exact draws a challenge ACK).
 */
static void
judge_rst(struct rd_conn *c, int dir, const struct rd_seg *seg,
    struct rd_conn_rst *r)
{
    struct rd_conn_side  *s, *peer;
    uint32_t              rcv_nxt, wnd;
    bool                  known;

    s = &c->side[dir];
    peer = &c->side[1 - dir];

    r->ts = seg->ts;
    r->seq = seg->seq;
    r->payload_len = seg->payload_len;
    r->by = (uint8_t) dir;
    r->ttl = seg->ttl;
    r->ip_id = seg->ip_id;
    r->after_fin = s->tcp.fin;

    if (dir == RD_CONN_SERVER && c->syn && !c->synack && !c->established) {
        /* answer to the client's SYN: the receiver is in SYN-SENT */
        r->answers_syn = 1;
        r->known = 1;
        r->acceptable = (seg->flags & RD_TCP_ACK)
                        && seg->ack == c->side[RD_CONN_CLIENT].tcp.isn + 1;
        r->exact = r->acceptable;
        return;
    }

    known = true;
    if (s->tcp.init) {
        rcv_nxt = s->tcp.snd_max;
    } else if (peer->tcp.ack_seen) {
        rcv_nxt = peer->tcp.max_ack;
    } else {
        rcv_nxt = seg->seq;
        known = false;
    }
    if (peer->tcp.ack_seen && RD_SEQ_GT(peer->tcp.max_ack, rcv_nxt)) {
        /* the receiver acknowledged more than we saw sent: trust it */
        rcv_nxt = peer->tcp.max_ack;
    }

    if (peer->tcp.pkts == 0) {
        wnd = 65535;
        known = false;
    } else if (c->syn && c->synack) {
        wnd = peer->tcp.win;
    } else {
        /* no handshake seen: the scale is unknown, assume the largest */
        wnd = (uint32_t) RD_MIN((uint64_t) peer->tcp.win << 14,
                                (uint64_t) 1 << 30);
    }

    r->known = known;
    r->exact = seg->seq == rcv_nxt;
    r->acceptable = r->exact
                    || (RD_SEQ_GEQ(seg->seq, rcv_nxt)
                        && RD_SEQ_LT(seg->seq, rcv_nxt + wnd));
    if (peer->tcp.ack_seen && s->tcp.init) {
        r->unacked = (uint32_t) RD_MAX(0, RD_SEQ_DIFF(s->tcp.snd_max,
                                                      peer->tcp.max_ack));
    }
    if (s->tcp.ack_seen && peer->tcp.init) {
        r->unread_peer = (uint32_t) RD_MAX(0, RD_SEQ_DIFF(peer->tcp.snd_max,
                                                          s->tcp.max_ack));
    }
}


void
rd_conn_packet(struct rd_conn *c, const struct rd_conn_env *env,
    const struct rd_seg *seg)
{
    int                   dir;
    struct rd_conn_side  *s, *peer;
    struct rd_conn_rst    r;
    uint32_t              retrans, ooo;
    uint8_t               shift;

    dir = rd_conn_dir(c, seg);
    s = &c->side[dir];
    peer = &c->side[1 - dir];
    if (seg->ts > c->ts_end) {
        c->ts_end = seg->ts;
    }
    note_sender(s, seg);

    if (seg->flags & RD_TCP_RST) {
        memset(&r, 0, sizeof(r));
        judge_rst(c, dir, seg, &r);
        if (r.answers_syn && r.acceptable) {
            c->refused = 1;
        }
        if (c->nrst < RD_LIMITS_RST_KEEP) {
            c->rst[c->nrst++] = r;
        }
        c->rst_total++;
        s->tcp.pkts++;
        /* an RST the receiver drops (outside the window) or answers with a
         * challenge ACK (in the window, not exact: RFC 5961 §3.2) does not
         * end the connection; one we cannot judge is taken at its word */
        if (r.exact || !r.known) {
            note_close(c, dir, RD_CLOSE_RST, seg->ts);
            c->closed = 1;
        }
        return;
    }

    if (seg->flags & RD_TCP_SYN) {
        s->syns++;
        if (s->syn_ts == 0) {
            s->syn_ts = seg->ts;
        }
        if (!s->tcp.syn) {
            s->tcp.syn = 1;
            s->tcp.isn = seg->seq;
            s->tcp.wscale = seg->opts.has_wscale
                            ? (uint8_t) RD_MIN(seg->opts.wscale, 14) : 0;
            s->tcp.ws_ok = seg->opts.has_wscale;
        }
        if (seg->flags & RD_TCP_ACK) {
            if (dir == RD_CONN_SERVER) {
                c->synack = 1;
            }
        } else if (dir == RD_CONN_CLIENT) {
            c->syn = 1;
        }
    } else if (dir == RD_CONN_CLIENT && c->synack && !c->established
               && (seg->flags & RD_TCP_ACK)
               && seg->ack == c->side[RD_CONN_SERVER].tcp.isn + 1)
    {
        c->established = 1;
    }

    /* window scaling applies only when both SYNs offered it (RFC 7323 §2.2)
     * and never to the SYNs themselves */
    shift = 0;
    if (!(seg->flags & RD_TCP_SYN) && s->tcp.ws_ok && peer->tcp.ws_ok) {
        shift = s->tcp.wscale;
    }
    s->tcp.win = (uint32_t) seg->win << shift;

    retrans = s->tcp.retrans;
    ooo = s->tcp.ooo;
    rd_tcp_segment(env->pool, &s->tcp, seg, NULL, dir);
    if (seg->payload_len > 0 && s->tcp.retrans == retrans) {
        if (s->first_data_ts == 0) {
            s->first_data_ts = seg->ts;
        }
        if (s->tcp.ooo == ooo || seg->ts > s->last_data_ts) {
            s->last_data_ts = seg->ts;
        }
    }

    if (seg->flags & RD_TCP_ACK) {
        if (!s->tcp.ack_seen || RD_SEQ_GT(seg->ack, s->tcp.max_ack)) {
            s->tcp.max_ack = seg->ack;
            s->tcp.ack_seen = 1;
        }
        rd_tcp_acked(env->pool, &peer->tcp, seg->ack, NULL, 1 - dir, seg->ts);
    }

    if ((seg->flags & RD_TCP_FIN) && s->fin_ts == 0) {
        s->fin_ts = seg->ts;
        note_close(c, dir, RD_CLOSE_FIN, seg->ts);
        if (peer->fin_ts != 0) {
            c->closed = 1;
        }
    }
}


void
rd_conn_finish(struct rd_conn *c, const struct rd_conn_env *env, int why)
{
    int  i;

    c->end = (uint8_t) why;
    for (i = 0; i < 2; i++) {
        rd_tcp_flush(env->pool, &c->side[i].tcp, NULL, i, c->ts_end);
        rd_tcp_release(env->pool, &c->side[i].tcp);
    }
}


uint64_t
rd_conn_stream_bytes(const struct rd_conn *c, int dir)
{
    const struct rd_tcp_dir  *d = &c->side[dir].tcp;

    return d->bytes + d->gap_bytes + d->cut_bytes;
}


bool
rd_conn_abnormal(const struct rd_conn *c)
{
    return c->rst_total > 0 || c->refused || (c->syn && !c->synack);
}
