/*
 * errjoin: error.log lines with the connections that caused them.  See
 * include/rstdiag/errjoin.h for the model; here: the window of waiting
 * lines (a ring, hashed by the address a line names), the offset vote,
 * and the reasons a line found no connection.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rstdiag/errjoin.h"
#include "rstdiag/legs.h"

const char *const rd_errjoin_level_names[RD_ERRJOIN_NLEVELS] = {
    "debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"
};

const size_t rd_errjoin_level_len[RD_ERRJOIN_NLEVELS] = {
    5, 4, 6, 4, 5, 4, 5, 5
};

const char *const rd_errjoin_reason_names[RD_ERRJOIN_NREASONS] = {
    "before_capture", "after_capture", "no_packets", "upstream_not_captured",
    "no_connection", "window_full"
};

/* Offsets tried: -12:00 to +14:00 by half hours. */
#define OFF_MIN     (-12 * 3600)
#define OFF_STEP    1800
#define OFF_N       53

#define BUCKETS     4096u           /* window hash; power of two */
#define WALK_MAX    256             /* lines looked at per connection: a
                                     * bound on the work, not on what is
                                     * kept */
#define SEEN_SLOTS  4096u           /* servers seen in connections */
#define HELD_BITS   4096u           /* the vote's filter; power of two */
#define VOTE_MSGS   32              /* predictions a source is told */

/* Messages that no packet shows: nginx decided without a connection, or
 * wrote about a file. */
#define NO_PACKETS(s)   { s, sizeof(s) - 1 }
static const struct {
    const char     *s;
    size_t          n;
} no_packet_msgs[] = {
    NO_PACKETS("no live upstreams"),
    NO_PACKETS("upstream server temporarily disabled"),
    NO_PACKETS("a client request body is buffered to a temporary file"),
    NO_PACKETS("an upstream response is buffered to a temporary file"),
    NO_PACKETS("upstream sent duplicate header line"),
};

struct pend {
    struct rd_errjoin_line  l;
    int64_t                 utc;
    uint32_t                key;
    uint64_t                next;   /* seq + 1 of the older line on the
                                     * chain, 0: none */
    uint64_t                conn;   /* matched to, 0 none */
    bool                    relevant;
};

struct held {
    struct rd_errjoin_conn  c;
    char                   *rendered;
    size_t                  len;
    uint32_t                key;
};

/* The vote's view of held connections: one key and prediction over a
 * span of seconds. */
struct vspan {
    uint32_t                key;
    const char             *msg;
    size_t                  msg_len;    /* strlen(msg) */
    int64_t                 lo, hi;     /* UTC s a line may carry */
    bool                    lead;       /* the first of its key and
                                         * prediction */
};

struct rd_errjoin {
    struct rd_errjoin_cfg       cfg;
    struct rd_errjoin_source    src;
    struct rd_errjoin_sink      sink;
    struct rd_errjoin_stats     st;

    /* the window: seq head..tail-1 live in ring[seq % nring]; the slot
     * of seq tail is the peek slot, where the next line is read (it is
     * taken into the window where it lies, without a copy) */
    struct pend                *ring;
    uint64_t                    head, tail;
    uint64_t                   *bucket;     /* newest seq + 1, 0 none */
    bool                        full_evict; /* the ring pushed one out */

    uint32_t                    nring;      /* max_lines + 1 */
    bool                        have_peek, eof;
    bool                        again;      /* live: the source had no
                                             * more at this poll */
    int64_t                     now;        /* newest connection end, s */
    int64_t                     min_start;  /* oldest connection start */
    int64_t                     log_first;  /* first line's UTC */
    bool                        have_first;

    uint32_t                   *seen;       /* server keys, 0 empty */
    uint32_t                    nseen;

    bool                        calibrating;
    uint32_t                    lhead;      /* live: held[lhead..+nheld)
                                             * wait, a ring */
    struct held                *held;
    struct vspan               *spans;      /* hold_max, for the vote */
    uint32_t                    nheld;
    size_t                      held_bytes;

    /* the capture's span at finish, s; 0 unknown */
    int64_t                     cap_first, cap_last;

