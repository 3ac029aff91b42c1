/*
 * decode: link layer -> IPv4/IPv6 -> TCP, one frame at a time.
 *
 * Every read goes through struct rd_cur; no wire struct is ever cast.
 * Two lengths are tracked side by side (p0f, tcpdump):
 *
 *   - the wire length, from the IP length fields: what the sender put on
 *     the wire.  A header that does not fit in it is invalid (BAD_*).
 *   - the captured length, the cursor: min(caplen, wire length), so that
 *     Ethernet padding is trimmed.  A header that does not fit in it was
 *     cut by the snapshot length (SHORT_*).
 *
 * Only the headers must be captured whole; a payload cut by the snaplen
 * is still a good segment (payload.len < payload_len).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <pcap/dlt.h>

#include "rstdiag/common.h"
#include "rstdiag/cur.h"
#include "rstdiag/decode.h"
#include "rstdiag/limits.h"


/* Link header sizes */
#define RD_DECODE_ETH_HLEN        14u
#define RD_DECODE_VLAN_HLEN       4u      /* TCI + inner ethertype */
#define RD_DECODE_SLL_HLEN        16u
#define RD_DECODE_SLL2_HLEN       20u
#define RD_DECODE_NULL_HLEN       4u
#define RD_DECODE_NFLOG_HLEN      4u      /* family, version, resource id */
#define RD_DECODE_NFLOG_TLV_HLEN  4u      /* length, type */
#define RD_DECODE_PKTAP_HLEN      108u    /* sizeof(struct pktap_header) */
#define RD_DECODE_PPI_HLEN        8u      /* version, flags, len, dlt */
#define RD_DECODE_RADIOTAP_HLEN   8u      /* version, pad, len, present */
#define RD_DECODE_FDDI_HLEN       13u     /* frame control, dst, src */
#define RD_DECODE_LLC_SNAP_HLEN   8u      /* DSAP SSAP ctl, OUI, type */

/* Ethertypes (IEEE 802.3, IEEE 802.1Q) */
#define RD_DECODE_ETH_IPV4        0x0800u
#define RD_DECODE_ETH_IPV6        0x86ddu
#define RD_DECODE_ETH_8021Q       0x8100u
#define RD_DECODE_ETH_8021AD      0x88a8u
#define RD_DECODE_ETH_QINQ_OLD    0x9100u /* pre-802.1ad QinQ */

/*
 * Address families in DLT_NULL/DLT_LOOP headers: the capturing machine's
 * AF_ values, not ours.  AF_INET is 2 everywhere; AF_INET6 is 24 on
 * NetBSD/OpenBSD, 28 on FreeBSD and 30 on Darwin (libpcap
 * pcap/bpf.h, tcpdump af.h).
 */
#define RD_DECODE_BSD_AF_INET     2u
#define RD_DECODE_BSD_AF_INET6_N  24u
#define RD_DECODE_BSD_AF_INET6_F  28u
#define RD_DECODE_BSD_AF_INET6_D  30u

/* LINKTYPE_RAW as stored in files; libpcap maps it to DLT_RAW */
#define RD_DECODE_LINKTYPE_RAW    101

#ifndef DLT_IPV4
#define DLT_IPV4                  228
#endif
#ifndef DLT_NFLOG
#define DLT_NFLOG                 239
#endif

/*
 * LINKTYPE_PKTAP as stored in files, on every OS (libpcap pcap/dlt.h).
 * On Darwin DLT_PKTAP is DLT_USER2 (149) and libpcap maps 258 to it.
 */
#define RD_DECODE_LINKTYPE_PKTAP  258

/*
 * Linux NFLOG (libpcap pcap/nflog.h, tcpdump print-nflog.c): a 4-byte
 * header, then netlink TLVs padded to 4 bytes whose length (header
 * included) and type are in the capturing host's byte order, which
 * libpcap converts to ours when it reads the file.  NFULA_PAYLOAD holds
 * the IP packet.  The family byte is Linux's AF_ value.
 */
#define RD_DECODE_NFLOG_VERSION   0u
#define RD_DECODE_NFLOG_PAYLOAD   9u
#define RD_DECODE_NFLA_TYPE_MASK  0x3fffu /* drops NLA_F_NESTED, BYTEORDER */
#define RD_DECODE_LINUX_AF_INET   2u
#define RD_DECODE_LINUX_AF_INET6  10u

/*
 * IEEE 802.2 LLC with a SNAP header (RFC 1042, IEEE 802-2014 sec. 10.3):
 * DSAP 0xaa, SSAP 0xaa, UI control 0x03, then a 3-byte OUI and an
 * ethertype.  OUI 00-00-00 is RFC 1042 encapsulation, 00-00-f8 the
 * 802.1H bridge tunnel; both carry an ethertype.
 */
#define RD_DECODE_LLC_SNAP_SAP    0xaau
#define RD_DECODE_LLC_UI          0x03u
#define RD_DECODE_OUI_RFC1042     0x000000u
#define RD_DECODE_OUI_BRIDGE      0x0000f8u

/*
 * FDDI (ANSI X3.139, tcpdump print-fddi.c): the frame control byte's
 * class/format bits say LLC, asynchronous or synchronous; the others
 * (SMT, MAC, tokens, void) carry no IP.  Bit-swapped addresses
 * ("fddi-swapped") do not matter here: they are skipped.
 */
#define RD_DECODE_FDDI_FC_CLFF    0xf0u
#define RD_DECODE_FDDI_FC_ASYNC   0x50u
#define RD_DECODE_FDDI_FC_SYNC    0xd0u

/*
 * IEEE 802.11 MAC header (IEEE 802.11-2020 sec. 9.2.3, 9.2.4.1, 9.3.2.1).
 * Frame control, little-endian: bits 0-1 protocol version, 2-3 type,
 * 4-7 subtype; then the flag byte.  Data frames: 24 bytes (frame control,
 * duration, three addresses, sequence control), a fourth address when
 * both To DS and From DS are set (a WDS/mesh link), a 2-byte QoS control
 * in QoS subtypes (bit 3 of the subtype), and a 4-byte HT control when a
 * QoS frame has the +HTC/Order bit.  Subtypes with bit 2 set (Null,
 * QoS Null, CF-Ack/Poll without data) have no body.
 */
#define RD_DECODE_80211_HLEN      24u
#define RD_DECODE_80211_ADDR_LEN  6u
#define RD_DECODE_80211_QOS_LEN   2u
#define RD_DECODE_80211_HTC_LEN   4u
#define RD_DECODE_80211_TYPE_DATA 2u
#define RD_DECODE_80211_ST_NODATA 0x04u
#define RD_DECODE_80211_ST_QOS    0x08u
#define RD_DECODE_80211_TO_DS     0x01u
#define RD_DECODE_80211_FROM_DS   0x02u
#define RD_DECODE_80211_MORE_FRAG 0x04u
#define RD_DECODE_80211_PROTECTED 0x40u
#define RD_DECODE_80211_ORDER     0x80u
#define RD_DECODE_80211_FRAG_MASK 0x000fu /* of sequence control */
#define RD_DECODE_80211_AMSDU     0x0080u /* of QoS control */

