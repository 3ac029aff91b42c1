/*
 * rstdiag: wiring only, written like a libevent sample: create, check,
 * run, then free in reverse.  Only this file and cli.c decide the exit
 * status.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio_ext.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "live.h"
#include "rd_config.h"
#include "rstdiag/capture.h"
#include "rstdiag/errlog.h"
#include "rstdiag/metrics.h"
#include "rstdiag/nginxconf.h"
#include "rstdiag/pipeline.h"
#include "rstdiag/report.h"

#define RD_OUT_BUF  (256 * 1024)    /* offline report stream buffer */

struct run {
    struct rd_opts         *o;
    struct rd_pipeline     *pl;
    struct rd_report       *rep;
    struct rd_metrics      *metrics;    /* counted always, served live */
    FILE                   *out;        /* stdout or --output */
    bool                    out_error;  /* a write to a closed one failed */
    pcap_t                 *p;          /* live */
    struct rd_live         *lv;         /* live: its loop */
    double                  start_time; /* epoch seconds */
    struct rd_evdir        *evdir;      /* --evidence, or NULL */
};


/* --evidence: an incident's packets into a file of the directory */
static const char *
on_evidence(void *ctx, const struct rd_conn *c, const struct rd_conn *peer,
    const struct rd_verdict *v, const struct rd_evpkt *pk, size_t n,
    uint64_t omitted)
{
    struct run  *run = ctx;

    return rd_evdir_write(run->evdir, c, peer, v, pk, n, omitted);
}


/* Live: a report that cannot be written (a closed pipe, a full disk)
 * stops the capture, as a closed pipe stops tcpdump; the exit status is
 * then 2. */
static void
check_output(struct run *run)
{
    if (run->lv != NULL && !run->out_error && ferror(run->out)) {
        fprintf(stderr, "rstdiag: error writing the report%s%s; stopping "
                "the capture\n", run->o->output != NULL ? " to " : "",
                run->o->output != NULL ? run->o->output : "");
        run->out_error = true;
        rd_live_stop(run->lv);
    }
}


static void
on_conn(void *ctx, const struct rd_conn *c, const struct rd_verdict *v)
{
    struct run  *run = ctx;

    rd_metrics_conn(run->metrics, c, v);
    rd_report_conn(run->rep, c, v);
    if (run->o->report.stream) {
        check_output(run);
    }
}


/* Flush and close the report's stream (stdout is only flushed) and free
 * the counters; -1 when a write failed. */
static int
close_out(struct run *run)
{
    int  rc;

    rd_metrics_destroy(run->metrics);
    run->metrics = NULL;
    if (run->out == NULL) {
        return 0;
    }
    rc = fflush(run->out) != 0 || ferror(run->out) || run->out_error ? -1
                                                                      : 0;
    if (run->out != stdout && fclose(run->out) != 0) {
        rc = -1;
    }
    run->out = NULL;
    return rc;
}


/* --output: appended to, created 0666 less the umask as by fopen; NULL
 * with "FILE: reason" in err. */
