/*
 * nginxconf: nginx's configuration as `nginx -T` prints it, parsed into a
 * tree of directives, and what rstdiag needs from it: the addresses nginx
 * listens on and connects to and from (for legs), the upstream blocks,
 * and for each location that passes requests on, the values in force
 * there of the directives that decide how a reset or a close plays out
 * (timeouts, HTTP version, buffer sizes, keep-alive), each with the
 * file:line that set it or "default".
 *
 * The syntax is nginx's (ngx_conf_file.c, ngx_conf_read_token):
 * directives "name arg ...;", blocks "name arg ... { ... }", words split
 * on blanks, single and double quotes, backslash escapes (\" \' \\ \t \r
 * \n; any other "\x" is kept as written), "#" comments from the start of
 * a word to the end of the line, "$var" and "${var}" kept as text.
 * `nginx -T` prints every file it read, each after a line
 * "# configuration file PATH:": such a line switches the current file
 * and line 1 is the line after it; "include" directives are then
 * resolved against the files of the dump (fnmatch(3), relative patterns
 * from the first file's directory).  Lines starting "nginx: " before the
 * first marker (nginx's own "syntax is ok" lines, pasted along) are
 * skipped.
 *
 * Input is fed in pieces of any size (a streaming tokenizer keeps its
 * state between calls).  Every limit (depth, word length, words per
 * directive, directives, files, bytes) is in rstdiag/limits.h; beyond
 * one the parse fails with a reason.  Memory comes from the rd_alloc
 * given to rd_nginxconf_create() and is all released by
 * rd_nginxconf_destroy().  Strings handed out stay valid until then.
 */
#ifndef RD_NGINXCONF_H
#define RD_NGINXCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rstdiag/common.h"

struct rd_nginxconf;

/*
 * A parser for input called name (a path, or "-"): that is the file name
 * of errors and directives until the first "# configuration file" line.
 * NULL when the allocator refuses.
 */
struct rd_nginxconf *rd_nginxconf_create(const struct rd_alloc *a,
    const char *name);

void rd_nginxconf_destroy(struct rd_nginxconf *c);

/*
 * The next len bytes of input.  0, or -RD_EPROTO (malformed input, a
 * limit passed) or -RD_ENOMEM; errors are sticky: later calls return the
 * same code and rd_nginxconf_error() says why.
 */
int rd_nginxconf_feed(struct rd_nginxconf *c, const void *buf, size_t len);

/*
 * End of input: checks that every block and directive was closed, then
 * resolves includes and extracts listeners, upstreams and locations.
 * 0 or the error of rd_nginxconf_feed().  Call once; the queries below
 * answer only after it returned 0.
 */
int rd_nginxconf_finish(struct rd_nginxconf *c);

/* "FILE:LINE: reason" of the first error, or NULL when there was none. */
const char *rd_nginxconf_error(const struct rd_nginxconf *c);

/* ---- the tree ---------------------------------------------------------- */

/* One directive.  argv[0] is its name; words are after escapes, quotes
 * removed, NUL-terminated.  Indices are those of rd_nginxconf_directive;
 * -1 is none. */
struct rd_nginxconf_directive {
    const char *const  *argv;
    uint32_t            argc;           /* >= 1 */
    const char         *file;
    uint32_t            line;           /* of its first word */
    int32_t             parent;         /* enclosing block, -1: top level
                                         * of its file */
    int32_t             child;          /* first directive inside */
    int32_t             next;           /* next one in the same block */
    bool                block;          /* "name ... { }" */
};

/* Directives parsed, in input order. */
uint32_t rd_nginxconf_ndirectives(const struct rd_nginxconf *c);

/* The i-th directive into out; false past the end (or before finish). */
bool rd_nginxconf_directive(const struct rd_nginxconf *c, uint32_t i,
    struct rd_nginxconf_directive *out);

/* ---- values ------------------------------------------------------------ */

