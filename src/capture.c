/*
 * capture: libpcap handles, offline (merged by timestamp) and live.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rstdiag/capture.h"
#include "rstdiag/decode.h"
#include "rstdiag/limits.h"

struct offline_file {
    pcap_t                     *p;
    struct pcap_pkthdr         *hdr;
    const u_char               *data;
    bool                        ready;      /* hdr/data hold a packet */
    bool                        done;
    uint64_t                    size;
};

struct rd_offline {
    size_t                      n;
    struct offline_file        *f;
    struct rd_capture_input    *in;
};


static int
set_filter(pcap_t *p, const char *filter, char *why, size_t size)
{
    struct bpf_program  prog;

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
    pcap_freecode(&prog);
    return 0;
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
    for (i = 0; i < n; i++) {
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
        if (!rd_decode_dlt_supported(dlt)) {
            const char  *nm = pcap_datalink_val_to_name(dlt);

            snprintf(err, RD_ERRLEN, "%s: unsupported link type %s (%d)",
                     names[i], nm ? nm : "unknown", dlt);
            rd_offline_close(o);
            return NULL;
        }
        if (set_filter(o->f[i].p, filter, why, sizeof(why)) != 0) {
            snprintf(err, RD_ERRLEN, "%s: %s", names[i], why);
            rd_offline_close(o);
            return NULL;
        }
        if (strcmp(names[i], "-") != 0 && stat(names[i], &st) == 0
            && S_ISREG(st.st_mode))
        {
            o->f[i].size = (uint64_t) st.st_size;
        }
    }
    return o;
}


/* Make sure file i holds its next packet, if it has one. */
static void
prime(struct rd_offline *o, size_t i)
{
    struct offline_file  *f = &o->f[i];
    int                   rc;

    if (f->ready || f->done) {
        return;
    }
    rc = pcap_next_ex(f->p, &f->hdr, &f->data);
    if (rc == 1) {
        f->ready = true;
        return;
    }
    f->done = true;
    if (rc == PCAP_ERROR) {
        /* a record cut short, a corrupt block, or mixed link types in a
         * pcapng file: what came before is kept */
        o->in[i].truncated = true;
        snprintf(o->in[i].error, sizeof(o->in[i].error), "%s",
                 pcap_geterr(f->p));
    }
}


static rd_usec_t
hdr_ts(const struct pcap_pkthdr *h)
{
    return rd_usec_from_tv((int64_t) h->ts.tv_sec, (int64_t) h->ts.tv_usec);
}


int
rd_offline_next(struct rd_offline *o, struct rd_capture_pkt *pkt)
{
    size_t               i, best;
    struct offline_file *f;

    best = o->n;
    for (i = 0; i < o->n; i++) {
        prime(o, i);
        if (!o->f[i].ready) {
            continue;
        }
        if (best == o->n
            || hdr_ts(o->f[i].hdr) < hdr_ts(o->f[best].hdr))
        {
            best = i;
        }
    }
    if (best == o->n) {
        return 0;
    }
    f = &o->f[best];
    f->ready = false;
    o->in[best].packets++;
    pkt->dlt = pcap_datalink(f->p);
    pkt->data = f->data;
    pkt->caplen = f->hdr->caplen;
    pkt->len = f->hdr->len;
    pkt->ts = hdr_ts(f->hdr);
    pkt->input = best;
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
    pcap_set_immediate_mode(p, 1);
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
    if (set_filter(p, filter, why, sizeof(why)) != 0) {
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
