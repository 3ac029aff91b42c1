/*
 * gen-synthetic: deterministic synthetic pcap writer of nginx traffic.
 *
 *   gen-synthetic -o FILE -s SIZE[K|M|G] [--seed N] [--synflood]
 *                 [--tls PERCENT] [--client-only]
 *
 * Ethernet/IPv4/TCP with correct lengths and IPv4 header checksums (TCP
 * checksums are zero), TCP timestamps, MSS 1448 (1514-byte frames).
 * RD_GEN_SLOTS connections are open at once and their packets interleave at
 * random.  Half the slots are client legs (10.1.x.y -> 10.0.0.1:80, HTTP/1.1
 * keep-alive, several requests, Content-Length or chunked responses, a few
 * client aborts); the other half are upstream legs (127.0.0.1 ->
 * 127.0.0.21:8080): HTTP/1.0 with Connection: close (Content-Length or
 * close-delimited responses) or HTTP/1.1 keep-alive (Content-Length or
 * chunked), with ~1% each of: upstream RST before the response header, RST
 * in the middle of the body, FIN before the response header.
 * When a connection ends, its slot opens the next one, reusing the same
 * 4-tuple half of the time (new SYN on a closed tuple, new ISN).
 *
 * --tls PERCENT: that share of client legs is HTTPS on 10.0.0.1:443, read
 * at the record layer only: a recorded ClientHello (SNI x.test, ALPN
 * h2,http/1.1) and the server's flight from tests/tls_openssl.h (TLS 1.3
 * AES-256-GCM 60%, TLS 1.2 AES-128-GCM 25%, TLS 1.2 ChaCha20 15%), then
 * application-data records both ways carrying the same request and
 * response sizes as the HTTP legs (records up to 16 KiB of plaintext, the
 * cipher's overhead added, split across TCP segments), a close_notify from
 * the side that closes, then FIN, or RST (a fifth of client closes).
 * Client aborts (~1%) are an RST mid-response without close_notify.
 * --client-only: every slot is a client leg (no upstream legs), so that
 * --client-only and --client-only --tls 100 give an HTTP-only and a
 * TLS-only capture of the same traffic shape.
 * Without these options the output of a seed is what it always was: the
 * random stream is drawn from only when they are given.
 *
 * --synflood: 49 packets out of 50 are SYNs from distinct spoofed tuples to
 * 10.0.0.1:80 (never answered), the rest is the normal traffic above.
 *
 * The output is a pure function of the seed: a smaller SIZE with the same
 * seed gives a prefix of the larger file (same traffic).
 */

#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/tls_openssl.h"


#define RD_GEN_SLOTS       256
#define RD_GEN_PORTS       200       /* ephemeral ports owned by each slot */
#define RD_GEN_MSS         1448
#define RD_GEN_CHUNK       8192      /* chunk size of chunked bodies */
#define RD_GEN_MAXPKT      (14 + 20 + 40 + RD_GEN_MSS)

#define RD_GEN_NGINX_IP    0x0a000001u     /* 10.0.0.1 */
#define RD_GEN_NGINX_LO    0x7f000001u     /* 127.0.0.1 */
#define RD_GEN_UPSTREAM_IP 0x7f000015u     /* 127.0.0.21 */

#define RD_GEN_TLS_REC     16384     /* max plaintext per record (RFC 8446 5.1) */
#define RD_GEN_TLS_HDR     5

#define TH_FIN  0x01
#define TH_SYN  0x02
#define TH_RST  0x04
#define TH_PUSH 0x08
#define TH_ACK  0x10


enum st {
    ST_SYN, ST_SYNACK, ST_ACK, ST_REQ, ST_RESP, ST_CACK,
    ST_SRV_RST, ST_SRV_FIN, ST_CLI_FIN, ST_PEER_FINACK, ST_LAST_ACK,
    ST_CLI_RST, ST_TLS_HS, ST_TLS_CN, ST_DONE
};


