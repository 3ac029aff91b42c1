/*
 * errlog: nginx's error.log into records.  zlib's gz* functions read
 * plain and gzip'd files alike (Debian's zlib1g), so rotated logs need no
 * second path.  A record's text is assembled in a fixed buffer; the parse
 * works on (pointer, length) only and never reads past it.
 *
 * The line format (ngx_log_error_core, ngx_http_log_error):
 *   2026/12/07 09:55:18 [error] 20425#20425: *1 MESSAGE, client: ADDR,
 *   server: NAME, request: "LINE", upstream: "URL", host: "HOST",
 *   referrer: "URL"
 * the context after MESSAGE only where nginx has a request.
 */
/* memmem(3) */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "rstdiag/errlog.h"

#define UNPARSED_SHOWN  5           /* lines named on stderr, then counted */
#define LINE_BUF        (RD_ERRLOG_RECORD_MAX + 2)

/* The day of the last date parsed: lines of one day share it, so most
 * lines need no calendar arithmetic. */
struct rd_errlog_tcache {
    char            ymd[10];        /* "YYYY/MM/DD", valid when set */
    bool            set;
    int64_t         days;
    char            stamp[19];      /* the last whole time, valid when */
    bool            stamp_set;      /* ... set: nginx writes many lines */
    int64_t         stamp_t;        /* ... in one second */
};

/* The last client addresses and upstream HOST:PORTs parsed and what the
 * endpoint parser made of them: a log names few, and a repeat costs a
 * comparison.  AMEMO_N of each, replaced in turn.  The answers are
 * those of the parser called afresh (on a line cleared as clear_line
 * does). */
#define AMEMO_N     8

struct rd_errlog_cmemo {
    size_t          n;              /* 0: empty */
    char            s[64];
    bool            ok;
    uint8_t         af;
    uint8_t         addr[16];
};

struct rd_errlog_umemo {
    size_t          n;              /* 0: empty */
    char            s[80];
    uint8_t         af;
    uint8_t         addr[16];
    uint16_t        port;
};

struct rd_errlog_amemo {
    struct rd_errlog_cmemo  cl[AMEMO_N];
    struct rd_errlog_umemo  up[AMEMO_N];
    unsigned                cl_next, up_next;   /* replaced next */
    unsigned                cl_last, up_last;   /* hit last: looked at
                                                 * first */
};


/* rd_errlog_only: the first bytes of each message asked for; and
 * rd_errlog_only_times: the windows of local time. */
struct rd_errlog_only {
    size_t          n;              /* 0: every record */
    char            pre[RD_ERRLOG_ONLY_MAX][16];
    size_t          len[RD_ERRLOG_ONLY_MAX];
    bool            times;          /* the windows are set */
    int64_t         base, width, step;
    unsigned        nwin;
};

struct lfile {
    const char     *path;
    int64_t         first;          /* first record's local time */
};

struct rd_errlog {
    struct lfile            files[RD_ERRLOG_MAX_FILES];
    size_t                  nfiles, cur;
    gzFile                  gz;         /* a gzip'd file, or */
    int                     pfd;        /* ... a plain one read with
                                         * read(2): zlib's copy adds a
                                         * pass over every byte */
    bool                    plain;      /* pfd is open */
    uint64_t                lineno;     /* of the line in buf */
    char                    line[LINE_BUF];
    size_t                  line_len;
    bool                    have_line;  /* a record start waits in line */
    const char             *linep;      /* the line: in rbuf or line */
    int64_t                 line_t;     /* its time, when a record start */
    char                    rec[RD_ERRLOG_RECORD_MAX];
    const char             *recp;       /* the record: in rbuf, line or
                                         * rec (pinned) */
    size_t                  rec_len;
    int64_t                 rec_t;      /* its first line's time */
    uint64_t                rec_lineno;
    struct rd_errlog_tcache tc;         /* the last date seen */
    struct rd_errlog_amemo  am;         /* the last addresses */
    struct rd_errlog_only   only;       /* rd_errlog_only's prefixes */
    struct rd_errlog_stats  st;
    bool                    quiet;      /* the ordering pass */
    bool                    lean;       /* rd_errlog_lean */
    bool                    file_cut;   /* this file ended in a cut */
    char                    rbuf[128 * 1024];   /* read ahead */
    size_t                  rpos, rlen;

    /* rd_errlog_follow: one plain file read as nginx appends to it */
    bool                    follow;
    int                     fd;         /* the file being read */
    dev_t                   dev;        /* ... its identity, to see the */
    ino_t                   ino;        /* path renamed away */
    off_t                   off;        /* bytes read from fd */
    bool                    skip_line;  /* drop bytes up to a newline */
    bool                    skip_cut;   /* ... the rest of a line cut
                                         * (counted), not a line met
                                         * half-written at the start */
    bool                    rotated;    /* fd is the old file: read it out,
                                         * then open the path anew */
    uint64_t                rotations, truncations;
    bool                    warned;     /* the new file cannot be opened */
};


/* ---- parsing ------------------------------------------------------------ */

static bool
digits(const char *p, size_t n, int *out)
{
    size_t    i;
    int       v;
    unsigned  d;

    v = 0;
    for (i = 0; i < n; i++) {
        d = (unsigned) (unsigned char) p[i] - '0';
        if (d > 9) {
            return false;
        }
        v = v * 10 + (int) d;
    }
    *out = v;
    return true;
}


/* memcmp(p, ymd, 10) == 0 in two loads and no call: once per line. */
static bool
same_date(const char *p, const char *ymd)
{
    uint64_t  a, b;
    uint16_t  c, d;

    memcpy(&a, p, 8);
    memcpy(&b, ymd, 8);
    memcpy(&c, p + 8, 2);
    memcpy(&d, ymd + 8, 2);
    return a == b && c == d;
}


/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int y, int m, int d)
{
    int64_t   era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}


/* "YYYY/MM/DD HH:MM:SS" at p (19 bytes); c (or NULL) remembers the
 * last date's day number, so that a line of the same day costs only the
 * time of day.  The checks are the same either way. */
static bool
parse_time_c(const char *p, size_t n, int64_t *out,
    struct rd_errlog_tcache *c)
{
    int      y, mo, d, h, mi, s;
    int64_t  days;
    uint64_t a0, a1, b0, b1;
    uint16_t a2, b2;