    char                        err[RD_ERRLEN];     /* the first read error:
                                                     * the log ends there */
};


/* A 32-bit key of 16 address bytes and a tag (what it is, its family,
 * its port): two multiplies and a fold, low bits mixed (they pick the
 * bucket).  Never 0. */
static uint32_t
key_of(const uint8_t addr[16], uint64_t tag)
{
    uint64_t  a, b, h;

    memcpy(&a, addr, 8);
    memcpy(&b, addr + 8, 8);
    h = (a ^ tag) * 0x9e3779b97f4a7c15ull;
    h ^= (b + (h >> 31)) * 0xc2b2ae3d27d4eb4full;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (uint32_t) h | 1u;
}


static uint32_t
key_upstream(uint8_t af, const uint8_t addr[16], uint16_t port)
{
    return key_of(addr, (uint64_t) 'U' << 56 | (uint64_t) af << 48
                        | (uint64_t) port << 32);
}


static uint32_t
key_client(uint8_t af, const uint8_t addr[16])
{
    return key_of(addr, (uint64_t) 'C' << 56 | (uint64_t) af << 48);
}


/* The key a line waits under; 0 for a line about nothing we capture. */
static uint32_t
line_key(const struct rd_errjoin_line *l)
{
    if (l->has_upstream && l->up_af != 0) {
        return key_upstream(l->up_af, l->up_addr, l->up_port);
    }
    if (l->has_upstream) {
        return 0;                   /* a unix socket: no TCP to see */
    }
    if (l->has_client && l->level >= RD_ERRJOIN_L_INFO
        && l->level <= RD_ERRJOIN_L_ERROR)
    {
        return key_client(l->cl_af, l->cl_addr);
    }
    return 0;
}


static uint32_t
conn_key(const struct rd_errjoin_conn *c)
{
    if (c->leg == RD_LEG_CLIENT) {
        return key_client(c->af, c->client);
    }
    return key_upstream(c->af, c->server, c->server_port);
}


static bool
no_packets(const struct rd_errjoin_line *l)
{
    size_t  i;

    for (i = 0; i < sizeof(no_packet_msgs) / sizeof(no_packet_msgs[0]); i++) {
        /* message[1] is read only after a first byte that is no NUL */
        if (l->message[0] == no_packet_msgs[i].s[0]
            && l->message[1] == no_packet_msgs[i].s[1]
            && strncmp(l->message, no_packet_msgs[i].s,
                       no_packet_msgs[i].n) == 0)
        {
            return true;
        }
    }
    return false;
}


static void
seen_add(struct rd_errjoin *j, uint32_t key)
{
    uint32_t  i, n;

    for (n = 0, i = key & (SEEN_SLOTS - 1); n < SEEN_SLOTS;
         n++, i = (i + 1) & (SEEN_SLOTS - 1))
    {
        if (j->seen[i] == key) {
            return;
        }
        if (j->seen[i] == 0) {
            if (j->nseen < SEEN_SLOTS * 3 / 4) {
                j->seen[i] = key;
                j->nseen++;
            }
            return;
        }
    }
}


/* A full table says yes: it cannot tell. */
static bool
seen_has(const struct rd_errjoin *j, uint32_t key)
{
    uint32_t  i, n;

    if (j->nseen >= SEEN_SLOTS * 3 / 4) {
        return true;
    }
    for (n = 0, i = key & (SEEN_SLOTS - 1); n < SEEN_SLOTS;
         n++, i = (i + 1) & (SEEN_SLOTS - 1))
    {
        if (j->seen[i] == key) {
            return true;
        }
        if (j->seen[i] == 0) {
            return false;
        }
    }
    return false;
}


static int
reason_of(const struct rd_errjoin *j, const struct pend *p, bool evicted)
{
    int64_t  first;

    first = j->cap_first != 0 ? j->cap_first : j->min_start;
    if (no_packets(&p->l)) {
        return RD_ERRJOIN_R_NO_PACKETS;
    }
    if (first != 0 && p->utc < first - 1) {
        return RD_ERRJOIN_R_BEFORE;
    }
    if (j->cap_last != 0 && p->utc > j->cap_last + 1) {
        return RD_ERRJOIN_R_AFTER;
    }
    if (p->l.has_upstream && !seen_has(j, p->key)) {
        return RD_ERRJOIN_R_NOT_CAPTURED;
    }
    return evicted ? RD_ERRJOIN_R_WINDOW_FULL : RD_ERRJOIN_R_NO_CONNECTION;
}