/* Apple PKTAP (libpcap pcap/pktap.h): record types */
#define RD_DECODE_PKTAP_REC_PACKET 1u
#ifndef DLT_IPV6
#define DLT_IPV6                  229
#endif

/* IP (RFC 791, RFC 8200) */
#define RD_DECODE_IPV4_HLEN       20u
#define RD_DECODE_IPV6_HLEN       40u
#define RD_DECODE_IPV4_MF         0x2000u
#define RD_DECODE_IPV4_DF         0x4000u
#define RD_DECODE_IPV4_OFFMASK    0x1fffu
#define RD_DECODE_PROTO_HOPOPTS   0
#define RD_DECODE_PROTO_TCP       6
#define RD_DECODE_PROTO_ROUTING   43
#define RD_DECODE_PROTO_FRAGMENT  44
#define RD_DECODE_PROTO_ESP       50
#define RD_DECODE_PROTO_AH        51
#define RD_DECODE_PROTO_NONE      59
#define RD_DECODE_PROTO_DSTOPTS   60
#define RD_DECODE_IPV6_FRAG_HLEN  8u
#define RD_DECODE_IPV6_FRAG_OFF   0xfff8u
#define RD_DECODE_IPV6_FRAG_M     0x0001u

/* TCP (RFC 9293 sec. 3.1, sec. 3.2; RFC 7323; RFC 2018) */
#define RD_DECODE_TCP_HLEN        20u
#define RD_DECODE_TCPOPT_EOL      0
#define RD_DECODE_TCPOPT_NOP      1
#define RD_DECODE_TCPOPT_MSS      2
#define RD_DECODE_TCPOPT_WS       3
#define RD_DECODE_TCPOPT_SACKOK   4
#define RD_DECODE_TCPOPT_SACK     5
#define RD_DECODE_TCPOPT_TS       8

/* Fast path: a link header, then IPv4 and TCP without options */
#define RD_DECODE_FAST_MIN(link)  \
    ((link) + RD_DECODE_IPV4_HLEN + RD_DECODE_TCP_HLEN)


const struct rd_tok  rd_decode_status_names[] = {
    { RD_DECODE_OK,               "ok" },
    { RD_DECODE_SKIP_NOT_IP,      "not_ip" },
    { RD_DECODE_SKIP_NOT_TCP,     "not_tcp" },
    { RD_DECODE_SKIP_FRAGMENT,    "fragment" },
    { RD_DECODE_BAD_DLT,          "bad_dlt" },
    { RD_DECODE_SHORT_LINK,       "short_link" },
    { RD_DECODE_BAD_VLAN,         "bad_vlan" },
    { RD_DECODE_SHORT_IP,         "short_ip" },
    { RD_DECODE_BAD_IP_VERSION,   "bad_ip_version" },
    { RD_DECODE_BAD_IPV4_HLEN,    "bad_ipv4_hlen" },
    { RD_DECODE_BAD_IP_LEN,       "bad_ip_len" },
    { RD_DECODE_BAD_IPV6_EXT,     "bad_ipv6_ext" },
    { RD_DECODE_SHORT_TCP,        "short_tcp" },
    { RD_DECODE_BAD_TCP_HLEN,     "bad_tcp_hlen" },
    { RD_DECODE_BAD_TCP_OPT,      "bad_tcp_opt" },
    { 0, NULL }
};


static bool
dlt_is_raw(int dlt)
{
    /*
     * DLT_RAW is 12 on most systems and 14 on OpenBSD, whose DLT_LOOP is
     * 12; 14 is DLT_PPP_BSDOS on NetBSD/FreeBSD.  A value that is
     * DLT_LOOP or DLT_PPP_BSDOS on this system is never taken as raw.
     */
    if (dlt == DLT_LOOP) {
        return false;
    }
#ifdef DLT_PPP_BSDOS
    if (dlt == DLT_PPP_BSDOS) {
        return false;
    }
#endif
    return dlt == DLT_RAW || dlt == 12 || dlt == 14
           || dlt == RD_DECODE_LINKTYPE_RAW;
}


static bool
dlt_is_pktap(int dlt)
{
    return dlt == RD_DECODE_LINKTYPE_PKTAP || dlt == DLT_PKTAP;
}


bool
rd_decode_dlt_supported(int dlt)
{
    return dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL
           || dlt == DLT_LINUX_SLL2 || dlt == DLT_NULL || dlt == DLT_LOOP
           || dlt == DLT_IPV4 || dlt == DLT_IPV6 || dlt == DLT_NFLOG
           || dlt == DLT_FDDI || dlt == DLT_IEEE802_11
           || dlt == DLT_IEEE802_11_RADIO || dlt == DLT_PPI
           || dlt_is_pktap(dlt) || dlt_is_raw(dlt);
}


/* IP version (4 or 6) carried by an ethertype, 0 when not IP. */
static unsigned
ethertype_version(uint16_t type)
{
    switch (type) {
    case RD_DECODE_ETH_IPV4:
        return 4;
    case RD_DECODE_ETH_IPV6:
        return 6;
    default:
        return 0;
    }
}


/* IP version carried by a BSD AF_ value, 0 when not IP. */
static unsigned
bsd_af_version(uint32_t af)
{
    switch (af) {
    case RD_DECODE_BSD_AF_INET:
        return 4;
    case RD_DECODE_BSD_AF_INET6_N:
    case RD_DECODE_BSD_AF_INET6_F:
    case RD_DECODE_BSD_AF_INET6_D:
        return 6;
    default:
        return 0;
    }
}


/*
 * IP version of a DLT_NULL header read little-endian.  The AF_ value is
 * in the capturing host's byte order, which the file does not record;
 * AF_ values are small, so a value with its upper half set was written
 * by the other byte order (libpcap, tcpdump print-null.c).
 */
static unsigned
null_af_version(uint32_t af)
{
    if (af & 0xffff0000u) {
        af = (af >> 24) | ((af >> 8) & 0xff00u)
             | ((af << 8) & 0xff0000u) | (af << 24);
    }
    return bsd_af_version(af);
}


/*
 * Ethernet II with up to RD_LIMITS_VLAN_MAX 802.1Q/802.1ad tags (IEEE
 * 802.1Q sec. 9.5).  802.3 length frames (type <= 1500, LLC) are not IP.
 */
static enum rd_decode_status
decode_ether(struct rd_cur *c, unsigned *ver)
{
    unsigned  tags;
    uint16_t  type;

    if (!rd_cur_has(c, RD_DECODE_ETH_HLEN)) {
        return RD_DECODE_SHORT_LINK;
    }
    rd_cur_skip(c, 12);                     /* destination, source MAC */
    type = rd_cur_be16(c);

    for (tags = 0; type == RD_DECODE_ETH_8021Q
                   || type == RD_DECODE_ETH_8021AD
                   || type == RD_DECODE_ETH_QINQ_OLD; tags++)
    {
        if (tags == RD_LIMITS_VLAN_MAX) {
            return RD_DECODE_BAD_VLAN;
        }
        /* a tag cut by the snaplen is truncation, not a bad tag */
        if (!rd_cur_has(c, RD_DECODE_VLAN_HLEN)) {
            return RD_DECODE_SHORT_LINK;
        }
        rd_cur_skip(c, 2);                  /* PCP, DEI, VID */
        type = rd_cur_be16(c);
    }

    *ver = ethertype_version(type);
    return *ver ? RD_DECODE_OK : RD_DECODE_SKIP_NOT_IP;
}


