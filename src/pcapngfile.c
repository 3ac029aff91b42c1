/*
 * pcapngfile: pcapng packets in place, as libpcap 1.10.3 reads them
 * (sf-pcapng.c pcap_ng_check_header(), read_block() and
 * pcap_ng_next_packet()).  Checks that look redundant or too lax for the
 * format are libpcap's, kept for exactness; each says which.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rstdiag/common.h"
#include "rstdiag/pcapngfile.h"
#include "pcapfile_int.h"

/* block types */
#define RD_PCAPNG_SHB            0x0a0d0d0au  /* the same in either order */
#define RD_PCAPNG_IDB            0x00000001u
#define RD_PCAPNG_PB             0x00000002u  /* obsolete Packet Block */
#define RD_PCAPNG_SPB            0x00000003u
#define RD_PCAPNG_EPB            0x00000006u

#define RD_PCAPNG_BOM            0x1a2b3c4du  /* byte-order magic */
#define RD_PCAPNG_TRAILER        4u
#define RD_PCAPNG_MIN_BLOCK      (RD_PCAPNG_BLOCKHDR + RD_PCAPNG_TRAILER)

/* fixed parts of the blocks, after the block header */
#define RD_PCAPNG_SHB_FIXED      16u          /* magic, version, length */
#define RD_PCAPNG_IDB_FIXED      8u           /* link type, -, snaplen */
#define RD_PCAPNG_EPB_FIXED      20u
#define RD_PCAPNG_SPB_FIXED      4u
#define RD_PCAPNG_PB_FIXED       20u

/* libpcap's limits: BT_SHB_INSANE_MAX, INITIAL_MAX_BLOCKSIZE, and the
 * slack of MAX_BLOCKSIZE_FOR_SNAPLEN() */
#define RD_PCAPNG_SHB_MAX        (1024u * 1024u)
#define RD_PCAPNG_BLOCK_MAX      (16u * 1024u * 1024u)
#define RD_PCAPNG_BLOCK_SLACK    131072u

/* options */
#define RD_PCAPNG_OPT_END        0u
#define RD_PCAPNG_IF_TSRESOL     9u
#define RD_PCAPNG_IF_TSOFFSET    14u

#define RD_PCAPNG_USEC           1000000u     /* what we hand out */

/* how a timestamp fraction becomes microseconds (tstamp_scale_type_t) */
enum {
    RD_PCAPNG_PASS,
    RD_PCAPNG_UP_DEC,
    RD_PCAPNG_DOWN_DEC,
    RD_PCAPNG_BIN
};


static inline uint32_t
swap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u)
           | (v << 24);
}


static inline uint32_t
get32(const struct rd_pcapng *ng, const uint8_t *p)
{
    uint32_t  v;

    memcpy(&v, p, sizeof(v));
    return ng->swapped ? swap32(v) : v;
}


static inline uint16_t
get16(const struct rd_pcapng *ng, const uint8_t *p)
{
    uint16_t  v;

    memcpy(&v, p, sizeof(v));
    if (ng->swapped) {
        v = (uint16_t) ((v >> 8) | (v << 8));
    }
    return v;
}


static inline uint64_t
get64(const struct rd_pcapng *ng, const uint8_t *p)
{
    uint64_t  v;

    memcpy(&v, p, sizeof(v));
    if (ng->swapped) {
        v = ((uint64_t) swap32((uint32_t) v) << 32)
            | swap32((uint32_t) (v >> 32));
    }
    return v;
}


/* Two's complement conversions as libpcap's casts do them on our ABI. */
static inline int64_t
as_int64(uint64_t v)
{
    return v > (uint64_t) INT64_MAX
           ? -(int64_t) (~v) - 1 : (int64_t) v;
}


static inline int64_t
as_int32(uint64_t v)
{
    uint32_t  w = (uint32_t) v;

    return (w & 0x80000000u) ? (int64_t) w - 0x100000000LL : (int64_t) w;
}