/* The directives whose values a location records. */
enum rd_nginxconf_key {
    RD_NGINXCONF_PROXY_CONNECT_TIMEOUT = 0,     /* ms */
    RD_NGINXCONF_PROXY_READ_TIMEOUT,            /* ms */
    RD_NGINXCONF_PROXY_SEND_TIMEOUT,            /* ms */
    RD_NGINXCONF_FASTCGI_CONNECT_TIMEOUT,       /* ms */
    RD_NGINXCONF_FASTCGI_READ_TIMEOUT,          /* ms */
    RD_NGINXCONF_FASTCGI_SEND_TIMEOUT,          /* ms */
    RD_NGINXCONF_PROXY_HTTP_VERSION,            /* 10, 11, 20 */
    RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION,   /* text; "" not sent */
    RD_NGINXCONF_PROXY_BUFFER_SIZE,             /* bytes */
    RD_NGINXCONF_FASTCGI_BUFFER_SIZE,           /* bytes */
    RD_NGINXCONF_PROXY_BUFFERING,               /* 1 on, 0 off */
    RD_NGINXCONF_PROXY_MAX_TEMP_FILE_SIZE,      /* bytes */
    RD_NGINXCONF_PROXY_NEXT_UPSTREAM,           /* RD_NGINXCONF_NU_* mask */
    RD_NGINXCONF_PROXY_IGNORE_CLIENT_ABORT,     /* 1 on, 0 off */
    RD_NGINXCONF_CLIENT_MAX_BODY_SIZE,          /* bytes, 0 unlimited */
    RD_NGINXCONF_ERROR_LOG,                     /* level, nginx's numbers:
                                                 * 1 emerg .. 8 debug */
    /* of the upstream block the location passes to */
    RD_NGINXCONF_KEEPALIVE,                     /* connections, 0 off */
    RD_NGINXCONF_KEEPALIVE_TIMEOUT,             /* ms */
    RD_NGINXCONF_KEEPALIVE_REQUESTS,            /* requests */
    RD_NGINXCONF_KEEPALIVE_TIME,                /* ms */
    RD_NGINXCONF_NKEYS
};

/* The directive of each key ("proxy_set_header Connection" for that
 * one). */
extern const struct rd_tok  rd_nginxconf_key_names[];

/* proxy_next_upstream's words as bits (nginx's NGX_HTTP_UPSTREAM_FT_*). */
#define RD_NGINXCONF_NU_ERROR           0x0001
#define RD_NGINXCONF_NU_TIMEOUT         0x0002
#define RD_NGINXCONF_NU_INVALID_HEADER  0x0004
#define RD_NGINXCONF_NU_HTTP_500        0x0008
#define RD_NGINXCONF_NU_HTTP_502        0x0010
#define RD_NGINXCONF_NU_HTTP_503        0x0020
#define RD_NGINXCONF_NU_HTTP_504        0x0040
#define RD_NGINXCONF_NU_HTTP_403        0x0080
#define RD_NGINXCONF_NU_HTTP_404        0x0100
#define RD_NGINXCONF_NU_HTTP_429        0x0200
#define RD_NGINXCONF_NU_NON_IDEMPOTENT  0x0400
#define RD_NGINXCONF_NU_OFF             0x8000

/* A value in force: where it was set, or nginx's default. */
struct rd_nginxconf_value {
    const char     *text;       /* the words as written, joined by one
                                 * space; the default's text */
    int64_t         num;        /* per the key's comment; -1 for text */
    const char     *file;       /* NULL: nginx's default */
    uint32_t        line;
};

/* What is in force in one location that passes requests on (proxy_pass
 * or fastcgi_pass, in the location or in an "if" inside it). */
struct rd_nginxconf_values {
    const char     *location;   /* its words: "/api/", "~ \.php$",
                                 * "if ($x)" */
    const char     *file;       /* of the location */
    uint32_t        line;
    const char     *pass;       /* proxy_pass or fastcgi_pass argument */
    const char     *pass_file;
    uint32_t        pass_line;
    bool            fastcgi;    /* fastcgi_pass */
    const char     *upstream;   /* the upstream block passed to, or NULL */
    struct rd_nginxconf_value  v[RD_NGINXCONF_NKEYS];
};

