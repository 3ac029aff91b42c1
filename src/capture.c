/*
 * capture: libpcap handles, offline (merged by timestamp) and live.
 *
 * Every file is opened by libpcap, which validates it and words the
 * errors.  Classic pcap and pcapng files in regular files are then read
 * by pcapfile and pcapngfile instead of pcap_next_ex(): large read(2)s
 * into one buffer and packets handed out in place, where libpcap copies
 * each packet twice (stdio's 4 KiB reads, then its own buffer): about 670
 * instructions a packet for the reading there, 166 here (callgrind, 20 MB
 * synthetic capture).  Pipes and RSTDIAG_READER=libpcap stay on libpcap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rstdiag/capture.h"
#include "rstdiag/decode.h"
#include "rstdiag/limits.h"
#include "rstdiag/pcapfile.h"
#include "rstdiag/pcapngfile.h"

/*
 * Bytes asked of each read(2) of a classic pcap file.  Measured on a
 * 1 GiB capture: 256 KiB to 4 MiB blocks cost the same CPU, half that of
 * mmap(2) windows (page faults, unmapping); the buffer is not the page
 * cache, so peak RSS stays flat whatever the file size.
 */
#define RD_CAPTURE_BLOCK   (1024u * 1024u)

/* pcapng blocks before the first packet that we read again at open */
#define RD_CAPTURE_NG_HEAD (1024u * 1024u)

/* RSTDIAG_READER=libpcap: read every file with pcap_next_ex() */
#define RD_CAPTURE_ENV     "RSTDIAG_READER"

struct offline_file {
    pcap_t                     *p;
    struct bpf_program          prog;       /* the filter, if has_prog */
    bool                        has_prog;
    bool                        own;        /* read by pcapfile */
    bool                        ng;         /* by pcapngfile, if own */
    bool                        ready;      /* pkt holds a packet */
    bool                        done;
    int                         fd;         /* libpcap's, if own */
    uint64_t                    start;      /* offset of the first record */
    uint64_t                    off;        /* offset of the next read */
    uint64_t                    size;
    uint8_t                    *buf;
    struct rd_pcapfile          pf;
    struct rd_pcapng            png;
    struct rd_pcapfile_rd       rd;
    struct rd_capture_pkt       pkt;
};

struct rd_offline {
    size_t                      n;
    struct offline_file        *f;
    struct rd_capture_input    *in;
};


/*
 * Compile filter and set it on p.  With keep, the program stays in *keep
 * (for pcap_offline_filter(); the caller frees it) and *kept says so.
 */
static int
set_filter(pcap_t *p, const char *filter, char *why, size_t size,
    struct bpf_program *keep, bool *kept)
{
    struct bpf_program  prog;

    if (kept != NULL) {
        *kept = false;
    }
    if (filter == NULL || filter[0] == '\0') {
        return 0;
    }
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(why, size, "bad filter expression: %s", pcap_geterr(p));
        return -1;
    }
    if (pcap_setfilter(p, &prog) != 0) {
        snprintf(why, size, "cannot set filter: %s", pcap_geterr(p));
        pcap_freecode(&prog);
        return -1;
    }
    if (keep == NULL) {
        pcap_freecode(&prog);
        return 0;
    }
    *keep = prog;
    *kept = true;
    return 0;
}


/* The classic pcap part of own_open(): the file header ends at pos. */
static bool
own_open_pcap(struct offline_file *f, int dlt, off_t pos)
{
    uint8_t  hdr[RD_PCAPFILE_HDRLEN];

    if (pos < (off_t) RD_PCAPFILE_HDRLEN
        || pread(f->fd, hdr, sizeof(hdr), pos - (off_t) sizeof(hdr))
           != (ssize_t) sizeof(hdr)
        || rd_pcapfile_header(&f->pf, hdr, sizeof(hdr), dlt) != 0)
    {
        return false;
    }
    if (f->pf.swapped != (pcap_is_swapped(f->p) == 1)
        || f->pf.major != pcap_major_version(f->p)
        || f->pf.minor != pcap_minor_version(f->p)
        || (int) f->pf.snapshot != pcap_snapshot(f->p))
    {
        return false;
    }
    f->buf = malloc(RD_CAPTURE_BLOCK + rd_pcapfile_rd_min(&f->pf));
    if (f->buf == NULL) {
        return false;
    }
    rd_pcapfile_rd_init(&f->rd, f->buf,
                        RD_CAPTURE_BLOCK + rd_pcapfile_rd_min(&f->pf));
    return true;
}


