/* Unit tests of common.h: name tables, sequence arithmetic, allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "talloc.h"

#include "rstdiag/common.h"


static const struct rd_tok  names[] = {
    { 1, "one" },
    { 2, "two" },
    { 0, NULL }
};


/* A value missing from a table yields the default, not a crash. */
static void
test_common_tok2str_default(void **state)
{
    (void) state;
    assert_string_equal(rd_tok2str(names, 2, "?"), "two");
    assert_string_equal(rd_tok2str(names, 7, "?"), "?");
}


/* Sequence comparisons must hold across the 2^32 wrap (RFC 9293 §3.4). */
static void
test_common_seq_wrap(void **state)
{
    (void) state;
    assert_true(RD_SEQ_LT(0xfffffff0u, 0x00000010u));
    assert_true(RD_SEQ_GT(0x00000010u, 0xfffffff0u));
    assert_true(RD_SEQ_LEQ(5u, 5u));
    assert_true(RD_SEQ_GEQ(0u, 0xffffffffu));
    assert_int_equal(RD_SEQ_DIFF(0x00000010u, 0xfffffff0u), 0x20);
}


/*
 * The default allocator's big tables are zero-filled and writable from
 * end to end, even when the C allocator scribbles on what it returns
 * (the test runs under meson's MALLOC_PERTURB_).
 */
static void
test_common_big_calloc_zeroed(void **state)
{
    const struct rd_alloc  *a = rd_alloc_default();
    size_t                  i, n = 3 * 4096 + 17;
    uint8_t                *p;

    (void) state;
    p = rd_big_calloc(a, n, 3);
    assert_non_null(p);
    for (i = 0; i < n * 3; i += 997) {
        assert_int_equal(p[i], 0);
    }
    assert_int_equal(p[n * 3 - 1], 0);
    p[0] = 1;
    p[n * 3 - 1] = 1;
    rd_big_free(a, p, n, 3);
    rd_big_free(a, NULL, n, 3);
}


/* n * size that overflows, or an empty table, is refused, not wrapped. */
static void
test_common_big_calloc_overflow_refused(void **state)
{
    const struct rd_alloc  *a = rd_alloc_default();

    (void) state;
    assert_null(rd_big_calloc(a, SIZE_MAX / 2 + 2, 2));
    assert_null(rd_big_calloc(a, 0, 8));
    assert_null(rd_big_calloc(&talloc, SIZE_MAX / 8 + 1, 8));
}


/* An allocator without big_calloc serves big tables from its calloc, so
 * cmocka sees them (a leak fails the test) and failure injection works. */
static void
test_common_big_calloc_falls_back(void **state)
{
    struct tfail  f;
    void         *p;

    (void) state;
    p = rd_big_calloc(&talloc, 100, 8);
    assert_non_null(p);
    rd_big_free(&talloc, p, 100, 8);

    tfail_init(&f, 0);
    assert_null(rd_big_calloc(&f.a, 100, 8));
    assert_int_equal(f.big_live, 0);
    p = rd_big_calloc(&f.a, 100, 8);
    assert_non_null(p);
    assert_int_equal(f.big_live, 1);
    rd_big_free(&f.a, p, 100, 8);
    assert_int_equal(f.big_live, 0);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_tok2str_default),
        cmocka_unit_test(test_common_seq_wrap),
        cmocka_unit_test(test_common_big_calloc_zeroed),
        cmocka_unit_test(test_common_big_calloc_overflow_refused),
        cmocka_unit_test(test_common_big_calloc_falls_back),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
