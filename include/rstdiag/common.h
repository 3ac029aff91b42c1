/*
 * rstdiag: shared vocabulary of every module: return codes, byte spans,
 * value->name tables, sequence-number arithmetic, assertions and the
 * allocator hook.
 */
#ifndef RD_COMMON_H
#define RD_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return codes: 0 ok, RD_AGAIN (>0) "need more bytes", -RD_E* errors. */
#define RD_OK        0
#define RD_AGAIN     1

#define RD_EINVAL    1      /* bad argument or recoverable invariant */
#define RD_ENOMEM    2      /* a configured bound or malloc refused */
#define RD_EPROTO    3      /* input violates the protocol */
#define RD_EIO       4      /* file or interface error */

#define RD_ERRLEN    256    /* size of the err[] buffers of setup APIs */

#define RD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RD_MAX(a, b) ((a) > (b) ? (a) : (b))
#define RD_NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A byte range inside someone else's buffer.  Spans handed to a callback
 * are valid only during that callback.
 */
struct rd_span {
    const uint8_t  *p;
    size_t          len;
};

/* value -> name table, terminated by {0, NULL} (tcpdump struct tok). */
struct rd_tok {
    int             v;
    const char     *s;
};

/* Name of v in t, or dflt when v is not in the table. */
const char *rd_tok2str(const struct rd_tok *t, int v, const char *dflt);

/*
 * TCP sequence-number comparisons modulo 2^32 (RFC 9293 §3.4).  Never
 * compare sequence numbers with plain < or >.
 */
#define RD_SEQ_DIFF(a, b) ((int32_t) ((uint32_t) (a) - (uint32_t) (b)))
#define RD_SEQ_LT(a, b)   (RD_SEQ_DIFF(a, b) < 0)
#define RD_SEQ_LEQ(a, b)  (RD_SEQ_DIFF(a, b) <= 0)
#define RD_SEQ_GT(a, b)   (RD_SEQ_DIFF(a, b) > 0)
#define RD_SEQ_GEQ(a, b)  (RD_SEQ_DIFF(a, b) >= 0)

/* Always-on check for programming errors: prints and aborts. */
#define rd_require(x) \
    ((x) ? (void) 0 : rd_require_fail_(#x, __FILE__, __LINE__))

/*
 * Recoverable check: true (and a log line in debug builds) when x is
 * false.  Use as: if (rd_fails_assert(x)) return -RD_EINVAL;
 */
#define rd_fails_assert(x) (!(x))

void rd_require_fail_(const char *expr, const char *file, int line);

/*
 * Allocator hook: every allocating module takes one, so tests can inject
 * cmocka's test_malloc (and make any allocation fail).
 *
 * calloc/free serve ordinary allocations.  big_calloc/big_free serve the
 * tables sized from the limits at start-up (flow slab, buckets, pools):
 * hundreds of MB of which a run touches only what it uses.  They must
 * return zero-filled memory whose untouched pages cost nothing, whatever
 * the C allocator does (glibc's MALLOC_PERTURB_ writes every byte that
 * calloc returns).  big_free gets the size given to big_calloc (munmap
 * needs it).  Either may be NULL, and then rd_big_calloc()/rd_big_free()
 * fall back to calloc/free, which is what test allocators want.
 *
 * rd_alloc_default() wraps calloc/free, and maps the big tables with
 * mmap(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE).
 */
struct rd_alloc {
    void   *(*calloc)(void *ctx, size_t n, size_t size);
    void    (*free)(void *ctx, void *p);
    void    *ctx;
    void   *(*big_calloc)(void *ctx, size_t n, size_t size);
    void    (*big_free)(void *ctx, void *p, size_t n, size_t size);
};

const struct rd_alloc *rd_alloc_default(void);

/*
 * A zero-filled table of n elements of size bytes from a's big_calloc
 * (or its calloc when it has none).  NULL when n * size overflows, is 0,
 * or the allocator refuses.  Free it with rd_big_free() and the same n
 * and size.
 */
void *rd_big_calloc(const struct rd_alloc *a, size_t n, size_t size);

/* Free what rd_big_calloc(a, n, size) returned; p may be NULL. */
void rd_big_free(const struct rd_alloc *a, void *p, size_t n, size_t size);

/* Microseconds since the epoch: the only clock any module sees. */
typedef int64_t rd_usec_t;

/* Seconds beyond which a capture's timestamp is clamped (year 33658):
 * files can hold any 64-bit time, rd_usec_t cannot. */
#define RD_USEC_MAX_SEC  1000000000000LL

/* A capture timestamp as rd_usec_t, clamped so that it and differences
 * between two of them never overflow. */
static inline rd_usec_t
rd_usec_from_tv(int64_t sec, int64_t usec)
{
    if (sec > RD_USEC_MAX_SEC) {
        sec = RD_USEC_MAX_SEC;
    } else if (sec < -RD_USEC_MAX_SEC) {
        sec = -RD_USEC_MAX_SEC;
    }
    if (usec < 0 || usec > 999999) {
        usec = usec < 0 ? 0 : 999999;
    }
    return sec * 1000000 + usec;
}

/* ADDR, ADDR:PORT or [V6ADDR]:PORT (a bare IPv6 address has no port):
 * *af 4 or 6, addr (16 bytes, v4 in the first 4), *port 0 when absent.
 * 0, or -1 on anything else (a port of 0 or over 65535 included). */
int rd_parse_endpoint(const char *spec, uint8_t *af, uint8_t addr[16],
    uint16_t *port);

#endif /* RD_COMMON_H */