    /* the second of the line before: 19 bytes compared in four loads */
    if (c != NULL && c->stamp_set && n >= 19) {
        memcpy(&a0, p, 8);
        memcpy(&a1, p + 8, 8);
        memcpy(&a2, p + 16, 2);
        memcpy(&b0, c->stamp, 8);
        memcpy(&b1, c->stamp + 8, 8);
        memcpy(&b2, c->stamp + 16, 2);
        if (a0 == b0 && a1 == b1 && a2 == b2 && p[18] == c->stamp[18]) {
            *out = c->stamp_t;
            return true;
        }
    }
    if (n < 19 || p[4] != '/' || p[7] != '/' || p[10] != ' ' || p[13] != ':'
        || p[16] != ':' || !digits(p + 11, 2, &h) || !digits(p + 14, 2, &mi)
        || !digits(p + 17, 2, &s) || h > 23 || mi > 59 || s > 60)
    {
        return false;
    }
    if (c != NULL && c->set && same_date(p, c->ymd)) {
        days = c->days;
    } else {
        if (!digits(p, 4, &y) || !digits(p + 5, 2, &mo)
            || !digits(p + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
        {
            return false;
        }
        days = days_from_civil(y, mo, d);
        if (c != NULL) {
            memcpy(c->ymd, p, 10);
            c->days = days;
            c->set = true;
        }
    }
    *out = days * 86400 + h * 3600 + mi * 60 + s;
    if (c != NULL) {
        memcpy(c->stamp, p, 19);
        c->stamp_t = *out;
        c->stamp_set = true;
    }
    return true;
}


/* A record starts here: the time and " [" (the time into *t). */
static bool
record_start_t(const char *p, size_t n, int64_t *t,
    struct rd_errlog_tcache *c)
{
    return n >= 21 && p[19] == ' ' && p[20] == '['
           && parse_time_c(p, n, t, c);
}


/* The first s in p[0..n) (memmem's answer): the needles here start with
 * a rare byte (',' or ':'), so memchr to it, then compare. */
static const char *
find(const char *p, size_t n, const char *s)
{
    const char  *q, *e;
    size_t       k;

    k = strlen(s);
    if (k == 0 || n < k) {
        return NULL;
    }
    e = p + (n - k + 1);            /* a match starts before e */
    while (p < e && (q = memchr(p, s[0], (size_t) (e - p))) != NULL) {
        /* the bytes after the first tell most keys apart: no call */
        if ((k < 3 || (q[1] == s[1] && q[2] == s[2]))
            && memcmp(q, s, k) == 0)
        {
            return q;
        }
        p = q + 1;
    }
    return NULL;
}


/* The last occurrence of s in p[0..n), looked for from the end: nginx
 * writes its context last. */
static const char *
find_last(const char *p, size_t n, const char *s)
{
    const char  *q;
    size_t       k, m;

    k = strlen(s);
    if (k == 0 || n < k) {
        return NULL;
    }
    m = n - k + 1;                  /* a match starts in p[0..m) */
    while (m > 0 && (q = memrchr(p, s[0], m)) != NULL) {
        if ((k < 3 || (q[1] == s[1] && q[2] == s[2]))
            && memcmp(q, s, k) == 0)
        {
            return q;
        }
        m = (size_t) (q - p);
    }
    return NULL;
}


static void
copy(char *dst, size_t size, const char *p, size_t n)
{
    if (n >= size) {
        n = size - 1;
    }
    /* memmove: the compiler keeps the libc call instead of the inline
     * "rep movs" it makes of this memcpy, slow to start for short ones */
    memmove(dst, p, n);
    dst[n] = '\0';
}


/* An address (no port) at p[0..n), through the shared endpoint parser. */
static bool
parse_addr(const char *p, size_t n, uint8_t *af, uint8_t addr[16],
    struct rd_errlog_amemo *m)
{
    struct rd_errlog_cmemo  *e;
    char                     buf[64];
    uint16_t                 port;
    unsigned                 i, k;
    bool                     ok;

    if (n == 0 || n >= sizeof(buf)) {
        return false;
    }
    if (m != NULL) {
        for (k = 0; k < AMEMO_N; k++) {
            i = (m->cl_last + k) % AMEMO_N;
            e = &m->cl[i];
            if (e->n == n && memcmp(e->s, p, n) == 0) {
                m->cl_last = i;
                *af = e->af;
                memcpy(addr, e->addr, 16);
                return e->ok;
            }
        }
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    ok = rd_parse_endpoint(buf, af, addr, &port) == 0 && port == 0;
    if (m != NULL) {
        i = m->cl_next;
        m->cl_next = (i + 1) % AMEMO_N;
        m->cl_last = i;
        e = &m->cl[i];
        e->n = n;
        memcpy(e->s, p, n);
        e->ok = ok;
        e->af = *af;
        memcpy(e->addr, addr, 16);
    }
    return ok;
}


/* "scheme://HOST:PORT/path", HOST an address or [v6]; a unix socket, a
 * name or no port set has_upstream with up_af 0. */
static void
parse_upstream(const char *p, size_t n, struct rd_errjoin_line *l,
    struct rd_errlog_amemo *m)
{
    struct rd_errlog_umemo  *u;
    const char              *h, *e, *slash;
    char                     buf[80];
    size_t                   k;
    unsigned                 i, j;

    l->has_upstream = true;
    l->up_af = 0;
    h = find(p, n, "://");
    if (h == NULL) {
        return;
    }
    h += 3;
    e = p + n;
    slash = memchr(h, '/', (size_t) (e - h));
    if (slash != NULL) {
        e = slash;
    }
    k = (size_t) (e - h);
    if (k >= sizeof(buf)) {
        return;
    }
    if (m != NULL) {
        for (j = 0; j < AMEMO_N; j++) {
            i = (m->up_last + j) % AMEMO_N;
            u = &m->up[i];
            if (u->n == k && k != 0 && memcmp(u->s, h, k) == 0) {
                m->up_last = i;
                l->up_af = u->af;
                memcpy(l->up_addr, u->addr, 16);
                l->up_port = u->port;
                return;
            }
        }
    }
    memcpy(buf, h, k);
    buf[k] = '\0';
    if (rd_parse_endpoint(buf, &l->up_af, l->up_addr, &l->up_port) != 0
        || l->up_port == 0)
    {
        l->up_af = 0;
        l->up_port = 0;
    }
    if (m != NULL && k != 0) {
        i = m->up_next;
        m->up_next = (i + 1) % AMEMO_N;
        m->up_last = i;
        u = &m->up[i];
        u->n = k;
        memcpy(u->s, h, k);
        u->af = l->up_af;
        memcpy(u->addr, l->up_addr, 16);
        u->port = l->up_port;
    }
}


/* nginx's context fields, in the order ngx_http_log_error writes them */
enum { C_CLIENT, C_SERVER, C_REQUEST, C_SUBREQUEST, C_UPSTREAM, C_HOST,
       C_REFERRER, C_N };

static const struct {
    const char     *key;
    size_t          len;
} ctx_keys[C_N] = {
    { ", client: ", 10 }, { ", server: ", 10 }, { ", request: ", 11 },
    { ", subrequest: ", 14 }, { ", upstream: ", 12 }, { ", host: ", 8 },
    { ", referrer: ", 12 },
};

#define SPLIT_OCC   32              /* keys noted in one context */

/* The key a comma at c starts (c[0..left) are there), or C_N: which one
 * by its first letters, then the whole key, of a length the compiler
 * knows. */
static int
ctx_key(const char *c, size_t left)
{
    if (left < 8 || c[1] != ' ') {
        return C_N;
    }
    switch (c[2]) {
    case 'c':
        return left >= 10 && memcmp(c, ", client: ", 10) == 0
               ? C_CLIENT : C_N;
    case 's':
        if (c[3] == 'e') {
            return left >= 10 && memcmp(c, ", server: ", 10) == 0
                   ? C_SERVER : C_N;
        }
        return left >= 14 && memcmp(c, ", subrequest: ", 14) == 0
               ? C_SUBREQUEST : C_N;
    case 'r':
        if (c[4] == 'q') {
            return left >= 11 && memcmp(c, ", request: ", 11) == 0
                   ? C_REQUEST : C_N;
        }
        return left >= 12 && memcmp(c, ", referrer: ", 12) == 0
               ? C_REFERRER : C_N;
    case 'u':
        return left >= 12 && memcmp(c, ", upstream: ", 12) == 0
               ? C_UPSTREAM : C_N;
    case 'h':
        return memcmp(c, ", host: ", 8) == 0 ? C_HOST : C_N;
    default:
        return C_N;
    }
}


/* The fields from where each key was found (at[k], NULL absent), up to
 * e: a field ends where the next key found begins; quotes stripped. */
static void
split_at(const char *const at[C_N], const char *e, const char *v[C_N],
    size_t len[C_N])
{
    const char  *q, *end;
    int          k;

    end = e;                        /* where the field of key k ends */
    for (k = C_N - 1; k >= 0; k--) {
        if (at[k] == NULL) {
            v[k] = NULL;
            len[k] = 0;
            continue;
        }
        q = at[k] + ctx_keys[k].len;
        v[k] = q;
        len[k] = (size_t) (end - q);
        if (end - q >= 2 && *q == '"' && end[-1] == '"') {
            v[k] = q + 1;
            len[k] -= 2;
        }
        end = at[k];
    }
}


/* The keys noted in a context from its start (occ[0], ", client: ") to
 * e, in order, cut into fields: each key is the first of its kind after
 * the one before, as nginx writes them.  Keys noted in increasing order
 * (as nginx writes them) are that already. */
static void
split_noted(const char *const occ[], const int key[], int nocc,
    const char *e, const char *v[C_N], size_t len[C_N])
{
    const char  *at[C_N], *q;
    int          k, j, from;

    for (k = 0; k < C_N; k++) {
        at[k] = NULL;
    }
    for (j = 1; j < nocc && key[j] > key[j - 1]; j++) {
    }
    if (j >= nocc) {
        for (j = 0; j < nocc; j++) {
            at[key[j]] = occ[j];
        }
        split_at(at, e, v, len);
        return;
    }
    from = 0;
    for (k = 0; k < C_N; k++) {
        /* the first of key k after the key found before (find()'s
         * answer): the notes before from lie before that one's end; no
         * key starts inside another (a key's only comma is its first
         * byte), so those after it lie after it */
        q = NULL;
        for (j = from; j < nocc; j++) {
            if (key[j] == k) {
                q = occ[j];
                from = j + 1;
                break;
            }
        }
        if (q != NULL) {
            at[k] = q;
        }
    }
    split_at(at, e, v, len);
}


/* The context ctx[0..n) (it starts with ", client: ") cut into its
 * fields, each key looked for on its own: a context with more than
 * SPLIT_OCC keys in it. */
static void
split_context(const char *ctx, size_t n, const char *v[C_N], size_t len[C_N])
{
    const char  *at[C_N], *p, *e, *q;
    int          k;

    e = ctx + n;
    p = ctx;
    for (k = 0; k < C_N; k++) {
        at[k] = NULL;
        q = find(p, (size_t) (e - p), ctx_keys[k].key);
        if (q != NULL) {
            at[k] = q;
            p = q + ctx_keys[k].len;
        }
    }
    split_at(at, e, v, len);
}


/* The last ',' in q[0..m), or NULL: sixteen bytes at a time from the
 * end, in line (a context's commas are a few bytes apart, and a call
 * to memrchr each costs more than the search). */
static inline const char *
last_comma(const char *q, size_t m)
{
#ifdef __SSE2__
    const __m128i  cm = _mm_set1_epi8(',');
    __m128i        x;
    unsigned       b;

    while (m >= 16) {
        x = _mm_loadu_si128((const __m128i *) (const void *) (q + m - 16));
        b = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(x, cm));
        if (b != 0) {
            return q + m - 16 + (31 - __builtin_clz(b));
        }
        m -= 16;
    }
#endif
    while (m > 0) {
        if (q[--m] == ',') {
            return q + m;
        }
    }
    return NULL;
}


/*
 * nginx's context in the message q[0..e): the last ", client: " and the
 * fields after it (v, len), found in one pass over the commas from the
 * end (every key starts with one), or NULL (v untouched) when there is
 * none.  The same fields as find_last() then split_context() give.
 */
static const char *
find_context(const char *q, const char *e, const char *v[C_N],
    size_t len[C_N])
{
    const char  *occ[SPLIT_OCC], *c, *ctx;
    int          key[SPLIT_OCC];
    int          k, nocc;
    size_t       m;

    nocc = 0;
    /* a key (", host: " the shortest) starts in q[0..m) */
    m = e - q >= 8 ? (size_t) (e - q) - 7 : 0;
    while (m > 0 && (c = last_comma(q, m)) != NULL) {
        m = (size_t) (c - q);
        k = ctx_key(c, (size_t) (e - c));
        if (k == C_N) {
            continue;
        }
        if (nocc == SPLIT_OCC) {
            /* more keys than noted: the last client the plain way */
            ctx = find_last(q, (size_t) (c - q) + 10, ", client: ");
            if (ctx == NULL) {
                return NULL;
            }
            split_context(ctx, (size_t) (e - ctx), v, len);
            return ctx;
        }
        /* noted from the end of the arrays back: in order at the end */
        nocc++;
        occ[SPLIT_OCC - nocc] = c;
        key[SPLIT_OCC - nocc] = k;
        if (k == C_CLIENT) {
            split_noted(occ + SPLIT_OCC - nocc, key + SPLIT_OCC - nocc, nocc,
                        e, v, len);
            return c;
        }
    }
    return NULL;
}


/* How many of p[0..n) are digits, from the first: eight bytes at a time
 * where eight are there (a byte is a digit when its high nibble is 3
 * before and after adding 6; a carry out of a byte comes only from a
 * byte that is no digit, after the first such). */
static size_t
lead_digits(const char *p, size_t n)
{
    const uint64_t  ones = 0x0101010101010101ull;
    uint64_t        w, bad;
    size_t          k;

    k = 0;
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (n - k >= 8) {
        memcpy(&w, p + k, 8);
        bad = ((w & (0xf0 * ones)) ^ (0x30 * ones))
              | (((w + 0x06 * ones) & (0xf0 * ones)) ^ (0x30 * ones));
        if (bad != 0) {
            return k + (size_t) (__builtin_ctzll(bad) / 8);
        }
        k += 8;
    }
#endif
    for (; k < n && (unsigned) (unsigned char) p[k] - '0' <= 9; k++) {
    }
    return k;
}


/* What a record's parse sets, reset: the scalars and the addresses (they
 * are hashed whole) and each string's first byte; the rest of the
 * strings is not read past their terminator. */
static void
clear_line(struct rd_errjoin_line *out)
{
    memset(out, 0, offsetof(struct rd_errjoin_line, method));
    out->method[0] = '\0';
    out->target[0] = '\0';
    out->message[0] = '\0';
}


/* The record after its time (out->local set, p[0..21) checked). */
static int
parse_rest(const char *p, size_t n, struct rd_errjoin_line *out,
    struct rd_errlog_amemo *m, const struct rd_errlog_only *o, bool lean)
{
    const char  *q, *e, *ctx, *v, *sp, *t, *t2, *cv[C_N], *cn;
    size_t       i, k, vlen, cl[C_N], cnk;

    e = p + n;
    q = p + 21;
    cn = NULL;
    cnk = 0;
    /* the level by its first letters (only error and emerg share one) */
    if (e - q < 6) {
        return -1;
    }
    switch (q[0]) {
    case 'd': i = RD_ERRJOIN_L_DEBUG; break;
    case 'i': i = RD_ERRJOIN_L_INFO; break;
    case 'n': i = RD_ERRJOIN_L_NOTICE; break;
    case 'w': i = RD_ERRJOIN_L_WARN; break;
    case 'e': i = q[1] == 'r' ? RD_ERRJOIN_L_ERROR : RD_ERRJOIN_L_EMERG;
              break;
    case 'c': i = RD_ERRJOIN_L_CRIT; break;
    case 'a': i = RD_ERRJOIN_L_ALERT; break;
    default: return -1;
    }
    k = rd_errjoin_level_len[i];
    if ((size_t) (e - q) <= k || q[k] != ']'
        || memcmp(q + 1, rd_errjoin_level_names[i] + 1, k - 1) != 0)
    {
        return -1;
    }
    out->level = (uint8_t) i;
    q += rd_errjoin_level_len[i] + 1;
    /* " PID#TID: " */
    if (e - q < 2 || *q != ' ') {
        return -1;
    }
    q++;
    k = lead_digits(q, (size_t) (e - q));
    if (k == 0 || q + k >= e || q[k] != '#') {
        return -1;
    }
    q += k + 1;
    k = lead_digits(q, (size_t) (e - q));
    if (k == 0 || e - (q + k) < 1 || q[k] != ':') {
        return -1;
    }
    q += k + 1;
    if (q < e && *q == ' ') {
        q++;
    }
    /* "*N " */
    if (q < e && *q == '*') {
        vlen = (size_t) (e - q) < 20 ? (size_t) (e - q) : 20;
        k = 1 + lead_digits(q + 1, vlen - 1);
        if (k > 1 && q + k < e && q[k] == ' ') {
            cn = q + 1;             /* its value: below, when wanted */
            cnk = k - 1;
            q += k + 1;
        }
    }
    /* rd_errlog_only: a message that cannot be one asked for is not
     * read further (the record is well formed: nothing below fails) */
    if (o != NULL && o->n > 0) {
        for (i = 0; i < o->n; i++) {
            k = o->len[i];
            if ((size_t) (e - q) >= k && q[0] == o->pre[i][0]
                && (k < 2 || q[1] == o->pre[i][1])
                && memcmp(q, o->pre[i], k) == 0)
            {
                break;
            }
        }
        if (i == o->n) {
            return 1;
        }
    }
    /* the context nginx appends, last */
    ctx = find_context(q, e, cv, cl);
    if (ctx == NULL && lean) {
        return 0;
    }
    for (i = 0; i < cnk; i++) {
        out->conn_no = out->conn_no * 10 + (uint64_t) (cn[i] - '0');
    }
    if (ctx == NULL) {
        copy(out->message, sizeof(out->message), q, (size_t) (e - q));
        return 0;
    }
    copy(out->message, sizeof(out->message), q, (size_t) (ctx - q));
    if (cv[C_CLIENT] != NULL) {
        out->has_client = parse_addr(cv[C_CLIENT], cl[C_CLIENT], &out->cl_af,
                                     out->cl_addr, m);
    }
    /* "METHOD TARGET VERSION" */
    v = cv[C_REQUEST];
    vlen = cl[C_REQUEST];
    sp = v != NULL ? memchr(v, ' ', vlen) : NULL;
    if (sp != NULL) {
        copy(out->method, sizeof(out->method), v, (size_t) (sp - v));
        t = sp + 1;
        t2 = memchr(t, ' ', (size_t) (v + vlen - t));
        copy(out->target, sizeof(out->target), t,
             (size_t) ((t2 != NULL ? t2 : v + vlen) - t));
    }
    if (cv[C_UPSTREAM] != NULL) {
        parse_upstream(cv[C_UPSTREAM], cl[C_UPSTREAM], out, m);
    }
    return 0;
}


int
rd_errlog_parse(const char *p, size_t n, struct rd_errjoin_line *out)
{
    clear_line(out);
    if (!record_start_t(p, n, &out->local, NULL)) {
        return -1;
    }
    return parse_rest(p, n, out, NULL, NULL, false);
}


/* t lies in one of rd_errlog_only_times' windows (width < step: they
 * do not touch). */
static bool
in_windows(const struct rd_errlog_only *o, int64_t t)
{
    int64_t  d, k;

    d = t - o->base;
    if (d < 0) {
        return false;
    }
    k = d / o->step;
    return k < (int64_t) o->nwin && d - k * o->step <= o->width;
}


/* ---- files -------------------------------------------------------------- */

/* The next bytes of the file into rbuf: > 0, 0 at the end, -1 on a cut
 * or a read error (a warning; the file ends there). */
static int
refill(struct rd_errlog *lg, const char *path)
{
    int      n, errnum;
    ssize_t  r;

    if (lg->plain) {
        do {
            r = read(lg->pfd, lg->rbuf, sizeof(lg->rbuf));
        } while (r < 0 && errno == EINTR);
        if (r >= 0) {
            lg->rpos = 0;
            lg->rlen = (size_t) r;
            return (int) r;
        }
        /* as zlib's Z_ERRNO says it */
        lg->st.truncated_files++;
        lg->file_cut = true;
        if (!lg->quiet) {
            fprintf(stderr, "rstdiag: warning: %s: %s: %s after line %llu; "
                    "read up to there\n", path, path, strerror(errno),
                    (unsigned long long) lg->lineno);
        }
        return -1;
    }
    n = gzread(lg->gz, lg->rbuf, sizeof(lg->rbuf));
    if (n > 0) {
        lg->rpos = 0;
        lg->rlen = (size_t) n;
        return n;
    }
    (void) gzerror(lg->gz, &errnum);
    if (errnum == Z_OK || errnum == Z_STREAM_END) {
        return 0;
    }
    lg->st.truncated_files++;
    lg->file_cut = true;
    if (!lg->quiet) {
        fprintf(stderr, "rstdiag: warning: %s: %s after line %llu; read up "
                "to there\n", path, errnum == Z_BUF_ERROR
                ? "compressed data cut short" : gzerror(lg->gz, &errnum),
                (unsigned long long) lg->lineno);
    }
    return -1;
}


/* The record waiting for its continuation lines is kept in lg->rec
 * before rbuf or lg->line is written over. */
static void
pin(struct rd_errlog *lg)
{
    if (lg->rec_len != 0 && lg->recp != lg->rec) {
        memcpy(lg->rec, lg->recp, lg->rec_len);
        lg->recp = lg->rec;
    }
}


/* One physical line (without the newline) at lg->linep, line_len bytes:
 * in rbuf when it lies there whole (no copy), else assembled in
 * lg->line.  0 at EOF, -1 on a cut (the part line before it is
 * dropped). */
static int
read_line(struct rd_errlog *lg, const char *path)
{
    const char  *nl;
    size_t       n, k, room;
    int          rc;

    if (lg->file_cut) {
        return 0;
    }
    nl = lg->rpos < lg->rlen
         ? memchr(lg->rbuf + lg->rpos, '\n', lg->rlen - lg->rpos) : NULL;
    if (nl != NULL) {
        n = (size_t) (nl - (lg->rbuf + lg->rpos));
        lg->linep = lg->rbuf + lg->rpos;
        lg->rpos += n + 1;
        goto done;
    }
    /* the line goes on in the next block: rbuf is refilled */
    pin(lg);
    n = 0;
    for (;;) {
        if (lg->rpos == lg->rlen) {
            rc = refill(lg, path);
            if (rc < 0) {
                return -1;
            }
            if (rc == 0) {
                if (n == 0) {
                    return 0;
                }
                break;              /* a last line without a newline */
            }
        }
        nl = memchr(lg->rbuf + lg->rpos, '\n', lg->rlen - lg->rpos);
        k = (nl != NULL ? (size_t) (nl - lg->rbuf) : lg->rlen) - lg->rpos;
        room = n < RD_ERRLOG_RECORD_MAX ? RD_ERRLOG_RECORD_MAX - n : 0;
        memcpy(lg->line + n, lg->rbuf + lg->rpos, k < room ? k : room);
        n += k;
        lg->rpos += k;
        if (nl != NULL) {
            lg->rpos++;
            break;
        }
    }
    lg->linep = lg->line;

done:
    lg->lineno++;
    lg->st.lines++;
    if (n > RD_ERRLOG_RECORD_MAX) {
        lg->st.cut++;
        n = RD_ERRLOG_RECORD_MAX;
    }
    lg->line_len = n;
    return 1;
}


static bool
file_open(const struct rd_errlog *lg)
{
    return lg->gz != NULL || lg->plain;
}


static void
close_file(struct rd_errlog *lg)
{
    if (lg->gz != NULL) {
        gzclose(lg->gz);
        lg->gz = NULL;
    }
    if (lg->plain) {
        close(lg->pfd);
        lg->plain = false;
    }
}


static int
open_file(struct rd_errlog *lg, size_t i, char err[RD_ERRLEN])
{
    unsigned char  magic[2];
    int            fd;

    close_file(lg);
    fd = open(lg->files[i].path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, RD_ERRLEN, "%s: cannot open: %s", lg->files[i].path,
                 strerror(errno));
        return -1;
    }
    /* gzip's magic (RFC 1952 2.3.1) as zlib looks for it; anything else
     * zlib would copy as it is, and read(2) does that */
    if (pread(fd, magic, 2, 0) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
        lg->pfd = fd;
        lg->plain = true;
    } else {
        /* by its name: zlib's messages name the file */
        close(fd);
        lg->gz = gzopen(lg->files[i].path, "rb");
        if (lg->gz == NULL) {
            snprintf(err, RD_ERRLEN, "%s: cannot open: %s",
                     lg->files[i].path, strerror(errno));
            return -1;
        }
        /* half of rbuf: zlib then reads (and inflates) straight into
         * rbuf, not through a buffer of its own and a copy */
        gzbuffer(lg->gz, (unsigned) sizeof(lg->rbuf) / 2);
    }
    lg->lineno = 0;
    lg->have_line = false;
    lg->file_cut = false;
    lg->rpos = lg->rlen = 0;
    return 0;
}


static void
unparsed(struct rd_errlog *lg, const char *path)
{
    lg->st.unparsed++;
    if (!lg->quiet && lg->st.unparsed <= UNPARSED_SHOWN) {
        fprintf(stderr, "rstdiag: warning: %s:%llu: not an nginx error.log "
                "line%s\n", path, (unsigned long long) lg->lineno,
                lg->st.unparsed == UNPARSED_SHOWN ? " (further ones only "
                "counted)" : "");
    }
}


/* ---- following a growing file (-i) ------------------------------------ */

/* The record waiting in lg->rec (whole: the file has no more for now or
 * the next record began): 1 and *out, or 0 when it is not nginx's. */
static int
follow_emit(struct rd_errlog *lg, struct rd_errjoin_line *out)
{
    const char  *path = lg->files[0].path;
    size_t       n;

    n = lg->rec_len;
    lg->rec_len = 0;
    clear_line(out);
    out->local = lg->rec_t;
    if (parse_rest(lg->rec, n, out, &lg->am, NULL, lg->lean) != 0) {
        unparsed(lg, path);
        return 0;
    }
    out->file = path;
    out->lineno = lg->rec_lineno;
    lg->st.records++;
    return 1;
}


/* One whole line p[0..n) of the followed file: it starts a record (the
 * one before is then whole: 1 and *out) or continues one. */
static int
follow_line(struct rd_errlog *lg, const char *p, size_t n,
    struct rd_errjoin_line *out)
{
    int64_t  t;
    int      rc;