/*
 * The pcapng part of own_open(): libpcap read the file at fd up to pos,
 * the end of the first interface block.  Read those bytes again and
 * take the file if they say what libpcap found (the section must start
 * at offset 0: standard input moved into a file stays on libpcap).
 */
static bool
own_open_ng(struct offline_file *f, int dlt, off_t pos)
{
    uint8_t  *head;
    size_t    used, cap;
    bool      ok;

    if (pos <= 0 || (uint64_t) pos > RD_CAPTURE_NG_HEAD) {
        return false;               /* huge blocks first: not worth it */
    }
    head = malloc((size_t) pos);
    if (head == NULL) {
        return false;
    }
    used = 0;
    ok = pread(f->fd, head, (size_t) pos, 0) == (ssize_t) pos
         && rd_pcapng_header(&f->png, head, (size_t) pos, dlt, &used) == 0
         && used == (size_t) pos
         && f->png.swapped == (pcap_is_swapped(f->p) == 1)
         && f->png.major == pcap_major_version(f->p)
         && f->png.minor == pcap_minor_version(f->p)
         && (int) f->png.snapshot == pcap_snapshot(f->p);
    free(head);
    if (!ok) {
        rd_pcapng_free(&f->png);
        return false;
    }
    /* room for the largest block, which is mostly never touched: reads
     * stay RD_CAPTURE_BLOCK long (own_fill()) */
    cap = RD_CAPTURE_BLOCK + rd_pcapng_rd_min(&f->png);
    f->buf = malloc(cap);
    if (f->buf == NULL) {
        rd_pcapng_free(&f->png);
        return false;
    }
    rd_pcapfile_rd_init(&f->rd, f->buf, cap);
    f->ng = true;
    return true;
}


/*
 * Read f ourselves if libpcap opened it as a classic pcap or a pcapng
 * file and it is a regular file.  Pipes stay on libpcap: stdio has read ahead of the
 * header, and those bytes cannot be had back.  A regular file can be
 * read from the offset libpcap's stream is at (ftello()), whatever stdio
 * buffered, so standard input redirected from a file qualifies too.
 * Anything unexpected (our header reading disagrees with libpcap's, no
 * memory) leaves the file to libpcap: false.
 */
static bool
own_open(struct offline_file *f, int dlt)
{
    FILE        *fp;
    struct stat  st;
    off_t        pos;

    fp = pcap_file(f->p);
    if (fp == NULL) {
        return false;
    }
    f->fd = fileno(fp);
    if (f->fd < 0 || fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        return false;
    }
    pos = ftello(fp);
    if (pcap_major_version(f->p) == 1) {
        /* pcapng: classic files are 2.x, or DG/UX's 543.0 */
        if (!own_open_ng(f, dlt, pos)) {
            return false;
        }
    } else if (!own_open_pcap(f, dlt, pos)) {
        return false;
    }
    f->start = (uint64_t) pos;
    f->off = (uint64_t) pos;
    f->own = true;
    (void) posix_fadvise(f->fd, pos, 0, POSIX_FADV_SEQUENTIAL);
    return true;
}


/* libpcap's "unknown file format" is terse: say what the user needs. */
static const char *
explain_open_error(const char *e)
{
    if (strstr(e, "unknown file format") != NULL) {
        return "not a pcap or pcapng capture (unknown file format)";
    }
    return e;
}


