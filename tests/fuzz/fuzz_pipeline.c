/*
 * libFuzzer harness for a whole capture file through the pipeline
 * (libpcap testprogs/fuzz/fuzz_pcap.c): the input is a pcap or pcapng
 * file, read by libpcap from memory (fmemopen + pcap_fopen_offline),
 * every packet goes through rd_pipeline_packet() with small tables so
 * that eviction and the out-of-order pool limit are reached, and every
 * finished connection is written by the JSON report to /dev/null and
 * counted by the metrics (whose exposition is written at the end), so the
 * TCP, connection, HTTP, verdict, JSON and metrics code all see hostile
 * input.
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
#include "rstdiag/pipeline.h"
#include "rstdiag/report.h"

#define FUZZ_MAX_FLOWS      64u
#define FUZZ_OOO_BYTES      (64u * 1024u)

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
    pl = rd_pipeline_create(rd_alloc_default(), &cfg, on_conn, &k, err);
    if (pl == NULL) {
        abort();
    }

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
