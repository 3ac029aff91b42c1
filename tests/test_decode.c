/*
 * Unit tests of decode.c: hand-made frames for every link type, IPv4 and
 * IPv6 corner cases, TCP options, and every truncation of a valid frame
 * read from a buffer that ends at a PROT_NONE guard page
 * (picohttpparser test.c), so a read past caplen faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <pcap/dlt.h>

#include "guard.h"
#include "rstdiag/common.h"
#include "rstdiag/decode.h"

#ifndef DLT_IPV4
#define DLT_IPV4  228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6  229
#endif
#ifndef DLT_NFLOG
#define DLT_NFLOG 239
#endif
#define LT_PKTAP  258                   /* LINKTYPE_PKTAP in files */

#define T_TS      1700000000123456LL
#define T_SPORT   40000
#define T_DPORT   80
#define T_SEQ     0x01020304u
#define T_ACK     0xa0b0c0d0u
#define T_FLAGS   (RD_TCP_ACK | RD_TCP_PSH)
#define T_WIN     0xfaf0u
#define T_IPID    0x1234u
#define T_TTL4    64
#define T_TTL6    57



static const uint8_t  v4src[4] = { 192, 0, 2, 1 };
static const uint8_t  v4dst[4] = { 198, 51, 100, 7 };
static const uint8_t  v6src[16] = {
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
};
static const uint8_t  v6dst[16] = {
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2
};

/* link headers */
static const uint8_t  eth4[14] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00
};
static const uint8_t  eth6[14] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd
};
static const uint8_t  eth_vlan4[18] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0x00, 0x64,
    0x08, 0x00
};
static const uint8_t  eth_qinq6[22] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x88, 0xa8, 0x00, 0x0a,
    0x81, 0x00, 0x00, 0x64, 0x86, 0xdd
};
static const uint8_t  sll4[16] = {
    0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0, 1, 2, 3, 4, 5, 0, 0, 0x08, 0x00
};
static const uint8_t  sll2_6[20] = {
    0x86, 0xdd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x06,
    0, 1, 2, 3, 4, 5, 0, 0
};
static const uint8_t  null4_le[4] = { 2, 0, 0, 0 };
static const uint8_t  loop4[4] = { 0, 0, 0, 2 };

/* IPv6 extension headers: hop-by-hop then destination options */
static const uint8_t  ext_hbh_dst[16] = {
    60, 0, 1, 4, 0, 0, 0, 0,            /* HBH, next = dst opts, PadN */
    6, 0, 1, 4, 0, 0, 0, 0              /* dst opts, next = TCP, PadN */
};

/* every TCP option we keep, in SYN order, 20 bytes */
static const uint8_t  opts_syn[20] = {
    2, 4, 0x05, 0xb4,                   /* MSS 1460 */
    4, 2,                               /* SACK permitted */
    8, 10, 0, 0, 0x10, 0x01, 0, 0, 0x20, 0x02,  /* TS 4097, 8194 */
    1,                                  /* NOP */
    3, 3, 7                             /* WS 7 */
};


struct frame {
    uint8_t   b[1024];
    size_t    len;
    size_t    link;                     /* link header length */
    size_t    ip;                       /* IP header + extension headers */
    size_t    tcp;                      /* TCP header with options */
    size_t    pay;                      /* payload bytes */
};


/*
 * The two decoders fill the same segment, field by field (padding is
 * not compared: the fast path does not zero the struct first).
 */
static void
check_same_seg(const struct rd_seg *a, const struct rd_seg *b)
{
    assert_int_equal(a->ts, b->ts);
    assert_int_equal(a->af, b->af);
    assert_int_equal(a->ttl, b->ttl);
    assert_int_equal(a->ip_id, b->ip_id);
    assert_int_equal(a->df, b->df);
    assert_memory_equal(a->src, b->src, sizeof(a->src));
    assert_memory_equal(a->dst, b->dst, sizeof(a->dst));
    assert_int_equal(a->sport, b->sport);
    assert_int_equal(a->dport, b->dport);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->ack, b->ack);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->win, b->win);
    assert_int_equal(a->opts.mss, b->opts.mss);
    assert_int_equal(a->opts.wscale, b->opts.wscale);
    assert_int_equal(a->opts.has_wscale, b->opts.has_wscale);
    assert_int_equal(a->opts.sack_perm, b->opts.sack_perm);
    assert_int_equal(a->opts.has_sack, b->opts.has_sack);
    assert_int_equal(a->opts.has_ts, b->opts.has_ts);
    assert_int_equal(a->opts.tsval, b->opts.tsval);
    assert_int_equal(a->opts.tsecr, b->opts.tsecr);
    assert_int_equal(a->payload_len, b->payload_len);
    assert_ptr_equal(a->payload.p, b->payload.p);
    assert_int_equal(a->payload.len, b->payload.len);
}


/*
 * rd_decode() with its fast path, checked against the general path
 * forced (rd_decode_slow_): same status and, on OK, the same segment.
 * Every frame of these tests goes through here.
 */
static enum rd_decode_status
decode_both(int dlt, const uint8_t *p, uint32_t caplen, uint32_t wirelen,
    rd_usec_t ts, struct rd_seg *seg)
{
    struct rd_seg           slow;
    enum rd_decode_status   st, st_slow;

    /* different garbage in both, so an unwritten field shows */
    memset(seg, 0xa5, sizeof(*seg));
    memset(&slow, 0x5a, sizeof(slow));
    st = rd_decode(dlt, p, caplen, wirelen, ts, seg);
    st_slow = rd_decode_slow_(dlt, p, caplen, wirelen, ts, &slow);
    assert_int_equal(st, st_slow);
    if (st == RD_DECODE_OK) {
        check_same_seg(seg, &slow);
    }
    return st;
}


static enum rd_decode_status
decode_cut(int dlt, const struct frame *f, size_t caplen, struct rd_seg *seg,
    const uint8_t **at)
{
    const uint8_t  *p;

    p = guard_place(f->b, caplen);
    if (at != NULL) {
        *at = p;
    }
    return decode_both(dlt, p, (uint32_t) caplen, (uint32_t) f->len, T_TS,
                       seg);
}


static enum rd_decode_status
decode_all(int dlt, const struct frame *f, struct rd_seg *seg)
{
    return decode_cut(dlt, f, f->len, seg, NULL);
}


static void
put16(uint8_t *b, size_t v)
{
    b[0] = (uint8_t) (v >> 8);
    b[1] = (uint8_t) v;
}


static void
put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t) (v >> 24);
    b[1] = (uint8_t) (v >> 16);
    b[2] = (uint8_t) (v >> 8);
    b[3] = (uint8_t) v;
}


static void
put_link(struct frame *f, const uint8_t *link, size_t len)
{
    memset(f, 0, sizeof(*f));
    if (len > 0) {
        memcpy(f->b, link, len);
    }
    f->link = len;
    f->len = len;
}


/* TCP header (with options) and payload at the end of the frame. */
static void
put_tcp(struct frame *f, const uint8_t *opt, size_t optlen, size_t pay)
{
    uint8_t  *b;
    size_t    i;

    b = f->b + f->len;
    put16(b, T_SPORT);
    put16(b + 2, T_DPORT);
    put32(b + 4, T_SEQ);
    put32(b + 8, T_ACK);
    b[12] = (uint8_t) (((20 + optlen) / 4) << 4);
    b[13] = T_FLAGS;
    put16(b + 14, T_WIN);
    if (optlen > 0) {
        memcpy(b + 20, opt, optlen);
    }
    for (i = 0; i < pay; i++) {
        b[20 + optlen + i] = (uint8_t) ('a' + i % 26);
    }
    f->tcp = 20 + optlen;
    f->pay = pay;
    f->len += 20 + optlen + pay;
}


/* IPv4 header with options, DF set, then TCP. */
static void
put_ipv4_tcp(struct frame *f, const uint8_t *ipopt, size_t ipoptlen,
    const uint8_t *opt, size_t optlen, size_t pay)
{
    uint8_t  *b;
    size_t    ihl;

    b = f->b + f->len;
    ihl = 20 + ipoptlen;
    b[0] = (uint8_t) (0x40 | ihl / 4);
    put16(b + 2, ihl + 20 + optlen + pay);
    put16(b + 4, T_IPID);
    put16(b + 6, 0x4000);
    b[8] = T_TTL4;
    b[9] = 6;
    memcpy(b + 12, v4src, 4);
    memcpy(b + 16, v4dst, 4);
    if (ipoptlen > 0) {
        memcpy(b + 20, ipopt, ipoptlen);
    }
    f->ip = ihl;
    f->len += ihl;
    put_tcp(f, opt, optlen, pay);
}


/* IPv6 header, extension headers (first one is nh), then TCP. */
static void
put_ipv6_tcp(struct frame *f, uint8_t nh, const uint8_t *ext, size_t extlen,
    const uint8_t *opt, size_t optlen, size_t pay)
{
    uint8_t  *b;

    b = f->b + f->len;
    b[0] = 0x60;
    put16(b + 4, extlen + 20 + optlen + pay);
    b[6] = nh;
    b[7] = T_TTL6;
    memcpy(b + 8, v6src, 16);
    memcpy(b + 24, v6dst, 16);
    if (extlen > 0) {
        memcpy(b + 40, ext, extlen);
    }
    f->ip = 40 + extlen;
    f->len += 40 + extlen;
    put_tcp(f, opt, optlen, pay);
}


