/*
 * pcapfile: classic pcap records in place, as libpcap 1.10.3 reads them
 * (sf-pcap.c pcap_check_header() and pcap_next_packet(), pcap-util.c
 * pcap_post_process()).  Every rule below is there for exactness with
 * libpcap, not because the format needs it; each says which.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <pcap/dlt.h>

#include "rstdiag/common.h"
#include "rstdiag/pcapfile.h"
#include "pcapfile_int.h"

/* pcap-savefile(5) magic numbers, as read in the writer's byte order */
#define RD_PCAPFILE_MAGIC        0xa1b2c3d4u     /* microseconds */
#define RD_PCAPFILE_MAGIC_NSEC   0xa1b23c4du     /* nanoseconds */

/* the versions libpcap reads: 2.0 to 2.4, and DG/UX tcpdump's 543.0 */
#define RD_PCAPFILE_MAJOR        2u
#define RD_PCAPFILE_MINOR_MAX    4u
#define RD_PCAPFILE_MAJOR_DGUX   543u

/* libpcap's MAXIMUM_SNAPLEN and max_snaplen_for_dlt() exceptions */
#define RD_PCAPFILE_MAX_SNAPLEN  262144u
#define RD_PCAPFILE_MAX_DBUS     (128u * 1024u * 1024u)
#define RD_PCAPFILE_MAX_EBHSCR   (8u * 1024u * 1024u)
#define RD_PCAPFILE_MAX_USBPCAP  (1024u * 1024u)

/* Linux cooked headers (pcap/sll.h): protocol field, CAN protocols */
#define RD_PCAPFILE_SLL_HLEN     16u
#define RD_PCAPFILE_SLL_PROTO    14u
#define RD_PCAPFILE_SLL2_HLEN    20u
#define RD_PCAPFILE_SLL2_PROTO   0u
#define RD_PCAPFILE_SLL_P_CAN    0x000cu
#define RD_PCAPFILE_SLL_P_CANFD  0x000du

/* NFLOG (pcap/nflog.h): 4-byte header, then TLVs of length, type */
#define RD_PCAPFILE_NFLOG_HLEN   4u
#define RD_PCAPFILE_NFLOG_TLVLEN 4u


static inline uint32_t
swap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u)
           | (v << 24);
}


static inline uint32_t
load32(const uint8_t *p)
{
    uint32_t  v;

    memcpy(&v, p, sizeof(v));
    return v;
}


static inline uint16_t
load16(const uint8_t *p)
{
    uint16_t  v;

    memcpy(&v, p, sizeof(v));
    return v;
}


/* A 32-bit field read as libpcap's bpf_int32, without relying on an
 * implementation-defined conversion. */
static inline int64_t
signed32(uint32_t v)
{
    return (v & 0x80000000u) ? (int64_t) v - 0x100000000LL : (int64_t) v;
}


static void
reverse(uint8_t *p, size_t n)
{
    size_t   i;
    uint8_t  c;

    for (i = 0; i < n / 2; i++) {
        c = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = c;
    }
}


/* max_snaplen_for_dlt(): a bigger caplen is a damaged file. */
uint32_t
rd_pcapfile_max_snaplen_(int dlt)
{
    switch (dlt) {
    case DLT_DBUS:
        return RD_PCAPFILE_MAX_DBUS;
    case DLT_EBHSCR:
        return RD_PCAPFILE_MAX_EBHSCR;
    case DLT_USBPCAP:
        return RD_PCAPFILE_MAX_USBPCAP;
    default:
        return RD_PCAPFILE_MAX_SNAPLEN;
    }
}


bool
rd_pcapfile_dlt_ok_(int dlt)
{
    /* pcap_post_process() rewrites these link types' pseudo-headers
     * (PFLOG and USB when swapped, mmapped USB lengths always): leave
     * them to libpcap rather than copy that */
    return dlt != DLT_PFLOG && dlt != DLT_USB_LINUX
           && dlt != DLT_USB_LINUX_MMAPPED;
}