/* The oldest waiting line leaves; unmatched, it is reported. */
static void
drop_oldest(struct rd_errjoin *j, bool evicted)
{
    struct pend  *p;
    int           r;

    p = &j->ring[j->head % j->nring];
    if (p->relevant && p->conn == 0) {
        r = reason_of(j, p, evicted);
        j->st.unmatched[r]++;
        if (j->sink.line != NULL) {
            j->sink.line(j->sink.arg, &p->l, p->utc, r);
        }
    }
    j->head++;
}


static void
expire(struct rd_errjoin *j, int64_t before)
{
    while (j->head < j->tail
           && j->ring[j->head % j->nring].utc < before)
    {
        drop_oldest(j, false);
    }
}


/* The line in the peek slot joins the window where it lies (the slot
 * at tail is never in the window: the ring has one slot more). */
static void
insert(struct rd_errjoin *j)
{
    struct pend  *p;
    uint64_t     *b;

    if (j->tail - j->head == j->cfg.max_lines) {
        drop_oldest(j, true);
    }
    p = &j->ring[j->tail % j->nring];
    p->conn = 0;
    b = &j->bucket[p->key & (BUCKETS - 1)];
    p->next = *b;
    *b = j->tail + 1;
    j->tail++;
}


/* A read error: the first one is kept for rd_errjoin_finish. */
static void
note_err(struct rd_errjoin *j, const char *err)
{
    if (j->err[0] == '\0') {
        snprintf(j->err, sizeof(j->err), "%s", err);
    }
}


/* The peek slot: the ring's slot after the window's newest line. */
static struct pend *
peek_slot(struct rd_errjoin *j)
{
    return &j->ring[j->tail % j->nring];
}


/* Read one line into the peek slot; false at the end. */
static bool
peek_line(struct rd_errjoin *j, char err[RD_ERRLEN])
{
    struct pend  *pk;
    int           rc;

    if (j->have_peek) {
        return true;
    }
    if (j->eof || j->again) {
        return false;
    }
    /* the source sets the whole line; the rest is set below */
    pk = peek_slot(j);
    pk->next = 0;
    pk->conn = 0;
    rc = j->src.next(j->src.arg, &pk->l, err);
    if (rc == RD_ERRJOIN_AGAIN) {
        j->again = true;            /* more later: at the next poll */
        return false;
    }
    if (rc < 0) {
        note_err(j, err);
    }
    if (rc <= 0) {
        j->eof = true;
        return false;
    }
    pk->utc = pk->l.local - j->st.offset;
    pk->key = line_key(&pk->l);
    pk->relevant = pk->key != 0
                   || (pk->l.has_upstream && pk->l.level >= RD_ERRJOIN_L_WARN);
    j->have_peek = true;
    return true;
}


/* Lines up to utc into the window. */
static void
advance(struct rd_errjoin *j, int64_t utc, char err[RD_ERRLEN])
{
    struct pend  *pk;

    while (peek_line(j, err) && (pk = peek_slot(j))->utc <= utc) {
        j->have_peek = false;
        j->st.lines++;
        if (pk->l.level < RD_ERRJOIN_NLEVELS) {
            j->st.by_level[pk->l.level]++;
        }
        if (!j->have_first) {
            j->log_first = pk->utc;
            j->have_first = true;
        }
        if (!pk->relevant) {
            continue;
        }
        j->st.relevant++;
        insert(j);
    }
}


static int64_t
sec_floor(rd_usec_t t)
{
    return (int64_t) (t / 1000000);
}


/* The last second nginx may write a line about c in. */
static int64_t
last_s(const struct rd_errjoin_conn *c)
{
    return sec_floor(c->ts_end) + (c->late ? RD_ERRJOIN_LATE_S : 0);
}