/* The TCP fields every builder writes. */
static void
check_tcp(const struct rd_seg *seg, const struct frame *f, const uint8_t *at)
{
    assert_int_equal(seg->ts, T_TS);
    assert_int_equal(seg->sport, T_SPORT);
    assert_int_equal(seg->dport, T_DPORT);
    assert_int_equal(seg->seq, T_SEQ);
    assert_int_equal(seg->ack, T_ACK);
    assert_int_equal(seg->flags, T_FLAGS);
    assert_int_equal(seg->win, T_WIN);
    assert_int_equal(seg->payload_len, f->pay);
    if (at != NULL) {
        assert_ptr_equal(seg->payload.p, at + f->link + f->ip + f->tcp);
    }
}


static void
check_v4(const struct rd_seg *seg)
{
    assert_int_equal(seg->af, 4);
    assert_int_equal(seg->ttl, T_TTL4);
    assert_int_equal(seg->ip_id, T_IPID);
    assert_true(seg->df);
    assert_memory_equal(seg->src, v4src, 4);
    assert_memory_equal(seg->dst, v4dst, 4);
}


static void
check_v6(const struct rd_seg *seg)
{
    assert_int_equal(seg->af, 6);
    assert_int_equal(seg->ttl, T_TTL6);
    assert_int_equal(seg->ip_id, 0);
    assert_false(seg->df);
    assert_memory_equal(seg->src, v6src, 16);
    assert_memory_equal(seg->dst, v6dst, 16);
}


/*
 * Decode f cut at every length 0..len and check the status names the
 * layer that was cut (SHORT_LINK / SHORT_IP / SHORT_TCP), and that once
 * all headers are in, the segment is OK with the captured part of the
 * payload only while payload_len stays the wire value.
 */
static void
check_truncations(int dlt, const struct frame *f, int v)
{
    size_t                  k, hdr;
    const uint8_t          *at;
    struct rd_seg           seg;
    enum rd_decode_status   st;

    hdr = f->link + f->ip + f->tcp;
    for (k = 0; k <= f->len; k++) {
        st = decode_cut(dlt, f, k, &seg, &at);
        if (k < f->link) {
            assert_int_equal(st, RD_DECODE_SHORT_LINK);
        } else if (k < f->link + f->ip) {
            assert_int_equal(st, RD_DECODE_SHORT_IP);
        } else if (k < hdr) {
            assert_int_equal(st, RD_DECODE_SHORT_TCP);
        } else {
            assert_int_equal(st, RD_DECODE_OK);
            check_tcp(&seg, f, at);
            if (v == 4) {
                check_v4(&seg);
            } else {
                check_v6(&seg);
            }
            assert_int_equal(seg.payload.len, k - hdr);
        }
    }
}


/* Ethernet II / IPv4 / TCP: every field lands in rd_seg. */
static void
test_decode_ether_ipv4_fields(void **state)
{
    struct frame    f;
    struct rd_seg   seg;
    const uint8_t  *at;

    (void) state;
    put_link(&f, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 5);
    assert_int_equal(decode_cut(DLT_EN10MB, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    check_v4(&seg);
    check_tcp(&seg, &f, at);
    assert_int_equal(seg.payload.len, 5);
    assert_memory_equal(seg.payload.p, "abcde", 5);
    assert_int_equal(seg.opts.mss, 0);
    assert_false(seg.opts.has_ts);
}


/* A single 802.1Q tag is peeled. */
static void
test_decode_ether_vlan_peeled(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, eth_vlan4, sizeof(eth_vlan4));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 3);
    assert_int_equal(decode_all(DLT_EN10MB, &f, &seg), RD_DECODE_OK);
    check_v4(&seg);
    check_tcp(&seg, &f, NULL);
}


/* 802.1ad + 802.1Q (QinQ) and the old 0x9100 outer tag are peeled. */
static void
test_decode_ether_qinq_peeled(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, eth_qinq6, sizeof(eth_qinq6));
    put_ipv6_tcp(&f, 6, NULL, 0, NULL, 0, 4);
    assert_int_equal(decode_all(DLT_EN10MB, &f, &seg), RD_DECODE_OK);
    check_v6(&seg);
    check_tcp(&seg, &f, NULL);

    f.b[12] = 0x91;
    f.b[13] = 0x00;
    assert_int_equal(decode_all(DLT_EN10MB, &f, &seg), RD_DECODE_OK);
    check_v6(&seg);
}


/* RD_LIMITS_VLAN_MAX (4) tags are fine, a fifth is BAD_VLAN. */
static void
test_decode_ether_vlan_limit(void **state)
{
    struct frame   f;
    struct rd_seg  seg;
    uint8_t        link[34];
    size_t         i;

    (void) state;
    memcpy(link, eth4, 12);
    for (i = 0; i < 5; i++) {
        put16(link + 12 + 4 * i, 0x8100);
        put16(link + 14 + 4 * i, 0x0001);
    }
    put16(link + 32, 0x0800);

    /* 4 tags: link = 12 + 4*4 + 2 bytes, the 4th tag's type is IPv4 */
    put16(link + 28, 0x0800);
    put_link(&f, link, 30);
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 0);
    assert_int_equal(decode_all(DLT_EN10MB, &f, &seg), RD_DECODE_OK);
    check_v4(&seg);

    /* 5 tags */
    put16(link + 28, 0x8100);
    put_link(&f, link, 34);
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 0);
    assert_int_equal(decode_all(DLT_EN10MB, &f, &seg), RD_DECODE_BAD_VLAN);
}


/* ARP and 802.3 length frames are not IP; an IPv6 packet under the IPv4
 * ethertype is a version mismatch. */
static void
test_decode_ether_not_ip(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 0);
    put16(f.b + 12, 0x0806);
    assert_int_equal(decode_all(DLT_EN10MB, &f, &seg),
                     RD_DECODE_SKIP_NOT_IP);
    put16(f.b + 12, 46);
    assert_int_equal(decode_all(DLT_EN10MB, &f, &seg),
                     RD_DECODE_SKIP_NOT_IP);

    put_link(&f, eth4, sizeof(eth4));
    put_ipv6_tcp(&f, 6, NULL, 0, NULL, 0, 0);
    assert_int_equal(decode_all(DLT_EN10MB, &f, &seg),
                     RD_DECODE_BAD_IP_VERSION);
}


/* Linux cooked v1: 16-byte header, protocol at offset 14. */
static void
test_decode_sll_ipv4(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, sll4, sizeof(sll4));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 7);
    assert_int_equal(decode_all(DLT_LINUX_SLL, &f, &seg), RD_DECODE_OK);
    check_v4(&seg);
    check_tcp(&seg, &f, NULL);

    put16(f.b + 14, 0x0806);
    assert_int_equal(decode_all(DLT_LINUX_SLL, &f, &seg),
                     RD_DECODE_SKIP_NOT_IP);
}


/* Linux cooked v2: 20-byte header, protocol at offset 0. */
static void
test_decode_sll2_ipv6(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, sll2_6, sizeof(sll2_6));
    put_ipv6_tcp(&f, 6, NULL, 0, NULL, 0, 7);
    assert_int_equal(decode_all(DLT_LINUX_SLL2, &f, &seg), RD_DECODE_OK);
    check_v6(&seg);
    check_tcp(&seg, &f, NULL);

    put16(f.b, 0x0806);
    assert_int_equal(decode_all(DLT_LINUX_SLL2, &f, &seg),
                     RD_DECODE_SKIP_NOT_IP);
}


/* DLT_NULL: AF in either byte order; AF_INET6 of NetBSD, FreeBSD, Darwin;
 * Linux's AF_INET6 (10) never appears there and is not IP. */
static void
test_decode_null_both_byte_orders(void **state)
{
    static const uint8_t  afs6[] = { 24, 28, 30 };
    struct frame          f;
    struct rd_seg         seg;
    uint8_t               link[4];
    size_t                i;

    (void) state;
    put_link(&f, null4_le, sizeof(null4_le));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 1);
    assert_int_equal(decode_all(DLT_NULL, &f, &seg), RD_DECODE_OK);
    check_v4(&seg);
    put32(f.b, 2);
    assert_int_equal(decode_all(DLT_NULL, &f, &seg), RD_DECODE_OK);
    check_v4(&seg);

    for (i = 0; i < sizeof(afs6); i++) {
        memset(link, 0, sizeof(link));
        link[0] = afs6[i];
        put_link(&f, link, 4);
        put_ipv6_tcp(&f, 6, NULL, 0, NULL, 0, 1);
        assert_int_equal(decode_all(DLT_NULL, &f, &seg), RD_DECODE_OK);
        check_v6(&seg);
        put32(f.b, afs6[i]);
        assert_int_equal(decode_all(DLT_NULL, &f, &seg), RD_DECODE_OK);
        check_v6(&seg);
    }

    put32(f.b, 10);
    assert_int_equal(decode_all(DLT_NULL, &f, &seg), RD_DECODE_SKIP_NOT_IP);
}


/* DLT_LOOP: the AF is big-endian only. */
static void
test_decode_loop_big_endian(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, loop4, sizeof(loop4));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 2);
    assert_int_equal(decode_all(DLT_LOOP, &f, &seg), RD_DECODE_OK);
    check_v4(&seg);

    memcpy(f.b, null4_le, 4);
    assert_int_equal(decode_all(DLT_LOOP, &f, &seg), RD_DECODE_SKIP_NOT_IP);
}


/* Raw IP: the version nibble decides for DLT_RAW (12, 14, 101); the
 * link decides for LINKTYPE_IPV4/IPV6 and a mismatch is reported. */