/*
 * Restrict the cursor to the first wire bytes: trims Ethernet padding
 * and anything else past the IP length (p0f, RFC 1122 sec. 3.3.2 padding).
 */
static void
clamp_cursor(struct rd_cur *c, uint32_t wire)
{
    if (rd_cur_left(c) > wire) {
        c->end = c->p + wire;
    }
}


/* 16 bits in this host's byte order (NFLOG TLVs). */
static uint16_t
cur_he16(struct rd_cur *c)
{
    uint16_t  v;

    v = 0;
    if (rd_cur_has(c, 2)) {
        memcpy(&v, c->p, 2);
        c->p += 2;
    }
    return v;
}


/*
 * Linux NFLOG: the header, then TLVs up to NFULA_PAYLOAD, whose value is
 * the IP packet; *lim is its length.  Other TLVs must be captured whole
 * (with their padding) to be stepped over.  A TLV length below its own
 * header cannot be framed: there is no "bad link" status, so it counts
 * as a link header we could not read (SHORT_LINK), as does a frame cut
 * before the payload TLV.
 */
static enum rd_decode_status
decode_nflog(struct rd_cur *c, bool cut, unsigned *ver, uint32_t *lim)
{
    uint8_t   family, version;
    uint16_t  len, type;
    uint32_t  size;

    if (!rd_cur_has(c, RD_DECODE_NFLOG_HLEN)) {
        return RD_DECODE_SHORT_LINK;
    }
    family = rd_cur_u8(c);
    version = rd_cur_u8(c);
    rd_cur_skip(c, 2);                      /* resource id */

    if (version != RD_DECODE_NFLOG_VERSION) {
        return RD_DECODE_SKIP_NOT_IP;
    }
    if (family == RD_DECODE_LINUX_AF_INET) {
        *ver = 4;
    } else if (family == RD_DECODE_LINUX_AF_INET6) {
        *ver = 6;
    } else {
        return RD_DECODE_SKIP_NOT_IP;
    }

    /* every TLV takes at least 4 bytes: at most caplen / 4 rounds */
    while (rd_cur_left(c) > 0) {
        if (!rd_cur_has(c, RD_DECODE_NFLOG_TLV_HLEN)) {
            return RD_DECODE_SHORT_LINK;
        }
        len = cur_he16(c);
        type = cur_he16(c);
        if (len < RD_DECODE_NFLOG_TLV_HLEN) {
            return RD_DECODE_SHORT_LINK;
        }
        size = (uint32_t) len - RD_DECODE_NFLOG_TLV_HLEN;

        if ((type & RD_DECODE_NFLA_TYPE_MASK) == RD_DECODE_NFLOG_PAYLOAD) {
            /* its value may be cut by the snaplen: the IP layer says */
            *lim = size;
            clamp_cursor(c, size);
            return RD_DECODE_OK;
        }

        size = (size + 3u) & ~3u;           /* NFA_ALIGN */
        if (!rd_cur_has(c, size)) {
            return RD_DECODE_SHORT_LINK;
        }
        rd_cur_skip(c, size);
    }

    /* no payload TLV: cut off, or a log record without the packet */
    return cut ? RD_DECODE_SHORT_LINK : RD_DECODE_SKIP_NOT_IP;
}


static enum rd_decode_status decode_link(int dlt, struct rd_cur *c, bool cut,
    unsigned *ver, uint32_t *lim);


/*
 * LLC/SNAP (see RD_DECODE_LLC_SNAP_SAP): leaves the cursor after the
 * ethertype.  Other LLC frames (spanning tree, NetBIOS, IPX) are not IP.
 */
static enum rd_decode_status
decode_llc_snap(struct rd_cur *c, unsigned *ver)
{
    uint8_t   dsap, ssap, ctl;
    uint32_t  oui;
    uint16_t  type;

    if (!rd_cur_has(c, RD_DECODE_LLC_SNAP_HLEN)) {
        return RD_DECODE_SHORT_LINK;
    }
    dsap = rd_cur_u8(c);
    ssap = rd_cur_u8(c);
    ctl = rd_cur_u8(c);
    oui = (uint32_t) rd_cur_u8(c) << 16;
    oui |= rd_cur_be16(c);
    type = rd_cur_be16(c);
    if (dsap != RD_DECODE_LLC_SNAP_SAP || ssap != RD_DECODE_LLC_SNAP_SAP
        || ctl != RD_DECODE_LLC_UI
        || (oui != RD_DECODE_OUI_RFC1042 && oui != RD_DECODE_OUI_BRIDGE))
    {
        return RD_DECODE_SKIP_NOT_IP;
    }
    *ver = ethertype_version(type);
    return *ver ? RD_DECODE_OK : RD_DECODE_SKIP_NOT_IP;
}


/* FDDI: frame control, 6-byte destination, 6-byte source, LLC. */
static enum rd_decode_status
decode_fddi(struct rd_cur *c, unsigned *ver)
{
    uint8_t  fc;

    if (!rd_cur_has(c, RD_DECODE_FDDI_HLEN)) {
        return RD_DECODE_SHORT_LINK;
    }
    fc = rd_cur_u8(c);
    rd_cur_skip(c, 12);                     /* destination, source */
    if ((fc & RD_DECODE_FDDI_FC_CLFF) != RD_DECODE_FDDI_FC_ASYNC
        && (fc & RD_DECODE_FDDI_FC_CLFF) != RD_DECODE_FDDI_FC_SYNC)
    {
        return RD_DECODE_SKIP_NOT_IP;
    }
    return decode_llc_snap(c, ver);
}


/*
 * IEEE 802.11 (see RD_DECODE_80211_HLEN), no radio header.  The frame
 * type is read before the header is required whole: control frames are
 * shorter than 24 bytes and are not IP, not truncated.  Management and
 * control frames, data frames without a body, protected (WEP/TKIP/CCMP)
 * frames and A-MSDUs are not IP to us; MAC fragments are fragments.  A
 * trailing FCS, when the radio header says there is one, lies beyond the
 * IP length and is trimmed with the rest.
 */
