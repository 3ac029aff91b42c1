/*
 * pcapfile internals shared with pcapngfile.c, which reads pcapng files
 * into the same buffer and hands out the same records: not part of
 * either module's contract.
 */
#ifndef RD_PCAPFILE_INT_H
#define RD_PCAPFILE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rstdiag/pcapfile.h"

/* libpcap's max_snaplen_for_dlt() */
uint32_t rd_pcapfile_max_snaplen_(int dlt);

/* false for the link types whose pseudo-headers we leave to libpcap */
bool rd_pcapfile_dlt_ok_(int dlt);

/* pcap_post_process() of a swapped file, for the link types we read */
void rd_pcapfile_swap_pseudo_(int dlt, uint8_t *d, uint32_t caplen,
    uint32_t len);

/* Move the unread bytes to the front: a block of need bytes will fit. */
void rd_pcapfile_rd_room_(struct rd_pcapfile_rd *rd, size_t need);

#endif /* RD_PCAPFILE_INT_H */