static FILE *
open_output(const char *path, char err[RD_ERRLEN])
{
    FILE  *f;
    int    fd;

    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(err, RD_ERRLEN, "%s: %s", path, strerror(errno));
        return NULL;
    }
    f = fdopen(fd, "a");
    if (f == NULL) {
        snprintf(err, RD_ERRLEN, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    __fsetlocking(f, FSETLOCKING_BYCALLER);
    return f;
}


static void
die_usage(const char *err)
{
    fprintf(stderr, "rstdiag: %s\n", err);
    fputs("usage: rstdiag [-r FILE]... | -i IFACE [options] [EXPRESSION]; "
          "see rstdiag --help\n", stderr);
}


/* --list-verdicts: the version table's rows of one code. */
static void
list_versions(int code)
{
    const struct rd_version_row  *t, *r;
    size_t                        n, i;
    char                          a[16], b[16];

    t = rd_verdict_versions(&n);
    for (i = 0; i < n; i++) {
        r = &t[i];
        if (r->code != code) {
            continue;
        }
        printf("  nginx");
        if (r->from != 0) {
            printf(" >=%s", rd_version_str(r->from, a, sizeof(a)));
        }
        if (r->to != 0) {
            printf(" <%s", rd_version_str(r->to, b, sizeof(b)));
        }
        if (r->from == 0 && r->to == 0) {
            printf(" (all)");
        }
        if (r->when == RD_VW_BARE_LF) {
            printf(", bare LF chunk framing only");
        }
        printf(":");
        if (r->message != NULL && r->message[0] == '\0') {
            printf(" logs nothing;");
        } else if (r->message != NULL) {
            printf(" [%s] %s;", r->level, r->message);
        }
        printf(" client gets %s", rd_tok2str(rd_client_gets_names, r->gets,
                                             "?"));
        if (r->client_status != 0) {
            printf(" %d", r->client_status);
        }
        if (r->retry != NULL) {
            printf("; retries %s", r->retry);
        }
        if (r->note != NULL) {
            printf("; %s", r->note);
        }
        printf("\n");
    }
}


/* --list-verdicts: the vocabulary, one block per code. */
static void
list_verdicts(void)
{
    const struct rd_verdict_rule  *r;
    int                            i;

    for (i = 1; i < RD_V_NCODES; i++) {
        r = rd_verdict_rule(i);
        printf("%s\n  severity %s, blame %s\n",
               rd_tok2str(rd_verdict_names, i, "?"),
               rd_tok2str(rd_severity_names, r->severity, "?"),
               rd_tok2str(rd_blame_names, r->blame, "?"));
        if (r->message != NULL) {
            printf("  nginx: [%s] %s\n", r->level, r->message);
        }
        printf("  causes: %s\n  fix: %s\n", r->causes, r->fix);
        list_versions(i);
    }
}


/* --nginx, --upstream, --nginx-version into the role learner. */
static int
declare_roles(const struct rd_opts *o, struct rd_legs *legs,
    char err[RD_ERRLEN])
{
    size_t  i;

    for (i = 0; i < o->nnginx; i++) {
        if (rd_legs_declare(legs, RD_LEG_CLIENT, o->nginx[i], err) != 0) {
            return -1;
        }
    }
    for (i = 0; i < o->nupstream; i++) {
        if (rd_legs_declare(legs, RD_LEG_UPSTREAM, o->upstream[i], err)
            != 0)
        {
            return -1;
        }
    }
    for (i = 0; i < o->nfastcgi; i++) {
        if (rd_legs_declare_fastcgi(legs, o->fastcgi[i], err) != 0) {
            return -1;
        }
    }
    if (o->nginx_version != NULL
        && rd_legs_set_version(legs, o->nginx_version) != 0)
    {
        snprintf(err, RD_ERRLEN, "--nginx-version: '%s' is not a version "
                 "like 1.22.1", o->nginx_version);
        return -1;
    }
    return 0;
}


/* --nginx-conf: the whole of FILE (or stdin) parsed before the capture;
 * NULL with "FILE:LINE: reason" in err. */
static struct rd_nginxconf *
load_nginx_conf(const char *path, char err[RD_ERRLEN])
{
    struct rd_nginxconf  *nc;
    FILE                 *f;
    char                  buf[65536];
    size_t                n;
    int                   rc;

    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL) {
        snprintf(err, RD_ERRLEN, "%s: %s", path, strerror(errno));
        return NULL;
    }
    nc = rd_nginxconf_create(rd_alloc_default(), path);
    if (nc == NULL) {
        snprintf(err, RD_ERRLEN, "%s: out of memory", path);
        if (f != stdin) {
            fclose(f);
        }
        return NULL;
    }
    rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
        rc = rd_nginxconf_feed(nc, buf, n);
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, RD_ERRLEN, "%s: %s", path, strerror(errno));
        rc = -RD_EIO;
    } else if (rc == 0) {
        rc = rd_nginxconf_finish(nc);
    }
    if (rc != 0 && rc != -RD_EIO) {
        snprintf(err, RD_ERRLEN, "%s", rd_nginxconf_error(nc));
    }
    if (f != stdin) {
        fclose(f);
    }
    if (rc != 0) {
        rd_nginxconf_destroy(nc);
        return NULL;
    }
    return nc;
}


/* What the configuration says of nginx's addresses, into the role
 * learner (before --nginx/--upstream, which then override it). */