/* The line could be about c: its address, its time, its request. */
static bool
fits(const struct pend *p, const struct rd_errjoin_conn *c, int64_t off)
{
    int64_t  utc;

    utc = p->l.local - off;
    if (utc < sec_floor(c->ts_start) - 1 || utc > last_s(c) + 1) {
        return false;
    }
    if (p->l.method[0] != '\0' && c->method[0] != '\0'
        && strcmp(p->l.method, c->method) != 0)
    {
        return false;
    }
    if (c->leg != RD_LEG_CLIENT && c->has_nginx_client && p->l.has_client
        && (p->l.cl_af != c->nginx_client_af
            || memcmp(p->l.cl_addr, c->nginx_client, 16) != 0))
    {
        return false;
    }
    return true;
}


/* message says msg (n = strlen(msg)): the same, or for a FastCGI
 * stderr prediction (ending in '"') its start. */
static bool
says_msg_n(const char *message, const char *msg, size_t n)
{
    if (n == 0) {
        return false;
    }
    if (msg[n - 1] == '"') {
        return strncmp(message, msg, n) == 0;
    }
    return strcmp(message, msg) == 0;
}


static bool
says_msg(const char *message, const char *msg)
{
    if (msg == NULL || msg[0] == '\0') {
        return false;
    }
    return says_msg_n(message, msg, strlen(msg));
}


static bool
says(const struct pend *p, const char *msg)
{
    return says_msg(p->l.message, msg);
}


static int64_t
absd(int64_t x)
{
    return x < 0 ? -x : x;
}


static void
add_match(struct rd_errjoin_result *r, const struct pend *p, uint64_t also)
{
    struct rd_errjoin_match  *m;

    if (r->n == RD_ERRJOIN_MAX_MATCH) {
        return;
    }
    m = &r->m[r->n++];
    m->file = p->l.file;
    m->lineno = p->l.lineno;
    m->level = p->l.level;
    memcpy(m->message, p->l.message, sizeof(m->message));
    m->also = also;
}


static void
match(struct rd_errjoin *j, const struct rd_errjoin_conn *c,
    struct rd_errjoin_result *r)
{
    struct pend  *p, *best, *taken_best;
    uint64_t      seq;
    int64_t       at, d, bd, td, oldest;
    unsigned      walked;
    uint32_t      key;
    bool          said;

    memset(r, 0, sizeof(*r));
    if (!c->abnormal && c->message[0] == '\0') {
        /* a line would have to say its prediction (it has none) or be
         * about an abnormal connection: none can be taken, and none is
         * missing */
        return;
    }
    key = conn_key(c);
    at = sec_floor(c->close_ts != 0 ? c->close_ts : c->ts_end);
    best = NULL;
    taken_best = NULL;
    bd = td = INT64_MAX;
    said = false;
    /* newest first; the chain ends at the window's oldest line, and the
     * walk where lines are older than the connection (lines come in time
     * order, give or take the second workers interleave in) */
    oldest = sec_floor(c->ts_start) - 2;
    walked = 0;
    for (seq = j->bucket[key & (BUCKETS - 1)];
         seq != 0 && seq - 1 >= j->head && walked < WALK_MAX; walked++)
    {
        p = &j->ring[(seq - 1) % j->nring];
        seq = p->next;
        if (p->utc < oldest) {
            break;
        }
        if (p->key != key || !fits(p, c, j->st.offset)) {
            continue;
        }
        d = absd(p->utc - at) + (says(p, c->message) ? 0 : 1000);
        if (p->conn == 0 && d < bd) {
            best = p;
            bd = d;
        } else if (p->conn != 0 && says(p, c->message) && d < td) {
            taken_best = p;
            td = d;
        }
    }
    /* a connection nginx had nothing to say about takes no line that
     * does not say what it predicts */
    if (best != NULL && !c->abnormal && bd >= 1000) {
        best = NULL;
    }
    if (best != NULL) {
        best->conn = c->id;
        j->st.matched++;
        add_match(r, best, 0);
        said = says(best, c->message);
        /* the same nginx connection's other lines about this upstream */
        for (seq = j->bucket[key & (BUCKETS - 1)], walked = 0;
             best->l.conn_no != 0 && seq != 0 && seq - 1 >= j->head
             && walked < WALK_MAX; walked++)
        {
            p = &j->ring[(seq - 1) % j->nring];
            seq = p->next;
            if (p->utc < oldest) {
                break;
            }
            if (p != best && p->conn == 0 && p->key == key
                && p->l.conn_no == best->l.conn_no
                && fits(p, c, j->st.offset))
            {
                p->conn = c->id;
                j->st.matched++;
                add_match(r, p, 0);
                said = said || says(p, c->message);
            }
        }
    } else if (taken_best != NULL) {
        add_match(r, taken_best, taken_best->conn);
        said = true;
    }
    if (r->n > 0 && c->message[0] != '\0' && !said) {
        r->disagrees = true;
    } else if (r->n > 0 && c->message[0] == '\0' && c->abnormal) {
        r->disagrees = true;
    }
    if (r->n == 0 && c->abnormal && c->message[0] != '\0' && c->level != NULL
        && j->have_first && sec_floor(c->ts_start) >= j->log_first - 1)
    {
        r->unlogged_level = c->level;
        if (strcmp(c->level, "info") == 0
            && j->st.by_level[RD_ERRJOIN_L_INFO] == 0)
        {
            r->unlogged_why = "nginx logs this at info and the log has no "
                              "info line: its error_log level hides them "
                              "(error_log FILE info;)";
        } else {
            r->unlogged_why = "nginx would log this; the log has no such "
                              "line near that time (another nginx version "
                              "or module, another error_log, or a line "
                              "not written)";
        }
    }
}


