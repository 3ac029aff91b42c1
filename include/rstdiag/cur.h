/*
 * Bounds-checked cursor over untrusted bytes (the idea of tcpdump's
 * GET_BE_U_2 / ND_TTEST_LEN without longjmp).  A short read returns 0 and
 * sets the sticky err flag; callers check err once after a run of reads.
 * Header-only.
 */
#ifndef RD_CUR_H
#define RD_CUR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rstdiag/common.h"

struct rd_cur {
    const uint8_t  *p;      /* next byte to read */
    const uint8_t  *end;    /* one past the last readable byte */
    bool            err;    /* sticky: a read went past end */
};

static inline void
rd_cur_init(struct rd_cur *c, const uint8_t *p, size_t len)
{
    c->p = p;
    c->end = p + len;
    c->err = false;
}

static inline size_t
rd_cur_left(const struct rd_cur *c)
{
    return (size_t) (c->end - c->p);
}

static inline bool
rd_cur_has(struct rd_cur *c, size_t n)
{
    if (c->err || rd_cur_left(c) < n) {
        c->err = true;
        return false;
    }
    return true;
}

static inline uint8_t
rd_cur_u8(struct rd_cur *c)
{
    if (!rd_cur_has(c, 1)) {
        return 0;
    }
    return *c->p++;
}

static inline uint16_t
rd_cur_be16(struct rd_cur *c)
{
    uint16_t  v;

    if (!rd_cur_has(c, 2)) {
        return 0;
    }
    v = (uint16_t) ((unsigned) c->p[0] << 8 | c->p[1]);
    c->p += 2;
    return v;
}

static inline uint16_t
rd_cur_le16(struct rd_cur *c)
{
    uint16_t  v;

    if (!rd_cur_has(c, 2)) {
        return 0;
    }
    v = (uint16_t) ((unsigned) c->p[1] << 8 | c->p[0]);
    c->p += 2;
    return v;
}

static inline uint32_t
rd_cur_be32(struct rd_cur *c)
{
    uint32_t  v;

    if (!rd_cur_has(c, 4)) {
        return 0;
    }
    v = (uint32_t) c->p[0] << 24 | (uint32_t) c->p[1] << 16
        | (uint32_t) c->p[2] << 8 | (uint32_t) c->p[3];
    c->p += 4;
    return v;
}

static inline uint32_t
rd_cur_le32(struct rd_cur *c)
{
    uint32_t  v;

    if (!rd_cur_has(c, 4)) {
        return 0;
    }
    v = (uint32_t) c->p[3] << 24 | (uint32_t) c->p[2] << 16
        | (uint32_t) c->p[1] << 8 | (uint32_t) c->p[0];
    c->p += 4;
    return v;
}

static inline void
rd_cur_skip(struct rd_cur *c, size_t n)
{
    if (rd_cur_has(c, n)) {
        c->p += n;
    }
}

/* n bytes as a span (empty span on a short read). */
static inline struct rd_span
rd_cur_span(struct rd_cur *c, size_t n)
{
    struct rd_span  s = { NULL, 0 };

    if (rd_cur_has(c, n)) {
        s.p = c->p;
        s.len = n;
        c->p += n;
    }
    return s;
}

#endif /* RD_CUR_H */