/* one recorded handshake (tests/tls_openssl.h) and its record overheads */
struct tls_kind {
    const struct tls_chunk *chunks;
    size_t                  hs[6];      /* handshake chunk indices */
    size_t                  nhs;
    size_t                  cli_close;  /* client close_notify chunk */
    unsigned                overhead;   /* ciphertext minus plaintext */
    unsigned char           srv_close_type;
    unsigned                srv_close_len;
};

static const struct tls_kind  tls_kinds[3] = {
    /* 1.3: CH; SH..Finished; CCS+Finished; 2 NewSessionTickets */
    { t13_chunks, { 0, 1, 2, 4, 5 }, 5, 6, 17, 0x17, 19 },
    /* 1.2 GCM: explicit nonce 8 + tag 16 */
    { t12_chunks, { 0, 1, 2, 3 }, 4, 5, 24, 0x15, 26 },
    /* 1.2 ChaCha20-Poly1305: tag 16 */
    { t12c_chunks, { 0, 1, 2, 3 }, 4, 5, 16, 0x15, 18 },
};

enum body { BODY_CL, BODY_CHUNKED, BODY_CLOSE };

enum fault { F_NONE, F_RST_BEFORE_HDR, F_RST_MID_BODY, F_FIN_BEFORE_HDR,
    F_CLIENT_ABORT };


struct conn {
    uint32_t     cip, sip;
    uint16_t     cport, sport;
    uint32_t     cseq, sseq;      /* next sequence number of each side */
    uint32_t     cipid, sipid;
    uint32_t     tsval;
    int          slot, upstream, http10, port_idx;
    enum st      st;
    int          requests_left;
    int          closer_is_server; /* who sends the first FIN at the end */
    int          fin_by_server;    /* in the close sequence: FIN sender */
    /* current response */
    enum body    body;
    enum fault   fault;
    uint64_t     body_len;
    uint64_t     body_left;
    uint64_t     fault_at;         /* response bytes before the fault */
    uint64_t     resp_sent;
    unsigned     unacked_segs;
    char         hdr[512];
    size_t       hdr_len, hdr_off;
    uint64_t     chunk_left;       /* data bytes left in the current chunk */
    int          chunk_phase;      /* 0 size line, 1 data, 2 CRLF, 3 last */
    char         chunk_line[24];
    size_t       chunk_line_len, chunk_line_off;
    /* TLS */
    int          tls;
    const struct tls_kind *tk;
    size_t       hs_i;
    int          cn_by_client;     /* ST_TLS_CN: who sends close_notify */
    enum st      after_cn;
    uint64_t     pt_left;          /* response plaintext not yet in a record */
    uint64_t     rec_left;         /* ciphertext bytes left in the record */
    unsigned char rec_hdr[RD_GEN_TLS_HDR];
    size_t       rec_hdr_off;
};


static uint64_t  rng_state;
static uint64_t  now_us = 1700000000ull * 1000000ull;
static unsigned char  filler[RD_GEN_CHUNK];
static uint64_t  written, packets;
static FILE     *out;
static uint32_t  flood_n;
static unsigned  tls_pct;
static int       client_only;


static uint64_t
rnd(void)
{
    uint64_t  z;

    /* splitmix64 */
    rng_state += 0x9e3779b97f4a7c15ull;
    z = rng_state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}


static uint32_t
rnd_below(uint32_t n)
{
    return (uint32_t) (rnd() % n);
}


static void
put16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 8);
    p[1] = (unsigned char) v;
}


static void
put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}


static void
putle32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) v;
    p[1] = (unsigned char) (v >> 8);
    p[2] = (unsigned char) (v >> 16);
    p[3] = (unsigned char) (v >> 24);
}


static void
write_or_die(const void *p, size_t n)
{
    if (fwrite(p, 1, n, out) != n) {
        perror("gen-synthetic: write");
        exit(1);
    }
    written += n;
}


/*
 * Emit one packet.  from_client selects the direction; payload may be NULL
 * when len is 0.
 */
