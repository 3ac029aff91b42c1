/*
 * Test helper: read one capture file held in memory with libpcap
 * (fmemopen + pcap_fopen_offline, microsecond precision) and with
 * pcapfile, the bytes handed to pcapfile in chunks of pseudo-random sizes
 * so that records are cut everywhere, and say where the two differ:
 * packets, timestamps, caplen/len, data, end of file, error text.
 * Shared by tests/test_pcapfile.c and tests/fuzz/fuzz_pcapfile.c.
 */
#ifndef RD_TESTS_PCAPFILE_DIFF_H
#define RD_TESTS_PCAPFILE_DIFF_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "rstdiag/common.h"
#include "rstdiag/pcapfile.h"

#include "reader_diff.h"

/* Would pcapfile be expected to read a file libpcap opened? */
static bool
pcapfile_diff_expect_ours(const uint8_t *data, size_t size, int dlt)
{
    static const uint8_t  magics[][4] = {
        { 0xa1, 0xb2, 0xc3, 0xd4 }, { 0xd4, 0xc3, 0xb2, 0xa1 },
        { 0xa1, 0xb2, 0x3c, 0x4d }, { 0x4d, 0x3c, 0xb2, 0xa1 },
    };
    size_t                i;

    if (size < RD_PCAPFILE_HDRLEN || dlt == DLT_PFLOG
        || dlt == DLT_USB_LINUX || dlt == DLT_USB_LINUX_MMAPPED)
    {
        return false;
    }
    for (i = 0; i < RD_NELEMS(magics); i++) {
        if (memcmp(data, magics[i], 4) == 0) {
            return true;
        }
    }
    return false;
}


/*
 * Compare libpcap and pcapfile on data[0..size) with chunk sizes drawn
 * from seed.  0 when they agree (res says what was read), -1 with why.
 */
static int
pcapfile_diff(const uint8_t *data, size_t size, uint32_t seed,
    struct reader_diff_res *res, char why[READER_DIFF_WHY])
{
    FILE                   *mem;
    pcap_t                 *p;
    struct pcap_pkthdr     *h;
    const u_char           *d;
    struct rd_pcapfile      pf;
    struct rd_pcapfile_rd   rd;
    struct rd_pcapfile_rec  rec;
    uint8_t                *buf, *space;
    size_t                  cap, fed, room, n;
    char                    perr[PCAP_ERRBUF_SIZE], err[RD_ERRLEN];
    int                     lrc, rc, ret;
    uint32_t                s;

    memset(res, 0, sizeof(*res));
    why[0] = '\0';
    if (size == 0) {
        return 0;                   /* fmemopen refuses a size of 0 */
    }
    mem = fmemopen((void *) (uintptr_t) data, size, "r");
    if (mem == NULL) {
        return 0;
    }
    p = pcap_fopen_offline_with_tstamp_precision(mem,
            PCAP_TSTAMP_PRECISION_MICRO, perr);
    if (p == NULL) {
        fclose(mem);
        return 0;                   /* libpcap refused it at open */
    }

    if (rd_pcapfile_header(&pf, data, size, pcap_datalink(p)) != 0) {
        ret = 0;
        if (pcapfile_diff_expect_ours(data, size, pcap_datalink(p))) {
            snprintf(why, READER_DIFF_WHY, "libpcap opened a classic "
                     "pcap file that pcapfile refused");
            ret = -1;
        }
        pcap_close(p);
        return ret;
    }
    if (!pcapfile_diff_expect_ours(data, size, pcap_datalink(p))
        || pf.swapped != (pcap_is_swapped(p) == 1)
        || pf.major != pcap_major_version(p)
        || pf.minor != pcap_minor_version(p)
        || (int) pf.snapshot != pcap_snapshot(p))
    {
        snprintf(why, READER_DIFF_WHY, "file header: pcapfile swapped %d "
                 "version %u.%u snapshot %" PRIu32 ", libpcap %d %d.%d %d",
                 pf.swapped, pf.major, pf.minor, pf.snapshot,
                 pcap_is_swapped(p), pcap_major_version(p),
                 pcap_minor_version(p), pcap_snapshot(p));
        pcap_close(p);
        return -1;
    }
    res->ours = true;

