/*
 * evidence: per-connection packet rings over one circular byte pool, and
 * the directory of incident files (see include/rstdiag/evidence.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rstdiag/decode.h"
#include "rstdiag/evidence.h"
#include "rstdiag/legs.h"
#include "rstdiag/pcapngw.h"

/*
 * A record in the pool: this header, then caplen bytes, padded to 8.  A
 * record never wraps: when one does not fit before the pool's end, the
 * rest of the pool is skipped (marked by len 0 when a header fits there).
 */
struct rec {
    uint32_t        len;                /* header + data, padded; 0: skip
                                         * to the pool's end */
    uint32_t        slot;
    uint32_t        gen;                /* the slot's generation then */
    uint32_t        caplen;
    uint32_t        wirelen;
    int32_t         dlt;
    int64_t         ts;
    uint16_t        sport;
    uint8_t         flags;
    uint8_t         pad;
    uint32_t        seq;                /* the slot's count then (low 32
                                         * bits): its place in the ring */
};

#define REC_HDR     ((uint64_t) sizeof(struct rec))
#define ALIGN8(n)   (((n) + 7u) & ~(uint64_t) 7u)

/* The first positions of a slot live in the slot itself: a connection
 * of one or two packets (a SYN flood's) never touches its pos[] row, so
 * that row stays unreserved memory, not resident. */
#define EV_INLINE   2u

struct slot {
    uint64_t        first[EV_INLINE];   /* positions 0 and 1 */
    uint32_t        gen;                /* bumped at each reset */
    uint32_t        ninh;               /* positions in inh[] */
    uint64_t        count;              /* packets added since */
    uint32_t        from_slot;          /* inh[]: that slot's packets */
    uint32_t        from_gen;           /* ... of that generation */
    uint64_t        inh_omitted;        /* ... it had not kept */
};

struct rd_evstore {
    const struct rd_alloc  *alloc;
    uint8_t                *pool;
    uint64_t                size;       /* of pool, a multiple of 8 */
    uint64_t                head;       /* next write, monotonic */
    uint64_t                tail;       /* oldest valid record */
    uint32_t                nslots;
    uint32_t                max;        /* packets per slot */
    uint32_t                nfirst;     /* ... of which the first ones */
    struct slot            *slots;
    uint64_t               *pos;        /* nslots x max positions */
    uint64_t               *inh;        /* nslots x max: positions of an
                                         * upstream leg finished before
                                         * its client leg */
    struct rd_evstore_stats stats;
};


