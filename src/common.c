#include <stdio.h>
#include <stdlib.h>

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


static const struct rd_alloc  rd_default_alloc = {
    default_calloc, default_free, NULL
};


const struct rd_alloc *
rd_alloc_default(void)
{
    return &rd_default_alloc;
}
