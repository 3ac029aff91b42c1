/*
 * Unit tests of cur.h: every reader on buffers that end at a PROT_NONE
 * guard page (picohttpparser test.c), at every length short of what the
 * read needs, and the sticky error flag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "guard.h"
#include "rstdiag/common.h"
#include "rstdiag/cur.h"



static const uint8_t  bytes[8] = {
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08
};

/* which reader a table row drives */
enum reader {
    R_U8,
    R_BE16,
    R_LE16,
    R_BE32,
    R_LE32,
    R_SKIP3,
    R_SPAN5
};

struct read_case {
    enum reader   r;
    size_t        need;             /* bytes the read consumes */
    uint32_t      value;            /* expected value on bytes[] */
};

static const struct read_case  cases[] = {
    { R_U8,    1, 0x01 },
    { R_BE16,  2, 0x0102 },
    { R_LE16,  2, 0x0201 },
    { R_BE32,  4, 0x01020304 },
    { R_LE32,  4, 0x04030201 },
    { R_SKIP3, 3, 0 },
    { R_SPAN5, 5, 5 },
};


/* Run one reader; spans report their length, skips 0. */
static uint32_t
run(struct rd_cur *c, enum reader r, const uint8_t **span_p)
{
    struct rd_span  s;

    *span_p = NULL;
    switch (r) {
    case R_U8:
        return rd_cur_u8(c);
    case R_BE16:
        return rd_cur_be16(c);
    case R_LE16:
        return rd_cur_le16(c);
    case R_BE32:
        return rd_cur_be32(c);
    case R_LE32:
        return rd_cur_le32(c);
    case R_SKIP3:
        rd_cur_skip(c, 3);
        return 0;
    case R_SPAN5:
        s = rd_cur_span(c, 5);
        *span_p = s.p;
        return (uint32_t) s.len;
    }
    return 0xdeadbeef;
}


/* Every reader, at every length short of what it needs, returns 0, sets
 * err and leaves the position alone; nothing past end is touched. */
static void
test_cur_short_reads_at_guard_page(void **state)
{
    size_t          i, len;
    const uint8_t  *p, *sp;
    struct rd_cur   c;

    (void) state;
    for (i = 0; i < RD_NELEMS(cases); i++) {
        for (len = 0; len < cases[i].need; len++) {
            p = guard_place(bytes, len);
            rd_cur_init(&c, p, len);
            assert_int_equal(run(&c, cases[i].r, &sp), 0);
            assert_null(sp);
            assert_true(c.err);
            assert_ptr_equal(c.p, p);
            assert_int_equal(rd_cur_left(&c), len);
        }
    }
}


/* With exactly the bytes it needs, every reader returns the right value
 * (big- and little-endian) and ends at end without err. */
static void
test_cur_exact_reads_at_guard_page(void **state)
{
    size_t          i, need;
    const uint8_t  *p, *sp;
    struct rd_cur   c;

    (void) state;
    for (i = 0; i < RD_NELEMS(cases); i++) {
        need = cases[i].need;
        p = guard_place(bytes, need);
        rd_cur_init(&c, p, need);
        assert_int_equal(run(&c, cases[i].r, &sp), cases[i].value);
        assert_false(c.err);
        assert_ptr_equal(c.p, p + need);
        assert_ptr_equal(c.p, c.end);
        assert_int_equal(rd_cur_left(&c), 0);
        if (cases[i].r == R_SPAN5) {
            assert_ptr_equal(sp, p);
        }
    }
}


/* Once a read failed, every later read fails too, even one that would
 * fit: callers check err once after a run of reads. */
static void
test_cur_err_is_sticky(void **state)
{
    const uint8_t   *p;
    struct rd_cur    c;
    struct rd_span   s;

    (void) state;
    p = guard_place(bytes, 3);
    rd_cur_init(&c, p, 3);
    assert_int_equal(rd_cur_u8(&c), 0x01);
    assert_false(c.err);
    assert_int_equal(rd_cur_be32(&c), 0);
    assert_true(c.err);
    assert_int_equal(rd_cur_left(&c), 2);

    assert_int_equal(rd_cur_u8(&c), 0);
    assert_int_equal(rd_cur_be16(&c), 0);
    rd_cur_skip(&c, 0);
    s = rd_cur_span(&c, 0);
    assert_null(s.p);
    assert_int_equal(s.len, 0);
    assert_false(rd_cur_has(&c, 0));
    assert_true(c.err);
    assert_ptr_equal(c.p, p + 1);

    /* a fresh init clears it */
    rd_cur_init(&c, p, 3);
    assert_false(c.err);
    assert_int_equal(rd_cur_be16(&c), 0x0102);
}


/* A run of reads consumes bytes in order up to the last byte before the
 * guard page, and the next read fails. */
static void
test_cur_sequence_to_end(void **state)
{
    const uint8_t   *p;
    struct rd_cur    c;
    struct rd_span   s;

    (void) state;
    p = guard_place(bytes, 8);
    rd_cur_init(&c, p, 8);
    assert_int_equal(rd_cur_u8(&c), 0x01);
    assert_int_equal(rd_cur_le16(&c), 0x0302);
    rd_cur_skip(&c, 1);
    s = rd_cur_span(&c, 0);
    assert_ptr_equal(s.p, p + 4);
    assert_int_equal(s.len, 0);
    assert_int_equal(rd_cur_be32(&c), 0x05060708);
    assert_false(c.err);
    assert_int_equal(rd_cur_left(&c), 0);
    assert_true(rd_cur_has(&c, 0));
    assert_false(rd_cur_has(&c, 1));
    assert_true(c.err);
}


/* A length near SIZE_MAX cannot wrap the bounds check. */
static void
test_cur_huge_length_refused(void **state)
{
    const uint8_t   *p;
    struct rd_cur    c;
    struct rd_span   s;

    (void) state;
    p = guard_place(bytes, 4);
    rd_cur_init(&c, p, 4);
    rd_cur_skip(&c, SIZE_MAX);
    assert_true(c.err);
    assert_ptr_equal(c.p, p);

    rd_cur_init(&c, p, 4);
    s = rd_cur_span(&c, SIZE_MAX - 1);
    assert_null(s.p);
    assert_true(c.err);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cur_short_reads_at_guard_page),
        cmocka_unit_test(test_cur_exact_reads_at_guard_page),
        cmocka_unit_test(test_cur_err_is_sticky),
        cmocka_unit_test(test_cur_sequence_to_end),
        cmocka_unit_test(test_cur_huge_length_refused),
    };

    return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