int
rd_pcapfile_header(struct rd_pcapfile *pf, const uint8_t *p, size_t n,
    int dlt)
{
    uint32_t  magic, snaplen;
    uint16_t  major, minor;

    if (n < RD_PCAPFILE_HDRLEN) {
        return -RD_EPROTO;
    }
    memset(pf, 0, sizeof(*pf));
    magic = load32(p);
    if (magic != RD_PCAPFILE_MAGIC && magic != RD_PCAPFILE_MAGIC_NSEC) {
        magic = swap32(magic);
        if (magic != RD_PCAPFILE_MAGIC && magic != RD_PCAPFILE_MAGIC_NSEC) {
            return -RD_EPROTO;      /* pcapng, Kuznetzov's, not pcap */
        }
        pf->swapped = true;
    }
    pf->nsec = magic == RD_PCAPFILE_MAGIC_NSEC;

    major = load16(p + 4);
    minor = load16(p + 6);
    snaplen = load32(p + 16);
    if (pf->swapped) {
        major = (uint16_t) ((major >> 8) | (major << 8));
        minor = (uint16_t) ((minor >> 8) | (minor << 8));
        snaplen = swap32(snaplen);
    }
    if (!((major == RD_PCAPFILE_MAJOR && minor <= RD_PCAPFILE_MINOR_MAX)
          || (major == RD_PCAPFILE_MAJOR_DGUX && minor == 0)))
    {
        return -RD_EPROTO;          /* libpcap refused it at open */
    }

    if (!rd_pcapfile_dlt_ok_(dlt)) {
        return -RD_EPROTO;
    }

    pf->dlt = dlt;
    pf->major = major;
    pf->minor = minor;

    /* caplen and len traded places at 2.3, and some 2.3 writers did
     * not trade them */
    if (major == RD_PCAPFILE_MAJOR && minor < 3) {
        pf->lengths = RD_PCAPFILE_LEN_SWAPPED;
    } else if (major == RD_PCAPFILE_MAJOR && minor == 3) {
        pf->lengths = RD_PCAPFILE_LEN_MAYBE;
    } else if (major == RD_PCAPFILE_MAJOR_DGUX) {
        pf->lengths = RD_PCAPFILE_LEN_SWAPPED;
    } else {
        pf->lengths = RD_PCAPFILE_LEN_AS_IS;
    }

    /* pcap_adjust_snapshot(): only 0 and > INT_MAX are replaced */
    pf->max_caplen = rd_pcapfile_max_snaplen_(dlt);
    pf->snapshot = (snaplen == 0 || snaplen > (uint32_t) INT_MAX)
                   ? pf->max_caplen : snaplen;
    return 0;
}


/*
 * libpcap's swap_linux_sll_header()/swap_linux_sll2_header(): a SocketCAN
 * frame behind a cooked header has its CAN ID in the writer's order.
 */
static void
fix_sll(uint8_t *d, uint32_t caplen, uint32_t len, uint32_t hlen,
    uint32_t proto_at)
{
    unsigned  proto;

    if (caplen < hlen || len < hlen) {
        return;
    }
    proto = ((unsigned) d[proto_at] << 8) | d[proto_at + 1];
    if (proto != RD_PCAPFILE_SLL_P_CAN && proto != RD_PCAPFILE_SLL_P_CANFD) {
        return;
    }
    if (caplen < hlen + 4 || len < hlen + 4) {
        return;
    }
    reverse(d + hlen, 4);
}


/*
 * libpcap's swap_nflog_header(): TLV lengths and types are in the
 * writer's order.  The rounded size is 16 bits, as there: a length above
 * 65532 rounds to 0 and stops the walk.
 */
static void
fix_nflog(uint8_t *d, uint32_t caplen, uint32_t len)
{
    uint16_t  size;

    if (caplen < RD_PCAPFILE_NFLOG_HLEN || len < RD_PCAPFILE_NFLOG_HLEN) {
        return;
    }
    if (d[1] != 0) {
        return;                     /* unknown NFLOG version */
    }
    caplen -= RD_PCAPFILE_NFLOG_HLEN;
    len -= RD_PCAPFILE_NFLOG_HLEN;
    d += RD_PCAPFILE_NFLOG_HLEN;
    while (caplen >= RD_PCAPFILE_NFLOG_TLVLEN) {
        reverse(d, 2);
        reverse(d + 2, 2);
        size = load16(d);
        if (size % 4 != 0) {
            size = (uint16_t) (size + 4 - size % 4);
        }
        if (size < RD_PCAPFILE_NFLOG_TLVLEN) {
            return;
        }
        if (caplen < size || len < size) {
            return;
        }
        caplen -= size;
        len -= size;
        d += size;
    }
}


