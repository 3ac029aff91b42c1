/*
 * pcapngw: a small pcapng writer (libpcap writes classic pcap only).
 *
 * One section: a Section Header Block with a comment and shb_userappl
 * "rstdiag", one Interface Description Block per link type used (with
 * if_tsresol 6, microseconds, and a snapshot length), and Enhanced Packet
 * Blocks, each with an optional comment.  Host byte order (the
 * byte-order magic says which), every block padded to 32 bits with its
 * total length at both ends (draft-ietf-opsawg-pcapng §3.1, §4).
 *
 * Writes to a caller-owned stdio stream; errors are sticky: check
 * rd_pcapngw_end() once at the end.
 */
#ifndef RD_PCAPNGW_H
#define RD_PCAPNGW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rstdiag/common.h"

#define RD_PCAPNGW_BT_SHB       0x0a0d0d0au
#define RD_PCAPNGW_BT_IDB       0x00000001u
#define RD_PCAPNGW_BT_EPB       0x00000006u
#define RD_PCAPNGW_MAGIC        0x1a2b3c4du
#define RD_PCAPNGW_OPT_COMMENT  1u
#define RD_PCAPNGW_OPT_USERAPPL 4u      /* shb_userappl */
#define RD_PCAPNGW_OPT_TSRESOL  9u      /* if_tsresol */
#define RD_PCAPNGW_MAX_IFS      8       /* link types in one file */
#define RD_PCAPNGW_MAX_COMMENT  4096    /* longer comments are cut */
#define RD_PCAPNGW_MAX_CAPLEN   262144u /* longer packets are cut */

struct rd_pcapngw {
    FILE           *f;                  /* borrowed */
    bool            err;                /* a write failed (sticky) */
    uint32_t        nifs;
    int             linktype[RD_PCAPNGW_MAX_IFS];   /* of each IDB */
    uint64_t        bytes;              /* written so far */
    uint64_t        packets;
};

/* The LINKTYPE_ value of a libpcap DLT_ value (they differ for a few,
 * DLT_RAW above all). */
int rd_pcapngw_linktype(int dlt);

/* Start a file on f with the section comment (may be NULL); -RD_EIO when
 * the write failed. */
int rd_pcapngw_begin(struct rd_pcapngw *w, FILE *f, const char *comment);

/* The interface id for linktype, writing its IDB (snaplen, 0: none) the
 * first time; -RD_ENOMEM when RD_PCAPNGW_MAX_IFS are in use, -RD_EIO. */
int rd_pcapngw_iface(struct rd_pcapngw *w, int linktype, uint32_t snaplen);

/* One packet on interface ifid: ts microseconds since the epoch,
 * data[0..caplen) of a wirelen frame (cut to RD_PCAPNGW_MAX_CAPLEN
 * bytes), comment or NULL.  -RD_EINVAL for an unknown ifid. */
int rd_pcapngw_packet(struct rd_pcapngw *w, int ifid, rd_usec_t ts,
    const uint8_t *data, uint32_t caplen, uint32_t wirelen,
    const char *comment);

/* Flush; 0, or -RD_EIO when any write of the file failed.  The stream
 * stays open (the caller closes it). */
int rd_pcapngw_end(struct rd_pcapngw *w);

#endif /* RD_PCAPNGW_H */
