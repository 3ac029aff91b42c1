/*
 * errlog: nginx error.log records from real lab lines (tests/lab/out/
 * error.log of the scenarios named), plain and gzip'd files, rotated
 * files in time order, continuation lines, lines that are not nginx's,
 * a gzip stream cut short, and --error-log-tz.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <zlib.h>

#include "rstdiag/errlog.h"

/* lab rst_before_header.one, nginx 1.22.1 */
static const char  L_RESET[] =
    "2026/12/07 09:57:43 [error] 5086#5086: *1 recv() failed (104: "
    "Connection reset by peer) while reading response header from upstream, "
    "client: 127.0.0.10, server: , request: \"GET / HTTP/1.1\", upstream: "
    "\"http://127.0.0.21:21001/\", host: \"127.0.0.2:21000\"";
/* lab refused_retry.v6 */
static const char  L_V6[] =
    "2026/12/07 09:58:06 [warn] 10686#10686: *1 upstream server temporarily "
    "disabled while connecting to upstream, client: ::1, server: , request: "
    "\"GET / HTTP/1.1\", upstream: \"http://127.0.0.26:23111/\", host: "
    "\"[::1]:23110\"";
/* lab fpm_fatal.one: STDERR with newlines */
static const char  L_FCGI[] =
    "2026/12/07 09:58:33 [error] 16767#16767: *1 FastCGI sent in stderr: "
    "\"PHP message: PHP Fatal error:  Uncaught Exception: lab in "
    "/lab/php/fatal.php:4\n"
    "Stack trace:\n"
    "#0 {main}\n"
    "  thrown in /lab/php/fatal.php on line 4\" while reading response "
    "header from upstream, client: 127.0.0.10, server: , request: \"GET "
    "/fatal.php HTTP/1.1\", upstream: \"fastcgi://127.0.0.31:21211\", host: "
    "\"127.0.0.2:21210\"";
static const char  L_NOTICE[] =
    "2026/12/07 09:58:34 [notice] 16766#16766: signal process started";


static void
test_errlog_parse_reset(void **state)
{
    struct rd_errjoin_line  l;

    (void) state;
    assert_int_equal(rd_errlog_parse(L_RESET, strlen(L_RESET), &l), 0);
    assert_int_equal(l.level, RD_ERRJOIN_L_ERROR);
    assert_int_equal(l.conn_no, 1);
    /* 2026-12-07 09:57:43 as if UTC */
    assert_int_equal(l.local, 1796637463);
    assert_string_equal(l.message, "recv() failed (104: Connection reset by "
                        "peer) while reading response header from upstream");
    assert_true(l.has_client);
    assert_int_equal(l.cl_af, 4);
    assert_int_equal(l.cl_addr[3], 10);
    assert_string_equal(l.method, "GET");
    assert_string_equal(l.target, "/");
    assert_true(l.has_upstream);
    assert_int_equal(l.up_af, 4);
    assert_int_equal(l.up_addr[0], 127);
    assert_int_equal(l.up_addr[3], 21);
    assert_int_equal(l.up_port, 21001);
}


static void
test_errlog_parse_v6_fcgi_notice(void **state)
{
    struct rd_errjoin_line  l;

    (void) state;
    assert_int_equal(rd_errlog_parse(L_V6, strlen(L_V6), &l), 0);
    assert_int_equal(l.level, RD_ERRJOIN_L_WARN);
    assert_int_equal(l.cl_af, 6);
    assert_int_equal(l.cl_addr[15], 1);
    assert_int_equal(l.up_port, 23111);
    assert_string_equal(l.message, "upstream server temporarily disabled "
                        "while connecting to upstream");

    assert_int_equal(rd_errlog_parse(L_FCGI, strlen(L_FCGI), &l), 0);
    assert_non_null(strstr(l.message, "FastCGI sent in stderr: \"PHP "));
    assert_string_equal(l.target, "/fatal.php");
    assert_int_equal(l.up_af, 4);
    assert_int_equal(l.up_port, 21211);

    assert_int_equal(rd_errlog_parse(L_NOTICE, strlen(L_NOTICE), &l), 0);
    assert_int_equal(l.level, RD_ERRJOIN_L_NOTICE);
    assert_int_equal(l.conn_no, 0);
    assert_false(l.has_client);
    assert_false(l.has_upstream);
    assert_string_equal(l.message, "signal process started");
}


