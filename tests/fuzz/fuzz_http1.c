/*
 * libFuzzer harness for the HTTP/1.x framer (llhttp's fuzz_parser.c
 * idea).  Byte 0 picks the mode: bit 0 request/response, bits 1-2 how the
 * stream ends, bit 3 a gap in the middle, bits 4-7 how many requests to
 * push (bit 4 of byte 1.. say which are HEAD).  Byte 1 seeds the split
 * sizes.  The input is parsed whole and again in splits; the event logs
 * (a running hash of every field) must match, and the byte accounting
 * must add up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rstdiag/http1.h"

struct acc {
    uint64_t    hash;
    uint64_t    spans;      /* sum of off_end - off_begin over messages */
    uint64_t    last_end;
    uint32_t    begins;
    uint32_t    ends;
};


static void
mix(struct acc *a, uint64_t v)
{
    a->hash = (a->hash ^ v) * 0x100000001b3ull;
}


static void
on_msg(void *ctx, const struct rd_http1 *p, const struct rd_http1_msg *m,
    int ev)
{
    struct acc  *a = ctx;
    int          f;

    mix(a, (uint64_t) ev);
    mix(a, m->off_begin);
    switch (ev) {
    case RD_HTTP1_EV_BEGIN:
        if (m->off_begin < a->last_end) {
            abort();                    /* messages overlap */
        }
        a->begins++;
        break;
    case RD_HTTP1_EV_HEADERS:
        mix(a, m->header_bytes);
        mix(a, (uint64_t) m->content_length);
        mix(a, m->flags);
        mix(a, (uint64_t) m->status);
        mix(a, (uint64_t) m->version);
        break;
    case RD_HTTP1_EV_END:
        if (m->off_end < m->off_begin
            || m->off_end - m->off_begin
               != m->header_bytes + m->body_bytes + m->chunk_overhead
            || m->gap_bytes > m->body_bytes
            || (m->content_length >= 0
                && (m->flags & RD_HTTP1_F_TE_PRESENT) == 0
                && (m->findings & (1u << RD_HTTP1_BAD_CONTENT_LENGTH)) == 0
                && m->body_bytes > (uint64_t) m->content_length)
            || m->findings == 0 || m->method_len > RD_HTTP1_METHOD_LEN
            || m->target_len > RD_HTTP1_TARGET_LEN
            || m->server_len > RD_HTTP1_SERVER_LEN)
        {
            abort();
        }
        a->ends++;
        a->spans += m->off_end - m->off_begin;
        a->last_end = m->off_end;
        /* fall through */
    case RD_HTTP1_EV_EXCESS:
        mix(a, m->off_end);
        mix(a, m->body_bytes);
        mix(a, m->findings);
        mix(a, (uint64_t) m->primary);
        for (f = 0; f < RD_HTTP1_NFINDINGS; f++) {
            mix(a, m->finding_off[f]);
        }
        break;
    default:
        mix(a, (uint64_t) p->err);
        break;
    }
}


static void
parse(const uint8_t *d, size_t len, uint8_t mode, uint8_t seed,
    int split, struct acc *a, struct rd_http1 *p, int *rc)
{
    size_t    pos, n, gap_at;
    unsigned  i, npush;
    int       how;

    memset(a, 0, sizeof(*a));
    a->hash = 0xcbf29ce484222325ull;
    rd_http1_init(p, (mode & 1) ? RD_HTTP1_RESPONSE : RD_HTTP1_REQUEST,
                  (mode & 8) ? 64 : 0, on_msg, a);
    npush = mode >> 4;
    for (i = 0; i < npush; i++) {
        (void) rd_http1_push_request(p, (seed >> (i % 8)) & 1, i == 3,
                                     (seed & 0x80) ? 10 : 11);
    }
    gap_at = (mode & 8) ? len / 2 : (size_t) -1;
    pos = 0;
    i = seed;
    while (pos < len) {
        n = split ? 1 + (i = i * 1103515245u + 12345u) % 13 : len - pos;
        if (gap_at > pos && gap_at < pos + n) {
            n = gap_at - pos;
        }
        if (n > len - pos) {
            n = len - pos;
        }
        (void) rd_http1_feed(p, d + pos, n, (rd_usec_t) 0);
        pos += n;
        if (pos == gap_at) {
            rd_http1_gap(p, 7);
            gap_at = (size_t) -1;
        }
    }
    how = 1 + (mode >> 1) % 3;
    *rc = rd_http1_finish(p, how);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rd_http1  p1, p2;
    struct acc       a1, a2;
    int              rc1, rc2;

    if (size < 2) {
        return 0;
    }
    parse(data + 2, size - 2, data[0], data[1], 0, &a1, &p1, &rc1);
    parse(data + 2, size - 2, data[0], data[1], 1, &a2, &p2, &rc2);

    if (a1.hash != a2.hash || rc1 != rc2 || a1.begins != a1.ends
        || p1.offset != p2.offset
        || a1.spans + p1.excess_bytes + p1.tunnel_bytes + p1.ignored_bytes
           != p1.offset
        || (rc1 != RD_HTTP1_SAFE && rc1 != RD_HTTP1_UNSAFE))
    {
        abort();
    }
    return 0;
}
