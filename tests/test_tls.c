/*
 * Unit tests of the TLS record-layer reader (src/tls.c).  Streams are
 * built record by record as a script of feed and gap steps per
 * direction; every script runs whole, byte by byte (each byte placed
 * before a guard page) and cut in two at every byte position, and the
 * event logs and final states must be identical (picohttpparser's
 * test_chunked_per_byte idea).  The outcome is then asserted on the
 * whole run.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rstdiag/tls.h"
#include "src/tls_int.h"
#include "guard.h"
#include "tls_openssl.h"

#define C       RD_TLS_CLIENT
#define S       RD_TLS_SERVER
#define LOGLEN  8192

enum {
    ST_FEED = 0,
    ST_GAP
};

struct step {
    int         kind;
    int         dir;
    size_t      off;        /* ST_FEED: range in data */
    size_t      len;
    uint64_t    gap;        /* ST_GAP */
    rd_usec_t   ts;
};

struct script {
    uint8_t     data[70000];
    size_t      len;
    struct step st[96];
    int         n;
    rd_usec_t   ts;         /* of the next steps */
    bool        unpaired;
};

struct run {
    char            log[LOGLEN];
    size_t          len;
    char            fin[1024];
    struct rd_tls   p[2];
    int             rc[2];
    int             nev[2][16];
    int             phase;
    int             close_notify[2];
};

static struct script  scr;
static struct run     r_whole, r_other;


/* --- building streams --------------------------------------------------- */

static void
s_reset(void)
{
    memset(&scr, 0, sizeof(scr));
    scr.ts = 1000000;
}


static void
s_bytes(int dir, const void *p, size_t len)
{
    struct step  *last;

    assert_true(scr.len + len <= sizeof(scr.data));
    memcpy(scr.data + scr.len, p, len);
    last = scr.n > 0 ? &scr.st[scr.n - 1] : NULL;
    if (last != NULL && last->kind == ST_FEED && last->dir == dir
        && last->ts == scr.ts && last->off + last->len == scr.len)
    {
        last->len += len;
    } else {
        assert_true(scr.n < 96);
        scr.st[scr.n].kind = ST_FEED;
        scr.st[scr.n].dir = dir;
        scr.st[scr.n].off = scr.len;
        scr.st[scr.n].len = len;
        scr.st[scr.n].ts = scr.ts;
        scr.n++;
    }
    scr.len += len;
}


static void
s_gap(int dir, uint64_t n)
{
    assert_true(scr.n < 96);
    scr.st[scr.n].kind = ST_GAP;
    scr.st[scr.n].dir = dir;
    scr.st[scr.n].gap = n;
    scr.n++;
}


/* A record header, then len payload bytes (filler when p is NULL). */
static void
s_rec_v(int dir, int type, int ver, const void *p, size_t len)
{
    uint8_t  h[5], fill[512];
    size_t   k;

    h[0] = (uint8_t) type;
    h[1] = (uint8_t) (ver >> 8);
    h[2] = (uint8_t) ver;
    h[3] = (uint8_t) (len >> 8);
    h[4] = (uint8_t) len;
    s_bytes(dir, h, 5);
    if (p != NULL) {
        s_bytes(dir, p, len);
        return;
    }
    memset(fill, 0xa5, sizeof(fill));
    while (len > 0) {
        k = RD_MIN(len, sizeof(fill));
        s_bytes(dir, fill, k);
        len -= k;
    }
}


static void
s_rec(int dir, int type, const void *p, size_t len)
{
    s_rec_v(dir, type, 0x0303, p, len);
}


/* --- building handshake messages ---------------------------------------- */

struct buf {
    uint8_t     b[8192];
    size_t      len;
};


static void
b_u8(struct buf *b, unsigned v)
{
    assert_true(b->len < sizeof(b->b));
    b->b[b->len++] = (uint8_t) v;
}


static void
b_u16(struct buf *b, unsigned v)
{
    b_u8(b, v >> 8);
    b_u8(b, v & 0xff);
}


static void
b_mem(struct buf *b, const void *p, size_t n)
{
    assert_true(b->len + n <= sizeof(b->b));
    memcpy(b->b + b->len, p, n);
    b->len += n;
}


/* Patch a 2-byte length at off: the bytes after it. */
static void
b_len16(struct buf *b, size_t off)
{
    size_t  n = b->len - off - 2;

    b->b[off] = (uint8_t) (n >> 8);
    b->b[off + 1] = (uint8_t) n;
}


/* A handshake message: type, 3-byte length, body. */
static void
hs_msg(struct buf *out, int type, const struct buf *body)
{
    b_u8(out, (unsigned) type);
    b_u8(out, (unsigned) (body->len >> 16));
    b_u16(out, (unsigned) (body->len & 0xffff));
    b_mem(out, body->b, body->len);
}


struct hello {
    unsigned        lv;
    const char     *sni;
    const char     *alpn;       /* comma-separated */
    const unsigned *sv;         /* supported_versions, 0-terminated */
    bool            early;
    bool            hrr;        /* ServerHello: HRR random */
    unsigned        cipher;     /* ServerHello */
    size_t          pad;        /* ClientHello: padding extension bytes */
};


static void
ext_alpn(struct buf *b, const char *list)
{
    size_t       o1, o2;
    const char  *s, *e;

    b_u16(b, 16);
    o1 = b->len;
    b_u16(b, 0);
    o2 = b->len;
    b_u16(b, 0);
    for (s = list; *s != '\0'; s = *e ? e + 1 : e) {
        e = strchr(s, ',');
        if (e == NULL) {
            e = s + strlen(s);
        }
        b_u8(b, (unsigned) (e - s));
        b_mem(b, s, (size_t) (e - s));
    }
    b_len16(b, o2);
    b_len16(b, o1);
}


