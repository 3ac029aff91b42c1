/*
 * Test helper shared by tests/pcapfile_diff.h and tests/pcapngfile_diff.h:
 * the result of comparing one of our readers with libpcap, and the
 * repeatable chunk sizes in which the bytes are handed to our reader so
 * that records and blocks are cut everywhere.
 */
#ifndef RD_TESTS_READER_DIFF_H
#define RD_TESTS_READER_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rstdiag/common.h"

#define READER_DIFF_WHY    512
#define READER_DIFF_SLACK  64       /* buffer beyond the minimum: small,
                                     * so that records often straddle */

/* What a run found, besides a difference. */
struct reader_diff_res {
    bool        ours;           /* our reader read the file */
    uint64_t    packets;
    bool        error;          /* ended on a damaged record or block */
};


static uint32_t
reader_diff_rand(uint32_t *s)
{
    /* xorshift32: any generator will do, it only has to be repeatable */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}


/* Bytes to hand over next: mostly a few, sometimes all that fit. */
static size_t
reader_diff_chunk(uint32_t *s, size_t room, size_t left)
{
    size_t  n;

    switch (reader_diff_rand(s) % 4) {
    case 0:
        n = 1 + reader_diff_rand(s) % 4;
        break;
    case 1:
        n = 1 + reader_diff_rand(s) % 40;
        break;
    case 2:
        n = 1 + reader_diff_rand(s) % 2000;
        break;
    default:
        n = room;
        break;
    }
    return RD_MIN(RD_MIN(n, room), left);
}

#endif /* RD_TESTS_READER_DIFF_H */
