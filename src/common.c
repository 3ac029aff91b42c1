#include <arpa/inet.h>
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rstdiag/common.h"


const char *
rd_tok2str(const struct rd_tok *t, int v, const char *dflt)
{
    for (; t->s != NULL; t++) {
        if (t->v == v) {
            return t->s;
        }
    }
    return dflt;
}


void
rd_require_fail_(const char *expr, const char *file, int line)
{
    fprintf(stderr, "rstdiag: internal error: %s:%d: %s\n", file, line, expr);
    abort();
}


static void *
default_calloc(void *ctx, size_t n, size_t size)
{
    (void) ctx;
    return calloc(n, size);
}


static void
default_free(void *ctx, void *p)
{
    (void) ctx;
    free(p);
}


/*
 * Anonymous private mappings are zero pages until written, so a table
 * costs resident memory only where it is used, and no allocator setting
 * (MALLOC_PERTURB_, a debugging malloc) can touch it first.  NORESERVE:
 * the tables are sized for the worst case, do not charge swap for it.
 */
static void *
default_big_calloc(void *ctx, size_t n, size_t size)
{
    void  *p;

    (void) ctx;
    p = mmap(NULL, n * size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}


static void
default_big_free(void *ctx, void *p, size_t n, size_t size)
{
    (void) ctx;
    if (munmap(p, n * size) != 0) {
        rd_require_fail_("munmap", __FILE__, __LINE__);
    }
}


static const struct rd_alloc  rd_default_alloc = {
    default_calloc, default_free, NULL, default_big_calloc, default_big_free
};


const struct rd_alloc *
rd_alloc_default(void)
{
    return &rd_default_alloc;
}


void *
rd_big_calloc(const struct rd_alloc *a, size_t n, size_t size)
{
    if (n == 0 || size == 0 || n > SIZE_MAX / size) {
        return NULL;
    }
    if (a->big_calloc == NULL) {
        return a->calloc(a->ctx, n, size);
    }
    return a->big_calloc(a->ctx, n, size);
}


void
rd_big_free(const struct rd_alloc *a, void *p, size_t n, size_t size)
{
    if (p == NULL) {
        return;
    }
    if (a->big_free == NULL) {
        a->free(a->ctx, p);
        return;
    }
    a->big_free(a->ctx, p, n, size);
}


int
rd_parse_endpoint(const char *spec, uint8_t *af_out, uint8_t addr[16],
    uint16_t *port_out)
{
    char            host[64];
    const char     *colon, *end;
    unsigned long   port;
    size_t          n;
    uint8_t         af;
    char           *stop;

    port = 0;
    if (spec[0] == '[') {
        end = strchr(spec, ']');
        if (end == NULL) {
            goto bad;
        }
        n = (size_t) (end - spec - 1);
        colon = end[1] == ':' ? end + 1 : NULL;
        if (end[1] != '\0' && colon == NULL) {
            goto bad;
        }
        spec++;
    } else {
        colon = strrchr(spec, ':');
        if (colon != NULL && strchr(spec, ':') != colon) {
            colon = NULL;           /* a bare IPv6 address */
        }
        n = colon != NULL ? (size_t) (colon - spec) : strlen(spec);
    }
    if (n == 0 || n >= sizeof(host)) {
        goto bad;
    }
    memcpy(host, spec, n);
    host[n] = '\0';
    if (colon != NULL) {
        port = strtoul(colon + 1, &stop, 10);
        if (colon[1] == '\0' || *stop != '\0' || port == 0 || port > 65535) {
            goto bad;
        }
    }
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, host, addr) == 1) {
        af = 4;
    } else if (inet_pton(AF_INET6, host, addr) == 1) {
        af = 6;
    } else {
        goto bad;
    }
    *af_out = af;
    *port_out = (uint16_t) port;
    return 0;

bad:
    return -1;
}