static int
declare_conf(const struct rd_nginxconf *nc, struct rd_legs *legs,
    char err[RD_ERRLEN])
{
    struct rd_nginxconf_addr  a;
    uint32_t                  i;
    int                       rc;

    for (i = 0; rd_nginxconf_addr(nc, i, &a); i++) {
        switch (a.kind) {
        case RD_NGINXCONF_LISTEN:
            rc = a.wildcard
                 ? rd_legs_declare_port(legs, RD_LEG_CLIENT, a.port)
                 : rd_legs_declare_listen(legs, a.spec, err);
            break;
        case RD_NGINXCONF_BIND:
            rc = rd_legs_declare_source(legs, a.spec, err);
            break;
        default:
            rc = a.fastcgi ? rd_legs_declare_fastcgi(legs, a.spec, err)
                           : rd_legs_declare(legs, RD_LEG_UPSTREAM, a.spec,
                                             err);
            break;
        }
        if (rc != 0) {
            snprintf(err, RD_ERRLEN, "%s:%u: cannot declare '%s'", a.file,
                     a.line, a.spec);
            return -1;
        }
    }
    return 0;
}


/* -Z: give up root once the capture and the metrics socket are open
 * (tcpdump's habit).  --output, opened by root, is handed to USER first
 * (tcpdump does so with -w) so that it is still USER's to reopen at
 * SIGHUP; a file logrotate renamed away is created anew in its directory,
 * which USER must be able to write (or logrotate's "create" makes it).
 * The drop is checked: no capture loop runs with root kept or
 * regainable. */
static int
drop_privileges(const char *user, FILE *out, struct rd_evdir *evdir,
    char err[RD_ERRLEN])
{
    struct passwd  *pw;
    struct stat     st;

    errno = 0;
    pw = getpwnam(user);
    if (pw == NULL) {
        snprintf(err, RD_ERRLEN, "-Z: no such user '%s'", user);
        return -1;
    }
    if (out != NULL && out != stdout && fstat(fileno(out), &st) == 0
        && S_ISREG(st.st_mode) && st.st_uid != pw->pw_uid
        && fchown(fileno(out), pw->pw_uid, pw->pw_gid) != 0)
    {
        snprintf(err, RD_ERRLEN, "-Z: cannot give the --output file to "
                 "'%s': %s", user, strerror(errno));
        return -1;
    }
    if (evdir != NULL && rd_evdir_give(evdir, pw->pw_uid, pw->pw_gid, err)
        != 0)
    {
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0
        || setuid(pw->pw_uid) != 0)
    {
        snprintf(err, RD_ERRLEN, "-Z: cannot become '%s': %s", user,
                 strerror(errno));
        return -1;
    }
    if (pw->pw_uid != 0
        && (getuid() == 0 || geteuid() == 0 || setuid(0) == 0))
    {
        snprintf(err, RD_ERRLEN, "-Z: root is still held after becoming "
                 "'%s'; refusing to capture", user);
        return -1;
    }
    if (pw->pw_gid != 0 && (getgid() == 0 || getegid() == 0)) {
        snprintf(err, RD_ERRLEN, "-Z: group root is still held after "
                 "becoming '%s'; refusing to capture", user);
        return -1;
    }
    /* USER must be able to write there: a directory USER cannot write
     * is an input error now, not a warning at the first incident */
    if (evdir != NULL && rd_evdir_check(evdir, err) != 0) {
        return -1;
    }
    return 0;
}


