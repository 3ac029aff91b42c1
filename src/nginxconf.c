/*
 * nginxconf: a streaming tokenizer of nginx's configuration syntax (the
 * rules of ngx_conf_read_token), a tree of directives, and the walk that
 * resolves includes and inheritance (http -> server -> location, as the
 * merge_loc_conf functions of nginx's modules do).
 */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rstdiag/limits.h"
#include "rstdiag/nginxconf.h"

#define CHUNK       65536u          /* arena piece; bigger strings get
                                     * their own */
#define MARKER      "# configuration file "
#define NGINX_PFX   "nginx: "
#define V_MOVED     12907u          /* 1.29.7: proxy_http_version 1.1,
                                     * no Connection: close, keep-alive on
                                     * for upstream{} blocks */
#define V_KA_1000   11910u          /* 1.19.10: keepalive_requests 1000 */

const struct rd_tok  rd_nginxconf_key_names[] = {
    { RD_NGINXCONF_PROXY_CONNECT_TIMEOUT, "proxy_connect_timeout" },
    { RD_NGINXCONF_PROXY_READ_TIMEOUT, "proxy_read_timeout" },
    { RD_NGINXCONF_PROXY_SEND_TIMEOUT, "proxy_send_timeout" },
    { RD_NGINXCONF_FASTCGI_CONNECT_TIMEOUT, "fastcgi_connect_timeout" },
    { RD_NGINXCONF_FASTCGI_READ_TIMEOUT, "fastcgi_read_timeout" },
    { RD_NGINXCONF_FASTCGI_SEND_TIMEOUT, "fastcgi_send_timeout" },
    { RD_NGINXCONF_PROXY_HTTP_VERSION, "proxy_http_version" },
    { RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION,
      "proxy_set_header Connection" },
    { RD_NGINXCONF_PROXY_BUFFER_SIZE, "proxy_buffer_size" },
    { RD_NGINXCONF_FASTCGI_BUFFER_SIZE, "fastcgi_buffer_size" },
    { RD_NGINXCONF_PROXY_BUFFERING, "proxy_buffering" },
    { RD_NGINXCONF_PROXY_MAX_TEMP_FILE_SIZE, "proxy_max_temp_file_size" },
    { RD_NGINXCONF_PROXY_NEXT_UPSTREAM, "proxy_next_upstream" },
    { RD_NGINXCONF_PROXY_IGNORE_CLIENT_ABORT, "proxy_ignore_client_abort" },
    { RD_NGINXCONF_CLIENT_MAX_BODY_SIZE, "client_max_body_size" },
    { RD_NGINXCONF_ERROR_LOG, "error_log" },
    { RD_NGINXCONF_KEEPALIVE, "keepalive" },
    { RD_NGINXCONF_KEEPALIVE_TIMEOUT, "keepalive_timeout" },
    { RD_NGINXCONF_KEEPALIVE_REQUESTS, "keepalive_requests" },
    { RD_NGINXCONF_KEEPALIVE_TIME, "keepalive_time" },
    { 0, NULL }
};

/* How a key's words are read. */
enum {
    K_TIME = 0, K_SIZE, K_FLAG, K_HTTPV, K_TEXT, K_NEXTUP, K_LEVEL, K_NUM
};

static const uint8_t  key_kind[RD_NGINXCONF_NKEYS] = {
    K_TIME, K_TIME, K_TIME, K_TIME, K_TIME, K_TIME, K_HTTPV, K_TEXT,
    K_SIZE, K_SIZE, K_FLAG, K_SIZE, K_NEXTUP, K_FLAG, K_SIZE, K_LEVEL,
    K_NUM, K_TIME, K_NUM, K_TIME
};

/*
 * nginx's defaults (ngx_http_proxy_module.c, ngx_http_fastcgi_module.c,
 * ngx_http_core_module.c, ngx_http_upstream_keepalive_module.c merge and
 * init functions; the same since 1.15 unless a second column is given:
 * then "new" holds from V_MOVED on).  Buffer sizes are one page: 4k on
 * x86-64 and most Linux, 8k where pages are bigger.
 */
static const struct dflt {
    const char     *text;
    int64_t         num;
    const char     *text_new;       /* NULL: same as text */
    int64_t         num_new;
} dflts[RD_NGINXCONF_NKEYS] = {
    [RD_NGINXCONF_PROXY_CONNECT_TIMEOUT] = { "60s", 60000, NULL, 0 },
    [RD_NGINXCONF_PROXY_READ_TIMEOUT] = { "60s", 60000, NULL, 0 },
    [RD_NGINXCONF_PROXY_SEND_TIMEOUT] = { "60s", 60000, NULL, 0 },
    [RD_NGINXCONF_FASTCGI_CONNECT_TIMEOUT] = { "60s", 60000, NULL, 0 },
    [RD_NGINXCONF_FASTCGI_READ_TIMEOUT] = { "60s", 60000, NULL, 0 },
    [RD_NGINXCONF_FASTCGI_SEND_TIMEOUT] = { "60s", 60000, NULL, 0 },
    [RD_NGINXCONF_PROXY_HTTP_VERSION] = { "1.0", 10, "1.1", 11 },
    [RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION] = { "close", -1, "", -1 },
    [RD_NGINXCONF_PROXY_BUFFER_SIZE] = { "4k", 4096, NULL, 0 },
    [RD_NGINXCONF_FASTCGI_BUFFER_SIZE] = { "4k", 4096, NULL, 0 },
    [RD_NGINXCONF_PROXY_BUFFERING] = { "on", 1, NULL, 0 },
    [RD_NGINXCONF_PROXY_MAX_TEMP_FILE_SIZE] = { "1024m", 1073741824, NULL,
                                                0 },
    [RD_NGINXCONF_PROXY_NEXT_UPSTREAM] = { "error timeout",
        RD_NGINXCONF_NU_ERROR | RD_NGINXCONF_NU_TIMEOUT, NULL, 0 },
    [RD_NGINXCONF_PROXY_IGNORE_CLIENT_ABORT] = { "off", 0, NULL, 0 },
    [RD_NGINXCONF_CLIENT_MAX_BODY_SIZE] = { "1m", 1048576, NULL, 0 },
    [RD_NGINXCONF_ERROR_LOG] = { "error", 4, NULL, 0 },
    [RD_NGINXCONF_KEEPALIVE] = { "off", 0, "32", 32 },
    [RD_NGINXCONF_KEEPALIVE_TIMEOUT] = { "60s", 60000, NULL, 0 },
    [RD_NGINXCONF_KEEPALIVE_REQUESTS] = { "1000", 1000, NULL, 0 },
    [RD_NGINXCONF_KEEPALIVE_TIME] = { "1h", 3600000, NULL, 0 }
};

/* error_log levels, nginx's numbering (ngx_log.c err_levels[]) */
static const struct rd_tok  levels[] = {
    { 0, "stderr" }, { 1, "emerg" }, { 2, "alert" }, { 3, "crit" },
    { 4, "error" }, { 5, "warn" }, { 6, "notice" }, { 7, "info" },
    { 8, "debug" }, { 0, NULL }
};

static const struct rd_tok  next_up_words[] = {
    { RD_NGINXCONF_NU_ERROR, "error" },
    { RD_NGINXCONF_NU_TIMEOUT, "timeout" },
    { RD_NGINXCONF_NU_INVALID_HEADER, "invalid_header" },
    { RD_NGINXCONF_NU_HTTP_500, "http_500" },
    { RD_NGINXCONF_NU_HTTP_502, "http_502" },
    { RD_NGINXCONF_NU_HTTP_503, "http_503" },
    { RD_NGINXCONF_NU_HTTP_504, "http_504" },
    { RD_NGINXCONF_NU_HTTP_403, "http_403" },
    { RD_NGINXCONF_NU_HTTP_404, "http_404" },
    { RD_NGINXCONF_NU_HTTP_429, "http_429" },
    { RD_NGINXCONF_NU_NON_IDEMPOTENT, "non_idempotent" },
    { RD_NGINXCONF_NU_OFF, "off" },
    { 0, NULL }
};

