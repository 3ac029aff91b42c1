/*
 * Test helper: cmocka's test_calloc/test_free as a struct rd_alloc, so a
 * module that leaks fails its test (knot-resolver tests/unit/test.h).
 * Include after <cmocka.h>.
 */
#ifndef RD_TESTS_TALLOC_H
#define RD_TESTS_TALLOC_H

#include "rstdiag/common.h"


static void *
t_calloc(void *ctx, size_t n, size_t size)
{
    (void) ctx;
    return test_calloc(n, size);
}


static void
t_free(void *ctx, void *p)
{
    (void) ctx;
    test_free(p);
}


static const struct rd_alloc  talloc = { t_calloc, t_free, NULL };

#endif /* RD_TESTS_TALLOC_H */