static enum rd_decode_status
decode_80211(struct rd_cur *c, unsigned *ver)
{
    uint8_t   fc0, flags, type, subtype;
    uint16_t  seqctl, qos;
    size_t    hlen;
    bool      four;                         /* four-address form */

    if (!rd_cur_has(c, 2)) {
        return RD_DECODE_SHORT_LINK;
    }
    fc0 = rd_cur_u8(c);
    flags = rd_cur_u8(c);
    type = (uint8_t) ((fc0 >> 2) & 0x03u);
    subtype = (uint8_t) (fc0 >> 4);
    if ((fc0 & 0x03u) != 0 || type != RD_DECODE_80211_TYPE_DATA
        || (subtype & RD_DECODE_80211_ST_NODATA)
        || (flags & RD_DECODE_80211_PROTECTED))
    {
        return RD_DECODE_SKIP_NOT_IP;
    }

    four = (flags & RD_DECODE_80211_TO_DS) && (flags & RD_DECODE_80211_FROM_DS);
    hlen = RD_DECODE_80211_HLEN + (four ? RD_DECODE_80211_ADDR_LEN : 0);
    if (subtype & RD_DECODE_80211_ST_QOS) {
        hlen += RD_DECODE_80211_QOS_LEN;
        if (flags & RD_DECODE_80211_ORDER) {
            hlen += RD_DECODE_80211_HTC_LEN;
        }
    }
    if (!rd_cur_has(c, hlen - 2)) {
        return RD_DECODE_SHORT_LINK;
    }
    rd_cur_skip(c, 2 + 3 * RD_DECODE_80211_ADDR_LEN);   /* duration, A1-3 */
    seqctl = rd_cur_le16(c);
    if (four) {
        rd_cur_skip(c, RD_DECODE_80211_ADDR_LEN);       /* A4 */
    }
    qos = 0;
    if (subtype & RD_DECODE_80211_ST_QOS) {
        qos = rd_cur_le16(c);
        if (flags & RD_DECODE_80211_ORDER) {
            rd_cur_skip(c, RD_DECODE_80211_HTC_LEN);
        }
    }
    if ((flags & RD_DECODE_80211_MORE_FRAG)
        || (seqctl & RD_DECODE_80211_FRAG_MASK))
    {
        return RD_DECODE_SKIP_FRAGMENT;
    }
    if (qos & RD_DECODE_80211_AMSDU) {
        return RD_DECODE_SKIP_NOT_IP;
    }
    return decode_llc_snap(c, ver);
}


/*
 * Radiotap (radiotap.org, libpcap pcap/ieee80211_radiotap.h): version 0,
 * a pad byte, the little-endian length of the whole radio header, then
 * fields we do not need; 802.11 follows.
 */
static enum rd_decode_status
decode_radiotap(struct rd_cur *c, unsigned *ver)
{
    uint8_t   version;
    uint16_t  len;

    if (!rd_cur_has(c, RD_DECODE_RADIOTAP_HLEN)) {
        return RD_DECODE_SHORT_LINK;
    }
    version = rd_cur_u8(c);
    rd_cur_skip(c, 1);
    len = rd_cur_le16(c);
    if (version != 0) {
        return RD_DECODE_SKIP_NOT_IP;
    }
    /* a length below the fixed part is invalid; see decode_nflog() */
    if (len < RD_DECODE_RADIOTAP_HLEN || !rd_cur_has(c, len - 4u)) {
        return RD_DECODE_SHORT_LINK;
    }
    rd_cur_skip(c, len - 4u);
    return decode_80211(c, ver);
}


/*
 * CACE Per-Packet Information (libpcap pcap/ppi.h, PPI spec 1.0.10):
 * version 0, flags, the little-endian length of the whole PPI header
 * (its TLV fields included), the little-endian DLT of the frame that
 * follows.  The fields (802.11-Common, GPS, ...) are stepped over.  The
 * inner frame is 802.11, with or without radiotap, or Ethernet; PPI in
 * PPI is refused.
 */
static enum rd_decode_status
decode_ppi(struct rd_cur *c, unsigned *ver)
{
    uint8_t   version;
    uint16_t  len;
    uint32_t  inner;

    if (!rd_cur_has(c, RD_DECODE_PPI_HLEN)) {
        return RD_DECODE_SHORT_LINK;
    }
    version = rd_cur_u8(c);
    rd_cur_skip(c, 1);                      /* flags: alignment only */
    len = rd_cur_le16(c);
    inner = rd_cur_le32(c);
    if (version != 0) {
        return RD_DECODE_SKIP_NOT_IP;
    }
    if (len < RD_DECODE_PPI_HLEN
        || !rd_cur_has(c, len - RD_DECODE_PPI_HLEN))
    {
        return RD_DECODE_SHORT_LINK;
    }
    rd_cur_skip(c, len - RD_DECODE_PPI_HLEN);

    switch (inner) {
    case DLT_IEEE802_11:
        return decode_80211(c, ver);
    case DLT_IEEE802_11_RADIO:
        return decode_radiotap(c, ver);
    case DLT_EN10MB:
        return decode_ether(c, ver);
    default:
        return RD_DECODE_BAD_DLT;
    }
}


/*
 * Apple PKTAP (libpcap pcap/pktap.h, tcpdump print-pktap.c): a
 * little-endian header whose first word is its own length, the second
 * the record type and the third the inner frame's DLT.  Only packet
 * records over Ethernet, NULL or raw IP are decoded (no nesting).
 */
static enum rd_decode_status
decode_pktap(struct rd_cur *c, bool cut, unsigned *ver, uint32_t *lim)
{
    uint32_t  hlen, rectype, inner;
    int       idlt;

    if (!rd_cur_has(c, RD_DECODE_PKTAP_HLEN)) {
        return RD_DECODE_SHORT_LINK;
    }
    hlen = rd_cur_le32(c);
    rectype = rd_cur_le32(c);
    inner = rd_cur_le32(c);
    /* a header shorter than the struct is invalid; see decode_nflog() */
    if (hlen < RD_DECODE_PKTAP_HLEN || !rd_cur_has(c, hlen - 12)) {
        return RD_DECODE_SHORT_LINK;
    }
    rd_cur_skip(c, hlen - 12);

    if (rectype != RD_DECODE_PKTAP_REC_PACKET) {
        return RD_DECODE_SKIP_NOT_IP;
    }
    if (inner > 0xffffu) {
        return RD_DECODE_BAD_DLT;
    }
    idlt = (int) inner;
    if (idlt != DLT_EN10MB && idlt != DLT_NULL && !dlt_is_raw(idlt)) {
        return RD_DECODE_BAD_DLT;
    }
    return decode_link(idlt, c, cut, ver, lim);
}


/*
 * Link layer: leaves the cursor at the IP header and sets *ver to the IP
 * version the link claims (0: raw IP, the version nibble decides).  cut
 * says the snaplen shortened the frame; *lim is lowered when the link
 * header bounds the IP packet (NFLOG's payload TLV).
 */