/* Tokenizer states. */
enum {
    S_SPACE = 0,                    /* between words (nginx last_space) */
    S_WORD,                         /* an unquoted word */
    S_DQ,                           /* inside "..." */
    S_SQ,                           /* inside '...' */
    S_AFTER_Q,                      /* after a closing quote (need_space) */
    S_COMMENT,                      /* "#" to the end of the line */
    S_SKIPLINE                      /* a "nginx: ..." line */
};

struct chunk {
    struct chunk   *next;
    size_t          size;
    size_t          used;
    char            data[];
};

struct dir {
    uint32_t        first_arg;      /* index in argv */
    uint32_t        argc;
    uint32_t        file;
    uint32_t        line;
    int32_t         parent;
    int32_t         child;
    int32_t         next;
    bool            block;
};

struct file {
    const char     *name;
    int32_t         first;          /* first top-level directive, -1 */
};

/* A location that passes on, before its upstream name is resolved. */
struct loc {
    struct rd_nginxconf_values  vals;   /* v[].text NULL: default */
    const char     *host;           /* the pass's host, may name an
                                     * upstream block */
    bool            has_port;
    bool            has_addr;
    uint8_t         af;
    uint8_t         addr[16];
    uint16_t        port;
    int32_t         up;             /* upstream index, -1 */
};

struct upstream {
    const char                 *name;
    struct rd_nginxconf_value   ka[4];  /* KEEPALIVE .. KEEPALIVE_TIME */
    bool                        by_proxy;
    bool                        by_fastcgi;
};

struct addr {
    struct rd_nginxconf_addr    a;
    int32_t                     up;     /* SERVER: upstream index */
};

struct rd_nginxconf {
    const struct rd_alloc  *alloc;
    const char             *name;
    struct chunk           *chunks;
    size_t                  bytes;          /* arena bytes in use */
    int                     err;
    char                    errbuf[RD_ERRLEN];
    bool                    finished;

    /* tree */
    struct dir             *dirs;
    uint32_t                ndirs, capdirs;
    const char            **argv;
    uint32_t                nargv, capargv;
    struct file            *files;
    uint32_t                nfiles, capfiles;
    uint32_t                markers;

    /* tokenizer */
    int                     st;
    bool                    esc;            /* after a backslash */
    bool                    var;            /* after a '$' */
    bool                    line_start;
    bool                    seen_marker;
    bool                    comment_col0;
    bool                    comment_long;
    uint8_t                 pfx;            /* bytes of "nginx: " seen */
    uint32_t                line;
    uint32_t                cur;            /* current file */
    char                    tok[RD_LIMITS_NGINXCONF_TOKEN];
    size_t                  toklen;
    uint32_t                tokline;
    char                    cbuf[RD_LIMITS_NGINXCONF_TOKEN + 64];
    size_t                  clen;
    int32_t                 stack[RD_LIMITS_NGINXCONF_DEPTH];
    int32_t                 last[RD_LIMITS_NGINXCONF_DEPTH + 1];
    uint32_t                depth;
    uint32_t                pend_first, pend_argc, pend_line;

    /* extracted */
    struct loc             *locs;
    uint32_t                nlocs, caplocs;
    struct upstream        *ups;
    uint32_t                nups, capups;
    struct addr            *addrs;
    uint32_t                naddrs, capaddrs;
    uint32_t                nlocation_blocks;
    uint32_t                hostnames_skipped;
    struct rd_nginxconf_value  error_log;
    const char             *root_dir;       /* for relative includes */
};


/* ---- memory ------------------------------------------------------------ */

static void
set_error(struct rd_nginxconf *c, int code, const char *file, uint32_t line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));


