/*
 * libFuzzer harness for the nginx configuration reader.  Byte 0 seeds
 * the split sizes, byte 1 the nginx version asked for; the rest is the
 * text.  Each input is parsed whole and again in pieces: the outcome
 * (error text, or directive count and every address) must be the same;
 * then every query runs on what was extracted.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *       tests/fuzz/fuzz_nginxconf.c src/nginxconf.c src/common.c \
 *       -o fuzz_nginxconf
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rstdiag/nginxconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static struct rd_nginxconf *
parse(const uint8_t *p, size_t len, uint8_t seed, int *rc)
{
    struct rd_nginxconf  *c;
    size_t                off, n;
    uint32_t              x;

    c = rd_nginxconf_create(rd_alloc_default(), "fuzz.conf");
    if (c == NULL) {
        abort();
    }
    x = seed;
    *rc = 0;
    for (off = 0; off < len && *rc == 0; off += n) {
        if (seed == 0) {
            n = len;
        } else {
            x = x * 1103515245u + 12345u;
            n = 1 + (x >> 16) % 64;
            if (n > len - off) {
                n = len - off;
            }
        }
        *rc = rd_nginxconf_feed(c, p + off, n);
    }
    if (*rc == 0) {
        *rc = rd_nginxconf_finish(c);
    }
    return c;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rd_nginxconf            *a, *b;
    struct rd_nginxconf_addr        x, y;
    struct rd_nginxconf_values      v;
    struct rd_nginxconf_value       el;
    struct rd_nginxconf_stats       st;
    struct rd_nginxconf_directive   d;
    uint32_t                        i, n, k, version;
    int                             rca, rcb;

    if (size < 2) {
        return 0;
    }
    version = (uint32_t) data[1] * 100u;
    a = parse(data + 2, size - 2, 0, &rca);
    b = parse(data + 2, size - 2, data[0] | 1, &rcb);
    if (rca != rcb) {
        abort();
    }
    if (rca != 0) {
        if (strcmp(rd_nginxconf_error(a), rd_nginxconf_error(b)) != 0) {
            abort();
        }
        goto out;
    }
    if (rd_nginxconf_ndirectives(a) != rd_nginxconf_ndirectives(b)) {
        abort();
    }
    for (i = 0; rd_nginxconf_directive(a, i, &d); i++) {
        if (d.argc == 0 || d.argv[0] == NULL || d.file == NULL) {
            abort();
        }
    }
    for (i = 0; rd_nginxconf_addr(a, i, &x); i++) {
        if (!rd_nginxconf_addr(b, i, &y) || strcmp(x.spec, y.spec) != 0
            || x.kind != y.kind || x.fastcgi != y.fastcgi)
        {
            abort();
        }
        n = rd_nginxconf_location_for(a, version, x.upstream, x.af, x.addr,
                                       x.port, 0, &v);
        for (k = 0; k < n && k < 4; k++) {
            rd_nginxconf_location_for(a, version, x.upstream, x.af, x.addr,
                                      x.port, k, &v);
            if (v.pass == NULL || v.location == NULL
                || v.v[RD_NGINXCONF_PROXY_READ_TIMEOUT].text == NULL)
            {
                abort();
            }
        }
        (void) rd_nginxconf_upstream_name(a, x.af, x.addr, x.port);
    }
    if (rd_nginxconf_addr(b, i, &y)) {
        abort();
    }
    rd_nginxconf_error_log(a, &el);
    rd_nginxconf_stats(a, &st);
    if (st.directives != rd_nginxconf_ndirectives(a)) {
        abort();
    }

out:
    rd_nginxconf_destroy(a);
    rd_nginxconf_destroy(b);
    return 0;
}