static void
emit(struct conn *c, int from_client, unsigned flags, const unsigned char *pl,
    size_t len)
{
    unsigned char  pkt[RD_GEN_MAXPKT + 16];
    unsigned char *ip, *tcp;
    size_t         optlen, tcplen, iplen, caplen, i;
    uint32_t       sum, src, dst, seq, ack;
    uint16_t       sport, dport;

    if (flags & TH_SYN) {
        optlen = 20;
    } else if (flags & TH_RST) {
        optlen = 0;
    } else {
        optlen = 12;
    }

    tcplen = 20 + optlen + len;
    iplen = 20 + tcplen;
    caplen = 14 + iplen;

    now_us += 1 + rnd_below(12);

    /* pcap record header (little endian, microseconds) */
    putle32(pkt, (uint32_t) (now_us / 1000000u));
    putle32(pkt + 4, (uint32_t) (now_us % 1000000u));
    putle32(pkt + 8, (uint32_t) caplen);
    putle32(pkt + 12, (uint32_t) caplen);

    /* Ethernet */
    memcpy(pkt + 16, from_client ? "\x02\x00\x00\x00\x00\x02"
                                 : "\x02\x00\x00\x00\x00\x01", 6);
    memcpy(pkt + 22, from_client ? "\x02\x00\x00\x00\x00\x01"
                                 : "\x02\x00\x00\x00\x00\x02", 6);
    put16(pkt + 28, 0x0800);

    if (from_client) {
        src = c->cip; dst = c->sip; sport = c->cport; dport = c->sport;
        seq = c->cseq; ack = c->sseq;
    } else {
        src = c->sip; dst = c->cip; sport = c->sport; dport = c->cport;
        seq = c->sseq; ack = c->cseq;
    }

    ip = pkt + 30;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint32_t) iplen);
    put16(ip + 4, from_client ? c->cipid++ : c->sipid++);
    put16(ip + 6, 0x4000);
    ip[8] = 64;
    ip[9] = 6;
    put16(ip + 10, 0);
    put32(ip + 12, src);
    put32(ip + 16, dst);
    sum = 0;
    for (i = 0; i < 20; i += 2) {
        sum += (uint32_t) ip[i] << 8 | ip[i + 1];
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    put16(ip + 10, ~sum & 0xffff);

    tcp = ip + 20;
    put16(tcp, sport);
    put16(tcp + 2, dport);
    put32(tcp + 4, seq);
    put32(tcp + 8, (flags & TH_ACK) ? ack : 0);
    tcp[12] = (unsigned char) (((20 + optlen) / 4) << 4);
    tcp[13] = (unsigned char) flags;
    put16(tcp + 14, 64240);
    put16(tcp + 16, 0);
    put16(tcp + 18, 0);
    c->tsval++;
    if (optlen == 20) {
        memcpy(tcp + 20, "\x02\x04\x05\xb4\x04\x02\x08\x0a", 8);
        put32(tcp + 28, c->tsval);
        put32(tcp + 32, (flags & TH_ACK) ? c->tsval - 1 : 0);
        memcpy(tcp + 36, "\x01\x03\x03\x07", 4);
    } else if (optlen == 12) {
        memcpy(tcp + 20, "\x01\x01\x08\x0a", 4);
        put32(tcp + 24, c->tsval);
        put32(tcp + 28, c->tsval - 1);
    }
    if (len) {
        memcpy(tcp + 20 + optlen, pl, len);
    }

    write_or_die(pkt, 16 + caplen);
    packets++;

    /* advance sequence numbers */
    if (from_client) {
        c->cseq += (uint32_t) len + ((flags & (TH_SYN | TH_FIN)) ? 1u : 0u);
    } else {
        c->sseq += (uint32_t) len + ((flags & (TH_SYN | TH_FIN)) ? 1u : 0u);
    }
}


