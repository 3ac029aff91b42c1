/*
 * Test helper: read one pcapng file held in memory with libpcap
 * (fmemopen + pcap_fopen_offline, microsecond precision) and with
 * pcapngfile, the bytes handed over in chunks of pseudo-random sizes so
 * that blocks are cut everywhere, and say where the two differ: packets,
 * timestamps, caplen/len, data, end of file, error text.  The pcapng
 * twin of tests/pcapfile_diff.h; shared by tests/test_pcapngfile.c and
 * tests/fuzz/fuzz_pcapngfile.c.
 */
#ifndef RD_TESTS_PCAPNGFILE_DIFF_H
#define RD_TESTS_PCAPNGFILE_DIFF_H

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
#include "rstdiag/pcapngfile.h"

#include "reader_diff.h"

/*
 * Compare libpcap and pcapngfile on data[0..size) with chunk sizes drawn
 * from seed.  0 when they agree (res says what was read), -1 with why.
 */
static int
pcapng_diff(const uint8_t *data, size_t size, uint32_t seed,
    struct reader_diff_res *res, char why[READER_DIFF_WHY])
{
    static const uint8_t     shb[4] = { 0x0a, 0x0d, 0x0d, 0x0a };
    FILE                    *mem;
    pcap_t                  *p;
    struct pcap_pkthdr      *h;
    const u_char            *d;
    struct rd_pcapng         ng;
    struct rd_pcapfile_rd    rd;
    struct rd_pcapfile_rec   rec;
    uint8_t                 *buf, *space;
    size_t                   cap, fed, room, n, start;
    char                     perr[PCAP_ERRBUF_SIZE], err[RD_ERRLEN];
    int                      lrc, rc, ret, dlt;
    off_t                    pos;
    uint32_t                 s;

    memset(res, 0, sizeof(*res));
    why[0] = '\0';
    if (size < 4 || memcmp(data, shb, 4) != 0) {
        return 0;                   /* not pcapng (or fmemopen's size 0) */
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
    dlt = pcap_datalink(p);
    pos = ftello(pcap_file(p));

    start = 0;
    if (rd_pcapng_header(&ng, data, size, dlt, &start) != 0) {
        rd_pcapng_free(&ng);
        ret = 0;
        if (dlt != DLT_PFLOG && dlt != DLT_USB_LINUX
            && dlt != DLT_USB_LINUX_MMAPPED)
        {
            snprintf(why, READER_DIFF_WHY, "libpcap opened a pcapng file "
                     "that pcapngfile refused");
            ret = -1;
        }
        pcap_close(p);
        return ret;
    }
    if ((off_t) start != pos
        || ng.swapped != (pcap_is_swapped(p) == 1)
        || ng.major != pcap_major_version(p)
        || ng.minor != pcap_minor_version(p)
        || (int) ng.snapshot != pcap_snapshot(p))
    {
        snprintf(why, READER_DIFF_WHY, "header: pcapngfile at %zu swapped "
                 "%d version %u.%u snapshot %" PRIu32 ", libpcap at %lld %d "
                 "%d.%d %d", start, ng.swapped, ng.major, ng.minor,
                 ng.snapshot, (long long) pos, pcap_is_swapped(p),
                 pcap_major_version(p), pcap_minor_version(p),
                 pcap_snapshot(p));
        rd_pcapng_free(&ng);
        pcap_close(p);
        return -1;
    }
    res->ours = true;

    cap = rd_pcapng_rd_min(&ng) + READER_DIFF_SLACK;
    buf = malloc(cap);
    if (buf == NULL) {
        rd_pcapng_free(&ng);
        pcap_close(p);
        return 0;
    }
    rd_pcapfile_rd_init(&rd, buf, cap);
    fed = start;
    s = seed * 2654435761u + 1;     /* never 0, xorshift's fixed point */
    ret = 0;

    for ( ;; ) {
        lrc = pcap_next_ex(p, &h, &d);
        err[0] = '\0';
        while ((rc = rd_pcapng_read(&ng, &rd, &rec, err)) == RD_AGAIN) {
            if (fed == size) {
                rd_pcapfile_rd_eof(&rd);
                continue;
            }
            rd_pcapfile_rd_space(&rd, &space, &room);
            if (room == 0) {
                snprintf(why, READER_DIFF_WHY, "no room for a block");
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
                         "%u, pcapngfile %" PRId64 ".%06" PRId64 " caplen %"
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
            if (rd_pcapfile_rd_done(&rd) != size - start) {
                snprintf(why, READER_DIFF_WHY, "end of file after %"
                         PRIu64 " of %zu block bytes",
                         rd_pcapfile_rd_done(&rd), size - start);
                ret = -1;
            }
            goto done;
        }
        if (lrc == PCAP_ERROR && rc == -RD_EPROTO) {
            res->error = true;
            if (strcmp(pcap_geterr(p), err) != 0) {
                snprintf(why, READER_DIFF_WHY, "after %" PRIu64
                         " packets: libpcap \"%s\", pcapngfile \"%s\"",
                         res->packets, pcap_geterr(p), err);
                ret = -1;
            }
            goto done;
        }
        snprintf(why, READER_DIFF_WHY, "after %" PRIu64 " packets: "
                 "libpcap returned %d (%s), pcapngfile %d (%s)",
                 res->packets, lrc, lrc == PCAP_ERROR ? pcap_geterr(p) : "",
                 rc, err);
        ret = -1;
        goto done;
    }

done:
    free(buf);
    rd_pcapng_free(&ng);
    pcap_close(p);                  /* closes mem too */
    return ret;
}

#endif /* RD_TESTS_PCAPNGFILE_DIFF_H */
