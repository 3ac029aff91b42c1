/*
 * cli: option parsing, tcpdump's habits (-i -r -c -s -Z, trailing filter).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rstdiag/limits.h"

enum {
    OPT_JSON = 256,
    OPT_ALL,
    OPT_MAX_FLOWS,
    OPT_IDLE_TIMEOUT,
    OPT_MAX_OOO,
    OPT_MAX_HEADER,
    OPT_NGINX,
    OPT_UPSTREAM,
    OPT_NGINX_VERSION,
    OPT_NGINX_CONF,
    OPT_FASTCGI,
    OPT_NO_PROGRESS,
    OPT_PROGRESS,
    OPT_VERSION,
    OPT_LIST_VERDICTS,
    OPT_ERROR_LOG,
    OPT_ERROR_LOG_TZ,
    OPT_ERROR_LOG_WINDOW,
    OPT_ERROR_LOG_MAX_LINES,
    OPT_OUTPUT,
    OPT_METRICS,
    OPT_INTERVAL,
    OPT_EVIDENCE,
    OPT_EVIDENCE_MAX_PACKETS,
    OPT_EVIDENCE_POOL_BYTES,
    OPT_EVIDENCE_SNAPLEN,
    OPT_EVIDENCE_MAX_FILES,
    OPT_EVIDENCE_MAX_BYTES
};

static const struct option  long_opts[] = {
    { "json", no_argument, NULL, OPT_JSON },
    { "all", no_argument, NULL, OPT_ALL },
    { "verbose", no_argument, NULL, 'v' },
    { "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
    { "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
    { "max-ooo-bytes", required_argument, NULL, OPT_MAX_OOO },
    { "max-header-bytes", required_argument, NULL, OPT_MAX_HEADER },
    { "nginx", required_argument, NULL, OPT_NGINX },
    { "upstream", required_argument, NULL, OPT_UPSTREAM },
    { "nginx-version", required_argument, NULL, OPT_NGINX_VERSION },
    { "nginx-conf", required_argument, NULL, OPT_NGINX_CONF },
    { "fastcgi", required_argument, NULL, OPT_FASTCGI },
    { "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
    { "progress", no_argument, NULL, OPT_PROGRESS },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { "list-verdicts", no_argument, NULL, OPT_LIST_VERDICTS },
    { "error-log", required_argument, NULL, OPT_ERROR_LOG },
    { "error-log-tz", required_argument, NULL, OPT_ERROR_LOG_TZ },
    { "error-log-window", required_argument, NULL, OPT_ERROR_LOG_WINDOW },
    { "error-log-max-lines", required_argument, NULL,
      OPT_ERROR_LOG_MAX_LINES },
    { "output", required_argument, NULL, OPT_OUTPUT },
    { "metrics", required_argument, NULL, OPT_METRICS },
    { "interval", required_argument, NULL, OPT_INTERVAL },
    { "evidence", required_argument, NULL, OPT_EVIDENCE },
    { "evidence-max-packets", required_argument, NULL,
      OPT_EVIDENCE_MAX_PACKETS },
    { "evidence-pool-bytes", required_argument, NULL,
      OPT_EVIDENCE_POOL_BYTES },
    { "evidence-snaplen", required_argument, NULL, OPT_EVIDENCE_SNAPLEN },
    { "evidence-max-files", required_argument, NULL,
      OPT_EVIDENCE_MAX_FILES },
    { "evidence-max-bytes", required_argument, NULL,
      OPT_EVIDENCE_MAX_BYTES },
    { NULL, 0, NULL, 0 }
};


void
rd_cli_usage(FILE *f)
{
    fputs(
"usage: rstdiag [-r FILE]... [options] [EXPRESSION]\n"
"       rstdiag -i IFACE [options] [EXPRESSION]\n"
"Explain TCP resets and premature closes between clients, nginx and its\n"
"upstreams, from a capture file or live.\n"
"\n"
"  -r FILE            read a pcap or pcapng file ('-' = stdin); repeat to\n"
"                     read several files as one capture in time order\n"
"  -i IFACE           capture live on IFACE ('any' for all interfaces)\n"
"  -c COUNT           stop after COUNT packets\n"
"  -s SNAPLEN         live snapshot length (default 262144)\n"
"  -Z USER            become USER once the capture and the metrics socket\n"
"                     are open; exit 2 when root cannot be given up\n"
"  -v, --verbose      report every connection (text)\n"
"  --json             one JSON object per line, then a summary line\n"
"  --all              report every connection, not only abnormal ones\n"
"  --max-flows N      connections tracked at once (default 65536);\n"
"                     the least recently active one is evicted.  Each\n"
"                     costs 3.8 KiB resident while tracked (FastCGI 7 KiB);\n"
"                     7 KiB x N of address space is reserved, untouched\n"
"                     until used (live: plus the kernel's 16 MiB ring)\n"
"  --idle-timeout S   finish a silent connection after S seconds of\n"
"                     packet time (default 300)\n"
"  --max-ooo-bytes N  out-of-order bytes held for all connections\n"
"                     (default 8388608), resident only while held\n"
"  --nginx ADDR[:PORT]  nginx listens here (repeatable); default: learnt\n"
"                     by pairing requests across connections\n"
"  --upstream ADDR[:PORT]  an upstream server (repeatable)\n"
"  --fastcgi ADDR[:PORT]  a FastCGI server (php-fpm): read its\n"
"                     connections as FastCGI (repeatable; default: found\n"
"                     from the first bytes)\n"
"  --nginx-version V  the nginx version whose messages to predict\n"
"                     (default: from Server: headers)\n"
"  --nginx-conf FILE  nginx's configuration as 'nginx -T' prints it ('-' =\n"
"                     stdin): its listen, upstream and proxy_pass\n"
"                     addresses declare nginx and its upstreams\n"
"", f);
    /* two strings: C11 compilers need take no more than 4095 bytes */
    fputs(
"  --error-log FILE   nginx's error.log (repeatable: rotated files, plain\n"
"                     or .gz, in any order): each line joined with the\n"
"                     connection that caused it; with -i, one file,\n"
"                     followed from its end as tail -F does (rotation\n"
"                     by rename and truncation followed)\n"
"  --error-log-tz TZ  the log's local time: +0800, -03:30, UTC or a zone\n"
"                     name (default: the offset most lines fit; with -i\n"
"                     this host's)\n"
"  --error-log-window S  a line waits S seconds of capture time for its\n"
"                     connection (default 30)\n"
"  --error-log-max-lines N  at most N lines wait (default 16384, about\n"
"                     500 bytes each); older ones are reported unmatched\n"
"  --max-header-bytes N  HTTP header block size before the message is\n"
"                     marked header_overflow (default 65536)\n"
"  --output FILE      write the records to FILE (appended) instead of\n"
"                     stdout; live, SIGHUP reopens it (logrotate)\n"
"  --metrics [ADDR:]PORT  live only (with -r: a usage error): serve\n"
"                     Prometheus metrics on http://ADDR:PORT/metrics;\n"
"                     ADDR defaults to 127.0.0.1, [::1]:PORT for IPv6\n"
"  --interval S       live: write a summary of the counters so far every\n"
"                     S seconds (\"final\": false); SIGUSR1 writes one now\n"
"", f);
    /* in two: C11 promises string literals of 4095 bytes only */
    fputs(
"  --evidence DIR     write each incident (a warning or error verdict) to\n"
"                     DIR as a small pcapng file: its packets and its\n"
"                     client leg's, the verdict as the file's comment and\n"
"                     on the deciding RST or FIN; the record names it\n"
"  --evidence-max-packets N  packets kept per connection (default 64):\n"
"                     the first 16 and the latest ones; 16 bytes each per\n"
"                     --max-flows slot, resident from a connection's\n"
"                     third packet\n"
"  --evidence-pool-bytes N  packet bytes kept for all connections\n"
"                     (default 4194304); when full the oldest go\n"
"  --evidence-snaplen N  bytes kept of each packet (default 256: the\n"
"                     headers and the start of the payload; 0: all);\n"
"                     the files still give each packet's length\n"
"  --evidence-max-files N  files kept in DIR (default 1000); the oldest\n"
"                     this process wrote are removed first\n"
"  --evidence-max-bytes N  bytes of files kept in DIR (default 268435456)\n"
"  --progress         show progress on stderr (default: on a terminal)\n"
"  --no-progress      never show progress\n"
"  -h, --help         this text\n"
"  --version          print the version\n"
"  --list-verdicts    print every verdict code with its severity, blame,\n"
"                     nginx message and fix, then exit\n"
"  EXPRESSION         a pcap-filter(7) expression, as for tcpdump\n"
"\n"
"Live mode: records are written and flushed as connections finish;\n"
"SIGINT/SIGTERM write the final summary and exit.\n"
"Exit status: 0 nothing abnormal, 1 abnormal connections found, 2 usage\n"
"or input error.  See rstdiag(8).\n", f);
}