/* Match c now and hand its record on. */
static void
join_now(struct rd_errjoin *j, const struct rd_errjoin_conn *c,
    char *rendered, size_t len, char err[RD_ERRLEN])
{
    struct rd_errjoin_result  r;
    int64_t                   end;

    end = sec_floor(c->ts_end);
    if (end > j->now) {
        j->now = end;
    }
    if (j->min_start == 0 || sec_floor(c->ts_start) < j->min_start) {
        j->min_start = sec_floor(c->ts_start);
    }
    seen_add(j, conn_key(c));
    advance(j, last_s(c) + 2, err);
    match(j, c, &r);
    j->sink.conn(j->sink.arg, c->id, rendered, len, &r);
    expire(j, j->now - (int64_t) j->cfg.window_s);
}


/* One pass over the log: per offset, the lines that fit a held
 * connection saying what it predicts. */
static int
by_span(const void *a, const void *b)
{
    const struct vspan  *x = a, *y = b;
    int                  c;

    if (x->key != y->key) {
        return x->key < y->key ? -1 : 1;
    }
    c = strcmp(x->msg, y->msg);
    if (c != 0) {
        return c;
    }
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}


/* The held connections that can vote, as spans of UTC seconds a line
 * about them may carry ([start - 1, last + 1]), sorted by key and
 * prediction and merged where they touch: a line's offsets are those
 * that put it in a span of its key and message, and the union of spans
 * gives the same offsets as the connections one by one.  The number of
 * spans. */
static uint32_t
vote_spans(struct rd_errjoin *j)
{
    struct vspan  *v;
    uint32_t       i, n, m;

    v = j->spans;
    for (i = 0, n = 0; i < j->nheld; i++) {
        if (j->held[i].c.message[0] == '\0') {
            continue;               /* says nothing: fits no line */
        }
        v[n].key = j->held[i].key;
        v[n].msg = j->held[i].c.message;
        v[n].msg_len = strlen(v[n].msg);
        v[n].lo = sec_floor(j->held[i].c.ts_start) - 1;
        v[n].hi = last_s(&j->held[i].c) + 1;
        n++;
    }
    qsort(v, n, sizeof(*v), by_span);
    for (i = 0, m = 0; i < n; i++) {
        if (m > 0 && v[m - 1].key == v[i].key
            && strcmp(v[m - 1].msg, v[i].msg) == 0
            && v[i].lo <= v[m - 1].hi + 1)
        {
            if (v[i].hi > v[m - 1].hi) {
                v[m - 1].hi = v[i].hi;
            }
            continue;
        }
        v[m] = v[i];
        v[m].lead = m == 0 || v[m - 1].key != v[i].key
                    || strcmp(v[m - 1].msg, v[i].msg) != 0;
        m++;
    }
    return m;
}