struct rd_offline *
rd_offline_open(const char *const *names, size_t n, const char *filter,
    char err[RD_ERRLEN])
{
    struct rd_offline  *o;
    char                ebuf[PCAP_ERRBUF_SIZE], why[RD_ERRLEN];
    struct stat         st;
    size_t              i;
    int                 dlt;
    const char         *env;
    bool                own;

    o = calloc(1, sizeof(*o));
    if (o == NULL) {
        snprintf(err, RD_ERRLEN, "out of memory");
        return NULL;
    }
    o->n = n;
    o->f = calloc(n ? n : 1, sizeof(*o->f));
    o->in = calloc(n ? n : 1, sizeof(*o->in));
    if (o->f == NULL || o->in == NULL) {
        snprintf(err, RD_ERRLEN, "out of memory");
        rd_offline_close(o);
        return NULL;
    }
    env = getenv(RD_CAPTURE_ENV);
    own = env == NULL || strcmp(env, "libpcap") != 0;
    for (i = 0; i < n; i++) {
        o->f[i].fd = -1;
        o->in[i].name = names[i];
        if (strcmp(names[i], "-") != 0 && stat(names[i], &st) == 0
            && S_ISDIR(st.st_mode))
        {
            snprintf(err, RD_ERRLEN, "%s: is a directory", names[i]);
            rd_offline_close(o);
            return NULL;
        }
        ebuf[0] = '\0';
        o->f[i].p = pcap_open_offline_with_tstamp_precision(names[i],
                        PCAP_TSTAMP_PRECISION_MICRO, ebuf);
        if (o->f[i].p == NULL) {
            /* libpcap prefixes some messages with the file name */
            const char  *e = ebuf;
            size_t       len = strlen(names[i]);

            if (strncmp(e, names[i], len) == 0 && e[len] == ':') {
                e += len + 1;
                while (*e == ' ') {
                    e++;
                }
            }
            snprintf(err, RD_ERRLEN, "%s: %s", names[i],
                     explain_open_error(e));
            rd_offline_close(o);
            return NULL;
        }
        dlt = pcap_datalink(o->f[i].p);
        o->in[i].dlt = dlt;
        o->f[i].pkt.dlt = dlt;
        o->f[i].pkt.input = i;
        if (!rd_decode_dlt_supported(dlt)) {
            const char  *nm = pcap_datalink_val_to_name(dlt);

            snprintf(err, RD_ERRLEN, "%s: unsupported link type %s (%d)",
                     names[i], nm ? nm : "unknown", dlt);
            rd_offline_close(o);
            return NULL;
        }
        if (set_filter(o->f[i].p, filter, why, sizeof(why), &o->f[i].prog,
                       &o->f[i].has_prog) != 0)
        {
            snprintf(err, RD_ERRLEN, "%s: %s", names[i], why);
            rd_offline_close(o);
            return NULL;
        }
        if (strcmp(names[i], "-") != 0 && stat(names[i], &st) == 0
            && S_ISREG(st.st_mode))
        {
            o->f[i].size = (uint64_t) st.st_size;
        }
        if (own) {
            (void) own_open(&o->f[i], dlt);
        }
    }
    return o;
}


/* Add the next block of file f to its buffer; -1 and err on an error. */
static int
own_fill(struct offline_file *f, char err[RD_ERRLEN])
{
    uint8_t  *p;
    size_t    n;
    ssize_t   r;

    rd_pcapfile_rd_space(&f->rd, &p, &n);
    if (f->ng) {
        /* the pcapng buffer has room for a 16 MiB block: reading all of
         * it each time would make it resident */
        n = RD_MIN(n, RD_CAPTURE_BLOCK);
    }
    do {
        r = pread(f->fd, p, n, (off_t) f->off);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        /* libpcap's words for a failed fread() */
        snprintf(err, RD_ERRLEN, "error reading dump file: %s",
                 strerror(errno));
        return -1;
    }
    if (r == 0) {
        rd_pcapfile_rd_eof(&f->rd);
        return 0;
    }
    rd_pcapfile_rd_commit(&f->rd, (size_t) r);
    f->off += (uint64_t) r;
    return 0;
}


/* The next record of a file of ours. */
static inline int
own_read(struct offline_file *f, struct rd_pcapfile_rec *rec,
    char err[RD_ERRLEN])
{
    if (f->ng) {
        return rd_pcapng_read(&f->png, &f->rd, rec, err);
    }
    return rd_pcapfile_read(&f->pf, &f->rd, rec, err);
}


/* Record rec is file f's next packet. */
static inline void
own_take(struct offline_file *f, const struct rd_pcapfile_rec *rec)
{
    f->pkt.data = rec->data;
    f->pkt.caplen = rec->caplen;
    f->pkt.len = rec->len;
    f->pkt.ts = rd_usec_from_tv(rec->sec, rec->usec);
}


/*
 * pcap_next_ex() for a file read by pcapfile, going on from rc and *rec,
 * what rd_pcapfile_read() last returned: 1, 0 at the end, -1 and err.
 */