static enum rd_decode_status
decode_link(int dlt, struct rd_cur *c, bool cut, unsigned *ver,
    uint32_t *lim)
{
    uint32_t  af;
    uint16_t  type;

    *ver = 0;

    if (dlt == DLT_EN10MB) {
        return decode_ether(c, ver);
    }

    if (dlt == DLT_NFLOG) {
        return decode_nflog(c, cut, ver, lim);
    }

    if (dlt_is_pktap(dlt)) {
        return decode_pktap(c, cut, ver, lim);
    }

    if (dlt == DLT_PPI) {
        return decode_ppi(c, ver);
    }

    if (dlt == DLT_IEEE802_11) {
        return decode_80211(c, ver);
    }

    if (dlt == DLT_IEEE802_11_RADIO) {
        return decode_radiotap(c, ver);
    }

    if (dlt == DLT_FDDI) {
        return decode_fddi(c, ver);
    }

    if (dlt == DLT_LINUX_SLL) {
        /* packet type, ARPHRD, addr len, 8-byte addr, protocol */
        if (!rd_cur_has(c, RD_DECODE_SLL_HLEN)) {
            return RD_DECODE_SHORT_LINK;
        }
        rd_cur_skip(c, 14);
        type = rd_cur_be16(c);
        *ver = ethertype_version(type);
        return *ver ? RD_DECODE_OK : RD_DECODE_SKIP_NOT_IP;
    }

    if (dlt == DLT_LINUX_SLL2) {
        /* protocol, reserved, ifindex, ARPHRD, type, addr len, addr */
        if (!rd_cur_has(c, RD_DECODE_SLL2_HLEN)) {
            return RD_DECODE_SHORT_LINK;
        }
        type = rd_cur_be16(c);
        rd_cur_skip(c, RD_DECODE_SLL2_HLEN - 2);
        *ver = ethertype_version(type);
        return *ver ? RD_DECODE_OK : RD_DECODE_SKIP_NOT_IP;
    }

    if (dlt == DLT_NULL) {
        /* the AF_ value is in the capturing host's byte order */
        if (!rd_cur_has(c, RD_DECODE_NULL_HLEN)) {
            return RD_DECODE_SHORT_LINK;
        }
        af = rd_cur_le32(c);
        *ver = null_af_version(af);
        return *ver ? RD_DECODE_OK : RD_DECODE_SKIP_NOT_IP;
    }

    if (dlt == DLT_LOOP) {
        /* like DLT_NULL, but the AF_ value is always big-endian */
        if (!rd_cur_has(c, RD_DECODE_NULL_HLEN)) {
            return RD_DECODE_SHORT_LINK;
        }
        af = rd_cur_be32(c);
        *ver = bsd_af_version(af);
        return *ver ? RD_DECODE_OK : RD_DECODE_SKIP_NOT_IP;
    }

    if (dlt == DLT_IPV4) {
        *ver = 4;
        return RD_DECODE_OK;
    }

    if (dlt == DLT_IPV6) {
        *ver = 6;
        return RD_DECODE_OK;
    }

    if (dlt_is_raw(dlt)) {
        return RD_DECODE_OK;
    }

    return RD_DECODE_BAD_DLT;
}


/*
 * IPv4 header (RFC 791 sec. 3.1).  On OK the cursor covers exactly the
 * captured part of the IP payload and *wire is the IP payload length.
 */
static enum rd_decode_status
decode_ipv4(struct rd_cur *c, uint32_t ipwire, struct rd_seg *seg,
    uint32_t *wire)
{
    uint8_t         b0, proto;
    uint16_t        frag;
    uint32_t        hlen, total;
    struct rd_span  src, dst;

    if (!rd_cur_has(c, 1)) {
        return RD_DECODE_SHORT_IP;
    }
    b0 = rd_cur_u8(c);
    hlen = (uint32_t) (b0 & 0x0f) * 4;
    if (hlen < RD_DECODE_IPV4_HLEN) {
        return RD_DECODE_BAD_IPV4_HLEN;
    }
    if (!rd_cur_has(c, RD_DECODE_IPV4_HLEN - 1)) {
        return RD_DECODE_SHORT_IP;
    }

    rd_cur_skip(c, 1);                      /* DSCP, ECN */
    total = rd_cur_be16(c);
    seg->ip_id = rd_cur_be16(c);
    frag = rd_cur_be16(c);
    seg->ttl = rd_cur_u8(c);
    proto = rd_cur_u8(c);
    rd_cur_skip(c, 2);                      /* checksum: not verified, a
                                             * capture host with checksum
                                             * offload writes garbage */
    src = rd_cur_span(c, 4);
    dst = rd_cur_span(c, 4);
    if (c->err) {
        return RD_DECODE_SHORT_IP;
    }

    /*
     * Linux BIG TCP and TSO (packets seen before segmentation) write
     * total length 0 for datagrams over 64 KiB; like Wireshark, take the
     * length of the frame from the IP header on instead.
     */
    if (total == 0 && ipwire > hlen) {
        total = ipwire;
    }

    /*
     * The total length covers the header; a header longer than the
     * datagram is a bad IHL, a datagram shorter than any header a bad
     * length.
     */
    if (total < RD_DECODE_IPV4_HLEN) {
        return RD_DECODE_BAD_IP_LEN;
    }
    if (total < hlen) {
        return RD_DECODE_BAD_IPV4_HLEN;
    }

    /* options: only skipped, nothing we use lives there */
    rd_cur_skip(c, hlen - RD_DECODE_IPV4_HLEN);
    if (c->err) {
        return RD_DECODE_SHORT_IP;
    }

    seg->af = 4;
    seg->df = (frag & RD_DECODE_IPV4_DF) != 0;
    memcpy(seg->src, src.p, 4);
    memcpy(seg->dst, dst.p, 4);

    /* fragments are counted, not reassembled (RFC 791 sec. 3.2) */
    if ((frag & RD_DECODE_IPV4_MF) || (frag & RD_DECODE_IPV4_OFFMASK)) {
        return RD_DECODE_SKIP_FRAGMENT;
    }
    if (proto != RD_DECODE_PROTO_TCP) {
        return RD_DECODE_SKIP_NOT_TCP;
    }

    *wire = total - hlen;
    clamp_cursor(c, *wire);
    return RD_DECODE_OK;
}


/*
 * IPv6 header and extension-header chain (RFC 8200 sec. 3, sec. 4).  On OK the
 * cursor is at the TCP header, bounded by the captured part of the
 * payload, and *wire is the number of wire bytes left from there.
 */