    cap = rd_pcapfile_rd_min(&pf) + READER_DIFF_SLACK;
    buf = malloc(cap);
    if (buf == NULL) {
        pcap_close(p);
        return 0;
    }
    rd_pcapfile_rd_init(&rd, buf, cap);
    fed = RD_PCAPFILE_HDRLEN;
    s = seed * 2654435761u + 1;     /* never 0, xorshift's fixed point */
    ret = 0;

    for ( ;; ) {
        lrc = pcap_next_ex(p, &h, &d);
        err[0] = '\0';
        while ((rc = rd_pcapfile_read(&pf, &rd, &rec, err)) == RD_AGAIN) {
            if (fed == size) {
                rd_pcapfile_rd_eof(&rd);
                continue;
            }
            rd_pcapfile_rd_space(&rd, &space, &room);
            if (room == 0) {
                snprintf(why, READER_DIFF_WHY, "no room for a record");
                ret = -1;
                goto done;
            }
            n = reader_diff_chunk(&s, room, size - fed);
            memcpy(space, data + fed, n);
            rd_pcapfile_rd_commit(&rd, n);
            fed += n;
        }

        if (lrc == 1 && rc == RD_OK) {
            res->packets++;
            if (h->caplen != rec.caplen || h->len != rec.len
                || (int64_t) h->ts.tv_sec != rec.sec
                || (int64_t) h->ts.tv_usec != rec.usec
                || memcmp(d, rec.data, h->caplen) != 0)
            {
                snprintf(why, READER_DIFF_WHY, "packet %" PRIu64 ": "
                         "libpcap %" PRId64 ".%06" PRId64 " caplen %u len "
                         "%u, pcapfile %" PRId64 ".%06" PRId64 " caplen %"
                         PRIu32 " len %" PRIu32 "%s", res->packets,
                         (int64_t) h->ts.tv_sec, (int64_t) h->ts.tv_usec,
                         h->caplen, h->len, rec.sec, rec.usec, rec.caplen,
                         rec.len, h->caplen == rec.caplen
                         && memcmp(d, rec.data, h->caplen) != 0
                         ? ", data differs" : "");
                ret = -1;
                goto done;
            }
            continue;
        }
        if (lrc == PCAP_ERROR_BREAK && rc == RD_PCAPFILE_END) {
            if (rd_pcapfile_rd_done(&rd) != size - RD_PCAPFILE_HDRLEN) {
                snprintf(why, READER_DIFF_WHY, "end of file after %"
                         PRIu64 " of %zu record bytes",
                         rd_pcapfile_rd_done(&rd),
                         size - RD_PCAPFILE_HDRLEN);
                ret = -1;
            }
            goto done;
        }
        if (lrc == PCAP_ERROR && rc == -RD_EPROTO) {
            res->error = true;
            if (strcmp(pcap_geterr(p), err) != 0) {
                snprintf(why, READER_DIFF_WHY, "after %" PRIu64
                         " packets: libpcap \"%s\", pcapfile \"%s\"",
                         res->packets, pcap_geterr(p), err);
                ret = -1;
            }
            goto done;
        }
        snprintf(why, READER_DIFF_WHY, "after %" PRIu64 " packets: "
                 "libpcap returned %d (%s), pcapfile %d (%s)", res->packets,
                 lrc, lrc == PCAP_ERROR ? pcap_geterr(p) : "", rc, err);
        ret = -1;
        goto done;
    }

done:
    free(buf);
    pcap_close(p);                  /* closes mem too */
    return ret;
}

#endif /* RD_TESTS_PCAPFILE_DIFF_H */