static int
own_next(struct offline_file *f, int rc, struct rd_pcapfile_rec *rec,
    char err[RD_ERRLEN])
{
    struct pcap_pkthdr  h;

    for ( ;; ) {
        if (rc == RD_AGAIN) {
            if (own_fill(f, err) != 0) {
                return -1;
            }
        } else if (rc == RD_PCAPFILE_END) {
            return 0;
        } else if (rc != RD_OK) {
            return -1;
        } else if (!f->has_prog) {
            own_take(f, rec);
            return 1;
        } else {
            /* pcap_offline_read()'s test: only the lengths matter */
            memset(&h, 0, sizeof(h));
            h.caplen = rec->caplen;
            h.len = rec->len;
            if (pcap_offline_filter(&f->prog, &h, rec->data) != 0) {
                own_take(f, rec);
                return 1;
            }
        }
        rc = own_read(f, rec, err);
    }
}


/*
 * prime() for all but the usual case: libpcap's files, and ours when the
 * buffer needs a read, a filter applies or the file ends.  rc, rec and
 * err are what rd_pcapfile_read() returned for a file of ours.
 */
static void
prime_slow(struct rd_offline *o, size_t i, int rc,
    struct rd_pcapfile_rec *rec, char err[RD_ERRLEN])
{
    struct offline_file  *f = &o->f[i];
    struct pcap_pkthdr   *hdr;
    const u_char         *data;

    if (f->own) {
        rc = own_next(f, rc, rec, err);
    } else {
        rc = pcap_next_ex(f->p, &hdr, &data);
        if (rc == 1) {
            f->pkt.data = data;
            f->pkt.caplen = hdr->caplen;
            f->pkt.len = hdr->len;
            f->pkt.ts = rd_usec_from_tv((int64_t) hdr->ts.tv_sec,
                                        (int64_t) hdr->ts.tv_usec);
        } else if (rc == PCAP_ERROR) {
            snprintf(err, RD_ERRLEN, "%s", pcap_geterr(f->p));
            rc = -1;
        }
    }
    if (rc == 1) {
        f->ready = true;
        return;
    }
    f->done = true;
    if (rc == -1) {
        /* a record cut short, a corrupt block, or mixed link types in a
         * pcapng file: what came before is kept */
        o->in[i].truncated = true;
        snprintf(o->in[i].error, sizeof(o->in[i].error), "%s", err);
    }
}


/*
 * Make sure file i holds its next packet, if it has one.  The usual case,
 * a whole record of ours in the buffer and no filter, is inline: it is
 * most of a packet's reading cost.
 */
static inline void
prime(struct rd_offline *o, size_t i)
{
    struct offline_file     *f = &o->f[i];
    struct rd_pcapfile_rec   rec;
    char                     err[RD_ERRLEN];
    int                      rc;

    if (f->ready || f->done) {
        return;
    }
    rc = RD_AGAIN;
    if (f->own) {
        rc = own_read(f, &rec, err);
        if (rc == RD_OK && !f->has_prog) {
            own_take(f, &rec);
            f->ready = true;
            return;
        }
    }
    prime_slow(o, i, rc, &rec, err);
}


int
rd_offline_next(struct rd_offline *o, struct rd_capture_pkt *pkt)
{
    size_t               i, best;
    struct offline_file *f;

    if (o->n == 1) {
        /* one file, the usual case: nothing to merge */
        prime(o, 0);
        best = o->f[0].ready ? 0 : 1;
    } else {
        best = o->n;
        for (i = 0; i < o->n; i++) {
            prime(o, i);
            if (!o->f[i].ready) {
                continue;
            }
            if (best == o->n || o->f[i].pkt.ts < o->f[best].pkt.ts) {
                best = i;
            }
        }
    }
    if (best == o->n) {
        return 0;
    }
    f = &o->f[best];
    f->ready = false;
    o->in[best].packets++;
    *pkt = f->pkt;
    return 1;
}


