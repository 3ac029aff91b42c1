/*
 * libFuzzer harness for the FastCGI record parser (llhttp's
 * fuzz_parser.c idea).  Byte 0 picks the mode: bits 0-1 how the streams
 * end, bit 2 a small header cap (64), bit 3 a gap after the first chunk
 * of each direction, bits 4-7 the gap size.  Byte 1 seeds the split
 * sizes.  The rest is chunks: a control byte (bit 7 the direction, bits
 * 0-6 the length - 1) then that many stream bytes, so both directions
 * interleave as on a connection.  Each input is parsed with every chunk
 * whole and again in random splits; the event logs (a running hash of
 * every field) must match and the accounting must add up.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *       tests/fuzz/fuzz_fcgi.c src/fcgi.c src/common.c -o fuzz_fcgi
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rstdiag/fcgi.h"

struct acc {
    uint64_t    hash;
    uint32_t    begins;
    uint32_t    ends;
};


static void
mix(struct acc *a, uint64_t v)
{
    a->hash = (a->hash ^ v) * 0x100000001b3ull;
}


static void
on_ex(void *ctx, const struct rd_fcgi *p, const struct rd_fcgi_exchange *x,
    int ev)
{
    struct acc  *a = ctx;

    mix(a, (uint64_t) ev);
    if (x == NULL) {
        mix(a, (uint64_t) p->dir[0].err);
        mix(a, (uint64_t) p->dir[1].err);
        return;
    }
    mix(a, x->id);
    mix(a, x->seq);
    mix(a, x->phase);
    mix(a, x->flags);
    switch (ev) {
    case RD_FCGI_EV_BEGIN:
        if (!x->open) {
            abort();
        }
        a->begins++;
        break;
    case RD_FCGI_EV_HEADERS:
        mix(a, x->header_bytes);
        mix(a, (uint64_t) x->content_length);
        mix(a, x->status);
        if (x->status < 100 && !(x->flags & RD_FCGI_F_STATUS_HDR)) {
            abort();            /* defaults are 200 or 302 */
        }
        break;
    case RD_FCGI_EV_END:
        if (x->open || x->findings == 0
            || x->header_bytes + x->body_bytes > x->stdout_bytes
            || x->gap_bytes > x->body_bytes
            || x->method_len > RD_FCGI_METHOD_LEN
            || x->target_len > RD_FCGI_TARGET_LEN
            || x->proto_len > RD_FCGI_PROTO_LEN
            || x->clen_len > RD_FCGI_CLEN_LEN
            || x->location_len > RD_FCGI_LOCATION_LEN
            || x->stderr_len > RD_FCGI_STDERR_LEN
            || x->stderr_len > x->stderr_bytes
            || (x->header_bytes > 0 && x->resp_wire_bytes < x->header_bytes)
            || !(x->findings & (1u << x->primary)))
        {
            abort();
        }
        a->ends++;
        mix(a, x->body_bytes);
        mix(a, x->gap_bytes);
        mix(a, x->stdout_bytes);
        mix(a, x->stderr_bytes);
        mix(a, x->stdin_bytes);
        mix(a, x->params_bytes);
        mix(a, x->resp_wire_bytes);
        mix(a, x->findings);
        mix(a, (uint64_t) x->primary);
        mix(a, x->app_status);
        mix(a, x->protocol_status);
        mix(a, (uint64_t) x->req_content_length);
        mix(a, (uint64_t) x->method_len << 8 | x->target_len);
        break;
    default:
        break;
    }
}


struct run {
    struct rd_fcgi  p;
    struct acc      a;
    uint64_t        fed[2];
    int             rc[2];
    enum rd_fcgi_phase  phase;
};


static void
parse(const uint8_t *d, size_t len, uint8_t mode, uint8_t seed, int split,
    struct run *r)
{
    size_t    pos, n, clen, k;
    unsigned  s;
    int       dir, how, gapped[2] = { 0, 0 };

    memset(r, 0, sizeof(*r));
    r->a.hash = 0xcbf29ce484222325ull;
    rd_fcgi_init(&r->p, (mode & 4) ? 64 : 0, on_ex, &r->a);
    s = seed;
    pos = 0;
    while (pos < len) {
        dir = (d[pos] & 0x80) ? RD_FCGI_SERVER : RD_FCGI_CLIENT;
        clen = (size_t) (d[pos] & 0x7f) + 1;
        pos++;
        if (clen > len - pos) {
            clen = len - pos;
        }
        for (k = 0; k < clen; k += n) {
            n = clen - k;
            if (split) {
                s = s * 1103515245u + 12345u;
                n = RD_MIN(n, (size_t) (1 + (s >> 8) % 11));
            }
            (void) rd_fcgi_feed(&r->p, dir, d + pos + k, n, 0);
            r->fed[dir] += n;
        }
        pos += clen;
        if ((mode & 8) && !gapped[dir]) {
            gapped[dir] = 1;
            rd_fcgi_gap(&r->p, dir, (uint64_t) (mode >> 4) * 97 + 1);
            r->fed[dir] += (uint64_t) (mode >> 4) * 97 + 1;
        }
    }
    how = 1 + mode % 3;
    r->rc[0] = rd_fcgi_finish(&r->p, RD_FCGI_CLIENT, how);
    r->phase = rd_fcgi_phase(&r->p);
    r->rc[1] = rd_fcgi_finish(&r->p, RD_FCGI_SERVER, how);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run  r1, r2;
    int                i;

    if (size < 2) {
        return 0;
    }
    parse(data + 2, size - 2, data[0], data[1], 0, &r1);
    parse(data + 2, size - 2, data[0], data[1], 1, &r2);

    if (r1.a.hash != r2.a.hash || r1.a.begins != r1.a.ends
        || r1.a.begins != r1.p.nexchanges || r1.phase != r2.phase
        || r1.rc[0] != r2.rc[0] || r1.rc[1] != r2.rc[1])
    {
        abort();
    }
    for (i = 0; i < 2; i++) {
        if (r1.p.dir[i].offset != r1.fed[i]
            || r1.p.dir[i].ignored_bytes > r1.p.dir[i].offset
            || (r1.rc[i] != RD_FCGI_SAFE && r1.rc[i] != RD_FCGI_UNSAFE))
        {
            abort();
        }
    }
    return 0;
}