static void
vote(struct rd_errjoin *j, char err[RD_ERRLEN])
{
    struct rd_errjoin_line  l;
    const struct vspan     *v;
    uint64_t                votes[OFF_N], fit;
    uint64_t                held_bits[HELD_BITS / 64];
    int64_t                 lo, hi, k, k0, k1, best;
    uint32_t                i, n, key, b;
    int                     rc;
    bool                    said;

    memset(votes, 0, sizeof(votes));
    n = vote_spans(j);
    /* and only lines whose time puts them in a span under some offset:
     * under offset k, the spans' hull shifted by it */
    if (j->src.only_times != NULL && n > 0) {
        int64_t  smin, smax;

        smin = INT64_MAX;
        smax = INT64_MIN;
        for (i = 0; i < n; i++) {
            smin = j->spans[i].lo < smin ? j->spans[i].lo : smin;
            smax = j->spans[i].hi > smax ? j->spans[i].hi : smax;
        }
        j->src.only_times(j->src.arg, smin + OFF_MIN, smax - smin,
                          OFF_STEP, OFF_N);
    }
    /* only lines saying a held connection's prediction can vote */
    if (j->src.only != NULL) {
        const char  *msgs[VOTE_MSGS];
        size_t       m;

        for (i = 0, m = 0; i < n && m < VOTE_MSGS; i++) {
            if (i == 0 || strcmp(j->spans[i].msg, msgs[m - 1]) != 0) {
                msgs[m++] = j->spans[i].msg;
            }
        }
        if (i == n) {
            j->src.only(j->src.arg, msgs, m);
        }
    }
    /* the spans' keys as a bit set: most lines are about no held
     * connection and cost one test */
    memset(held_bits, 0, sizeof(held_bits));
    for (i = 0; i < n; i++) {
        b = j->spans[i].key & (HELD_BITS - 1);
        held_bits[b / 64] |= 1ull << (b % 64);
    }
    /* no held connection says anything: no line can vote, none is read */
    rc = 0;
    while (n > 0 && (rc = j->src.next(j->src.arg, &l, err)) == 1) {
        key = line_key(&l);
        b = key & (HELD_BITS - 1);
        if (key == 0 || !((held_bits[b / 64] >> (b % 64)) & 1)) {
            continue;
        }
        fit = 0;
        said = false;
        /* the spans of this key: sorted by key, the first by halving */
        lo = 0;
        hi = n;
        while (lo < hi) {
            k = lo + (hi - lo) / 2;
            if (j->spans[k].key < key) {
                lo = k + 1;
            } else {
                hi = k;
            }
        }
        for (i = (uint32_t) lo; i < n && j->spans[i].key == key; i++) {
            v = &j->spans[i];
            /* one comparison per prediction: its spans follow it */
            if (v->lead) {
                said = says_msg_n(l.message, v->msg, v->msg_len);
            }
            if (!said) {
                continue;
            }
            /* utc = local - off within the span */
            lo = l.local - v->hi;
            hi = l.local - v->lo;
            k0 = lo <= OFF_MIN ? 0 : (lo - OFF_MIN + OFF_STEP - 1) / OFF_STEP;
            k1 = hi < OFF_MIN ? -1 : (hi - OFF_MIN) / OFF_STEP;
            if (k1 >= OFF_N) {
                k1 = OFF_N - 1;
            }
            if (k0 <= k1) {
                /* bits k0..k1 (OFF_N < 64) */
                fit |= ((2ull << k1) - 1) & ~((1ull << k0) - 1);
            }
        }
        /* one vote per line and offset, however many connections fit */
        while (fit != 0) {
            votes[__builtin_ctzll(fit)]++;
            fit &= fit - 1;
        }
    }
    if (rc < 0) {
        note_err(j, err);
    }
    best = -1;
    for (k = 0; k < OFF_N; k++) {
        if (votes[k] == 0) {
            continue;
        }
        if (best < 0 || votes[k] > votes[best]
            || (votes[k] == votes[best]
                && absd(OFF_MIN + k * OFF_STEP - j->cfg.host_offset)
                   < absd(OFF_MIN + best * OFF_STEP - j->cfg.host_offset)))
        {
            best = k;
        }
    }
    if (best >= 0) {
        j->st.offset = OFF_MIN + best * OFF_STEP;
        j->st.offset_from = "data";
        j->st.offset_fits = votes[best];
    } else {
        j->st.offset = j->cfg.host_offset;
        j->st.offset_from = "host";
        j->st.offset_fits = 0;
    }
}