static void
client_hello(struct buf *msg, const struct hello *h)
{
    struct buf  body;
    size_t      ext, o1, o2, i;
    uint8_t     rnd[32];

    memset(&body, 0, sizeof(body));
    memset(rnd, 0x11, sizeof(rnd));
    b_u16(&body, h->lv);
    b_mem(&body, rnd, 32);
    b_u8(&body, 32);
    b_mem(&body, rnd, 32);
    b_u16(&body, 6);
    b_u16(&body, 0x1301);
    b_u16(&body, 0xc02f);
    b_u16(&body, 0x00ff);
    b_u8(&body, 1);
    b_u8(&body, 0);
    ext = body.len;
    b_u16(&body, 0);
    if (h->sni != NULL) {
        b_u16(&body, 0);
        o1 = body.len;
        b_u16(&body, 0);
        o2 = body.len;
        b_u16(&body, 0);
        b_u8(&body, 0);
        b_u16(&body, (unsigned) strlen(h->sni));
        b_mem(&body, h->sni, strlen(h->sni));
        b_len16(&body, o2);
        b_len16(&body, o1);
    }
    if (h->alpn != NULL) {
        ext_alpn(&body, h->alpn);
    }
    if (h->sv != NULL) {
        b_u16(&body, 43);
        o1 = body.len;
        b_u16(&body, 0);
        o2 = body.len;
        b_u8(&body, 0);
        for (i = 0; h->sv[i] != 0; i++) {
            b_u16(&body, h->sv[i]);
        }
        body.b[o2] = (uint8_t) (body.len - o2 - 1);
        b_len16(&body, o1);
    }
    if (h->early) {
        b_u16(&body, 42);
        b_u16(&body, 0);
    }
    if (h->pad > 0) {
        b_u16(&body, 21);
        b_u16(&body, (unsigned) h->pad);
        for (i = 0; i < h->pad; i++) {
            b_u8(&body, 0);
        }
    }
    b_len16(&body, ext);
    hs_msg(msg, 1, &body);
}


static const uint8_t  hrr_rnd[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
    0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
    0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c
};


static void
server_hello(struct buf *msg, const struct hello *h)
{
    struct buf  body;
    size_t      ext;
    uint8_t     rnd[32];

    memset(&body, 0, sizeof(body));
    memset(rnd, 0x22, sizeof(rnd));
    b_u16(&body, h->lv);
    b_mem(&body, h->hrr ? hrr_rnd : rnd, 32);
    b_u8(&body, 0);
    b_u16(&body, h->cipher);
    b_u8(&body, 0);
    ext = body.len;
    b_u16(&body, 0);
    if (h->sv != NULL) {
        b_u16(&body, 43);
        b_u16(&body, 2);
        b_u16(&body, h->sv[0]);
    }
    if (h->alpn != NULL) {
        ext_alpn(&body, h->alpn);
    }
    b_len16(&body, ext);
    hs_msg(msg, 2, &body);
}


/* An empty-bodied (or n filler bytes) handshake message. */
static void
other_msg(struct buf *msg, int type, size_t n)
{
    struct buf  body;

    memset(&body, 0, sizeof(body));
    memset(body.b, 0x5a, n);
    body.len = n;
    hs_msg(msg, type, &body);
}


/* --- running ------------------------------------------------------------ */

static void
logp(struct run *r, const char *fmt, ...)
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
on_ev(void *ctx, const struct rd_tls *p, int ev)
{
    struct run  *r = ctx;
    int          i;

    r->nev[p->dir][ev]++;
    logp(r, "%c:%s", p->dir == C ? 'c' : 's',
        rd_tok2str(rd_tls_event_names, ev, "?"));
    switch (ev) {
    case RD_TLS_EV_CLIENT_HELLO:
        logp(r, " lv=%04x sni=%.*s alpn=%.*s/%u sv=", p->legacy_version,
            (int) p->sni_len, (const char *) p->sni, (int) p->alpn_len,
            (const char *) p->alpn, p->nalpn);
        for (i = 0; i < p->nversions; i++) {
            logp(r, "%04x,", p->versions[i]);
        }
        break;
    case RD_TLS_EV_SERVER_HELLO:
    case RD_TLS_EV_HRR:
        logp(r, " lv=%04x v=%04x cs=%04x alpn=%.*s", p->legacy_version,
            p->version, p->cipher, (int) p->alpn_len,
            (const char *) p->alpn);
        break;
    case RD_TLS_EV_HANDSHAKE:
        logp(r, " t=%u", p->hs_type);
        break;
    case RD_TLS_EV_ALERT:
        logp(r, " %s/%s", rd_tok2str(rd_tls_alert_level_names,
            p->alert_level, "?"), rd_tok2str(rd_tls_alert_names,
            p->alert_desc, "?"));
        break;
    case RD_TLS_EV_ENC_ALERT:
        logp(r, " len=%u", p->last_len);
        break;
    case RD_TLS_EV_APPDATA_FIRST:
        logp(r, " ts=%" PRId64, p->ts_first_appdata);
        break;
    case RD_TLS_EV_ERROR:
        logp(r, " %s (%s)", rd_tok2str(rd_tls_error_names, p->err, "?"),
            p->reason);
        break;
    default:
        break;
    }
    logp(r, " flags=%x;\n", p->flags);
}


static void
feed(struct run *r, int dir, const uint8_t *d, size_t n, rd_usec_t ts)
{
    if (n <= guard_page) {
        d = guard_place(d, n);
    }
    (void) rd_tls_feed(&r->p[dir], d, n, ts);
    rd_tls_validate_(&r->p[dir]);
}


/*
 * mode 0: every step whole; 1: byte by byte; 2: the feed containing
 * global byte position cut is fed in two pieces.
 */
static void
run(struct run *r, int mode, size_t cut)
{
    const struct step  *st;
    const struct rd_tls  *p;
    size_t              i, k;
    int                 d, n;

    memset(r, 0, sizeof(*r));
    rd_tls_init(&r->p[C], C, on_ev, r);
    rd_tls_init(&r->p[S], S, on_ev, r);
    if (!scr.unpaired) {
        rd_tls_pair(&r->p[C], &r->p[S]);
    }
    for (i = 0; i < (size_t) scr.n; i++) {
        st = &scr.st[i];
        if (st->kind == ST_GAP) {
            rd_tls_gap(&r->p[st->dir], st->gap);
            rd_tls_validate_(&r->p[st->dir]);
            continue;
        }
        if (mode == 1) {
            for (k = 0; k < st->len; k++) {
                feed(r, st->dir, scr.data + st->off + k, 1, st->ts);
            }
        } else if (mode == 2 && cut > st->off && cut < st->off + st->len) {
            k = cut - st->off;
            feed(r, st->dir, scr.data + st->off, k, st->ts);
            feed(r, st->dir, scr.data + st->off + k, st->len - k, st->ts);
        } else {
            feed(r, st->dir, scr.data + st->off, st->len, st->ts);
        }
    }
    r->phase = rd_tls_phase(&r->p[C], &r->p[S]);
    for (d = 0; d < 2; d++) {
        r->close_notify[d] = rd_tls_probable_close_notify(&r->p[d]);
        r->rc[d] = rd_tls_finish(&r->p[d]);
        rd_tls_validate_(&r->p[d]);
    }
    n = 0;
    for (d = 0; d < 2; d++) {
        p = &r->p[d];
        n += snprintf(r->fin + n, sizeof(r->fin) - (size_t) n,
            "%d: rc=%d ph=%u fin=%d err=%d fl=%x v=%04x cs=%04x rv=%04x "
            "off=%" PRIu64 " ign=%" PRIu64 " rec=%" PRIu64 " hs=%" PRIu64
            "/%" PRIu64 " ccs=%" PRIu64 " al=%" PRIu64 "/%" PRIu64
            " ea=%" PRIu64 " enc=%" PRIu64 " early=%" PRIu64 " app=%" PRIu64
            "/%" PRIu64 " ts=%" PRId64 "-%" PRId64 " last=%u/%u types=%x "
            "cn=%d\n", d, r->rc[d], p->phase, p->finished, p->err,
            p->flags, p->version, p->cipher, p->record_version, p->offset,
            p->ignored_bytes, p->records, p->hs_records, p->hs_messages,
            p->ccs_records, p->alert_records, p->alerts,
            p->enc_alert_records, p->encrypted_records, p->early_records,
            p->appdata_records, p->appdata_bytes, p->ts_first_appdata,
            p->ts_last_appdata, p->last_type, p->last_len, p->hs_types,
            r->close_notify[d]);
        assert_true(n > 0 && (size_t) n < sizeof(r->fin));
    }
    snprintf(r->fin + n, sizeof(r->fin) - (size_t) n, "phase=%s\n",
        rd_tok2str(rd_tls_phase_names, r->phase, "?"));
}