/* A decimal number in [lo, hi]; false with a reason on anything else. */
static bool
parse_num(const char *s, uint64_t lo, uint64_t hi, uint64_t *v,
    const char *what, char err[RD_ERRLEN])
{
    char               *end;
    unsigned long long  n;

    errno = 0;
    if (s[0] < '0' || s[0] > '9') {
        snprintf(err, RD_ERRLEN, "%s: '%s' is not a number", what, s);
        return false;
    }
    n = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || n < lo || n > hi) {
        snprintf(err, RD_ERRLEN, "%s: '%s' is not a number from %llu to %llu",
                 what, s, (unsigned long long) lo, (unsigned long long) hi);
        return false;
    }
    *v = n;
    return true;
}


/*
 * --metrics: PORT, :PORT, ADDR:PORT or [ADDR6]:PORT, numeric addresses
 * only (no name lookup before the capture); 127.0.0.1 when ADDR is left
 * out, so that nothing is exposed beyond the host unless asked.
 */
static bool
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
    char err[RD_ERRLEN])
{
    struct sockaddr_in   *s4 = (struct sockaddr_in *) ss;
    struct sockaddr_in6  *s6 = (struct sockaddr_in6 *) ss;
    char                  host[64];
    const char           *port, *close, *colon;
    char                 *end;
    unsigned long         n;
    bool                  v6;

    memset(ss, 0, sizeof(*ss));
    v6 = false;
    if (s[0] == '[') {
        close = strchr(s, ']');
        if (close == NULL || close[1] != ':'
            || (size_t) (close - s - 1) >= sizeof(host))
        {
            goto bad;
        }
        memcpy(host, s + 1, (size_t) (close - s - 1));
        host[close - s - 1] = '\0';
        port = close + 2;
        v6 = true;
    } else if ((colon = strrchr(s, ':')) != NULL) {
        if (strchr(s, ':') != colon || (size_t) (colon - s) >= sizeof(host)) {
            goto bad;               /* a bare IPv6 address needs [] */
        }
        memcpy(host, s, (size_t) (colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    } else {
        host[0] = '\0';
        port = s;
    }
    if (port[0] < '0' || port[0] > '9') {
        goto bad;
    }
    errno = 0;
    n = strtoul(port, &end, 10);
    if (errno != 0 || *end != '\0' || n == 0 || n > 65535) {
        goto bad;
    }
    if (host[0] == '\0' && !v6) {
        strcpy(host, "127.0.0.1");
    }
    if (!v6 && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t) n);
        *len = sizeof(*s4);
        return true;
    }
    if (v6 && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t) n);
        *len = sizeof(*s6);
        return true;
    }