static enum rd_decode_status
decode_ipv6(struct rd_cur *c, uint32_t ipwire, struct rd_seg *seg,
    uint32_t *wire)
{
    uint8_t         nh, cur, len;
    uint16_t        plen, fragoff;
    uint32_t        rem, hlen;
    unsigned        n;
    struct rd_span  src, dst;

    if (!rd_cur_has(c, RD_DECODE_IPV6_HLEN)) {
        return RD_DECODE_SHORT_IP;
    }
    rd_cur_skip(c, 4);                      /* version, class, flow */
    plen = rd_cur_be16(c);
    nh = rd_cur_u8(c);
    seg->ttl = rd_cur_u8(c);
    src = rd_cur_span(c, 16);
    dst = rd_cur_span(c, 16);
    if (c->err) {
        return RD_DECODE_SHORT_IP;
    }

    seg->af = 6;
    seg->ip_id = 0;
    seg->df = false;
    memcpy(seg->src, src.p, 16);
    memcpy(seg->dst, dst.p, 16);

    /*
     * Payload length 0 announces a jumbogram (RFC 2675); Linux BIG TCP
     * also writes 0 without the jumbo option.  Either way the frame
     * length after the IPv6 header is the payload length (a jumbo
     * option's value is not cross-checked).
     */
    if (plen == 0) {
        if (ipwire <= RD_DECODE_IPV6_HLEN) {
            return RD_DECODE_BAD_IP_LEN;
        }
        rem = ipwire - RD_DECODE_IPV6_HLEN;
    } else {
        rem = plen;
    }
    clamp_cursor(c, rem);

    for (n = 0; nh != RD_DECODE_PROTO_TCP; n++) {
        cur = nh;

        switch (cur) {
        case RD_DECODE_PROTO_HOPOPTS:
        case RD_DECODE_PROTO_ROUTING:
        case RD_DECODE_PROTO_DSTOPTS:
        case RD_DECODE_PROTO_FRAGMENT:
        case RD_DECODE_PROTO_AH:
            break;
        default:
            /* ESP (50), no next header (59), UDP, ICMPv6, ... */
            return RD_DECODE_SKIP_NOT_TCP;
        }

        if (n == RD_LIMITS_IPV6_EXT_MAX) {
            return RD_DECODE_BAD_IPV6_EXT;
        }
        /* RFC 8200 sec. 4.3: hop-by-hop only right after the IPv6 header */
        if (cur == RD_DECODE_PROTO_HOPOPTS && n != 0) {
            return RD_DECODE_BAD_IPV6_EXT;
        }

        /* every extension header starts with next header + length */
        if (rem < 2) {
            return RD_DECODE_BAD_IPV6_EXT;
        }
        if (!rd_cur_has(c, 2)) {
            return RD_DECODE_SHORT_IP;
        }
        nh = rd_cur_u8(c);
        len = rd_cur_u8(c);

        if (cur == RD_DECODE_PROTO_FRAGMENT) {
            hlen = RD_DECODE_IPV6_FRAG_HLEN;    /* RFC 8200 sec. 4.5 */
        } else if (cur == RD_DECODE_PROTO_AH) {
            hlen = ((uint32_t) len + 2) * 4;    /* RFC 4302 sec. 2.2 */
        } else {
            hlen = ((uint32_t) len + 1) * 8;    /* RFC 8200 sec. 4.3-4.6 */
        }
        if (hlen > rem) {
            return RD_DECODE_BAD_IPV6_EXT;
        }
        if (!rd_cur_has(c, hlen - 2)) {
            return RD_DECODE_SHORT_IP;
        }

        if (cur == RD_DECODE_PROTO_FRAGMENT) {
            fragoff = rd_cur_be16(c);
            rd_cur_skip(c, 4);                  /* identification */
            /* an atomic fragment (RFC 6946) is a whole datagram */
            if ((fragoff & RD_DECODE_IPV6_FRAG_OFF)
                || (fragoff & RD_DECODE_IPV6_FRAG_M))
            {
                return RD_DECODE_SKIP_FRAGMENT;
            }
        } else {
            rd_cur_skip(c, hlen - 2);
        }
        rem -= hlen;
    }

    *wire = rem;
    return RD_DECODE_OK;
}


/*
 * TCP options (RFC 9293 sec. 3.2).  The option area must be well framed: a
 * length below 2 or running past the header is BAD_TCP_OPT.  A known
 * option with an unexpected length is framed correctly and only skipped
 * (its value cannot be trusted).
 */
static enum rd_decode_status
decode_tcp_opts(struct rd_span area, struct rd_tcp_opts *o)
{
    uint8_t         kind, len;
    struct rd_cur   c, v;
    struct rd_span  body;

    rd_cur_init(&c, area.p, area.len);

    while (rd_cur_left(&c) > 0) {
        kind = rd_cur_u8(&c);
        if (kind == RD_DECODE_TCPOPT_EOL) {
            break;
        }
        if (kind == RD_DECODE_TCPOPT_NOP) {
            continue;
        }
        if (rd_cur_left(&c) < 1) {
            return RD_DECODE_BAD_TCP_OPT;       /* no room for length */
        }
        len = rd_cur_u8(&c);
        if (len < 2 || (size_t) len - 2 > rd_cur_left(&c)) {
            return RD_DECODE_BAD_TCP_OPT;
        }
        body = rd_cur_span(&c, (size_t) len - 2);
        rd_cur_init(&v, body.p, body.len);

        switch (kind) {
        case RD_DECODE_TCPOPT_MSS:
            if (len == 4) {
                o->mss = rd_cur_be16(&v);
            }
            break;
        case RD_DECODE_TCPOPT_WS:
            /* raw shift; RFC 7323 sec. 2.3 caps its use at 14 */
            if (len == 3) {
                o->wscale = rd_cur_u8(&v);
                o->has_wscale = true;
            }
            break;
        case RD_DECODE_TCPOPT_SACKOK:
            if (len == 2) {
                o->sack_perm = true;
            }
            break;
        case RD_DECODE_TCPOPT_SACK:
            /* RFC 2018 sec. 3: 1 to 4 blocks of two 32-bit edges */
            if (len >= 10 && (len - 2) % 8 == 0) {
                o->has_sack = true;
            }
            break;
        case RD_DECODE_TCPOPT_TS:
            if (len == 10) {
                o->tsval = rd_cur_be32(&v);
                o->tsecr = rd_cur_be32(&v);
                o->has_ts = true;
            }
            break;
        default:
            break;                              /* skipped by length */
        }
    }

    return RD_DECODE_OK;
}


/*
 * TCP header (RFC 9293 sec. 3.1).  wire is the IP payload length from the IP
 * header; the cursor covers its captured part.
 */
static enum rd_decode_status
decode_tcp(struct rd_cur *c, uint32_t wire, struct rd_seg *seg)
{
    uint8_t         off;
    uint32_t        hlen;
    struct rd_span  opts;

    /* the IP length leaves no room for a TCP header at all */
    if (wire < RD_DECODE_TCP_HLEN) {
        return RD_DECODE_BAD_TCP_HLEN;
    }
    if (!rd_cur_has(c, RD_DECODE_TCP_HLEN)) {
        return RD_DECODE_SHORT_TCP;
    }

    seg->sport = rd_cur_be16(c);
    seg->dport = rd_cur_be16(c);
    seg->seq = rd_cur_be32(c);
    seg->ack = rd_cur_be32(c);
    off = rd_cur_u8(c);
    seg->flags = rd_cur_u8(c);
    seg->win = rd_cur_be16(c);
    rd_cur_skip(c, 4);                      /* checksum, urgent pointer */
    if (c->err) {
        return RD_DECODE_SHORT_TCP;
    }

    /* tcpdump tcp_print(): check the data offset before using it */
    hlen = (uint32_t) (off >> 4) * 4;
    if (hlen < RD_DECODE_TCP_HLEN || hlen > wire) {
        return RD_DECODE_BAD_TCP_HLEN;
    }
    opts = rd_cur_span(c, hlen - RD_DECODE_TCP_HLEN);
    if (c->err) {
        return RD_DECODE_SHORT_TCP;
    }
    if (decode_tcp_opts(opts, &seg->opts) != RD_DECODE_OK) {
        return RD_DECODE_BAD_TCP_OPT;
    }

    /*
     * On the wire the payload is what the IP length says; in hand it is
     * what the snaplen left of it (the cursor is already clamped).
     */
    seg->payload_len = wire - hlen;
    seg->payload = rd_cur_span(c, rd_cur_left(c));
    return RD_DECODE_OK;
}


/*
 * The general path: every link type, IP options, extension headers,
 * fragments, BIG TCP lengths, and a status naming what was wrong.
 */