static void
new_conn(struct conn *c, int reuse)
{
    uint32_t  r;

    if (!reuse) {
        c->port_idx = (int) rnd_below(RD_GEN_PORTS);
        c->upstream = client_only ? 0 : (c->slot & 1);
        c->tls = 0;
        if (!c->upstream && tls_pct > 0) {
            c->tls = rnd_below(100) < tls_pct;
        }
        if (c->upstream) {
            c->cip = RD_GEN_NGINX_LO;
            c->sip = RD_GEN_UPSTREAM_IP;
            c->sport = 8080;
        } else {
            c->cip = 0x0a010000u | (1 + rnd_below(4000));
            c->sip = RD_GEN_NGINX_IP;
            c->sport = c->tls ? 443 : 80;
        }
        c->cport = (uint16_t) (10000 + c->slot * RD_GEN_PORTS + c->port_idx);
        c->cipid = rnd_below(65536);
    }
    /* a reused tuple gets a fresh ISN well ahead of the old one */
    c->cseq = c->cseq + 0x10000000u + (uint32_t) rnd_below(1u << 20);
    c->sseq = (uint32_t) rnd();
    c->sipid = rnd_below(65536);
    c->tsval = (uint32_t) rnd();
    c->st = ST_SYN;

    r = rnd_below(100);
    if (c->upstream) {
        c->http10 = r < 50;
    } else {
        c->http10 = 0;
    }
    c->requests_left = c->http10 ? 1 : 1 + (int) rnd_below(8);
    c->closer_is_server = c->upstream ? rnd_below(2) : rnd_below(4) == 0;
    if (c->tls) {
        r = rnd_below(100);
        c->tk = &tls_kinds[r < 60 ? 0 : r < 85 ? 1 : 2];
        c->hs_i = 0;
    }
}


static uint64_t
body_size(void)
{
    uint32_t  r = rnd_below(100);

    /* small API answers, medium pages, some large assets */
    if (r < 25) {
        return 100 + rnd_below(2000);
    }
    if (r < 80) {
        return 2000 + rnd_below(30000);
    }
    return 20000 + rnd_below(160000);
}


static void
plan_response(struct conn *c)
{
    uint32_t  r;
    int       n;
    const char *ver = c->http10 ? "HTTP/1.0" : "HTTP/1.1";

    c->body_len = body_size();
    r = rnd_below(100);
    if (c->http10) {
        c->body = r < 60 ? BODY_CL : BODY_CLOSE;
    } else if (c->tls) {
        c->body = BODY_CL;          /* the bytes are opaque records anyway */
    } else {
        c->body = r < 65 ? BODY_CL : BODY_CHUNKED;
    }

    c->fault = F_NONE;
    r = rnd_below(1000);
    if (c->upstream) {
        if (r < 10) {
            c->fault = F_RST_BEFORE_HDR;
        } else if (r < 20) {
            c->fault = F_RST_MID_BODY;
        } else if (r < 30) {
            c->fault = F_FIN_BEFORE_HDR;
        }
    } else if (r < 10) {
        c->fault = F_CLIENT_ABORT;
    }

    if (c->body == BODY_CL) {
        n = snprintf(c->hdr, sizeof(c->hdr),
            "%s 200 OK\r\nServer: nginx/1.22.1\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Content-Length: %llu\r\n"
            "Last-Modified: Mon, 13 Nov 2023 10:00:00 GMT\r\n"
            "Connection: %s\r\nETag: \"6552f1c0-%llx\"\r\n"
            "Accept-Ranges: bytes\r\n\r\n",
            ver, (unsigned long long) c->body_len,
            c->http10 || (c->requests_left == 0 && c->closer_is_server)
                ? "close" : "keep-alive",
            (unsigned long long) c->body_len);
    } else if (c->body == BODY_CHUNKED) {
        n = snprintf(c->hdr, sizeof(c->hdr),
            "%s 200 OK\r\nServer: nginx/1.22.1\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
            "Content-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n"
            "Connection: %s\r\nVary: Accept-Encoding\r\n\r\n", ver,
            c->requests_left == 0 && c->closer_is_server
                ? "close" : "keep-alive");
    } else {
        n = snprintf(c->hdr, sizeof(c->hdr),
            "HTTP/1.0 200 OK\r\nServer: gunicorn\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Connection: close\r\n\r\n");
    }
    c->hdr_len = (size_t) n;
    c->hdr_off = 0;
    c->body_left = c->body_len;
    c->chunk_phase = 0;
    c->chunk_left = 0;
    c->chunk_line_len = 0;
    c->resp_sent = 0;
    c->unacked_segs = 0;
    if (c->tls) {
        c->pt_left = c->hdr_len + c->body_len;
        c->rec_left = 0;
        c->rec_hdr_off = RD_GEN_TLS_HDR;
    }
    if (c->fault == F_RST_MID_BODY || c->fault == F_CLIENT_ABORT) {
        c->fault_at = c->hdr_len + 1 + rnd() % c->body_len;
    } else {
        c->fault_at = 0;
    }
}