struct rd_evstore *
rd_evstore_create(const struct rd_alloc *a, uint32_t nslots,
    uint32_t max_packets, uint64_t pool_bytes)
{
    struct rd_evstore  *s;

    if (nslots == 0 || max_packets == 0 || pool_bytes < 4096) {
        return NULL;
    }
    s = a->calloc(a->ctx, 1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->alloc = a;
    s->size = pool_bytes & ~(uint64_t) 7u;
    s->nslots = nslots;
    s->max = max_packets;
    /* a quarter for the first packets (SYN, SYN/ACK, ACK, the request),
     * the rest a ring of the latest (the close and what led to it) */
    s->nfirst = max_packets >= 4 ? max_packets / 4 : 0;
    s->pool = rd_big_calloc(a, (size_t) s->size, 1);
    s->slots = rd_big_calloc(a, nslots, sizeof(struct slot));
    s->pos = rd_big_calloc(a, (size_t) nslots * max_packets,
                           sizeof(uint64_t));
    s->inh = rd_big_calloc(a, (size_t) nslots * max_packets,
                           sizeof(uint64_t));
    s->stats.pool_bytes = s->size;
    if (s->pool == NULL || s->slots == NULL || s->pos == NULL
        || s->inh == NULL)
    {
        rd_evstore_destroy(s);
        return NULL;
    }
    return s;
}


void
rd_evstore_destroy(struct rd_evstore *s)
{
    if (s == NULL) {
        return;
    }
    rd_big_free(s->alloc, s->pool, (size_t) s->size, 1);
    rd_big_free(s->alloc, s->slots, s->nslots, sizeof(struct slot));
    rd_big_free(s->alloc, s->pos, (size_t) s->nslots * s->max,
                sizeof(uint64_t));
    rd_big_free(s->alloc, s->inh, (size_t) s->nslots * s->max,
                sizeof(uint64_t));
    s->alloc->free(s->alloc->ctx, s);
}


/* where the i-th position of slot is kept */
static inline uint64_t *
pos_at(struct rd_evstore *s, uint32_t slot, uint64_t i)
{
    return i < EV_INLINE ? &s->slots[slot].first[i]
                         : &s->pos[(uint64_t) slot * s->max + i];
}


static inline uint64_t
pos_get(const struct rd_evstore *s, uint32_t slot, uint64_t i)
{
    return i < EV_INLINE ? s->slots[slot].first[i]
                         : s->pos[(uint64_t) slot * s->max + i];
}


/* the header of the record at pos; false when pos is a skip to the
 * pool's end */
static bool
rec_at(const struct rd_evstore *s, uint64_t pos, struct rec *r)
{
    uint64_t  off = pos % s->size;

    if (s->size - off < REC_HDR) {
        return false;
    }
    memcpy(r, s->pool + off, sizeof(*r));
    return r->len != 0;
}


/* forget the oldest record (or skip) */
static void
reclaim_one(struct rd_evstore *s)
{
    struct rec  r;

    if (!rec_at(s, s->tail, &r)) {
        s->tail += s->size - s->tail % s->size;
        return;
    }
    /* a loss only when its connection is still tracked and the packet
     * still in its ring: one of the first nfirst, or one of the latest
     * (max - nfirst).  Told from the slot's count alone, so that a
     * reclaim reads no more than the slot, not its 512-byte pos[] row
     * (a cache miss per packet stored once the pool is full) */
    if (r.slot < s->nslots) {
        const struct slot  *sl = &s->slots[r.slot];

        if (sl->gen == r.gen
            && (r.seq < s->nfirst
                || (uint32_t) sl->count - r.seq <= s->max - s->nfirst))
        {
            s->stats.reclaimed++;
        }
    }
    s->tail += r.len;
}


void
rd_evstore_add(struct rd_evstore *s, uint32_t slot, int dlt, rd_usec_t ts,
    const uint8_t *p, uint32_t caplen, uint32_t wirelen, uint16_t sport,
    uint8_t flags)
{
    struct rec    r;
    struct slot  *sl;
    uint64_t      len, off, start, i;

    if (slot >= s->nslots) {
        return;
    }
    len = ALIGN8(REC_HDR + caplen);
    if (len > s->size) {
        s->stats.too_big++;
        return;
    }
    start = s->head;
    off = start % s->size;
    if (s->size - off < len) {
        if (s->size - off >= REC_HDR) {
            memset(&r, 0, sizeof(r));
            memcpy(s->pool + off, &r, sizeof(r));   /* len 0: skip */
        }
        start += s->size - off;
        off = 0;
    }
    /* room for [start, start + len): the oldest records go */
    while (start + len - s->tail > s->size) {
        if (s->tail >= s->head) {
            s->tail = start;        /* all gone */
            break;
        }
        reclaim_one(s);
    }
    if (s->tail > start) {
        s->tail = start;            /* only skips lay between */
    }
    if (s->tail == s->head) {
        s->tail = start;
    }
    memset(&r, 0, sizeof(r));
    r.len = (uint32_t) len;
    r.slot = slot;
    sl = &s->slots[slot];
    r.gen = sl->gen;
    r.caplen = caplen;
    r.wirelen = wirelen;
    r.dlt = dlt;
    r.ts = ts;
    r.sport = sport;
    r.flags = flags;
    i = sl->count < s->nfirst ? sl->count
        : s->nfirst + (sl->count - s->nfirst) % (s->max - s->nfirst);
    r.seq = (uint32_t) sl->count;
    memcpy(s->pool + off, &r, sizeof(r));
    memcpy(s->pool + off + REC_HDR, p, caplen);
    s->head = start + len;

    *pos_at(s, slot, i) = start;
    sl->count++;
    s->stats.stored++;
}


void
rd_evstore_reset(struct rd_evstore *s, uint32_t slot)
{
    if (slot < s->nslots) {
        s->slots[slot].gen++;
        s->slots[slot].count = 0;
        s->slots[slot].ninh = 0;
    }
}


uint64_t
rd_evstore_count(const struct rd_evstore *s, uint32_t slot)
{
    return slot < s->nslots ? s->slots[slot].count : 0;
}


uint32_t
rd_evstore_max_packets(const struct rd_evstore *s)
{
    return s->max;
}


/* the packet at position pos into *e, false when it was reclaimed */
static bool
take(const struct rd_evstore *s, uint32_t slot, uint32_t gen, uint64_t pos,
    struct rd_evpkt *e)
{
    struct rec  r;

    if (pos < s->tail || pos >= s->head || !rec_at(s, pos, &r)
        || r.slot != slot || r.gen != gen)
    {
        return false;
    }
    e->data = s->pool + pos % s->size + REC_HDR;
    e->caplen = r.caplen;
    e->wirelen = r.wirelen;
    e->ts = r.ts;
    e->dlt = r.dlt;
    e->sport = r.sport;
    e->flags = r.flags;
    e->mark = false;
    return true;
}


/* the slot's ring positions in arrival order into out[0..max) */
static size_t
ring_positions(const struct rd_evstore *s, uint32_t slot, uint64_t *out)
{
    uint64_t         count, j, first, ring;
    size_t           n;

    count = s->slots[slot].count;
    ring = s->max - s->nfirst;
    n = 0;
    for (j = 0; j < count && j < s->nfirst; j++) {
        out[n++] = pos_get(s, slot, j);
    }
    first = count > s->nfirst + ring ? count - ring : s->nfirst;
    for (j = first; j < count; j++) {
        out[n++] = pos_get(s, slot, s->nfirst + (j - s->nfirst) % ring);
    }
    return n;
}


size_t
rd_evstore_collect(const struct rd_evstore *s, uint32_t slot,
    struct rd_evpkt *out, size_t max, uint64_t *omitted)
{
    uint64_t         count, j, first, ring;
    size_t           n;

    if (omitted != NULL) {
        *omitted = 0;
    }
    if (slot >= s->nslots) {
        return 0;
    }
    count = s->slots[slot].count;
    ring = s->max - s->nfirst;
    n = 0;
    for (j = 0; j < count && j < s->nfirst && n < max; j++) {
        n += take(s, slot, s->slots[slot].gen, pos_get(s, slot, j), &out[n]);
    }
    first = count > s->nfirst + ring ? count - ring : s->nfirst;
    for (j = first; j < count && n < max; j++) {
        n += take(s, slot, s->slots[slot].gen,
                  pos_get(s, slot, s->nfirst + (j - s->nfirst) % ring),
                  &out[n]);
    }
    if (omitted != NULL) {
        *omitted = count - n;
    }
    return n;
}


void
rd_evstore_inherit(struct rd_evstore *s, uint32_t from, uint32_t to)
{
    struct slot  *t;
    uint64_t      count;

    if (from >= s->nslots || to >= s->nslots || from == to) {
        return;
    }
    t = &s->slots[to];
    count = s->slots[from].count;
    t->ninh = (uint32_t) ring_positions(s, from,
                                        &s->inh[(uint64_t) to * s->max]);
    t->from_slot = from;
    t->from_gen = s->slots[from].gen;
    t->inh_omitted = count - t->ninh;
}


bool
rd_evstore_has_inherited(const struct rd_evstore *s, uint32_t slot)
{
    return slot < s->nslots && s->slots[slot].ninh > 0;
}


size_t
rd_evstore_collect_inherited(const struct rd_evstore *s, uint32_t slot,
    struct rd_evpkt *out, size_t max, uint64_t *omitted)
{
    const struct slot  *t;
    const uint64_t     *pos;
    size_t              n, j;

    if (omitted != NULL) {
        *omitted = 0;
    }
    if (slot >= s->nslots) {
        return 0;
    }
    t = &s->slots[slot];
    pos = &s->inh[(uint64_t) slot * s->max];
    n = 0;
    for (j = 0; j < t->ninh && n < max; j++) {
        n += take(s, t->from_slot, t->from_gen, pos[j], &out[n]);
    }
    if (omitted != NULL) {
        *omitted = t->inh_omitted + (t->ninh - n);
    }
    return n;
}


const struct rd_evstore_stats *
rd_evstore_stats(const struct rd_evstore *s)
{
    return &s->stats;
}


void
rd_evstore_validate_(const struct rd_evstore *s)
{
    struct rec  r;
    uint64_t    p;

    rd_require(s->tail <= s->head);
    rd_require(s->head - s->tail <= s->size);
    for (p = s->tail; p < s->head; ) {
        if (!rec_at(s, p, &r)) {
            p += s->size - p % s->size;
            continue;
        }
        rd_require(r.len >= REC_HDR && r.len % 8 == 0);
        rd_require(p % s->size + r.len <= s->size);
        rd_require(ALIGN8(REC_HDR + r.caplen) == r.len);
        rd_require(r.slot < s->nslots);
        p += r.len;
    }
    rd_require(p == s->head);
}


/* ---- the directory ---------------------------------------------------- */

struct evfile {
    char            name[RD_EVIDENCE_NAME_MAX];
    uint64_t        size;
};

struct rd_evdir {
    int                     dfd;
    char                   *path;
    uint32_t                max_files;
    uint64_t                max_bytes;
    uint32_t                snaplen;
    struct evfile          *files;      /* ring of max_files, oldest at
                                         * first */
    uint32_t                first;
    bool                    warned;
    struct rd_evdir_stats   stats;
    char                    out[4096 + RD_EVIDENCE_NAME_MAX];
    char                    iobuf[65536];   /* each file's stdio buffer:
                                             * none allocated per file */
};


int
rd_evdir_check(struct rd_evdir *d, char err[RD_ERRLEN])
{
    struct stat  st;

    if (fstat(d->dfd, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, RD_ERRLEN, "--evidence %s: not a directory", d->path);
        return -1;
    }
    if (faccessat(d->dfd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
        snprintf(err, RD_ERRLEN, "--evidence %s: cannot write there: %s",
                 d->path, strerror(errno));
        return -1;
    }
    return 0;
}


struct rd_evdir *
rd_evdir_open(const char *path, uint32_t max_files, uint64_t max_bytes,
    uint32_t snaplen, char err[RD_ERRLEN])
{
    struct rd_evdir  *d;

    if (strlen(path) >= 4096) {
        snprintf(err, RD_ERRLEN, "--evidence: directory name too long");
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL || max_files == 0
        || (d->files = calloc(max_files, sizeof(struct evfile))) == NULL
        || (d->path = strdup(path)) == NULL)
    {
        snprintf(err, RD_ERRLEN, "--evidence %s: out of memory", path);
        if (d != NULL) {
            free(d->files);
        }
        free(d);
        return NULL;
    }
    d->max_files = max_files;
    d->max_bytes = max_bytes;
    d->snaplen = snaplen;
    d->dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->dfd < 0) {
        snprintf(err, RD_ERRLEN, "--evidence %s: %s", path, strerror(errno));
        rd_evdir_close(d);
        return NULL;
    }
    if (rd_evdir_check(d, err) != 0) {
        rd_evdir_close(d);
        return NULL;
    }
    return d;
}


void
rd_evdir_close(struct rd_evdir *d)
{
    if (d == NULL) {
        return;
    }
    if (d->dfd >= 0) {
        close(d->dfd);
    }
    free(d->files);
    free(d->path);
    free(d);
}


int
rd_evdir_give(struct rd_evdir *d, uid_t uid, gid_t gid, char err[RD_ERRLEN])
{
    struct stat  st;

    if (fstat(d->dfd, &st) != 0) {
        snprintf(err, RD_ERRLEN, "--evidence %s: %s", d->path,
                 strerror(errno));
        return -1;
    }
    /* one USER can write already is left alone; root's own writable
     * directory, not a shared one like /tmp, is handed over as --output
     * is; any other must be made writable by its owner (the check after
     * the drop says so) */
    if ((st.st_uid == uid && (st.st_mode & S_IWUSR))
        || (st.st_gid == gid && (st.st_mode & S_IWGRP))
        || (st.st_mode & S_IWOTH))
    {
        return 0;
    }
    if (st.st_uid == 0 && uid != 0 && (st.st_mode & S_IWUSR)
        && !(st.st_mode & S_ISVTX) && fchown(d->dfd, uid, gid) != 0)
    {
        snprintf(err, RD_ERRLEN, "-Z: cannot give the --evidence directory "
                 "%s to uid %u: %s", d->path, (unsigned) uid,
                 strerror(errno));
        return -1;
    }
    return 0;
}


const struct rd_evdir_stats *
rd_evdir_stats(const struct rd_evdir *d)
{
    return &d->stats;
}


/* a character safe in a file name: [A-Za-z0-9._-] */
static char
safe(char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
        || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_')
    {
        return ch;
    }
    return '_';
}


void
rd_evdir_name(const struct rd_conn *c, const struct rd_verdict *v,
    rd_usec_t ts, char name[RD_EVIDENCE_NAME_MAX])
{
    char        ep[RD_EP_STRLEN], when[32], addr[RD_EP_STRLEN];
    struct tm   tm;
    time_t      sec;
    size_t      i, j;
    int         side;
    const char *code, *sep;

    sec = (time_t) (ts / 1000000);
    if (ts < 0 || gmtime_r(&sec, &tm) == NULL) {
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = 70;
        tm.tm_mday = 1;
        ts = 0;
    }
    snprintf(when, sizeof(when), "%04d%02d%02dT%02d%02d%02d.%06ld",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long) (ts % 1000000));
    /* the client for a client leg, the server (the upstream) otherwise */
    side = c->leg == RD_LEG_CLIENT ? RD_CONN_CLIENT : RD_CONN_SERVER;
    rd_ep_format(ep, sizeof(ep), c->af, c->ep[side].addr, c->ep[side].port);
    /* 1.2.3.4:80 -> 1.2.3.4_80, [2001:db8::1]:80 -> 2001.db8..1_80 */
    sep = strrchr(ep, ':');
    for (i = j = 0; ep[i] != '\0' && j + 1 < sizeof(addr); i++) {
        if (ep[i] == '[' || ep[i] == ']') {
            continue;
        }
        addr[j++] = &ep[i] == sep ? '_' : ep[i] == ':' ? '.' : safe(ep[i]);
    }
    addr[j] = '\0';
    code = rd_tok2str(rd_verdict_names, v->code, "unknown");
    snprintf(name, RD_EVIDENCE_NAME_MAX, "rstdiag-%s-%.48s-%s.pcapng",
             when, code, addr);
    for (i = 0; name[i] != '\0'; i++) {
        name[i] = safe(name[i]);
    }
}