static double
now_sec(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


static void
show_progress(const struct rd_offline *off, const struct rd_pipeline *pl,
    double start, bool last)
{
    uint64_t  done, total;
    double    el;

    rd_offline_progress(off, &done, &total);
    el = now_sec() - start;
    if (el <= 0) {
        el = 1e-9;
    }
    if (total > 0) {
        fprintf(stderr, "\rrstdiag: %5.1f%% read, %.1f MB/s, %llu "
                "connections   ", 100.0 * (double) done / (double) total,
                (double) done / el / 1e6,
                (unsigned long long) rd_pipeline_flow_stats(pl)->created);
    } else {
        fprintf(stderr, "\rrstdiag: %llu packets, %llu connections   ",
                (unsigned long long) rd_pipeline_stats(pl)->packets,
                (unsigned long long) rd_pipeline_flow_stats(pl)->created);
    }
    if (last) {
        fputs("\r\033[K", stderr);
    }
}


static void
evidence_totals(const struct run *run, struct rd_report_totals *tot)
{
    if (run->evdir != NULL) {
        tot->evidence = rd_evdir_stats(run->evdir);
        tot->evidence_store = rd_pipeline_evidence_stats(run->pl);
    }
}


static int
run_offline(struct run *run)
{
    struct rd_offline                *off;
    struct rd_capture_pkt             pkt;
    const struct rd_capture_input    *in;
    struct rd_report_input           *rin;
    struct rd_report_totals           tot;
    char                              err[RD_ERRLEN];
    size_t                            n, i;
    uint64_t                          seen;
    bool                              progress, any_error;
    double                            start, last;

    off = rd_offline_open(run->o->files, run->o->nfiles, run->o->filter, err);
    if (off == NULL) {
        fprintf(stderr, "rstdiag: %s\n", err);
        return RD_EXIT_ERROR;
    }
    if (run->o->user != NULL
        && drop_privileges(run->o->user, run->out, run->evdir, err) != 0)
    {
        fprintf(stderr, "rstdiag: %s\n", err);
        rd_offline_close(off);
        return RD_EXIT_ERROR;
    }

    progress = run->o->progress == 1
               || (run->o->progress == -1 && isatty(STDERR_FILENO));
    start = now_sec();
    last = start;
    seen = 0;
    while (rd_offline_next(off, &pkt) == 1) {
        rd_pipeline_packet(run->pl, pkt.dlt, pkt.data, pkt.caplen, pkt.len,
                           pkt.ts);
        seen++;
        if (run->o->count != 0 && seen >= run->o->count) {
            break;
        }
        if (progress && (seen & 0xffff) == 0 && now_sec() - last >= 0.5) {
            last = now_sec();
            show_progress(off, run->pl, start, false);
        }
    }
    if (progress && last != start) {
        show_progress(off, run->pl, start, true);
    }
    rd_pipeline_finish(run->pl);

    in = rd_offline_inputs(off, &n);
    rin = calloc(n, sizeof(*rin));
    if (rin == NULL) {
        fprintf(stderr, "rstdiag: out of memory\n");
        rd_offline_close(off);
        return RD_EXIT_ERROR;
    }
    any_error = false;
    for (i = 0; i < n; i++) {
        rin[i].name = in[i].name;
        rin[i].packets = in[i].packets;
        rin[i].truncated = in[i].truncated;
        rin[i].error = in[i].truncated ? in[i].error : NULL;
        rin[i].dlt = in[i].dlt;
        if (in[i].truncated) {
            any_error = true;
            fprintf(stderr, "rstdiag: %s: %s; analysed the %llu packets "
                    "before it\n", in[i].name, in[i].error,
                    (unsigned long long) in[i].packets);
        }
    }
    memset(&tot, 0, sizeof(tot));
    tot.pl = rd_pipeline_stats(run->pl);
    tot.flows = rd_pipeline_flow_stats(run->pl);
    tot.inputs = rin;
    tot.ninputs = n;
    tot.nginx_version = rd_legs_version(rd_pipeline_legs(run->pl));
    tot.legs = rd_pipeline_legs(run->pl);
    evidence_totals(run, &tot);
    if (rd_report_summary(run->rep, &tot, err) != 0) {
        fprintf(stderr, "rstdiag: warning: %s; the error.log was joined up "
                "to there\n", err);
    }
    free(rin);
    rd_offline_close(off);

    if (any_error && tot.pl->packets == 0) {
        return RD_EXIT_ERROR;       /* nothing at all could be read */
    }
    return rd_report_findings(run->rep) > 0 ? RD_EXIT_FINDINGS : RD_EXIT_OK;
}


/* The summary's totals of a live capture, so far or at the end. */
static void
live_totals(struct run *run, const struct rd_live_result *res,
    struct rd_report_input *rin, struct rd_report_totals *tot)
{
    memset(rin, 0, sizeof(*rin));
    rin->name = run->o->iface;
    rin->packets = res->packets;
    rin->truncated = res->error[0] != '\0';
    rin->error = rin->truncated ? res->error : NULL;
    rin->dlt = pcap_datalink(run->p);
    memset(tot, 0, sizeof(*tot));
    tot->pl = rd_pipeline_stats(run->pl);
    tot->flows = rd_pipeline_flow_stats(run->pl);
    tot->inputs = rin;
    tot->ninputs = 1;
    tot->nginx_version = rd_legs_version(rd_pipeline_legs(run->pl));
    tot->legs = rd_pipeline_legs(run->pl);
    evidence_totals(run, tot);
    tot->live = true;
    tot->pcap_drops = res->drops;
    tot->drops_kernel = res->drops_kernel;
    tot->drops_iface = res->drops_iface;
}


/* SIGUSR1, --interval */
static void
live_summary(void *ctx, const struct rd_live_result *now)
{
    struct run               *run = ctx;
    struct rd_report_input    rin;
    struct rd_report_totals   tot;

    live_totals(run, now, &rin, &tot);
    rd_report_interim(run->rep, &tot);
    check_output(run);
}


/* SIGHUP: logrotate renamed --output (or will truncate it): write to a
 * file of that name from now on.  Every record is flushed when written,
 * so none is lost and none is split between the two files.  Without
 * --output there is nothing to reopen. */
static void
live_reopen(void *ctx)
{
    struct run  *run = ctx;
    FILE        *f, *old;
    char         err[RD_ERRLEN];

    if (run->o->output == NULL) {
        return;
    }
    f = open_output(run->o->output, err);
    if (f == NULL) {
        fprintf(stderr, "rstdiag: warning: SIGHUP: cannot reopen %s; still "
                "writing to the file open before\n", err);
        return;
    }
    old = rd_report_set_output(run->rep, f);
    run->out = f;
    if (ferror(old) || fclose(old) != 0) {
        fprintf(stderr, "rstdiag: error writing the report to the %s "
                "closed at SIGHUP\n", run->o->output);
        run->out_error = true;
    }
}


/* GET /metrics */
static int
live_metrics(void *ctx, FILE *f, const struct rd_live_result *now)
{
    struct run                *run = ctx;
    struct rd_metrics_source   src;

    memset(&src, 0, sizeof(src));
    src.pl = rd_pipeline_stats(run->pl);
    src.flows = rd_pipeline_flow_stats(run->pl);
    src.capture_stats = now->stats_ok;
    src.drops_kernel = now->drops_kernel;
    src.drops_iface = now->drops_iface;
    src.start_time = run->start_time;
    src.version = RD_VERSION;
    if (run->evdir != NULL) {
        src.evidence = rd_evdir_stats(run->evdir);
        src.evidence_store = rd_pipeline_evidence_stats(run->pl);
    }
    return rd_metrics_write(f, run->metrics, &src);
}


/* --error-log with -i: what nginx appended, joined as it comes */
static void
live_poll(void *ctx, rd_usec_t now)
{
    struct run  *run = ctx;

    rd_report_poll(run->rep, now);
    check_output(run);
}


static int
run_live(struct run *run)
{
    pcap_t                   *p;
    struct rd_live           *lv;
    struct rd_live_cfg        cfg;
    struct rd_live_hooks      hooks;
    struct rd_live_result     res;
    struct rd_report_input    rin;
    struct rd_report_totals   tot;
    struct timespec           ts;
    struct sigaction          sa;
    char                      err[RD_ERRLEN], warn[RD_ERRLEN];
    int                       rc;

    /* the metrics listener first: an address in use fails before the
     * capture is opened, and a privileged port is bound before -Z */
    memset(&cfg, 0, sizeof(cfg));
    cfg.count = run->o->count;
    cfg.interval = run->o->interval;
    cfg.metrics_addr = run->o->metrics_addr;
    cfg.metrics_len = run->o->metrics_len;
    cfg.metrics_spec = run->o->metrics;
    memset(&hooks, 0, sizeof(hooks));
    hooks.summary = live_summary;
    hooks.reopen = live_reopen;
    hooks.metrics = live_metrics;
    hooks.poll = run->o->nerror_log > 0 ? live_poll : NULL;
    hooks.ctx = run;
    lv = rd_live_create(&cfg, &hooks, err);
    if (lv == NULL) {
        fprintf(stderr, "rstdiag: %s\n", err);
        return RD_EXIT_ERROR;
    }
    /* evhttp writes to scrapers that may hang up mid-answer, and the
     * report to a pipe that may close: EPIPE, not death (check_output
     * stops the capture for the latter) */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    (void) sigaction(SIGPIPE, &sa, NULL);

    p = rd_live_open(run->o->iface, run->o->snaplen, run->o->filter, err,
                     warn);
    if (p == NULL) {
        fprintf(stderr, "rstdiag: %s\n", err);
        rd_live_destroy(lv);
        return RD_EXIT_ERROR;
    }
    run->p = p;
    if (warn[0] != '\0') {
        fprintf(stderr, "rstdiag: warning: %s\n", warn);
    }
    if (run->o->user != NULL
        && drop_privileges(run->o->user, run->out, run->evdir, err) != 0)
    {
        fprintf(stderr, "rstdiag: %s\n", err);
        pcap_close(p);
        rd_live_destroy(lv);
        return RD_EXIT_ERROR;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    run->start_time = (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
    if (run->o->metrics != NULL) {
        fprintf(stderr, "rstdiag: serving metrics on http://%s%s/metrics\n",
                strchr(run->o->metrics, ':') == NULL ? "127.0.0.1:" :
                run->o->metrics[0] == ':' ? "127.0.0.1" : "",
                run->o->metrics);
    }
    /* tcpdump's line: scripts wait for it to know the capture is open
     * (packets are queued by the kernel from here on) */
    fprintf(stderr, "rstdiag: listening on %s, link-type %s, snapshot "
            "length %d bytes\n", run->o->iface,
            pcap_datalink_val_to_name(pcap_datalink(p)) != NULL
            ? pcap_datalink_val_to_name(pcap_datalink(p)) : "unknown",
            pcap_snapshot(p));
    fflush(stderr);

    run->lv = lv;
    rc = rd_live_run(lv, p, run->o->iface, run->pl, &res);
    if (rc != 0) {
        fprintf(stderr, "rstdiag: %s\n", res.error);
        run->lv = NULL;
        pcap_close(p);
        rd_live_destroy(lv);
        return RD_EXIT_ERROR;
    }
    if (res.error[0] != '\0') {
        fprintf(stderr, "rstdiag: %s; reporting what was captured\n",
                res.error);
    }
    rd_pipeline_finish(run->pl);

    live_totals(run, &res, &rin, &tot);
    if (rd_report_summary(run->rep, &tot, err) != 0) {
        fprintf(stderr, "rstdiag: warning: %s\n", err);
    }
    pcap_close(p);
    run->p = NULL;
    run->lv = NULL;
    rd_live_destroy(lv);
    return rd_report_findings(run->rep) > 0 ? RD_EXIT_FINDINGS : RD_EXIT_OK;
}


int
main(int argc, char **argv)
{
    struct rd_opts        o;
    struct run            run;
    struct rd_nginxconf  *nc;
    char                  err[RD_ERRLEN];
    int                   rc;
    bool                  reported;
    uint64_t              seed;

    /* one thread writes the report: no lock per character */
    __fsetlocking(stdout, FSETLOCKING_BYCALLER);

    switch (rd_cli_parse(argc, argv, &o, err)) {
    case RD_CLI_HELP:
        rd_cli_usage(stdout);
        return RD_EXIT_OK;
    case RD_CLI_LIST_VERDICTS:
        list_verdicts();
        return RD_EXIT_OK;
    case RD_CLI_VERSION:
        printf("rstdiag %s (%s)\n", RD_VERSION, pcap_lib_version());
        return RD_EXIT_OK;
    case RD_CLI_ERROR:
        die_usage(err);
        rd_cli_free(&o);
        return RD_EXIT_ERROR;
    case RD_CLI_RUN:
        break;
    }

    memset(&run, 0, sizeof(run));
    run.o = &o;
    run.out = stdout;
    nc = NULL;
    if (o.nginx_conf != NULL) {
        nc = load_nginx_conf(o.nginx_conf, err);
        if (nc == NULL) {
            fprintf(stderr, "rstdiag: %s\n", err);
            rd_cli_free(&o);
            return RD_EXIT_ERROR;
        }
        o.report.nginx_conf = nc;
    }
    if (o.nerror_log > 0) {
        /* -i: the file nginx writes, followed from its end */
        o.report.error_log = o.iface != NULL
                             ? rd_errlog_follow(o.error_log[0], err)
                             : rd_errlog_open(o.error_log, o.nerror_log,
                                              err);
        o.report.errjoin.live = o.iface != NULL;
        o.report.errjoin.host_offset = rd_errlog_host_offset(time(NULL));
        if (o.report.error_log == NULL
            || (o.error_log_tz != NULL
                && rd_errlog_parse_tz(o.error_log_tz, time(NULL),
                                      &o.report.errjoin.offset, err) != 0))
        {
            fprintf(stderr, "rstdiag: %s\n", err);
            rd_errlog_close(o.report.error_log);
            rd_nginxconf_destroy(nc);
            rd_cli_free(&o);
            return RD_EXIT_ERROR;
        }
        o.report.errjoin.offset_known = o.error_log_tz != NULL;
    }
    /* --evidence: a directory that is not there or cannot be written is
     * an input error before any packet is read */
    if (o.evidence != NULL) {
        uint32_t  snap = (uint32_t) o.snaplen;

        /* the files' snaplen (IDB) is what they can hold at most */
        if (o.pipeline.evidence_snaplen != 0
            && o.pipeline.evidence_snaplen < snap)
        {
            snap = o.pipeline.evidence_snaplen;
        }
        run.evdir = rd_evdir_open(o.evidence, o.evidence_max_files,
                                  o.evidence_max_bytes, snap, err);
        if (run.evdir == NULL) {
            fprintf(stderr, "rstdiag: %s\n", err);
            rd_errlog_close(o.report.error_log);
            rd_nginxconf_destroy(nc);
            rd_cli_free(&o);
            return RD_EXIT_ERROR;
        }
    }
    /* live: every record is written and flushed when it is decided */
    o.report.stream = o.iface != NULL;
    if (o.output != NULL) {
        run.out = open_output(o.output, err);
    }
    /* offline, into a file or a pipe: large writes (stdio would write
     * 4 KiB at a time, a system call each; --error-log can write a
     * record per line of a big log).  glibc takes a size only with a
     * buffer; this one outlives the stream. */
    if (!o.report.stream && run.out != NULL && !isatty(fileno(run.out))) {
        static char  out_buf[RD_OUT_BUF];

        (void) setvbuf(run.out, out_buf, _IOFBF, sizeof(out_buf));
    }
    run.metrics = rd_metrics_create(rd_alloc_default());
    run.rep = run.out != NULL && run.metrics != NULL
              ? rd_report_create(run.out, &o.report, err) : NULL;
    if (run.rep == NULL) {
        fprintf(stderr, "rstdiag: %s\n", run.metrics == NULL
                ? "out of memory" : err);
        close_out(&run);
        rd_errlog_close(o.report.error_log);
        rd_nginxconf_destroy(nc);
        rd_evdir_close(run.evdir);
        rd_cli_free(&o);
        return RD_EXIT_ERROR;
    }
    /* the flow hash is keyed: chains stay short against a flood of chosen
     * tuples only while the key is unknown to the sender */
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t) sizeof(seed))
    {
        o.pipeline.seed = seed;
    }
    run.pl = rd_pipeline_create(rd_alloc_default(), &o.pipeline, on_conn,
                                &run, err);
    if (run.pl == NULL) {
        fprintf(stderr, "rstdiag: %s\n", err);
        rd_report_destroy(run.rep);
        close_out(&run);
        rd_errlog_close(o.report.error_log);
        rd_nginxconf_destroy(nc);
        rd_evdir_close(run.evdir);
        rd_cli_free(&o);
        return RD_EXIT_ERROR;
    }

    rd_report_set_legs(run.rep, rd_pipeline_legs(run.pl));
    if (run.evdir != NULL) {
        rd_pipeline_set_evidence(run.pl, on_evidence, &run);
    }
    if ((nc != NULL && declare_conf(nc, rd_pipeline_legs(run.pl), err) != 0)
        || declare_roles(&o, rd_pipeline_legs(run.pl), err) != 0)
    {
        fprintf(stderr, "rstdiag: %s\n", err);
        rd_pipeline_destroy(run.pl);
        rd_report_destroy(run.rep);
        close_out(&run);
        rd_errlog_close(o.report.error_log);
        rd_nginxconf_destroy(nc);
        rd_evdir_close(run.evdir);
        rd_cli_free(&o);
        return RD_EXIT_ERROR;
    }

    rc = o.nfiles > 0 ? run_offline(&run) : run_live(&run);

    rd_pipeline_destroy(run.pl);
    rd_report_destroy(run.rep);
    reported = run.out_error;       /* said already, live */
    if (close_out(&run) != 0) {
        if (!reported) {
            fprintf(stderr, "rstdiag: error writing the report%s%s\n",
                    o.output != NULL ? " to " : "",
                    o.output != NULL ? o.output : "");
        }
        rc = RD_EXIT_ERROR;
    }
    rd_errlog_close(o.report.error_log);
    rd_nginxconf_destroy(nc);
    rd_evdir_close(run.evdir);
    rd_cli_free(&o);
    return rc;
}