static void
set_error(struct rd_nginxconf *c, int code, const char *file, uint32_t line,
    const char *fmt, ...)
{
    va_list  ap;
    int      n;

    if (c->err != 0) {
        return;                     /* the first error is the one */
    }
    c->err = code;
    n = snprintf(c->errbuf, sizeof(c->errbuf), "%s:%u: ", file, line);
    if (n < 0 || (size_t) n >= sizeof(c->errbuf)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(c->errbuf + n, sizeof(c->errbuf) - (size_t) n, fmt, ap);
    va_end(ap);
}


static const char *
cur_name(const struct rd_nginxconf *c)
{
    return c->files[c->cur].name;
}


/* n bytes that stay where they are until destroy; NULL on a limit or
 * allocation failure (c->err set). */
static char *
arena(struct rd_nginxconf *c, size_t n)
{
    struct chunk  *k;
    size_t         size;

    if (c->bytes + n > RD_LIMITS_NGINXCONF_BYTES) {
        set_error(c, -RD_EPROTO, cur_name(c), c->line, "configuration "
                  "larger than %u bytes", RD_LIMITS_NGINXCONF_BYTES);
        return NULL;
    }
    k = c->chunks;
    if (k == NULL || k->size - k->used < n) {
        size = n > CHUNK ? n : CHUNK;
        k = c->alloc->calloc(c->alloc->ctx, 1, sizeof(*k) + size);
        if (k == NULL) {
            set_error(c, -RD_ENOMEM, cur_name(c), c->line, "out of memory");
            return NULL;
        }
        k->size = size;
        /* a dedicated big piece goes behind, so the current one keeps
         * serving small strings */
        if (size > CHUNK && c->chunks != NULL) {
            k->next = c->chunks->next;
            c->chunks->next = k;
        } else {
            k->next = c->chunks;
            c->chunks = k;
        }
    }
    c->bytes += n;
    k->used += n;
    return k->data + k->used - n;
}


static const char *
strdup_n(struct rd_nginxconf *c, const char *s, size_t n)
{
    char  *p;

    p = arena(c, n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}


/* Make room for need elements in *arr (capacity *cap, elem bytes each). */
static int
grow(struct rd_nginxconf *c, void **arr, uint32_t *cap, size_t elem,
    uint32_t need)
{
    uint32_t  ncap;
    void     *p;

    if (need <= *cap) {
        return 0;
    }
    ncap = *cap == 0 ? 64 : *cap * 2;
    while (ncap < need) {
        ncap *= 2;
    }
    p = c->alloc->calloc(c->alloc->ctx, ncap, elem);
    if (p == NULL) {
        set_error(c, -RD_ENOMEM, cur_name(c), c->line, "out of memory");
        return -1;
    }
    if (*arr != NULL) {
        memcpy(p, *arr, (size_t) *cap * elem);
        c->alloc->free(c->alloc->ctx, *arr);
    }
    *arr = p;
    *cap = ncap;
    return 0;
}


static int
add_file(struct rd_nginxconf *c, const char *name, size_t n)
{
    const char  *s;

    if (c->nfiles >= RD_LIMITS_NGINXCONF_FILES + 1) {
        set_error(c, -RD_EPROTO, cur_name(c), c->line, "more than %u "
                  "configuration files", RD_LIMITS_NGINXCONF_FILES);
        return -1;
    }
    if (grow(c, (void **) &c->files, &c->capfiles, sizeof(*c->files),
             c->nfiles + 1) != 0)
    {
        return -1;
    }
    s = strdup_n(c, name, n);
    if (s == NULL) {
        return -1;
    }
    c->files[c->nfiles].name = s;
    c->files[c->nfiles].first = -1;
    c->nfiles++;
    return 0;
}


struct rd_nginxconf *
rd_nginxconf_create(const struct rd_alloc *a, const char *name)
{
    struct rd_nginxconf  *c;
    const char           *s;

    c = a->calloc(a->ctx, 1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->alloc = a;
    c->line = 1;
    c->line_start = true;
    c->last[0] = -1;
    /* file 0 is named by the caller; its name is copied into the arena
     * once there is a file to blame for a failure */
    c->files = a->calloc(a->ctx, 64, sizeof(*c->files));
    if (c->files == NULL) {
        a->free(a->ctx, c);
        return NULL;
    }
    c->capfiles = 64;
    c->files[0].name = "-";
    c->files[0].first = -1;
    c->nfiles = 1;
    s = strdup_n(c, name, strlen(name));
    if (s == NULL) {
        rd_nginxconf_destroy(c);
        return NULL;
    }
    c->files[0].name = s;
    c->name = s;
    c->error_log.num = -1;
    return c;
}


void
rd_nginxconf_destroy(struct rd_nginxconf *c)
{
    struct chunk  *k, *next;
    void          *ctx;

    if (c == NULL) {
        return;
    }
    ctx = c->alloc->ctx;
    for (k = c->chunks; k != NULL; k = next) {
        next = k->next;
        c->alloc->free(ctx, k);
    }
    if (c->dirs != NULL) {
        c->alloc->free(ctx, c->dirs);
    }
    if (c->argv != NULL) {
        c->alloc->free(ctx, (void *) c->argv);
    }
    if (c->files != NULL) {
        c->alloc->free(ctx, c->files);
    }
    if (c->locs != NULL) {
        c->alloc->free(ctx, c->locs);
    }
    if (c->ups != NULL) {
        c->alloc->free(ctx, c->ups);
    }
    if (c->addrs != NULL) {
        c->alloc->free(ctx, c->addrs);
    }
    c->alloc->free(ctx, c);
}


const char *
rd_nginxconf_error(const struct rd_nginxconf *c)
{
    return c->err != 0 ? c->errbuf : NULL;
}


/* ---- tokenizer --------------------------------------------------------- */

/* The word in tok[] is complete: unescape it (ngx_conf_read_token's copy
 * loop: \" \' \\ become the character, \t \r \n the control, any other
 * pair stays as written) into the arena and add it to the directive. */
static int
end_word(struct rd_nginxconf *c)
{
    char      *w;
    size_t     i, n;

    if (c->pend_argc == RD_LIMITS_NGINXCONF_ARGS) {
        set_error(c, -RD_EPROTO, cur_name(c), c->pend_line, "directive "
                  "\"%s\" has more than %u words", c->argv[c->pend_first],
                  RD_LIMITS_NGINXCONF_ARGS);
        return -1;
    }
    if (grow(c, (void **) &c->argv, &c->capargv, sizeof(*c->argv),
             c->nargv + 1) != 0)
    {
        return -1;
    }
    w = arena(c, c->toklen + 1);
    if (w == NULL) {
        return -1;
    }
    for (i = 0, n = 0; i < c->toklen; i++) {
        if (c->tok[i] == '\\' && i + 1 < c->toklen) {
            switch (c->tok[i + 1]) {
            case '"':
            case '\'':
            case '\\':
                w[n++] = c->tok[++i];
                continue;
            case 't':
                w[n++] = '\t';
                i++;
                continue;
            case 'r':
                w[n++] = '\r';
                i++;
                continue;
            case 'n':
                w[n++] = '\n';
                i++;
                continue;
            default:
                break;
            }
        }
        w[n++] = c->tok[i];
    }
    w[n] = '\0';
    if (c->pend_argc == 0) {
        c->pend_first = c->nargv;
        c->pend_line = c->tokline;
    }
    c->argv[c->nargv++] = w;
    c->pend_argc++;
    c->toklen = 0;
    return 0;
}


/* ';' (block false) or '{' (block true) ends the pending directive. */
static int
end_directive(struct rd_nginxconf *c, bool block)
{
    struct dir  *d;
    int32_t      idx;

    if (c->pend_argc == 0) {
        set_error(c, -RD_EPROTO, cur_name(c), c->line, "unexpected \"%c\"",
                  block ? '{' : ';');
        return -1;
    }
    if (c->ndirs == RD_LIMITS_NGINXCONF_DIRECTIVES) {
        set_error(c, -RD_EPROTO, cur_name(c), c->pend_line, "more than %u "
                  "directives", RD_LIMITS_NGINXCONF_DIRECTIVES);
        return -1;
    }
    if (block && c->depth == RD_LIMITS_NGINXCONF_DEPTH) {
        set_error(c, -RD_EPROTO, cur_name(c), c->pend_line, "blocks nested "
                  "deeper than %u", RD_LIMITS_NGINXCONF_DEPTH);
        return -1;
    }
    if (grow(c, (void **) &c->dirs, &c->capdirs, sizeof(*c->dirs),
             c->ndirs + 1) != 0)
    {
        return -1;
    }
    idx = (int32_t) c->ndirs++;
    d = &c->dirs[idx];
    d->first_arg = c->pend_first;
    d->argc = c->pend_argc;
    d->file = c->cur;
    d->line = c->pend_line;
    d->parent = c->depth > 0 ? c->stack[c->depth - 1] : -1;
    d->child = -1;
    d->next = -1;
    d->block = block;
    if (c->last[c->depth] >= 0) {
        c->dirs[c->last[c->depth]].next = idx;
    } else if (c->depth > 0) {
        c->dirs[d->parent].child = idx;
    } else {
        c->files[c->cur].first = idx;
    }
    c->last[c->depth] = idx;
    c->pend_argc = 0;
    if (block) {
        c->stack[c->depth++] = idx;
        c->last[c->depth] = -1;
    }
    return 0;
}


static int
close_block(struct rd_nginxconf *c)
{
    if (c->pend_argc > 0) {
        set_error(c, -RD_EPROTO, cur_name(c), c->line, "unexpected \"}\": "
                  "directive \"%s\" (line %u) has no \";\"",
                  c->argv[c->pend_first], c->pend_line);
        return -1;
    }
    if (c->depth == 0) {
        set_error(c, -RD_EPROTO, cur_name(c), c->line, "unexpected \"}\": "
                  "no block is open");
        return -1;
    }
    c->depth--;
    return 0;
}


/* The current file ends (a marker or the end of input): every block and
 * directive of it must be closed, as nginx requires of each file. */
static int
end_file(struct rd_nginxconf *c)
{
    const struct dir  *d;

    if (c->st == S_DQ || c->st == S_SQ) {
        set_error(c, -RD_EPROTO, cur_name(c), c->tokline, "unterminated "
                  "quoted string (%c) before the end of the file",
                  c->st == S_DQ ? '"' : '\'');
        return -1;
    }
    if (c->st == S_WORD || c->st == S_AFTER_Q) {
        if (end_word(c) != 0) {
            return -1;
        }
        c->st = S_SPACE;
    }
    if (c->pend_argc > 0) {
        set_error(c, -RD_EPROTO, cur_name(c), c->pend_line, "directive "
                  "\"%s\" has no \";\" before the end of the file",
                  c->argv[c->pend_first]);
        return -1;
    }
    if (c->depth > 0) {
        d = &c->dirs[c->stack[c->depth - 1]];
        set_error(c, -RD_EPROTO, cur_name(c), d->line, "block \"%s\" is not "
                  "closed: unexpected end of file, expecting \"}\"",
                  c->argv[d->first_arg]);
        return -1;
    }
    return 0;
}


/* A comment ended at a newline: the marker of nginx -T switches files. */
static int
end_comment(struct rd_nginxconf *c)
{
    size_t  n, plen;

    n = c->clen;
    if (n > 0 && c->cbuf[n - 1] == '\r') {
        n--;
    }
    plen = sizeof(MARKER) - 1;
    if (!c->comment_col0 || n < plen + 2
        || memcmp(c->cbuf, MARKER, plen) != 0 || c->cbuf[n - 1] != ':')
    {
        return 0;
    }
    if (c->comment_long) {
        set_error(c, -RD_EPROTO, cur_name(c), c->line, "file name in "
                  "\"# configuration file\" longer than %u bytes",
                  RD_LIMITS_NGINXCONF_TOKEN);
        return -1;
    }
    if (end_file(c) != 0 || add_file(c, c->cbuf + plen, n - plen - 1) != 0) {
        return -1;
    }
    c->cur = c->nfiles - 1;
    c->markers++;
    c->seen_marker = true;
    c->last[0] = -1;
    c->line = 0;                    /* the newline makes it 1 */
    return 0;
}


static int feed_byte(struct rd_nginxconf *c, uint8_t ch);


/* Bytes of a word, with the length limit. */
static int
word_byte(struct rd_nginxconf *c, uint8_t ch)
{
    if (c->toklen == sizeof(c->tok)) {
        set_error(c, -RD_EPROTO, cur_name(c), c->tokline, "word longer than "
                  "%u bytes (a quote not closed?)", RD_LIMITS_NGINXCONF_TOKEN);
        return -1;
    }
    c->tok[c->toklen++] = (char) ch;
    return 0;
}


/* ch starts a word or is a separator (nginx's last_space branch). */
static int
space_byte(struct rd_nginxconf *c, uint8_t ch)
{
    switch (ch) {
    case ' ':
    case '\t':
    case '\r':
    case '\n':
        return 0;
    case ';':
        return end_directive(c, false);
    case '{':
        return end_directive(c, true);
    case '}':
        return close_block(c);
    case '#':
        c->comment_col0 = c->line_start;
        c->comment_long = false;
        c->cbuf[0] = '#';
        c->clen = 1;
        c->st = S_COMMENT;
        return 0;
    case '"':
    case '\'':
        c->st = ch == '"' ? S_DQ : S_SQ;
        c->tokline = c->line;
        c->toklen = 0;
        c->esc = false;
        return 0;
    default:
        c->st = S_WORD;
        c->tokline = c->line;
        c->toklen = 0;
        c->esc = ch == '\\';
        c->var = ch == '$';
        return word_byte(c, ch);
    }
}


static int
feed_byte(struct rd_nginxconf *c, uint8_t ch)
{
    int  rc = 0;

    /* nginx's own lines before the dump ("nginx: the configuration file
     * ... syntax is ok"): matched at a line start, replayed when they turn
     * out to be something else */
    if (!c->seen_marker && c->line_start && c->st == S_SPACE
        && c->pfx < sizeof(NGINX_PFX) - 1)
    {
        if (ch == (uint8_t) NGINX_PFX[c->pfx]) {
            if (++c->pfx == sizeof(NGINX_PFX) - 1) {
                c->st = S_SKIPLINE;
                c->pfx = 0;
                c->line_start = false;
            }
            return 0;
        }
        if (c->pfx > 0) {
            uint8_t  i, n = c->pfx;

            c->pfx = 0;
            c->line_start = false;
            for (i = 0; i < n && rc == 0; i++) {
                rc = feed_byte(c, (uint8_t) NGINX_PFX[i]);
            }
            if (rc != 0) {
                return rc;
            }
        }
    }

    switch (c->st) {
    case S_SKIPLINE:
        if (ch == '\n') {
            c->st = S_SPACE;
        }
        break;
    case S_COMMENT:
        if (ch == '\n') {
            c->st = S_SPACE;
            rc = end_comment(c);
        } else if (c->clen < sizeof(c->cbuf)) {
            c->cbuf[c->clen++] = (char) ch;
        } else {
            c->comment_long = true;
        }
        break;
    case S_SPACE:
        rc = space_byte(c, ch);
        break;
    case S_AFTER_Q:
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == ';'
            || ch == '{' || ch == ')')
        {
            c->st = S_SPACE;
            rc = end_word(c);
            if (rc == 0 && ch != ' ' && ch != '\t' && ch != '\r'
                && ch != '\n')
            {
                rc = space_byte(c, ch);
            }
        } else {
            set_error(c, -RD_EPROTO, cur_name(c), c->line, "unexpected "
                      "\"%c\" after a quoted string", ch);
            rc = -1;
        }
        break;
    case S_DQ:
    case S_SQ:
        if (c->esc) {
            c->esc = false;
            rc = word_byte(c, ch);
        } else if (ch == '\\') {
            c->esc = true;
            rc = word_byte(c, ch);
        } else if (ch == (c->st == S_DQ ? '"' : '\'')) {
            c->st = S_AFTER_Q;
        } else {
            rc = word_byte(c, ch);
        }
        break;
    case S_WORD:
        if (c->esc) {
            c->esc = false;
            c->var = false;
            rc = word_byte(c, ch);
            break;
        }
        if (ch == '{' && c->var) {
            c->var = false;
            rc = word_byte(c, ch);      /* ${name} */
            break;
        }
        c->var = ch == '$';
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == ';'
            || ch == '{')
        {
            c->st = S_SPACE;
            rc = end_word(c);
            if (rc == 0 && (ch == ';' || ch == '{')) {
                rc = end_directive(c, ch == '{');
            }
        } else {
            c->esc = ch == '\\';
            rc = word_byte(c, ch);
        }
        break;
    default:
        break;
    }
    if (ch == '\n') {
        c->line++;
        c->line_start = true;
    } else {
        c->line_start = false;
    }
    return rc != 0 ? c->err : 0;
}


int
rd_nginxconf_feed(struct rd_nginxconf *c, const void *buf, size_t len)
{
    const uint8_t  *p = buf;
    size_t          i;

    if (c->err != 0) {
        return c->err;
    }
    if (c->finished) {
        return -RD_EINVAL;
    }
    for (i = 0; i < len; i++) {
        if (feed_byte(c, p[i]) != 0) {
            return c->err;
        }
    }
    return 0;
}


uint32_t
rd_nginxconf_ndirectives(const struct rd_nginxconf *c)
{
    return c->ndirs;
}


bool
rd_nginxconf_directive(const struct rd_nginxconf *c, uint32_t i,
    struct rd_nginxconf_directive *out)
{
    const struct dir  *d;

    if (!c->finished || i >= c->ndirs) {
        return false;
    }
    d = &c->dirs[i];
    out->argv = &c->argv[d->first_arg];
    out->argc = d->argc;
    out->file = c->files[d->file].name;
    out->line = d->line;
    out->parent = d->parent;
    out->child = d->child;
    out->next = d->next;
    out->block = d->block;
    return true;
}


/* ---- value syntax ------------------------------------------------------ */

int
rd_nginxconf_parse_time(const char *s, int64_t *ms)
{
    /* units largest first, as ngx_parse_time wants them */
    static const struct { const char *u; int64_t ms; } units[] = {
        { "y", 365LL * 86400000 }, { "M", 30LL * 86400000 },
        { "w", 7LL * 86400000 }, { "d", 86400000 }, { "h", 3600000 },
        { "ms", 1 }, { "m", 60000 }, { "s", 1000 }
    };
    /* rank of each unit in size order (ms is the smallest) */
    static const int  rank[] = { 0, 1, 2, 3, 4, 7, 5, 6 };
    int64_t  total, n;
    int      last, k;
    bool     any;
    size_t   i;

    total = 0;
    last = -1;
    any = false;
    while (*s != '\0') {
        if (*s == ' ') {
            s++;
            continue;
        }
        if (*s < '0' || *s > '9') {
            return -RD_EINVAL;
        }
        n = 0;
        while (*s >= '0' && *s <= '9') {
            if (n > (INT64_MAX / 10 - 9) / 1000) {
                return -RD_EINVAL;
            }
            n = n * 10 + (*s++ - '0');
        }
        k = -1;
        for (i = 0; i < RD_NELEMS(units); i++) {
            size_t  ul = strlen(units[i].u);

            if (strncmp(s, units[i].u, ul) == 0
                && (s[ul] == '\0' || s[ul] == ' '
                    || (s[ul] >= '0' && s[ul] <= '9')))
            {
                k = (int) i;
                s += ul;
                break;
            }
        }
        if (k < 0) {
            if (*s != '\0' && *s != ' ') {
                return -RD_EINVAL;
            }
            k = 7;                  /* no unit: seconds */
        }
        if (rank[k] <= last) {
            return -RD_EINVAL;      /* each unit once, largest first */
        }
        last = rank[k];
        if (n > (INT64_MAX / 4) / units[k].ms
            || total > INT64_MAX / 4 - n * units[k].ms)
        {
            return -RD_EINVAL;
        }
        total += n * units[k].ms;
        any = true;
    }
    if (!any) {
        return -RD_EINVAL;
    }
    *ms = total;
    return 0;
}


int
rd_nginxconf_parse_size(const char *s, int64_t *bytes)
{
    int64_t  n, scale;
    size_t   len;

    len = strlen(s);
    if (len == 0) {
        return -RD_EINVAL;
    }
    scale = 1;
    switch (s[len - 1]) {
    case 'k':
    case 'K':
        scale = 1024;
        len--;
        break;
    case 'm':
    case 'M':
        scale = 1024 * 1024;
        len--;
        break;
    case 'g':
    case 'G':
        scale = 1024 * 1024 * 1024;
        len--;
        break;
    default:
        break;
    }
    if (len == 0) {
        return -RD_EINVAL;
    }
    n = 0;
    while (len-- > 0) {
        if (*s < '0' || *s > '9' || n > (INT64_MAX / 10 - 9) / scale) {
            return -RD_EINVAL;
        }
        n = n * 10 + (*s++ - '0');
    }
    if (n > INT64_MAX / scale) {
        return -RD_EINVAL;
    }
    *bytes = n * scale;
    return 0;
}


/* A decimal count (keepalive, keepalive_requests). */
static int
parse_count(const char *s, int64_t *v)
{
    int64_t  n = 0;

    if (*s == '\0') {
        return -RD_EINVAL;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || n > 100000000) {
            return -RD_EINVAL;
        }
        n = n * 10 + (*s - '0');
    }
    *v = n;
    return 0;
}


