/*
 * errjoin: nginx's error.log lines joined with the finished connections
 * that caused them (issue 14), at the report edge (DESIGN.md, "Beside the
 * packets").  The lines come from a source (errlog.c reads the files); a
 * line waits in a window bounded in time and count for its connection;
 * what falls out unmatched is reported with the likely reason.
 *
 * error.log time is nginx's local wall time with one-second resolution.
 * With the offset unknown, the first finished connections are held
 * (bounded) while one pass over the log counts, per whole or half hour
 * from -12:00 to +14:00, the lines that fit a held connection; the best
 * offset wins, and the log is read again from its start for the join.
 */
#ifndef RD_ERRJOIN_H
#define RD_ERRJOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rstdiag/common.h"

#define RD_ERRJOIN_MSG_LEN      256
#define RD_ERRJOIN_TARGET_LEN   128
#define RD_ERRJOIN_MAX_MATCH    4   /* lines kept per connection */
#define RD_ERRJOIN_LATE_S       15  /* a late connection's line may come
                                     * this long after its last packet */

/* One error.log record as the join needs it. */
struct rd_errjoin_line {
    int64_t         local;          /* local wall time, s, as if it were
                                     * UTC */
    const char     *file;           /* must outlive the join */
    uint64_t        lineno;         /* of its first line */
    uint8_t         level;          /* RD_ERRJOIN_L_* */
    uint64_t        conn_no;        /* nginx's *N, 0: none */
    bool            has_upstream;
    uint8_t         up_af;          /* 4, 6; 0: unix socket or a name */
    uint8_t         up_addr[16];
    uint16_t        up_port;
    bool            has_client;
    uint8_t         cl_af;
    uint8_t         cl_addr[16];
    char            method[16];     /* of request:, "" none */
    char            target[RD_ERRJOIN_TARGET_LEN];
    char            message[RD_ERRJOIN_MSG_LEN];    /* without context */
};

enum {
    RD_ERRJOIN_L_DEBUG = 0, RD_ERRJOIN_L_INFO, RD_ERRJOIN_L_NOTICE,
    RD_ERRJOIN_L_WARN, RD_ERRJOIN_L_ERROR, RD_ERRJOIN_L_CRIT,
    RD_ERRJOIN_L_ALERT, RD_ERRJOIN_L_EMERG, RD_ERRJOIN_NLEVELS
};

extern const char *const rd_errjoin_level_names[RD_ERRJOIN_NLEVELS];
extern const size_t rd_errjoin_level_len[RD_ERRJOIN_NLEVELS];  /* strlen() */

#define RD_ERRJOIN_AGAIN        2   /* a followed log has no more now */

/* Where lines come from: next() 1 a line (every field of *out set; its
 * strings terminated within their fields; a line that names neither a
 * client nor an upstream may come with an empty message and conn_no 0,
 * as rd_errlog_lean gives it: the join reads neither), 0 the end,
 * RD_ERRJOIN_AGAIN none now (a log being followed: ask again later), -1
 * an error (err set); rewind() starts again from the first line (0, or
 * -1).  only() (optional, NULL) tells the source that until the next
 * rewind it may leave out lines whose message starts with none of the n
 * strings msgs (valid during the call only), as rd_errlog_only does. */
struct rd_errjoin_source {
    int           (*next)(void *arg, struct rd_errjoin_line *out,
                          char err[RD_ERRLEN]);
    int           (*rewind)(void *arg, char err[RD_ERRLEN]);
    void           *arg;
    void          (*only)(void *arg, const char *const *msgs, size_t n);
    /* optional (NULL): until the next rewind the source may also leave
     * out lines whose local time lies in none of the n windows
     * [base + k * step, base + k * step + width], k = 0..n-1 (as
     * rd_errlog_only_times does) */
    void          (*only_times)(void *arg, int64_t base, int64_t width,
                                int64_t step, unsigned n);
};

/* A finished connection as the join needs it. */
struct rd_errjoin_conn {
    uint64_t        id;
    int             leg;            /* enum rd_leg */
    uint8_t         af;
    uint8_t         client[16];     /* its client address */
    uint8_t         server[16];
    uint16_t        server_port;
    bool            has_nginx_client;   /* upstream leg: the paired client */
    uint8_t         nginx_client_af;
    uint8_t         nginx_client[16];
    rd_usec_t       ts_start, ts_end, close_ts;
    char            method[16];     /* of its last request, "" none */
    char            target[RD_ERRJOIN_TARGET_LEN];
    char            message[RD_ERRJOIN_MSG_LEN];    /* the verdict's
                                     * prediction (copied: a connection may
                                     * be held), "" none */
    const char     *level;          /* static */
    bool            abnormal;       /* worth a line from nginx */
    bool            late;           /* nginx writes its line when it reads
                                     * the close, which may be up to
                                     * RD_ERRJOIN_LATE_S after the last
                                     * packet (an RST behind bytes nginx
                                     * first passes to a slow client) */
};