/* The offset from the held connections; then the held go out joined. */
static void
calibrate(struct rd_errjoin *j, char err[RD_ERRLEN])
{
    uint32_t  i;

    j->calibrating = false;
    vote(j, err);
    if (j->src.rewind(j->src.arg, err) != 0) {
        note_err(j, err);
        j->eof = true;              /* joined with nothing, but printed */
    }
    for (i = 0; i < j->nheld; i++) {
        join_now(j, &j->held[i].c, j->held[i].rendered, j->held[i].len, err);
    }
    j->nheld = 0;
    j->held_bytes = 0;
}


/* ---- live: connections wait for nginx's lines ------------------------- */

/* The oldest waiting connection is joined with what the log has. */
static void
live_release(struct rd_errjoin *j, char err[RD_ERRLEN])
{
    struct held  *h;

    h = &j->held[j->lhead];
    j->lhead = (j->lhead + 1) % j->cfg.hold_max;
    j->nheld--;
    j->held_bytes -= h->len;
    join_now(j, &h->c, h->rendered, h->len, err);
}


static void
live_hold(struct rd_errjoin *j, const struct rd_errjoin_conn *c,
    char *rendered, size_t len, char err[RD_ERRLEN])
{
    struct held  *h;
    int64_t       end;

    if (rendered == NULL && c->message[0] == '\0' && !c->abnormal) {
        /* nothing to print and no line it could take (match() gives a
         * line only to a connection saying its message, or abnormal):
         * its server counts as captured, no more */
        end = sec_floor(c->ts_end);
        if (end > j->now) {
            j->now = end;
        }
        if (j->min_start == 0 || sec_floor(c->ts_start) < j->min_start) {
            j->min_start = sec_floor(c->ts_start);
        }
        seen_add(j, conn_key(c));
        return;
    }
    while (j->nheld > 0 && (j->nheld == j->cfg.hold_max
                            || j->held_bytes + len > j->cfg.hold_bytes))
    {
        live_release(j, err);       /* the wait is full: the oldest now */
    }
    h = &j->held[(j->lhead + j->nheld) % j->cfg.hold_max];
    j->nheld++;
    h->c = *c;
    h->rendered = rendered;
    h->len = len;
    h->key = conn_key(c);
    j->held_bytes += len;
    if (j->nheld > j->st.held_peak) {
        j->st.held_peak = j->nheld;
    }
}


int
rd_errjoin_poll(struct rd_errjoin *j, rd_usec_t now, char err[RD_ERRLEN])
{
    int64_t  now_s, before;

    if (!j->cfg.live) {
        return 0;
    }
    now_s = sec_floor(now);
    j->again = false;
    advance(j, now_s + 1, err);
    /* nginx writes its line when it reads the close: by the second
     * after the last packet (late ones RD_ERRJOIN_LATE_S on) */
    while (j->nheld > 0 && last_s(&j->held[j->lhead].c) + 2 < now_s) {
        live_release(j, err);
    }
    before = now_s - (int64_t) j->cfg.window_s;
    if (j->nheld > 0
        && sec_floor(j->held[j->lhead].c.ts_start) - 2 < before)
    {
        before = sec_floor(j->held[j->lhead].c.ts_start) - 2;
    }
    expire(j, before);
    return 0;
}