void
rd_offline_progress(const struct rd_offline *o, uint64_t *done,
    uint64_t *total)
{
    size_t  i;
    FILE   *fp;
    off_t   pos;

    *done = 0;
    *total = 0;
    for (i = 0; i < o->n; i++) {
        if (o->f[i].size == 0 || o->f[i].p == NULL) {
            continue;
        }
        *total += o->f[i].size;
        if (o->f[i].done) {
            *done += o->f[i].size;
            continue;
        }
        if (o->f[i].own) {
            *done += o->f[i].start + rd_pcapfile_rd_done(&o->f[i].rd);
            continue;
        }
        fp = pcap_file(o->f[i].p);
        pos = fp != NULL ? ftello(fp) : -1;
        if (pos > 0) {
            *done += (uint64_t) pos;
        }
    }
}


const struct rd_capture_input *
rd_offline_inputs(const struct rd_offline *o, size_t *n)
{
    *n = o->n;
    return o->in;
}


void
rd_offline_close(struct rd_offline *o)
{
    size_t  i;

    if (o == NULL) {
        return;
    }
    for (i = 0; o->f != NULL && i < o->n; i++) {
        if (o->f[i].has_prog) {
            pcap_freecode(&o->f[i].prog);
        }
        free(o->f[i].buf);
        rd_pcapng_free(&o->f[i].png);
        if (o->f[i].p != NULL) {
            pcap_close(o->f[i].p);
        }
    }
    free(o->f);
    free(o->in);
    free(o);
}


pcap_t *
rd_live_open(const char *iface, int snaplen, const char *filter,
    char err[RD_ERRLEN], char warn[RD_ERRLEN])
{
    pcap_t  *p;
    char     ebuf[PCAP_ERRBUF_SIZE], why[RD_ERRLEN];
    int      rc, dlt;

    warn[0] = '\0';
    ebuf[0] = '\0';
    p = pcap_create(iface, ebuf);
    if (p == NULL) {
        snprintf(err, RD_ERRLEN, "%s: %s", iface, ebuf);
        return NULL;
    }
    pcap_set_snaplen(p, snaplen);
    pcap_set_promisc(p, 0);
    /* Not immediate mode: in it Linux libpcap falls back to TPACKET_V2,
     * whose ring has one frame per packet sized for the interface's MTU
     * (lo: 64 KiB), so 16 MiB held ~250 packets and a burst through nginx
     * overflowed it while tcpdump -w, on TPACKET_V3 blocks, dropped none.
     * V3 packs packets into blocks; a block is handed over when full or
     * after the timeout, so a verdict is at most that late. */
    pcap_set_immediate_mode(p, 0);
    pcap_set_timeout(p, RD_LIMITS_LIVE_TIMEOUT_MS);
    pcap_set_buffer_size(p, RD_LIMITS_LIVE_BUFFER);
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO);
    rc = pcap_activate(p);
    if (rc < 0) {
        /* errors: the interface cannot be used (pcap_activate(3PCAP)) */
        const char  *e = pcap_geterr(p);

        if (rc == PCAP_ERROR_NO_SUCH_DEVICE) {
            snprintf(err, RD_ERRLEN, "%s: no such interface (%s)", iface, e);
        } else if (rc == PCAP_ERROR_PERM_DENIED) {
            snprintf(err, RD_ERRLEN, "%s: permission denied: live capture "
                     "needs root or CAP_NET_RAW (%s)", iface, e);
        } else {
            snprintf(err, RD_ERRLEN, "%s: %s", iface,
                     e[0] ? e : pcap_statustostr(rc));
        }
        pcap_close(p);
        return NULL;
    }
    if (rc > 0) {
        /* warnings: capture works, but the user should know */
        snprintf(warn, RD_ERRLEN, "%s: %s", iface, pcap_geterr(p));
    }
    dlt = pcap_datalink(p);
    if (!rd_decode_dlt_supported(dlt)) {
        const char  *nm = pcap_datalink_val_to_name(dlt);

        snprintf(err, RD_ERRLEN, "%s: unsupported link type %s (%d)", iface,
                 nm ? nm : "unknown", dlt);
        pcap_close(p);
        return NULL;
    }
    if (set_filter(p, filter, why, sizeof(why), NULL, NULL) != 0) {
        snprintf(err, RD_ERRLEN, "%s: %s", iface, why);
        pcap_close(p);
        return NULL;
    }
    if (pcap_setnonblock(p, 1, ebuf) != 0) {
        snprintf(err, RD_ERRLEN, "%s: %s", iface, ebuf);
        pcap_close(p);
        return NULL;
    }
    return p;
}