/* What a connection's record gains. */
struct rd_errjoin_match {
    const char     *file;
    uint64_t        lineno;
    uint8_t         level;
    char            message[RD_ERRJOIN_MSG_LEN];
    uint64_t        also;           /* another connection it fitted, 0 */
};

struct rd_errjoin_result {
    struct rd_errjoin_match  m[RD_ERRJOIN_MAX_MATCH];
    unsigned        n;
    bool            disagrees;      /* nginx's line is not the predicted */
    const char     *unlogged_level; /* predicted, not in the log: its
                                     * level, or NULL */
    const char     *unlogged_why;
};

/* Unmatched lines' reasons (the JSON "reason"). */
enum {
    RD_ERRJOIN_R_BEFORE = 0,        /* before_capture */
    RD_ERRJOIN_R_AFTER,             /* after_capture */
    RD_ERRJOIN_R_NO_PACKETS,        /* a message no packet shows */
    RD_ERRJOIN_R_NOT_CAPTURED,      /* no connection to that upstream */
    RD_ERRJOIN_R_NO_CONNECTION,     /* none fitted */
    RD_ERRJOIN_R_WINDOW_FULL,       /* pushed out by the count bound */
    RD_ERRJOIN_NREASONS
};

extern const char *const rd_errjoin_reason_names[RD_ERRJOIN_NREASONS];

/* The join's output: a connection's record (held or at once) with its
 * result, and an unmatched line with its reason. */
struct rd_errjoin_sink {
    void          (*conn)(void *arg, uint64_t id, char *rendered,
                          size_t len, const struct rd_errjoin_result *r);
    void          (*line)(void *arg, const struct rd_errjoin_line *l,
                          int64_t utc, int reason);
    void           *arg;
};

struct rd_errjoin_cfg {
    bool            offset_known;   /* --error-log-tz */
    int64_t         offset;         /* local - UTC, s */
    int64_t         host_offset;    /* this host's, for ties and when no
                                     * line fits */
    uint32_t        window_s;       /* a line waits this long (capture
                                     * time) for its connection */
    uint32_t        max_lines;      /* at most this many wait */
    uint32_t        hold_max;       /* connections held to find the
                                     * offset */
    size_t          hold_bytes;     /* ... and their records' bytes */
    bool            live;           /* the log is followed (-i): a
                                     * connection waits (hold_max,
                                     * hold_bytes) until the log was read
                                     * past its last second; see
                                     * rd_errjoin_poll */
};

struct rd_errjoin_stats {
    uint64_t        lines;          /* read (last pass) */
    uint64_t        relevant;       /* about a client or an upstream */
    uint64_t        matched;
    uint64_t        unmatched[RD_ERRJOIN_NREASONS];
    uint64_t        by_level[RD_ERRJOIN_NLEVELS];
    int64_t         offset;
    const char     *offset_from;    /* "option", "data", "host" */
    uint64_t        offset_fits;    /* lines that fitted under it */
    uint64_t        held_peak;
};

struct rd_errjoin;

struct rd_errjoin *rd_errjoin_create(const struct rd_errjoin_cfg *cfg,
    const struct rd_errjoin_source *src, const struct rd_errjoin_sink *sink,
    char err[RD_ERRLEN]);

/*
 * A finished connection; rendered (malloc'd, or NULL) is its record
 * without the join's keys, handed to sink->conn (which frees it) now or,
 * while the offset is being found, later.  A source that fails ends
 * the log there (rd_errjoin_finish says so); 0.
 */
int rd_errjoin_conn(struct rd_errjoin *j, const struct rd_errjoin_conn *c,
    char *rendered, size_t len, char err[RD_ERRLEN]);

/* The capture is over (its span, UTC): held connections and every line
 * left go out.  -1 with err when the log could not be read to its end. */
int rd_errjoin_finish(struct rd_errjoin *j, rd_usec_t ts_first,
    rd_usec_t ts_last, char err[RD_ERRLEN]);

/*
 * Live (cfg.live): the source was read as far as it goes at wall time
 * now (UTC).  Every line it has is taken into the window; a connection
 * that waits is joined once nginx has had its second to write about it
 * (its last second + 2 is past), or earlier when the wait is full; a
 * line that waited window_s falls out unmatched.  Records and lines go
 * to the sink from here.  0.
 */
int rd_errjoin_poll(struct rd_errjoin *j, rd_usec_t now, char err[RD_ERRLEN]);

const struct rd_errjoin_stats *rd_errjoin_stats(const struct rd_errjoin *j);

/* "+0800" style. */
void rd_errjoin_offset_str(int64_t off, char buf[8]);

void rd_errjoin_destroy(struct rd_errjoin *j);

#endif /* RD_ERRJOIN_H */