static void
test_decode_raw_ipv4_ipv6(void **state)
{
    static const int  raws[] = { DLT_RAW, 12, 14, 101 };
    struct frame      f4, f6;
    struct rd_seg     seg;
    size_t            i;

    (void) state;
    put_link(&f4, NULL, 0);
    put_ipv4_tcp(&f4, NULL, 0, NULL, 0, 9);
    put_link(&f6, NULL, 0);
    put_ipv6_tcp(&f6, 6, NULL, 0, NULL, 0, 9);

    for (i = 0; i < RD_NELEMS(raws); i++) {
        assert_int_equal(decode_all(raws[i], &f4, &seg), RD_DECODE_OK);
        check_v4(&seg);
        check_tcp(&seg, &f4, NULL);
        assert_int_equal(decode_all(raws[i], &f6, &seg), RD_DECODE_OK);
        check_v6(&seg);
        check_tcp(&seg, &f6, NULL);
    }

    assert_int_equal(decode_all(DLT_IPV4, &f4, &seg), RD_DECODE_OK);
    check_v4(&seg);
    assert_int_equal(decode_all(DLT_IPV6, &f6, &seg), RD_DECODE_OK);
    check_v6(&seg);
    assert_int_equal(decode_all(DLT_IPV4, &f6, &seg),
                     RD_DECODE_BAD_IP_VERSION);
    assert_int_equal(decode_all(DLT_IPV6, &f4, &seg),
                     RD_DECODE_BAD_IP_VERSION);

    f4.b[0] = 0x55;
    assert_int_equal(decode_all(DLT_RAW, &f4, &seg),
                     RD_DECODE_BAD_IP_VERSION);
}


/* Unknown link types are refused, known ones advertised. */
static void
test_decode_dlt_supported(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, NULL, 0);
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 0);
    assert_int_equal(decode_all(9999, &f, &seg), RD_DECODE_BAD_DLT);
    assert_int_equal(decode_all(DLT_PPP, &f, &seg), RD_DECODE_BAD_DLT);

    assert_true(rd_decode_dlt_supported(DLT_EN10MB));
    assert_true(rd_decode_dlt_supported(DLT_LINUX_SLL));
    assert_true(rd_decode_dlt_supported(DLT_LINUX_SLL2));
    assert_true(rd_decode_dlt_supported(DLT_NULL));
    assert_true(rd_decode_dlt_supported(DLT_LOOP));
    assert_true(rd_decode_dlt_supported(DLT_RAW));
    assert_true(rd_decode_dlt_supported(101));
    assert_true(rd_decode_dlt_supported(DLT_IPV4));
    assert_true(rd_decode_dlt_supported(DLT_IPV6));
    assert_true(rd_decode_dlt_supported(DLT_NFLOG));
    assert_true(rd_decode_dlt_supported(LT_PKTAP));
    assert_true(rd_decode_dlt_supported(DLT_PKTAP));
    assert_true(rd_decode_dlt_supported(DLT_FDDI));
    assert_true(rd_decode_dlt_supported(DLT_IEEE802_11));
    assert_true(rd_decode_dlt_supported(DLT_IEEE802_11_RADIO));
    assert_true(rd_decode_dlt_supported(DLT_PPI));
    assert_false(rd_decode_dlt_supported(DLT_PPP));
    assert_false(rd_decode_dlt_supported(9999));
    assert_false(rd_decode_dlt_supported(-1));
}


/* A NULL buffer with caplen 0 is a short frame, not a crash. */
static void
test_decode_null_buffer_short(void **state)
{
    struct rd_seg  seg;

    (void) state;
    assert_int_equal(decode_both(DLT_EN10MB, NULL, 0, 0, 0, &seg),
                     RD_DECODE_SHORT_LINK);
    assert_int_equal(decode_both(DLT_RAW, NULL, 0, 0, 0, &seg),
                     RD_DECODE_SHORT_IP);
}


/* IPv4 options are skipped using the IHL (max 40 bytes). */
static void
test_decode_ipv4_options_skipped(void **state)
{
    static const uint8_t  rr[8] = { 7, 7, 4, 0, 0, 0, 0, 0 };
    uint8_t               big[40];
    struct frame          f;
    struct rd_seg         seg;
    const uint8_t        *at;

    (void) state;
    put_link(&f, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, rr, sizeof(rr), NULL, 0, 6);
    assert_int_equal(f.b[14], 0x47);
    assert_int_equal(decode_cut(DLT_EN10MB, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    check_v4(&seg);
    check_tcp(&seg, &f, at);
    assert_memory_equal(seg.payload.p, "abcdef", 6);

    memset(big, 1, sizeof(big));
    put_link(&f, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, big, sizeof(big), NULL, 0, 6);
    assert_int_equal(f.b[14], 0x4f);
    assert_int_equal(decode_cut(DLT_EN10MB, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    check_tcp(&seg, &f, at);
}


/* IHL and total length are checked before use: IHL < 5, total length
 * below 20, and a header longer than the datagram.  Total length 0 is
 * BIG TCP only when the frame holds more than the IP header. */
static void
test_decode_ipv4_bad_lengths(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, NULL, 0);
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 10);

    f.b[0] = 0x44;
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_BAD_IPV4_HLEN);
    f.b[0] = 0x40;
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_BAD_IPV4_HLEN);

    f.b[0] = 0x45;
    put16(f.b + 2, 19);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_BAD_IP_LEN);
    put16(f.b + 2, 0);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_OK);
    assert_int_equal(seg.payload_len, 10);
    assert_int_equal(decode_both(DLT_RAW, f.b, 20, 20, 0, &seg),
                     RD_DECODE_BAD_IP_LEN);

    f.b[0] = 0x47;                      /* 28-byte header, 24-byte packet */
    put16(f.b + 2, 24);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_BAD_IPV4_HLEN);
}


/* Fragments (MF set or an offset) are skipped; DF alone is not one. */
static void
test_decode_ipv4_fragment_skipped(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, NULL, 0);
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 8);

    put16(f.b + 6, 0x2000);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_SKIP_FRAGMENT);
    put16(f.b + 6, 0x0001);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_SKIP_FRAGMENT);
    put16(f.b + 6, 0x4000 | 0x00b9);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_SKIP_FRAGMENT);

    put16(f.b + 6, 0x0000);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_OK);
    assert_false(seg.df);
    put16(f.b + 6, 0x4000);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_OK);
    assert_true(seg.df);
}


/* UDP, ICMP, ... are skipped as not TCP. */
static void
test_decode_ipv4_not_tcp(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, NULL, 0);
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 8);
    f.b[9] = 17;
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_SKIP_NOT_TCP);
    f.b[9] = 1;
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_SKIP_NOT_TCP);
}


/* Hop-by-hop, routing, destination options and AH headers are walked;
 * the TCP header is found after them and payload_len excludes them. */
static void
test_decode_ipv6_ext_headers_walked(void **state)
{
    static const uint8_t  ext_rt_ah[32] = {
        51, 0, 0, 0, 0, 0, 0, 0,                /* routing, next = AH */
        6, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1,     /* AH: (4+2)*4 = 24 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    };
    struct frame          f;
    struct rd_seg         seg;
    const uint8_t        *at;

    (void) state;
    put_link(&f, eth6, sizeof(eth6));
    put_ipv6_tcp(&f, 0, ext_hbh_dst, sizeof(ext_hbh_dst), NULL, 0, 11);
    assert_int_equal(decode_cut(DLT_EN10MB, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    check_v6(&seg);
    check_tcp(&seg, &f, at);
    assert_int_equal(seg.payload.len, 11);

    put_link(&f, eth6, sizeof(eth6));
    put_ipv6_tcp(&f, 43, ext_rt_ah, sizeof(ext_rt_ah), NULL, 0, 3);
    assert_int_equal(decode_cut(DLT_EN10MB, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    check_v6(&seg);
    check_tcp(&seg, &f, at);
}


/* A fragment header is skipped unless it is atomic (offset 0, M=0,
 * RFC 6946), in which case the walk goes on. */
static void
test_decode_ipv6_fragment_header(void **state)
{
    uint8_t        frag[8] = { 6, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef };
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, NULL, 0);
    put_ipv6_tcp(&f, 44, frag, sizeof(frag), NULL, 0, 4);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_OK);
    check_v6(&seg);
    check_tcp(&seg, &f, NULL);

    put16(f.b + 42, 0x0001);                    /* M */
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_SKIP_FRAGMENT);
    put16(f.b + 42, 0x0008);                    /* offset 1 */
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_SKIP_FRAGMENT);
    put16(f.b + 42, 0x0006);                    /* reserved bits only */
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_OK);
}


/* Malformed chains: an extension longer than the payload length, more
 * than RD_LIMITS_IPV6_EXT_MAX headers, hop-by-hop not first, payload
 * length 0 (jumbo).  ESP, no-next-header and UDP are not TCP. */
static void
test_decode_ipv6_ext_malformed(void **state)
{
    uint8_t        ext[9 * 8];
    struct frame   f;
    struct rd_seg  seg;
    size_t         i;

    (void) state;
    put_link(&f, NULL, 0);
    put_ipv6_tcp(&f, 0, ext_hbh_dst, sizeof(ext_hbh_dst), NULL, 0, 0);
    f.b[49] = 3;                                /* dst opts: 32 bytes */
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_BAD_IPV6_EXT);

    /* length 0 takes the frame's: 36 bytes, still too short */
    put16(f.b + 4, 0);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_BAD_IPV6_EXT);
    assert_int_equal(decode_both(DLT_RAW, f.b, 40, 40, 0, &seg),
                     RD_DECODE_BAD_IP_LEN);

    /* hop-by-hop after destination options */
    put_link(&f, NULL, 0);
    put_ipv6_tcp(&f, 60, ext_hbh_dst, sizeof(ext_hbh_dst), NULL, 0, 0);
    f.b[40] = 0;
    f.b[48] = 6;
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_BAD_IPV6_EXT);

    /* 8 destination options headers are walked, 9 are too many */
    memset(ext, 0, sizeof(ext));
    for (i = 0; i < 9; i++) {
        ext[8 * i] = 60;
    }
    ext[7 * 8] = 6;
    put_link(&f, NULL, 0);
    put_ipv6_tcp(&f, 60, ext, 8 * 8, NULL, 0, 2);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_OK);
    check_tcp(&seg, &f, NULL);
    ext[7 * 8] = 60;
    ext[8 * 8] = 6;
    put_link(&f, NULL, 0);
    put_ipv6_tcp(&f, 60, ext, 9 * 8, NULL, 0, 2);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_BAD_IPV6_EXT);

    /* no room for an extension header's first two bytes */
    put_link(&f, NULL, 0);
    put_ipv6_tcp(&f, 60, NULL, 0, NULL, 0, 0);
    put16(f.b + 4, 1);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                     RD_DECODE_BAD_IPV6_EXT);

    put_link(&f, NULL, 0);
    put_ipv6_tcp(&f, 50, NULL, 0, NULL, 0, 0);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_SKIP_NOT_TCP);
    f.b[6] = 59;
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_SKIP_NOT_TCP);
    f.b[6] = 17;
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_SKIP_NOT_TCP);
}


