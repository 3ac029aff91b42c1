/*
 * libFuzzer harness for the error.log reader.  The input is parsed as
 * one record (rd_errlog_parse), then written to a file and read back as a
 * log (rd_errlog_open/next): records, continuation lines, overlong and
 * non-nginx lines.  Every record's strings must be terminated within
 * their fields; the second read after a rewind must give the same
 * records.  Then the same bytes are followed as -i follows a log, at
 * once and in pieces with a rotation and a truncation (follow()).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *       tests/fuzz/fuzz_errlog.c src/errlog.c src/errjoin.c -lz \
 *       -o fuzz_errlog
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rstdiag/errlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
check(const struct rd_errjoin_line *l)
{
    if (memchr(l->message, '\0', sizeof(l->message)) == NULL
        || memchr(l->method, '\0', sizeof(l->method)) == NULL
        || memchr(l->target, '\0', sizeof(l->target)) == NULL
        || l->level >= RD_ERRJOIN_NLEVELS
        || (l->up_af != 0 && l->up_af != 4 && l->up_af != 6))
    {
        abort();
    }
}


/* Drain a followed log: the records so far, checked; 0 or abort. */
static void
drain(struct rd_errlog *lg, uint64_t *n, uint64_t *sum)
{
    struct rd_errjoin_line   l;
    char                     err[RD_ERRLEN];
    int                      rc;

    while ((rc = rd_errlog_next(lg, &l, err)) == 1) {
        check(&l);
        (*n)++;
        *sum += l.lineno * 31 + (uint64_t) l.local + l.level;
    }
    if (rc != RD_ERRJOIN_AGAIN) {
        abort();                    /* a followed file never ends */
    }
}


/*
 * -i: the same bytes appended to a followed file at once give the
 * records the file read whole gives (when it ends with a newline and is
 * not gzip'd: a followed log is plain); appended in pieces (sizes from
 * the input), with a rename and a truncation on the way, every record is
 * still well formed.
 */
static void
follow(const uint8_t *data, size_t size, uint64_t n_whole,
    uint64_t sum_whole)
{
    static char        fpath[64], opath[72];
    struct rd_errlog  *lg;
    char               err[RD_ERRLEN];
    uint64_t           n, sum;
    size_t             at, k;
    FILE              *f;

    if (fpath[0] == '\0') {
        snprintf(fpath, sizeof(fpath), "/tmp/fuzz-errlog-f-%ld.log",
                 (long) getpid());
        snprintf(opath, sizeof(opath), "%s.1", fpath);
    }
    f = fopen(fpath, "wb");
    if (f == NULL) {
        return;
    }
    fclose(f);
    lg = rd_errlog_follow(fpath, err);
    if (lg == NULL) {
        abort();
    }
    n = sum = 0;
    drain(lg, &n, &sum);
    f = fopen(fpath, "ab");
    fwrite(data, 1, size, f);
    fclose(f);
    drain(lg, &n, &sum);
    if (size > 0 && data[size - 1] == '\n'
        && !(size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
        && memchr(data, '\0', size) == NULL
        && (n != n_whole || sum != sum_whole))
    {
        abort();
    }
    rd_errlog_close(lg);

    /* in pieces: piece i is (data[i] % 64) + 1 bytes; after the first
     * third a rename, after the second a truncation */
    f = fopen(fpath, "wb");
    if (f == NULL) {
        return;
    }
    fclose(f);
    lg = rd_errlog_follow(fpath, err);
    if (lg == NULL) {
        abort();
    }
    n = sum = 0;
    for (at = 0; at < size; at += k) {
        k = (size_t) (data[at] % 64) + 1;
        if (k > size - at) {
            k = size - at;
        }
        if (at > 0 && at / (size / 3 + 1) != (at - k) / (size / 3 + 1)) {
            if (at / (size / 3 + 1) == 1) {
                (void) rename(fpath, opath);
                drain(lg, &n, &sum);
            } else {
                (void) truncate(fpath, 0);
            }
            drain(lg, &n, &sum);
        }
        f = fopen(fpath, "ab");
        if (f == NULL) {
            break;
        }
        fwrite(data + at, 1, k, f);
        fclose(f);
        drain(lg, &n, &sum);
    }
    rd_errlog_close(lg);
    (void) unlink(opath);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char              path[64];
    struct rd_errjoin_line   l, m;
    struct rd_errlog        *lg;
    const char              *paths[1];
    char                     err[RD_ERRLEN];
    uint64_t                 n1, n2, sum1, sum2;
    FILE                    *f;

    if (rd_errlog_parse((const char *) data, size, &l) == 0) {
        check(&l);
    }
    if (path[0] == '\0') {
        snprintf(path, sizeof(path), "/tmp/fuzz-errlog-%ld.log",
                 (long) getpid());
    }
    f = fopen(path, "wb");
    if (f == NULL) {
        return 0;
    }
    fwrite(data, 1, size, f);
    fclose(f);
    paths[0] = path;
    lg = rd_errlog_open(paths, 1, err);
    if (lg == NULL) {
        abort();                    /* the file exists */
    }
    n1 = sum1 = 0;
    while (rd_errlog_next(lg, &l, err) == 1) {
        check(&l);
        n1++;
        sum1 += l.lineno * 31 + (uint64_t) l.local + l.level;
    }
    rd_errlog_rewind(lg, err);
    n2 = sum2 = 0;
    while (rd_errlog_next(lg, &m, err) == 1) {
        n2++;
        sum2 += m.lineno * 31 + (uint64_t) m.local + m.level;
    }
    if (n1 != n2 || sum1 != sum2) {
        abort();
    }
    rd_errlog_close(lg);
    follow(data, size, n1, sum1);
    return 0;
}
