/*
 * capture: packets from libpcap.  Offline: any number of pcap/pcapng files
 * read as one capture in timestamp order (a merge, like mergecap); every
 * file is opened by libpcap, and classic pcap regular files are then read
 * in place by pcapfile.h (same packets and messages), unless the
 * environment has RSTDIAG_READER=libpcap.  Live: an activated handle for
 * the event loop (live.c drives it).
 */
#ifndef RD_CAPTURE_H
#define RD_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <pcap/pcap.h>

#include "rstdiag/common.h"

struct rd_capture_pkt {
    int                 dlt;
    const uint8_t      *data;
    uint32_t            caplen;
    uint32_t            len;
    rd_usec_t           ts;
    size_t              input;      /* index of the file it came from */
};

/* Facts about one input, for the summary. */
struct rd_capture_input {
    const char         *name;
    uint64_t            packets;
    int                 dlt;
    bool                truncated;  /* a read error cut it short */
    char                error[PCAP_ERRBUF_SIZE];
};

struct rd_offline;

/*
 * Open every file (name "-" is standard input) and compile filter (may be
 * NULL) on each.  On failure returns NULL with "FILE: reason" in err: a
 * missing file, not a capture, an unsupported link type, a bad filter.
 */
struct rd_offline *rd_offline_open(const char *const *names, size_t n,
    const char *filter, char err[RD_ERRLEN]);

/*
 * The next packet across all files in timestamp order.  Returns 1 and
 * fills *pkt (data valid until the next call), 0 when every file is done.
 * A read error ends that file: it is marked truncated, the others go on.
 */
int rd_offline_next(struct rd_offline *o, struct rd_capture_pkt *pkt);

/* Bytes read so far and total size of the regular files (0 if unknown). */
void rd_offline_progress(const struct rd_offline *o, uint64_t *done,
    uint64_t *total);

/* The inputs, for the summary; valid until rd_offline_close(). */
const struct rd_capture_input *rd_offline_inputs(const struct rd_offline *o,
    size_t *n);

void rd_offline_close(struct rd_offline *o);

/*
 * Open interface iface live: snaplen, immediate mode, a large buffer,
 * filter (may be NULL), non-blocking.  On failure NULL and "IFACE: reason"
 * in err; pcap_activate() warnings go to warn (empty when none).
 */
pcap_t *rd_live_open(const char *iface, int snaplen, const char *filter,
    char err[RD_ERRLEN], char warn[RD_ERRLEN]);

#endif /* RD_CAPTURE_H */