/* MSS, SACK-permitted, timestamps, NOP, window scale, a SACK block and
 * an unknown kind skipped by its length; nothing is read after EOL. */
static void
test_decode_tcp_options_all_kinds(void **state)
{
    static const uint8_t  opts_ack[20] = {
        1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2,    /* SACK 1-2 */
        30, 4, 0xff, 0xff,                      /* unknown, skipped */
        0, 0xff, 0x01, 0x00                     /* EOL, then junk */
    };
    struct frame          f;
    struct rd_seg         seg;
    const uint8_t        *at;

    (void) state;
    put_link(&f, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, NULL, 0, opts_syn, sizeof(opts_syn), 0);
    assert_int_equal(decode_cut(DLT_EN10MB, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    check_tcp(&seg, &f, at);
    assert_int_equal(seg.opts.mss, 1460);
    assert_true(seg.opts.sack_perm);
    assert_true(seg.opts.has_ts);
    assert_int_equal(seg.opts.tsval, 0x1001);
    assert_int_equal(seg.opts.tsecr, 0x2002);
    assert_true(seg.opts.has_wscale);
    assert_int_equal(seg.opts.wscale, 7);
    assert_false(seg.opts.has_sack);

    put_link(&f, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, NULL, 0, opts_ack, sizeof(opts_ack), 1);
    assert_int_equal(decode_cut(DLT_EN10MB, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    check_tcp(&seg, &f, at);
    assert_true(seg.opts.has_sack);
    assert_int_equal(seg.opts.mss, 0);
    assert_false(seg.opts.has_ts);
    assert_false(seg.opts.sack_perm);
}


/* Option framing errors: length 0 or 1, a length running past the
 * header, a kind with no room for its length byte. */
static void
test_decode_tcp_options_malformed(void **state)
{
    static const uint8_t  bad[][4] = {
        { 30, 0, 0, 0 },
        { 30, 1, 0, 0 },
        { 1, 30, 4, 0 },
        { 2, 8, 0, 0 },
        { 1, 1, 1, 2 },
    };
    struct frame          f;
    struct rd_seg         seg;
    size_t                i;

    (void) state;
    for (i = 0; i < RD_NELEMS(bad); i++) {
        put_link(&f, NULL, 0);
        put_ipv4_tcp(&f, NULL, 0, bad[i], 4, 2);
        assert_int_equal(decode_all(DLT_RAW, &f, &seg),
                         RD_DECODE_BAD_TCP_OPT);
    }
}


/* A known option with the wrong length is framed well: skipped, and
 * its value not used. */
static void
test_decode_tcp_options_wrong_length_ignored(void **state)
{
    static const uint8_t  odd[12] = {
        2, 3, 5, 3, 2, 8, 5, 1, 2, 3, 0, 0     /* MSS len 3, WS len 2, TS
                                                * len 5, EOL */
    };
    struct frame          f;
    struct rd_seg         seg;

    (void) state;
    put_link(&f, NULL, 0);
    put_ipv4_tcp(&f, NULL, 0, odd, sizeof(odd), 2);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_OK);
    assert_int_equal(seg.opts.mss, 0);
    assert_false(seg.opts.has_wscale);
    assert_false(seg.opts.has_ts);
}


/* The data offset is checked: below 5, beyond the IP payload, and an
 * IP payload too small for any TCP header. */
static void
test_decode_tcp_bad_hlen(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, NULL, 0);
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 16);

    f.b[32] = 0x40;
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_BAD_TCP_HLEN);
    f.b[32] = 0xf0;                     /* 60 > 20 + 16 */
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_BAD_TCP_HLEN);
    f.b[32] = 0x90;                     /* 36 = 20 + 16: all options */
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_BAD_TCP_OPT);

    f.b[32] = 0x50;
    put16(f.b + 2, 20 + 19);
    assert_int_equal(decode_all(DLT_RAW, &f, &seg), RD_DECODE_BAD_TCP_HLEN);
}


/* Ethernet pads short frames to 60 bytes: the padding is not payload,
 * the IP total length decides (p0f, RFC 1122 sec. 3.3.2). */
static void
test_decode_ether_padding_trimmed(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_link(&f, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 0);
    assert_int_equal(f.len, 54);
    memset(f.b + 54, 0xee, 6);
    f.len = 60;
    assert_int_equal(decode_all(DLT_EN10MB, &f, &seg), RD_DECODE_OK);
    assert_int_equal(seg.payload_len, 0);
    assert_int_equal(seg.payload.len, 0);

    put_link(&f, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 2);
    memset(f.b + 56, 0xee, 4);
    f.len = 60;
    assert_int_equal(decode_all(DLT_EN10MB, &f, &seg), RD_DECODE_OK);
    assert_int_equal(seg.payload_len, 2);
    assert_int_equal(seg.payload.len, 2);
    assert_memory_equal(seg.payload.p, "ab", 2);

    /* same for IPv6: the payload length decides */
    put_link(&f, eth6, sizeof(eth6));
    put_ipv6_tcp(&f, 6, NULL, 0, NULL, 0, 1);
    memset(f.b + f.len, 0xee, 8);
    f.len += 8;
    assert_int_equal(decode_all(DLT_EN10MB, &f, &seg), RD_DECODE_OK);
    assert_int_equal(seg.payload_len, 1);
    assert_int_equal(seg.payload.len, 1);
}


/* A payload cut by the snaplen is still OK: payload_len comes from the
 * IP length, payload.len is what was captured. */
static void
test_decode_snaplen_cut_payload(void **state)
{
    struct frame    f;
    struct rd_seg   seg;
    const uint8_t  *at;

    (void) state;
    put_link(&f, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 500);
    assert_int_equal(decode_cut(DLT_EN10MB, &f, 54 + 10, &seg, &at),
                     RD_DECODE_OK);
    check_v4(&seg);
    check_tcp(&seg, &f, at);
    assert_int_equal(seg.payload_len, 500);
    assert_int_equal(seg.payload.len, 10);
    assert_memory_equal(seg.payload.p, "abcdefghij", 10);

    put_link(&f, sll2_6, sizeof(sll2_6));
    put_ipv6_tcp(&f, 0, ext_hbh_dst, sizeof(ext_hbh_dst), NULL, 0, 300);
    assert_int_equal(decode_cut(DLT_LINUX_SLL2, &f, f.len - 299, &seg, &at),
                     RD_DECODE_OK);
    assert_int_equal(seg.payload_len, 300);
    assert_int_equal(seg.payload.len, 1);
}


/* Every truncation of a valid frame of each link type, read at a guard
 * page: the right SHORT_* status, never a read past caplen. */
static void
test_decode_truncations_ether(void **state)
{
    struct frame  f;

    (void) state;
    put_link(&f, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, NULL, 0, opts_syn, sizeof(opts_syn), 5);
    check_truncations(DLT_EN10MB, &f, 4);

    put_link(&f, eth6, sizeof(eth6));
    put_ipv6_tcp(&f, 0, ext_hbh_dst, sizeof(ext_hbh_dst), opts_syn,
                 sizeof(opts_syn), 5);
    check_truncations(DLT_EN10MB, &f, 6);
}


static void
test_decode_truncations_vlan(void **state)
{
    struct frame  f;

    (void) state;
    put_link(&f, eth_vlan4, sizeof(eth_vlan4));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 3);
    check_truncations(DLT_EN10MB, &f, 4);

    put_link(&f, eth_qinq6, sizeof(eth_qinq6));
    put_ipv6_tcp(&f, 6, NULL, 0, opts_syn, sizeof(opts_syn), 3);
    check_truncations(DLT_EN10MB, &f, 6);
}


static void
test_decode_truncations_sll(void **state)
{
    struct frame  f;

    (void) state;
    put_link(&f, sll4, sizeof(sll4));
    put_ipv4_tcp(&f, NULL, 0, opts_syn, sizeof(opts_syn), 4);
    check_truncations(DLT_LINUX_SLL, &f, 4);

    put_link(&f, sll2_6, sizeof(sll2_6));
    put_ipv6_tcp(&f, 0, ext_hbh_dst, sizeof(ext_hbh_dst), NULL, 0, 4);
    check_truncations(DLT_LINUX_SLL2, &f, 6);
}


static void
test_decode_truncations_null_loop(void **state)
{
    struct frame  f;

    (void) state;
    put_link(&f, null4_le, sizeof(null4_le));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 2);
    check_truncations(DLT_NULL, &f, 4);

    put_link(&f, loop4, sizeof(loop4));
    put_ipv4_tcp(&f, NULL, 0, opts_syn, sizeof(opts_syn), 2);
    check_truncations(DLT_LOOP, &f, 4);
}


