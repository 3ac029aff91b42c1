/*
 * The TLS reader on captures nobody here wrote (../shared/pcaps-public,
 * read by path, never copied): a ClientHello answered by a plain HTTP
 * server, and a TLS 1.2 session resumption after an HTTP CONNECT.  Each
 * capture is read with a minimal classic-pcap loop and rd_decode(); the
 * payloads of the one TCP connection are fed in sequence order (the
 * SYN sender is the client), whole and again byte by byte, and both runs
 * must agree.  Exits 77 (skipped) when the folder or a file is absent.
 *
 * usage: test_tls_public DIR
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rstdiag/decode.h"
#include "rstdiag/tls.h"
#include "src/tls_int.h"

#define SKIP    77
#define MAXCAP  (1u << 20)

struct conn {
    struct rd_tls   p[2];
    bool            have_client;
    uint16_t        cport;          /* the client's port */
    uint32_t        next[2];
    bool            synced[2];
    bool            skip_http;      /* drop an HTTP head before TLS */
    uint32_t        crlf[2];        /* last bytes seen, while skipping */
    bool            in_tls[2];
    int             events[2][16];
    char            log[4096];
    size_t          len;
};

static int  failures;


static void
check(bool ok, const char *what, const char *file)
{
    if (!ok) {
        fprintf(stderr, "FAIL %s: %s\n", file, what);
        failures++;
    }
}


static void
on_ev(void *ctx, const struct rd_tls *p, int ev)
{
    struct conn  *c = ctx;
    int           n;

    c->events[p->dir][ev]++;
    n = snprintf(c->log + c->len, sizeof(c->log) - c->len, "%d:%s f=%x;",
        p->dir, rd_tok2str(rd_tls_event_names, ev, "?"), p->flags);
    if (n > 0 && (size_t) n < sizeof(c->log) - c->len) {
        c->len += (size_t) n;
    }
}


static void
feed(struct conn *c, int dir, const uint8_t *d, size_t n, rd_usec_t ts,
    bool per_byte)
{
    size_t  i;

    /* after "CONNECT ... \r\n\r\n" and its answer, the tunnel is TLS */
    while (c->skip_http && !c->in_tls[dir] && n > 0) {
        c->crlf[dir] = c->crlf[dir] << 8 | *d++;
        n--;
        if (c->crlf[dir] == 0x0d0a0d0au) {
            c->in_tls[dir] = true;
        }
    }
    if (n == 0) {
        return;
    }
    if (!per_byte) {
        (void) rd_tls_feed(&c->p[dir], d, n, ts);
    } else {
        for (i = 0; i < n; i++) {
            (void) rd_tls_feed(&c->p[dir], d + i, 1, ts);
        }
    }
    rd_tls_validate_(&c->p[dir]);
}


static uint32_t
rd32(const uint8_t *p, bool swap)
{
    return swap ? (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
        | (uint32_t) p[2] << 8 | p[3]
        : (uint32_t) p[3] << 24 | (uint32_t) p[2] << 16
        | (uint32_t) p[1] << 8 | p[0];
}


/* 0 done, SKIP when the file is absent, -1 on a read error. */
static int
run(const char *dir, const char *name, bool skip_http, bool per_byte,
    struct conn *c)
{
    static uint8_t  buf[MAXCAP];
    char            path[4096];
    FILE           *f;
    size_t          n, off;
    uint32_t        caplen, wirelen, seq, len;
    bool            swap;
    int             dlt, d;
    struct rd_seg   seg;
    rd_usec_t       ts;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        return SKIP;
    }
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (n < 24) {
        return -1;
    }
    if (memcmp(buf, "\xd4\xc3\xb2\xa1", 4) == 0) {
        swap = false;
    } else if (memcmp(buf, "\xa1\xb2\xc3\xd4", 4) == 0) {
        swap = true;
    } else {
        return -1;
    }
    dlt = (int) rd32(buf + 20, swap);

    memset(c, 0, sizeof(*c));
    rd_tls_init(&c->p[0], RD_TLS_CLIENT, on_ev, c);
    rd_tls_init(&c->p[1], RD_TLS_SERVER, on_ev, c);
    rd_tls_pair(&c->p[0], &c->p[1]);
    c->skip_http = skip_http;
    for (off = 24; off + 16 <= n; off += 16 + caplen) {
        caplen = rd32(buf + off + 8, swap);
        wirelen = rd32(buf + off + 12, swap);
        if (caplen > n - off - 16) {
            return -1;
        }
        ts = rd_usec_from_tv(rd32(buf + off, swap), rd32(buf + off + 4, swap));
        if (rd_decode(dlt, buf + off + 16, caplen, wirelen, ts, &seg)
            != RD_DECODE_OK)
        {
            continue;
        }
        if ((seg.flags & RD_TCP_SYN) && !(seg.flags & RD_TCP_ACK)
            && !c->have_client)
        {
            c->have_client = true;
            c->cport = seg.sport;
        }
        if (!c->have_client) {
            continue;
        }
        d = seg.sport == c->cport ? 0 : 1;
        seq = seg.seq + ((seg.flags & RD_TCP_SYN) ? 1u : 0u);
        if (!c->synced[d]) {
            c->synced[d] = true;
            c->next[d] = seq;
        }
        len = (uint32_t) seg.payload.len;
        if (len == 0 || RD_SEQ_LEQ(seq + len, c->next[d])) {
            continue;               /* no data, or a retransmission */
        }
        if (RD_SEQ_GT(seq, c->next[d])) {
            rd_tls_gap(&c->p[d], (uint32_t) (seq - c->next[d]));
            c->next[d] = seq;
        }
        feed(c, d, seg.payload.p + (c->next[d] - seq),
            len - (c->next[d] - seq), seg.ts, per_byte);
        c->next[d] = seq + len;
    }
    return 0;
}