/* text for a pcapng comment: printable ASCII only (the message may quote
 * packet bytes) */
static void
clean(char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e) {
            *s = '?';
        }
    }
}


static void
remove_oldest(struct rd_evdir *d)
{
    struct evfile  *e = &d->files[d->first];

    if (unlinkat(d->dfd, e->name, 0) != 0 && errno != ENOENT
        && !d->warned)
    {
        fprintf(stderr, "rstdiag: warning: --evidence %s: cannot remove "
                "%s: %s\n", d->path, e->name, strerror(errno));
        d->warned = true;
    }
    d->stats.bytes -= e->size;
    d->stats.kept--;
    d->stats.removed++;
    d->first = (d->first + 1) % d->max_files;
}


/* the deciding packet's comment, and the section's */
static void
comments(const struct rd_conn *c, const struct rd_conn *peer,
    const struct rd_verdict *v, size_t n, uint64_t omitted, char *pkt,
    size_t pkt_size, char *shb, size_t shb_size)
{
    char                           a[RD_EP_STRLEN], b[RD_EP_STRLEN];
    char                           pa[RD_EP_STRLEN], pb[RD_EP_STRLEN];
    const struct rd_verdict_rule  *cause;
    const char                    *code, *msg, *leg;

    code = rd_tok2str(rd_verdict_names, v->code, "unknown");
    msg = v->message != NULL && v->message[0] != '\0' ? v->message
                                                      : "nothing";
    cause = v->cause != RD_V_NONE ? rd_verdict_rule(v->cause) : NULL;
    snprintf(pkt, pkt_size, "rstdiag: %s (%s, blame %s): nginx logs "
             "%s%s%s%s%s%s%s%s%s%s", code,
             rd_tok2str(rd_severity_names, v->severity, "?"),
             rd_tok2str(rd_blame_names, v->rule != NULL ? v->rule->blame : 0,
                        "?"),
             v->level != NULL ? "[" : "", v->level != NULL ? v->level : "",
             v->level != NULL ? "] " : "", msg,
             cause != NULL ? "; caused by the upstream leg's " : "",
             cause != NULL ? rd_tok2str(rd_verdict_names, v->cause, "?") : "",
             /* the client leg's own line is the upstream leg's */
             cause != NULL && cause->message != NULL ? " (nginx logs [" : "",
             cause != NULL && cause->message != NULL ? cause->level : "",
             cause != NULL && cause->message != NULL ? "] " : "",
             cause != NULL && cause->message != NULL ? cause->message : "");
    if (cause != NULL && cause->message != NULL) {
        snprintf(pkt + strlen(pkt), pkt_size - strlen(pkt), ")");
    }
    rd_ep_format(a, sizeof(a), c->af, c->ep[0].addr, c->ep[0].port);
    rd_ep_format(b, sizeof(b), c->af, c->ep[1].addr, c->ep[1].port);
    leg = c->leg == RD_LEG_UPSTREAM ? "upstream"
          : c->leg == RD_LEG_CLIENT ? "client" : "unknown";
    if (peer != NULL) {
        rd_ep_format(pa, sizeof(pa), peer->af, peer->ep[0].addr,
                     peer->ep[0].port);
        rd_ep_format(pb, sizeof(pb), peer->af, peer->ep[1].addr,
                     peer->ep[1].port);
    }
    snprintf(shb, shb_size, "%s; connection %" PRIu64 " (%s leg) %s -> %s;"
             " %zu packets here, %" PRIu64 " more not kept (--evidence-max-"
             "packets, --evidence-pool-bytes)%s%s%s%s%s%s",
             pkt, c->id, leg, a, b, n, omitted,
             peer != NULL ? "; with its client leg " : "",
             peer != NULL ? pa : "", peer != NULL ? " -> " : "",
             peer != NULL ? pb : "",
             v->note != NULL ? "; " : "", v->note != NULL ? v->note : "");
    clean(pkt);
    clean(shb);
}


