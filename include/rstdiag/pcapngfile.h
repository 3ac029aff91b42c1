/*
 * pcapngfile: the packets of a pcapng file, read in place from a buffer
 * the caller fills, with libpcap 1.10's results to the byte: the same
 * packets, timestamps (scaled by each interface's if_tsresol and
 * if_tsoffset to microseconds), caplen/len, end of file and error
 * messages as pcap_next_ex() on a handle opened with
 * PCAP_TSTAMP_PRECISION_MICRO (sf-pcapng.c).
 *
 * As pcapfile: no I/O, and the buffer is struct rd_pcapfile_rd.  Unlike
 * a classic file a pcapng file has state that blocks change as they come
 * (interfaces, sections), so struct rd_pcapng is written by the parser.
 */
#ifndef RD_PCAPNGFILE_H
#define RD_PCAPNGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rstdiag/common.h"
#include "rstdiag/pcapfile.h"

#define RD_PCAPNG_BLOCKHDR   8u      /* block type, total length */

/* rd_pcapng_parse(): a block that is not a packet was taken */
#define RD_PCAPNG_SKIP       3

/* One Interface Description Block of the current section. */
struct rd_pcapng_if {
    uint64_t                    tsresol;    /* timestamp units a second */
    uint64_t                    tsoffset;   /* seconds added */
    uint64_t                    factor;     /* power-of-10 scaling */
    int                         scale;      /* how to reach microseconds */
};

/* The file's state: filled by rd_pcapng_header(), kept by the parser. */
struct rd_pcapng {
    int                         dlt;
    uint32_t                    snapshot;   /* of the first interface */
    uint32_t                    max_block;  /* longer: a damaged file */
    uint16_t                    major;
    uint16_t                    minor;
    bool                        swapped;    /* other byte order than ours */
    uint32_t                    nifs;       /* interfaces of the section */
    uint32_t                    ifs_cap;
    struct rd_pcapng_if        *ifs;
};

/*
 * Read the start of a pcapng file p[0..n), the Section Header Block up
 * to and including the first Interface Description Block, of a file
 * libpcap opened with link type dlt (pcap_datalink()).  Returns 0 with
 * *used set to the bytes libpcap read at open (where the packets
 * start), or -RD_EPROTO when this is not a pcapng file this module reads
 * exactly like libpcap: not pcapng, cut before the first interface, an
 * open error, or a link type whose pseudo-header libpcap rewrites in
 * ways pcapfile does not (PFLOG, Linux USB).  Free with rd_pcapng_free()
 * either way.
 */
int rd_pcapng_header(struct rd_pcapng *ng, const uint8_t *p, size_t n,
    int dlt, size_t *used);

/* Release what ng holds. */
void rd_pcapng_free(struct rd_pcapng *ng);

/*
 * The block at the start of p[0..n), the rest of the file after the
 * header or the previous block.  eof: no byte follows p[n - 1].
 *
 * Returns 0 with *rec filled (data points into p) and *used set to the
 * block's bytes; RD_PCAPNG_SKIP with *used set when the block is not a
 * packet (an interface or section header changes ng); RD_AGAIN with
 * *used set to the bytes the block needs (> n, at most ng->max_block)
 * when !eof; RD_PCAPFILE_END when n is 0 and eof; -RD_EPROTO with
 * libpcap's message in err for a damaged file.  Reads nothing beyond
 * p[n - 1]; pseudo-headers of a swapped file are swapped in place, as in
 * rd_pcapfile_parse().
 */
int rd_pcapng_parse(struct rd_pcapng *ng, uint8_t *p, size_t n, bool eof,
    struct rd_pcapfile_rec *rec, size_t *used, char err[RD_ERRLEN]);

/* Minimum buffer size for ng: the largest block. */
size_t rd_pcapng_rd_min(const struct rd_pcapng *ng);

/*
 * rd_pcapfile_read() for pcapng: the next packet, other blocks taken on
 * the way.  The same RD_AGAIN protocol and pointer lifetime.
 */
int rd_pcapng_read(struct rd_pcapng *ng, struct rd_pcapfile_rd *rd,
    struct rd_pcapfile_rec *rec, char err[RD_ERRLEN]);

#endif /* RD_PCAPNGFILE_H */