    lg->lineno++;
    lg->st.lines++;
    if (n > RD_ERRLOG_RECORD_MAX) {
        lg->st.cut++;
        n = RD_ERRLOG_RECORD_MAX;
    }
    if (!record_start_t(p, n, &t, &lg->tc)) {
        if (lg->rec_len == 0) {
            unparsed(lg, lg->files[0].path);
        } else if (lg->rec_len < sizeof(lg->rec)
                   && n < sizeof(lg->rec) - lg->rec_len)
        {
            /* no sum that could wrap: gcc -O3 then sees the bound */
            lg->rec[lg->rec_len++] = '\n';
            memcpy(lg->rec + lg->rec_len, p, n);
            lg->rec_len += n;
        } else {
            lg->st.cut++;
        }
        return 0;
    }
    rc = lg->rec_len != 0 ? follow_emit(lg, out) : 0;
    memcpy(lg->rec, p, n);
    lg->rec_len = n;
    lg->rec_t = t;
    lg->rec_lineno = lg->lineno;
    return rc;
}


/* The file has no more bytes now: truncated (copytruncate: from its
 * start again), renamed away (rotation: the old one is read out, then
 * the path opened anew, when it exists) or unchanged.  1: read on. */
static int
follow_eof(struct rd_errlog *lg)
{
    const char  *path = lg->files[0].path;
    struct stat  sb;
    int          fd;

    if (!lg->rotated && fstat(lg->fd, &sb) == 0 && sb.st_size < lg->off) {
        (void) lseek(lg->fd, 0, SEEK_SET);
        lg->off = 0;
        lg->rpos = lg->rlen = 0;    /* a part line before it is lost */
        lg->skip_line = lg->skip_cut = false;
        lg->lineno = 0;
        lg->truncations++;
        return 1;
    }
    if (!lg->rotated) {
        if (stat(path, &sb) != 0
            || (sb.st_dev == lg->dev && sb.st_ino == lg->ino))
        {
            return 0;               /* the same file, or none there yet */
        }
        lg->rotated = true;
        if (lg->rpos < lg->rlen && lg->rlen < sizeof(lg->rbuf)) {
            lg->rbuf[lg->rlen++] = '\n';   /* its last line, unended */
            return 1;
        }
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        /* renamed, not created yet: wait (the old one is still read);
         * one that cannot be read (-Z) is said once */
        if (errno != ENOENT && !lg->warned) {
            lg->warned = true;
            fprintf(stderr, "rstdiag: warning: %s: cannot open the new file "
                    "after a rotation: %s; still reading the old one\n",
                    path, strerror(errno));
        }
        return 0;
    }
    lg->warned = false;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return 0;                   /* not (yet) a file to follow */
    }
    if (sb.st_dev == lg->dev && sb.st_ino == lg->ino) {
        close(fd);                  /* renamed back: the same file */
        lg->rotated = false;
        return 0;
    }
    close(lg->fd);
    lg->fd = fd;
    lg->dev = sb.st_dev;
    lg->ino = sb.st_ino;
    lg->off = 0;
    lg->rpos = lg->rlen = 0;
    lg->skip_line = lg->skip_cut = false;
    lg->lineno = 0;
    lg->rotated = false;
    lg->rotations++;
    return 1;
}


