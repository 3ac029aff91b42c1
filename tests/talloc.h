/*
 * Test helper: cmocka's test_calloc/test_free as a struct rd_alloc, so a
 * module that leaks fails its test (knot-resolver tests/unit/test.h).
 * Include after <cmocka.h>.
 *
 * talloc leaves big_calloc/big_free unset: the start-up tables then come
 * from test_calloc too, so leaks of them are caught.  tfail_init() gives
 * an allocator whose n-th allocation (ordinary or big) fails, to walk
 * every failure path of a constructor.
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


static const struct rd_alloc  talloc = {
    .calloc = t_calloc, .free = t_free, .ctx = NULL,
    .big_calloc = NULL, .big_free = NULL
};


/* Failure injection: allocation number fail_at (0-based) returns NULL. */
struct tfail {
    struct rd_alloc  a;
    unsigned         calls;         /* allocations asked for so far */
    unsigned         fail_at;
    unsigned         big_live;      /* big tables not yet freed */
};


static void *
tf_calloc(void *ctx, size_t n, size_t size)
{
    struct tfail  *f = ctx;

    if (f->calls++ == f->fail_at) {
        return NULL;
    }
    return test_calloc(n, size);
}


static void *
tf_big_calloc(void *ctx, size_t n, size_t size)
{
    struct tfail  *f = ctx;
    void          *p;

    p = tf_calloc(ctx, n, size);
    if (p != NULL) {
        f->big_live++;
    }
    return p;
}


static void
tf_big_free(void *ctx, void *p, size_t n, size_t size)
{
    struct tfail  *f = ctx;

    (void) n;
    (void) size;
    assert_true(f->big_live > 0);
    f->big_live--;
    test_free(p);
}


static inline void
tfail_init(struct tfail *f, unsigned fail_at)
{
    f->a.calloc = tf_calloc;
    f->a.free = t_free;
    f->a.ctx = f;
    f->a.big_calloc = tf_big_calloc;
    f->a.big_free = tf_big_free;
    f->calls = 0;
    f->fail_at = fail_at;
    f->big_live = 0;
}

#endif /* RD_TESTS_TALLOC_H */