static void
test_decode_truncations_raw(void **state)
{
    static const uint8_t  rr[8] = { 7, 7, 4, 0, 0, 0, 0, 0 };
    uint8_t               frag[8] = { 6, 0, 0, 0, 1, 2, 3, 4 };
    struct frame          f;

    (void) state;
    put_link(&f, NULL, 0);
    put_ipv4_tcp(&f, rr, sizeof(rr), opts_syn, sizeof(opts_syn), 6);
    check_truncations(DLT_RAW, &f, 4);
    check_truncations(DLT_IPV4, &f, 4);

    put_link(&f, NULL, 0);
    put_ipv6_tcp(&f, 44, frag, sizeof(frag), opts_syn, sizeof(opts_syn), 6);
    check_truncations(DLT_RAW, &f, 6);
    check_truncations(DLT_IPV6, &f, 6);
}


static void
put_le32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t) v;
    b[1] = (uint8_t) (v >> 8);
    b[2] = (uint8_t) (v >> 16);
    b[3] = (uint8_t) (v >> 24);
}


/* An NFLOG TLV header in host byte order, as libpcap hands it over. */
static void
put_tlv(uint8_t *b, uint16_t len, uint16_t type)
{
    memcpy(b, &len, 2);
    memcpy(b + 2, &type, 2);
}


/*
 * NFLOG link header for family af: hardware header TLV (8 bytes), a
 * prefix TLV of length 5 padded to 8, then the payload TLV header whose
 * length is fixed up by nflog_fix() once the packet is built.
 */
static void
put_nflog(struct frame *f, uint8_t af)
{
    uint8_t  h[24];

    memset(h, 0, sizeof(h));
    h[0] = af;
    h[1] = 0;                           /* version */
    h[2] = 0;
    h[3] = 5;                           /* resource id, big-endian */
    put_tlv(h + 4, 8, 1);               /* NFULA_PACKET_HDR */
    h[8] = (af == 2) ? 0x08 : 0x86;
    h[9] = (af == 2) ? 0x00 : 0xdd;
    put_tlv(h + 12, 5, 10);             /* NFULA_PREFIX "a" + padding */
    h[16] = 'a';
    put_tlv(h + 20, 4, 9);              /* NFULA_PAYLOAD, length later */
    put_link(f, h, sizeof(h));
}


static void
nflog_fix(struct frame *f)
{
    put_tlv(f->b + 20, (uint16_t) (4 + f->len - f->link), 9);
}


/* Apple PKTAP header (108 bytes, little-endian) over inner DLT dlt. */
static void
put_pktap(struct frame *f, uint32_t hlen, uint32_t rectype, uint32_t dlt,
    const uint8_t *inner, size_t ilen)
{
    uint8_t  h[160];

    assert_true(hlen <= sizeof(h));
    memset(h, 0, sizeof(h));
    put_le32(h, hlen);
    put_le32(h + 4, rectype);
    put_le32(h + 8, dlt);
    memcpy(h + 12, "en0", 3);
    put_link(f, h, hlen);
    if (ilen > 0) {
        memcpy(f->b + hlen, inner, ilen);
    }
    f->link += ilen;
    f->len += ilen;
}


/* NFLOG: the TLVs before NFULA_PAYLOAD are stepped over with their
 * padding, the family byte gives the IP version, and the payload TLV's
 * length bounds the packet (a TLV after it is not payload). */