/*
 * Run the script whole, byte by byte and cut at every position (every
 * step boundary cut point included); all must agree.  r_whole keeps the
 * whole run for the test's own assertions.
 */
static void
check(void)
{
    size_t  cut;

    run(&r_whole, 0, 0);
    run(&r_other, 1, 0);
    assert_string_equal(r_whole.log, r_other.log);
    assert_string_equal(r_whole.fin, r_other.fin);
    for (cut = 1; cut < scr.len; cut++) {
        run(&r_other, 2, cut);
        if (strcmp(r_whole.log, r_other.log) != 0
            || strcmp(r_whole.fin, r_other.fin) != 0)
        {
            print_error("cut at %zu differs\n", cut);
        }
        assert_string_equal(r_whole.log, r_other.log);
        assert_string_equal(r_whole.fin, r_other.fin);
    }
}


static void
assert_log_has(const char *s)
{
    if (strstr(r_whole.log, s) == NULL) {
        print_error("log lacks \"%s\":\n%s", s, r_whole.log);
        fail();
    }
}


/* --- common streams ------------------------------------------------------ */

static const unsigned  sv13[] = { 0x0a0a, 0x0304, 0x0303, 0 };
static const unsigned  sv13_only[] = { 0x0304, 0 };


static void
s_client_hello(const struct hello *h)
{
    struct buf  m;

    memset(&m, 0, sizeof(m));
    client_hello(&m, h);
    s_rec_v(C, 22, 0x0301, m.b, m.len);
}


/* TLS 1.2 full handshake, ECDHE-RSA-AES128-GCM-SHA256 (0xc02f) by
 * default, with the ServerHello, Certificate and ServerHelloDone in one
 * record. */
static void
s_tls12(unsigned cipher)
{
    struct hello  ch = { 0x0303, "example.test", "h2,http/1.1", NULL, false,
                         false, 0, 0 };
    struct hello  sh = { 0x0303, NULL, "h2", NULL, false, false, cipher, 0 };
    struct buf    m;

    s_client_hello(&ch);
    memset(&m, 0, sizeof(m));
    server_hello(&m, &sh);
    other_msg(&m, 11, 300);
    other_msg(&m, 12, 100);
    other_msg(&m, 14, 0);
    scr.ts += 1000;
    s_rec(S, 22, m.b, m.len);
    memset(&m, 0, sizeof(m));
    other_msg(&m, 16, 66);
    scr.ts += 1000;
    s_rec(C, 22, m.b, m.len);
    s_rec(C, 20, "\x01", 1);
    s_rec(C, 22, NULL, 40);             /* encrypted Finished */
    memset(&m, 0, sizeof(m));
    other_msg(&m, 4, 150);
    scr.ts += 1000;
    s_rec(S, 22, m.b, m.len);
    s_rec(S, 20, "\x01", 1);
    s_rec(S, 22, NULL, 40);
}


/* TLS 1.3 with the compatibility CCS on both sides; the server's flight
 * in two encrypted records. */
static void
s_tls13(unsigned cipher)
{
    struct hello  ch = { 0x0303, "x.test", "h2,http/1.1", sv13, false,
                         false, 0, 0 };
    struct hello  sh = { 0x0303, NULL, NULL, sv13_only, false, false,
                         cipher, 0 };
    struct buf    m;

    s_client_hello(&ch);
    memset(&m, 0, sizeof(m));
    server_hello(&m, &sh);
    scr.ts += 1000;
    s_rec(S, 22, m.b, m.len);
    s_rec(S, 20, "\x01", 1);
    s_rec(S, 23, NULL, 600);            /* EE, Certificate, CV */
    s_rec(S, 23, NULL, 53);             /* Finished */
    scr.ts += 1000;
    s_rec(C, 20, "\x01", 1);
    s_rec(C, 23, NULL, 53);             /* client Finished */
}


/* --- tests ------------------------------------------------------------- */

/*
 * TLS 1.2: SNI and ALPN offered, h2 chosen, both Finished after CCS, then
 * application data both ways and the client's encrypted close_notify
 * (26 bytes with AES-GCM).
 */