/* Not nginx's, or cut inside its head: -1, and never a read past n. */
static void
test_errlog_parse_rejects(void **state)
{
    static const char *const  bad[] = {
        "", "2026/12/07", "2026/12/07 09:57:43 [",
        ("2026/13/07 09:57:43 [error] 1#1: x"),
        "2026/12/07 09:57:43 [fatal] 1#1: x",
        "2026/12/07 09:57:43 [error] x#1: y", "Dec  7 09:57:43 host nginx: x",
    };
    struct rd_errjoin_line  l;
    size_t                  i, n;
    char                   *cut;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(rd_errlog_parse(bad[i], strlen(bad[i]), &l), -1);
    }
    /* every prefix of a real line, in a buffer of exactly that size */
    for (n = 0; n <= sizeof(L_RESET) - 1; n++) {
        cut = malloc(n + 1);
        assert_non_null(cut);
        memcpy(cut, L_RESET, n);
        (void) rd_errlog_parse(cut, n, &l);
        free(cut);
    }
    /* an upstream that is a unix socket: no address */
    {
        static const char  u[] = "2026/12/07 09:57:43 [error] 1#1: *2 x, "
            "client: 10.0.0.1, server: , request: \"GET / HTTP/1.0\", "
            "upstream: \"http://unix:/run/a.sock:/\"";

        assert_int_equal(rd_errlog_parse(u, strlen(u), &l), 0);
        assert_true(l.has_upstream);
        assert_int_equal(l.up_af, 0);
    }
}


static char  dir[64];

static void
write_file(const char *name, const char *text, bool gz, size_t cut)
{
    char    path[128];
    FILE   *f;
    gzFile  z;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!gz) {
        f = fopen(path, "wb");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        return;
    }
    z = gzopen(path, "wb");
    assert_non_null(z);
    gzputs(z, text);
    gzclose(z);
    if (cut > 0) {
        assert_int_equal(truncate(path, (off_t) cut), 0);
    }
}