static int
follow_next(struct rd_errlog *lg, struct rd_errjoin_line *out,
    char err[RD_ERRLEN])
{
    const char  *nl, *p;
    size_t       n;
    ssize_t      r;

    for (;;) {
        /* the whole lines read so far */
        while (lg->rpos < lg->rlen
               && (nl = memchr(lg->rbuf + lg->rpos, '\n',
                               lg->rlen - lg->rpos)) != NULL)
        {
            p = lg->rbuf + lg->rpos;
            n = (size_t) (nl - p);
            lg->rpos += n + 1;
            if (lg->skip_line) {
                lg->skip_line = false;
                if (!lg->skip_cut) {
                    lg->lineno++;   /* a line of the file, not read */
                }
                lg->skip_cut = false;
                continue;
            }
            if (follow_line(lg, p, n, out) == 1) {
                return 1;
            }
        }
        /* the part line to the front, then what the file has more */
        if (lg->rpos == 0 && lg->rlen == sizeof(lg->rbuf)) {
            /* a line longer than the buffer: its start, cut */
            if (!lg->skip_line && follow_line(lg, lg->rbuf, lg->rlen, out)
                                  == 1)
            {
                lg->rlen = 0;
                lg->skip_line = lg->skip_cut = true;
                return 1;
            }
            if (!lg->skip_line) {
                lg->skip_cut = true;    /* the rest of a line counted */
            }
            lg->rlen = 0;
            lg->skip_line = true;
        }
        memmove(lg->rbuf, lg->rbuf + lg->rpos, lg->rlen - lg->rpos);
        lg->rlen -= lg->rpos;
        lg->rpos = 0;
        r = read(lg->fd, lg->rbuf + lg->rlen, sizeof(lg->rbuf) - lg->rlen);
        if (r > 0) {
            lg->rlen += (size_t) r;
            lg->off += r;
            continue;
        }
        if (r < 0 && errno != EINTR && errno != EAGAIN) {
            snprintf(err, RD_ERRLEN, "%s: %s", lg->files[0].path,
                     strerror(errno));
            return -1;
        }
        if (r == 0 && follow_eof(lg) == 1) {
            continue;
        }
        /* nothing more now: the record waiting is whole (nginx writes
         * one with one write) */
        if (lg->rec_len != 0 && follow_emit(lg, out) == 1) {
            return 1;
        }
        return RD_ERRJOIN_AGAIN;
    }
}


