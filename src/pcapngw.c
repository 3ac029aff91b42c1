/*
 * pcapngw: pcapng blocks written in host order (draft-ietf-opsawg-pcapng
 * §4.1 SHB, §4.2 IDB, §4.3 EPB, §3.5 options).  Every block is built in
 * one buffer and written with one fwrite, so a block's two total-length
 * fields are the same number by construction.
 */
#include <pcap/dlt.h>
#include <string.h>

#include "rstdiag/pcapngw.h"

#define PAD4(n)         (((n) + 3u) & ~(size_t) 3u)

/* largest EPB: header, 256 KiB of packet, one comment, end of options */
#define BLOCK_MAX       (28u + RD_PCAPNGW_MAX_CAPLEN + 4u \
                         + RD_PCAPNGW_MAX_COMMENT + 4u + 4u + 4u)

/* link types whose DLT_ value is not the LINKTYPE_ value (libpcap
 * pcap-common.c dlt_to_linktype); the rest are equal */
#define LINKTYPE_RAW    101
#define LINKTYPE_PKTAP  258


int
rd_pcapngw_linktype(int dlt)
{
#ifdef DLT_RAW
    if (dlt == DLT_RAW) {
        return LINKTYPE_RAW;
    }
#endif
#ifdef DLT_PKTAP
    if (dlt == DLT_PKTAP) {
        return LINKTYPE_PKTAP;
    }
#endif
    return dlt;
}


static void
put32(uint8_t *b, size_t *at, uint32_t v)
{
    memcpy(b + *at, &v, 4);
    *at += 4;
}


static void
put16(uint8_t *b, size_t *at, uint16_t v)
{
    memcpy(b + *at, &v, 2);
    *at += 2;
}


/* an option: code, length, value, zero padding to 32 bits */
static void
put_opt(uint8_t *b, size_t *at, uint16_t code, const void *v, size_t len)
{
    put16(b, at, code);
    put16(b, at, (uint16_t) len);
    memcpy(b + *at, v, len);
    memset(b + *at + len, 0, PAD4(len) - len);
    *at += PAD4(len);
}


/* a comment's length, cut at RD_PCAPNGW_MAX_COMMENT (not mid UTF-8
 * sequence: the callers' text is ASCII, see evidence.c) */
static size_t
comment_len(const char *s)
{
    size_t  n;

    if (s == NULL) {
        return 0;
    }
    n = strlen(s);
    return n > RD_PCAPNGW_MAX_COMMENT ? RD_PCAPNGW_MAX_COMMENT : n;
}


/* close block b[0..at) of type bt: the end-of-options marker when
 * options were written, then the trailing total length, and write it */
static int
emit(struct rd_pcapngw *w, uint8_t *b, size_t at, bool opts)
{
    uint32_t  total;

    if (opts) {
        put32(b, &at, 0);           /* opt_endofopt, length 0 */
    }
    total = (uint32_t) (at + 4);
    memcpy(b + 4, &total, 4);
    put32(b, &at, total);
    if (w->err || fwrite(b, 1, at, w->f) != at) {
        w->err = true;
        return -RD_EIO;
    }
    w->bytes += at;
    return 0;
}


int
rd_pcapngw_begin(struct rd_pcapngw *w, FILE *f, const char *comment)
{
    uint8_t   b[64 + RD_PCAPNGW_MAX_COMMENT];
    size_t    at, n;
    uint64_t  seclen;

    memset(w, 0, sizeof(*w));
    w->f = f;
    at = 0;
    put32(b, &at, RD_PCAPNGW_BT_SHB);
    put32(b, &at, 0);               /* total length, set by emit() */
    put32(b, &at, RD_PCAPNGW_MAGIC);
    put16(b, &at, 1);               /* version 1.0 */
    put16(b, &at, 0);
    seclen = UINT64_MAX;            /* -1: section length not given */
    memcpy(b + at, &seclen, 8);
    at += 8;
    n = comment_len(comment);
    if (n > 0) {
        put_opt(b, &at, RD_PCAPNGW_OPT_COMMENT, comment, n);
    }
    put_opt(b, &at, RD_PCAPNGW_OPT_USERAPPL, "rstdiag", 7);
    return emit(w, b, at, true);
}


int
rd_pcapngw_iface(struct rd_pcapngw *w, int linktype, uint32_t snaplen)
{
    uint8_t   b[32];
    size_t    at;
    uint8_t   res = 6;              /* 10^-6 s */
    uint32_t  i;

    for (i = 0; i < w->nifs; i++) {
        if (w->linktype[i] == linktype) {
            return (int) i;
        }
    }
    if (w->nifs == RD_PCAPNGW_MAX_IFS) {
        return -RD_ENOMEM;
    }
    at = 0;
    put32(b, &at, RD_PCAPNGW_BT_IDB);
    put32(b, &at, 0);
    put16(b, &at, (uint16_t) linktype);
    put16(b, &at, 0);               /* reserved */
    put32(b, &at, snaplen);
    put_opt(b, &at, RD_PCAPNGW_OPT_TSRESOL, &res, 1);
    if (emit(w, b, at, true) != 0) {
        return -RD_EIO;
    }
    w->linktype[w->nifs] = linktype;
    return (int) w->nifs++;
}


int
rd_pcapngw_packet(struct rd_pcapngw *w, int ifid, rd_usec_t ts,
    const uint8_t *data, uint32_t caplen, uint32_t wirelen,
    const char *comment)
{
    static uint8_t  b[BLOCK_MAX];   /* one writer thread (main.c) */
    size_t          at, n;
    uint64_t        t;

    if (ifid < 0 || (uint32_t) ifid >= w->nifs) {
        return -RD_EINVAL;
    }
    if (wirelen < caplen) {
        wirelen = caplen;
    }
    if (caplen > RD_PCAPNGW_MAX_CAPLEN) {
        caplen = RD_PCAPNGW_MAX_CAPLEN;     /* cut, as a snaplen would */
    }
    t = ts < 0 ? 0 : (uint64_t) ts;
    at = 0;
    put32(b, &at, RD_PCAPNGW_BT_EPB);
    put32(b, &at, 0);
    put32(b, &at, (uint32_t) ifid);
    put32(b, &at, (uint32_t) (t >> 32));    /* high 32 bits, then low */
    put32(b, &at, (uint32_t) t);
    put32(b, &at, caplen);
    put32(b, &at, wirelen);
    memcpy(b + at, data, caplen);
    memset(b + at + caplen, 0, PAD4(caplen) - caplen);
    at += PAD4(caplen);
    n = comment_len(comment);
    if (n > 0) {
        put_opt(b, &at, RD_PCAPNGW_OPT_COMMENT, comment, n);
    }
    if (emit(w, b, at, n > 0) != 0) {
        return -RD_EIO;
    }
    w->packets++;
    return 0;
}


int
rd_pcapngw_end(struct rd_pcapngw *w)
{
    if (fflush(w->f) != 0 || ferror(w->f)) {
        w->err = true;
    }
    return w->err ? -RD_EIO : 0;
}
