/*
 * libFuzzer harness for the error.log reader.  The input is parsed as
 * one record (rd_errlog_parse), then written to a file and read back as a
 * log (rd_errlog_open/next): records, continuation lines, overlong and
 * non-nginx lines.  Every record's strings must be terminated within
 * their fields; the second read after a rewind must give the same
 * records.
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
    return 0;
}
