/*
 * decode: one captured frame -> one neutral TCP segment description.
 *
 * Link layers: Ethernet (+802.1Q/802.1ad/QinQ tags), Linux cooked SLL and
 * SLL2, BSD loopback/NULL (both byte orders) and OpenBSD LOOP, raw IP
 * (DLT_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6), Linux NFLOG, Apple PKTAP
 * (over Ethernet, NULL or raw IP), FDDI with LLC/SNAP, and IEEE 802.11
 * data frames with LLC/SNAP, bare, under radiotap or under PPI (which
 * may also carry Ethernet).  Network: IPv4 with options
 * (fragments are reported, not reassembled) and IPv6 with extension
 * headers.  Transport: TCP with options.
 *
 * Every read is bounds-checked against the captured length; the decoder
 * never reads past caplen and never trusts a length field before checking
 * it.  The decoder keeps no state and allocates nothing: a fuzzer can
 * drive it alone.
 */
#ifndef RD_DECODE_H
#define RD_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "rstdiag/common.h"

/* TCP flag bits as on the wire (RFC 9293 §3.1) */
#define RD_TCP_FIN  0x01
#define RD_TCP_SYN  0x02
#define RD_TCP_RST  0x04
#define RD_TCP_PSH  0x08
#define RD_TCP_ACK  0x10
#define RD_TCP_URG  0x20
#define RD_TCP_ECE  0x40
#define RD_TCP_CWR  0x80

/*
 * Outcome of rd_decode().  RD_DECODE_OK is 0.  The SKIP_* values are
 * packets that are fine but not ours (not IP, not TCP); the others are
 * malformed or truncated packets, counted by reason.
 */
enum rd_decode_status {
    RD_DECODE_OK = 0,
    RD_DECODE_SKIP_NOT_IP,          /* ARP, LLDP, ... */
    RD_DECODE_SKIP_NOT_TCP,         /* UDP, ICMP, ... */
    RD_DECODE_SKIP_FRAGMENT,        /* IPv4/IPv6 fragment: counted, skipped */
    RD_DECODE_BAD_DLT,              /* link type not supported */
    RD_DECODE_SHORT_LINK,           /* caplen shorter than the link header */
    RD_DECODE_BAD_VLAN,             /* more than RD_LIMITS_VLAN_MAX tags */
    RD_DECODE_SHORT_IP,             /* caplen shorter than the IP header */
    RD_DECODE_BAD_IP_VERSION,       /* version nibble != link's claim */
    RD_DECODE_BAD_IPV4_HLEN,        /* IHL < 5 or beyond total length */
    RD_DECODE_BAD_IP_LEN,           /* total/payload length < header */
    RD_DECODE_BAD_IPV6_EXT,         /* extension header chain malformed */
    RD_DECODE_SHORT_TCP,            /* caplen shorter than the TCP header */
    RD_DECODE_BAD_TCP_HLEN,         /* data offset < 5 or beyond segment */
    RD_DECODE_BAD_TCP_OPT,          /* option length field malformed */
    RD_DECODE_NSTATUS
};

/* names for counters and JSON: "not_ip", "short_tcp", ... */
extern const struct rd_tok  rd_decode_status_names[];

/* TCP options we keep (RFC 9293 §3.2, RFC 7323, RFC 2018) */
struct rd_tcp_opts {
    uint16_t        mss;            /* 0 = absent */
    uint8_t         wscale;         /* valid when has_wscale */
    bool            has_wscale;
    bool            sack_perm;
    bool            has_sack;       /* SACK blocks present */
    bool            has_ts;
    uint32_t        tsval;
    uint32_t        tsecr;
};

/*
 * One decoded TCP segment.  Addresses are in network byte order, IPv4 in
 * the first 4 bytes of src/dst (rest zero).  payload points into the
 * caller's packet buffer and is valid only as long as that buffer.
 */
struct rd_seg {
    rd_usec_t       ts;             /* capture timestamp */
    uint8_t         af;             /* 4 or 6 */
    uint8_t         ttl;            /* TTL / hop limit */
    uint16_t        ip_id;          /* IPv4 identification (0 for IPv6) */
    bool            df;             /* IPv4 don't-fragment bit */
    uint8_t         src[16];
    uint8_t         dst[16];
    uint16_t        sport;
    uint16_t        dport;
    uint32_t        seq;
    uint32_t        ack;
    uint8_t         flags;          /* RD_TCP_* */
    uint16_t        win;            /* raw window field, unscaled */
    struct rd_tcp_opts opts;
    uint32_t        payload_len;    /* TCP payload bytes on the wire (from
                                     * the IP length) */
    struct rd_span  payload;        /* captured part: len <= payload_len */
};

/*
 * Decode one frame of link type dlt (a DLT_ value from pcap_datalink()).
 * caplen bytes are readable at p; wirelen is the original length.
 * On RD_DECODE_OK fills *seg (ts is copied from the argument).  Any other
 * return leaves *seg unspecified.  Never reads p[caplen] or beyond.
 */
enum rd_decode_status rd_decode(int dlt, const uint8_t *p, uint32_t caplen,
    uint32_t wirelen, rd_usec_t ts, struct rd_seg *seg);

/*
 * Tests only: rd_decode() without its fast path for the common frame
 * (Ethernet/SLL/NULL/raw, IPv4 without options or IPv6 without extension
 * headers, TCP).  Same contract; the two must agree on every frame.
 */
enum rd_decode_status rd_decode_slow_(int dlt, const uint8_t *p,
    uint32_t caplen, uint32_t wirelen, rd_usec_t ts, struct rd_seg *seg);

/* true when dlt is a link type rd_decode() understands */
bool rd_decode_dlt_supported(int dlt);

/* "1.2.3.4:80" or "[2001:db8::1]:80" into buf (at least RD_EP_STRLEN) */
#define RD_EP_STRLEN 64
void rd_ep_format(char *buf, size_t size, uint8_t af, const uint8_t *addr,
    uint16_t port);

/* The address alone ("1.2.3.4", "2001:db8::1"), for an address with no
 * port (a declaration or a source address). */
void rd_addr_format(char *buf, size_t size, uint8_t af, const uint8_t *addr);

#endif /* RD_DECODE_H */
