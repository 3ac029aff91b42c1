/*
 * libFuzzer harness for the TLS record-layer reader.  Byte 0 picks the
 * mode: bit 0 unpaired directions, bit 1 a gap after the first chunk of
 * each direction, bit 2 the client told TLS 1.3 by hand at the start,
 * bits 4-7 the gap size.  Bytes 1-2 are a cut position in the stream
 * bytes, byte 3 seeds random splits.  The rest is chunks: a control byte
 * (bit 7 the direction, bits 0-6 the length - 1) then that many stream
 * bytes, so both directions interleave as on a connection.  Each input
 * is parsed with every chunk whole, again with the chunk holding the cut
 * position fed in two pieces, and again in random small pieces; the
 * event logs (a running hash of the fields each event reports) and the
 * final states must match, and the accounting must add up.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Iinclude \
 *       tests/fuzz/fuzz_tls.c src/tls.c src/common.c -o fuzz_tls
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rstdiag/tls.h"
#include "src/tls_int.h"

struct acc {
    uint64_t    hash;
    uint32_t    events;
};

struct run {
    struct rd_tls  p[2];
    struct acc     a;
    uint64_t       fed[2];
    int            rc[2];
    int            feed_rc[2];
    int            phase;
    int            cn[2];
};


static void
mix(struct acc *a, uint64_t v)
{
    a->hash = (a->hash ^ v) * 0x100000001b3ull;
}


static void
mix_bytes(struct acc *a, const uint8_t *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        mix(a, p[i]);
    }
}


static void
on_ev(void *ctx, const struct rd_tls *p, int ev)
{
    struct acc  *a = ctx;

    a->events++;
    mix(a, (uint64_t) ev << 8 | (uint64_t) p->dir);
    mix(a, p->flags);
    mix(a, p->records);
    mix(a, p->phase);
    if (p->sni_len > RD_TLS_SNI_LEN || p->alpn_len > RD_TLS_ALPN_LEN
        || p->nversions > RD_TLS_VERSIONS)
    {
        abort();
    }
    switch (ev) {
    case RD_TLS_EV_CLIENT_HELLO:
    case RD_TLS_EV_SERVER_HELLO:
    case RD_TLS_EV_HRR:
        mix(a, p->legacy_version);
        mix(a, p->version);
        mix(a, p->cipher);
        mix(a, p->nalpn);
        mix_bytes(a, p->sni, p->sni_len);
        mix_bytes(a, p->alpn, p->alpn_len);
        mix_bytes(a, (const uint8_t *) p->versions,
            (size_t) p->nversions * 2);
        break;
    case RD_TLS_EV_HANDSHAKE:
        mix(a, p->hs_type);
        mix(a, p->hs_messages);
        break;
    case RD_TLS_EV_ALERT:
        mix(a, (uint64_t) p->alert_level << 8 | p->alert_desc);
        break;
    case RD_TLS_EV_ENC_ALERT:
    case RD_TLS_EV_APPDATA_FIRST:
        mix(a, p->last_len);
        break;
    case RD_TLS_EV_ERROR:
        if (p->err == RD_TLS_E_NONE || p->reason == NULL) {
            abort();
        }
        mix(a, (uint64_t) p->err);
        mix_bytes(a, (const uint8_t *) p->reason, strlen(p->reason));
        break;
    default:
        break;
    }
}


static void
mix_final(struct acc *a, const struct rd_tls *p)
{
    mix(a, p->flags);
    mix(a, p->phase);
    mix(a, p->finished);
    mix(a, (uint64_t) p->err);
    mix(a, p->version);
    mix(a, p->cipher);
    mix(a, p->record_version);
    mix(a, p->offset);
    mix(a, p->ignored_bytes);
    mix(a, p->gap_bytes);
    mix(a, p->records);
    mix(a, p->hs_records);
    mix(a, p->hs_messages);
    mix(a, p->hs_types);
    mix(a, p->ccs_records);
    mix(a, p->alert_records);
    mix(a, p->alerts);
    mix(a, p->enc_alert_records);
    mix(a, p->encrypted_records);
    mix(a, p->early_records);
    mix(a, p->appdata_records);
    mix(a, p->appdata_bytes);
    mix(a, p->heartbeat_records);
    mix(a, p->last_type);
    mix(a, p->last_len);
}


static void
feed(struct run *r, int dir, const uint8_t *d, size_t n)
{
    int  rc;

    rc = rd_tls_feed(&r->p[dir], d, n, 7);
    if (rc != RD_OK && rc != -RD_EPROTO) {
        abort();
    }
    r->feed_rc[dir] = rc;
    r->fed[dir] += n;
    rd_tls_validate_(&r->p[dir]);
}


/* split: 0 whole chunks, 1 one cut at position cut, 2 random pieces */
static void
parse(const uint8_t *d, size_t len, uint8_t mode, size_t cut, uint8_t seed,
    int split, struct run *r)
{
    size_t    pos, n, clen, k, sbytes;
    unsigned  s;
    int       dir, gapped[2] = { 0, 0 };
    uint64_t  gap;

    memset(r, 0, sizeof(*r));
    r->a.hash = 0xcbf29ce484222325ull;
    rd_tls_init(&r->p[0], RD_TLS_CLIENT, on_ev, &r->a);
    rd_tls_init(&r->p[1], RD_TLS_SERVER, on_ev, &r->a);
    if (!(mode & 1)) {
        rd_tls_pair(&r->p[0], &r->p[1]);
    }
    if (mode & 4) {
        rd_tls_set_version(&r->p[0], RD_TLS_V13);
    }
    s = seed;
    pos = 0;
    sbytes = 0;                 /* stream bytes before this chunk */
    while (pos < len) {
        dir = (d[pos] & 0x80) ? RD_TLS_SERVER : RD_TLS_CLIENT;
        clen = (size_t) (d[pos] & 0x7f) + 1;
        pos++;
        if (clen > len - pos) {
            clen = len - pos;
        }
        if (clen == 0) {
            break;              /* a control byte at the very end */
        }
        if (split == 1 && cut > sbytes && cut < sbytes + clen) {
            feed(r, dir, d + pos, cut - sbytes);
            feed(r, dir, d + pos + (cut - sbytes), clen - (cut - sbytes));
        } else if (split == 2) {
            for (k = 0; k < clen; k += n) {
                s = s * 1103515245u + 12345u;
                n = RD_MIN(clen - k, (size_t) (1 + (s >> 8) % 7));
                feed(r, dir, d + pos + k, n);
            }
        } else {
            feed(r, dir, d + pos, clen);
        }
        pos += clen;
        sbytes += clen;
        if ((mode & 2) && !gapped[dir]) {
            gapped[dir] = 1;
            gap = (uint64_t) (mode >> 4) * 37 + 1;
            rd_tls_gap(&r->p[dir], gap);
            r->fed[dir] += gap;
            rd_tls_validate_(&r->p[dir]);
        }
    }
    r->phase = rd_tls_phase(&r->p[0], &r->p[1]);
    for (dir = 0; dir < 2; dir++) {
        r->cn[dir] = rd_tls_probable_close_notify(&r->p[dir]);
        r->rc[dir] = rd_tls_finish(&r->p[dir]);
        rd_tls_validate_(&r->p[dir]);
        mix_final(&r->a, &r->p[dir]);
    }
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run  r[3];
    size_t             cut;
    int                i, k;

    if (size < 4) {
        (void) rd_tls_looks_like(data, size);
        return 0;
    }
    cut = (size_t) data[1] << 8 | data[2];
    for (i = 0; i < 3; i++) {
        parse(data + 4, size - 4, data[0], cut, data[3], i, &r[i]);
    }
    for (i = 1; i < 3; i++) {
        if (r[i].a.hash != r[0].a.hash || r[i].a.events != r[0].a.events
            || r[i].phase != r[0].phase)
        {
            abort();
        }
        for (k = 0; k < 2; k++) {
            if (r[i].rc[k] != r[0].rc[k] || r[i].cn[k] != r[0].cn[k]
                || r[i].feed_rc[k] != r[0].feed_rc[k])
            {
                abort();
            }
        }
    }
    for (k = 0; k < 2; k++) {
        if (r[0].p[k].offset != r[0].fed[k]
            || r[0].p[k].ignored_bytes > r[0].p[k].offset
            || (r[0].rc[k] != RD_TLS_SAFE && r[0].rc[k] != RD_TLS_UNSAFE)
            || r[0].cn[k] < -1 || r[0].cn[k] > 1
            || (r[0].p[k].err == RD_TLS_E_NONE && r[0].feed_rc[k] != RD_OK)
            || (r[0].p[k].err != RD_TLS_E_NONE && r[0].rc[k] != RD_TLS_UNSAFE))
        {
            abort();
        }
    }
    (void) rd_tls_looks_like(data + 4, size - 4);
    return 0;
}
