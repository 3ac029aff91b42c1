/*
 * Unit tests of pcapngw: files written to memory, then read back three
 * ways: block by block here (lengths at both ends, padding, options),
 * with the project's own reader (src/pcapngfile.c: packets, timestamps,
 * caplen/len), and with libpcap (the same packets and timestamps).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <pcap/pcap.h>

#include "rstdiag/common.h"
#include "rstdiag/pcapfile.h"
#include "rstdiag/pcapngfile.h"
#include "rstdiag/pcapngw.h"

/* a file written in memory */
struct mem {
    char       *buf;
    size_t      len;
    FILE       *f;
};

/* what the block walk found */
struct walk {
    uint32_t    nblocks;
    uint32_t    type[16];
    char        shb_comment[RD_PCAPNGW_MAX_COMMENT + 1];
    char        userappl[32];
    uint32_t    nidb;
    uint16_t    linktype[4];
    uint32_t    snaplen[4];
    uint8_t     tsresol[4];
    uint32_t    nepb;
    uint32_t    epb_if[8];
    uint64_t    epb_ts[8];
    uint32_t    epb_caplen[8];
    uint32_t    epb_len[8];
    char        epb_comment[8][RD_PCAPNGW_MAX_COMMENT + 1];
};


static uint32_t
get32(const uint8_t *p)
{
    uint32_t  v;

    memcpy(&v, p, 4);
    return v;
}


static uint16_t
get16(const uint8_t *p)
{
    uint16_t  v;

    memcpy(&v, p, 2);
    return v;
}


/* options at p[0..n): comments (code 1) into c, code want into w */
static void
walk_opts(const uint8_t *p, size_t n, char *c, uint16_t want, void *w,
    size_t wsize)
{
    size_t    at, len;
    uint16_t  code;

    if (n == 0) {
        return;                 /* no options at all */
    }
    for (at = 0; at + 4 <= n; ) {
        code = get16(p + at);
        len = get16(p + at + 2);
        at += 4;
        if (code == 0) {
            assert_int_equal(len, 0);
            assert_int_equal(at, n);        /* end of options is last */
            return;
        }
        assert_true(at + ((len + 3) & ~(size_t) 3) <= n);
        if (code == RD_PCAPNGW_OPT_COMMENT && c != NULL) {
            memcpy(c, p + at, len);
            c[len] = '\0';
        } else if (code == want && w != NULL) {
            assert_true(len < wsize);
            memcpy(w, p + at, len);
        }
        at += (len + 3) & ~(size_t) 3;
    }
    fail_msg("options without an end");
}


/* every block: total length at both ends, a multiple of 4, no more
 * than the file */
static void
walk_blocks(const uint8_t *b, size_t n, struct walk *w)
{
    size_t    at;
    uint32_t  type, len, k;

    memset(w, 0, sizeof(*w));
    for (at = 0; at < n; at += len) {
        assert_true(n - at >= 12);
        type = get32(b + at);
        len = get32(b + at + 4);
        assert_int_equal(len % 4, 0);
        assert_true(len >= 12 && len <= n - at);
        assert_int_equal(get32(b + at + len - 4), len);
        assert_true(w->nblocks < 16);
        w->type[w->nblocks++] = type;
        if (type == RD_PCAPNGW_BT_SHB) {
            assert_int_equal(get32(b + at + 8), RD_PCAPNGW_MAGIC);
            assert_int_equal(get16(b + at + 12), 1);
            assert_int_equal(get16(b + at + 14), 0);
            walk_opts(b + at + 24, len - 28, w->shb_comment,
                      RD_PCAPNGW_OPT_USERAPPL, w->userappl,
                      sizeof(w->userappl));
        } else if (type == RD_PCAPNGW_BT_IDB) {
            k = w->nidb++;
            w->linktype[k] = get16(b + at + 8);
            w->snaplen[k] = get32(b + at + 12);
            walk_opts(b + at + 16, len - 20, NULL, RD_PCAPNGW_OPT_TSRESOL,
                      &w->tsresol[k], 2);
        } else if (type == RD_PCAPNGW_BT_EPB) {
            k = w->nepb++;
            w->epb_if[k] = get32(b + at + 8);
            w->epb_ts[k] = (uint64_t) get32(b + at + 12) << 32
                           | get32(b + at + 16);
            w->epb_caplen[k] = get32(b + at + 20);
            w->epb_len[k] = get32(b + at + 24);
            walk_opts(b + at + 28 + ((w->epb_caplen[k] + 3) & ~3u),
                      len - 32 - ((w->epb_caplen[k] + 3) & ~3u),
                      w->epb_comment[k], 0xffff, NULL, 0);
        }
    }
    assert_int_equal(at, n);
}


