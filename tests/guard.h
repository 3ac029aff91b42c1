/*
 * Test helper: input placed so that its last byte sits just before a
 * PROT_NONE page (picohttpparser's test.c), so any read past the end
 * faults.  Use guard_setup/guard_teardown as cmocka group fixtures.
 */
#ifndef RD_TESTS_GUARD_H
#define RD_TESTS_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint8_t  *guard_base;
static size_t    guard_page;


static int
guard_setup(void **state)
{
    long  ps;

    (void) state;
    ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0) {
        return -1;
    }
    guard_page = (size_t) ps;
    guard_base = mmap(NULL, 2 * guard_page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guard_base == MAP_FAILED) {
        return -1;
    }
    return mprotect(guard_base + guard_page, guard_page, PROT_NONE);
}


static int
guard_teardown(void **state)
{
    (void) state;
    return munmap(guard_base, 2 * guard_page);
}


/* Copy len bytes so that the last one sits just before the guard page. */
static const uint8_t *
guard_place(const uint8_t *src, size_t len)
{
    uint8_t  *dst;

    dst = guard_base + guard_page - len;
    if (len > 0) {
        memcpy(dst, src, len);
    }
    return dst;
}

#endif /* RD_TESTS_GUARD_H */