static void
test_tls_12_sni_alpn_gcm_close_notify(void **state)
{
    struct rd_tls  *c, *s;

    (void) state;
    s_reset();
    s_tls12(0xc02f);
    scr.ts += 1000;
    s_rec(C, 23, NULL, 100);
    scr.ts += 1000;
    s_rec(S, 23, NULL, 1000);
    s_rec(S, 23, NULL, 500);
    scr.ts += 1000;
    s_rec(C, 21, NULL, 26);
    check();

    c = &r_whole.p[C];
    s = &r_whole.p[S];
    assert_log_has("c:client_hello lv=0303 sni=example.test "
        "alpn=h2,http/1.1/2 sv=");
    assert_log_has("s:server_hello lv=0303 v=0303 cs=c02f alpn=h2");
    assert_log_has("s:handshake t=11");
    assert_log_has("s:handshake t=14");
    assert_log_has("c:handshake t=16");
    assert_log_has("c:finished");
    assert_log_has("s:finished");
    assert_log_has("c:appdata_first ts=1004000");
    assert_log_has("s:appdata_first ts=1005000");
    assert_log_has("c:encrypted_alert len=26");
    assert_int_equal(c->version, RD_TLS_V12);
    assert_int_equal(c->cipher, 0xc02f);
    assert_int_equal(c->appdata_records, 1);
    assert_int_equal(c->appdata_bytes, 100);
    assert_int_equal(s->appdata_records, 2);
    assert_int_equal(s->appdata_bytes, 1500);
    assert_int_equal(s->ts_first_appdata, 1005000);
    assert_int_equal(s->ts_last_appdata, 1005000);
    assert_int_equal(s->last_len, 500);
    assert_int_equal(s->hs_messages, 5);   /* SH, Cert, SKE, SHD, NST */
    assert_int_equal(s->hs_types, (1u << 2) | (1u << 11) | (1u << 12)
        | (1u << 14) | (1u << 4));
    assert_int_equal(c->enc_alert_records, 1);
    assert_int_equal(r_whole.close_notify[C], 1);
    assert_int_equal(r_whole.close_notify[S], 0);
    assert_int_equal(r_whole.phase, RD_TLS_PH_CLOSED_ALERT);
    assert_int_equal(r_whole.rc[C], RD_TLS_SAFE);
    assert_int_equal(r_whole.rc[S], RD_TLS_SAFE);
}


/* The same without the alert: established; before the server's Finished
 * only encrypted_handshake. */
static void
test_tls_12_established_and_phases(void **state)
{
    struct run  *r = &r_whole;

    (void) state;
    s_reset();
    s_tls12(0xc02f);
    s_rec(C, 23, NULL, 10);
    check();
    assert_int_equal(r->phase, RD_TLS_PH_ESTABLISHED);
    assert_int_equal(r->p[C].phase, RD_TLS_PH_ESTABLISHED);

    /* cut before the server's last record: its Finished is missing */
    scr.n -= 1;
    scr.len -= 15;
    assert_true(scr.st[scr.n - 1].dir == S && scr.st[scr.n - 1].len > 45);
    scr.st[scr.n - 1].len -= 45;
    scr.len -= 45;
    check();
    assert_int_equal(r->phase, RD_TLS_PH_ENCRYPTED_HANDSHAKE);
    assert_int_equal(r->p[S].phase, RD_TLS_PH_ENCRYPTED_HANDSHAKE);
    assert_false(r->p[S].finished);
    assert_true(r->p[C].finished);

    /* only the ClientHello, then the ServerHello */
    s_reset();
    s_client_hello(&(struct hello) { 0x0303, "a", NULL, NULL, false, false,
        0, 0 });
    check();
    assert_int_equal(r->phase, RD_TLS_PH_CLIENT_HELLO);
    s_rec(S, 22, "\x02\x00\x00\x26\x03\x03" "0123456789abcdef0123456789abcdef"
        "\x00\x00\x2f\x00", 42);
    check();
    assert_int_equal(r->phase, RD_TLS_PH_SERVER_HELLO);
    assert_int_equal(r->p[S].cipher, 0x002f);
    assert_int_equal(r->p[S].version, RD_TLS_V12);
    assert_int_equal(r->p[S].flags & RD_TLS_F_HELLO_BAD, 0);
    /* CBC: no known alert size */
    s_rec(C, 20, "\x01", 1);
    s_rec(C, 21, NULL, 48);
    check();
    assert_int_equal(r->close_notify[C], -1);
}


/*
 * TLS 1.3: supported_versions offered (GREASE dropped) and selected, the
 * compatibility CCS changes nothing, the client's first encrypted record
 * is its Finished, then data; the last client record is 19 bytes: a
 * probable close_notify.  NewSessionTicket-like server records after the
 * client Finished count as application data.
 */
static void
test_tls_13_versions_and_close_notify(void **state)
{
    struct rd_tls  *c, *s;

    (void) state;
    s_reset();
    s_tls13(0x1301);
    scr.ts += 1000;
    s_rec(S, 23, NULL, 250);
    s_rec(C, 23, NULL, 30);
    s_rec(C, 23, NULL, 19);
    check();

    c = &r_whole.p[C];
    s = &r_whole.p[S];
    assert_log_has("c:client_hello lv=0303 sni=x.test alpn=h2,http/1.1/2 "
        "sv=0304,0303,");
    assert_log_has("s:server_hello lv=0303 v=0304 cs=1301 alpn=");
    assert_int_equal(c->version, RD_TLS_V13);   /* told by the pair */
    assert_int_equal(s->encrypted_records, 2);
    assert_int_equal(s->appdata_records, 1);
    assert_int_equal(c->encrypted_records, 1);
    assert_int_equal(c->appdata_records, 2);
    assert_int_equal(c->ccs_records, 1);
    assert_true(c->finished);
    assert_true(c->flags & RD_TLS_F_ENCRYPTED);
    assert_int_equal(r_whole.phase, RD_TLS_PH_ESTABLISHED);
    assert_int_equal(r_whole.close_notify[C], 1);
    assert_int_equal(r_whole.close_notify[S], 0);

    /* CCM_8 suite: 11 bytes; ChaCha20: still 19 */
    s_reset();
    s_tls13(0x1305);
    s_rec(C, 23, NULL, 11);
    check();
    assert_int_equal(r_whole.close_notify[C], 1);
    s_reset();
    s_tls13(0x1303);
    s_rec(C, 23, NULL, 20);
    check();
    assert_int_equal(r_whole.close_notify[C], 0);
}


/* Unpaired, a TLS 1.3 server direction never knows when its data starts;
 * a client told the version by hand behaves as when paired. */
static void
test_tls_13_unpaired(void **state)
{
    struct rd_tls  c;

    (void) state;
    s_reset();
    scr.unpaired = true;
    s_tls13(0x1302);
    s_rec(S, 23, NULL, 250);
    check();
    assert_int_equal(r_whole.p[S].appdata_records, 0);
    assert_int_equal(r_whole.p[S].encrypted_records, 3);
    assert_int_equal(r_whole.p[C].version, 0);
    assert_int_equal(r_whole.nev[S][RD_TLS_EV_APPDATA_FIRST], 0);
    assert_int_equal(r_whole.nev[C][RD_TLS_EV_APPDATA_FIRST], 1);

    rd_tls_init(&c, C, NULL, NULL);
    rd_tls_set_version(&c, RD_TLS_V13);
    c.cipher = 0x1302;
    assert_int_equal(rd_tls_feed(&c, (const uint8_t *) "\x17\x03\x03\x00"
        "\x13" "0123456789abcdefghi", 24, 1), RD_OK);
    assert_true(c.finished);
    assert_int_equal(rd_tls_probable_close_notify(&c), 1);
}