/* Fill up to cap bytes of the response stream; returns bytes written. */
static size_t
resp_fill(struct conn *c, unsigned char *b, size_t cap)
{
    size_t    n = 0, k;
    uint64_t  want;

    while (n < cap) {
        if (c->hdr_off < c->hdr_len) {
            k = c->hdr_len - c->hdr_off;
            k = k < cap - n ? k : cap - n;
            memcpy(b + n, c->hdr + c->hdr_off, k);
            c->hdr_off += k;
            n += k;
            continue;
        }
        if (c->body != BODY_CHUNKED) {
            if (c->body_left == 0) {
                break;
            }
            k = cap - n;
            k = k < c->body_left ? k : (size_t) c->body_left;
            k = k < sizeof(filler) ? k : sizeof(filler);
            memcpy(b + n, filler, k);
            c->body_left -= k;
            n += k;
            continue;
        }
        /* chunked */
        if (c->chunk_line_off < c->chunk_line_len) {
            k = c->chunk_line_len - c->chunk_line_off;
            k = k < cap - n ? k : cap - n;
            memcpy(b + n, c->chunk_line + c->chunk_line_off, k);
            c->chunk_line_off += k;
            n += k;
            continue;
        }
        if (c->chunk_phase == 0) {
            if (c->body_left == 0) {
                c->chunk_line_len = (size_t) snprintf(c->chunk_line,
                    sizeof(c->chunk_line), "0\r\n\r\n");
                c->chunk_phase = 3;
            } else {
                want = c->body_left < RD_GEN_CHUNK ? c->body_left
                                                   : RD_GEN_CHUNK;
                c->chunk_left = want;
                c->chunk_line_len = (size_t) snprintf(c->chunk_line,
                    sizeof(c->chunk_line), "%llx\r\n",
                    (unsigned long long) want);
                c->chunk_phase = 1;
            }
            c->chunk_line_off = 0;
            continue;
        }
        if (c->chunk_phase == 1) {
            k = cap - n;
            k = k < c->chunk_left ? k : (size_t) c->chunk_left;
            memcpy(b + n, filler, k);
            c->chunk_left -= k;
            c->body_left -= k;
            n += k;
            if (c->chunk_left == 0) {
                memcpy(c->chunk_line, "\r\n", 2);
                c->chunk_line_len = 2;
                c->chunk_line_off = 0;
                c->chunk_phase = 0;
            }
            continue;
        }
        break;  /* phase 3 and its line sent: done */
    }
    return n;
}


/*
 * TLS: fill up to cap bytes of the response as application-data records
 * (RFC 8446 5.1, 5.2; RFC 5246 6.2): a 5-byte header, then the plaintext
 * plus the cipher's overhead, as opaque filler.
 */
static size_t
tls_fill(struct conn *c, unsigned char *b, size_t cap)
{
    size_t    n = 0, k;
    uint64_t  pt;

    while (n < cap) {
        if (c->rec_hdr_off < RD_GEN_TLS_HDR) {
            k = RD_GEN_TLS_HDR - c->rec_hdr_off;
            k = k < cap - n ? k : cap - n;
            memcpy(b + n, c->rec_hdr + c->rec_hdr_off, k);
            c->rec_hdr_off += k;
            n += k;
            continue;
        }
        if (c->rec_left > 0) {
            k = cap - n;
            k = k < c->rec_left ? k : (size_t) c->rec_left;
            memcpy(b + n, filler, k);
            c->rec_left -= k;
            n += k;
            continue;
        }
        if (c->pt_left == 0) {
            break;
        }
        pt = c->pt_left < RD_GEN_TLS_REC ? c->pt_left : RD_GEN_TLS_REC;
        c->pt_left -= pt;
        c->rec_left = pt + c->tk->overhead;
        c->rec_hdr[0] = 0x17;
        c->rec_hdr[1] = 3;
        c->rec_hdr[2] = 3;
        put16(c->rec_hdr + 3, (uint32_t) c->rec_left);
        c->rec_hdr_off = 0;
    }
    return n;
}