static void
mem_open(struct mem *m)
{
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    assert_non_null(m->f);
}


static void
mem_close(struct mem *m)
{
    assert_int_equal(fclose(m->f), 0);
}


/* Read m with the project's reader and with libpcap: want packets with
 * timestamps ts[], lengths 61/160, 41/41, 1/1; with mixed, the second
 * interface's link type ends the read with libpcap's error. */
static void
read_back(const struct mem *m, const rd_usec_t *ts, int want, bool mixed)
{
    struct rd_pcapng         ng;
    struct rd_pcapfile_rec   rec;
    char                     err[RD_ERRLEN], path[] = "/tmp/pcapngwXXXXXX";
    uint8_t                 *copy;
    size_t                   off, used;
    int                      rc, fd, n;
    FILE                    *f;
    pcap_t                  *p;
    struct pcap_pkthdr      *h;
    const u_char            *d;

    copy = malloc(m->len);
    assert_non_null(copy);
    memcpy(copy, m->buf, m->len);
    memset(&ng, 0, sizeof(ng));
    assert_int_equal(rd_pcapng_header(&ng, copy, m->len, DLT_EN10MB, &off),
                     0);
    assert_int_equal(ng.snapshot, 262144);
    n = 0;
    for ( ;; ) {
        rc = rd_pcapng_parse(&ng, copy + off, m->len - off, true, &rec,
                             &used, err);
        if (rc == RD_PCAPNG_SKIP) {
            off += used;
            continue;
        }
        if (rc != RD_OK) {
            break;
        }
        off += used;
        assert_true(n < want);
        assert_int_equal(rec.sec, ts[n] / 1000000);
        assert_int_equal(rec.usec, ts[n] % 1000000);
        assert_int_equal(rec.caplen, n == 0 ? 61 : n == 1 ? 41 : 1);
        assert_int_equal(rec.len, n == 0 ? 160 : n == 1 ? 41 : 1);
        n++;
    }
    if (mixed) {
        assert_int_equal(rc, -RD_EPROTO);
        assert_non_null(strstr(err, "different from the type"));
    } else {
        assert_int_equal(rc, RD_PCAPFILE_END);
    }
    assert_int_equal(n, want);
    rd_pcapng_free(&ng);
    free(copy);

    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(m->buf, 1, m->len, f), m->len);
    assert_int_equal(fclose(f), 0);
    p = pcap_open_offline(path, err);
    assert_non_null(p);
    for (n = 0; (rc = pcap_next_ex(p, &h, &d)) == 1; n++) {
        assert_int_equal(h->ts.tv_sec, ts[n] / 1000000);
        assert_int_equal(h->ts.tv_usec, ts[n] % 1000000);
        assert_int_equal(h->caplen, n == 0 ? 61 : n == 1 ? 41 : 1);
        assert_int_equal(d[0], 0xab);
    }
    assert_int_equal(rc, mixed ? PCAP_ERROR : PCAP_ERROR_BREAK);
    assert_int_equal(n, want);
    pcap_close(p);
    unlink(path);
}


/* Three packets on two link types, odd lengths (padding), a comment on
 * the second: blocks, options and timestamps as written. */