/* HelloRetryRequest: the HRR event, then a second ClientHello in clear
 * after the compatibility CCS, then the real ServerHello. */
static void
test_tls_13_hello_retry_request(void **state)
{
    struct hello  ch = { 0x0303, "first.test", "h2", sv13_only, false,
                         false, 0, 0 };
    struct hello  ch2 = { 0x0303, "second.test", "http/1.1", sv13_only,
                          false, false, 0, 0 };
    struct hello  hrr = { 0x0303, NULL, NULL, sv13_only, false, true,
                          0x1302, 0 };
    struct hello  sh = { 0x0303, NULL, "http/1.1", sv13_only, false, false,
                         0x1302, 0 };
    struct buf    m;

    (void) state;
    s_reset();
    s_client_hello(&ch);
    memset(&m, 0, sizeof(m));
    server_hello(&m, &hrr);
    s_rec(S, 22, m.b, m.len);
    s_rec(S, 20, "\x01", 1);
    s_rec(C, 20, "\x01", 1);
    memset(&m, 0, sizeof(m));
    client_hello(&m, &ch2);
    s_rec(C, 22, m.b, m.len);
    memset(&m, 0, sizeof(m));
    server_hello(&m, &sh);
    s_rec(S, 22, m.b, m.len);
    s_rec(S, 23, NULL, 700);
    s_rec(C, 23, NULL, 53);
    check();
    assert_log_has("s:hello_retry_request lv=0303 v=0304 cs=1302");
    assert_log_has("c:client_hello lv=0303 sni=second.test alpn=http/1.1/1");
    assert_log_has("s:server_hello lv=0303 v=0304 cs=1302 alpn=http/1.1");
    assert_int_equal(r_whole.nev[C][RD_TLS_EV_CLIENT_HELLO], 2);
    assert_int_equal(r_whole.nev[S][RD_TLS_EV_HRR], 1);
    assert_true(r_whole.p[S].hrr);
    assert_int_equal(r_whole.p[C].sni_len, 11);
    assert_int_equal(r_whole.phase, RD_TLS_PH_ESTABLISHED);
}


/* A clear fatal alert answers the ClientHello (nginx: no shared cipher,
 * "SSL_do_handshake() failed"); names come from the table. */
static void
test_tls_clear_alert_handshake_failure(void **state)
{
    struct hello  ch = { 0x0303, "a.test", NULL, NULL, false, false, 0, 0 };

    (void) state;
    s_reset();
    s_client_hello(&ch);
    s_rec(S, 21, "\x02\x28", 2);
    check();
    assert_log_has("s:alert fatal/handshake_failure");
    assert_int_equal(r_whole.p[S].alert_level, RD_TLS_ALERT_FATAL);
    assert_int_equal(r_whole.p[S].alert_desc, 40);
    assert_int_equal(r_whole.p[S].alerts, 1);
    assert_int_equal(r_whole.phase, RD_TLS_PH_CLOSED_ALERT);
    assert_int_equal(r_whole.close_notify[S], -1);

    /* a warning that closes nothing, then two alerts in one record */
    s_reset();
    s_rec(C, 21, "\x01\x64", 2);
    check();
    assert_log_has("c:alert warning/no_renegotiation");
    assert_int_equal(r_whole.phase, RD_TLS_PH_NONE);
    s_rec(C, 21, "\x01\x5a\x01", 3);
    s_rec(C, 21, "\x00", 1);
    check();
    assert_log_has("c:alert warning/user_canceled");
    assert_log_has("c:alert warning/close_notify");
    assert_int_equal(r_whole.p[C].alerts, 3);
    assert_int_equal(r_whole.phase, RD_TLS_PH_CLOSED_ALERT);

    assert_string_equal(rd_tok2str(rd_tls_alert_names, 112, "?"),
        "unrecognized_name");
    assert_string_equal(rd_tok2str(rd_tls_alert_names, 120, "?"),
        "no_application_protocol");
    assert_string_equal(rd_tok2str(rd_tls_alert_names, 48, "?"),
        "unknown_ca");
    assert_string_equal(rd_tok2str(rd_tls_alert_names, 20, "?"),
        "bad_record_mac");
    assert_string_equal(rd_tok2str(rd_tls_alert_names, 200, "?"), "?");
}


/* An SSLv2-style CLIENT-HELLO (RFC 5246 E.2), then TLS records. */
static void
test_tls_sslv2_hello(void **state)
{
    static const uint8_t  v2[] = {
        0x80, 0x1f, 0x01, 0x03, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x10,
        0x00, 0x00, 0x2f, 0x00, 0x00, 0x35,
        0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41,
        0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41
    };

    (void) state;
    assert_int_equal(rd_tls_looks_like(v2, sizeof(v2)), 2);
    assert_int_equal(rd_tls_looks_like(v2, 4), -1);
    s_reset();
    s_bytes(C, v2, sizeof(v2));
    s_rec_v(S, 22, 0x0301, "\x02\x00\x00\x26\x03\x01"
        "0123456789abcdef0123456789abcdef" "\x00\x00\x2f\x00", 42);
    s_rec_v(C, 22, 0x0301, "\x10\x00\x00\x02\x00\x00", 6);
    check();
    assert_log_has("c:client_hello lv=0301 sni= alpn=/0 sv= flags=2");
    assert_true(r_whole.p[C].flags & RD_TLS_F_SSL2_HELLO);
    assert_int_equal(r_whole.p[C].record_version, 0x0002);
    assert_int_equal(r_whole.p[C].records, 2);
    assert_int_equal(r_whole.p[C].err, RD_TLS_E_NONE);
    assert_int_equal(r_whole.p[S].version, RD_TLS_V10);
    /* not on the server side */
    s_reset();
    s_bytes(S, v2, sizeof(v2));
    check();
    assert_int_equal(r_whole.p[S].err, RD_TLS_E_NOT_TLS);
}