/* ---- addresses --------------------------------------------------------- */

/* A port "1".."65535"; -1 otherwise. */
static int
parse_port(const char *s, size_t n)
{
    int     p = 0;
    size_t  i;

    if (n == 0 || n > 5) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        p = p * 10 + (s[i] - '0');
    }
    return p >= 1 && p <= 65535 ? p : -1;
}


/* What an address word names. */
enum {
    A_IP = 0,                       /* af/addr/port (port 0: not given) */
    A_WILDCARD,                     /* *, 0.0.0.0, [::] or a bare port */
    A_NAME,                         /* a hostname (host[0..hostlen)) */
    A_IGNORED,                      /* unix:, variables, off */
    A_BAD                           /* a port that is not one */
};

struct parsed {
    uint8_t         af;
    uint8_t         addr[16];
    int             port;           /* 0: not given */
    const char     *host;
    size_t          hostlen;
};


/* HOST, HOST:PORT, [V6], [V6]:PORT, PORT (when port_only), *:PORT. */
static int
parse_addr(const char *s, size_t len, bool port_only, struct parsed *out)
{
    char         host[64];
    const char  *colon, *h;
    size_t       hl;

    memset(out, 0, sizeof(*out));
    if ((len >= 5 && strncmp(s, "unix:", 5) == 0) || memchr(s, '$', len)) {
        return A_IGNORED;
    }
    if (port_only && parse_port(s, len) > 0) {
        out->port = parse_port(s, len);
        return A_WILDCARD;
    }
    if (len > 0 && s[0] == '[') {
        const char  *end = memchr(s, ']', len);

        if (end == NULL) {
            return A_BAD;
        }
        h = s + 1;
        hl = (size_t) (end - h);
        if ((size_t) (end + 1 - s) < len) {
            if (end[1] != ':') {
                return A_BAD;
            }
            out->port = parse_port(end + 2, len - (size_t) (end + 2 - s));
            if (out->port < 0) {
                return A_BAD;
            }
        }
    } else {
        colon = memchr(s, ':', len);
        if (colon != NULL && memchr(colon + 1, ':', len - (size_t) (colon + 1
                                                                   - s)))
        {
            colon = NULL;           /* a bare IPv6 address */
        }
        h = s;
        hl = colon != NULL ? (size_t) (colon - s) : len;
        if (colon != NULL) {
            out->port = parse_port(colon + 1, len - hl - 1);
            if (out->port < 0) {
                return A_BAD;
            }
        }
    }
    out->host = h;
    out->hostlen = hl;
    if (hl == 1 && h[0] == '*') {
        return A_WILDCARD;
    }
    if (hl == 0 || hl >= sizeof(host)) {
        return hl == 0 ? A_BAD : A_NAME;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->af = 4;
    } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->af = 6;
    } else {
        return A_NAME;
    }
    if (memcmp(out->addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0) {
        return A_WILDCARD;          /* 0.0.0.0, :: */
    }
    return A_IP;
}