static void
test_pcapngw_roundtrip(void **state)
{
    struct mem               m;
    struct rd_pcapngw        w;
    struct walk              wk;
    uint8_t                  eth[61], raw[41];
    int                      e, r;
    rd_usec_t                ts[3] = { 1795640488218271LL,
                                       1795640488218498LL,
                                       1795640489000001LL };

    (void) state;
    memset(eth, 0xab, sizeof(eth));
    memset(raw, 0x45, sizeof(raw));
    mem_open(&m);
    assert_int_equal(rd_pcapngw_begin(&w, m.f, "verdict: x; nginx: y"), 0);
    e = rd_pcapngw_iface(&w, DLT_EN10MB, 262144);
    assert_int_equal(e, 0);
    assert_int_equal(rd_pcapngw_packet(&w, e, ts[0], eth, sizeof(eth), 60 + 100,
                                       NULL), 0);
    r = rd_pcapngw_iface(&w, rd_pcapngw_linktype(DLT_RAW), 262144);
    assert_int_equal(r, 1);
    assert_int_equal(rd_pcapngw_iface(&w, DLT_EN10MB, 262144), 0);  /* once */
    assert_int_equal(rd_pcapngw_packet(&w, r, ts[1], raw, sizeof(raw),
                                       sizeof(raw), "the RST"), 0);
    assert_int_equal(rd_pcapngw_packet(&w, e, ts[2], eth, 1, 1, ""), 0);
    assert_int_equal(rd_pcapngw_packet(&w, 5, ts[2], eth, 1, 1, NULL),
                     -RD_EINVAL);       /* no such interface */
    assert_int_equal(rd_pcapngw_end(&w), 0);
    mem_close(&m);
    assert_int_equal(w.bytes, m.len);
    assert_int_equal(w.packets, 3);

    walk_blocks((const uint8_t *) m.buf, m.len, &wk);
    assert_int_equal(wk.nblocks, 6);
    assert_int_equal(wk.type[0], RD_PCAPNGW_BT_SHB);
    assert_string_equal(wk.shb_comment, "verdict: x; nginx: y");
    assert_string_equal(wk.userappl, "rstdiag");
    assert_int_equal(wk.nidb, 2);
    assert_int_equal(wk.linktype[0], 1);
    assert_int_equal(wk.linktype[1], 101);      /* LINKTYPE_RAW */
    assert_int_equal(wk.snaplen[0], 262144);
    assert_int_equal(wk.tsresol[0], 6);
    assert_int_equal(wk.tsresol[1], 6);
    assert_int_equal(wk.nepb, 3);
    assert_int_equal(wk.epb_if[1], 1);
    assert_int_equal(wk.epb_ts[0], (uint64_t) ts[0]);
    assert_int_equal(wk.epb_ts[2], (uint64_t) ts[2]);
    assert_int_equal(wk.epb_caplen[0], 61);
    assert_int_equal(wk.epb_len[0], 160);
    assert_string_equal(wk.epb_comment[0], "");
    assert_string_equal(wk.epb_comment[1], "the RST");
    assert_string_equal(wk.epb_comment[2], "");     /* "" writes none */

    /* libpcap 1.10 (and the project's reader, which matches it) stops
     * at an interface whose link type differs from the first: tshark
     * reads such a file, libpcap-based tools only its first packets */
    read_back(&m, ts, 1, true);
    free(m.buf);
}


/* One link type: the project's reader and libpcap read every packet
 * with its microseconds, caplen and len. */
static void
test_pcapngw_readers_agree(void **state)
{
    struct mem          m;
    struct rd_pcapngw   w;
    uint8_t             eth[61];
    int                 e;
    rd_usec_t           ts[3] = { 1795640488218271LL, 1795640488218498LL,
                                  1795640489000001LL };

    (void) state;
    memset(eth, 0xab, sizeof(eth));
    mem_open(&m);
    assert_int_equal(rd_pcapngw_begin(&w, m.f, "c"), 0);
    e = rd_pcapngw_iface(&w, DLT_EN10MB, 262144);
    assert_int_equal(rd_pcapngw_packet(&w, e, ts[0], eth, 61, 160, NULL), 0);
    assert_int_equal(rd_pcapngw_packet(&w, e, ts[1], eth, 41, 41, "RST"), 0);
    assert_int_equal(rd_pcapngw_packet(&w, e, ts[2], eth, 1, 1, NULL), 0);
    assert_int_equal(rd_pcapngw_end(&w), 0);
    mem_close(&m);
    read_back(&m, ts, 3, false);
    free(m.buf);
}