/* Plain HTTP on a TLS port, either way; other non-TLS bytes. */
static void
test_tls_plain_http(void **state)
{
    static const char  req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char  resp[] = "HTTP/1.1 400 Bad Request\r\n\r\n";

    (void) state;
    assert_int_equal(rd_tls_looks_like((const uint8_t *) req, 27), 0);
    s_reset();
    s_bytes(C, req, sizeof(req) - 1);
    s_bytes(S, resp, sizeof(resp) - 1);
    check();
    assert_log_has("c:error not_tls (not TLS: plain HTTP) flags=1");
    assert_log_has("s:error not_tls (not TLS: plain HTTP) flags=1");
    assert_int_equal(r_whole.p[C].ignored_bytes, sizeof(req) - 1 - 5);
    assert_int_equal(r_whole.phase, RD_TLS_PH_ERROR);
    assert_int_equal(r_whole.rc[C], RD_TLS_UNSAFE);

    s_reset();
    s_bytes(C, "PRI * HTTP/2.0\r\n", 16);
    s_bytes(S, "SSH-2.0-OpenSSH_9.2\r\n", 21);
    check();
    assert_log_has("c:error not_tls (not TLS: plain HTTP)");
    assert_log_has("s:error not_tls (not TLS: bad content type) flags=0");
    s_reset();
    s_bytes(C, "\x16\x02\x00\x00\x10", 5);
    check();
    assert_log_has("c:error not_tls (not TLS: bad record version)");
}


/*
 * Record lengths at the limits: 0, 2^14, 2^14 + 2048 are read; one more
 * stops with "record too long".  A later bad type or version has its own
 * reason.
 */
static void
test_tls_record_length_limits(void **state)
{
    (void) state;
    s_reset();
    s_rec(S, 23, NULL, 0);
    s_rec(S, 23, NULL, 16384);
    s_rec(S, 23, NULL, 16384 + 2048);
    s_rec(S, 23, NULL, 1);
    check();
    assert_int_equal(r_whole.p[S].err, RD_TLS_E_NONE);
    assert_int_equal(r_whole.p[S].appdata_records, 4);
    assert_int_equal(r_whole.p[S].appdata_bytes, 16384 + 18432 + 1);
    assert_int_equal(r_whole.rc[S], RD_TLS_SAFE);

    s_bytes(S, "\x17\x03\x03\x48\x01", 5);          /* 18433 */
    s_bytes(S, "after", 5);
    check();
    assert_log_has("s:error record_length (record too long)");
    assert_int_equal(r_whole.p[S].ignored_bytes, 5);
    assert_int_equal(r_whole.p[S].records, 4);

    s_reset();
    s_rec(C, 23, NULL, 3);
    s_bytes(C, "\x19\x03\x03\x00\x01", 5);
    check();
    assert_log_has("c:error content_type (bad record content type)");
    s_reset();
    s_rec(C, 23, NULL, 3);
    s_bytes(C, "\x17\x03\x05\x00\x01", 5);
    check();
    assert_log_has("c:error record_version (bad record version)");
    /* a record header cut by the end */
    s_reset();
    s_rec(C, 23, NULL, 3);
    s_bytes(C, "\x17\x03", 2);
    check();
    assert_int_equal(r_whole.rc[C], RD_TLS_UNSAFE);
    assert_true(r_whole.p[C].flags & RD_TLS_F_CUT_RECORD);
}


/*
 * A handshake header claiming 2^24 - 1 bytes: nothing is allocated, the
 * ClientHello is parsed from the buffer when the stream ends (SNI found),
 * flagged truncated and cut.  A Certificate claiming as much is skipped.
 */
static void
test_tls_handshake_16mib_claim(void **state)
{
    struct hello  ch = { 0x0303, "big.test", "h2", NULL, false, false, 0, 0 };
    struct buf    m;

    (void) state;
    memset(&m, 0, sizeof(m));
    client_hello(&m, &ch);
    m.b[1] = 0xff;
    m.b[2] = 0xff;
    m.b[3] = 0xff;
    s_reset();
    s_rec(C, 22, m.b, m.len);
    s_rec(C, 22, NULL, 3000);
    s_rec(S, 22, "\x0b\xff\xff\xff", 4);
    s_rec(S, 22, NULL, 16384);
    check();
    assert_log_has("c:client_hello lv=0303 sni=big.test alpn=h2/1 sv=");
    assert_log_has("s:handshake t=11");
    assert_true(r_whole.p[C].flags & RD_TLS_F_HELLO_TRUNC);
    assert_true(r_whole.p[C].flags & RD_TLS_F_CUT_HANDSHAKE);
    assert_int_equal(r_whole.p[C].flags & RD_TLS_F_HELLO_BAD, 0);
    assert_int_equal(r_whole.rc[C], RD_TLS_UNSAFE);
    assert_int_equal(r_whole.rc[S], RD_TLS_UNSAFE);
    assert_int_equal(r_whole.p[S].hs_records, 2);
}


/* A ClientHello bigger than the buffer (padding extension after SNI and
 * ALPN), spread over two records: parsed when the buffer is full, and the
 * following messages are still framed. */
static void
test_tls_client_hello_over_buffer(void **state)
{
    struct hello  ch = { 0x0303, "pad.test", "h2,http/1.1", sv13, false,
                         false, 0, 6000 };
    struct buf    m;
    size_t        half;

    (void) state;
    memset(&m, 0, sizeof(m));
    client_hello(&m, &ch);
    other_msg(&m, 16, 10);
    half = 3000;
    s_reset();
    s_rec(C, 22, m.b, half);
    s_rec(C, 22, m.b + half, m.len - half);
    check();
    assert_log_has("c:client_hello lv=0303 sni=pad.test alpn=h2,http/1.1/2 "
        "sv=0304,0303, flags=7004");
    assert_log_has("c:handshake t=16");
    assert_int_equal(r_whole.p[C].hs_messages, 2);
    assert_int_equal(r_whole.rc[C], RD_TLS_SAFE);

    /* a ClientHello whose extension overruns its message */
    memset(&m, 0, sizeof(m));
    ch.pad = 0;
    client_hello(&m, &ch);
    m.b[m.len - 8] = 0x7f;      /* a length inside supported_versions */
    s_reset();
    s_rec(C, 22, m.b, m.len);
    check();
    assert_true(r_whole.p[C].flags & RD_TLS_F_HELLO_BAD);
    assert_int_equal(r_whole.p[C].sni_len, 8);
}


/* Several handshake messages per record and one message over three
 * records (RFC 8446 5.1 allows both). */
static void
test_tls_hello_across_records(void **state)
{
    struct hello  ch = { 0x0303, "split.test", "h2", NULL, false, false,
                         0, 0 };
    struct buf    m;

    (void) state;
    memset(&m, 0, sizeof(m));
    client_hello(&m, &ch);
    s_reset();
    s_rec(C, 22, m.b, 3);
    s_rec(C, 22, m.b + 3, 40);
    s_rec(C, 22, m.b + 43, m.len - 43);
    s_rec(C, 22, NULL, 0);
    check();
    assert_log_has("c:client_hello lv=0303 sni=split.test alpn=h2/1");
    assert_int_equal(r_whole.p[C].hs_records, 4);
    assert_int_equal(r_whole.p[C].hs_messages, 1);
}


