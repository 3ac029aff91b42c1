/*
 * errlog: nginx's error.log read as records (issue 14), streamed from one
 * or more files, plain or gzip-compressed (zlib reads both), in time
 * order: rotated files (error.log.2.gz, error.log.1, error.log) are sorted
 * by their first record.  A record is a line that starts with nginx's
 * "YYYY/MM/DD HH:MM:SS [level] " and the lines after it that do not (a
 * FastCGI stderr with newlines); lines that belong to no record are
 * counted, the first few named with file and line, never fatal.
 */
#ifndef RD_ERRLOG_H
#define RD_ERRLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rstdiag/common.h"
#include "rstdiag/errjoin.h"

#define RD_ERRLOG_RECORD_MAX    16384   /* bytes of one record kept */
#define RD_ERRLOG_MAX_FILES     64
#define RD_ERRLOG_ONLY_MAX      32  /* rd_errlog_only's messages */

struct rd_errlog_stats {
    uint64_t        lines;          /* physical lines read */
    uint64_t        records;
    uint64_t        unparsed;       /* lines in no record */
    uint64_t        cut;            /* records longer than the bound */
    uint64_t        truncated_files;    /* a gzip stream cut short */
};

struct rd_errlog;

/* Opens every file (a clear error naming the first that cannot be
 * read) and orders them by their first record's time. */
struct rd_errlog *rd_errlog_open(const char *const *paths, size_t n,
    char err[RD_ERRLEN]);

/* The next record: 1, 0 at the end of the last file (followed:
 * RD_ERRJOIN_AGAIN, no more for now), -1 on a read error
 * (err names the file).  A file cut short ends with a warning on
 * stderr and the next file follows. */
int rd_errlog_next(struct rd_errlog *lg, struct rd_errjoin_line *out,
    char err[RD_ERRLEN]);

/*
 * -i: the one file nginx writes, followed as tail -F follows it, from
 * its end (a line being written there is skipped to its newline).
 * rd_errlog_next then returns RD_ERRJOIN_AGAIN when the file has no
 * more for now (call again later: the live loop polls); a record is
 * whole when the next begins or when the file has no more.  At that
 * point a file renamed away (rotation) is read to its end and the path
 * opened anew from its start as soon as it exists again (until then the
 * old one is read); a file shorter than what was read (copytruncate) is
 * read again from its start.  Line numbers start at 1 in each new or
 * truncated file.  NULL with "FILE: reason" in err when the file cannot
 * be opened.  rd_errlog_rewind fails on it.
 */
struct rd_errlog *rd_errlog_follow(const char *path, char err[RD_ERRLEN]);

/* Rotations and truncations seen while following. */
void rd_errlog_follow_stats(const struct rd_errlog *lg, uint64_t *rotations,
    uint64_t *truncations);

/* From the first record of the first file again; ends rd_errlog_only. */
int rd_errlog_rewind(struct rd_errlog *lg, char err[RD_ERRLEN]);

/*
 * Until the next rewind, rd_errlog_next may leave out records whose
 * message (as struct rd_errjoin_line has it) starts with none of the n
 * strings msgs (copied); every record that does is returned whole.  The
 * records left out are still read and checked (the unparsed lines are
 * the same) but their context is not parsed: the join's offset vote
 * reads the whole log for a few messages.  More than RD_ERRLOG_ONLY_MAX,
 * or an empty one: every record.
 */
void rd_errlog_only(struct rd_errlog *lg, const char *const *msgs,
    size_t n);

/*
 * Until the next rewind, rd_errlog_next may also leave out records
 * whose local time lies in none of the n windows [base + k * step,
 * base + k * step + width], k = 0..n-1 (the offset vote: a line can fit
 * a held connection under some offset only there).  Records left out
 * this way are counted but not parsed past their time, and, as in the
 * rest of that pass, warnings are not printed (the join's pass prints
 * them).  A width of step or more: every record.
 */
void rd_errlog_only_times(struct rd_errlog *lg, int64_t base, int64_t width,
    int64_t step, unsigned n);

/*
 * Lean (on): a record without nginx's context (no ", client: ") comes
 * with an empty message and connection number 0; its other fields are
 * set as always.  The join
 * never reads such a record's message (it names no client and no
 * upstream), and copying it is most of what a big log's quiet lines
 * cost.  Kept across rewinds; off when opened.
 */
void rd_errlog_lean(struct rd_errlog *lg, bool on);

const struct rd_errlog_stats *rd_errlog_stats(const struct rd_errlog *lg);

void rd_errlog_close(struct rd_errlog *lg);

/*
 * One record's text (a line, or lines joined by '\n'), n bytes: 0 and
 * *out filled, -1 when it does not start as nginx's lines do.  Pure and
 * bounded: the fuzzer's entry.
 */
int rd_errlog_parse(const char *p, size_t n, struct rd_errjoin_line *out);

/*
 * --error-log-tz: "+0800", "-03:30", "UTC", "Z" or a zone name (as TZ
 * takes it, e.g. "Asia/Shanghai").  *off = local - UTC in seconds, for
 * a zone name at the UTC time at (its offset that day).  -1 with err.
 */
int rd_errlog_parse_tz(const char *s, int64_t at, int64_t *off,
    char err[RD_ERRLEN]);

/* This host's offset at UTC time at. */
int64_t rd_errlog_host_offset(int64_t at);

#endif /* RD_ERRLOG_H */
