/*
 * cli: command line -> struct rd_opts.  Private to the rstdiag program.
 */
#ifndef RD_CLI_H
#define RD_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rstdiag/common.h"
#include "rstdiag/pipeline.h"
#include "rstdiag/report.h"

/* Exit status, like diff(1) (documented in rstdiag(8) EXIT STATUS). */
enum rd_exit {
    RD_EXIT_OK = 0,             /* nothing abnormal */
    RD_EXIT_FINDINGS = 1,       /* abnormal connections found */
    RD_EXIT_ERROR = 2           /* usage or input error */
};

#define RD_CLI_MAX_FILES 1024

struct rd_opts {
    const char             *files[RD_CLI_MAX_FILES];
    size_t                  nfiles;
    const char             *iface;          /* -i */
    uint64_t                count;          /* -c, 0 = unlimited */
    int                     snaplen;        /* -s */
    const char             *user;           /* -Z */
    char                   *filter;         /* trailing arguments, joined */
    const char             *nginx[RD_CLI_MAX_FILES];      /* --nginx */
    size_t                  nnginx;
    const char             *upstream[RD_CLI_MAX_FILES];   /* --upstream */
    size_t                  nupstream;
    const char             *nginx_version;  /* --nginx-version */
    const char             *nginx_conf;     /* --nginx-conf, "-" stdin */
    const char             *fastcgi[RD_CLI_MAX_FILES];    /* --fastcgi */
    size_t                  nfastcgi;
    const char             *error_log[RD_ERRLOG_MAX_FILES]; /* --error-log */
    size_t                  nerror_log;
    const char             *error_log_tz;   /* --error-log-tz */
    int                     progress;       /* -1 auto, 0 off, 1 on */
    const char             *output;         /* --output, NULL stdout */
    const char             *metrics;        /* --metrics as given */
    struct sockaddr_storage metrics_addr;   /* ... parsed */
    socklen_t               metrics_len;    /* ... 0 without */
    uint32_t                interval;       /* --interval, 0 none */
    const char             *evidence;       /* --evidence DIR, or NULL */
    uint32_t                evidence_max_files;     /* --evidence-max-files */
    uint64_t                evidence_max_bytes;     /* --evidence-max-bytes */
    bool                    evidence_opts;  /* an --evidence-* was given */
    struct rd_report_cfg    report;
    struct rd_pipeline_cfg  pipeline;
};

/* What rd_cli_parse() wants main() to do. */
enum rd_cli_action {
    RD_CLI_RUN = 0,
    RD_CLI_HELP,
    RD_CLI_VERSION,
    RD_CLI_LIST_VERDICTS,
    RD_CLI_ERROR                /* err holds the reason */
};

/* Parse argv into o (filter is malloc'ed: free it with rd_cli_free). */
enum rd_cli_action rd_cli_parse(int argc, char **argv, struct rd_opts *o,
    char err[RD_ERRLEN]);

void rd_cli_free(struct rd_opts *o);

/* The --help text. */
void rd_cli_usage(FILE *f);

#endif /* RD_CLI_H */