/* Gaps: inside a record the framing survives; past a record's end or in
 * a header the reader stops; in a hello body the hello is parsed as far
 * as it went. */
static void
test_tls_gaps(void **state)
{
    struct hello  ch = { 0x0303, "gap.test", "h2", NULL, false, false,
                         0, 0 };
    struct buf    m;

    (void) state;
    s_reset();
    s_bytes(S, "\x17\x03\x03\x01\x00", 5);
    s_bytes(S, "abcdefghij", 10);
    s_gap(S, 200);
    s_bytes(S, "0123456789012345678901234567890123456789012345", 46);
    s_rec(S, 23, NULL, 7);
    check();
    assert_int_equal(r_whole.p[S].err, RD_TLS_E_NONE);
    assert_int_equal(r_whole.p[S].appdata_records, 2);
    assert_int_equal(r_whole.p[S].gap_bytes, 200);
    assert_int_equal(r_whole.p[S].offset, 5 + 256 + 12);

    s_gap(S, 10);
    s_rec(S, 23, NULL, 7);
    check();
    assert_log_has("s:error gap (capture gap at a record header)");
    assert_int_equal(r_whole.p[S].ignored_bytes, 12);

    s_reset();
    s_bytes(S, "\x17\x03\x03\x00\x10", 5);
    s_gap(S, 17);
    check();
    assert_log_has("s:error gap (capture gap past the end of a record)");
    s_reset();
    s_bytes(S, "\x17\x03", 2);
    s_gap(S, 1);
    check();
    assert_log_has("s:error gap (capture gap inside a record header)");

    /* a ClientHello record whose last 6 hello bytes were lost, then a
     * ClientKeyExchange in the same record */
    memset(&m, 0, sizeof(m));
    client_hello(&m, &ch);
    s_reset();
    s_bytes(C, (uint8_t[]) { 0x16, 0x03, 0x01, (uint8_t) ((m.len + 20) >> 8),
        (uint8_t) (m.len + 20) }, 5);
    s_bytes(C, m.b, m.len - 6);
    s_gap(C, 6);
    other_msg(&m, 16, 16);      /* 20 bytes: the rest of the record */
    s_bytes(C, m.b + m.len - 20, 20);
    s_rec(C, 20, "\x01", 1);
    check();
    /* the ALPN extension was in the lost bytes */
    assert_log_has("c:client_hello lv=0303 sni=gap.test alpn=/0 sv= "
        "flags=4004");
    assert_log_has("c:handshake t=16");
    assert_true(r_whole.p[C].flags & RD_TLS_F_HELLO_TRUNC);
    assert_int_equal(r_whole.p[C].ccs_records, 1);

    /* a gap over a handshake message header: handshake framing lost */
    s_reset();
    s_bytes(C, "\x16\x03\x01\x00\x20", 5);
    s_bytes(C, "\x0b\x00\x00\x04" "abcd", 8);
    s_gap(C, 10);
    s_bytes(C, "0123456789abcd", 14);
    s_rec(C, 22, "\x10\x00\x00\x00", 4);
    check();
    assert_true(r_whole.p[C].flags & RD_TLS_F_HS_LOST);
    assert_int_equal(r_whole.p[C].hs_messages, 1);
    assert_int_equal(r_whole.p[C].hs_records, 2);
    assert_int_equal(r_whole.p[C].err, RD_TLS_E_NONE);
}


/* TLS 1.3 early data: client records before the ServerHello are 0-RTT
 * when the ClientHello offered early_data; its CCS does not encrypt. */
static void
test_tls_13_early_data(void **state)
{
    struct hello  ch = { 0x0303, "e.test", "h2", sv13, true, false, 0, 0 };
    struct hello  sh = { 0x0303, NULL, "h2", sv13_only, false, false,
                         0x1301, 0 };
    struct buf    m;

    (void) state;
    s_reset();
    s_client_hello(&ch);
    s_rec(C, 20, "\x01", 1);
    s_rec(C, 23, NULL, 200);
    memset(&m, 0, sizeof(m));
    server_hello(&m, &sh);
    s_rec(S, 22, m.b, m.len);
    s_rec(S, 23, NULL, 700);
    s_rec(C, 23, NULL, 20);             /* EndOfEarlyData + Finished */
    s_rec(C, 23, NULL, 100);
    check();
    assert_int_equal(r_whole.p[C].early_records, 1);
    assert_int_equal(r_whole.p[C].encrypted_records, 1);
    assert_int_equal(r_whole.p[C].appdata_records, 1);
    assert_true(r_whole.p[C].flags & RD_TLS_F_EARLY_DATA);
    assert_int_equal(r_whole.phase, RD_TLS_PH_ESTABLISHED);
}


/* probable close_notify for TLS 1.2 ChaCha20 (18), CCM_8 (18), a
 * non-alert last record, and no version at all. */
static void
test_tls_probable_close_notify_sizes(void **state)
{
    struct rd_tls  p;

    (void) state;
    s_reset();
    s_tls12(0xcca8);
    s_rec(C, 21, NULL, 18);
    s_rec(S, 23, NULL, 18);
    check();
    assert_int_equal(r_whole.close_notify[C], 1);
    assert_int_equal(r_whole.close_notify[S], 0);
    s_reset();
    s_tls12(0xc0ae);
    s_rec(C, 21, NULL, 18);
    check();
    assert_int_equal(r_whole.close_notify[C], 1);
    s_reset();
    s_tls12(0xc02b);
    s_rec(C, 21, NULL, 18);
    check();
    assert_int_equal(r_whole.close_notify[C], 0);

    rd_tls_init(&p, S, NULL, NULL);
    assert_int_equal(rd_tls_probable_close_notify(&p), -1);
    assert_int_equal(rd_tls_feed(&p, (const uint8_t *) "\x17\x03\x03\x00"
        "\x01" "x", 6, 5), RD_OK);
    assert_int_equal(rd_tls_probable_close_notify(&p), -1);
}


/*
 * Real bytes from openssl 3.0 s_client -servername x.test -alpn
 * h2,http/1.1 against s_server -alpn h2 on loopback (tls_openssl.h):
 * TLS 1.3, TLS 1.2 AES-GCM and ChaCha20; the client's close_notify ends
 * each.
 */
static void
load_chunks(const struct tls_chunk *ch, size_t n)
{
    size_t  i;

    s_reset();
    for (i = 0; i < n; i++) {
        scr.ts += 1000;
        s_bytes(ch[i].dir, ch[i].p, ch[i].len);
    }
}