static void
test_decode_nflog_ipv4_ipv6(void **state)
{
    struct frame    f;
    struct rd_seg   seg;
    const uint8_t  *at;

    (void) state;
    put_nflog(&f, 2);
    put_ipv4_tcp(&f, NULL, 0, opts_syn, sizeof(opts_syn), 7);
    nflog_fix(&f);
    assert_int_equal(decode_cut(DLT_NFLOG, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    check_v4(&seg);
    check_tcp(&seg, &f, at);
    assert_int_equal(seg.opts.mss, 1460);
    assert_memory_equal(seg.payload.p, "abcdefg", 7);

    /* a trailing TLV (NFULA_UID) is not part of the packet */
    put_tlv(f.b + f.len, 8, 11);
    put32(f.b + f.len + 4, 1000);
    f.len += 8;
    assert_int_equal(decode_cut(DLT_NFLOG, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    assert_int_equal(seg.payload_len, 7);
    assert_int_equal(seg.payload.len, 7);

    put_nflog(&f, 10);
    put_ipv6_tcp(&f, 0, ext_hbh_dst, sizeof(ext_hbh_dst), NULL, 0, 3);
    nflog_fix(&f);
    assert_int_equal(decode_cut(DLT_NFLOG, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    check_v6(&seg);
    check_tcp(&seg, &f, at);

    /* the NLA_F_* flag bits of the type are ignored */
    put_tlv(f.b + 20, (uint16_t) (4 + f.len - f.link), 0x4000 | 9);
    assert_int_equal(decode_all(DLT_NFLOG, &f, &seg), RD_DECODE_OK);
}


/* NFLOG records that carry no IP packet, a family that disagrees with
 * the packet, and TLV lengths that cannot be framed. */
static void
test_decode_nflog_not_ip_and_malformed(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_nflog(&f, 2);
    put_ipv6_tcp(&f, 6, NULL, 0, NULL, 0, 1);
    nflog_fix(&f);
    assert_int_equal(decode_all(DLT_NFLOG, &f, &seg),
                     RD_DECODE_BAD_IP_VERSION);

    f.b[0] = 7;                         /* AF_BRIDGE */
    assert_int_equal(decode_all(DLT_NFLOG, &f, &seg), RD_DECODE_SKIP_NOT_IP);
    f.b[0] = 10;
    f.b[1] = 1;                         /* unknown version */
    assert_int_equal(decode_all(DLT_NFLOG, &f, &seg), RD_DECODE_SKIP_NOT_IP);
    f.b[1] = 0;
    assert_int_equal(decode_all(DLT_NFLOG, &f, &seg), RD_DECODE_OK);

    /* a TLV shorter than its own header cannot be stepped over */
    put_tlv(f.b + 12, 3, 10);
    assert_int_equal(decode_all(DLT_NFLOG, &f, &seg), RD_DECODE_SHORT_LINK);
    /* a TLV running past the frame */
    put_tlv(f.b + 12, 2000, 10);
    assert_int_equal(decode_all(DLT_NFLOG, &f, &seg), RD_DECODE_SHORT_LINK);

    /* a whole record without a payload TLV is not IP; cut, it is short */
    put_nflog(&f, 2);
    f.len = 20;
    assert_int_equal(decode_both(DLT_NFLOG, f.b, 20, 20, 0, &seg),
                     RD_DECODE_SKIP_NOT_IP);
    assert_int_equal(decode_both(DLT_NFLOG, f.b, 20, 60, 0, &seg),
                     RD_DECODE_SHORT_LINK);
}


/* PKTAP: the header length word skips Apple's header, the record type
 * must be a packet and the inner DLT is Ethernet, NULL or raw. */
static void
test_decode_pktap_inner_frames(void **state)
{
    struct frame    f;
    struct rd_seg   seg;
    const uint8_t  *at;

    (void) state;
    put_pktap(&f, 108, 1, DLT_EN10MB, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, NULL, 0, opts_syn, sizeof(opts_syn), 5);
    assert_int_equal(decode_cut(LT_PKTAP, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    check_v4(&seg);
    check_tcp(&seg, &f, at);
    assert_int_equal(decode_all(DLT_PKTAP, &f, &seg), RD_DECODE_OK);

    /* a longer header (newer macOS) is skipped by its length */
    put_pktap(&f, 156, 1, DLT_NULL, null4_le, sizeof(null4_le));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 5);
    assert_int_equal(decode_cut(LT_PKTAP, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    check_tcp(&seg, &f, at);

    put_pktap(&f, 108, 1, 12, NULL, 0);
    put_ipv6_tcp(&f, 6, NULL, 0, NULL, 0, 5);
    assert_int_equal(decode_cut(LT_PKTAP, &f, f.len, &seg, &at),
                     RD_DECODE_OK);
    check_v6(&seg);
    check_tcp(&seg, &f, at);

    /* no record, an inner DLT we do not take, no nesting, short header */
    put_le32(f.b + 4, 0);
    assert_int_equal(decode_all(LT_PKTAP, &f, &seg), RD_DECODE_SKIP_NOT_IP);
    put_le32(f.b + 4, 1);
    put_le32(f.b + 8, DLT_PPP);
    assert_int_equal(decode_all(LT_PKTAP, &f, &seg), RD_DECODE_BAD_DLT);
    put_le32(f.b + 8, LT_PKTAP);
    assert_int_equal(decode_all(LT_PKTAP, &f, &seg), RD_DECODE_BAD_DLT);
    put_le32(f.b + 8, 0x80000001u);
    assert_int_equal(decode_all(LT_PKTAP, &f, &seg), RD_DECODE_BAD_DLT);
    put_le32(f.b + 8, 12);
    put_le32(f.b, 100);
    assert_int_equal(decode_all(LT_PKTAP, &f, &seg), RD_DECODE_SHORT_LINK);
    put_le32(f.b, 0xffffffffu);
    assert_int_equal(decode_all(LT_PKTAP, &f, &seg), RD_DECODE_SHORT_LINK);
}


/* Every truncation of NFLOG and PKTAP frames, at the guard page. */
static void
test_decode_truncations_nflog_pktap(void **state)
{
    struct frame  f;

    (void) state;
    put_nflog(&f, 2);
    put_ipv4_tcp(&f, NULL, 0, opts_syn, sizeof(opts_syn), 4);
    nflog_fix(&f);
    check_truncations(DLT_NFLOG, &f, 4);

    put_nflog(&f, 10);
    put_ipv6_tcp(&f, 0, ext_hbh_dst, sizeof(ext_hbh_dst), NULL, 0, 4);
    nflog_fix(&f);
    check_truncations(DLT_NFLOG, &f, 6);

    put_pktap(&f, 108, 1, DLT_EN10MB, eth6, sizeof(eth6));
    put_ipv6_tcp(&f, 6, NULL, 0, opts_syn, sizeof(opts_syn), 4);
    check_truncations(LT_PKTAP, &f, 6);

    put_pktap(&f, 108, 1, DLT_NULL, null4_le, sizeof(null4_le));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 4);
    check_truncations(LT_PKTAP, &f, 4);
}


/*
 * Wireless and FDDI link headers.  w80211 describes one 802.11 data
 * frame: its frame control bytes and which optional fields it has.
 */
struct w80211 {
    uint8_t   fc0;                      /* version, type, subtype */
    uint8_t   flags;                    /* To/From DS, Protected, ... */
    uint16_t  seqctl;                   /* fragment number in bits 0-3 */
    uint16_t  qos;                      /* written when subtype is QoS */
};

static const uint8_t  snap_ipv4[8] = {
    0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00
};
static const uint8_t  snap_ipv6[8] = {
    0xaa, 0xaa, 0x03, 0x00, 0x00, 0xf8, 0x86, 0xdd  /* 802.1H tunnel */
};


/* Append an 802.11 MAC header and LLC/SNAP for IP version v to f's link
 * header (f->len == f->link on entry). */
static void
put_80211(struct frame *f, const struct w80211 *w, int v)
{
    uint8_t  *b;
    size_t    n, i;

    b = f->b + f->len;
    b[0] = w->fc0;
    b[1] = w->flags;
    b[2] = 0x2c;                        /* duration */
    b[3] = 0x00;
    for (i = 0; i < 18; i++) {
        b[4 + i] = (uint8_t) (0x10 + i);   /* A1, A2, A3 */
    }
    b[22] = (uint8_t) w->seqctl;
    b[23] = (uint8_t) (w->seqctl >> 8);
    n = 24;
    if ((w->flags & 0x03) == 0x03) {
        memset(b + n, 0x44, 6);         /* A4 */
        n += 6;
    }
    if (w->fc0 & 0x80) {
        b[n] = (uint8_t) w->qos;
        b[n + 1] = (uint8_t) (w->qos >> 8);
        n += 2;
        if (w->flags & 0x80) {
            memset(b + n, 0x77, 4);     /* HT control */
            n += 4;
        }
    }
    memcpy(b + n, v == 4 ? snap_ipv4 : snap_ipv6, 8);
    n += 8;
    f->len += n;
    f->link += n;
}


/* PPI header of total length len (fields zero) for inner DLT dlt. */
static void
put_ppi(struct frame *f, uint16_t len, uint32_t dlt)
{
    uint8_t  h[64];

    assert_true(len <= sizeof(h) && len >= 8);
    memset(h, 0, sizeof(h));
    h[2] = (uint8_t) len;
    h[3] = (uint8_t) (len >> 8);
    put_le32(h + 4, dlt);
    put_link(f, h, len);
}


/* Radiotap header of 12 bytes: TSFT absent, flags (FCS at end) present. */
static void
put_radiotap(struct frame *f)
{
    static const uint8_t  rt[12] = {
        0x00, 0x00, 0x0c, 0x00, 0x02, 0x00, 0x00, 0x00, 0x10, 0, 0, 0
    };

    put_link(f, rt, sizeof(rt));
}


static void
put_ip(struct frame *f, int v)
{
    if (v == 4) {
        put_ipv4_tcp(f, NULL, 0, opts_syn, sizeof(opts_syn), 5);
    } else {
        put_ipv6_tcp(f, 0, ext_hbh_dst, sizeof(ext_hbh_dst), NULL, 0, 5);
    }
}


static void
check_frame_ok(int dlt, const struct frame *f, int v)
{
    struct rd_seg   seg;
    const uint8_t  *at;

    assert_int_equal(decode_cut(dlt, f, f->len, &seg, &at), RD_DECODE_OK);
    check_tcp(&seg, f, at);
    if (v == 4) {
        check_v4(&seg);
    } else {
        check_v6(&seg);
    }
}


/* The frames of these tests: data, QoS data, 4-address, QoS with HT
 * control in the 4-address form. */
static const struct w80211  w_data = { 0x08, 0x01, 0x0010, 0 };
static const struct w80211  w_qos = { 0x88, 0x01, 0x0020, 0x0005 };
static const struct w80211  w_wds = { 0x08, 0x03, 0x0030, 0 };
static const struct w80211  w_qos_wds_htc = { 0x88, 0x83, 0x0040, 0x0000 };


/* 802.11 data frames, bare, in radiotap and in PPI (the http_PPI.pcap
 * shape: PPI + QoS data to the AP): the optional address, QoS and HT
 * control fields are stepped over and LLC/SNAP gives the IP version. */
static void
test_decode_80211_data_frames(void **state)
{
    static const struct w80211  *ws[] = {
        &w_data, &w_qos, &w_wds, &w_qos_wds_htc
    };
    struct frame  f;
    size_t        i;
    int           v;

    (void) state;
    for (i = 0; i < RD_NELEMS(ws); i++) {
        for (v = 4; v <= 6; v += 2) {
            put_link(&f, NULL, 0);
            put_80211(&f, ws[i], v);
            put_ip(&f, v);
            check_frame_ok(DLT_IEEE802_11, &f, v);

            put_ppi(&f, 32, DLT_IEEE802_11);    /* 24 bytes of fields */
            put_80211(&f, ws[i], v);
            put_ip(&f, v);
            check_frame_ok(DLT_PPI, &f, v);

            put_radiotap(&f);
            put_80211(&f, ws[i], v);
            put_ip(&f, v);
            /* a trailing FCS lies past the IP length: trimmed */
            memset(f.b + f.len, 0xfc, 4);
            f.len += 4;
            check_frame_ok(DLT_IEEE802_11_RADIO, &f, v);
            f.len -= 4;

            put_ppi(&f, 8, DLT_IEEE802_11_RADIO);
            f.len = f.link;
            memcpy(f.b + 8, "\x00\x00\x08\x00\x00\x00\x00\x00", 8);
            f.len += 8;
            f.link += 8;
            put_80211(&f, ws[i], v);
            put_ip(&f, v);
            check_frame_ok(DLT_PPI, &f, v);
        }
    }
    /* PPI over Ethernet */
    put_ppi(&f, 8, DLT_EN10MB);
    memcpy(f.b + 8, eth4, sizeof(eth4));
    f.len += sizeof(eth4);
    f.link += sizeof(eth4);
    put_ip(&f, 4);
    check_frame_ok(DLT_PPI, &f, 4);
}


/* What 802.11 carries that is not an IP packet to us: management and
 * control frames (even shorter than a data header), data frames without
 * a body, protected frames, MAC fragments, A-MSDUs, other LLC. */
static void
test_decode_80211_not_ip(void **state)
{
    static const uint8_t  ack[10] = { 0xd4, 0x00, 0, 0, 1, 2, 3, 4, 5, 6 };
    struct frame          f;
    struct rd_seg         seg;
    struct w80211         w;

    (void) state;
    assert_int_equal(decode_both(DLT_IEEE802_11, ack, sizeof(ack),
                                 sizeof(ack), 0, &seg),
                     RD_DECODE_SKIP_NOT_IP);
    assert_int_equal(decode_both(DLT_IEEE802_11, ack, 2, 2, 0, &seg),
                     RD_DECODE_SKIP_NOT_IP);

#define W_CASE(fc0_, flags_, seqctl_, qos_, want)                        \
    do {                                                                 \
        w.fc0 = (fc0_);                                                  \
        w.flags = (flags_);                                              \
        w.seqctl = (seqctl_);                                            \
        w.qos = (qos_);                                                  \
        put_link(&f, NULL, 0);                                           \
        put_80211(&f, &w, 4);                                            \
        put_ip(&f, 4);                                                   \
        assert_int_equal(decode_all(DLT_IEEE802_11, &f, &seg), (want));  \
    } while (0)

    W_CASE(0x08, 0x01, 0, 0, RD_DECODE_OK);
    W_CASE(0x80, 0x00, 0, 0, RD_DECODE_SKIP_NOT_IP);    /* beacon */
    W_CASE(0x09, 0x01, 0, 0, RD_DECODE_SKIP_NOT_IP);    /* version 1 */
    W_CASE(0x0c, 0x01, 0, 0, RD_DECODE_SKIP_NOT_IP);    /* extension */
    W_CASE(0x48, 0x01, 0, 0, RD_DECODE_SKIP_NOT_IP);    /* Null */
    W_CASE(0xc8, 0x01, 0, 0, RD_DECODE_SKIP_NOT_IP);    /* QoS Null */
    W_CASE(0x08, 0x41, 0, 0, RD_DECODE_SKIP_NOT_IP);    /* protected */
    W_CASE(0x88, 0x42, 0, 0, RD_DECODE_SKIP_NOT_IP);
    W_CASE(0x08, 0x05, 0, 0, RD_DECODE_SKIP_FRAGMENT);  /* more frags */
    W_CASE(0x08, 0x01, 0x0011, 0, RD_DECODE_SKIP_FRAGMENT);
    W_CASE(0x88, 0x01, 0, 0x0080, RD_DECODE_SKIP_NOT_IP);  /* A-MSDU */
#undef W_CASE

    /* LLC that is not SNAP (spanning tree), SNAP with ARP or an OUI we
     * do not know */
    put_link(&f, NULL, 0);
    put_80211(&f, &w_data, 4);
    put_ip(&f, 4);
    f.b[24] = 0x42;
    f.b[25] = 0x42;
    assert_int_equal(decode_all(DLT_IEEE802_11, &f, &seg),
                     RD_DECODE_SKIP_NOT_IP);
    f.b[24] = 0xaa;
    f.b[25] = 0xaa;
    f.b[26] = 0x13;
    assert_int_equal(decode_all(DLT_IEEE802_11, &f, &seg),
                     RD_DECODE_SKIP_NOT_IP);
    f.b[26] = 0x03;
    f.b[31] = 0x06;                     /* 0x0806 */
    assert_int_equal(decode_all(DLT_IEEE802_11, &f, &seg),
                     RD_DECODE_SKIP_NOT_IP);
    f.b[31] = 0x00;
    f.b[29] = 0x0c;
    assert_int_equal(decode_all(DLT_IEEE802_11, &f, &seg),
                     RD_DECODE_SKIP_NOT_IP);
    f.b[29] = 0x00;
    assert_int_equal(decode_all(DLT_IEEE802_11, &f, &seg), RD_DECODE_OK);
    /* SNAP says IPv4, the packet is IPv6 */
    put_link(&f, NULL, 0);
    put_80211(&f, &w_data, 4);
    put_ip(&f, 6);
    assert_int_equal(decode_all(DLT_IEEE802_11, &f, &seg),
                     RD_DECODE_BAD_IP_VERSION);
}


/* PPI and radiotap headers that cannot be followed: unknown version,
 * length below the fixed part or past the frame, inner DLTs we do not
 * take, PPI in PPI. */
static void
test_decode_ppi_radiotap_malformed(void **state)
{
    struct frame   f;
    struct rd_seg  seg;

    (void) state;
    put_ppi(&f, 16, DLT_IEEE802_11);
    put_80211(&f, &w_qos, 4);
    put_ip(&f, 4);
    assert_int_equal(decode_all(DLT_PPI, &f, &seg), RD_DECODE_OK);
    f.b[0] = 1;
    assert_int_equal(decode_all(DLT_PPI, &f, &seg), RD_DECODE_SKIP_NOT_IP);
    f.b[0] = 0;
    f.b[2] = 7;
    assert_int_equal(decode_all(DLT_PPI, &f, &seg), RD_DECODE_SHORT_LINK);
    f.b[2] = 0xff;
    f.b[3] = 0xff;
    assert_int_equal(decode_all(DLT_PPI, &f, &seg), RD_DECODE_SHORT_LINK);
    f.b[2] = 16;
    f.b[3] = 0;
    put_le32(f.b + 4, DLT_PPP);
    assert_int_equal(decode_all(DLT_PPI, &f, &seg), RD_DECODE_BAD_DLT);
    put_le32(f.b + 4, DLT_PPI);
    assert_int_equal(decode_all(DLT_PPI, &f, &seg), RD_DECODE_BAD_DLT);
    put_le32(f.b + 4, 0x10000u | DLT_IEEE802_11);
    assert_int_equal(decode_all(DLT_PPI, &f, &seg), RD_DECODE_BAD_DLT);

    put_radiotap(&f);
    put_80211(&f, &w_data, 6);
    put_ip(&f, 6);
    assert_int_equal(decode_all(DLT_IEEE802_11_RADIO, &f, &seg),
                     RD_DECODE_OK);
    f.b[0] = 1;
    assert_int_equal(decode_all(DLT_IEEE802_11_RADIO, &f, &seg),
                     RD_DECODE_SKIP_NOT_IP);
    f.b[0] = 0;
    f.b[2] = 4;
    assert_int_equal(decode_all(DLT_IEEE802_11_RADIO, &f, &seg),
                     RD_DECODE_SHORT_LINK);
    f.b[2] = 0xff;
    f.b[3] = 0xff;
    assert_int_equal(decode_all(DLT_IEEE802_11_RADIO, &f, &seg),
                     RD_DECODE_SHORT_LINK);
}


/* FDDI (the zeek llc.pcap shape): frame control, two addresses, LLC/SNAP;
 * asynchronous and synchronous LLC frames carry IP, SMT and MAC frames
 * do not. */
static void
test_decode_fddi_snap(void **state)
{
    uint8_t        h[13];
    struct frame   f;
    struct rd_seg  seg;
    size_t         i;

    (void) state;
    for (i = 0; i < sizeof(h); i++) {
        h[i] = (uint8_t) (0x20 + i);
    }
    h[0] = 0x50;
    put_link(&f, h, sizeof(h));
    memcpy(f.b + f.len, snap_ipv4, 8);
    f.len += 8;
    f.link += 8;
    put_ip(&f, 4);
    check_frame_ok(DLT_FDDI, &f, 4);
    f.b[0] = 0x57;                      /* async, priority 7 */
    check_frame_ok(DLT_FDDI, &f, 4);
    f.b[0] = 0xd1;                      /* synchronous LLC */
    check_frame_ok(DLT_FDDI, &f, 4);
    f.b[0] = 0x41;                      /* SMT */
    assert_int_equal(decode_all(DLT_FDDI, &f, &seg), RD_DECODE_SKIP_NOT_IP);
    f.b[0] = 0xc2;                      /* MAC frame */
    assert_int_equal(decode_all(DLT_FDDI, &f, &seg), RD_DECODE_SKIP_NOT_IP);
    f.b[0] = 0x50;
    f.b[13] = 0xf0;                     /* NetBIOS SAP */
    assert_int_equal(decode_all(DLT_FDDI, &f, &seg), RD_DECODE_SKIP_NOT_IP);

    put_link(&f, h, sizeof(h));
    memcpy(f.b + f.len, snap_ipv6, 8);
    f.len += 8;
    f.link += 8;
    put_ip(&f, 6);
    check_frame_ok(DLT_FDDI, &f, 6);
}


/* Every truncation of PPI/radiotap/802.11 and FDDI frames, at the guard
 * page: a header cut anywhere is SHORT_LINK, then the IP and TCP
 * layers name their own cuts. */
static void
test_decode_truncations_80211_fddi(void **state)
{
    static const struct w80211  *ws[] = {
        &w_data, &w_qos, &w_wds, &w_qos_wds_htc
    };
    uint8_t       h[13];
    struct frame  f;
    size_t        i;
    int           v;

    (void) state;
    for (i = 0; i < RD_NELEMS(ws); i++) {
        for (v = 4; v <= 6; v += 2) {
            put_ppi(&f, 20, DLT_IEEE802_11);
            put_80211(&f, ws[i], v);
            put_ip(&f, v);
            check_truncations(DLT_PPI, &f, v);

            put_link(&f, NULL, 0);
            put_80211(&f, ws[i], v);
            put_ip(&f, v);
            check_truncations(DLT_IEEE802_11, &f, v);

            put_radiotap(&f);
            put_80211(&f, ws[i], v);
            put_ip(&f, v);
            check_truncations(DLT_IEEE802_11_RADIO, &f, v);
        }
    }

    memset(h, 0x5a, sizeof(h));
    h[0] = 0x50;
    for (v = 4; v <= 6; v += 2) {
        put_link(&f, h, sizeof(h));
        memcpy(f.b + f.len, v == 4 ? snap_ipv4 : snap_ipv6, 8);
        f.len += 8;
        f.link += 8;
        put_ip(&f, v);
        check_truncations(DLT_FDDI, &f, v);
    }
}


/* Linux BIG TCP / TSO: IPv4 total length 0 and IPv6 payload length 0
 * take the IP length from the wire length less the link header; the
 * captured payload stays what the snaplen kept. */
static void
test_decode_big_tcp_length_zero(void **state)
{
    struct frame    f;
    struct rd_seg   seg;
    const uint8_t  *p;

    (void) state;
    put_link(&f, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 100);
    put16(f.b + 14 + 2, 0);
    p = guard_place(f.b, f.len);
    assert_int_equal(decode_both(DLT_EN10MB, p, (uint32_t) f.len, 80066,
                                 T_TS, &seg), RD_DECODE_OK);
    check_v4(&seg);
    assert_int_equal(seg.payload_len, 80066 - 14 - 20 - 20);
    assert_int_equal(seg.payload.len, 100);
    assert_int_equal(decode_all(DLT_EN10MB, &f, &seg), RD_DECODE_OK);
    assert_int_equal(seg.payload_len, 100);

    put_link(&f, sll2_6, sizeof(sll2_6));
    put_ipv6_tcp(&f, 6, NULL, 0, NULL, 0, 100);
    put16(f.b + 20 + 4, 0);
    p = guard_place(f.b, f.len);
    assert_int_equal(decode_both(DLT_LINUX_SLL2, p, (uint32_t) f.len,
                                 185000, T_TS, &seg), RD_DECODE_OK);
    check_v6(&seg);
    assert_int_equal(seg.payload_len, 185000 - 20 - 40 - 20);
    assert_int_equal(seg.payload.len, 100);

    /* behind NFLOG the payload TLV's length is the frame */
    put_nflog(&f, 2);
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 30);
    nflog_fix(&f);
    put16(f.b + 24 + 2, 0);
    put_tlv(f.b + f.len, 8, 11);
    f.len += 8;
    assert_int_equal(decode_all(DLT_NFLOG, &f, &seg), RD_DECODE_OK);
    assert_int_equal(seg.payload_len, 30);

    /* a wire length shorter than the link header is not a length */
    put_link(&f, eth4, sizeof(eth4));
    put_ipv4_tcp(&f, NULL, 0, NULL, 0, 0);
    put16(f.b + 14 + 2, 0);
    assert_int_equal(decode_both(DLT_EN10MB, f.b, 34, 10, T_TS, &seg),
                     RD_DECODE_BAD_IP_LEN);
}


/*
 * The fast path against the general one on the frames it is meant for
 * and on every one-byte corruption of their headers, at every caplen and
 * with a wire length beyond caplen: each corruption either stays on the
 * fast path with the general path's result or falls back to it.  Pins
 * the fast path's shortcuts (one bounds check up front, NOP NOP TS in one
 * compare, no memset of the segment).
 */
static void
test_decode_fast_matches_general(void **state)
{
    static const uint8_t  null4_be[4] = { 0, 0, 0, 2 };
    static const uint8_t  null6_le[4] = { 30, 0, 0, 0 };
    static const uint8_t  sll6[16] = {
        0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0, 1, 2, 3, 4, 5, 0, 0,
        0x86, 0xdd
    };
    static const uint8_t  sll2_4[20] = {
        0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00,
        0x06, 0, 1, 2, 3, 4, 5, 0, 0
    };
    /* NOP NOP TS, then the same with a SACK block after it */
    static const uint8_t  opts_ts[12] = {
        1, 1, 8, 10, 0x71, 0xe7, 0x6e, 0x21, 0, 0, 0x10, 0x01
    };
    static const uint8_t  opts_ts_sack[24] = {
        1, 1, 8, 10, 0x71, 0xe7, 0x6e, 0x21, 0, 0, 0x10, 0x01,
        1, 1, 5, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0
    };
    static const uint8_t  vals[] = { 0x00, 0x01, 0x45, 0x60, 0x7f, 0xff };
    static const struct {
        int             dlt;
        const uint8_t  *link;
        size_t          linklen;
        int             v;
        const uint8_t  *opt;
        size_t          optlen;
    } cases[] = {
        { DLT_EN10MB, eth4, sizeof(eth4), 4, opts_ts, sizeof(opts_ts) },
        { DLT_EN10MB, eth4, sizeof(eth4), 4, opts_syn, sizeof(opts_syn) },
        { DLT_EN10MB, eth4, sizeof(eth4), 4, NULL, 0 },
        { DLT_EN10MB, eth6, sizeof(eth6), 6, opts_ts_sack,
          sizeof(opts_ts_sack) },
        { DLT_LINUX_SLL, sll4, sizeof(sll4), 4, opts_ts, sizeof(opts_ts) },
        { DLT_LINUX_SLL, sll6, sizeof(sll6), 6, NULL, 0 },
        { DLT_LINUX_SLL2, sll2_4, sizeof(sll2_4), 4, opts_ts,
          sizeof(opts_ts) },
        { DLT_LINUX_SLL2, sll2_6, sizeof(sll2_6), 6, opts_syn,
          sizeof(opts_syn) },
        { DLT_NULL, null4_le, sizeof(null4_le), 4, opts_ts, sizeof(opts_ts) },
        { DLT_NULL, null4_be, sizeof(null4_be), 4, NULL, 0 },
        { DLT_NULL, null6_le, sizeof(null6_le), 6, opts_ts, sizeof(opts_ts) },
        { DLT_LOOP, loop4, sizeof(loop4), 4, opts_ts_sack,
          sizeof(opts_ts_sack) },
        { DLT_RAW, NULL, 0, 4, opts_ts, sizeof(opts_ts) },
        { DLT_RAW, NULL, 0, 6, opts_syn, sizeof(opts_syn) },
        { DLT_IPV4, NULL, 0, 6, opts_ts, sizeof(opts_ts) },
        { DLT_IPV6, NULL, 0, 6, opts_ts, sizeof(opts_ts) },
        { LT_PKTAP, NULL, 0, 4, NULL, 0 },
    };
    struct frame            f, m;
    struct rd_seg           seg;
    const uint8_t          *p;
    size_t                  i, pos, v, k, hdr, nok;
    enum rd_decode_status   st;

    (void) state;
    nok = 0;
    for (i = 0; i < RD_NELEMS(cases); i++) {
        put_link(&f, cases[i].link, cases[i].linklen);
        if (cases[i].v == 4) {
            put_ipv4_tcp(&f, NULL, 0, cases[i].opt, cases[i].optlen, 7);
        } else {
            put_ipv6_tcp(&f, 6, NULL, 0, cases[i].opt, cases[i].optlen, 7);
        }
        hdr = f.link + f.ip + f.tcp;

        /* the unmodified frame decodes on every link type but one */
        st = decode_all(cases[i].dlt, &f, &seg);
        if (cases[i].dlt == DLT_IPV4 || cases[i].dlt == LT_PKTAP) {
            assert_int_not_equal(st, RD_DECODE_OK);
        } else {
            assert_int_equal(st, RD_DECODE_OK);
            assert_int_equal(seg.af, cases[i].v);
        }

        for (pos = 0; pos < hdr + 1; pos++) {
            for (v = 0; v <= RD_NELEMS(vals); v++) {
                m = f;
                /* the last round flips the low bit: a near miss */
                m.b[pos] = (v < RD_NELEMS(vals)) ? vals[v]
                                                 : (uint8_t) (f.b[pos] ^ 1);
                for (k = 0; k <= m.len; k++) {
                    if (decode_cut(cases[i].dlt, &m, k, &seg, NULL)
                        == RD_DECODE_OK)
                    {
                        nok++;
                    }
                    p = guard_place(m.b, k);
                    (void) decode_both(cases[i].dlt, p, (uint32_t) k,
                                       (uint32_t) k + 70000, T_TS, &seg);
                }
            }
        }
    }
    /* the corpus reached OK often, so the fast path had work to check */
    assert_true(nok > 10000);
}


/* Every status has its counter name, and the names are the stable ones
 * the JSON schema uses. */
static void
test_decode_status_names(void **state)
{
    int  i;

    (void) state;
    for (i = 0; i < RD_DECODE_NSTATUS; i++) {
        assert_non_null(rd_tok2str(rd_decode_status_names, i, NULL));
    }
    assert_string_equal(rd_tok2str(rd_decode_status_names, RD_DECODE_OK,
                                   NULL), "ok");
    assert_string_equal(rd_tok2str(rd_decode_status_names,
                                   RD_DECODE_SKIP_FRAGMENT, NULL),
                        "fragment");
    assert_string_equal(rd_tok2str(rd_decode_status_names,
                                   RD_DECODE_SHORT_TCP, NULL), "short_tcp");
    assert_string_equal(rd_tok2str(rd_decode_status_names,
                                   RD_DECODE_BAD_TCP_OPT, NULL),
                        "bad_tcp_opt");
    assert_null(rd_tok2str(rd_decode_status_names, RD_DECODE_NSTATUS,
                           NULL));
}


/* Endpoints print as addr:port, IPv6 in brackets, and truncate safely. */
static void
test_decode_ep_format(void **state)
{
    char  buf[RD_EP_STRLEN];
    char  small[8];

    (void) state;
    rd_ep_format(buf, sizeof(buf), 4, v4src, 80);
    assert_string_equal(buf, "192.0.2.1:80");
    rd_ep_format(buf, sizeof(buf), 6, v6dst, 443);
    assert_string_equal(buf, "[2001:db8::2]:443");
    rd_ep_format(buf, sizeof(buf), 0, v6dst, 1);
    assert_string_equal(buf, "?:1");
    rd_ep_format(small, sizeof(small), 4, v4src, 8080);
    assert_string_equal(small, "192.0.2");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_ether_ipv4_fields),
        cmocka_unit_test(test_decode_ether_vlan_peeled),
        cmocka_unit_test(test_decode_ether_qinq_peeled),
        cmocka_unit_test(test_decode_ether_vlan_limit),
        cmocka_unit_test(test_decode_ether_not_ip),
        cmocka_unit_test(test_decode_sll_ipv4),
        cmocka_unit_test(test_decode_sll2_ipv6),
        cmocka_unit_test(test_decode_null_both_byte_orders),
        cmocka_unit_test(test_decode_loop_big_endian),
        cmocka_unit_test(test_decode_raw_ipv4_ipv6),
        cmocka_unit_test(test_decode_dlt_supported),
        cmocka_unit_test(test_decode_null_buffer_short),
        cmocka_unit_test(test_decode_ipv4_options_skipped),
        cmocka_unit_test(test_decode_ipv4_bad_lengths),
        cmocka_unit_test(test_decode_ipv4_fragment_skipped),
        cmocka_unit_test(test_decode_ipv4_not_tcp),
        cmocka_unit_test(test_decode_ipv6_ext_headers_walked),
        cmocka_unit_test(test_decode_ipv6_fragment_header),
        cmocka_unit_test(test_decode_ipv6_ext_malformed),
        cmocka_unit_test(test_decode_tcp_options_all_kinds),
        cmocka_unit_test(test_decode_tcp_options_malformed),
        cmocka_unit_test(test_decode_tcp_options_wrong_length_ignored),
        cmocka_unit_test(test_decode_tcp_bad_hlen),
        cmocka_unit_test(test_decode_ether_padding_trimmed),
        cmocka_unit_test(test_decode_snaplen_cut_payload),
        cmocka_unit_test(test_decode_truncations_ether),
        cmocka_unit_test(test_decode_truncations_vlan),
        cmocka_unit_test(test_decode_truncations_sll),
        cmocka_unit_test(test_decode_truncations_null_loop),
        cmocka_unit_test(test_decode_truncations_raw),
        cmocka_unit_test(test_decode_nflog_ipv4_ipv6),
        cmocka_unit_test(test_decode_nflog_not_ip_and_malformed),
        cmocka_unit_test(test_decode_pktap_inner_frames),
        cmocka_unit_test(test_decode_truncations_nflog_pktap),
        cmocka_unit_test(test_decode_80211_data_frames),
        cmocka_unit_test(test_decode_80211_not_ip),
        cmocka_unit_test(test_decode_ppi_radiotap_malformed),
        cmocka_unit_test(test_decode_fddi_snap),
        cmocka_unit_test(test_decode_truncations_80211_fddi),
        cmocka_unit_test(test_decode_big_tcp_length_zero),
        cmocka_unit_test(test_decode_fast_matches_general),
        cmocka_unit_test(test_decode_status_names),
        cmocka_unit_test(test_decode_ep_format),
    };

    return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