/* A comment longer than RD_PCAPNGW_MAX_COMMENT is cut, the file stays
 * well formed; a packet bigger than 256 KiB is cut to it, its length on
 * the wire kept. */
static void
test_pcapngw_long_comment_cut(void **state)
{
    struct mem          m;
    struct rd_pcapngw   w;
    struct walk         wk;
    char               *c;
    uint8_t            *pkt;

    (void) state;
    c = malloc(RD_PCAPNGW_MAX_COMMENT + 100);
    assert_non_null(c);
    memset(c, 'c', RD_PCAPNGW_MAX_COMMENT + 99);
    c[RD_PCAPNGW_MAX_COMMENT + 99] = '\0';
    pkt = calloc(1, 300000);
    assert_non_null(pkt);
    mem_open(&m);
    assert_int_equal(rd_pcapngw_begin(&w, m.f, c), 0);
    assert_int_equal(rd_pcapngw_iface(&w, 1, 0), 0);
    assert_int_equal(rd_pcapngw_packet(&w, 0, 0, pkt, 4, 4, c), 0);
    assert_int_equal(rd_pcapngw_packet(&w, 0, 0, pkt, 300000, 300000, NULL),
                     0);
    assert_int_equal(rd_pcapngw_end(&w), 0);
    mem_close(&m);
    walk_blocks((const uint8_t *) m.buf, m.len, &wk);
    assert_int_equal(strlen(wk.shb_comment), RD_PCAPNGW_MAX_COMMENT);
    assert_int_equal(strlen(wk.epb_comment[0]), RD_PCAPNGW_MAX_COMMENT);
    assert_int_equal(wk.epb_caplen[1], RD_PCAPNGW_MAX_CAPLEN);
    assert_int_equal(wk.epb_len[1], 300000);
    free(m.buf);
    free(pkt);
    free(c);
}


/* More link types than RD_PCAPNGW_MAX_IFS: refused, not overrun. */
static void
test_pcapngw_iface_table_full(void **state)
{
    struct mem          m;
    struct rd_pcapngw   w;
    int                 i;

    (void) state;
    mem_open(&m);
    assert_int_equal(rd_pcapngw_begin(&w, m.f, NULL), 0);
    for (i = 0; i < RD_PCAPNGW_MAX_IFS; i++) {
        assert_int_equal(rd_pcapngw_iface(&w, 100 + i, 65535), i);
    }
    assert_int_equal(rd_pcapngw_iface(&w, 99, 65535), -RD_ENOMEM);
    assert_int_equal(rd_pcapngw_end(&w), 0);
    mem_close(&m);
    free(m.buf);
}


/* A write that fails (a full disk) is sticky and reported at the end. */
static void
test_pcapngw_write_error_sticky(void **state)
{
    struct rd_pcapngw   w;
    FILE               *f;
    uint8_t             pkt[64];
    int                 i, rc;

    (void) state;
    f = fopen("/dev/full", "w");
    if (f == NULL) {
        skip();
    }
    memset(pkt, 0, sizeof(pkt));
    setvbuf(f, NULL, _IONBF, 0);
    rc = rd_pcapngw_begin(&w, f, "x");
    assert_int_equal(rc, -RD_EIO);
    (void) rd_pcapngw_iface(&w, 1, 0);
    for (i = 0; i < 4; i++) {
        (void) rd_pcapngw_packet(&w, 0, 0, pkt, sizeof(pkt), sizeof(pkt),
                                 NULL);
    }
    assert_int_equal(rd_pcapngw_end(&w), -RD_EIO);
    fclose(f);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_pcapngw_roundtrip),
        cmocka_unit_test(test_pcapngw_readers_agree),
        cmocka_unit_test(test_pcapngw_long_comment_cut),
        cmocka_unit_test(test_pcapngw_iface_table_full),
        cmocka_unit_test(test_pcapngw_write_error_sticky),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