static void
test_tls_openssl_real_streams(void **state)
{
    struct rd_tls  *c, *s;

    (void) state;
    assert_int_equal(rd_tls_looks_like(t13_0, sizeof(t13_0)), 1);
    load_chunks(t13_chunks, RD_NELEMS(t13_chunks));
    check();
    c = &r_whole.p[C];
    s = &r_whole.p[S];
    assert_log_has("c:client_hello lv=0303 sni=x.test alpn=h2,http/1.1/2 "
        "sv=0304,0303,");
    /* TLS 1.3 sends the chosen ALPN in the encrypted EncryptedExtensions */
    assert_log_has("s:server_hello lv=0303 v=0304 cs=1302 alpn= ");
    assert_int_equal(c->record_version, RD_TLS_V10);
    assert_int_equal(c->err, RD_TLS_E_NONE);
    assert_int_equal(s->err, RD_TLS_E_NONE);
    assert_true(c->finished);
    assert_int_equal(c->appdata_records, 2);    /* "hello\n", the alert */
    assert_int_equal(r_whole.close_notify[C], 1);
    assert_int_equal(r_whole.phase, RD_TLS_PH_ESTABLISHED);
    assert_int_equal(r_whole.rc[C], RD_TLS_SAFE);
    assert_int_equal(r_whole.rc[S], RD_TLS_SAFE);

    load_chunks(t12_chunks, RD_NELEMS(t12_chunks));
    check();
    assert_log_has("c:client_hello lv=0303 sni=x.test alpn=h2,http/1.1/2");
    assert_log_has("s:server_hello lv=0303 v=0303 cs=c02b alpn=h2");
    assert_log_has("c:encrypted_alert len=26");
    assert_true(c->finished && s->finished);
    assert_int_equal(r_whole.close_notify[C], 1);
    assert_int_equal(r_whole.phase, RD_TLS_PH_CLOSED_ALERT);

    load_chunks(t12c_chunks, RD_NELEMS(t12c_chunks));
    check();
    assert_log_has("s:server_hello lv=0303 v=0303 cs=cca9 alpn=h2");
    assert_log_has("c:encrypted_alert len=18");
    assert_int_equal(r_whole.close_notify[C], 1);
}


static void
test_tls_looks_like(void **state)
{
    (void) state;
    assert_int_equal(rd_tls_looks_like(NULL, 0), -1);
    assert_int_equal(rd_tls_looks_like((const uint8_t *) "\x16", 1), -1);
    assert_int_equal(rd_tls_looks_like((const uint8_t *) "\x16\x03\x01", 3),
        -1);
    assert_int_equal(rd_tls_looks_like((const uint8_t *) "\x16\x02", 2), 0);
    assert_int_equal(rd_tls_looks_like((const uint8_t *) "\x16\x03\x05", 3),
        0);
    assert_int_equal(rd_tls_looks_like(
        (const uint8_t *) "\x16\x03\x01\x02\x00", 5), 1);
    assert_int_equal(rd_tls_looks_like(
        (const uint8_t *) "\x16\x03\x04\x48\x00", 5), 1);
    assert_int_equal(rd_tls_looks_like(
        (const uint8_t *) "\x16\x03\x01\x48\x01", 5), 0);
    assert_int_equal(rd_tls_looks_like(
        (const uint8_t *) "\x16\x03\x01\x00\x00", 5), 0);
    assert_int_equal(rd_tls_looks_like((const uint8_t *) "\x17\x03\x03", 3),
        0);
    assert_int_equal(rd_tls_looks_like((const uint8_t *) "GET /", 5), 0);
    assert_int_equal(rd_tls_looks_like((const uint8_t *) "\x80\x2e\x02", 3),
        0);
    assert_int_equal(rd_tls_looks_like(
        (const uint8_t *) "\x80\x2e\x01\x00\x02", 5), 2);
    assert_int_equal(rd_tls_looks_like(
        (const uint8_t *) "\x80\x2e\x01\x04\x02", 5), 0);
}


/* finish() twice, feed after finish, zero-length records of each type. */
static void
test_tls_bad_use_and_empty_records(void **state)
{
    struct rd_tls  p;

    (void) state;
    rd_tls_init(&p, C, NULL, NULL);
    assert_int_equal(rd_tls_finish(&p), RD_TLS_SAFE);
    assert_int_equal(rd_tls_finish(&p), -RD_EINVAL);
    assert_int_equal(rd_tls_feed(&p, (const uint8_t *) "\x16", 1, 0),
        -RD_EINVAL);
    assert_int_equal(p.offset, 0);

    s_reset();
    s_rec(C, 22, NULL, 0);
    s_rec(C, 21, NULL, 0);
    s_rec(C, 24, NULL, 0);
    s_rec(C, 23, NULL, 0);
    s_rec(C, 21, "\x02", 1);
    s_rec(C, 20, NULL, 0);
    check();
    assert_int_equal(r_whole.p[C].records, 6);
    assert_int_equal(r_whole.p[C].heartbeat_records, 1);
    assert_true(r_whole.p[C].flags & RD_TLS_F_ALERT_ODD);
    assert_int_equal(r_whole.rc[C], RD_TLS_SAFE);
    assert_int_equal(rd_tls_phase(NULL, NULL), RD_TLS_PH_NONE);
    assert_true(sizeof(struct rd_tls) < RD_TLS_HS_BUF + 1024);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_tls_12_sni_alpn_gcm_close_notify),
        cmocka_unit_test(test_tls_12_established_and_phases),
        cmocka_unit_test(test_tls_13_versions_and_close_notify),
        cmocka_unit_test(test_tls_13_unpaired),
        cmocka_unit_test(test_tls_13_hello_retry_request),
        cmocka_unit_test(test_tls_13_early_data),
        cmocka_unit_test(test_tls_clear_alert_handshake_failure),
        cmocka_unit_test(test_tls_sslv2_hello),
        cmocka_unit_test(test_tls_plain_http),
        cmocka_unit_test(test_tls_record_length_limits),
        cmocka_unit_test(test_tls_handshake_16mib_claim),
        cmocka_unit_test(test_tls_client_hello_over_buffer),
        cmocka_unit_test(test_tls_hello_across_records),
        cmocka_unit_test(test_tls_gaps),
        cmocka_unit_test(test_tls_probable_close_notify_sizes),
        cmocka_unit_test(test_tls_openssl_real_streams),
        cmocka_unit_test(test_tls_looks_like),
        cmocka_unit_test(test_tls_bad_use_and_empty_records),
    };

    return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