int
rd_errlog_next(struct rd_errlog *lg, struct rd_errjoin_line *out,
    char err[RD_ERRLEN])
{
    const char  *path;
    int          rc;

    if (lg->follow) {
        return follow_next(lg, out, err);
    }
    while (lg->cur < lg->nfiles) {
        path = lg->files[lg->cur].path;
        if (!file_open(lg) && open_file(lg, lg->cur, err) != 0) {
            return -1;
        }
        /* a record: its first line, then the lines that continue it */
        lg->rec_len = 0;
        for (;;) {
            if (!lg->have_line) {
                rc = read_line(lg, path);
                if (rc <= 0) {
                    break;
                }
                if (!record_start_t(lg->linep, lg->line_len, &lg->line_t,
                                    &lg->tc))
                {
                    if (lg->rec_len == 0) {
                        unparsed(lg, path);
                        continue;
                    }
                    if (lg->rec_len + 1 + lg->line_len
                        <= sizeof(lg->rec))
                    {
                        pin(lg);
                        lg->rec[lg->rec_len++] = '\n';
                        memcpy(lg->rec + lg->rec_len, lg->linep,
                               lg->line_len);
                        lg->rec_len += lg->line_len;
                    } else {
                        lg->st.cut++;
                    }
                    continue;
                }
                lg->have_line = true;
            }
            if (lg->rec_len != 0) {
                break;              /* the next record waits in line */
            }
            lg->recp = lg->linep;
            lg->rec_len = lg->line_len;
            lg->rec_t = lg->line_t;
            lg->rec_lineno = lg->lineno;
            lg->have_line = false;
        }
        if (lg->rec_len != 0) {
            if (lg->only.times && !in_windows(&lg->only, lg->rec_t)) {
                lg->st.records++;   /* it cannot be one asked for */
                continue;
            }
            /* its time was read with its first line */
            clear_line(out);
            out->local = lg->rec_t;
            rc = parse_rest(lg->recp, lg->rec_len, out, &lg->am, &lg->only,
                            lg->lean);
            if (rc < 0) {
                unparsed(lg, path);
                continue;
            }
            if (rc > 0) {
                lg->st.records++;   /* not asked for */
                continue;
            }
            out->file = path;
            out->lineno = lg->rec_lineno;
            lg->st.records++;
            return 1;
        }
        /* this file is done */
        close_file(lg);
        lg->cur++;
    }
    return 0;
}