/* true once the whole response (or its records) is out */
static int
resp_done(const struct conn *c)
{
    if (c->tls) {
        return c->pt_left == 0 && c->rec_left == 0
               && c->rec_hdr_off == RD_GEN_TLS_HDR;
    }
    return c->hdr_off == c->hdr_len && c->body_left == 0
           && (c->body != BODY_CHUNKED
               || (c->chunk_phase == 3
                   && c->chunk_line_off == c->chunk_line_len));
}


/* one record of len plaintext bytes, header and filler, into b */
static size_t
tls_record(const struct conn *c, unsigned char *b, unsigned char type,
    size_t len)
{
    size_t  k = len + c->tk->overhead;

    b[0] = type;
    b[1] = 3;
    b[2] = 3;
    put16(b + 3, (uint32_t) k);
    memcpy(b + RD_GEN_TLS_HDR, filler, k);
    return RD_GEN_TLS_HDR + k;
}


static void
send_request(struct conn *c)
{
    char  req[600];
    int   n;

    if (c->upstream) {
        n = snprintf(req, sizeof(req),
            "GET /api/v1/items/%u?page=%u HTTP/%s\r\n"
            "Host: backend\r\n%s"
            "X-Real-IP: 10.1.%u.%u\r\n"
            "X-Forwarded-For: 10.1.%u.%u\r\n"
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) "
            "Gecko/20100101 Firefox/119.0\r\n"
            "Accept: */*\r\nAccept-Encoding: gzip, deflate\r\n\r\n",
            rnd_below(1000000), rnd_below(50), c->http10 ? "1.0" : "1.1",
            c->http10 ? "Connection: close\r\n" : "Connection: \r\n",
            rnd_below(16), rnd_below(256), rnd_below(16), rnd_below(256));
    } else {
        n = snprintf(req, sizeof(req),
            "GET /static/app.%u.js HTTP/1.1\r\nHost: www.example.com\r\n"
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) "
            "Gecko/20100101 Firefox/119.0\r\n"
            "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n"
            "Accept-Language: en-US,en;q=0.5\r\n"
            "Accept-Encoding: gzip, deflate, br\r\n"
            "Cookie: session=%016llx\r\n"
            "Connection: keep-alive\r\n\r\n",
            rnd_below(100000), (unsigned long long) rnd());
    }
    if (c->tls) {
        unsigned char  rec[sizeof(req) + 64];

        emit(c, 1, TH_ACK | TH_PUSH, rec,
             tls_record(c, rec, 0x17, (size_t) n));
    } else {
        emit(c, 1, TH_ACK | TH_PUSH, (const unsigned char *) req,
             (size_t) n);
    }
    c->requests_left--;
    plan_response(c);
}


static void
after_response(struct conn *c)
{
    if (c->body == BODY_CLOSE || c->http10
        || (c->requests_left == 0 && c->closer_is_server))
    {
        c->fin_by_server = 1;
        c->st = ST_SRV_FIN;
    } else if (c->requests_left == 0) {
        c->fin_by_server = 0;
        c->st = ST_CLI_FIN;
    } else {
        c->st = ST_REQ;
    }
    if (c->tls && c->st != ST_REQ) {
        /* RFC 8446 6.1: close_notify first, then the TCP close */
        c->cn_by_client = !c->fin_by_server;
        c->after_cn = c->st;
        if (c->cn_by_client && rnd_below(5) == 0) {
            c->after_cn = ST_CLI_RST;
        }
        c->st = ST_TLS_CN;
    }
}