/*
 * nginx's default of key for version (major*10000 + minor*100 + patch,
 * 0: unknown, taken as before 1.29.7) into out (file NULL).  explicit_up:
 * the location passes to an upstream{} block (keep-alive defaults differ
 * for implicit upstreams from 1.29.7 on).
 */
void rd_nginxconf_default(int key, uint32_t version, bool explicit_up,
    struct rd_nginxconf_value *out);

/*
 * The locations that pass to upstream block name (when name is not NULL)
 * or to af/addr/port (af 4 or 6, addr in network order, 16 bytes), by
 * address or through an upstream block that has that server: fills out
 * with the index-th of them (defaults resolved for version) and returns
 * how many there are (0: none, out untouched).
 */
uint32_t rd_nginxconf_location_for(const struct rd_nginxconf *c,
    uint32_t version, const char *name, uint8_t af, const uint8_t *addr,
    uint16_t port, uint32_t index, struct rd_nginxconf_values *out);

/* The name of the upstream block with server af/addr/port, or NULL. */
const char *rd_nginxconf_upstream_name(const struct rd_nginxconf *c,
    uint8_t af, const uint8_t *addr, uint16_t port);

/* The error_log level in force in http{} (main's when http has none). */
void rd_nginxconf_error_log(const struct rd_nginxconf *c,
    struct rd_nginxconf_value *out);

/* ---- addresses ---------------------------------------------------------- */

enum rd_nginxconf_addr_kind {
    RD_NGINXCONF_LISTEN = 0,        /* listen: nginx */
    RD_NGINXCONF_SERVER,            /* a server of an upstream block */
    RD_NGINXCONF_PASS,              /* proxy_pass / fastcgi_pass address */
    RD_NGINXCONF_BIND               /* proxy_bind / fastcgi_bind: nginx */
};

/* An address the configuration names (hostnames, unix sockets and
 * variables are not listed: they cannot be known offline). */
struct rd_nginxconf_addr {
    uint8_t         kind;           /* enum rd_nginxconf_addr_kind */
    bool            wildcard;       /* listen on every address of port */
    bool            fastcgi;        /* FastCGI is spoken to it */
    uint8_t         af;             /* 4 or 6; 0 when wildcard */
    uint8_t         addr[16];
    uint16_t        port;           /* 0: binds (any port) */
    const char     *spec;           /* "127.0.0.1:8080", "[::1]:80",
                                     * "10.0.0.1" (rd_legs_declare's form);
                                     * "*:80" when wildcard */
    const char     *upstream;       /* SERVER: the block's name */
    const char     *file;
    uint32_t        line;
};

/* The i-th address; false past the end. */
bool rd_nginxconf_addr(const struct rd_nginxconf *c, uint32_t i,
    struct rd_nginxconf_addr *out);

/* Counts for the summary. */
struct rd_nginxconf_stats {
    const char     *name;               /* as given to create */
    uint32_t        directives;
    uint32_t        files;              /* "# configuration file" seen */
    uint32_t        upstreams;          /* upstream{} blocks */
    uint32_t        locations;          /* location{} blocks */
    uint32_t        passes;             /* locations that pass on */
    uint32_t        hostnames_skipped;  /* names not resolved offline */
};

void rd_nginxconf_stats(const struct rd_nginxconf *c,
    struct rd_nginxconf_stats *out);

/* ---- value syntax (ngx_parse_time, ngx_parse_size) -------------------- */

/* "60", "60s", "1m", "500ms", "1h30m" (units y M w d h m s ms, each at
 * most once, largest first; no unit: seconds) into milliseconds.  0 or
 * -RD_EINVAL (also on overflow). */
int rd_nginxconf_parse_time(const char *s, int64_t *ms);

/* "4096", "4k", "1m", "1g" (either case) into bytes.  0 or -RD_EINVAL. */
int rd_nginxconf_parse_size(const char *s, int64_t *bytes);

#endif /* RD_NGINXCONF_H */