static int
add_addr(struct rd_nginxconf *c, int kind, const struct parsed *p,
    bool wildcard, int32_t up, const struct dir *d)
{
    struct addr  *a;
    char          buf[64], spec[80];

    if (grow(c, (void **) &c->addrs, &c->capaddrs, sizeof(*c->addrs),
             c->naddrs + 1) != 0)
    {
        return -1;
    }
    a = &c->addrs[c->naddrs];
    memset(a, 0, sizeof(*a));
    a->a.kind = (uint8_t) kind;
    a->a.wildcard = wildcard;
    a->a.port = (uint16_t) p->port;
    a->a.file = c->files[d->file].name;
    a->a.line = d->line;
    a->up = up;
    if (wildcard) {
        snprintf(spec, sizeof(spec), "*:%d", p->port);
    } else {
        a->a.af = p->af;
        memcpy(a->a.addr, p->addr, 16);
        inet_ntop(p->af == 4 ? AF_INET : AF_INET6, p->addr, buf, sizeof(buf));
        if (p->port == 0) {
            snprintf(spec, sizeof(spec), "%s", buf);
        } else if (p->af == 6) {
            snprintf(spec, sizeof(spec), "[%s]:%d", buf, p->port);
        } else {
            snprintf(spec, sizeof(spec), "%s:%d", buf, p->port);
        }
    }
    a->a.spec = strdup_n(c, spec, strlen(spec));
    if (a->a.spec == NULL) {
        return -1;
    }
    c->naddrs++;
    return 0;
}


/* ---- the walk ---------------------------------------------------------- */

enum {
    CTX_MAIN = 0, CTX_HTTP, CTX_SERVER, CTX_LOCATION, CTX_IF, CTX_UPSTREAM
};

/* One block level being walked. */
struct level {
    int                         ctx;
    uint32_t                    depth;
    int32_t                     block;      /* the block's directive */
    struct rd_nginxconf_value   v[RD_NGINXCONF_NKEYS];
    bool                        hdr_seen;   /* a proxy_set_header here */
    bool                        log_seen;   /* an error_log here */
    bool                        listen_seen;
    int32_t                     pass;       /* proxy_pass/fastcgi_pass */
    int32_t                     up;         /* CTX_UPSTREAM: index */
};

typedef int (*visit_cb)(struct rd_nginxconf *c, int32_t i, struct level *lv);


static const char *
arg(const struct rd_nginxconf *c, const struct dir *d, uint32_t k)
{
    return k < d->argc ? c->argv[d->first_arg + k] : "";
}


static const char *
dir_file(const struct rd_nginxconf *c, const struct dir *d)
{
    return c->files[d->file].name;
}


/* The words of d from the k-th on, joined by one space. */
static const char *
join(struct rd_nginxconf *c, const struct dir *d, uint32_t k)
{
    size_t    n, len;
    uint32_t  i;
    char     *p;

    for (i = k, len = 0; i < d->argc; i++) {
        len += strlen(arg(c, d, i)) + 1;
    }
    p = arena(c, len + 1);
    if (p == NULL) {
        return NULL;
    }
    for (i = k, n = 0; i < d->argc; i++) {
        if (i > k) {
            p[n++] = ' ';
        }
        len = strlen(arg(c, d, i));
        memcpy(p + n, arg(c, d, i), len);
        n += len;
    }
    p[n] = '\0';
    return p;
}


