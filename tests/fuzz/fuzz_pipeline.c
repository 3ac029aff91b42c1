/*
 * libFuzzer harness for a whole capture file through the pipeline
 * (libpcap testprogs/fuzz/fuzz_pcap.c): the input is a pcap or pcapng
 * file, read by libpcap from memory (fmemopen + pcap_fopen_offline),
 * every packet goes through rd_pipeline_packet() with small tables so
 * that eviction and the out-of-order pool limit are reached, and every
 * finished connection is written by the JSON report to /dev/null and
 * counted by the metrics (whose exposition is written at the end), so the
 * TCP, connection, HTTP, verdict, JSON and metrics code all see hostile
 * input.  The evidence store runs too, with a pool small enough to wrap
 * (16 KiB, 8 packets a connection): each incident's packets are written
 * by the pcapng writer to /dev/null, every byte of them read.
 *
 * Link types the program refuses (rd_decode_dlt_supported) are refused
 * here too.  Built by tests/meson.build with -Dfuzz=true (clang only).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "rstdiag/common.h"
#include "rstdiag/decode.h"
#include "rstdiag/metrics.h"
#include "rstdiag/pcapngw.h"
#include "rstdiag/pipeline.h"
#include "rstdiag/report.h"

#define FUZZ_MAX_FLOWS      64u
#define FUZZ_OOO_BYTES      (64u * 1024u)
#define FUZZ_EV_PACKETS     8u
#define FUZZ_EV_POOL        (16u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE  *devnull;

struct sinks {
    struct rd_report   *rep;
    struct rd_metrics  *m;
};


static void
on_conn(void *ctx, const struct rd_conn *c, const struct rd_verdict *v)
{
    struct sinks  *k = ctx;

    rd_metrics_conn(k->m, c, v);
    rd_report_conn(k->rep, c, v);
}


/* --evidence without a directory: the packets through the writer */
static const char *
on_evidence(void *ctx, const struct rd_conn *c, const struct rd_conn *peer,
    const struct rd_verdict *v, const struct rd_evpkt *pk, size_t n,
    uint64_t omitted)
{
    struct rd_pcapngw  w;
    size_t             i, j, marked;
    unsigned           sum;
    int                ifid;

    (void) ctx;
    (void) c;
    (void) peer;
    (void) omitted;
    if (n > 2 * FUZZ_EV_PACKETS || v->severity < RD_SEV_WARNING) {
        abort();
    }
    (void) rd_pcapngw_begin(&w, devnull, "fuzz");
    sum = 0;
    marked = 0;
    for (i = 0; i < n; i++) {
        for (j = 0; j < pk[i].caplen; j++) {
            sum += pk[i].data[j];   /* ASan: every byte is the packet's */
        }
        marked += pk[i].mark;
        ifid = rd_pcapngw_iface(&w, rd_pcapngw_linktype(pk[i].dlt), 262144);
        if (ifid >= 0) {
            (void) rd_pcapngw_packet(&w, ifid, pk[i].ts, pk[i].data,
                                     pk[i].caplen, pk[i].wirelen,
                                     pk[i].mark ? "x" : NULL);
        }
    }
    /* one, or none when the pool overwrote all of c's own packets */
    if (marked > 1) {
        abort();
    }
    (void) rd_pcapngw_end(&w);
    return sum == 0xffffffffu ? "never" : NULL;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                         dlt;
    FILE                       *mem;
    pcap_t                     *p;
    const u_char               *pkt;
    struct pcap_pkthdr         *hdr;
    struct rd_report           *rep;
    struct rd_pipeline         *pl;
    struct rd_pipeline_cfg      cfg;
    struct rd_report_cfg        rcfg;
    struct rd_report_totals     tot;
    struct rd_report_input      in;
    struct rd_metrics_source    src;
    struct sinks                k;
    char                        err[RD_ERRLEN];
    char                        perr[PCAP_ERRBUF_SIZE];
    rd_usec_t                   ts;

    if (size == 0) {
        return 0;                   /* fmemopen refuses a size of 0 */
    }
    if (devnull == NULL) {
        devnull = fopen("/dev/null", "w");
        if (devnull == NULL) {
            abort();
        }
    }

    mem = fmemopen((void *) (uintptr_t) data, size, "r");
    if (mem == NULL) {
        return 0;
    }
    p = pcap_fopen_offline(mem, perr);
    if (p == NULL) {
        fclose(mem);
        return 0;
    }
    dlt = pcap_datalink(p);
    if (!rd_decode_dlt_supported(dlt)) {
        pcap_close(p);
        return 0;
    }

    memset(&rcfg, 0, sizeof(rcfg));
    rcfg.json = true;
    rcfg.all = true;
    rep = rd_report_create(devnull, &rcfg, err);
    k.rep = rep;
    k.m = rd_metrics_create(rd_alloc_default());
    if (rep == NULL || k.m == NULL) {
        abort();
    }

    rd_pipeline_cfg_default(&cfg);
    cfg.max_flows = FUZZ_MAX_FLOWS;
    cfg.ooo_pool_bytes = FUZZ_OOO_BYTES;
    cfg.evidence_max_packets = FUZZ_EV_PACKETS;
    cfg.evidence_pool_bytes = FUZZ_EV_POOL;
    pl = rd_pipeline_create(rd_alloc_default(), &cfg, on_conn, &k, err);
    if (pl == NULL) {
        abort();
    }
    rd_pipeline_set_evidence(pl, on_evidence, NULL);

    memset(&in, 0, sizeof(in));
    in.name = "fuzz";
    in.dlt = dlt;

    while (pcap_next_ex(p, &hdr, &pkt) == 1) {
        ts = rd_usec_from_tv((int64_t) hdr->ts.tv_sec,
                             (int64_t) hdr->ts.tv_usec);
        rd_pipeline_packet(pl, dlt, pkt, hdr->caplen, hdr->len, ts);
        in.packets++;
    }
    rd_pipeline_finish(pl);

    memset(&tot, 0, sizeof(tot));
    tot.pl = rd_pipeline_stats(pl);
    tot.flows = rd_pipeline_flow_stats(pl);
    tot.inputs = &in;
    tot.ninputs = 1;
    (void) rd_report_summary(rep, &tot, err);
    memset(&src, 0, sizeof(src));
    src.pl = tot.pl;
    src.flows = tot.flows;
    (void) rd_metrics_write(devnull, k.m, &src);

    rd_metrics_destroy(k.m);
    rd_pipeline_destroy(pl);
    rd_report_destroy(rep);
    pcap_close(p);                  /* closes mem too */
    return 0;
}