int
rd_errlog_rewind(struct rd_errlog *lg, char err[RD_ERRLEN])
{
    if (lg->follow) {
        snprintf(err, RD_ERRLEN, "%s: a followed log is not read again",
                 lg->files[0].path);
        return -1;
    }
    close_file(lg);
    lg->cur = 0;
    lg->have_line = false;
    lg->only.n = 0;
    lg->only.times = false;
    lg->quiet = false;
    memset(&lg->st, 0, sizeof(lg->st));
    return 0;
}


void
rd_errlog_only(struct rd_errlog *lg, const char *const *msgs, size_t n)
{
    size_t  i, k;

    lg->only.n = 0;
    if (n > RD_ERRLOG_ONLY_MAX) {
        return;                     /* too many to test: every line */
    }
    for (i = 0; i < n; i++) {
        k = strlen(msgs[i]);
        if (k == 0) {
            return;                 /* "" starts every message */
        }
        if (k > sizeof(lg->only.pre[i])) {
            k = sizeof(lg->only.pre[i]);
        }
        memcpy(lg->only.pre[i], msgs[i], k);
        lg->only.len[i] = k;
    }
    lg->only.n = n;
}


void
rd_errlog_only_times(struct rd_errlog *lg, int64_t base, int64_t width,
    int64_t step, unsigned n)
{
    lg->only.times = false;
    if (lg->follow) {
        return;
    }
    lg->quiet = true;               /* the join's pass warns */
    if (step <= 0 || width < 0 || width >= step || n == 0) {
        return;                     /* every record */
    }
    lg->only.times = true;
    lg->only.base = base;
    lg->only.width = width;
    lg->only.step = step;
    lg->only.nwin = n;
}