enum rd_decode_status
rd_decode_slow_(int dlt, const uint8_t *p, uint32_t caplen, uint32_t wirelen,
    rd_usec_t ts, struct rd_seg *seg)
{
    static const uint8_t   empty[1];
    enum rd_decode_status  st;
    unsigned               ver, nib;
    uint32_t               wire, lim, ipwire, linkoff;
    struct rd_cur          c, peek;

    rd_require(seg != NULL);

    if (p == NULL) {
        /* pointer arithmetic on NULL is undefined even with 0 */
        p = empty;
        caplen = 0;
    }

    memset(seg, 0, sizeof(*seg));
    seg->ts = ts;
    rd_cur_init(&c, p, caplen);

    lim = UINT32_MAX;
    st = decode_link(dlt, &c, caplen < wirelen, &ver, &lim);
    if (st != RD_DECODE_OK) {
        return st;
    }

    /*
     * Wire bytes from the IP header on, for IP length fields of 0 (BIG
     * TCP).  Every other length we trust comes from the IP header,
     * bounded by caplen.  A wirelen below caplen is a broken record.
     */
    linkoff = (uint32_t) (c.p - p);
    ipwire = (wirelen > caplen) ? wirelen : caplen;
    ipwire = (ipwire > linkoff) ? ipwire - linkoff : 0;
    if (ipwire > lim) {
        ipwire = lim;
    }

    /* version nibble, read on a copy so the IP decoders start at 0 */
    peek = c;
    nib = (unsigned) (rd_cur_u8(&peek) >> 4);
    if (peek.err) {
        return RD_DECODE_SHORT_IP;
    }
    if (ver == 0) {
        if (nib != 4 && nib != 6) {
            return RD_DECODE_BAD_IP_VERSION;
        }
        ver = nib;
    } else if (nib != ver) {
        return RD_DECODE_BAD_IP_VERSION;
    }

    wire = 0;
    st = (ver == 4) ? decode_ipv4(&c, ipwire, seg, &wire)
                    : decode_ipv6(&c, ipwire, seg, &wire);
    if (st != RD_DECODE_OK) {
        return st;
    }

    return decode_tcp(&c, wire, seg);
}


/*
 * ---- the fast path ------------------------------------------------------
 *
 * Nearly every frame captured at an nginx host is Ethernet (or Linux
 * cooked, BSD loopback, raw IP) carrying IPv4 without options or IPv6
 * without extension headers, then TCP.  decode_fast() takes only that
 * shape.  It checks once that the link header and the smallest IP + TCP
 * header block are captured, once more that the TCP header with its
 * options is, and reads at fixed offsets inside those bounds, so no
 * per-field check and no sticky error flag is left to evaluate.
 *
 * It never decides a status: anything it does not take (a VLAN tag, IPv4
 * options, a fragment, an extension header, a length field that does not
 * add up, a header cut by the snaplen, a malformed option) goes to
 * rd_decode_slow_(), which starts over and names the problem.  What it
 * does take it fills exactly as rd_decode_slow_() would, field by field;
 * tests/test_decode.c and the decode fuzzer compare the two on every
 * frame they decode.
 */


/*
 * Loads from a block the caller has bounds-checked (tcpdump's
 * EXTRACT_BE_U_2 behind one ND_TTEST_LEN).  The shifts compile to a load
 * and a byte swap.
 */
static inline uint16_t
ld_be16(const uint8_t *b)
{
    return (uint16_t) ((unsigned) b[0] << 8 | b[1]);
}