/*
 * The bytes ended (eof) before the record did: n bytes of it, whose
 * header says caplen when n covers the header.  A clean end when n is 0,
 * else libpcap's message.
 */
static int
cut(const struct rd_pcapfile *pf, size_t n, uint32_t caplen,
    char err[RD_ERRLEN])
{
    size_t  got;

    if (n == 0) {
        return RD_PCAPFILE_END;
    }
    if (n < RD_PCAPFILE_RECLEN) {
        snprintf(err, RD_ERRLEN, "truncated dump file; tried to read %u "
                 "header bytes, only got %zu", RD_PCAPFILE_RECLEN, n);
        return -RD_EPROTO;
    }
    /* libpcap reads a record longer than the snapshot in two steps, and
     * says which one came up short */
    got = n - RD_PCAPFILE_RECLEN;
    if (caplen > pf->snapshot && got < pf->snapshot) {
        snprintf(err, RD_ERRLEN, "truncated dump file; tried to read %d "
                 "captured bytes, only got %zu", (int) pf->snapshot, got);
    } else {
        snprintf(err, RD_ERRLEN, "truncated dump file; tried to read %u "
                 "captured bytes, only got %zu", caplen, got);
    }
    return -RD_EPROTO;
}


/* caplen is above the link type's maximum: a damaged or fuzzed file. */
static int
bogus(const struct rd_pcapfile *pf, uint32_t caplen, char err[RD_ERRLEN])
{
    /* libpcap names the snapshot length when caplen exceeds it too */
    if (caplen > pf->snapshot) {
        snprintf(err, RD_ERRLEN, "invalid packet capture length %u, "
                 "bigger than snaplen of %d", caplen, (int) pf->snapshot);
    } else {
        snprintf(err, RD_ERRLEN, "invalid packet capture length %u, "
                 "bigger than maximum of %u", caplen, pf->max_caplen);
    }
    return -RD_EPROTO;
}


/* pcap_post_process() for a swapped file of the link types we read. */
void
rd_pcapfile_swap_pseudo_(int dlt, uint8_t *d, uint32_t caplen, uint32_t len)
{
    switch (dlt) {
    case DLT_LINUX_SLL:
        fix_sll(d, caplen, len, RD_PCAPFILE_SLL_HLEN, RD_PCAPFILE_SLL_PROTO);
        break;
    case DLT_LINUX_SLL2:
        fix_sll(d, caplen, len, RD_PCAPFILE_SLL2_HLEN,
                RD_PCAPFILE_SLL2_PROTO);
        break;
    case DLT_NFLOG:
        fix_nflog(d, caplen, len);
        break;
    default:
        break;
    }
}


/*
 * rd_pcapfile_parse(), inline so that rd_pcapfile_read() has it without
 * a call: the rare cases (cut, bogus, swapped) are functions of their own.
 */
static inline int
parse(const struct rd_pcapfile *pf, uint8_t *p, size_t n, bool eof,
    struct rd_pcapfile_rec *rec, size_t *used, char err[RD_ERRLEN])
{
    uint32_t  sec, frac, caplen, len, t;
    size_t    want;

    if (n < RD_PCAPFILE_RECLEN) {
        if (!eof) {
            *used = RD_PCAPFILE_RECLEN;
            return RD_AGAIN;
        }
        return cut(pf, n, 0, err);
    }

    sec = load32(p);
    frac = load32(p + 4);
    caplen = load32(p + 8);
    len = load32(p + 12);
    if (pf->swapped) {
        sec = swap32(sec);
        frac = swap32(frac);
        caplen = swap32(caplen);
        len = swap32(len);
    }
    if (pf->lengths != RD_PCAPFILE_LEN_AS_IS
        && (pf->lengths == RD_PCAPFILE_LEN_SWAPPED || caplen > len))
    {
        t = caplen;
        caplen = len;
        len = t;
    }