/* Advance connection c by exactly one packet. */
static void
step(struct conn *c)
{
    unsigned char  buf[RD_GEN_MSS];
    size_t         n, cap;
    uint64_t       total;

    switch (c->st) {
    case ST_SYN:
        emit(c, 1, TH_SYN, NULL, 0);
        c->st = ST_SYNACK;
        break;
    case ST_SYNACK:
        emit(c, 0, TH_SYN | TH_ACK, NULL, 0);
        c->st = ST_ACK;
        break;
    case ST_ACK:
        emit(c, 1, TH_ACK, NULL, 0);
        c->st = c->tls ? ST_TLS_HS : ST_REQ;
        break;
    case ST_TLS_HS: {
        const struct tls_chunk  *ch = &c->tk->chunks[c->tk->hs[c->hs_i]];

        emit(c, ch->dir == 0, TH_ACK | TH_PUSH, ch->p, ch->len);
        if (++c->hs_i == c->tk->nhs) {
            c->st = ST_REQ;
        }
        break;
    }
    case ST_TLS_CN:
        if (c->cn_by_client) {
            const struct tls_chunk  *ch = &c->tk->chunks[c->tk->cli_close];

            emit(c, 1, TH_ACK | TH_PUSH, ch->p, ch->len);
        } else {
            unsigned char  rec[64];

            rec[0] = c->tk->srv_close_type;
            rec[1] = 3;
            rec[2] = 3;
            put16(rec + 3, c->tk->srv_close_len);
            memcpy(rec + RD_GEN_TLS_HDR, filler, c->tk->srv_close_len);
            emit(c, 0, TH_ACK | TH_PUSH, rec,
                 RD_GEN_TLS_HDR + c->tk->srv_close_len);
        }
        c->st = c->after_cn;
        break;
    case ST_REQ:
        send_request(c);
        if (c->fault == F_RST_BEFORE_HDR) {
            c->st = ST_SRV_RST;
        } else if (c->fault == F_FIN_BEFORE_HDR) {
            c->fin_by_server = 1;
            c->st = ST_SRV_FIN;
        } else {
            c->st = ST_RESP;
        }
        break;
    case ST_RESP:
        cap = RD_GEN_MSS;
        if (c->fault_at) {
            if (c->resp_sent >= c->fault_at) {
                if (c->fault == F_CLIENT_ABORT) {
                    emit(c, 1, TH_RST | TH_ACK, NULL, 0);
                    c->st = ST_DONE;
                } else {
                    emit(c, 0, TH_RST | TH_ACK, NULL, 0);
                    c->st = ST_DONE;
                }
                break;
            }
            if (c->fault_at - c->resp_sent < cap) {
                cap = (size_t) (c->fault_at - c->resp_sent);
            }
        }
        n = c->tls ? tls_fill(c, buf, cap) : resp_fill(c, buf, cap);
        c->resp_sent += n;
        /* is the response complete after this segment? */
        total = (uint64_t) resp_done(c);
        emit(c, 0, TH_ACK | (total ? TH_PUSH : 0u), buf, n);
        c->unacked_segs++;
        if (total) {
            c->st = ST_CACK;
        } else if (c->unacked_segs == 2) {
            c->st = ST_CACK;
        }
        break;
    case ST_CACK:
        emit(c, 1, TH_ACK, NULL, 0);
        c->unacked_segs = 0;
        if (resp_done(c)) {
            after_response(c);
        } else {
            c->st = ST_RESP;
        }
        break;
    case ST_SRV_RST:
        emit(c, 0, TH_RST | TH_ACK, NULL, 0);
        c->st = ST_DONE;
        break;
    case ST_CLI_RST:
        emit(c, 1, TH_RST | TH_ACK, NULL, 0);
        c->st = ST_DONE;
        break;
    case ST_SRV_FIN:
        emit(c, 0, TH_FIN | TH_ACK, NULL, 0);
        c->st = ST_PEER_FINACK;
        break;
    case ST_CLI_FIN:
        emit(c, 1, TH_FIN | TH_ACK, NULL, 0);
        c->st = ST_PEER_FINACK;
        break;
    case ST_PEER_FINACK:
        emit(c, c->fin_by_server, TH_FIN | TH_ACK, NULL, 0);
        c->st = ST_LAST_ACK;
        break;
    case ST_LAST_ACK:
        emit(c, !c->fin_by_server, TH_ACK, NULL, 0);
        c->st = ST_DONE;
        break;
    case ST_DONE:
        break;
    }

    if (c->st == ST_DONE) {
        /* tuple reuse: a new SYN on the tuple that just closed */
        new_conn(c, rnd_below(2) == 0);
    }
}