/* Visit every directive of the level that begins at first, with the
 * top-level directives of included files in place of each include. */
static int
each(struct rd_nginxconf *c, int32_t first, uint32_t depth, visit_cb cb,
    struct level *lv)
{
    char               pat[2 * RD_LIMITS_NGINXCONF_TOKEN + 2];
    const struct dir  *d;
    const char        *p;
    int32_t            i;
    uint32_t           f;

    for (i = first; i >= 0; i = c->dirs[i].next) {
        d = &c->dirs[i];
        if (d->block || d->argc != 2 || strcmp(arg(c, d, 0), "include") != 0)
        {
            if (cb(c, i, lv) != 0) {
                return -1;
            }
            continue;
        }
        if (depth >= RD_LIMITS_NGINXCONF_DEPTH) {
            set_error(c, -RD_EPROTO, dir_file(c, d), d->line, "includes "
                      "nested deeper than %u", RD_LIMITS_NGINXCONF_DEPTH);
            return -1;
        }
        p = arg(c, d, 1);
        if (p[0] != '/' && c->root_dir != NULL) {
            snprintf(pat, sizeof(pat), "%s/%s", c->root_dir, p);
        } else {
            snprintf(pat, sizeof(pat), "%s", p);
        }
        /* files in the order nginx -T printed them: glob's sorted order
         * within one include */
        for (f = 1; f < c->nfiles; f++) {
            if (fnmatch(pat, c->files[f].name, FNM_PATHNAME | FNM_PERIOD) == 0
                && each(c, c->files[f].first, depth + 1, cb, lv) != 0)
            {
                return -1;
            }
        }
    }
    return 0;
}


static int
key_of(const char *name)
{
    int  k;

    for (k = 0; k < RD_NGINXCONF_NKEYS; k++) {
        if (k != RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION
            && strcmp(rd_nginxconf_key_names[k].s, name) == 0)
        {
            return k;
        }
    }
    return -1;
}


/* d sets key k: its value into *v (file:line, text, num). */
static int
read_value(struct rd_nginxconf *c, const struct dir *d, int k,
    struct rd_nginxconf_value *v)
{
    const char  *w;
    int64_t      n;
    uint32_t     i;
    int          bit, j;

    w = arg(c, d, 1);
    n = -1;
    if (k == RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION) {
        w = arg(c, d, 2);
    } else if (d->argc != 2 && key_kind[k] != K_NEXTUP
               && key_kind[k] != K_LEVEL)
    {
        goto bad_count;
    }
    switch (key_kind[k]) {
    case K_TIME:
        if (rd_nginxconf_parse_time(w, &n) != 0) {
            goto bad;
        }
        break;
    case K_SIZE:
        if (rd_nginxconf_parse_size(w, &n) != 0) {
            goto bad;
        }
        break;
    case K_NUM:
        if (parse_count(w, &n) != 0) {
            goto bad;
        }
        break;
    case K_FLAG:
        if (strcmp(w, "on") != 0 && strcmp(w, "off") != 0) {
            goto bad;
        }
        n = strcmp(w, "on") == 0;
        break;
    case K_HTTPV:
        n = strcmp(w, "1.0") == 0 ? 10 : strcmp(w, "1.1") == 0 ? 11
            : strcmp(w, "2") == 0 || strcmp(w, "2.0") == 0 ? 20 : -1;
        if (n < 0) {
            goto bad;
        }
        break;
    case K_NEXTUP:
        if (d->argc < 2) {
            goto bad_count;
        }
        for (i = 1, n = 0; i < d->argc; i++) {
            w = arg(c, d, i);
            bit = -1;
            for (j = 0; next_up_words[j].s != NULL; j++) {
                if (strcmp(next_up_words[j].s, w) == 0) {
                    bit = next_up_words[j].v;
                }
            }
            if (bit < 0) {
                goto bad;
            }
            n |= bit;
        }
        break;
    case K_LEVEL:
        /* error_log FILE [LEVEL]: the level is the second word */
        if (d->argc < 2 || d->argc > 3) {
            goto bad_count;
        }
        w = d->argc == 3 ? arg(c, d, 2) : "error";
        for (i = 0; levels[i].s != NULL; i++) {
            if (strcmp(levels[i].s, w) == 0) {
                n = levels[i].v;
            }
        }
        if (n < 0) {
            goto bad;
        }
        break;
    default:
        break;
    }
    v->text = key_kind[k] == K_LEVEL ? strdup_n(c, w, strlen(w))
              : k == RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION
              ? strdup_n(c, w, strlen(w)) : join(c, d, 1);
    v->num = n;
    v->file = dir_file(c, d);
    v->line = d->line;
    return v->text != NULL ? 0 : -1;

bad_count:
    set_error(c, -RD_EPROTO, dir_file(c, d), d->line, "invalid number of "
              "arguments in \"%s\"", arg(c, d, 0));
    return -1;
bad:
    set_error(c, -RD_EPROTO, dir_file(c, d), d->line, "invalid value \"%s\" "
              "in \"%s\"", w, arg(c, d, 0));
    return -1;
}


static int
do_listen(struct rd_nginxconf *c, const struct dir *d)
{
    struct parsed  p;
    const char    *w = arg(c, d, 1);
    int            kind;

    kind = parse_addr(w, strlen(w), true, &p);
    switch (kind) {
    case A_IGNORED:
        return 0;
    case A_NAME:
        c->hostnames_skipped++;
        return 0;
    case A_BAD:
        set_error(c, -RD_EPROTO, dir_file(c, d), d->line, "invalid address "
                  "\"%s\" in \"listen\"", w);
        return -1;
    default:
        if (p.port == 0) {
            p.port = 80;
        }
        return add_addr(c, RD_NGINXCONF_LISTEN, &p, kind == A_WILDCARD, -1,
                        d);
    }
}


/* proxy_bind / fastcgi_bind ADDR [transparent] | off */
static int
do_bind(struct rd_nginxconf *c, const struct dir *d)
{
    struct parsed  p;
    const char    *w = arg(c, d, 1);
    int            kind;

    if (strcmp(w, "off") == 0) {
        return 0;
    }
    kind = parse_addr(w, strlen(w), false, &p);
    if (kind == A_NAME) {
        c->hostnames_skipped++;
    }
    if (kind != A_IP) {
        return 0;
    }
    p.port = 0;
    return add_addr(c, RD_NGINXCONF_BIND, &p, false, -1, d);
}


/* server ADDR [params] in an upstream block */
static int
do_up_server(struct rd_nginxconf *c, const struct dir *d, int32_t up)
{
    struct parsed  p;
    const char    *w = arg(c, d, 1);
    int            kind;

    kind = parse_addr(w, strlen(w), false, &p);
    if (kind == A_NAME) {
        c->hostnames_skipped++;
    }
    if (kind == A_BAD) {
        set_error(c, -RD_EPROTO, dir_file(c, d), d->line, "invalid address "
                  "\"%s\" in \"server\"", w);
        return -1;
    }
    if (kind != A_IP) {
        return 0;
    }
    if (p.port == 0) {
        p.port = 80;
    }
    return add_addr(c, RD_NGINXCONF_SERVER, &p, false, up, d);
}