bad:
    snprintf(err, RD_ERRLEN, "--metrics: '%s' is not [ADDR:]PORT (ADDR a "
             "numeric IPv4 address or [IPv6], PORT 1 to 65535)", s);
    return false;
}


enum rd_cli_action
rd_cli_parse(int argc, char **argv, struct rd_opts *o, char err[RD_ERRLEN])
{
    int       ch, i;
    uint64_t  v;
    size_t    len;

    memset(o, 0, sizeof(*o));
    o->snaplen = RD_LIMITS_SNAPLEN;
    o->progress = -1;
    rd_pipeline_cfg_default(&o->pipeline);
    opterr = 0;
    optind = 1;

    while ((ch = getopt_long(argc, argv, "+r:i:c:s:Z:vhn", long_opts, NULL))
           != -1)
    {
        switch (ch) {
        case 'r':
            if (o->nfiles == RD_CLI_MAX_FILES) {
                snprintf(err, RD_ERRLEN, "-r: at most %d files",
                         RD_CLI_MAX_FILES);
                return RD_CLI_ERROR;
            }
            o->files[o->nfiles++] = optarg;
            break;
        case 'i':
            o->iface = optarg;
            break;
        case 'c':
            if (!parse_num(optarg, 1, UINT64_MAX, &o->count, "-c", err)) {
                return RD_CLI_ERROR;
            }
            break;
        case 's':
            if (!parse_num(optarg, 0, 262144, &v, "-s", err)) {
                return RD_CLI_ERROR;
            }
            o->snaplen = v == 0 ? 262144 : (int) v;
            break;
        case 'Z':
            o->user = optarg;
            break;
        case 'n':
            break;              /* tcpdump habit: names are never resolved */
        case 'v':
            o->report.verbose = true;
            break;
        case 'h':
            return RD_CLI_HELP;
        case OPT_VERSION:
            return RD_CLI_VERSION;
        case OPT_LIST_VERDICTS:
            return RD_CLI_LIST_VERDICTS;
        case OPT_JSON:
            o->report.json = true;
            break;
        case OPT_ALL:
            o->report.all = true;
            break;
        case OPT_MAX_FLOWS:
            if (!parse_num(optarg, 1, 1u << 24, &v, "--max-flows", err)) {
                return RD_CLI_ERROR;
            }
            o->pipeline.max_flows = (uint32_t) v;
            break;
        case OPT_IDLE_TIMEOUT:
            if (!parse_num(optarg, 1, 86400, &v, "--idle-timeout", err)) {
                return RD_CLI_ERROR;
            }
            o->pipeline.idle_timeout = (uint32_t) v;
            if (o->pipeline.closed_linger > v) {
                o->pipeline.closed_linger = (uint32_t) v;
            }
            break;
        case OPT_MAX_OOO:
            if (!parse_num(optarg, 0, 1u << 30, &v, "--max-ooo-bytes", err)) {
                return RD_CLI_ERROR;
            }
            o->pipeline.ooo_pool_bytes = (uint32_t) v;
            break;
        case OPT_MAX_HEADER:
            if (!parse_num(optarg, 64, 1u << 24, &v, "--max-header-bytes",
                           err))
            {
                return RD_CLI_ERROR;
            }
            o->pipeline.max_header_bytes = (uint32_t) v;
            break;
        case OPT_NGINX:
        case OPT_UPSTREAM:
            if (o->nnginx + o->nupstream == RD_CLI_MAX_FILES) {
                snprintf(err, RD_ERRLEN, "too many --nginx/--upstream");
                return RD_CLI_ERROR;
            }
            if (ch == OPT_NGINX) {
                o->nginx[o->nnginx++] = optarg;
            } else {
                o->upstream[o->nupstream++] = optarg;
            }
            break;
        case OPT_FASTCGI:
            if (o->nfastcgi == RD_CLI_MAX_FILES) {
                snprintf(err, RD_ERRLEN, "too many --fastcgi");
                return RD_CLI_ERROR;
            }
            o->fastcgi[o->nfastcgi++] = optarg;
            break;
        case OPT_NGINX_VERSION:
            o->nginx_version = optarg;
            break;
        case OPT_NGINX_CONF:
            o->nginx_conf = optarg;
            break;
        case OPT_ERROR_LOG:
            if (o->nerror_log == RD_ERRLOG_MAX_FILES) {
                snprintf(err, RD_ERRLEN, "--error-log: at most %d files",
                         RD_ERRLOG_MAX_FILES);
                return RD_CLI_ERROR;
            }
            o->error_log[o->nerror_log++] = optarg;
            break;
        case OPT_ERROR_LOG_TZ:
            o->error_log_tz = optarg;
            break;
        case OPT_ERROR_LOG_WINDOW:
            if (!parse_num(optarg, 1, 86400, &v, "--error-log-window", err)) {
                return RD_CLI_ERROR;
            }
            o->report.errjoin.window_s = (uint32_t) v;
            break;
        case OPT_ERROR_LOG_MAX_LINES:
            if (!parse_num(optarg, 16, 1u << 22, &v, "--error-log-max-lines",
                           err))
            {
                return RD_CLI_ERROR;
            }
            o->report.errjoin.max_lines = (uint32_t) v;
            break;
        case OPT_OUTPUT:
            if (optarg[0] == '\0') {
                snprintf(err, RD_ERRLEN, "--output: empty file name");
                return RD_CLI_ERROR;
            }
            o->output = optarg;
            break;
        case OPT_METRICS:
            if (!parse_listen(optarg, &o->metrics_addr, &o->metrics_len,
                              err))
            {
                return RD_CLI_ERROR;
            }
            o->metrics = optarg;
            break;
        case OPT_INTERVAL:
            if (!parse_num(optarg, 1, 86400, &v, "--interval", err)) {
                return RD_CLI_ERROR;
            }
            o->interval = (uint32_t) v;
            break;
        case OPT_EVIDENCE:
            if (optarg[0] == '\0') {
                snprintf(err, RD_ERRLEN, "--evidence: empty directory name");
                return RD_CLI_ERROR;
            }
            o->evidence = optarg;
            break;
        case OPT_EVIDENCE_MAX_PACKETS:
            if (!parse_num(optarg, 1, 4096, &v, "--evidence-max-packets",
                           err))
            {
                return RD_CLI_ERROR;
            }
            o->pipeline.evidence_max_packets = (uint32_t) v;
            o->evidence_opts = true;
            break;
        case OPT_EVIDENCE_POOL_BYTES:
            if (!parse_num(optarg, 65536, 1ull << 36, &v,
                           "--evidence-pool-bytes", err))
            {
                return RD_CLI_ERROR;
            }
            o->pipeline.evidence_pool_bytes = v;
            o->evidence_opts = true;
            break;
        case OPT_EVIDENCE_SNAPLEN:
            if (!parse_num(optarg, 0, 262144, &v, "--evidence-snaplen", err))
            {
                return RD_CLI_ERROR;
            }
            if (v != 0 && v < RD_EVIDENCE_SNAPLEN_MIN) {
                snprintf(err, RD_ERRLEN, "--evidence-snaplen: %llu is under "
                         "%d, the headers would be cut (0: whole packets)",
                         (unsigned long long) v, RD_EVIDENCE_SNAPLEN_MIN);
                return RD_CLI_ERROR;
            }
            o->pipeline.evidence_snaplen = (uint32_t) v;
            o->evidence_opts = true;
            break;
        case OPT_EVIDENCE_MAX_FILES:
            if (!parse_num(optarg, 1, RD_EVIDENCE_FILES_CAP, &v,
                           "--evidence-max-files", err))
            {
                return RD_CLI_ERROR;
            }
            o->evidence_max_files = (uint32_t) v;
            o->evidence_opts = true;
            break;
        case OPT_EVIDENCE_MAX_BYTES:
            if (!parse_num(optarg, 1, 1ull << 48, &v, "--evidence-max-bytes",
                           err))
            {
                return RD_CLI_ERROR;
            }
            o->evidence_max_bytes = v;
            o->evidence_opts = true;
            break;
        case OPT_NO_PROGRESS:
            o->progress = 0;
            break;
        case OPT_PROGRESS:
            o->progress = 1;
            break;
        default:
            if (optopt != 0 && optopt < 256) {
                snprintf(err, RD_ERRLEN, "-%c: %s", optopt,
                         strchr("ricsZ", optopt) ? "needs an argument"
                                                 : "unknown option");
            } else {
                snprintf(err, RD_ERRLEN, "%s: unknown option or missing "
                         "argument", argv[optind - 1]);
            }
            return RD_CLI_ERROR;
        }
    }

    if (o->nfiles == 0 && o->iface == NULL) {
        snprintf(err, RD_ERRLEN, "nothing to read: give -r FILE or -i IFACE");
        return RD_CLI_ERROR;
    }
    if (o->nfiles > 0 && o->iface != NULL) {
        snprintf(err, RD_ERRLEN, "-r and -i cannot be used together");
        return RD_CLI_ERROR;
    }
    if ((o->metrics != NULL || o->interval != 0) && o->iface == NULL) {
        snprintf(err, RD_ERRLEN, "%s: only with -i (a live capture); a "
                 "file is read to its end at once",
                 o->metrics != NULL ? "--metrics" : "--interval");
        return RD_CLI_ERROR;
    }
    if (o->nerror_log > 1 && o->iface != NULL) {
        snprintf(err, RD_ERRLEN, "--error-log: with -i, one file (the one "
                 "nginx writes, followed as it grows)");
        return RD_CLI_ERROR;
    }
    if ((o->error_log_tz != NULL || o->report.errjoin.window_s != 0
         || o->report.errjoin.max_lines != 0) && o->nerror_log == 0)
    {
        snprintf(err, RD_ERRLEN, "--error-log-tz, --error-log-window and "
                 "--error-log-max-lines need --error-log");
        return RD_CLI_ERROR;
    }
    if (o->evidence_opts && o->evidence == NULL) {
        snprintf(err, RD_ERRLEN, "--evidence-max-packets, "
                 "--evidence-pool-bytes, --evidence-snaplen, "
                 "--evidence-max-files and --evidence-max-bytes need "
                 "--evidence");
        return RD_CLI_ERROR;
    }
    if (o->evidence != NULL) {
        if (o->pipeline.evidence_max_packets == 0) {
            o->pipeline.evidence_max_packets = RD_EVIDENCE_MAX_PACKETS;
        }
        if (o->evidence_max_files == 0) {
            o->evidence_max_files = RD_EVIDENCE_MAX_FILES;
        }
        if (o->evidence_max_bytes == 0) {
            o->evidence_max_bytes = RD_EVIDENCE_MAX_BYTES;
        }
    }
    if (o->report.errjoin.window_s == 0) {
        o->report.errjoin.window_s = 30;
    }
    if (o->report.errjoin.max_lines == 0) {
        o->report.errjoin.max_lines = 16384;
    }
    o->report.errjoin.hold_max = 256;
    o->report.errjoin.hold_bytes = 8u << 20;
    if (o->iface != NULL) {
        /* live: every decided connection with something to say waits a
         * few seconds for nginx's line */
        o->report.errjoin.hold_max = 4096;
    }

    if (o->nginx_conf != NULL && strcmp(o->nginx_conf, "-") == 0) {
        for (i = 0; i < (int) o->nfiles; i++) {
            if (strcmp(o->files[i], "-") == 0) {
                snprintf(err, RD_ERRLEN, "--nginx-conf - and -r - cannot "
                         "both read stdin");
                return RD_CLI_ERROR;
            }
        }
    }

    /* the filter is the rest of the line, as for tcpdump */
    len = 0;
    for (i = optind; i < argc; i++) {
        len += strlen(argv[i]) + 1;
    }
    if (len > 0) {
        o->filter = malloc(len);
        if (o->filter == NULL) {
            snprintf(err, RD_ERRLEN, "out of memory");
            return RD_CLI_ERROR;
        }
        o->filter[0] = '\0';
        for (i = optind; i < argc; i++) {
            if (i > optind) {
                strcat(o->filter, " ");
            }
            strcat(o->filter, argv[i]);
        }
    }
    return RD_CLI_RUN;
}


void
rd_cli_free(struct rd_opts *o)
{
    free(o->filter);
    o->filter = NULL;
}