static int
both(const char *dir, const char *name, bool skip_http, struct conn *c)
{
    static struct conn  b;
    int                 rc;

    rc = run(dir, name, skip_http, false, c);
    if (rc != 0) {
        return rc;
    }
    rc = run(dir, name, skip_http, true, &b);
    if (rc != 0) {
        return rc;
    }
    check(strcmp(c->log, b.log) == 0, "per-byte log differs", name);
    check(memcmp(c->events, b.events, sizeof(b.events)) == 0,
        "per-byte events differ", name);
    check(c->p[0].records == b.p[0].records
        && c->p[1].records == b.p[1].records
        && c->p[0].appdata_bytes == b.p[0].appdata_bytes
        && c->p[1].appdata_bytes == b.p[1].appdata_bytes,
        "per-byte counters differ", name);
    return 0;
}


int
main(int argc, char **argv)
{
    static struct conn  c;
    const char         *f1 = "zeek__https-to-http.pcap";
    const char         *f2 = "zeek__connect-with-header.pcap";
    int                 rc;

    if (argc != 2) {
        fprintf(stderr, "usage: test_tls_public DIR\n");
        return 2;
    }

    /* a TLS 1.3-capable ClientHello to a plain HTTP server on port 80:
     * the answer is HTML, not TLS */
    rc = both(argv[1], f1, false, &c);
    if (rc == SKIP) {
        fprintf(stderr, "skip: %s/%s absent\n", argv[1], f1);
        return SKIP;
    }
    check(rc == 0, "read", f1);
    check(c.events[0][RD_TLS_EV_CLIENT_HELLO] == 1, "client hello", f1);
    check(c.p[0].alpn_len == 11 && memcmp(c.p[0].alpn, "h2,http/1.1", 11)
        == 0, "ALPN h2,http/1.1", f1);
    check(c.p[0].sni_len == 0, "no SNI", f1);
    check(c.p[0].nversions >= 2 && c.p[0].versions[0] == RD_TLS_V13,
        "supported_versions 1.3 first", f1);
    check(c.p[0].err == RD_TLS_E_NONE, "client not in error", f1);
    check(c.p[1].err == RD_TLS_E_NOT_TLS, "server not TLS", f1);
    check(rd_tls_phase(&c.p[0], &c.p[1]) == RD_TLS_PH_ERROR, "phase", f1);
    check(rd_tls_finish(&c.p[0]) == RD_TLS_SAFE, "client safe", f1);
    printf("%s: %s\n", f1, c.log);

    /* TLS 1.2 session resumption inside an HTTP CONNECT tunnel: SH, CCS,
     * Finished from the server first (RFC 5246 7.3 abbreviated) */
    rc = both(argv[1], f2, true, &c);
    if (rc == SKIP) {
        fprintf(stderr, "skip: %s/%s absent\n", argv[1], f2);
        return SKIP;
    }
    check(rc == 0, "read", f2);
    check(c.p[0].sni_len == 17 && memcmp(c.p[0].sni, "secure.newegg.com",
        17) == 0, "SNI", f2);
    check(c.p[0].alpn_len == 20
        && memcmp(c.p[0].alpn, "h2,spdy/3.1,http/1.1", 20) == 0, "ALPN",
        f2);
    check(c.p[1].version == RD_TLS_V12 && c.p[0].version == RD_TLS_V12,
        "version 1.2 both sides", f2);
    check(c.p[1].cipher == 0x000a, "cipher 3DES", f2);
    check(c.p[0].finished && c.p[1].finished, "both finished", f2);
    check(rd_tls_phase(&c.p[0], &c.p[1]) == RD_TLS_PH_ESTABLISHED,
        "established", f2);
    check(c.p[0].appdata_records > 0 && c.p[1].appdata_records > 0,
        "application data both ways", f2);
    check(c.p[0].err == RD_TLS_E_NONE && c.p[1].err == RD_TLS_E_NONE,
        "no error", f2);
    check(rd_tls_probable_close_notify(&c.p[0]) == -1, "CBC: unknown", f2);
    printf("%s: %s\nclient records %" PRIu64 " appdata %" PRIu64
        " bytes %" PRIu64 "; server records %" PRIu64 " appdata %" PRIu64
        " bytes %" PRIu64 "\n", f2, c.log, c.p[0].records,
        c.p[0].appdata_records, c.p[0].appdata_bytes, c.p[1].records,
        c.p[1].appdata_records, c.p[1].appdata_bytes);
    return failures == 0 ? 0 : 1;
}
