/*
 * libFuzzer harness for rd_decode() (llhttp test/fuzzers/fuzz_parser.c,
 * libpcap testprogs/fuzz/fuzz_pcap.c).  The first input byte picks the
 * link type (bits 0-6) and whether the frame was cut by the snaplen (bit
 * 7: wirelen = caplen + 70000), the rest is the frame.  The frame is
 * copied into a buffer of exactly its size so that ASan sees any read
 * past caplen.  On OK the
 * segment's invariants are checked and a violation aborts.  Every frame
 * is decoded twice, by rd_decode() and by the general path alone
 * (rd_decode_slow_): a different status or segment aborts, so the fuzzer
 * also hunts for frames where the fast path cuts a corner.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude -I. \
 *       tests/fuzz/fuzz_decode.c src/decode.c src/common.c -o fuzz_decode
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "rstdiag/common.h"
#include "rstdiag/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the supported link types, and one that is not (BAD_DLT path); the
 * indices are the seeds' first bytes in tests/fuzz/run-fuzzer */
static const int  dlts[] = {
    DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP,
    DLT_RAW, 12, 14, 101, 228, 229, 239, 258,
    DLT_FDDI, DLT_IEEE802_11, DLT_IEEE802_11_RADIO, DLT_PPI, DLT_PPP
};


/* Field by field: the fast path does not zero the padding. */
static int
same_seg(const struct rd_seg *a, const struct rd_seg *b)
{
    return a->ts == b->ts && a->af == b->af && a->ttl == b->ttl
           && a->ip_id == b->ip_id && a->df == b->df
           && memcmp(a->src, b->src, sizeof(a->src)) == 0
           && memcmp(a->dst, b->dst, sizeof(a->dst)) == 0
           && a->sport == b->sport && a->dport == b->dport
           && a->seq == b->seq && a->ack == b->ack
           && a->flags == b->flags && a->win == b->win
           && a->opts.mss == b->opts.mss
           && a->opts.wscale == b->opts.wscale
           && a->opts.has_wscale == b->opts.has_wscale
           && a->opts.sack_perm == b->opts.sack_perm
           && a->opts.has_sack == b->opts.has_sack
           && a->opts.has_ts == b->opts.has_ts
           && a->opts.tsval == b->opts.tsval
           && a->opts.tsecr == b->opts.tsecr
           && a->payload_len == b->payload_len
           && a->payload.p == b->payload.p
           && a->payload.len == b->payload.len;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                     dlt;
    uint8_t                *buf;
    uint32_t                caplen, wirelen;
    struct rd_seg           seg, slow;
    enum rd_decode_status   st, st_slow;
    char                    ep[RD_EP_STRLEN];

    if (size < 1) {
        return 0;
    }
    dlt = dlts[(data[0] & 0x7f) % RD_NELEMS(dlts)];
    caplen = (uint32_t) (size - 1);
    /* bit 7: the snaplen cut the frame (a BIG TCP length on the wire) */
    wirelen = (data[0] & 0x80) ? caplen + 70000 : caplen;

    buf = malloc(caplen > 0 ? caplen : 1);
    if (buf == NULL) {
        return 0;
    }
    if (caplen > 0) {
        memcpy(buf, data + 1, caplen);
    }

    /* different garbage in both, so a field left unwritten shows */
    memset(&seg, 0xa5, sizeof(seg));
    memset(&slow, 0x5a, sizeof(slow));
    st = rd_decode(dlt, buf, caplen, wirelen, 0, &seg);
    st_slow = rd_decode_slow_(dlt, buf, caplen, wirelen, 0, &slow);
    if (st != st_slow || (st == RD_DECODE_OK && !same_seg(&seg, &slow))) {
        abort();
    }

    if (st >= RD_DECODE_NSTATUS
        || rd_tok2str(rd_decode_status_names, (int) st, NULL) == NULL)
    {
        abort();
    }
    if (st == RD_DECODE_OK) {
        /* the captured payload is inside the frame and within the wire
         * payload length */
        if (seg.payload.len > seg.payload_len
            || seg.payload.p < buf
            || seg.payload.p + seg.payload.len > buf + caplen
            || (seg.af != 4 && seg.af != 6))
        {
            abort();
        }
        rd_ep_format(ep, sizeof(ep), seg.af, seg.src, seg.sport);
        rd_ep_format(ep, sizeof(ep), seg.af, seg.dst, seg.dport);
    }

    free(buf);
    return 0;
}