static inline uint32_t
ld_be32(const uint8_t *b)
{
    return (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16
           | (uint32_t) b[2] << 8 | (uint32_t) b[3];
}


static inline uint32_t
ld_le32(const uint8_t *b)
{
    return (uint32_t) b[3] << 24 | (uint32_t) b[2] << 16
           | (uint32_t) b[1] << 8 | (uint32_t) b[0];
}


/*
 * The option area o[0..n), all captured: decode_tcp_opts()'s rules by
 * index.  false when it is malformed (the general path then returns
 * BAD_TCP_OPT).
 */
static bool
fast_tcp_opts(const uint8_t *o, uint32_t n, struct rd_tcp_opts *to)
{
    uint32_t  i, len;

    for (i = 0; i < n; i += len) {
        if (o[i] == RD_DECODE_TCPOPT_EOL) {
            break;
        }
        if (o[i] == RD_DECODE_TCPOPT_NOP) {
            len = 1;
            continue;
        }
        if (n - i < 2) {
            return false;                   /* no room for length */
        }
        len = o[i + 1];
        if (len < 2 || len > n - i) {
            return false;
        }

        /* i + len <= n: the option body o[i + 2 .. i + len) is in */
        switch (o[i]) {
        case RD_DECODE_TCPOPT_MSS:
            if (len == 4) {
                to->mss = ld_be16(o + i + 2);
            }
            break;
        case RD_DECODE_TCPOPT_WS:
            if (len == 3) {
                to->wscale = o[i + 2];
                to->has_wscale = true;
            }
            break;
        case RD_DECODE_TCPOPT_SACKOK:
            if (len == 2) {
                to->sack_perm = true;
            }
            break;
        case RD_DECODE_TCPOPT_SACK:
            if (len >= 10 && (len - 2) % 8 == 0) {
                to->has_sack = true;
            }
            break;
        case RD_DECODE_TCPOPT_TS:
            if (len == 10) {
                to->tsval = ld_be32(o + i + 2);
                to->tsecr = ld_be32(o + i + 6);
                to->has_ts = true;
            }
            break;
        default:
            break;
        }
    }

    return true;
}


/*
 * The common frame, or false.  On true every field of *seg is written
 * (no memset of the whole struct first: a field added to struct rd_seg
 * must be set here too, and compared in tests/test_decode.c), except
 * that TCP options other than none or NOP NOP TS are left for
 * decode_fast_opts(): *optlen is then their length, else 0.
 */
static inline bool
decode_fast(int dlt, const uint8_t *p, uint32_t caplen, rd_usec_t ts,
    struct rd_seg *seg, uint32_t *optlen)
{
    unsigned        vers;
    uint32_t        off, cap, wire, hlen;
    uint16_t        frag;
    const uint8_t  *ip, *th;

    if (p == NULL) {
        return false;
    }

    /*
     * Link layer.  vers is the set of IP versions the link allows, as
     * bits 1 << version: one for a link that names it, none for one that
     * carries something else (the general path counts it), both for raw
     * IP, where the version nibble decides.
     */
    if (dlt == DLT_EN10MB) {
        if (caplen < RD_DECODE_FAST_MIN(RD_DECODE_ETH_HLEN)) {
            return false;
        }
        off = RD_DECODE_ETH_HLEN;
        vers = 1u << ethertype_version(ld_be16(p + 12));  /* 802.1Q: slow */
    } else if (dlt == DLT_LINUX_SLL2) {
        if (caplen < RD_DECODE_FAST_MIN(RD_DECODE_SLL2_HLEN)) {
            return false;
        }
        off = RD_DECODE_SLL2_HLEN;
        vers = 1u << ethertype_version(ld_be16(p));
    } else if (dlt == DLT_LINUX_SLL) {
        if (caplen < RD_DECODE_FAST_MIN(RD_DECODE_SLL_HLEN)) {
            return false;
        }
        off = RD_DECODE_SLL_HLEN;
        vers = 1u << ethertype_version(ld_be16(p + 14));
    } else if (dlt == DLT_NULL || dlt == DLT_LOOP) {
        if (caplen < RD_DECODE_FAST_MIN(RD_DECODE_NULL_HLEN)) {
            return false;
        }
        off = RD_DECODE_NULL_HLEN;
        vers = 1u << ((dlt == DLT_NULL) ? null_af_version(ld_le32(p))
                                        : bsd_af_version(ld_be32(p)));
    } else if (dlt == DLT_IPV4 || dlt == DLT_IPV6 || dlt_is_raw(dlt)) {
        if (caplen < RD_DECODE_FAST_MIN(0)) {
            return false;
        }
        off = 0;
        vers = (dlt == DLT_IPV4) ? 1u << 4
               : (dlt == DLT_IPV6) ? 1u << 6 : (1u << 4 | 1u << 6);
    } else {
        return false;                       /* NFLOG, PKTAP */
    }

    ip = p + off;
    cap = caplen - off;

    if (ip[0] == 0x45 && (vers & 1u << 4)) {
        /* IPv4 with IHL 5 (RFC 791 sec. 3.1); cap >= 40 */
        wire = ld_be16(ip + 2);
        frag = ld_be16(ip + 6);
        if (wire < RD_DECODE_IPV4_HLEN + RD_DECODE_TCP_HLEN
            || (frag & (RD_DECODE_IPV4_MF | RD_DECODE_IPV4_OFFMASK))
            || ip[9] != RD_DECODE_PROTO_TCP)
        {
            return false;                   /* BIG TCP length 0 too */
        }
        seg->af = 4;
        seg->ttl = ip[8];
        seg->ip_id = ld_be16(ip + 4);
        seg->df = (frag & RD_DECODE_IPV4_DF) != 0;
        memcpy(seg->src, ip + 12, 4);
        memset(seg->src + 4, 0, sizeof(seg->src) - 4);
        memcpy(seg->dst, ip + 16, 4);
        memset(seg->dst + 4, 0, sizeof(seg->dst) - 4);
        wire -= RD_DECODE_IPV4_HLEN;
        th = ip + RD_DECODE_IPV4_HLEN;
        cap -= RD_DECODE_IPV4_HLEN;

    } else if ((ip[0] >> 4) == 6 && (vers & 1u << 6)) {
        /* IPv6, TCP as the first next header (RFC 8200 sec. 3) */
        if (cap < RD_DECODE_IPV6_HLEN + RD_DECODE_TCP_HLEN) {
            return false;
        }
        wire = ld_be16(ip + 4);
        if (wire < RD_DECODE_TCP_HLEN || ip[6] != RD_DECODE_PROTO_TCP) {
            return false;                   /* jumbo/BIG TCP length 0 too */
        }
        seg->af = 6;
        seg->ttl = ip[7];
        seg->ip_id = 0;
        seg->df = false;
        memcpy(seg->src, ip + 8, 16);
        memcpy(seg->dst, ip + 24, 16);
        th = ip + RD_DECODE_IPV6_HLEN;
        cap -= RD_DECODE_IPV6_HLEN;

    } else {
        return false;
    }

    /*
     * TCP (RFC 9293 sec. 3.1).  wire >= 20 and cap >= 20 here; the data
     * offset must fit both the IP length and the captured bytes.
     */
    hlen = (uint32_t) (th[12] >> 4) * 4;
    if (hlen < RD_DECODE_TCP_HLEN || hlen > wire || hlen > cap) {
        return false;
    }
    /*
     * Linux and the BSDs send NOP NOP TS on every segment after the
     * handshake (RFC 7323 appendix A): one compare instead of the loop.
     */
    memset(&seg->opts, 0, sizeof(seg->opts));
    *optlen = 0;
    if (hlen == RD_DECODE_TCP_HLEN + 12
        && ld_be32(th + RD_DECODE_TCP_HLEN) == 0x0101080au)
    {
        seg->opts.has_ts = true;
        seg->opts.tsval = ld_be32(th + RD_DECODE_TCP_HLEN + 4);
        seg->opts.tsecr = ld_be32(th + RD_DECODE_TCP_HLEN + 8);
    } else {
        *optlen = hlen - RD_DECODE_TCP_HLEN;
    }

    seg->ts = ts;
    seg->sport = ld_be16(th);
    seg->dport = ld_be16(th + 2);
    seg->seq = ld_be32(th + 4);
    seg->ack = ld_be32(th + 8);
    seg->flags = th[13];
    seg->win = ld_be16(th + 14);

    /* Ethernet padding past the IP length is not payload */
    seg->payload_len = wire - hlen;
    seg->payload.p = th + hlen;
    seg->payload.len = RD_MIN(cap, wire) - hlen;
    return true;
}


/*
 * Out of line on purpose (GCC and clang would inline a static function
 * called once): rd_decode() then makes no call but tail calls, keeps the
 * fast path in scratch registers and saves none.
 */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static enum rd_decode_status
decode_fast_opts(int dlt, const uint8_t *p, uint32_t caplen,
    uint32_t wirelen, struct rd_seg *seg, uint32_t optlen)
{
    /* the option area ends where the payload starts */
    if (fast_tcp_opts(seg->payload.p - optlen, optlen, &seg->opts)) {
        return RD_DECODE_OK;
    }
    return rd_decode_slow_(dlt, p, caplen, wirelen, seg->ts, seg);
}


enum rd_decode_status
rd_decode(int dlt, const uint8_t *p, uint32_t caplen, uint32_t wirelen,
    rd_usec_t ts, struct rd_seg *seg)
{
    uint32_t  optlen;

    /* seg == NULL: the general path's rd_require() reports it */
    if (seg == NULL || !decode_fast(dlt, p, caplen, ts, seg, &optlen)) {
        return rd_decode_slow_(dlt, p, caplen, wirelen, ts, seg);
    }
    if (optlen > 0) {
        /* SYN options, SACK blocks, ... */
        return decode_fast_opts(dlt, p, caplen, wirelen, seg, optlen);
    }
    return RD_DECODE_OK;
}


void
rd_ep_format(char *buf, size_t size, uint8_t af, const uint8_t *addr,
    uint16_t port)
{
    char  a[INET6_ADDRSTRLEN];

    if (buf == NULL || size == 0) {
        return;
    }

    if (af == 4 && inet_ntop(AF_INET, addr, a, sizeof(a)) != NULL) {
        snprintf(buf, size, "%s:%u", a, (unsigned) port);
    } else if (af == 6 && inet_ntop(AF_INET6, addr, a, sizeof(a)) != NULL) {
        snprintf(buf, size, "[%s]:%u", a, (unsigned) port);
    } else {
        snprintf(buf, size, "?:%u", (unsigned) port);
    }
}


void
rd_addr_format(char *buf, size_t size, uint8_t af, const uint8_t *addr)
{
    if (buf == NULL || size == 0) {
        return;
    }
    if (af == 4 && inet_ntop(AF_INET, addr, buf, (socklen_t) size) != NULL) {
        return;
    }
    if (af == 6 && inet_ntop(AF_INET6, addr, buf, (socklen_t) size) != NULL) {
        return;
    }
    snprintf(buf, size, "?");
}