/* get_from_block_data()'s complaint */
static int
too_short(uint32_t type, char err[RD_ERRLEN])
{
    snprintf(err, RD_ERRLEN, "block of type %u in pcapng dump file is too "
             "short", type);
    return -RD_EPROTO;
}


/* pcap_adjust_snapshot() */
static uint32_t
adjust_snapshot(int dlt, uint32_t snaplen)
{
    if (snaplen == 0 || snaplen > (uint32_t) INT_MAX) {
        return rd_pcapfile_max_snaplen_(dlt);
    }
    return snaplen;
}


/*
 * process_idb_options(): if_tsresol and if_tsoffset of the options
 * o[0..n).  libpcap stops at the first opt_endofopt and ignores what
 * follows it.
 */
static int
idb_options(const struct rd_pcapng *ng, const uint8_t *o, size_t n,
    struct rd_pcapng_if *ifc, char err[RD_ERRLEN])
{
    uint16_t  code, len;
    size_t    padded;
    unsigned  i;
    uint8_t   res;
    bool      saw_res, saw_off;

    saw_res = false;
    saw_off = false;
    while (n != 0) {
        if (n < 4) {
            return too_short(RD_PCAPNG_IDB, err);
        }
        code = get16(ng, o);
        len = get16(ng, o + 2);
        padded = ((size_t) len + 3) / 4 * 4;
        if (n - 4 < padded) {
            return too_short(RD_PCAPNG_IDB, err);
        }
        o += 4;
        n -= 4 + padded;
        switch (code) {
        case RD_PCAPNG_OPT_END:
            if (len != 0) {
                snprintf(err, RD_ERRLEN, "Interface Description Block has "
                         "opt_endofopt option with length %u != 0", len);
                return -RD_EPROTO;
            }
            return 0;

        case RD_PCAPNG_IF_TSRESOL:
            if (len != 1) {
                snprintf(err, RD_ERRLEN, "Interface Description Block has "
                         "if_tsresol option with length %u != 1", len);
                return -RD_EPROTO;
            }
            if (saw_res) {
                snprintf(err, RD_ERRLEN, "Interface Description Block has "
                         "more than one if_tsresol option");
                return -RD_EPROTO;
            }
            saw_res = true;
            res = o[0];
            if (res & 0x80) {
                res &= 0x7f;
                if (res > 63) {
                    snprintf(err, RD_ERRLEN, "Interface Description Block "
                             "if_tsresol option resolution 2^-%u is too "
                             "high", res);
                    return -RD_EPROTO;
                }
                ifc->tsresol = (uint64_t) 1 << res;
                ifc->scale = RD_PCAPNG_BIN;
            } else {
                if (res > 19) {
                    snprintf(err, RD_ERRLEN, "Interface Description Block "
                             "if_tsresol option resolution 10^-%u is too "
                             "high", res);
                    return -RD_EPROTO;
                }
                ifc->tsresol = 1;
                for (i = 0; i < res; i++) {
                    ifc->tsresol *= 10;
                }
                ifc->scale = RD_PCAPNG_PASS;
            }
            break;

        case RD_PCAPNG_IF_TSOFFSET:
            if (len != 8) {
                snprintf(err, RD_ERRLEN, "Interface Description Block has "
                         "if_tsoffset option with length %u != 8", len);
                return -RD_EPROTO;
            }
            if (saw_off) {
                snprintf(err, RD_ERRLEN, "Interface Description Block has "
                         "more than one if_tsoffset option");
                return -RD_EPROTO;
            }
            saw_off = true;
            ifc->tsoffset = get64(ng, o);
            break;

        default:
            break;
        }
        o += padded;
    }
    return 0;
}


/*
 * add_interface(): the IDB options b[0..n) after the fixed part describe
 * interface ng->nifs of the section.
 */