static int
setup(void **state)
{
    (void) state;
    snprintf(dir, sizeof(dir), "/tmp/test_errlog.XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}


static int
teardown(void **state)
{
    char  cmd[128];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}


/* Rotated files given newest first are read oldest first; a FastCGI
 * record spans lines; junk is counted; line numbers are the first line
 * of each record. */
static void
test_errlog_files_in_order(void **state)
{
    char                     a[4096], b[128], pa[128], pb[128];
    const char              *paths[2];
    struct rd_errlog        *lg;
    struct rd_errjoin_line   l;
    char                     err[RD_ERRLEN];

    (void) state;
    snprintf(a, sizeof(a), "not nginx at all\n%s\n%s\n%s\n", L_RESET, L_FCGI,
             L_NOTICE);
    snprintf(b, sizeof(b), "2026/12/06 23:00:00 [notice] 1#1: older\n");
    write_file("error.log", a, false, 0);
    write_file("error.log.1.gz", b, true, 0);
    snprintf(pa, sizeof(pa), "%s/error.log", dir);
    snprintf(pb, sizeof(pb), "%s/error.log.1.gz", dir);
    paths[0] = pa;
    paths[1] = pb;
    lg = rd_errlog_open(paths, 2, err);
    assert_non_null(lg);
    assert_int_equal(rd_errlog_next(lg, &l, err), 1);
    assert_string_equal(l.file, pb);
    assert_string_equal(l.message, "older");
    assert_int_equal(rd_errlog_next(lg, &l, err), 1);
    assert_string_equal(l.file, pa);
    assert_int_equal(l.lineno, 2);
    assert_int_equal(l.up_port, 21001);
    assert_int_equal(rd_errlog_next(lg, &l, err), 1);
    assert_int_equal(l.lineno, 3);
    assert_int_equal(l.up_port, 21211);      /* context on its last line */
    assert_non_null(strstr(l.message, "Stack trace"));
    assert_int_equal(rd_errlog_next(lg, &l, err), 1);
    assert_int_equal(l.lineno, 7);
    assert_int_equal(rd_errlog_next(lg, &l, err), 0);
    assert_int_equal(rd_errlog_stats(lg)->records, 4);
    assert_int_equal(rd_errlog_stats(lg)->unparsed, 1);
    assert_int_equal(rd_errlog_stats(lg)->lines, 8);
    assert_int_equal(rd_errlog_rewind(lg, err), 0);
    assert_int_equal(rd_errlog_next(lg, &l, err), 1);
    assert_string_equal(l.message, "older");
    rd_errlog_close(lg);
}


/* A gzip'd log cut short: the records before the cut, then the end (a
 * warning on stderr), never an error. */
static void
test_errlog_gzip_cut(void **state)
{
    char                     text[65536], p[128];
    const char              *paths[1];
    struct rd_errlog        *lg;
    struct rd_errjoin_line   l;
    char                     err[RD_ERRLEN];
    size_t                   off;
    int                      i, n;

    (void) state;
    off = 0;
    for (i = 0; i < 200; i++) {
        off += (size_t) snprintf(text + off, sizeof(text) - off,
                                 "2026/12/07 09:%02d:%02d [error] 1#1: *%d "
                                 "m%d\n", i / 60, i % 60, i, i * 7919);
    }
    write_file("cut.gz", text, true, 1200);
    snprintf(p, sizeof(p), "%s/cut.gz", dir);
    paths[0] = p;
    lg = rd_errlog_open(paths, 1, err);
    assert_non_null(lg);
    n = 0;
    while (rd_errlog_next(lg, &l, err) == 1) {
        assert_int_equal(l.conn_no, (uint64_t) n);
        n++;
    }
    assert_true(n > 0 && n < 200);
    assert_int_equal(rd_errlog_stats(lg)->truncated_files, 1);
    rd_errlog_close(lg);
    /* a file that does not exist: an error naming it */
    snprintf(p, sizeof(p), "%s/none.log", dir);
    paths[0] = p;
    assert_null(rd_errlog_open(paths, 1, err));
    assert_non_null(strstr(err, "none.log"));
}


static void
test_errlog_tz(void **state)
{
    int64_t  off;
    char     err[RD_ERRLEN];

    (void) state;
    assert_int_equal(rd_errlog_parse_tz("+0800", 0, &off, err), 0);
    assert_int_equal(off, 8 * 3600);
    assert_int_equal(rd_errlog_parse_tz("-03:30", 0, &off, err), 0);
    assert_int_equal(off, -(3 * 3600 + 1800));
    assert_int_equal(rd_errlog_parse_tz("UTC", 0, &off, err), 0);
    assert_int_equal(off, 0);
    assert_int_equal(rd_errlog_parse_tz("+1900", 0, &off, err), -1);
    assert_int_equal(rd_errlog_parse_tz("+8", 0, &off, err), -1);
    assert_int_equal(rd_errlog_parse_tz("Nowhere/Town", 0, &off, err), -1);
    assert_non_null(strstr(err, "Nowhere/Town"));
    if (access("/usr/share/zoneinfo/Europe/London", R_OK) == 0) {
        /* 2026-07-01 and 2026-01-01 */
        assert_int_equal(rd_errlog_parse_tz("Europe/London", 1782864000,
                                            &off, err), 0);
        assert_int_equal(off, 3600);
        assert_int_equal(rd_errlog_parse_tz("Europe/London", 1767225600,
                                            &off, err), 0);
        assert_int_equal(off, 0);
    }
    if (access("/usr/share/zoneinfo/Asia/Shanghai", R_OK) == 0) {
        assert_int_equal(rd_errlog_parse_tz("Asia/Shanghai", 1767225600,
                                            &off, err), 0);
        assert_int_equal(off, 8 * 3600);
    }
}


/* append text to dir/name */
static void
append(const char *name, const char *text)
{
    char   path[128];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "ab");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}


/* The next record's line number, or -(the return code) when none */
static long
next_line(struct rd_errlog *lg, struct rd_errjoin_line *l)
{
    char  err[RD_ERRLEN];
    int   rc;

    rc = rd_errlog_next(lg, l, err);
    return rc == 1 ? (long) l->lineno : -(long) rc;
}


/* -i: the log followed from its end (a half-written line skipped, line
 * numbers counted from the file's start), appended lines as they come,
 * a record whole when the file has no more, a line written in two
 * parts taken once whole, a rename (the old file read out, the missing
 * path waited for, the new file from line 1) and a truncation (from
 * line 1 again); a missing file at start is an error naming it. */
static void
test_errlog_follow_rotate_truncate(void **state)
{
    char                     path[128], old[128], err[RD_ERRLEN];
    struct rd_errlog        *lg;
    struct rd_errjoin_line   l;
    uint64_t                 rot, trunc;

    (void) state;
    snprintf(path, sizeof(path), "%s/follow.log", dir);
    snprintf(old, sizeof(old), "%s/follow.log.1", dir);
    assert_null(rd_errlog_follow(path, err));
    assert_non_null(strstr(err, "follow.log: cannot open"));

    write_file("follow.log", "junk before\n2026/12/07 09:58:34 [notice] "
               "1#1: half", false, 0);
    lg = rd_errlog_follow(path, err);
    assert_non_null(lg);
    assert_int_equal(next_line(lg, &l), -RD_ERRJOIN_AGAIN);
    append("follow.log", " of it, skipped\n");
    append("follow.log", L_RESET);
    append("follow.log", "\n");
    assert_int_equal(next_line(lg, &l), 3);
    assert_int_equal(l.up_port, 21001);
    assert_string_equal(l.file, path);
    assert_int_equal(next_line(lg, &l), -RD_ERRJOIN_AGAIN);
    /* a record with its continuation lines, and one in two writes */
    append("follow.log", L_FCGI);
    append("follow.log", "\n2026/12/07 09:58:35 [notice] 1#1: sig");
    assert_int_equal(next_line(lg, &l), 4);
    assert_non_null(strstr(l.message, "Stack trace:\n#0 {main}"));
    assert_int_equal(next_line(lg, &l), -RD_ERRJOIN_AGAIN);
    append("follow.log", "nal process started\n");
    assert_int_equal(next_line(lg, &l), 8);
    assert_string_equal(l.message, "signal process started");
    /* renamed: the old file gets one more line, the path is missing */
    assert_int_equal(rename(path, old), 0);
    append("follow.log.1", L_V6);
    append("follow.log.1", "\n");
    assert_int_equal(next_line(lg, &l), 9);
    assert_int_equal(l.level, RD_ERRJOIN_L_WARN);
    assert_int_equal(next_line(lg, &l), -RD_ERRJOIN_AGAIN);
    write_file("follow.log", L_NOTICE, false, 0);
    append("follow.log", "\n");
    assert_int_equal(next_line(lg, &l), 1);
    assert_string_equal(l.message, "signal process started");
    rd_errlog_follow_stats(lg, &rot, &trunc);
    assert_int_equal(rot, 1);
    assert_int_equal(trunc, 0);
    /* copytruncate */
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(next_line(lg, &l), -RD_ERRJOIN_AGAIN);
    append("follow.log", L_RESET);
    append("follow.log", "\n");
    assert_int_equal(next_line(lg, &l), 1);
    assert_int_equal(l.up_port, 21001);
    rd_errlog_follow_stats(lg, &rot, &trunc);
    assert_int_equal(trunc, 1);
    assert_int_equal(rd_errlog_stats(lg)->records, 6);
    assert_int_equal(rd_errlog_stats(lg)->unparsed, 0);
    assert_int_equal(rd_errlog_rewind(lg, err), -1);
    rd_errlog_close(lg);
}


/* rd_errlog_only: the records left out are those whose message starts
 * with none of the prefixes; those kept are whole; rewind ends it. */
static void
test_errlog_only_prefixes(void **state)
{
    const char *const        want[] = { "upstream server temporarily" };
    char                     text[4096], path[128], err[RD_ERRLEN];
    const char              *paths[1];
    struct rd_errlog        *lg;
    struct rd_errjoin_line   l;

    (void) state;
    snprintf(text, sizeof(text), "%s\n%s\n%s\n%s\n", L_RESET, L_V6, L_NOTICE,
             L_V6);
    write_file("only.log", text, false, 0);
    snprintf(path, sizeof(path), "%s/only.log", dir);
    paths[0] = path;
    lg = rd_errlog_open(paths, 1, err);
    assert_non_null(lg);
    rd_errlog_only(lg, want, 1);
    assert_int_equal(next_line(lg, &l), 2);
    assert_int_equal(l.up_port, 23111);
    assert_int_equal(l.cl_af, 6);
    assert_int_equal(next_line(lg, &l), 4);
    assert_int_equal(next_line(lg, &l), 0);
    assert_int_equal(rd_errlog_rewind(lg, err), 0);
    assert_int_equal(next_line(lg, &l), 1);
    assert_int_equal(next_line(lg, &l), 2);
    assert_int_equal(next_line(lg, &l), 3);
    rd_errlog_close(lg);
}


/* rd_errlog_lean: a record without context comes without its message
 * and *N, one with context whole; kept across a rewind; off again. */
static void
test_errlog_lean(void **state)
{
    static const char  keepalive[] =
        "2026/12/07 09:58:35 [info] 16767#16767: *7 client 127.0.0.10 "
        "closed keepalive connection";
    char                     text[4096], path[128], err[RD_ERRLEN];
    const char              *paths[1];
    struct rd_errlog        *lg;
    struct rd_errjoin_line   l;
    int                      pass;

    (void) state;
    snprintf(text, sizeof(text), "%s\n%s\n%s\n", L_RESET, L_NOTICE,
             keepalive);
    write_file("lean.log", text, false, 0);
    snprintf(path, sizeof(path), "%s/lean.log", dir);
    paths[0] = path;
    lg = rd_errlog_open(paths, 1, err);
    assert_non_null(lg);
    rd_errlog_lean(lg, true);
    for (pass = 0; pass < 2; pass++) {
        assert_int_equal(next_line(lg, &l), 1);
        assert_int_equal(l.conn_no, 1);
        assert_true(l.has_client);
        assert_string_equal(l.message, "recv() failed (104: Connection reset "
                            "by peer) while reading response header from "
                            "upstream");
        assert_int_equal(next_line(lg, &l), 2);
        assert_int_equal(l.level, RD_ERRJOIN_L_NOTICE);
        assert_string_equal(l.message, "");
        assert_int_equal(next_line(lg, &l), 3);
        assert_int_equal(l.level, RD_ERRJOIN_L_INFO);
        assert_int_equal(l.conn_no, 0);
        assert_false(l.has_client);
        assert_string_equal(l.message, "");
        assert_int_equal(next_line(lg, &l), 0);
        assert_int_equal(rd_errlog_rewind(lg, err), 0);
    }
    rd_errlog_lean(lg, false);
    assert_int_equal(next_line(lg, &l), 1);
    assert_int_equal(next_line(lg, &l), 2);
    assert_string_equal(l.message, "signal process started");
    assert_int_equal(next_line(lg, &l), 3);
    assert_int_equal(l.conn_no, 7);
    assert_string_equal(l.message, "client 127.0.0.10 closed keepalive "
                        "connection");
    rd_errlog_close(lg);
}


/* rd_errlog_only_times: records whose time lies in none of the windows
 * are left out (but counted), those in one are whole; a width of the
 * step or more leaves none out; rewind ends it. */
static void
test_errlog_only_times(void **state)
{
    char                     text[4096], path[128], err[RD_ERRLEN];
    const char              *paths[1];
    struct rd_errlog        *lg;
    struct rd_errjoin_line   l;
    int64_t                  t0;

    (void) state;
    /* 09:57:43, 09:58:06 and 09:58:34 (with a continuation line) */
    snprintf(text, sizeof(text), "%s\n%s\n%s\nmore of it\n%s\n", L_RESET,
             L_V6, L_NOTICE, L_RESET);
    write_file("times.log", text, false, 0);
    snprintf(path, sizeof(path), "%s/times.log", dir);
    paths[0] = path;
    lg = rd_errlog_open(paths, 1, err);
    assert_non_null(lg);
    t0 = 1796637463 - 1;            /* 09:57:42 */
    /* [09:57:42, 09:57:44] and [09:58:05, 09:58:07] */
    rd_errlog_only_times(lg, t0, 2, 23, 2);
    assert_int_equal(next_line(lg, &l), 1);
    assert_int_equal(l.up_port, 21001);
    assert_int_equal(next_line(lg, &l), 2);
    assert_int_equal(l.up_port, 23111);
    assert_int_equal(next_line(lg, &l), 5);
    assert_int_equal(next_line(lg, &l), 0);
    assert_int_equal(rd_errlog_stats(lg)->records, 4);
    assert_int_equal(rd_errlog_stats(lg)->unparsed, 0);
    /* the first window only */
    assert_int_equal(rd_errlog_rewind(lg, err), 0);
    rd_errlog_only_times(lg, t0, 2, 23, 1);
    assert_int_equal(next_line(lg, &l), 1);
    assert_int_equal(next_line(lg, &l), 5);
    assert_int_equal(next_line(lg, &l), 0);
    /* windows that touch: every record */
    assert_int_equal(rd_errlog_rewind(lg, err), 0);
    rd_errlog_only_times(lg, t0, 23, 23, 1);
    assert_int_equal(next_line(lg, &l), 1);
    assert_int_equal(next_line(lg, &l), 2);
    assert_int_equal(next_line(lg, &l), 3);
    assert_int_equal(next_line(lg, &l), 5);
    /* rewind: every record again */
    assert_int_equal(rd_errlog_rewind(lg, err), 0);
    assert_int_equal(next_line(lg, &l), 1);
    assert_int_equal(next_line(lg, &l), 2);
    assert_int_equal(next_line(lg, &l), 3);
    assert_string_equal(l.message, "signal process started\nmore of it");
    rd_errlog_close(lg);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_errlog_parse_reset),
        cmocka_unit_test(test_errlog_parse_v6_fcgi_notice),
        cmocka_unit_test(test_errlog_parse_rejects),
        cmocka_unit_test(test_errlog_files_in_order),
        cmocka_unit_test(test_errlog_gzip_cut),
        cmocka_unit_test(test_errlog_tz),
        cmocka_unit_test(test_errlog_follow_rotate_truncate),
        cmocka_unit_test(test_errlog_only_prefixes),
        cmocka_unit_test(test_errlog_lean),
        cmocka_unit_test(test_errlog_only_times),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