int
rd_errjoin_conn(struct rd_errjoin *j, const struct rd_errjoin_conn *c,
    char *rendered, size_t len, char err[RD_ERRLEN])
{
    struct held  *h;

    if (j->cfg.live) {
        live_hold(j, c, rendered, len, err);
        return 0;
    }
    if (!j->calibrating) {
        join_now(j, c, rendered, len, err);
        return 0;
    }
    if (rendered == NULL && !c->abnormal) {
        /* nothing to print and nothing to vote with */
        seen_add(j, conn_key(c));
        return 0;
    }
    h = &j->held[j->nheld++];
    h->c = *c;
    h->rendered = rendered;
    h->len = len;
    h->key = conn_key(c);
    j->held_bytes += len;
    if (j->nheld > j->st.held_peak) {
        j->st.held_peak = j->nheld;
    }
    if (j->nheld == j->cfg.hold_max || j->held_bytes >= j->cfg.hold_bytes) {
        calibrate(j, err);
    }
    return 0;
}


int
rd_errjoin_finish(struct rd_errjoin *j, rd_usec_t ts_first,
    rd_usec_t ts_last, char err[RD_ERRLEN])
{
    if (j->calibrating) {
        calibrate(j, err);
    }
    j->cap_first = ts_first != 0 ? sec_floor(ts_first) : 0;
    j->cap_last = ts_last != 0 ? sec_floor(ts_last) : 0;
    j->again = false;               /* the last of a followed log */
    while (j->cfg.live && j->nheld > 0) {
        live_release(j, err);
    }
    advance(j, INT64_MAX, err);
    while (j->head < j->tail) {
        drop_oldest(j, false);
    }
    if (j->err[0] != '\0') {
        snprintf(err, RD_ERRLEN, "%s", j->err);
        return -1;
    }
    return 0;
}


struct rd_errjoin *
rd_errjoin_create(const struct rd_errjoin_cfg *cfg,
    const struct rd_errjoin_source *src, const struct rd_errjoin_sink *sink,
    char err[RD_ERRLEN])
{
    struct rd_errjoin  *j;

    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        snprintf(err, RD_ERRLEN, "out of memory");
        return NULL;
    }
    j->cfg = *cfg;
    if (j->cfg.max_lines == 0) {
        j->cfg.max_lines = 1;
    }
    if (j->cfg.hold_max == 0) {
        j->cfg.hold_max = 1;
    }
    j->src = *src;
    j->sink = *sink;
    j->nring = j->cfg.max_lines + 1;
    j->ring = calloc(j->nring, sizeof(*j->ring));
    j->bucket = calloc(BUCKETS, sizeof(*j->bucket));
    j->seen = calloc(SEEN_SLOTS, sizeof(*j->seen));
    j->held = calloc(j->cfg.hold_max, sizeof(*j->held));
    j->spans = calloc(j->cfg.hold_max, sizeof(*j->spans));
    if (j->ring == NULL || j->bucket == NULL || j->seen == NULL
        || j->held == NULL || j->spans == NULL)
    {
        snprintf(err, RD_ERRLEN, "out of memory for the error.log window "
                 "(%u lines)", j->cfg.max_lines);
        rd_errjoin_destroy(j);
        return NULL;
    }
    if (cfg->offset_known) {
        j->st.offset = cfg->offset;
        j->st.offset_from = "option";
    } else if (cfg->live) {
        /* no second pass over a log being written: this host's */
        j->st.offset = cfg->host_offset;
        j->st.offset_from = "host";
    } else {
        j->calibrating = true;
        j->st.offset = cfg->host_offset;
        j->st.offset_from = "host";
    }
    return j;
}


const struct rd_errjoin_stats *
rd_errjoin_stats(const struct rd_errjoin *j)
{
    return &j->st;
}


void
rd_errjoin_offset_str(int64_t off, char buf[8])
{
    int64_t  a;

    a = absd(off);
    snprintf(buf, 8, "%c%02d%02d", off < 0 ? '-' : '+',
             (int) (a / 3600 % 100), (int) (a / 60 % 60));
}


void
rd_errjoin_destroy(struct rd_errjoin *j)
{
    uint32_t  i;

    if (j == NULL) {
        return;
    }
    for (i = 0; i < j->nheld; i++) {
        free(j->held[(j->lhead + i) % j->cfg.hold_max].rendered);
    }
    free(j->held);
    free(j->spans);
    free(j->seen);
    free(j->bucket);
    free(j->ring);
    free(j);
}