static int
add_interface(struct rd_pcapng *ng, const uint8_t *b, size_t n,
    char err[RD_ERRLEN])
{
    struct rd_pcapng_if  ifc, *ifs;
    uint32_t             cap;

    if (ng->nifs == ng->ifs_cap) {
        /* libpcap's own limits (2^31 interfaces) need a 40 GB file */
        cap = ng->ifs_cap == 0 ? 1 : ng->ifs_cap * 2;
        ifs = cap > UINT32_MAX / 2 ? NULL
              : realloc(ng->ifs, (size_t) cap * sizeof(*ifs));
        if (ifs == NULL) {
            snprintf(err, RD_ERRLEN, "out of memory for per-interface "
                     "information (%u interfaces)", ng->nifs + 1);
            return -RD_EPROTO;
        }
        ng->ifs = ifs;
        ng->ifs_cap = cap;
    }

    ifc.tsresol = RD_PCAPNG_USEC;
    ifc.tsoffset = 0;
    ifc.factor = 1;
    ifc.scale = RD_PCAPNG_PASS;
    if (idb_options(ng, b, n, &ifc, err) != 0) {
        return -RD_EPROTO;
    }
    /* binary resolutions scale by multiply-then-divide either way */
    if (ifc.scale != RD_PCAPNG_BIN) {
        if (ifc.tsresol == RD_PCAPNG_USEC) {
            ifc.scale = RD_PCAPNG_PASS;
        } else if (ifc.tsresol > RD_PCAPNG_USEC) {
            ifc.scale = RD_PCAPNG_DOWN_DEC;
            ifc.factor = ifc.tsresol / RD_PCAPNG_USEC;
        } else {
            ifc.scale = RD_PCAPNG_UP_DEC;
            ifc.factor = RD_PCAPNG_USEC / ifc.tsresol;
        }
    }
    ng->ifs[ng->nifs++] = ifc;
    return 0;
}


/*
 * read_block(): the framing of the block at p[0..n).  Returns 0 with the
 * type, and the body between the header and the trailer; or
 * parse()'s other results.
 */
static inline int
block(const struct rd_pcapng *ng, const uint8_t *p, size_t n, bool eof,
    uint32_t *type, uint32_t *total, size_t *used, char err[RD_ERRLEN])
{
    if (n < RD_PCAPNG_BLOCKHDR) {
        if (!eof) {
            *used = RD_PCAPNG_BLOCKHDR;
            return RD_AGAIN;
        }
        if (n == 0) {
            return RD_PCAPFILE_END;
        }
        snprintf(err, RD_ERRLEN, "truncated pcapng dump file; tried to "
                 "read %u bytes, only got %zu", RD_PCAPNG_BLOCKHDR, n);
        return -RD_EPROTO;
    }
    *type = get32(ng, p);
    *total = get32(ng, p + 4);

    if (*total < RD_PCAPNG_MIN_BLOCK) {
        snprintf(err, RD_ERRLEN, "block in pcapng dump file has a length "
                 "of %u < %u", *total, RD_PCAPNG_MIN_BLOCK);
        return -RD_EPROTO;
    }
    if (*total % 4 != 0) {
        snprintf(err, RD_ERRLEN, "block in pcapng dump file has a length "
                 "of %u that is not a multiple of 4", *total);
        return -RD_EPROTO;
    }
    /* libpcap checks only when its buffer must grow, but its buffer is
     * never above the maximum: the same test */
    if (*total > ng->max_block) {
        snprintf(err, RD_ERRLEN, "pcapng block size %u > maximum %u",
                 *total, ng->max_block);
        return -RD_EPROTO;
    }
    if (n < *total) {
        if (!eof) {
            *used = *total;
            return RD_AGAIN;
        }
        snprintf(err, RD_ERRLEN, "truncated pcapng dump file; tried to "
                 "read %u bytes, only got %zu",
                 *total - RD_PCAPNG_BLOCKHDR, n - RD_PCAPNG_BLOCKHDR);
        return -RD_EPROTO;
    }
    if (get32(ng, p + *total - RD_PCAPNG_TRAILER) != *total) {
        snprintf(err, RD_ERRLEN, "block total length in header and trailer "
                 "don't match");
        return -RD_EPROTO;
    }
    *used = *total;
    return RD_OK;
}