static void
flood_syn(void)
{
    struct conn  f;

    memset(&f, 0, sizeof(f));
    /* distinct tuples: the counter spreads over source address and port */
    f.cip = 0xc6120000u | (flood_n >> 14);          /* 198.18.0.0/15 */
    f.cport = (uint16_t) (1024 + (flood_n & 0x3fff));
    f.sip = RD_GEN_NGINX_IP;
    f.sport = 80;
    f.cseq = (uint32_t) rnd();
    f.cipid = (uint32_t) rnd_below(65536);
    f.tsval = (uint32_t) rnd();
    flood_n++;
    emit(&f, 1, TH_SYN, NULL, 0);
}


static uint64_t
parse_size(const char *s)
{
    char      *end;
    uint64_t   v;

    v = strtoull(s, &end, 10);
    switch (*end) {
    case 'k': case 'K': v <<= 10; break;
    case 'm': case 'M': v <<= 20; break;
    case 'g': case 'G': v <<= 30; break;
    case '\0': break;
    default:
        fprintf(stderr, "gen-synthetic: bad size '%s'\n", s);
        exit(2);
    }
    return v;
}


int
main(int argc, char **argv)
{
    static struct conn  conns[RD_GEN_SLOTS];
    unsigned char       gh[24];
    const char         *path = NULL;
    uint64_t            size = 1ull << 30, seed = 1;
    int                 i, synflood = 0;
    size_t              k;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            size = parse_size(argv[++i]);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--synflood") == 0) {
            synflood = 1;
        } else if (strcmp(argv[i], "--tls") == 0 && i + 1 < argc) {
            tls_pct = (unsigned) strtoul(argv[++i], NULL, 10);
            if (tls_pct > 100) {
                fprintf(stderr, "gen-synthetic: --tls 0..100\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--client-only") == 0) {
            client_only = 1;
        } else {
            fprintf(stderr, "usage: gen-synthetic -o FILE [-s SIZE[K|M|G]] "
                    "[--seed N] [--synflood] [--tls PERCENT] "
                    "[--client-only]\n");
            return 2;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "gen-synthetic: -o FILE is required\n");
        return 2;
    }
    out = fopen(path, "wb");
    if (out == NULL) {
        perror(path);
        return 1;
    }
    setvbuf(out, NULL, _IOFBF, 1 << 20);

    rng_state = seed * 0x2545f4914f6cdd1dull + 1;
    for (k = 0; k < sizeof(filler); k++) {
        filler[k] = (unsigned char) "abcdefghijklmnopqrstuvwxyz0123456789 \n"
                                    [k % 38];
    }

    putle32(gh, 0xa1b2c3d4u);
    gh[4] = 2; gh[5] = 0; gh[6] = 4; gh[7] = 0;
    putle32(gh + 8, 0);
    putle32(gh + 12, 0);
    putle32(gh + 16, 262144);
    putle32(gh + 20, 1);            /* LINKTYPE_ETHERNET */
    write_or_die(gh, sizeof(gh));

    for (i = 0; i < RD_GEN_SLOTS; i++) {
        conns[i].slot = i;
        conns[i].cseq = (uint32_t) rnd();
        new_conn(&conns[i], 0);
    }

    while (written < size) {
        if (synflood && rnd_below(50) != 0) {
            flood_syn();
            continue;
        }
        step(&conns[rnd_below(RD_GEN_SLOTS)]);
    }

    if (fclose(out) != 0) {
        perror(path);
        return 1;
    }
    fprintf(stderr, "gen-synthetic: %s: %llu bytes, %llu packets, "
            "avg %.0f bytes/packet%s\n", path, (unsigned long long) written,
            (unsigned long long) packets,
            packets ? (double) (written - 24) / (double) packets - 16 : 0.0,
            synflood ? ", synflood" : "");
    return 0;
}