void
rd_errlog_lean(struct rd_errlog *lg, bool on)
{
    lg->lean = on;
}


static int
by_first(const void *a, const void *b)
{
    const struct lfile  *x = a, *y = b;

    return x->first < y->first ? -1 : x->first > y->first;
}


/* The local time of path's first record, INT64_MAX for none. */
static int
first_time(const char *path, int64_t *first, char err[RD_ERRLEN])
{
    struct rd_errlog        *one;
    struct rd_errjoin_line   l;
    struct stat              sb;
    int                      rc;

    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(err, RD_ERRLEN, "%s: is a directory", path);
        return -1;
    }
    one = calloc(1, sizeof(*one));
    if (one == NULL) {
        snprintf(err, RD_ERRLEN, "out of memory");
        return -1;
    }
    one->files[0].path = path;
    one->nfiles = 1;
    one->quiet = true;
    rc = rd_errlog_next(one, &l, err);
    *first = rc == 1 ? l.local : INT64_MAX;
    rd_errlog_close(one);
    return rc < 0 ? -1 : 0;
}


struct rd_errlog *
rd_errlog_open(const char *const *paths, size_t n, char err[RD_ERRLEN])
{
    struct rd_errlog  *lg;
    size_t             i;

    if (n > RD_ERRLOG_MAX_FILES) {
        snprintf(err, RD_ERRLEN, "--error-log: at most %d files",
                 RD_ERRLOG_MAX_FILES);
        return NULL;
    }
    lg = calloc(1, sizeof(*lg));
    if (lg == NULL) {
        snprintf(err, RD_ERRLEN, "out of memory");
        return NULL;
    }
    /* rotated files in the order of their first records */
    for (i = 0; i < n; i++) {
        lg->files[i].path = paths[i];
        if (first_time(paths[i], &lg->files[i].first, err) != 0) {
            rd_errlog_close(lg);
            return NULL;
        }
    }
    qsort(lg->files, n, sizeof(lg->files[0]), by_first);
    lg->nfiles = n;
    return lg;
}