int
rd_pcapng_header(struct rd_pcapng *ng, const uint8_t *p, size_t n,
    int dlt, size_t *used)
{
    uint32_t  magic, total, type, snaplen;
    size_t    off, len;
    uint16_t  linktype;
    char      err[RD_ERRLEN];

    memset(ng, 0, sizeof(*ng));
    if (n < 12) {
        return -RD_EPROTO;
    }
    memcpy(&magic, p + 8, sizeof(magic));
    if (magic != RD_PCAPNG_BOM) {
        if (swap32(magic) != RD_PCAPNG_BOM) {
            return -RD_EPROTO;
        }
        ng->swapped = true;
    }
    if (get32(ng, p) != RD_PCAPNG_SHB) {
        return -RD_EPROTO;
    }
    total = get32(ng, p + 4);
    if (total < RD_PCAPNG_BLOCKHDR + RD_PCAPNG_SHB_FIXED + RD_PCAPNG_TRAILER
        || total > RD_PCAPNG_SHB_MAX || n < total)
    {
        return -RD_EPROTO;
    }
    /* libpcap reads 1.0 and 1.2 (1.1 was never written); it does not
     * check this first block's trailer */
    ng->major = get16(ng, p + 12);
    ng->minor = get16(ng, p + 14);
    if (ng->major != 1 || (ng->minor != 0 && ng->minor != 2)) {
        return -RD_EPROTO;
    }

    /* blocks up to the first interface, with the open's block limit */
    ng->max_block = RD_PCAPNG_BLOCK_MAX;
    off = total;
    for ( ;; ) {
        if (block(ng, p + off, n - off, true, &type, &total, &len, err)
            != RD_OK)
        {
            return -RD_EPROTO;      /* libpcap refused it, or n is short */
        }
        if (type == RD_PCAPNG_IDB) {
            break;
        }
        if (type == RD_PCAPNG_EPB || type == RD_PCAPNG_SPB
            || type == RD_PCAPNG_PB)
        {
            return -RD_EPROTO;
        }
        off += len;
    }
    len = total - RD_PCAPNG_MIN_BLOCK;
    if (len < RD_PCAPNG_IDB_FIXED || !rd_pcapfile_dlt_ok_(dlt)) {
        return -RD_EPROTO;
    }
    linktype = get16(ng, p + off + RD_PCAPNG_BLOCKHDR);
    snaplen = get32(ng, p + off + RD_PCAPNG_BLOCKHDR + 4);
    (void) linktype;                /* libpcap mapped it to dlt */
    if (add_interface(ng, p + off + RD_PCAPNG_BLOCKHDR + RD_PCAPNG_IDB_FIXED,
                      len - RD_PCAPNG_IDB_FIXED, err) != 0)
    {
        return -RD_EPROTO;
    }
    ng->dlt = dlt;
    ng->snapshot = adjust_snapshot(dlt, snaplen);
    /* MAX_BLOCKSIZE_FOR_SNAPLEN(): room for the largest EPB, and more */
    ng->max_block = RD_MAX(RD_PCAPNG_BLOCK_MAX,
                           RD_PCAPNG_BLOCKHDR + RD_PCAPNG_EPB_FIXED
                           + rd_pcapfile_max_snaplen_(dlt)
                           + RD_PCAPNG_BLOCK_SLACK + RD_PCAPNG_TRAILER);
    *used = off + total;
    return 0;
}


void
rd_pcapng_free(struct rd_pcapng *ng)
{
    free(ng->ifs);
    ng->ifs = NULL;
    ng->ifs_cap = 0;
    ng->nifs = 0;
}


/* An IDB after the first: libpcap 1.10 wants the same link type and
 * snapshot length in every one. */