    if (caplen > pf->max_caplen) {
        return bogus(pf, caplen, err);
    }
    want = RD_PCAPFILE_RECLEN + (size_t) caplen;
    if (n < want) {
        if (!eof) {
            *used = want;
            return RD_AGAIN;
        }
        return cut(pf, n, caplen, err);
    }

    /* a record longer than the snapshot is cut to it (a Solaris 2.3
     * bufmod bug, or a fuzzed file): the rest is skipped */
    rec->data = p + RD_PCAPFILE_RECLEN;
    rec->caplen = caplen > pf->snapshot ? pf->snapshot : caplen;
    rec->len = len;
    if (pf->swapped) {
        /* libpcap's SWAPLONG() yields an unsigned int: swapped files
         * have their fields zero-extended, native ones sign-extended */
        rec->sec = (int64_t) sec;
        rec->usec = (int64_t) frac;
        rd_pcapfile_swap_pseudo_(pf->dlt, p + RD_PCAPFILE_RECLEN, rec->caplen,
                                 len);
    } else {
        rec->sec = signed32(sec);
        rec->usec = signed32(frac);
    }
    if (pf->nsec) {
        rec->usec /= 1000;          /* truncated toward 0, as there */
    }
    *used = want;
    return RD_OK;
}


int
rd_pcapfile_parse(const struct rd_pcapfile *pf, uint8_t *p, size_t n,
    bool eof, struct rd_pcapfile_rec *rec, size_t *used, char err[RD_ERRLEN])
{
    return parse(pf, p, n, eof, rec, used, err);
}


size_t
rd_pcapfile_rd_min(const struct rd_pcapfile *pf)
{
    return RD_PCAPFILE_RECLEN + (size_t) pf->max_caplen;
}


void
rd_pcapfile_rd_init(struct rd_pcapfile_rd *rd, uint8_t *buf, size_t cap)
{
    memset(rd, 0, sizeof(*rd));
    rd->_buf = buf;
    rd->_cap = cap;
}


/* The record at the head needs need bytes, more than the buffer holds. */
void
rd_pcapfile_rd_room_(struct rd_pcapfile_rd *rd, size_t need)
{
    size_t  have;

    /* move its start to the front, so that it fits and the next read is
     * long; the buffer holds the largest record */
    rd_require(rd->_cap >= need);
    if (rd->_head > 0) {
        have = rd->_tail - rd->_head;
        memmove(rd->_buf, rd->_buf + rd->_head, have);
        rd->_head = 0;
        rd->_tail = have;
    }
}


int
rd_pcapfile_read(const struct rd_pcapfile *pf, struct rd_pcapfile_rd *rd,
    struct rd_pcapfile_rec *rec, char err[RD_ERRLEN])
{
    size_t  used;
    int     rc;

    used = 0;
    rc = parse(pf, rd->_buf + rd->_head, rd->_tail - rd->_head, rd->_eof,
               rec, &used, err);
    if (rc == RD_OK) {
        rd->_head += used;
        rd->_done += used;
    } else if (rc == RD_AGAIN) {
        rd_pcapfile_rd_room_(rd, rd_pcapfile_rd_min(pf));
    }
    return rc;
}


void
rd_pcapfile_rd_space(struct rd_pcapfile_rd *rd, uint8_t **p, size_t *n)
{
    *p = rd->_buf + rd->_tail;
    *n = rd->_cap - rd->_tail;
}


void
rd_pcapfile_rd_commit(struct rd_pcapfile_rd *rd, size_t n)
{
    rd_require(n <= rd->_cap - rd->_tail);
    rd->_tail += n;
}


void
rd_pcapfile_rd_eof(struct rd_pcapfile_rd *rd)
{
    rd->_eof = true;
}


uint64_t
rd_pcapfile_rd_done(const struct rd_pcapfile_rd *rd)
{
    return rd->_done;
}