struct rd_errlog *
rd_errlog_follow(const char *path, char err[RD_ERRLEN])
{
    struct rd_errlog  *lg;
    struct stat        sb;
    char               last;
    const char        *p, *e;
    off_t              at;
    ssize_t            r;

    lg = calloc(1, sizeof(*lg));
    if (lg == NULL) {
        snprintf(err, RD_ERRLEN, "out of memory");
        return NULL;
    }
    lg->files[0].path = path;
    lg->nfiles = 1;
    lg->follow = true;
    lg->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (lg->fd < 0) {
        snprintf(err, RD_ERRLEN, "%s: cannot open: %s", path,
                 strerror(errno));
        free(lg);
        return NULL;
    }
    /* a regular file: a FIFO's read would stall the capture's loop */
    if (fstat(lg->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, RD_ERRLEN, "%s: %s", path,
                 fstat(lg->fd, &sb) != 0 ? strerror(errno)
                 : S_ISDIR(sb.st_mode) ? "is a directory"
                 : "not a regular file (-i follows a file)");
        close(lg->fd);
        free(lg);
        return NULL;
    }
    lg->dev = sb.st_dev;
    lg->ino = sb.st_ino;
    /* from the end, as tail -F: what nginx writes from now on; a line
     * being written at the end is not taken by half */
    lg->off = lseek(lg->fd, 0, SEEK_END);
    if (lg->off < 0) {
        lg->off = 0;                /* not seekable: from where it is */
    } else if (lg->off > 0
               && pread(lg->fd, &last, 1, lg->off - 1) == 1 && last != '\n')
    {
        lg->skip_line = true;
    }
    /* the lines before, counted, so that line numbers are the file's
     * (memchr's pace: a second or so for gigabytes, once) */
    for (at = 0; at < lg->off; at += r) {
        r = pread(lg->fd, lg->rbuf, sizeof(lg->rbuf), at);
        if (r <= 0) {
            break;
        }
        if (at + r > lg->off) {
            r = lg->off - at;
        }
        for (p = lg->rbuf, e = lg->rbuf + r;
             (p = memchr(p, '\n', (size_t) (e - p))) != NULL; p++)
        {
            lg->lineno++;
        }
    }
    return lg;
}


void
rd_errlog_follow_stats(const struct rd_errlog *lg, uint64_t *rotations,
    uint64_t *truncations)
{
    *rotations = lg->rotations;
    *truncations = lg->truncations;
}


const struct rd_errlog_stats *
rd_errlog_stats(const struct rd_errlog *lg)
{
    return &lg->st;
}


void
rd_errlog_close(struct rd_errlog *lg)
{
    if (lg == NULL) {
        return;
    }
    close_file(lg);
    if (lg->follow) {
        close(lg->fd);
    }
    free(lg);
}


/* ---- time zones ---------------------------------------------------------- */

int64_t
rd_errlog_host_offset(int64_t at)
{
    struct tm  tm;
    time_t     t = (time_t) at;

    if (localtime_r(&t, &tm) == NULL) {
        return 0;
    }
    return (int64_t) tm.tm_gmtoff;
}


int
rd_errlog_parse_tz(const char *s, int64_t at, int64_t *off,
    char err[RD_ERRLEN])
{
    char        *old, *saved;
    int          h, m, sign;
    size_t       n;

    n = strlen(s);
    if (strcmp(s, "UTC") == 0 || strcmp(s, "Z") == 0 || strcmp(s, "GMT") == 0
        || strcmp(s, "utc") == 0)
    {
        *off = 0;
        return 0;
    }
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        sign = s[0] == '-' ? -1 : 1;
        if ((n == 5 && digits(s + 1, 2, &h) && digits(s + 3, 2, &m))
            || (n == 6 && s[3] == ':' && digits(s + 1, 2, &h)
                && digits(s + 4, 2, &m))
            || (n == 3 && digits(s + 1, 2, &h) && (m = 0) == 0))
        {
            if (h <= 14 && m < 60) {
                *off = sign * (h * 3600 + m * 60);
                return 0;
            }
        }
        snprintf(err, RD_ERRLEN, "--error-log-tz: '%s' is not +HHMM, "
                 "+HH:MM, UTC or a zone name", s);
        return -1;
    }
    /* a zone name: the C library knows the rules (tzdata); TZ is set for
     * the one conversion and put back, before any thread exists */
    if (n == 0 || n > 64 || strchr(s, ' ') != NULL) {
        snprintf(err, RD_ERRLEN, "--error-log-tz: '%s' is not +HHMM, "
                 "+HH:MM, UTC or a zone name", s);
        return -1;
    }
    {
        char  path[128];
        FILE *f;

        snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", s);
        f = s[0] == '/' || strstr(s, "..") != NULL ? NULL : fopen(path, "rb");
        if (f == NULL) {
            snprintf(err, RD_ERRLEN, "--error-log-tz: no time zone '%s' "
                     "(in /usr/share/zoneinfo)", s);
            return -1;
        }
        fclose(f);
    }
    old = getenv("TZ");
    saved = old != NULL ? strdup(old) : NULL;
    setenv("TZ", s, 1);
    tzset();
    *off = rd_errlog_host_offset(at);
    if (saved != NULL) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
    return 0;
}