/* Pass 1 of a level: the values set there, listen, bind, pass. */
static int
visit_values(struct rd_nginxconf *c, int32_t i, struct level *lv)
{
    const struct dir  *d = &c->dirs[i];
    const char        *name = arg(c, d, 0);
    int                k;
    struct rd_nginxconf_value  v;

    if (d->block) {
        return 0;
    }
    if (lv->ctx == CTX_UPSTREAM) {
        if (strcmp(name, "server") == 0 && d->argc >= 2) {
            return do_up_server(c, d, lv->up);
        }
        k = key_of(name);
        if (k >= RD_NGINXCONF_KEEPALIVE) {
            if (read_value(c, d, k, &v) != 0) {
                return -1;
            }
            c->ups[lv->up].ka[k - RD_NGINXCONF_KEEPALIVE] = v;
        }
        return 0;
    }
    if (strcmp(name, "proxy_set_header") == 0) {
        /* any proxy_set_header here replaces every inherited one
         * (ngx_http_proxy_merge_loc_conf keeps prev->headers_source only
         * when conf->headers_source is NULL) */
        if (!lv->hdr_seen) {
            lv->hdr_seen = true;
            memset(&lv->v[RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION], 0,
                   sizeof(lv->v[0]));
        }
        if (d->argc == 3 && strcasecmp(arg(c, d, 1), "Connection") == 0) {
            return read_value(c, d, RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION,
                              &lv->v[RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION]);
        }
        return 0;
    }
    if ((strcmp(name, "proxy_pass") == 0 || strcmp(name, "fastcgi_pass") == 0)
        && d->argc == 2 && (lv->ctx == CTX_LOCATION || lv->ctx == CTX_IF))
    {
        lv->pass = i;
        return 0;
    }
    if ((strcmp(name, "proxy_bind") == 0 || strcmp(name, "fastcgi_bind") == 0)
        && d->argc >= 2)
    {
        return do_bind(c, d);
    }
    if (strcmp(name, "listen") == 0 && lv->ctx == CTX_SERVER && d->argc >= 2) {
        lv->listen_seen = true;
        return do_listen(c, d);
    }
    k = key_of(name);
    if (k < 0 || k >= RD_NGINXCONF_KEEPALIVE
        || (lv->ctx == CTX_MAIN && k != RD_NGINXCONF_ERROR_LOG))
    {
        return 0;                   /* "keepalive_timeout" of http{} is
                                     * the client's, not an upstream's */
    }
    if (read_value(c, d, k, &v) != 0) {
        return -1;
    }
    if (k == RD_NGINXCONF_ERROR_LOG && lv->log_seen
        && v.num <= lv->v[k].num)
    {
        return 0;                   /* several logs: the most verbose */
    }
    if (k == RD_NGINXCONF_ERROR_LOG) {
        lv->log_seen = true;
    }
    lv->v[k] = v;
    return 0;
}


/* proxy_pass http://HOST[:PORT][/URI] or fastcgi_pass HOST[:PORT]: the
 * address, or the name an upstream block may have. */
static int
record_pass(struct rd_nginxconf *c, struct level *lv)
{
    const struct dir  *d = &c->dirs[lv->pass];
    const struct dir  *b = &c->dirs[lv->block];
    struct loc        *l;
    struct parsed      p;
    const char        *w, *slash;
    size_t             len;
    int                kind, dflt_port;

    if (grow(c, (void **) &c->locs, &c->caplocs, sizeof(*c->locs),
             c->nlocs + 1) != 0)
    {
        return -1;
    }
    l = &c->locs[c->nlocs];
    memset(l, 0, sizeof(*l));
    l->up = -1;
    memcpy(l->vals.v, lv->v, sizeof(lv->v));
    l->vals.location = strcmp(arg(c, b, 0), "location") == 0 ? join(c, b, 1)
                                                             : join(c, b, 0);
    l->vals.file = dir_file(c, b);
    l->vals.line = b->line;
    l->vals.pass = arg(c, d, 1);
    l->vals.pass_file = dir_file(c, d);
    l->vals.pass_line = d->line;
    l->vals.fastcgi = strcmp(arg(c, d, 0), "fastcgi_pass") == 0;
    if (l->vals.location == NULL) {
        return -1;
    }
    c->nlocs++;

    w = arg(c, d, 1);
    dflt_port = 0;
    if (!l->vals.fastcgi) {
        if (strncmp(w, "http://", 7) == 0) {
            w += 7;
            dflt_port = 80;
        } else if (strncmp(w, "https://", 8) == 0) {
            w += 8;
            dflt_port = 443;
        } else {
            return 0;               /* $scheme://..., grpc: not known */
        }
    }
    slash = strchr(w, '/');
    len = slash != NULL ? (size_t) (slash - w) : strlen(w);
    if (len >= 5 && strncmp(w, "unix:", 5) == 0) {
        return 0;
    }
    kind = parse_addr(w, len, false, &p);
    if (kind == A_IGNORED || kind == A_BAD || kind == A_WILDCARD) {
        return 0;
    }
    l->has_port = p.port != 0;
    if (p.port == 0) {
        p.port = dflt_port;
    }
    if (kind == A_NAME) {
        l->host = strdup_n(c, p.host, p.hostlen);
        return l->host != NULL ? 0 : -1;
    }
    if (p.port == 0) {
        return 0;                   /* fastcgi_pass IP without a port */
    }
    l->has_addr = true;
    l->af = p.af;
    memcpy(l->addr, p.addr, 16);
    l->port = (uint16_t) p.port;
    return add_addr(c, RD_NGINXCONF_PASS, &p, false, -1, d) != 0 ? -1 : 0;
}


static int walk(struct rd_nginxconf *c, int32_t block, int ctx,
    const struct level *parent);


/* Pass 2 of a level: the blocks inside it. */
static int
visit_blocks(struct rd_nginxconf *c, int32_t i, struct level *lv)
{
    const struct dir  *d = &c->dirs[i];
    const char        *name = arg(c, d, 0);

    if (!d->block) {
        return 0;
    }
    switch (lv->ctx) {
    case CTX_MAIN:
        return strcmp(name, "http") == 0 ? walk(c, i, CTX_HTTP, lv) : 0;
    case CTX_HTTP:
        if (strcmp(name, "server") == 0) {
            return walk(c, i, CTX_SERVER, lv);
        }
        if (strcmp(name, "upstream") == 0 && d->argc == 2) {
            return walk(c, i, CTX_UPSTREAM, lv);
        }
        return 0;
    case CTX_SERVER:
    case CTX_LOCATION:
        if (strcmp(name, "location") == 0) {
            c->nlocation_blocks++;
            return walk(c, i, CTX_LOCATION, lv);
        }
        if (lv->ctx == CTX_LOCATION && (strcmp(name, "if") == 0
                                        || strcmp(name, "limit_except") == 0))
        {
            return walk(c, i, CTX_IF, lv);
        }
        return 0;
    default:
        return 0;
    }
}


/* Walk block (its directive index; -1 with the root file for main). */
static int
walk(struct rd_nginxconf *c, int32_t block, int ctx,
    const struct level *parent)
{
    struct level  lv;
    int32_t       first;

    memset(&lv, 0, sizeof(lv));
    lv.ctx = ctx;
    lv.block = block;
    lv.pass = -1;
    lv.up = -1;
    lv.depth = parent != NULL ? parent->depth + 1 : 0;
    if (parent != NULL) {
        memcpy(lv.v, parent->v, sizeof(lv.v));
    }
    if (lv.depth > 2 * RD_LIMITS_NGINXCONF_DEPTH) {
        return 0;                   /* cannot happen: blocks are bounded */
    }
    first = block >= 0 ? c->dirs[block].child : -1;
    if (block < 0) {
        uint32_t  f;

        /* the first file with directives is nginx.conf */
        for (f = 0; f < c->nfiles && c->files[f].first < 0; f++) {
        }
        if (f == c->nfiles) {
            return 0;
        }
        first = c->files[f].first;
    }
    if (ctx == CTX_UPSTREAM) {
        if (grow(c, (void **) &c->ups, &c->capups, sizeof(*c->ups),
                 c->nups + 1) != 0)
        {
            return -1;
        }
        memset(&c->ups[c->nups], 0, sizeof(c->ups[0]));
        c->ups[c->nups].name = arg(c, &c->dirs[block], 1);
        lv.up = (int32_t) c->nups++;
    }
    if (each(c, first, lv.depth, visit_values, &lv) != 0) {
        return -1;
    }
    if (ctx == CTX_MAIN || ctx == CTX_HTTP) {
        c->error_log = lv.v[RD_NGINXCONF_ERROR_LOG];
    }
    if (ctx == CTX_SERVER && !lv.listen_seen) {
        struct parsed  p;

        /* no listen: nginx listens on *:80 (*:8000 when not root) */
        memset(&p, 0, sizeof(p));
        p.port = 80;
        if (add_addr(c, RD_NGINXCONF_LISTEN, &p, true, -1,
                     &c->dirs[block]) != 0)
        {
            return -1;
        }
    }
    if (lv.pass >= 0 && record_pass(c, &lv) != 0) {
        return -1;
    }
    if (ctx == CTX_UPSTREAM) {
        return 0;
    }
    return each(c, first, lv.depth, visit_blocks, &lv);
}