const char *
rd_evdir_write(struct rd_evdir *d, const struct rd_conn *c,
    const struct rd_conn *peer, const struct rd_verdict *v,
    const struct rd_evpkt *pk, size_t n, uint64_t omitted)
{
    struct rd_pcapngw   w;
    struct evfile      *e;
    char                name[RD_EVIDENCE_NAME_MAX], try[RD_EVIDENCE_NAME_MAX];
    char                pkt[512], shb[1536];
    const char         *dot;
    rd_usec_t           ts;
    FILE               *f;
    size_t              i;
    int                 fd, k, ifid;
    bool                bad;

    ts = c->close_ts != 0 ? c->close_ts : c->ts_end;
    rd_evdir_name(c, v, ts, name);
    /* two incidents in one microsecond at one address: -2, -3, ... */
    fd = -1;
    for (k = 1; k < 100 && fd < 0; k++) {
        if (k == 1) {
            memcpy(try, name, sizeof(try));
        } else {
            dot = strrchr(name, '.');
            snprintf(try, sizeof(try), "%.*s-%d%s",
                     (int) (dot - name) < RD_EVIDENCE_NAME_MAX - 12
                     ? (int) (dot - name) : RD_EVIDENCE_NAME_MAX - 12,
                     name, k, dot);
        }
        fd = openat(d->dfd, try, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
                    | O_NOFOLLOW, 0644);
        if (fd < 0 && errno != EEXIST) {
            break;
        }
    }
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f != NULL) {
        (void) setvbuf(f, d->iobuf, _IOFBF, sizeof(d->iobuf));
    }
    if (f == NULL) {
        if (!d->warned) {
            fprintf(stderr, "rstdiag: warning: --evidence %s: cannot "
                    "create %s: %s\n", d->path, try, strerror(errno));
            d->warned = true;
        }
        if (fd >= 0) {
            close(fd);
            (void) unlinkat(d->dfd, try, 0);
        }
        d->stats.errors++;
        return NULL;
    }

    comments(c, peer, v, n, omitted, pkt, sizeof(pkt), shb, sizeof(shb));
    bad = rd_pcapngw_begin(&w, f, shb) != 0;
    for (i = 0; i < n && !bad; i++) {
        ifid = rd_pcapngw_iface(&w, rd_pcapngw_linktype(pk[i].dlt),
                                d->snaplen);
        if (ifid < 0) {
            continue;               /* a ninth link type in one incident */
        }
        bad = rd_pcapngw_packet(&w, ifid, pk[i].ts, pk[i].data,
                                pk[i].caplen, pk[i].wirelen,
                                pk[i].mark ? pkt : NULL) != 0;
    }
    bad = rd_pcapngw_end(&w) != 0 || bad;
    if (fclose(f) != 0 || bad) {
        if (!d->warned) {
            fprintf(stderr, "rstdiag: warning: --evidence %s: error writing "
                    "%s\n", d->path, try);
            d->warned = true;
        }
        (void) unlinkat(d->dfd, try, 0);
        d->stats.errors++;
        return NULL;
    }

    if (d->stats.kept == d->max_files) {
        remove_oldest(d);
    }
    e = &d->files[(d->first + d->stats.kept) % d->max_files];
    memcpy(e->name, try, sizeof(e->name));
    e->size = w.bytes;
    d->stats.kept++;
    d->stats.bytes += w.bytes;
    d->stats.files++;
    while (d->stats.kept > 0 && d->stats.bytes > d->max_bytes) {
        remove_oldest(d);           /* the new one too, when alone too big */
    }
    if (d->stats.kept == 0 || strcmp(d->files[(d->first + d->stats.kept - 1)
                                              % d->max_files].name, try) != 0)
    {
        return NULL;
    }
    snprintf(d->out, sizeof(d->out), "%s%s%s", d->path,
             d->path[0] != '\0' && d->path[strlen(d->path) - 1] == '/'
             ? "" : "/", try);
    return d->out;
}