static int
later_idb(struct rd_pcapng *ng, const uint8_t *b, size_t n,
    char err[RD_ERRLEN])
{
    uint32_t  snaplen;
    uint16_t  linktype;

    if (n < RD_PCAPNG_IDB_FIXED) {
        return too_short(RD_PCAPNG_IDB, err);
    }
    linktype = get16(ng, b);
    snaplen = get32(ng, b + 4);
    /* libpcap compares the file's LINKTYPE_ with its DLT_: they differ
     * for some types (LINKTYPE_RAW), which then fail here */
    if ((int) linktype != ng->dlt) {
        snprintf(err, RD_ERRLEN, "an interface has a type %u different from "
                 "the type of the first interface", linktype);
        return -RD_EPROTO;
    }
    if (ng->snapshot != adjust_snapshot(ng->dlt, snaplen)) {
        snprintf(err, RD_ERRLEN, "an interface has a snapshot length %u "
                 "different from the snapshot length of the first "
                 "interface", snaplen);
        return -RD_EPROTO;
    }
    return add_interface(ng, b + RD_PCAPNG_IDB_FIXED,
                         n - RD_PCAPNG_IDB_FIXED, err);
}


/* A new section: its interfaces start again from 0. */
static int
later_shb(struct rd_pcapng *ng, const uint8_t *b, size_t n,
    char err[RD_ERRLEN])
{
    uint32_t  magic;
    uint16_t  major;

    if (n < RD_PCAPNG_SHB_FIXED) {
        return too_short(RD_PCAPNG_SHB, err);
    }
    magic = get32(ng, b);
    major = get16(ng, b + 4);
    if (magic == swap32(RD_PCAPNG_BOM)) {
        snprintf(err, RD_ERRLEN, "the file has sections with different byte "
                 "orders");
        return -RD_EPROTO;
    }
    if (magic != RD_PCAPNG_BOM) {
        snprintf(err, RD_ERRLEN, "the file has a section with a bad byte "
                 "order magic field");
        return -RD_EPROTO;
    }
    if (major != 1) {
        snprintf(err, RD_ERRLEN, "unknown pcapng savefile major version "
                 "number %u", major);
        return -RD_EPROTO;
    }
    ng->nifs = 0;
    return 0;
}


/* The timestamp t of interface ifc, in libpcap's struct timeval. */
static inline void
timestamp(const struct rd_pcapng_if *ifc, uint64_t t,
    struct rd_pcapfile_rec *rec)
{
    uint64_t  sec, frac;

    if (ifc->scale == RD_PCAPNG_PASS && ifc->tsresol == RD_PCAPNG_USEC) {
        /* the usual case: a constant divisor, no division */
        sec = t / RD_PCAPNG_USEC + ifc->tsoffset;
        frac = t % RD_PCAPNG_USEC;
    } else {
        sec = t / ifc->tsresol + ifc->tsoffset;
        frac = t % ifc->tsresol;
        switch (ifc->scale) {
        case RD_PCAPNG_UP_DEC:
            frac *= ifc->factor;
            break;
        case RD_PCAPNG_DOWN_DEC:
            frac /= ifc->factor;
            break;
        case RD_PCAPNG_BIN:
            /* wraps for resolutions above 2^44, as there */
            frac = frac * RD_PCAPNG_USEC / ifc->tsresol;
            break;
        default:
            break;
        }
    }
    /* tv_sec = (time_t) sec, tv_usec = (int) frac */
    rec->sec = as_int64(sec);
    rec->usec = as_int32(frac);
}


static inline int
parse(struct rd_pcapng *ng, uint8_t *p, size_t n, bool eof,
    struct rd_pcapfile_rec *rec, size_t *used, char err[RD_ERRLEN])
{
    uint8_t   *b;
    uint32_t   type, total, ifid, caplen, len;
    uint64_t   t;
    size_t     rest;
    int        rc;

    rc = block(ng, p, n, eof, &type, &total, used, err);
    if (rc != RD_OK) {
        return rc;
    }
    b = p + RD_PCAPNG_BLOCKHDR;
    rest = total - RD_PCAPNG_MIN_BLOCK;