/* Names in proxy_pass/fastcgi_pass to upstream blocks; the rest are
 * hostnames. */
static void
resolve(struct rd_nginxconf *c)
{
    struct loc  *l;
    uint32_t     i, u;

    for (i = 0; i < c->nlocs; i++) {
        l = &c->locs[i];
        if (l->host == NULL) {
            continue;
        }
        for (u = 0; u < c->nups && !l->has_port; u++) {
            if (strcmp(c->ups[u].name, l->host) == 0) {
                l->up = (int32_t) u;
                l->vals.upstream = c->ups[u].name;
                if (l->vals.fastcgi) {
                    c->ups[u].by_fastcgi = true;
                } else {
                    c->ups[u].by_proxy = true;
                }
                break;
            }
        }
        if (l->up < 0) {
            c->hostnames_skipped++;
        }
    }
    for (i = 0; i < c->naddrs; i++) {
        if (c->addrs[i].a.kind == RD_NGINXCONF_SERVER) {
            u = (uint32_t) c->addrs[i].up;
            c->addrs[i].a.upstream = c->ups[u].name;
            c->addrs[i].a.fastcgi = c->ups[u].by_fastcgi
                                    && !c->ups[u].by_proxy;
        }
    }
    for (i = 0; i < c->nlocs; i++) {
        l = &c->locs[i];
        if (l->has_addr && l->vals.fastcgi) {
            for (u = 0; u < c->naddrs; u++) {
                if (c->addrs[u].a.kind == RD_NGINXCONF_PASS
                    && c->addrs[u].a.port == l->port
                    && memcmp(c->addrs[u].a.addr, l->addr, 16) == 0)
                {
                    c->addrs[u].a.fastcgi = true;
                }
            }
        }
    }
}


int
rd_nginxconf_finish(struct rd_nginxconf *c)
{
    const char  *root, *slash;
    uint32_t     f;

    if (c->err != 0) {
        return c->err;
    }
    if (c->finished) {
        return -RD_EINVAL;
    }
    if (c->st == S_COMMENT) {
        c->st = S_SPACE;
        if (end_comment(c) != 0) {
            return c->err;
        }
    }
    if (end_file(c) != 0) {
        return c->err;
    }
    c->finished = true;
    for (f = 0; f < c->nfiles && c->files[f].first < 0; f++) {
    }
    root = f < c->nfiles ? c->files[f].name : c->name;
    slash = strrchr(root, '/');
    if (slash != NULL) {
        c->root_dir = strdup_n(c, root, (size_t) (slash - root));
        if (c->root_dir == NULL) {
            return c->err;
        }
    }
    if (walk(c, -1, CTX_MAIN, NULL) != 0) {
        return c->err;
    }
    resolve(c);
    return 0;
}


/* ---- queries ----------------------------------------------------------- */

void
rd_nginxconf_default(int key, uint32_t version, bool explicit_up,
    struct rd_nginxconf_value *out)
{
    const struct dflt  *d;
    bool                moved;

    memset(out, 0, sizeof(*out));
    out->num = -1;
    if (key < 0 || key >= RD_NGINXCONF_NKEYS) {
        out->text = "";
        return;
    }
    d = &dflts[key];
    moved = version >= V_MOVED && d->text_new != NULL;
    if (key == RD_NGINXCONF_KEEPALIVE && !explicit_up) {
        moved = false;              /* implicit upstreams are not cached */
    }
    out->text = moved ? d->text_new : d->text;
    out->num = moved ? d->num_new : d->num;
    if (key == RD_NGINXCONF_KEEPALIVE_REQUESTS && version != 0
        && version < V_KA_1000)
    {
        out->text = "100";
        out->num = 100;
    }
}


static bool
up_has(const struct rd_nginxconf *c, int32_t up, uint8_t af,
    const uint8_t *addr, uint16_t port)
{
    uint32_t  i;

    for (i = 0; i < c->naddrs; i++) {
        const struct rd_nginxconf_addr  *a = &c->addrs[i].a;

        if (a->kind == RD_NGINXCONF_SERVER && c->addrs[i].up == up
            && a->af == af && a->port == port
            && memcmp(a->addr, addr, af == 4 ? 4 : 16) == 0)
        {
            return true;
        }
    }
    return false;
}


uint32_t
rd_nginxconf_location_for(const struct rd_nginxconf *c, uint32_t version,
    const char *name, uint8_t af, const uint8_t *addr, uint16_t port,
    uint32_t index, struct rd_nginxconf_values *out)
{
    const struct loc  *l;
    uint32_t           i, n;
    int                k;
    bool               match;

    if (!c->finished) {
        return 0;
    }
    for (i = 0, n = 0; i < c->nlocs; i++) {
        l = &c->locs[i];
        if (name != NULL) {
            match = l->up >= 0 && strcmp(c->ups[l->up].name, name) == 0;
        } else {
            match = (l->has_addr && l->af == af && l->port == port
                     && memcmp(l->addr, addr, af == 4 ? 4 : 16) == 0)
                    || (l->up >= 0 && up_has(c, l->up, af, addr, port));
        }
        if (!match || n++ != index) {
            continue;
        }
        *out = l->vals;
        for (k = 0; k < RD_NGINXCONF_NKEYS; k++) {
            if (k >= RD_NGINXCONF_KEEPALIVE && l->up >= 0) {
                out->v[k] = c->ups[l->up].ka[k - RD_NGINXCONF_KEEPALIVE];
            }
            if (out->v[k].text == NULL) {
                rd_nginxconf_default(k, version, l->up >= 0, &out->v[k]);
            }
        }
    }
    return n;
}


const char *
rd_nginxconf_upstream_name(const struct rd_nginxconf *c, uint8_t af,
    const uint8_t *addr, uint16_t port)
{
    int32_t  u;

    if (!c->finished) {
        return NULL;
    }
    for (u = 0; u < (int32_t) c->nups; u++) {
        if (up_has(c, u, af, addr, port)) {
            return c->ups[u].name;
        }
    }
    return NULL;
}


void
rd_nginxconf_error_log(const struct rd_nginxconf *c,
    struct rd_nginxconf_value *out)
{
    if (c->error_log.text != NULL) {
        *out = c->error_log;
    } else {
        rd_nginxconf_default(RD_NGINXCONF_ERROR_LOG, 0, false, out);
    }
}


bool
rd_nginxconf_addr(const struct rd_nginxconf *c, uint32_t i,
    struct rd_nginxconf_addr *out)
{
    if (!c->finished || i >= c->naddrs) {
        return false;
    }
    *out = c->addrs[i].a;
    return true;
}


void
rd_nginxconf_stats(const struct rd_nginxconf *c,
    struct rd_nginxconf_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->name = c->name;
    out->directives = c->ndirs;
    out->files = c->markers;
    out->upstreams = c->nups;
    out->locations = c->nlocation_blocks;
    out->passes = c->nlocs;
    out->hostnames_skipped = c->hostnames_skipped;
}
