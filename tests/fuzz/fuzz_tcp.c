/*
 * libFuzzer harness for the TCP stream tracker alone: the input is a
 * sequence of segment descriptions (sequence offset, length, flags, ACK)
 * for the two directions of one connection, fed through rd_tcp_segment()
 * and rd_tcp_acked() with a tiny out-of-order pool so that refusals,
 * gaps, overlaps and wraparound all happen.  After every step the
 * invariants are checked (rd_tcp_validate_), and at the end every byte
 * of each direction must be accounted for exactly once: delivered,
 * reported as a gap, or cut by the snapshot length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rstdiag/decode.h"
#include "rstdiag/tcp.h"

struct acct {
    uint64_t    data;
    uint64_t    gap;
};


static void
on_data(void *ctx, int dir, const uint8_t *p, size_t len, rd_usec_t ts)
{
    struct acct  *a = ctx;
    volatile uint8_t  sink;

    (void) ts;
    if (len > 0) {
        sink = p[0];                /* the span must be readable */
        sink = p[len - 1];
        (void) sink;
    }
    a[dir].data += len;
}


static void
on_gap(void *ctx, int dir, uint64_t n, rd_usec_t ts)
{
    struct acct  *a = ctx;

    (void) ts;
    a[dir].gap += n;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t            payload[4096];
    struct rd_tcp_pool       *pool;
    struct rd_tcp_dir         d[2];
    struct rd_tcp_sink        sink;
    struct acct               a[2];
    struct rd_seg             seg;
    uint32_t                  isn[2], off, len, cap;
    size_t                    i;
    int                       dir;

    if (size < 8) {
        return 0;
    }
    memset(payload, 'x', sizeof(payload));
    /* the first bytes choose the ISNs: near the 2^32 wrap half the time */
    isn[0] = (uint32_t) data[0] << 24 | (uint32_t) data[1] << 16
             | (data[2] & 1 ? 0xffff0000u : 0);
    isn[1] = (uint32_t) data[3] << 24 | (uint32_t) data[4] << 8;
    pool = rd_tcp_pool_create(rd_alloc_default(), 4 * RD_TCP_CHUNK_DATA,
                              3 * RD_TCP_CHUNK_DATA, 3);
    if (pool == NULL) {
        abort();
    }
    memset(d, 0, sizeof(d));
    memset(a, 0, sizeof(a));
    sink.data = on_data;
    sink.gap = on_gap;
    sink.ctx = a;
    for (dir = 0; dir < 2; dir++) {
        d[dir].init = 1;
        d[dir].next_seq = isn[dir];
        d[dir].snd_max = isn[dir];
    }

    /* then 5-byte records: dir+flags, offset (2), length, captured */
    for (i = 5; i + 5 <= size; i += 5) {
        dir = data[i] & 1;
        off = (uint32_t) data[i + 1] << 8 | data[i + 2];
        len = (uint32_t) data[i + 3] * 16;
        cap = data[i + 4] & 0x80 ? len / 2 : len;
        memset(&seg, 0, sizeof(seg));
        seg.seq = isn[dir] + off * 8;
        seg.flags = (uint8_t) (RD_TCP_ACK | (data[i] & 0x02 ? RD_TCP_FIN : 0));
        seg.payload_len = len;
        seg.payload.p = payload;
        seg.payload.len = cap;
        if (data[i] & 0x04) {
            /* an ACK from the peer instead: may reveal a capture gap */
            rd_tcp_acked(pool, &d[dir], seg.seq, &sink, dir, 0);
        } else {
            rd_tcp_segment(pool, &d[dir], &seg, &sink, dir);
        }
        rd_tcp_validate_(pool, &d[0]);
        rd_tcp_validate_(pool, &d[1]);
    }
    for (dir = 0; dir < 2; dir++) {
        rd_tcp_flush(pool, &d[dir], &sink, dir, 0);
        rd_tcp_release(pool, &d[dir]);
        rd_tcp_validate_(pool, &d[dir]);
        /* accounting: what the sink saw is what the direction counted */
        if (a[dir].data != d[dir].bytes
            || a[dir].gap != d[dir].gap_bytes + d[dir].cut_bytes)
        {
            abort();
        }
    }
    rd_tcp_pool_destroy(pool);
    return 0;
}
