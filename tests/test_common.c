/* Unit tests of common.h: name tables and sequence arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_tok2str_default),
        cmocka_unit_test(test_common_seq_wrap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