    switch (type) {
    case RD_PCAPNG_EPB:
        if (rest < RD_PCAPNG_EPB_FIXED) {
            return too_short(type, err);
        }
        ifid = get32(ng, b);
        t = (uint64_t) get32(ng, b + 4) << 32 | get32(ng, b + 8);
        caplen = get32(ng, b + 12);
        len = get32(ng, b + 16);
        b += RD_PCAPNG_EPB_FIXED;
        rest -= RD_PCAPNG_EPB_FIXED;
        break;

    case RD_PCAPNG_SPB:
        if (rest < RD_PCAPNG_SPB_FIXED) {
            return too_short(type, err);
        }
        /* no interface, no timestamp: interface 0, time 0 */
        ifid = 0;
        t = 0;
        len = get32(ng, b);
        caplen = RD_MIN(len, ng->snapshot);
        b += RD_PCAPNG_SPB_FIXED;
        rest -= RD_PCAPNG_SPB_FIXED;
        break;

    case RD_PCAPNG_PB:
        if (rest < RD_PCAPNG_PB_FIXED) {
            return too_short(type, err);
        }
        ifid = get16(ng, b);
        t = (uint64_t) get32(ng, b + 4) << 32 | get32(ng, b + 8);
        caplen = get32(ng, b + 12);
        len = get32(ng, b + 16);
        b += RD_PCAPNG_PB_FIXED;
        rest -= RD_PCAPNG_PB_FIXED;
        break;

    case RD_PCAPNG_IDB:
        rc = later_idb(ng, b, rest, err);
        return rc == 0 ? RD_PCAPNG_SKIP : rc;

    case RD_PCAPNG_SHB:
        rc = later_shb(ng, b, rest, err);
        return rc == 0 ? RD_PCAPNG_SKIP : rc;

    default:
        /* name resolution, statistics, secrets, custom blocks... */
        return RD_PCAPNG_SKIP;
    }

    if (ifid >= ng->nifs) {
        snprintf(err, RD_ERRLEN, "a packet arrived on interface %u, but "
                 "there's no Interface Description Block for that "
                 "interface", ifid);
        return -RD_EPROTO;
    }
    /* unlike a classic file, a long record is an error, not cut */
    if (caplen > ng->snapshot) {
        snprintf(err, RD_ERRLEN, "invalid packet capture length %u, bigger "
                 "than snaplen of %d", caplen, (int) ng->snapshot);
        return -RD_EPROTO;
    }
    if (rest < caplen) {
        return too_short(type, err);
    }
    timestamp(&ng->ifs[ifid], t, rec);
    rec->data = b;
    rec->caplen = caplen;
    rec->len = len;
    if (ng->swapped) {
        rd_pcapfile_swap_pseudo_(ng->dlt, b, caplen, len);
    }
    return RD_OK;
}


int
rd_pcapng_parse(struct rd_pcapng *ng, uint8_t *p, size_t n, bool eof,
    struct rd_pcapfile_rec *rec, size_t *used, char err[RD_ERRLEN])
{
    return parse(ng, p, n, eof, rec, used, err);
}


size_t
rd_pcapng_rd_min(const struct rd_pcapng *ng)
{
    return ng->max_block;
}


int
rd_pcapng_read(struct rd_pcapng *ng, struct rd_pcapfile_rd *rd,
    struct rd_pcapfile_rec *rec, char err[RD_ERRLEN])
{
    size_t  used;
    int     rc;

    for ( ;; ) {
        used = 0;
        rc = parse(ng, rd->_buf + rd->_head, rd->_tail - rd->_head, rd->_eof,
                   rec, &used, err);
        if (rc == RD_OK || rc == RD_PCAPNG_SKIP) {
            rd->_head += used;
            rd->_done += used;
            if (rc == RD_OK) {
                return RD_OK;
            }
            continue;
        }
        if (rc == RD_AGAIN) {
            rd_pcapfile_rd_room_(rd, used);
        }
        return rc;
    }
}
