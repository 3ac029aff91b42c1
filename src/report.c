/*
 * report: JSON lines and the human report.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "rstdiag/json.h"
#include "rstdiag/fixedit.h"
#include "rstdiag/legs.h"
#include "rstdiag/report.h"

static const char  *side_name[2] = { "client", "server" };

static void write_tls_json(FILE *f, const struct rd_conn *c);

struct rd_report {
    FILE                   *out;
    FILE                   *spool;      /* text: blocks until the summary */
    struct rd_report_cfg    cfg;
    const struct rd_legs   *legs;       /* for the nginx version */
    uint64_t                printed;
    uint64_t                findings;
    struct rd_errjoin      *ej;         /* --error-log */
    char                    ej_err[RD_ERRLEN];  /* its read error */
    const char             *ej_file;    /* the last unmatched line's file */
    size_t                  ej_file_len;
    bool                    ej_file_plain;  /* ... needs no escape */
};


static void ej_conn(void *arg, uint64_t id, char *rendered, size_t len,
    const struct rd_errjoin_result *res);
static void ej_line(void *arg, const struct rd_errjoin_line *l, int64_t utc,
    int reason);


static int
ej_next(void *arg, struct rd_errjoin_line *out, char err[RD_ERRLEN])
{
    return rd_errlog_next(arg, out, err);
}


static int
ej_rewind(void *arg, char err[RD_ERRLEN])
{
    return rd_errlog_rewind(arg, err);
}


static void
ej_only(void *arg, const char *const *msgs, size_t n)
{
    rd_errlog_only(arg, msgs, n);
}


static void
ej_only_times(void *arg, int64_t base, int64_t width, int64_t step,
    unsigned n)
{
    rd_errlog_only_times(arg, base, width, step, n);
}


struct rd_report *
rd_report_create(FILE *out, const struct rd_report_cfg *cfg,
    char err[RD_ERRLEN])
{
    struct rd_report  *r;

    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(err, RD_ERRLEN, "out of memory");
        return NULL;
    }
    r->out = out;
    r->cfg = *cfg;
    if (!cfg->json && !cfg->stream) {
        r->spool = tmpfile();
        if (r->spool == NULL) {
            snprintf(err, RD_ERRLEN, "cannot create a temporary file");
            free(r);
            return NULL;
        }
    }
    if (cfg->error_log != NULL) {
        struct rd_errjoin_source  src = { ej_next, ej_rewind,
                                          cfg->error_log, ej_only,
                                          ej_only_times };
        struct rd_errjoin_sink    sink = { ej_conn, ej_line, r };

        /* the join reads no message of a line without context */
        rd_errlog_lean(cfg->error_log, true);
        r->ej = rd_errjoin_create(&cfg->errjoin, &src, &sink, err);
        if (r->ej == NULL) {
            rd_report_destroy(r);
            return NULL;
        }
    }
    return r;
}


void
rd_report_set_legs(struct rd_report *r, const struct rd_legs *legs)
{
    r->legs = legs;
}


void
rd_report_destroy(struct rd_report *r)
{
    if (r == NULL) {
        return;
    }
    if (r->spool != NULL) {
        fclose(r->spool);
    }
    rd_errjoin_destroy(r->ej);
    free(r);
}


uint64_t
rd_report_findings(const struct rd_report *r)
{
    return r->findings;
}


static void
ep_str(char *buf, size_t size, const struct rd_conn *c, int i)
{
    rd_ep_format(buf, size, c->af, c->ep[i].addr, c->ep[i].port);
}


static void
json_ts_or_null(FILE *f, rd_usec_t ts)
{
    if (ts == 0) {
        fputs("null", f);
    } else {
        rd_json_ts(f, ts);
    }
}


/* seconds between a and b as a JSON number */
static void
json_delta(FILE *f, rd_usec_t from, rd_usec_t to)
{
    rd_json_ts(f, to - from);
}


static void
json_pair_u64(FILE *f, const char *key, uint64_t a, uint64_t b)
{
    fprintf(f, ",\"%s\":{\"client\":%" PRIu64 ",\"server\":%" PRIu64 "}",
            key, a, b);
}


static void
json_version(FILE *f, unsigned v)
{
    if (v == 0) {
        fputs("null", f);
    } else if (v == 9) {
        fputs("\"HTTP/0.9\"", f);
    } else {
        fprintf(f, "\"HTTP/%u.%u\"", v / 10, v % 10);
    }
}


static void
json_findings(FILE *f, uint32_t mask, bool invalid_record, bool stderr_seen)
{
    int   i;
    bool  first = true;

    putc('[', f);
    for (i = 0; i < RD_HTTP1_NFINDINGS; i++) {
        if (mask & (1u << i)) {
            fprintf(f, "%s\"%s\"", first ? "" : ",",
                    rd_tok2str(rd_http1_finding_names, i, "?"));
            first = false;
        }
    }
    if (invalid_record) {
        fprintf(f, "%s\"invalid_record\"", first ? "" : ",");
        first = false;
    }
    if (stderr_seen) {
        fprintf(f, "%s\"stderr_seen\"", first ? "" : ",");
    }
    putc(']', f);
}


/* FastCGI extras of exchange k: STDERR text and END_REQUEST. */
static void
write_fcgi_json(FILE *f, const struct rd_conn *c, uint32_t k)
{
    const struct rd_fcgi_exchange  *x;
    int                             i;

    x = NULL;
    for (i = 0; c->app != NULL && i < RD_FCGI_SLOTS; i++) {
        if (c->app->fcgi->slot[i].seq == k && c->app->fcgi->slot[i].ts_begin != 0) {
            x = &c->app->fcgi->slot[i];
        }
    }
    fputs(",\"stderr\":", f);
    if (x != NULL && x->stderr_len > 0) {
        rd_json_str(f, x->stderr_text, x->stderr_len);
    } else {
        fputs("null", f);
    }
    fputs(",\"end_request\":", f);
    if (x != NULL && (x->flags & RD_FCGI_F_END_REQUEST)) {
        fprintf(f, "{\"app_status\":%" PRIu32 ",\"protocol_status\":\"%s\"}",
                x->app_status,
                rd_tok2str(rd_fcgi_protocol_status_names, x->protocol_status,
                           "unknown"));
    } else {
        fputs("null", f);
    }
}


static void
write_exchange_json(FILE *f, const struct rd_conn *c, uint32_t k,
    const struct rd_exchange *e)
{
    fputs("{\"method\":", f);
    if (e->has_req && e->method_len > 0) {
        rd_json_str(f, e->method, e->method_len);
    } else {
        fputs("null", f);
    }
    fputs(",\"target\":", f);
    if (e->has_req && e->target_len > 0) {
        rd_json_str(f, e->target, e->target_len);
    } else {
        fputs("null", f);
    }
    fputs(",\"version\":", f);
    json_version(f, e->version);
    fputs(",\"status\":", f);
    if (e->has_resp && e->status != 0) {
        fprintf(f, "%u", (unsigned) e->status);
    } else {
        fputs("null", f);
    }
    fputs(",\"response_version\":", f);
    json_version(f, e->has_resp ? e->resp_version : 0);
    fputs(",\"content_length\":", f);
    if (e->has_resp && e->content_length >= 0) {
        fprintf(f, "%" PRId64, e->content_length);
    } else {
        fputs("null", f);
    }
    fprintf(f, ",\"body_bytes\":%" PRIu64 ",\"chunked\":%s,\"framing\":",
            e->body_bytes, e->chunked ? "true" : "false");
    if (e->has_resp && (e->resp_done || e->findings != 0)) {
        fprintf(f, "\"%s\"", rd_tok2str(rd_http1_finding_names, e->framing,
                                        "?"));
    } else {
        fputs("null", f);
    }
    fputs(",\"findings\":", f);
    json_findings(f, e->findings, e->invalid_record, e->stderr_seen);
    fprintf(f, ",\"framing_offset\":%" PRIu64, e->framing_off);
    fprintf(f, ",\"header_bytes\":%" PRIu64, e->header_bytes);
    fprintf(f, ",\"request_header_bytes\":%" PRIu64
            ",\"request_body_bytes\":%" PRIu64 ",\"request_framing\":",
            e->req_header_bytes, e->req_body_bytes);
    if (e->has_req && e->req_done) {
        fprintf(f, "\"%s\"", rd_tok2str(rd_http1_finding_names,
                                        e->req_framing, "?"));
    } else {
        fputs("null", f);
    }
    fprintf(f, ",\"interim_responses\":%u,\"keep_alive\":%s",
            (unsigned) e->interim, e->keep_alive ? "true" : "false");
    fputs(",\"ts_request_start\":", f);
    json_ts_or_null(f, e->req_start);
    fputs(",\"ts_request_end\":", f);
    json_ts_or_null(f, e->req_end);
    fputs(",\"ts_response_start\":", f);
    json_ts_or_null(f, e->resp_start);
    fputs(",\"ts_response_end\":", f);
    json_ts_or_null(f, e->resp_end);
    if (c->proto == RD_PROTO_FASTCGI) {
        write_fcgi_json(f, c, k);
    }
    putc('}', f);
}


static void
json_cstr_or_null(FILE *f, const char *s)
{
    if (s == NULL) {
        fputs("null", f);
    } else {
        rd_json_cstr(f, s);
    }
}


/* s with every byte outside printable ASCII as '?': messages can hold
 * packet bytes (a header value, FastCGI stderr). */
static void
put_printable(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        putc(*s >= 0x20 && *s < 0x7f ? *s : '?', f);
    }
}


/*
 * "zero_window": one object per side that advertised a zero window: how
 * often and how long, the probes its peer sent, and, for the side that
 * did not close first, whether the window was still shut at that close
 * (or how soon after it opened the close came).
 */
static void
write_zero_window_json(FILE *f, const struct rd_conn *c)
{
    const struct rd_tcp_zw        *z;
    const struct rd_tcp_zw_close  *zc;
    const struct rd_tcp_dir       *d;
    bool                           first, stalled;
    int                            i;

    fputs(",\"zero_window\":[", f);
    first = true;
    for (i = 0; c->has_zw && i < 2; i++) {
        z = &c->cold->zw[i];
        d = &c->side[i].tcp;
        if (z->episodes == 0) {
            continue;
        }
        fprintf(f, "%s{\"by\":\"%s\",\"episodes\":%u,\"seconds\":%.3f"
                ",\"longest\":%.3f,\"probes\":%u", first ? "" : ",",
                side_name[i], (unsigned) z->episodes,
                (double) rd_tcp_zw_total_ms(d, z, c->ts_end) / 1000,
                (double) rd_tcp_zw_longest_ms(d, z, c->ts_end) / 1000,
                (unsigned) z->probes);
        zc = &c->cold->zw_close;
        stalled = c->close_kind != RD_CLOSE_NONE && c->close_by != i
                  && zc->seen && (zc->at_close || zc->stall_ms > 0);
        fprintf(f, ",\"at_close\":%s,\"stall_before_close\":",
                stalled && zc->at_close ? "true" : "false");
        if (stalled) {
            fprintf(f, "%.3f", (double) zc->stall_ms / 1000);
        } else {
            fputs("null", f);
        }
        fputs(",\"reopen_to_close\":", f);
        if (stalled && !zc->at_close) {
            fprintf(f, "%.3f", (double) zc->after_ms / 1000);
        } else {
            fputs("null", f);
        }
        putc('}', f);
        first = false;
    }
    putc(']', f);
}


/* --nginx-conf: the fix as an edit, or null */
static void
write_fix_edit_json(FILE *f, const struct rd_fix_edit *fe)
{
    char  where[512];

    fputs(",\"fix_edit\":", f);
    if (fe == NULL) {
        fputs("null", f);
        return;
    }
    fputs("{\"directive\":", f);
    rd_json_cstr(f, fe->directive);
    fputs(",\"current\":", f);
    json_cstr_or_null(f, fe->current.text);
    fputs(",\"where\":", f);
    if (fe->current.file != NULL) {
        snprintf(where, sizeof(where), "%s:%u", fe->current.file,
                 (unsigned) fe->current.line);
        rd_json_cstr(f, where);
    } else {
        rd_json_cstr(f, "default");
    }
    fputs(",\"location\":", f);
    json_cstr_or_null(f, fe->location);
    fprintf(f, ",\"side\":\"%s\",\"set\":",
            rd_tok2str(rd_fix_side_names, fe->side, "?"));
    json_cstr_or_null(f, fe->set[0] != '\0' ? fe->set : NULL);
    fputs(",\"why\":", f);
    rd_json_cstr(f, fe->why);
    putc('}', f);
}


static void
write_verdict_json(FILE *f, const struct rd_conn *c,
    const struct rd_verdict *v, const struct rd_nginxconf *nc,
    const struct rd_fix_edit *fe)
{
    const struct rd_verdict_rule  *rule = v->rule;
    unsigned                       i;

    fprintf(f, ",\"leg\":\"%s\"", rd_tok2str(rd_leg_names, c->leg, "unknown"));
    if (nc != NULL) {
        write_fix_edit_json(f, fe);
    }
    /* --nginx-conf: the upstream{} block whose server this leg went to */
    if (nc != NULL && c->leg == RD_LEG_UPSTREAM) {
        fputs(",\"upstream_name\":", f);
        json_cstr_or_null(f, rd_nginxconf_upstream_name(nc, c->af,
                          c->ep[RD_CONN_SERVER].addr,
                          c->ep[RD_CONN_SERVER].port));
    }
    fputs(",\"paired_with\":[", f);
    for (i = 0; i < c->npaired; i++) {
        fprintf(f, "%s%" PRIu64, i ? "," : "", c->cold->paired[i]);
    }
    putc(']', f);
    /* how the pair was made, and whether it was certain */
    if (c->npaired > 0) {
        fprintf(f, ",\"pairing\":\"%s\",\"pairing_confirmed\":%s",
                rd_tok2str(rd_pairing_names, c->cold->pairing, "none"),
                v->pair_confirmed ? "true" : "false");
        fputs(",\"pairing_candidates\":[", f);
        /* the client legs that fitted: the one chosen first */
        if (c->cold->pair_alt != 0) {
            fprintf(f, "%" PRIu64 ",%" PRIu64,
                    c->has_peer ? c->cold->peer_leg_id : c->id,
                    c->cold->pair_alt);
        }
        putc(']', f);
    } else {
        fputs(",\"pairing\":null", f);
    }
    if (v->cause != RD_V_NONE && c->has_cause) {
        fprintf(f, ",\"cause\":\"%s\",\"cause_leg\":%" PRIu64,
                rd_tok2str(rd_verdict_names, v->cause, "?"),
                c->cold->cause_id);
    } else {
        fputs(",\"cause\":null", f);
    }
    if (v->code == RD_V_NONE) {
        fputs(",\"verdict\":null,\"severity\":null,\"blame\":null"
              ",\"nginx_message\":null,\"causes\":null,\"fix\":null", f);
        return;
    }
    fprintf(f, ",\"verdict\":\"%s\",\"severity\":\"%s\",\"blame\":\"%s\"",
            rd_tok2str(rd_verdict_names, v->code, "?"),
            rd_tok2str(rd_severity_names, v->severity, "?"),
            rd_tok2str(rd_blame_names, rule->blame, "?"));
    fputs(",\"nginx_message\":", f);
    json_cstr_or_null(f, v->message);
    fputs(",\"nginx_log_level\":", f);
    json_cstr_or_null(f, v->message != NULL ? v->level : NULL);
    fputs(",\"nginx_versions\":", f);
    rd_json_cstr(f, v->row != NULL ? v->versions
                    : ">=1.22 with default proxy settings");
    /* what the client gets and what nginx retries, by the version table */
    fputs(",\"nginx_client_gets\":", f);
    json_cstr_or_null(f, v->row != NULL && v->row->gets != RD_GETS_UNKNOWN
                         ? rd_tok2str(rd_client_gets_names, v->row->gets, "?")
                         : NULL);
    fputs(",\"nginx_client_status\":", f);
    if (v->row != NULL && v->row->client_status != 0) {
        fprintf(f, "%d", v->row->client_status);
    } else {
        fputs("null", f);
    }
    fputs(",\"nginx_retry\":", f);
    json_cstr_or_null(f, v->row != NULL ? v->row->retry : NULL);
    /* the version the prediction used, and where it came from */
    fputs(",\"nginx_version_used\":", f);
    if (v->nginx_version != 0) {
        fprintf(f, "\"%u.%u.%u\"", (unsigned) (v->nginx_version / 10000),
                (unsigned) (v->nginx_version / 100 % 100),
                (unsigned) (v->nginx_version % 100));
    } else {
        fputs("null", f);
    }
    fputs(",\"nginx_version_from\":", f);
    json_cstr_or_null(f, v->nginx_version_from);
    fputs(",\"causes\":", f);
    json_cstr_or_null(f, rule->causes);
    fputs(",\"fix\":", f);
    json_cstr_or_null(f, rule->fix);
    fprintf(f, ",\"confidence\":\"%s\",\"confidence_reason\":",
            rd_tok2str(rd_confidence_names, v->confidence, "?"));
    json_cstr_or_null(f, v->why);
    fprintf(f, ",\"capture_drops_during\":%llu",
            (unsigned long long) v->capture_drops);
    fputs(",\"note\":", f);
    json_cstr_or_null(f, v->note);
    fputs(",\"elapsed\":", f);
    if (v->elapsed >= 0) {
        fprintf(f, "%.6f", v->elapsed);
    } else {
        fputs("null", f);
    }
    fputs(",\"idle_before_reuse\":", f);
    if (v->idle >= 0) {
        fprintf(f, "%.6f", v->idle);
    } else {
        fputs("null", f);
    }
}


static void
write_conn_json(FILE *f, const struct rd_conn *c, const struct rd_verdict *v,
    const struct rd_nginxconf *nc, const struct rd_fix_edit *fe)
{
    char                        cl[RD_EP_STRLEN], sv[RD_EP_STRLEN];
    const struct rd_conn_side  *s;
    const struct rd_conn_rst   *r;
    const uint8_t              *srv;
    size_t                      srv_len;
    int                         i;
    unsigned                    k;
    bool                        first;

    ep_str(cl, sizeof(cl), c, 0);
    ep_str(sv, sizeof(sv), c, 1);
    fprintf(f, "{\"type\":\"connection\",\"id\":%" PRIu64, c->id);
    fputs(",\"client\":", f);
    rd_json_cstr(f, cl);
    fputs(",\"server\":", f);
    rd_json_cstr(f, sv);
    fputs(",\"ts_start\":", f);
    rd_json_ts(f, c->ts_start);
    fputs(",\"ts_end\":", f);
    rd_json_ts(f, c->ts_end);
    fputs(",\"duration\":", f);
    json_delta(f, c->ts_start, c->ts_end);
    fprintf(f, ",\"roles_inferred\":%s", c->roles_inferred ? "true" : "false");
    fprintf(f, ",\"handshake\":{\"syn\":%s,\"synack\":%s,\"established\":%s}",
            c->syn ? "true" : "false", c->synack ? "true" : "false",
            c->established ? "true" : "false");

    fputs(",\"first_close\":", f);
    if (c->close_kind == RD_CLOSE_NONE) {
        fputs("null", f);
    } else {
        fprintf(f, "{\"by\":\"%s\",\"kind\":\"%s\",\"ts\":",
                side_name[c->close_by],
                rd_tok2str(rd_close_kind_names, c->close_kind, "?"));
        rd_json_ts(f, c->close_ts);
        fputs(",\"after_last_data\":{", f);
        for (i = 0; i < 2; i++) {
            s = &c->side[i];
            fprintf(f, "%s\"%s\":", i ? "," : "", side_name[i]);
            if (s->last_data_ts == 0) {
                fputs("null", f);
            } else {
                json_delta(f, s->last_data_ts, c->close_ts);
            }
        }
        fputs("}}", f);
    }

    fputs(",\"rst\":[", f);
    for (k = 0; k < c->nrst; k++) {
        r = &c->cold->rst[k];
        fprintf(f, "%s{\"by\":\"%s\",\"ts\":", k ? "," : "", side_name[r->by]);
        rd_json_ts(f, r->ts);
        fprintf(f, ",\"acceptable\":%s,\"exact\":%s,\"judged\":%s"
                ",\"seq\":%" PRIu32 ",\"data_bytes\":%" PRIu32
                ",\"answers_syn\":%s,\"after_fin\":%s"
                ",\"unacked\":%" PRIu32 ",\"unread_peer\":%" PRIu32
                ",\"ttl\":%u",
                r->acceptable ? "true" : "false", r->exact ? "true" : "false",
                r->known ? "true" : "false", r->seq, r->payload_len,
                r->answers_syn ? "true" : "false",
                r->after_fin ? "true" : "false", r->unacked, r->unread_peer,
                (unsigned) r->ttl);
        if (c->af == 4) {
            fprintf(f, ",\"ip_id\":%u", (unsigned) r->ip_id);
        }
        putc('}', f);
    }
    fprintf(f, "],\"rst_count\":%" PRIu32, c->rst_total);

    fputs(",\"fin\":{", f);
    for (i = 0; i < 2; i++) {
        fprintf(f, "%s\"%s\":", i ? "," : "", side_name[i]);
        json_ts_or_null(f, c->side[i].fin_ts);
    }
    fputs("},\"last_data\":{", f);
    for (i = 0; i < 2; i++) {
        fprintf(f, "%s\"%s\":", i ? "," : "", side_name[i]);
        json_ts_or_null(f, c->side[i].last_data_ts);
    }
    putc('}', f);

    json_pair_u64(f, "bytes", rd_conn_stream_bytes(c, 0),
                  rd_conn_stream_bytes(c, 1));
    json_pair_u64(f, "captured_bytes", c->side[0].tcp.bytes,
                  c->side[1].tcp.bytes);
    json_pair_u64(f, "packets", c->side[0].tcp.pkts, c->side[1].tcp.pkts);
    json_pair_u64(f, "retransmissions", c->side[0].tcp.retrans,
                  c->side[1].tcp.retrans);
    json_pair_u64(f, "overlaps", c->side[0].tcp.overlaps,
                  c->side[1].tcp.overlaps);
    json_pair_u64(f, "out_of_order", c->side[0].tcp.ooo, c->side[1].tcp.ooo);
    json_pair_u64(f, "gap_bytes", c->side[0].tcp.gap_bytes,
                  c->side[1].tcp.gap_bytes);
    json_pair_u64(f, "snaplen_cut_bytes", c->side[0].tcp.cut_bytes,
                  c->side[1].tcp.cut_bytes);
    write_zero_window_json(f, c);

    fputs(",\"ttl\":{", f);
    for (i = 0; i < 2; i++) {
        s = &c->side[i];
        fprintf(f, "%s\"%s\":", i ? "," : "", side_name[i]);
        if (s->ttl_samples == 0) {
            fputs("null", f);
        } else {
            fprintf(f, "{\"first\":%u,\"min\":%u,\"max\":%u}",
                    (unsigned) s->ttl_first, (unsigned) s->ttl_min,
                    (unsigned) s->ttl_max);
        }
    }
    fputs("},\"ip_id\":{", f);
    for (i = 0; i < 2; i++) {
        s = &c->side[i];
        fprintf(f, "%s\"%s\":", i ? "," : "", side_name[i]);
        if (s->ttl_samples == 0 || !s->ip_v4) {
            fputs("null", f);
        } else {
            fprintf(f, "{\"first\":%u,\"last\":%u}", (unsigned) s->ip_id_first,
                    (unsigned) s->ip_id_last);
        }
    }
    fprintf(f, "},\"protocol\":\"%s\"",
            rd_tok2str(rd_proto_names, c->proto, "none"));
    write_tls_json(f, c);
    /* "phase" keeps its documented words: a TLS handshake that did not
     * complete is "connect", and phase_detail says "tls_handshake" */
    fprintf(f, ",\"phase\":\"%s\",\"phase_detail\":%s,\"requests_before\":%"
            PRIu32 ",\"requests_total\":%" PRIu32 ",\"server_header\":",
            c->phase == RD_PHASE_TLS_HANDSHAKE
                ? "connect" : rd_tok2str(rd_phase_names, c->phase, "none"),
            c->phase == RD_PHASE_TLS_HANDSHAKE ? "\"tls_handshake\"" : "null",
            c->served_at_close, c->nex);
    srv = rd_conn_server(c, &srv_len);
    if (srv_len > 0) {
        rd_json_str(f, srv, srv_len);
    } else {
        fputs("null", f);
    }
    fputs(",\"requests\":[", f);
    first = true;
    for (k = rd_conn_first_kept(c); k < c->nex; k++) {
        const struct rd_exchange  *e = rd_conn_exchange(c, k);

        if (e != NULL) {
            if (!first) {
                putc(',', f);
            }
            write_exchange_json(f, c, k, e);
            first = false;
        }
    }
    putc(']', f);
    write_verdict_json(f, c, v, nc, fe);
    if (v->evidence != NULL) {
        fputs(",\"evidence\":", f);
        rd_json_cstr(f, v->evidence);
    }
    fprintf(f, ",\"end\":\"%s\",\"abnormal\":%s}\n",
            rd_tok2str(rd_conn_end_names, c->end, "?"),
            rd_conn_abnormal(c) ? "true" : "false");
}


/* "version": the name of a TLS wire version, or null */
static void
tls_version_json(FILE *f, const char *key, uint16_t v)
{
    const char  *n;

    fprintf(f, ",\"%s\":", key);
    n = v != 0 ? rd_tok2str(rd_tls_version_names, v, NULL) : NULL;
    if (n != NULL) {
        fprintf(f, "\"%s\"", n);
    } else if (v != 0) {
        fprintf(f, "\"0x%04x\"", (unsigned) v);
    } else {
        fputs("null", f);
    }
}


static void
tls_close_notify_json(FILE *f, const struct rd_tls *d)
{
    int  k;

    if (d->alerts > 0 && d->alert_desc == RD_TLS_CLOSE_NOTIFY) {
        fputs("\"yes\"", f);
        return;
    }
    k = rd_tls_probable_close_notify(d);
    fputs(k > 0 ? "\"probable\"" : k == 0 ? "\"no\"" : "\"unknown\"", f);
}


/* The record layer of a TLS connection (issue 17): the JSON key "tls". */
static void
write_tls_json(FILE *f, const struct rd_conn *c)
{
    const struct rd_conn_tls  *t;
    const struct rd_tls       *d;
    int                        i;

    fputs(",\"tls\":", f);
    if (c->proto != RD_PROTO_TLS || c->app == NULL) {
        fputs("null", f);
        return;
    }
    t = c->app->tls;
    fputs("{\"sni\":", f);
    d = &t->dir[RD_CONN_CLIENT];
    if (d->sni_len > 0) {
        rd_json_str(f, d->sni, d->sni_len);
    } else {
        fputs("null", f);
    }
    fputs(",\"alpn_offered\":", f);
    if (d->alpn_len > 0) {
        rd_json_str(f, d->alpn, d->alpn_len);
    } else {
        fputs("null", f);
    }
    d = &t->dir[RD_CONN_SERVER];
    fputs(",\"alpn\":", f);
    if (d->alpn_len > 0) {
        rd_json_str(f, d->alpn, d->alpn_len);
    } else {
        fputs("null", f);
    }
    tls_version_json(f, "version", d->version);
    fprintf(f, ",\"cipher\":");
    if (d->cipher != 0) {
        fprintf(f, "\"0x%04x\"", (unsigned) d->cipher);
    } else {
        fputs("null", f);
    }
    fprintf(f, ",\"hello_retry\":%s,\"handshake\":\"%s\",\"tls_phase\":\"%s\"",
            d->hrr ? "true" : "false",
            rd_conn_tls_established(c) ? "complete" : "incomplete",
            rd_tok2str(rd_tls_phase_names,
                       rd_tls_phase(&t->dir[0], &t->dir[1]), "none"));
    fputs(",\"alert\":", f);
    if (t->alert_by != 2) {
        fprintf(f, "{\"by\":\"%s\",\"level\":\"%s\",\"description\":\"%s\","
                "\"code\":%u}", side_name[t->alert_by],
                rd_tok2str(rd_tls_alert_level_names, t->alert_level, "?"),
                rd_tok2str(rd_tls_alert_names, t->alert_desc, "unknown"),
                (unsigned) t->alert_desc);
    } else {
        fputs("null", f);
    }
    fputs(",\"close_notify\":{", f);
    for (i = 0; i < 2; i++) {
        fprintf(f, "%s\"%s\":", i ? "," : "", side_name[i]);
        tls_close_notify_json(f, &t->dir[i]);
    }
    fputs("},\"records\":{", f);
    for (i = 0; i < 2; i++) {
        d = &t->dir[i];
        fprintf(f, "%s\"%s\":{\"total\":%" PRIu64 ",\"appdata\":%" PRIu64
                ",\"appdata_bytes\":%" PRIu64 ",\"last_len\":%" PRIu32 "}",
                i ? "," : "", side_name[i], d->records, d->appdata_records,
                d->appdata_bytes, d->last_len);
    }
    fprintf(f, "},\"turns\":{\"requests\":%" PRIu32 ",\"responses\":%" PRIu32
            ",\"session_tickets\":%u},\"error\":{", t->requests, t->responses,
            (unsigned) t->tickets);
    for (i = 0; i < 2; i++) {
        d = &t->dir[i];
        fprintf(f, "%s\"%s\":", i ? "," : "", side_name[i]);
        if (d->reason != NULL) {
            rd_json_str(f, (const uint8_t *) d->reason, strlen(d->reason));
        } else {
            fputs("null", f);
        }
    }
    fputs("}}", f);
}


/*
 * Ladder diagram (Wireshark's flow graph in a terminal): one column per
 * party, one arrow per segment that matters, times on the left.
 */
#define LAD_GAP      26             /* characters between two columns */
#define LAD_MAX      32             /* arrows drawn per incident */

struct lad_event {
    rd_usec_t       ts;
    int             from, to;       /* column indexes */
    char            what[40];
};

struct lad {
    struct lad_event    ev[LAD_MAX];
    size_t              n;
    bool                full;
};


static int
lad_cmp(const void *a, const void *b)
{
    const struct lad_event  *x = a, *y = b;

    return (x->ts > y->ts) - (x->ts < y->ts);
}


static void
lad_add(struct lad *l, rd_usec_t ts, int from, int to, const char *what)
{
    if (ts == 0) {
        return;
    }
    if (l->n == LAD_MAX) {
        l->full = true;
        return;
    }
    l->ev[l->n].ts = ts;
    l->ev[l->n].from = from;
    l->ev[l->n].to = to;
    snprintf(l->ev[l->n].what, sizeof(l->ev[l->n].what), "%s", what);
    l->n++;
}


/* Add the segments of c that matter, its client in column cc and its
 * server in column sc. */
static void
lad_conn(struct lad *l, const struct rd_conn *c, int cc, int sc)
{
    const struct rd_exchange  *e;
    const struct rd_conn_rst  *r;
    char                       buf[40], m[17], t[24];
    uint32_t                   k;
    int                        col[2];
    int                        d;

    col[0] = cc;
    col[1] = sc;
    if (c->side[0].syn_ts != 0) {
        lad_add(l, c->side[0].syn_ts, cc, sc,
                c->side[0].syns > 1 ? "SYN (again)" : "SYN");
    }
    if (c->side[1].syn_ts != 0) {
        lad_add(l, c->side[1].syn_ts, sc, cc, "SYN/ACK");
    }
    for (k = rd_conn_first_kept(c); k < c->nex; k++) {
        e = rd_conn_exchange(c, k);
        if (e == NULL) {
            continue;
        }
        if (e->has_req) {
            snprintf(m, sizeof(m), "%.*s", (int) e->method_len,
                     (const char *) e->method);
            snprintf(t, sizeof(t), "%.*s", (int) RD_MIN(e->target_len, 20),
                     (const char *) e->target);
            for (d = 0; m[d] != '\0'; d++) {
                m[d] = (char) (m[d] >= 0x20 && m[d] < 0x7f ? m[d] : '?');
            }
            for (d = 0; t[d] != '\0'; d++) {
                t[d] = (char) (t[d] > 0x20 && t[d] < 0x7f ? t[d] : '?');
            }
            snprintf(buf, sizeof(buf), "%s %s", m, t);
            lad_add(l, e->req_start, cc, sc, buf);
        }
        if (e->has_resp) {
            snprintf(buf, sizeof(buf), "%u %s", (unsigned) e->status,
                     rd_tok2str(rd_http1_finding_names, e->framing, ""));
            lad_add(l, e->resp_start, sc, cc, buf);
        }
    }
    for (d = 0; d < 2; d++) {
        lad_add(l, c->side[d].fin_ts, col[d], col[1 - d], "FIN");
    }
    for (k = 0; k < c->nrst; k++) {
        r = &c->cold->rst[k];
        lad_add(l, r->ts, col[r->by], col[1 - r->by],
                !r->acceptable ? "RST (ignored)"
                : r->exact ? "RST" : "RST (challenged)");
    }
    /* each side's last zero-window episode: when it shut and opened */
    for (d = 0; c->has_zw && d < 2; d++) {
        const struct rd_tcp_zw  *z = &c->cold->zw[d];

        if (z->episodes == 0) {
            continue;
        }
        snprintf(buf, sizeof(buf), z->episodes > 1 ? "window 0 (%u of %u)"
                 : "window 0", (unsigned) z->episodes,
                 (unsigned) z->episodes);
        if (c->side[d].tcp.zw) {
            lad_add(l, z->mark, col[d], col[1 - d], buf);
        } else {
            lad_add(l, z->mark - (rd_usec_t) z->last_ms * 1000, col[d],
                    col[1 - d], buf);
            lad_add(l, z->mark, col[d], col[1 - d], "window open");
        }
    }
}


static void
lad_print(FILE *f, struct lad *l, const char *const *names, int ncols,
    rd_usec_t t0)
{
    char    line[LAD_GAP * 3 + 8];
    size_t  i, len, w, at;
    int     a, b, x, lo, hi;

    qsort(l->ev, l->n, sizeof(l->ev[0]), lad_cmp);
    w = (size_t) (ncols - 1) * LAD_GAP + 1;
    fprintf(f, "    %11s  ", "");
    for (x = 0; x < ncols; x++) {
        fprintf(f, "%-*s", x + 1 < ncols ? LAD_GAP : 1, names[x]);
    }
    putc('\n', f);
    for (i = 0; i < l->n; i++) {
        memset(line, ' ', w);
        line[w] = '\0';
        for (x = 0; x < ncols; x++) {
            line[x * LAD_GAP] = '|';
        }
        a = l->ev[i].from * LAD_GAP;
        b = l->ev[i].to * LAD_GAP;
        lo = RD_MIN(a, b);
        hi = RD_MAX(a, b);
        for (x = lo + 1; x < hi; x++) {
            line[x] = '-';
        }
        if (b > a) {
            line[hi - 1] = '>';
        } else {
            line[lo + 1] = '<';
        }
        len = strlen(l->ev[i].what);
        if (len > (size_t) (hi - lo - 6)) {
            len = (size_t) (hi - lo - 6);
        }
        at = (size_t) lo + 3;
        line[at - 1] = ' ';
        memcpy(line + at, l->ev[i].what, len);
        line[at + len] = ' ';
        fprintf(f, "    %+11.6f  %s\n", (double) (l->ev[i].ts - t0) / 1e6,
                line);
    }
    if (l->full) {
        fprintf(f, "    %11s  (more segments not drawn)\n", "");
    }
}


/* One sentence tying the client's answer to the upstream's failure. */
static void
write_story(FILE *f, const struct rd_conn *c, const struct rd_conn *peer,
    const struct rd_verdict *v)
{
    const struct rd_exchange  *e, *best;
    char                       cl[RD_EP_STRLEN], up[RD_EP_STRLEN];
    uint32_t                   k;

    best = NULL;
    for (k = 0; k < peer->nex; k++) {
        e = rd_conn_exchange(peer, k);
        if (e != NULL && e->has_resp) {
            best = e;
        }
    }
    ep_str(cl, sizeof(cl), peer, 0);
    ep_str(up, sizeof(up), c, 1);
    if (v->code == RD_V_CLIENT_ABORT && peer->close_kind != RD_CLOSE_NONE
        && peer->close_by == RD_CONN_CLIENT)
    {
        fprintf(f, "    the client %s gave up first (%s at %+.3f s) while "
                "nginx waited for upstream %s; nginx then closed the "
                "upstream connection (access.log: 499)\n", cl,
                peer->close_kind == RD_CLOSE_RST ? "RST" : "FIN",
                (double) (peer->close_ts - peer->ts_start) / 1e6, up);
        return;
    }
    if (best == NULL) {
        fprintf(f, "    the client %s got no answer because upstream %s: %s",
                cl, up, rd_tok2str(rd_verdict_names, v->code, "?"));
    } else if (best->status >= 500) {
        fprintf(f, "    the client %s got %u because upstream %s: %s", cl,
                (unsigned) best->status, up,
                rd_tok2str(rd_verdict_names, v->code, "?"));
    } else {
        fprintf(f, "    the client %s still got %u (nginx retried or the "
                "failure came after the header) despite upstream %s: %s",
                cl, (unsigned) best->status, up,
                rd_tok2str(rd_verdict_names, v->code, "?"));
    }
    if (c->close_kind != RD_CLOSE_NONE) {
        fprintf(f, " (%s by %s at %+.3f s, %s)",
                c->close_kind == RD_CLOSE_RST ? "RST" : "FIN",
                c->close_by == RD_CONN_CLIENT ? "nginx" : "the upstream",
                (double) (c->close_ts - peer->ts_start) / 1e6,
                rd_tok2str(rd_phase_names, c->phase, "none"));
    }
    fputs("\n", f);
}


/* Who endpoint i of c is, by its leg. */
static const char *
side_word(const struct rd_conn *c, int i)
{
    static const char *const  up[2] = { "nginx", "the upstream" };
    static const char *const  down[2] = { "the client", "nginx" };
    static const char *const  unknown[2] = { "the client", "the server" };

    return c->leg == RD_LEG_UPSTREAM ? up[i]
           : c->leg == RD_LEG_CLIENT ? down[i] : unknown[i];
}


/* One line per side that advertised a zero window. */
static void
write_zero_window_text(FILE *f, const struct rd_conn *c)
{
    const struct rd_tcp_zw        *z;
    const struct rd_tcp_zw_close  *zc;
    const struct rd_tcp_dir       *d;
    int                            i;

    for (i = 0; c->has_zw && i < 2; i++) {
        z = &c->cold->zw[i];
        d = &c->side[i].tcp;
        if (z->episodes == 0) {
            continue;
        }
        fprintf(f, "    zero window: %s advertised 0 for %.3f s (%u "
                "episode%s, longest %.3f s, %u probe%s)", side_word(c, i),
                (double) rd_tcp_zw_total_ms(d, z, c->ts_end) / 1000,
                (unsigned) z->episodes, z->episodes == 1 ? "" : "s",
                (double) rd_tcp_zw_longest_ms(d, z, c->ts_end) / 1000,
                (unsigned) z->probes, z->probes == 1 ? "" : "s");
        zc = &c->cold->zw_close;
        if (c->close_kind != RD_CLOSE_NONE && c->close_by != i && zc->seen
            && zc->at_close)
        {
            fprintf(f, "; %s's %s came while it was shut (for %.3f s)",
                    side_word(c, 1 - i),
                    c->close_kind == RD_CLOSE_RST ? "RST" : "FIN",
                    (double) zc->stall_ms / 1000);
        } else if (c->close_kind != RD_CLOSE_NONE && c->close_by != i
                   && zc->seen && zc->stall_ms > 0)
        {
            fprintf(f, "; %s's %s came %.3f s after it opened again (shut "
                    "%.3f s)", side_word(c, 1 - i),
                    c->close_kind == RD_CLOSE_RST ? "RST" : "FIN",
                    (double) zc->after_ms / 1000,
                    (double) zc->stall_ms / 1000);
        }
        putc('\n', f);
    }
}


static void
write_conn_text(FILE *f, const struct rd_conn *c, const struct rd_verdict *v,
    const struct rd_fix_edit *fe)
{
    static const char *const    names3[] = { "client", "nginx", "upstream" };
    static const char *const    names2[] = { "client", "server" };
    char                        cl[RD_EP_STRLEN], sv[RD_EP_STRLEN];
    struct lad                  lad;
    const struct rd_conn       *peer;
    size_t                      i;
    uint32_t                    k;

    ep_str(cl, sizeof(cl), c, 0);
    ep_str(sv, sizeof(sv), c, 1);
    fprintf(f, "\n#%" PRIu64 "  %s -> %s", c->id, cl, sv);
    if (c->close_kind != RD_CLOSE_NONE) {
        fprintf(f, "  first close: %s by %s",
                c->close_kind == RD_CLOSE_RST ? "RST" : "FIN",
                side_name[c->close_by]);
    } else {
        fputs("  no close seen", f);
    }
    if (c->refused) {
        fputs(" (connection refused)", f);
    } else if (rd_conn_syn_unanswered(c)) {
        fputs(" (SYNs unanswered)", f);
    }
    putc('\n', f);
    if (v->code != RD_V_NONE) {
        fprintf(f, "    verdict: %s (%s, blame %s, %s confidence)\n",
                rd_tok2str(rd_verdict_names, v->code, "?"),
                rd_tok2str(rd_severity_names, v->severity, "?"),
                rd_tok2str(rd_blame_names, v->rule->blame, "?"),
                rd_tok2str(rd_confidence_names, v->confidence, "?"));
        if (v->message != NULL) {
            fprintf(f, "    nginx logs: [%s] ",
                    v->level != NULL ? v->level : "?");
            put_printable(f, v->message);
            putc('\n', f);
        }
        if (v->why != NULL) {
            fprintf(f, "    uncertain: %s\n", v->why);
        }
        if (v->capture_drops > 0) {
            fprintf(f, "    capture dropped %llu packets while it was open\n",
                    (unsigned long long) v->capture_drops);
        }
        if (v->note != NULL) {
            fprintf(f, "    note: %s\n", v->note);
        }
        if (v->evidence != NULL) {
            fprintf(f, "    evidence: %s\n", v->evidence);
        }
        if (v->elapsed >= 0) {
            fprintf(f, "    %.3f s after the request was sent\n", v->elapsed);
        }
        if (v->idle >= 0) {
            fprintf(f, "    the connection had been idle %.3f s before "
                    "this request\n", v->idle);
        }
        if (v->stall >= 0) {
            fprintf(f, "    nginx's receive window to the upstream had been "
                    "zero for %.3f s when it closed\n", v->stall);
        }
        if (fe != NULL) {
            char  where[512];

            if (fe->current.file != NULL) {
                snprintf(where, sizeof(where), "%s:%u", fe->current.file,
                         (unsigned) fe->current.line);
            } else {
                snprintf(where, sizeof(where), "default");
            }
            fprintf(f, "    config: %s ", fe->directive);
            put_printable(f, fe->current.text != NULL ? fe->current.text
                                                      : "?");
            fprintf(f, " (");
            put_printable(f, where);
            if (fe->location != NULL) {
                fputs(", location ", f);
                put_printable(f, fe->location);
            }
            putc(')', f);
            if (fe->set[0] != '\0') {
                fprintf(f, " -> %s %s;", fe->directive, fe->set);
            } else if (fe->side != RD_FIX_NGINX) {
                fprintf(f, ": change the %s, not nginx",
                        rd_tok2str(rd_fix_side_names, fe->side, "?"));
            }
            fputs("\n      ", f);
            put_printable(f, fe->why);
            putc('\n', f);
        }
    }
    fprintf(f, "    leg: %s%s", rd_tok2str(rd_leg_names, c->leg, "unknown"),
            c->proto == RD_PROTO_FASTCGI ? " (FastCGI)" : "");
    for (i = 0; i < c->npaired; i++) {
        fprintf(f, "%s#%" PRIu64, i ? ", " : "; paired with ", c->cold->paired[i]);
    }
    if (c->npaired > 0) {
        fprintf(f, " (by %s%s",
                rd_tok2str(rd_pairing_names, c->cold->pairing, "?"),
                v->pair_confirmed ? "" : ", unconfirmed");
        if (c->cold->pair_alt != 0) {
            fprintf(f, "; #%" PRIu64 " fitted as well", c->cold->pair_alt);
        }
        putc(')', f);
    }
    putc('\n', f);
    if (v->cause != RD_V_NONE && c->has_cause) {
        fprintf(f, "    cause: upstream leg #%" PRIu64 ": %s\n",
                c->cold->cause_id,
                rd_tok2str(rd_verdict_names, v->cause, "?"));
    }
    fprintf(f, "    handshake %s%s; client sent %" PRIu64 " B, server sent %"
            PRIu64 " B; %" PRIu32 " RST; ended: %s\n",
            c->established ? "complete" : c->syn ? "incomplete" : "not seen",
            c->roles_inferred ? " (roles inferred from ports)" : "",
            rd_conn_stream_bytes(c, 0), rd_conn_stream_bytes(c, 1),
            c->rst_total,
            rd_tok2str(rd_conn_end_names, c->end, "?"));
    write_zero_window_text(f, c);
    if (c->close_kind != RD_CLOSE_NONE && c->nex > 0) {
        fprintf(f, "    phase at first close: %s, after %" PRIu32
                " complete response(s)\n",
                rd_tok2str(rd_phase_names, c->phase, "none"),
                c->served_at_close);
    }
    for (k = rd_conn_first_kept(c); k < c->nex; k++) {
        const struct rd_exchange  *e = rd_conn_exchange(c, k);

        if (e == NULL) {
            continue;
        }
        fputs("    ", f);
        if (e->has_req && e->method_len > 0) {
            rd_text_safe(f, e->method, e->method_len);
            putc(' ', f);
            rd_text_safe(f, e->target, e->target_len);
        } else {
            fputs("(request not seen)", f);
        }
        if (e->has_resp) {
            fprintf(f, " -> %u, %s, body %" PRIu64 " B",
                    (unsigned) e->status,
                    rd_tok2str(rd_http1_finding_names, e->framing, "?"),
                    e->body_bytes);
            if (e->content_length >= 0) {
                fprintf(f, " of %" PRId64, e->content_length);
            }
        } else {
            fputs(" -> no response", f);
        }
        putc('\n', f);
    }
    if (c->side[0].tcp.gap_bytes || c->side[1].tcp.gap_bytes) {
        fprintf(f, "    capture gaps: client %" PRIu64 " B, server %" PRIu64
                " B (missed by the capture, not lost)\n",
                c->side[0].tcp.gap_bytes, c->side[1].tcp.gap_bytes);
    }

    peer = rd_conn_peer(c);
    if (peer != NULL && v->code != RD_V_NONE) {
        write_story(f, c, peer, v);
    }
    memset(&lad, 0, sizeof(lad));
    if (c->leg == RD_LEG_UPSTREAM) {
        if (peer != NULL) {
            lad_conn(&lad, peer, 0, 1);
        }
        lad_conn(&lad, c, 1, 2);
        lad_print(f, &lad, names3, 3,
                  peer != NULL ? RD_MIN(peer->ts_start, c->ts_start)
                               : c->ts_start);
    } else if (c->leg == RD_LEG_CLIENT) {
        lad_conn(&lad, c, 0, 1);
        lad_print(f, &lad, names3, 2, c->ts_start);
    } else {
        lad_conn(&lad, c, 0, 1);
        lad_print(f, &lad, names2, 2, c->ts_start);
    }
}



/* ---- --error-log: the join's glue --------------------------------------- */

/* The length of a JSON line without its closing "}" and newline, so
 * that keys can be added to it. */
static size_t
open_object(const char *line, size_t len)
{
    while (len > 0 && line[len - 1] == '\n') {
        len--;
    }
    return len > 0 && line[len - 1] == '}' ? len - 1 : len;
}


/* What the join needs of a finished connection. */
static void
ej_info(const struct rd_conn *c, const struct rd_verdict *v, bool abnormal,
    struct rd_errjoin_conn *out)
{
    const struct rd_exchange  *e;
    const struct rd_conn      *peer;
    uint32_t                   i;

    memset(out, 0, sizeof(*out));
    out->id = c->id;
    out->leg = c->leg;
    out->af = c->af;
    memcpy(out->client, c->ep[RD_CONN_CLIENT].addr, 16);
    memcpy(out->server, c->ep[RD_CONN_SERVER].addr, 16);
    out->server_port = c->ep[RD_CONN_SERVER].port;
    out->ts_start = c->ts_start;
    out->ts_end = c->ts_end;
    out->close_ts = c->close_ts;
    peer = c->leg == RD_LEG_UPSTREAM ? rd_conn_peer(c) : NULL;
    if (peer != NULL) {
        out->has_nginx_client = true;
        out->nginx_client_af = peer->af;
        memcpy(out->nginx_client, peer->ep[RD_CONN_CLIENT].addr, 16);
    }
    for (i = c->nex; i > rd_conn_first_kept(c); i--) {
        e = rd_conn_exchange(c, i - 1);
        if (e != NULL && e->has_req) {
            snprintf(out->method, sizeof(out->method), "%.*s",
                     (int) e->method_len, (const char *) e->method);
            snprintf(out->target, sizeof(out->target), "%.*s",
                     (int) e->target_len, (const char *) e->target);
            break;
        }
    }
    if (v->code != RD_V_NONE && v->message != NULL) {
        snprintf(out->message, sizeof(out->message), "%s", v->message);
        out->level = v->level;
    }
    out->abnormal = abnormal && v->code != RD_V_NONE;
    /* an RST that met nginx's shut window is read after the bytes queued
     * before it, which nginx first hands to the client */
    out->late = c->leg == RD_LEG_UPSTREAM && c->close_kind == RD_CLOSE_RST
                && c->close_by == RD_CONN_SERVER && c->has_zw
                && c->cold->zw_close.at_close;
}


static void
conn_with_errlog(struct rd_report *r, const struct rd_conn *c,
    const struct rd_verdict *v, const struct rd_fix_edit *fe, bool abnormal)
{
    struct rd_errjoin_conn  info;
    char                   *buf;
    size_t                  len;
    FILE                   *m;

    buf = NULL;
    len = 0;
    m = open_memstream(&buf, &len);
    if (m == NULL) {
        return;
    }
    if (r->cfg.json) {
        write_conn_json(m, c, v, r->cfg.nginx_conf, fe);
    } else {
        write_conn_text(m, c, v, fe);
    }
    fclose(m);
    ej_info(c, v, abnormal, &info);
    /* a log that cannot be read on ends there; the summary says so */
    (void) rd_errjoin_conn(r->ej, &info, buf, len, r->ej_err);
}


static void
ej_conn(void *arg, uint64_t id, char *rendered, size_t len,
    const struct rd_errjoin_result *res)
{
    struct rd_report  *r = arg;
    FILE              *f;
    unsigned           i;
    size_t             skip;

    (void) id;
    if (rendered == NULL) {
        return;
    }
    if (!r->cfg.json) {
        f = r->spool != NULL ? r->spool : r->out;   /* live: at once */
        /* the lines above the block they explain */
        skip = len > 0 && rendered[0] == '\n';
        if (skip) {
            fputc('\n', f);
        }
        for (i = 0; i < res->n; i++) {
            fprintf(f, "error.log %s:%" PRIu64 ": [%s] ", res->m[i].file,
                    res->m[i].lineno,
                    rd_errjoin_level_names[res->m[i].level]);
            put_printable(f, res->m[i].message);
            if (res->m[i].also != 0) {
                fprintf(f, " (fits #%" PRIu64 " as well)", res->m[i].also);
            }
            fputc('\n', f);
        }
        fwrite(rendered + skip, 1, len - skip, f);
        if (res->disagrees) {
            fputs("    error.log disagrees with the prediction above\n", f);
        }
        if (res->unlogged_level != NULL) {
            fprintf(f, "    not in error.log: %s\n", res->unlogged_why);
        }
        free(rendered);
        return;
    }
    f = r->out;
    /* the record less its closing "}\n", then the join's keys */
    fwrite(rendered, 1, open_object(rendered, len), f);
    fputs(",\"error_log\":[", f);
    for (i = 0; i < res->n; i++) {
        fprintf(f, "%s{\"file\":", i ? "," : "");
        rd_json_cstr(f, res->m[i].file);
        fprintf(f, ",\"line\":%" PRIu64 ",\"level\":\"%s\",\"message\":",
                res->m[i].lineno, rd_errjoin_level_names[res->m[i].level]);
        rd_json_cstr(f, res->m[i].message);
        fputs(",\"also_fits\":", f);
        if (res->m[i].also != 0) {
            fprintf(f, "%" PRIu64, res->m[i].also);
        } else {
            fputs("null", f);
        }
        fputc('}', f);
    }
    fprintf(f, "],\"error_log_disagrees\":%s,\"error_log_unlogged\":",
            res->disagrees ? "true" : "false");
    if (res->unlogged_level != NULL) {
        fputs("{\"level\":", f);
        rd_json_cstr(f, res->unlogged_level);
        fputs(",\"why\":", f);
        rd_json_cstr(f, res->unlogged_why);
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    fputs("}\n", f);
    free(rendered);
}


/* A number as printf's %" PRIu64 " writes it. */
static void
put_u64(FILE *f, uint64_t u)
{
    char    buf[24];
    size_t  i;

    i = sizeof(buf);
    do {
        buf[--i] = (char) ('0' + u % 10);
        u /= 10;
    } while (u != 0);
    fwrite(buf + i, 1, sizeof(buf) - i, f);
}


/* ... and %" PRId64 " */
static void
put_i64(FILE *f, int64_t v)
{
    if (v < 0) {
        putc('-', f);
        put_u64(f, (uint64_t) 0 - (uint64_t) v);
        return;
    }
    put_u64(f, (uint64_t) v);
}


/* buf[*n..) gains s[0..len) (the caller made room). */
static void
buf_put(char *buf, size_t *n, const char *s, size_t len)
{
    memcpy(buf + *n, s, len);
    *n += len;
}


/* u in decimal into buf at *n, two digits per division, written in
 * place from its last digit (no copy, no call). */
static inline void
buf_u64(char *buf, size_t *n, uint64_t u)
{
    static const char  pairs[201] =
        "00010203040506070809101112131415161718192021222324252627282930313233"
        "34353637383940414243444546474849505152535455565758596061626364656667"
        "68697071727374757677787980818283848586878889909192939495969798"
        "99";
    uint64_t  t;
    size_t    len, i;
    unsigned  r;

    /* its digits: by comparisons, 10^(len) > u >= 10^(len - 1) */
    len = 1;
    for (t = 10; len < 20 && u >= t; t *= 10) {
        len++;
    }
    i = *n + len;
    *n = i;
    while (u >= 100) {
        r = (unsigned) (u % 100) * 2;
        u /= 100;
        buf[--i] = pairs[r + 1];
        buf[--i] = pairs[r];
    }
    if (u >= 10) {
        r = (unsigned) u * 2;
        buf[--i] = pairs[r + 1];
        buf[--i] = pairs[r];
    } else {
        buf[--i] = (char) ('0' + u);
    }
}


#define BUF_LIT(b, n, s)    buf_put((b), (n), (s), sizeof(s) - 1)

#define SWAR_ONES   0x0101010101010101ull
#define SWAR_HIGH   0x8080808080808080ull

/* Some byte of w is zero (no false negative; a false positive only
 * above a true zero, which the byte loop then finds). */
#define SWAR_ZERO(w)    (((w) - SWAR_ONES) & ~(w) & SWAR_HIGH)

/*
 * s's bytes up to its terminator into dst, when JSON takes every one as
 * it is (rd_json_plain's printable ASCII but '"' and '\\'): the length,
 * or SIZE_MAX when one needs escaping or no terminator lies in
 * s[0..size).  Reads s[0..size) only, eight bytes at a time while none
 * is special; dst has room for size bytes.
 */
static size_t
plain_copy(char *dst, const char *s, size_t size)
{
    uint64_t       w, bad;
    size_t         i;
    unsigned char  c;

    i = 0;
#ifdef __SSE2__
    /* sixteen at a time: a signed byte below 0x20 is a control byte, NUL
     * or one of 0x80..0xff; then DEL, '"' and '\\' */
    {
        const __m128i  sp = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
        const __m128i  qu = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
        __m128i        x;
        unsigned       m;

        for (; i + 16 <= size; i += 16) {
            x = _mm_loadu_si128((const __m128i *) (const void *) (s + i));
            m = (unsigned) _mm_movemask_epi8(
                    _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(x, sp),
                                              _mm_cmpeq_epi8(x, del)),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, qu),
                                              _mm_cmpeq_epi8(x, bs))));
            if (m != 0) {
                break;              /* the byte loop tells which */
            }
            _mm_storeu_si128((__m128i *) (void *) (dst + i), x);
        }
    }
#endif
    for (; i + 8 <= size; i += 8) {
        memcpy(&w, s + i, 8);
        bad = ((w - 0x20 * SWAR_ONES) & ~w & SWAR_HIGH)    /* < 0x20, NUL */
              | ((w | (w + SWAR_ONES)) & SWAR_HIGH)         /* >= 0x7f */
              | SWAR_ZERO(w ^ ('"' * SWAR_ONES))
              | SWAR_ZERO(w ^ ('\\' * SWAR_ONES));
        if (bad != 0) {
            break;
        }
        memcpy(dst + i, &w, 8);
    }
    for (; i < size; i++) {
        c = (unsigned char) s[i];
        if (c == '\0') {
            return i;
        }
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            return SIZE_MAX;
        }
        dst[i] = (char) c;
    }
    return SIZE_MAX;
}


/* ej_line's JSON record when its file and message need no escape: true
 * when written.  The bytes are those of the general path in ej_line. */
static bool
ej_line_plain(struct rd_report *r, FILE *f, const struct rd_errjoin_line *l,
    int64_t utc, int reason)
{
    char        buf[1024];
    size_t      n, ml;
    const char *lv, *rs;

    /* a log has few files: the last one's name is checked once */
    if (l->file != r->ej_file) {
        r->ej_file = l->file;
        r->ej_file_len = strlen(l->file);
        r->ej_file_plain = r->ej_file_len < 512
                           && rd_json_plain((const uint8_t *) l->file,
                                            r->ej_file_len)
                              == r->ej_file_len;
    }
    if (!r->ej_file_plain) {
        return false;
    }
    lv = rd_errjoin_level_names[l->level];
    rs = rd_errjoin_reason_names[reason];
    /* the keys, level, reason and three numbers take less than 200
     * bytes; the file less than 512, the message its field */
    n = 0;
    BUF_LIT(buf, &n, "{\"type\":\"error_log\",\"file\":\"");
    buf_put(buf, &n, l->file, r->ej_file_len);
    BUF_LIT(buf, &n, "\",\"line\":");
    buf_u64(buf, &n, l->lineno);
    BUF_LIT(buf, &n, ",\"level\":\"");
    buf_put(buf, &n, lv, rd_errjoin_level_len[l->level]);
    BUF_LIT(buf, &n, "\",\"message\":\"");
    ml = plain_copy(buf + n, l->message, sizeof(l->message));
    if (ml == SIZE_MAX) {
        return false;
    }
    n += ml;
    BUF_LIT(buf, &n, "\",\"ts\":");
    if (utc < 0) {
        BUF_LIT(buf, &n, "-");
        buf_u64(buf, &n, (uint64_t) 0 - (uint64_t) utc);
    } else {
        buf_u64(buf, &n, (uint64_t) utc);
    }
    BUF_LIT(buf, &n, ",\"connection_number\":");
    if (l->conn_no != 0) {
        buf_u64(buf, &n, l->conn_no);
    } else {
        BUF_LIT(buf, &n, "null");
    }
    BUF_LIT(buf, &n, ",\"reason\":\"");
    buf_put(buf, &n, rs, strlen(rs));
    BUF_LIT(buf, &n, "\"}\n");
    /* the report writes from this thread only */
    fwrite_unlocked(buf, 1, n, f);
    return true;
}


static void
ej_line(void *arg, const struct rd_errjoin_line *l, int64_t utc, int reason)
{
    struct rd_report  *r = arg;
    FILE              *f;

    if (!r->cfg.json) {
        f = r->spool != NULL ? r->spool : r->out;
        fprintf(f, "error.log %s:%" PRIu64 ": [%s] ", l->file, l->lineno,
                rd_errjoin_level_names[l->level]);
        put_printable(f, l->message);
        fprintf(f, "\n    no connection: %s\n\n",
                rd_errjoin_reason_names[reason]);
        return;
    }
    f = r->out;
    /* one record per line nginx wrote that no connection explains: a
     * big log has many, so a plain one is put together here and written
     * with one call; the bytes are those of the general path below */
    if (ej_line_plain(r, f, l, utc, reason)) {
        return;
    }
    fputs("{\"type\":\"error_log\",\"file\":", f);
    rd_json_cstr(f, l->file);
    fputs(",\"line\":", f);
    put_u64(f, l->lineno);
    fputs(",\"level\":\"", f);
    fputs(rd_errjoin_level_names[l->level], f);
    fputs("\",\"message\":", f);
    rd_json_cstr(f, l->message);
    fputs(",\"ts\":", f);
    put_i64(f, utc);
    fputs(",\"connection_number\":", f);
    if (l->conn_no != 0) {
        put_u64(f, l->conn_no);
    } else {
        fputs("null", f);
    }
    fputs(",\"reason\":\"", f);
    fputs(rd_errjoin_reason_names[reason], f);
    fputs("\"}\n", f);
}


/* The summary's "error_log" object (JSON) or lines (text). */
static void
ej_summary(const struct rd_report *r, FILE *f, bool json)
{
    const struct rd_errjoin_stats  *js;
    const struct rd_errlog_stats   *ls;
    char                            off[8];
    uint64_t                        un;
    int                             i;

    js = rd_errjoin_stats(r->ej);
    ls = rd_errlog_stats(r->cfg.error_log);
    rd_errjoin_offset_str(js->offset, off);
    un = 0;
    for (i = 0; i < RD_ERRJOIN_NREASONS; i++) {
        un += js->unmatched[i];
    }
    if (!json) {
        fprintf(f, "error.log: %" PRIu64 " records (%" PRIu64 " about a "
                "client or an upstream), %" PRIu64 " matched to a connection, "
                "%" PRIu64 " not; %" PRIu64 " lines not nginx's; local time "
                "%s (%s%s)\n", ls->records, js->relevant, js->matched, un,
                ls->unparsed, off, js->offset_from,
                strcmp(js->offset_from, "data") == 0 ? ", the offset most "
                "lines fitted" : "");
        return;
    }
    fprintf(f, ",\"error_log\":{\"records\":%" PRIu64 ",\"lines\":%" PRIu64
            ",\"unparsed\":%" PRIu64 ",\"cut\":%" PRIu64
            ",\"truncated_files\":%" PRIu64 ",\"relevant\":%" PRIu64
            ",\"matched\":%" PRIu64 ",\"unmatched\":{", ls->records,
            ls->lines, ls->unparsed, ls->cut, ls->truncated_files,
            js->relevant, js->matched);
    for (i = 0; i < RD_ERRJOIN_NREASONS; i++) {
        fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "",
                rd_errjoin_reason_names[i], js->unmatched[i]);
    }
    fprintf(f, "},\"offset\":\"%s\",\"offset_from\":\"%s\","
            "\"offset_lines_fitted\":%" PRIu64 ",\"window_seconds\":%u,"
            "\"max_lines\":%u,\"held_peak\":%" PRIu64 "}", off,
            js->offset_from, js->offset_fits, r->cfg.errjoin.window_s,
            r->cfg.errjoin.max_lines, js->held_peak);
}


void
rd_report_poll(struct rd_report *r, rd_usec_t now)
{
    if (r->ej == NULL || !r->cfg.errjoin.live) {
        return;
    }
    /* a log that cannot be read on ends there; the summary says so */
    (void) rd_errjoin_poll(r->ej, now, r->ej_err);
    fflush(r->out);
}


void
rd_report_conn(struct rd_report *r, const struct rd_conn *c,
    const struct rd_verdict *v)
{
    struct rd_fix_edit      fe;
    struct rd_errjoin_conn  info;
    bool                    abnormal, has_fe;

    abnormal = rd_conn_abnormal(c) || v->severity >= RD_SEV_WARNING;
    if (!abnormal && !r->cfg.all && !r->cfg.verbose) {
        if (r->ej != NULL) {
            /* not printed, but its server counts as captured */
            ej_info(c, v, false, &info);
            (void) rd_errjoin_conn(r->ej, &info, NULL, 0, r->ej_err);
        }
        return;
    }
    if (abnormal) {
        r->findings++;
    }
    r->printed++;
    has_fe = rd_fix_edit(r->cfg.nginx_conf,
                         r->legs != NULL ? rd_legs_version(r->legs) : 0, c, v,
                         v->backend_idle, &fe);
    if (r->ej != NULL) {
        conn_with_errlog(r, c, v, has_fe ? &fe : NULL, abnormal);
    } else if (r->cfg.json) {
        write_conn_json(r->out, c, v, r->cfg.nginx_conf, has_fe ? &fe : NULL);
    } else {
        write_conn_text(r->spool != NULL ? r->spool : r->out, c, v,
                        has_fe ? &fe : NULL);
    }
    if (r->cfg.stream) {
        /* a log shipper or jq reads the record now, not at 4 KiB */
        fflush(r->out);
    }
}


/* Known timeouts with their defaults, for clusters of failures at the
 * same elapsed time. */
static const char *
suspects(int secs)
{
    switch (secs) {
    case 30:
        return "gunicorn --timeout (default 30s), PHP max_execution_time "
               "(default 30s), a load balancer's or HAProxy's 30s timeout";
    case 60:
        return "nginx proxy_read_timeout/fastcgi_read_timeout (default 60s), "
               "php-fpm request_terminate_timeout set to 60s, an AWS ALB "
               "idle timeout (60s)";
    case 5:
        return "Node.js keepAliveTimeout (default 5s), a short client "
               "timeout";
    case 2:
        return "gunicorn --keep-alive (default 2s), php-fpm or uWSGI "
               "timeouts set to 2s";
    default:
        return "a timeout configured near this value in the upstream "
               "server, its worker manager (php-fpm request_terminate_timeout,"
               " uWSGI harakiri), a load balancer, or nginx "
               "(proxy_read_timeout)";
    }
}


/* Verdict clusters: 3 or more at the same whole second, and at least half
 * of that verdict's timed cases.  Calls fn for each. */
static int
find_clusters(const struct rd_pipeline_stats *pl,
    void (*fn)(void *, int, int, uint32_t), void *arg)
{
    int       code, b, n;
    uint64_t  total;

    n = 0;
    for (code = 1; code < RD_V_NCODES; code++) {
        total = 0;
        for (b = 0; b < RD_PIPELINE_ELAPSED_BUCKETS; b++) {
            total += pl->elapsed[code][b];
        }
        for (b = 1; b < RD_PIPELINE_ELAPSED_BUCKETS; b++) {
            if (pl->elapsed[code][b] >= 3
                && 2 * (uint64_t) pl->elapsed[code][b] >= total)
            {
                fn(arg, code, b, pl->elapsed[code][b]);
                n++;
            }
        }
    }
    return n;
}


static bool
churn(const struct rd_pipeline_stats *pl)
{
    return pl->upstream_with_requests >= 20
           && pl->upstream_single_use * 10 >= pl->upstream_with_requests * 9;
}


struct cluster_out {
    FILE   *f;
    bool    first;
};


static void
cluster_json(void *arg, int code, int secs, uint32_t count)
{
    struct cluster_out  *o = arg;

    fprintf(o->f, "%s{\"verdict\":\"%s\",\"elapsed_s\":%d,\"count\":%u"
            ",\"suspects\":", o->first ? "" : ",",
            rd_tok2str(rd_verdict_names, code, "?"), secs, (unsigned) count);
    rd_json_cstr(o->f, suspects(secs));
    putc('}', o->f);
    o->first = false;
}


static void
cluster_text(void *arg, int code, int secs, uint32_t count)
{
    struct cluster_out  *o = arg;

    fprintf(o->f, "  %u x %s about %d s after the request: a timeout "
            "somewhere; usual suspects: %s\n", (unsigned) count,
            rd_tok2str(rd_verdict_names, code, "?"), secs, suspects(secs));
}


/* What was learnt of nginx's addresses, and from what. */
static void
write_nginx_json(FILE *f, const struct rd_legs *l)
{
    struct rd_legs_addr  a;
    char                 buf[RD_EP_STRLEN];
    const uint64_t      *ev;
    uint32_t             i;
    int                  leg, n;

    fputs(",\"nginx\":{", f);
    for (leg = RD_LEG_CLIENT; leg <= RD_LEG_UPSTREAM; leg++) {
        fprintf(f, "%s\"%s\":[", leg == RD_LEG_CLIENT ? "" : ",",
                leg == RD_LEG_CLIENT ? "listen" : "upstreams");
        for (i = 0, n = 0; rd_legs_endpoint(l, i, &a); i++) {
            if (a.leg != leg) {
                continue;
            }
            if (a.port != 0) {
                rd_ep_format(buf, sizeof(buf), a.af, a.addr, a.port);
            } else {
                rd_addr_format(buf, sizeof(buf), a.af, a.addr);
            }
            fprintf(f, "%s{\"addr\":", n++ ? "," : "");
            rd_json_cstr(f, buf);
            fprintf(f, ",\"from\":\"%s\"}",
                    rd_tok2str(rd_legs_how_names, a.how, "?"));
        }
        putc(']', f);
    }
    fputs(",\"sources\":[", f);
    for (i = 0; rd_legs_source(l, i, &a); i++) {
        rd_addr_format(buf, sizeof(buf), a.af, a.addr);
        fprintf(f, "%s{\"addr\":", i ? "," : "");
        rd_json_cstr(f, buf);
        fprintf(f, ",\"from\":\"%s\"}",
                rd_tok2str(rd_legs_how_names, a.how, "?"));
    }
    fputs("],\"evidence\":{", f);
    ev = rd_legs_evidence(l);
    for (i = 0; i < RD_EV_N; i++) {
        fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "",
                rd_tok2str(rd_legs_evidence_names, (int) i, "?"), ev[i]);
    }
    fputs("}}", f);
}


/* One line per role: nginx listens on ..., connects from ..., and its
 * upstreams; then how the legs were paired.  At most 8 of each. */
static void
write_nginx_text(FILE *f, const struct rd_legs *l)
{
    static const char *const  head[] = { "nginx listens on ",
                                          "nginx's upstreams: " };
    struct rd_legs_addr       a;
    char                      buf[RD_EP_STRLEN];
    const uint64_t           *ev;
    uint32_t                  i, n;
    int                       k;

    for (k = 0; k < 3; k++) {
        n = 0;
        for (i = 0; k < 2 ? rd_legs_endpoint(l, i, &a)
                          : rd_legs_source(l, i, &a); i++)
        {
            if (k < 2 && a.leg != (k == 0 ? RD_LEG_CLIENT : RD_LEG_UPSTREAM)) {
                continue;
            }
            if (n == 8) {
                fputs(", ...", f);
                break;
            }
            if (a.port != 0) {
                rd_ep_format(buf, sizeof(buf), a.af, a.addr, a.port);
            } else {
                rd_addr_format(buf, sizeof(buf), a.af, a.addr);
            }
            fprintf(f, "%s%s (%s)", n++ == 0 ? (k == 2 ? "nginx connects from "
                                                       : head[k])
                                             : ", ",
                    buf, rd_tok2str(rd_legs_how_names, a.how, "?"));
        }
        if (n > 0) {
            putc('\n', f);
        }
    }
    ev = rd_legs_evidence(l);
    if (ev[RD_EV_REQUEST_LINE] + ev[RD_EV_FORWARDED] + ev[RD_EV_REQUEST_ID]
        + ev[RD_EV_TIMING] > 0)
    {
        fprintf(f, "legs paired: %" PRIu64 " by request line, %" PRIu64
                " by forwarding header, %" PRIu64 " by X-Request-ID, %"
                PRIu64 " by timing; %" PRIu64 " unconfirmed, %" PRIu64
                " ambiguous\n", ev[RD_EV_REQUEST_LINE], ev[RD_EV_FORWARDED],
                ev[RD_EV_REQUEST_ID], ev[RD_EV_TIMING], ev[RD_EV_WEAK],
                ev[RD_EV_AMBIGUOUS]);
    }
}


/* --nginx-conf: what was read of it. */
static void
write_nginx_conf_json(FILE *f, const struct rd_nginxconf *nc)
{
    struct rd_nginxconf_stats  st;

    rd_nginxconf_stats(nc, &st);
    fputs(",\"nginx_conf\":{\"file\":", f);
    rd_json_cstr(f, st.name);
    fprintf(f, ",\"directives\":%u,\"upstreams\":%u,\"locations\":%u"
            ",\"hostnames_skipped\":%u}", st.directives, st.upstreams,
            st.locations, st.hostnames_skipped);
}


static void
write_summary_json(FILE *f, const struct rd_report_totals *t,
    const struct rd_nginxconf *nc)
{
    const struct rd_pipeline_stats  *pl = t->pl;
    size_t                           i;
    int                              st;
    bool                             first, truncated;

    fprintf(f, "{\"type\":\"summary\",\"packets\":%" PRIu64
            ",\"bytes\":%" PRIu64 ",\"tcp_packets\":%" PRIu64,
            pl->packets, pl->bytes, pl->tcp);
    fputs(",\"skipped\":{", f);
    first = true;
    for (st = RD_DECODE_SKIP_NOT_IP; st <= RD_DECODE_SKIP_FRAGMENT; st++) {
        fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",",
                rd_tok2str(rd_decode_status_names, st, "?"), pl->status[st]);
        first = false;
    }
    fputs("},\"malformed\":{", f);
    first = true;
    for (st = RD_DECODE_SKIP_FRAGMENT + 1; st < RD_DECODE_NSTATUS; st++) {
        if (pl->status[st] == 0) {
            continue;
        }
        fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",",
                rd_tok2str(rd_decode_status_names, st, "?"), pl->status[st]);
        first = false;
    }
    fprintf(f, "},\"connections\":%" PRIu64 ",\"abnormal\":%" PRIu64,
            pl->reported, pl->abnormal);
    fputs(",\"verdicts\":{", f);
    first = true;
    for (st = 1; st < RD_V_NCODES; st++) {
        if (pl->verdicts[st] == 0) {
            continue;
        }
        fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",",
                rd_tok2str(rd_verdict_names, st, "?"), pl->verdicts[st]);
        first = false;
    }
    fprintf(f, "},\"legs\":{\"client_leg\":%" PRIu64 ",\"upstream_leg\":%"
            PRIu64 ",\"unknown\":%" PRIu64 "}", pl->legs[RD_LEG_CLIENT],
            pl->legs[RD_LEG_UPSTREAM], pl->legs[RD_LEG_UNKNOWN]);
    if (t->legs != NULL) {
        write_nginx_json(f, t->legs);
    }
    if (nc != NULL) {
        write_nginx_conf_json(f, nc);
    }
    {
        struct cluster_out  o = { f, true };

        fputs(",\"clusters\":[", f);
        find_clusters(pl, cluster_json, &o);
        putc(']', f);
    }
    fprintf(f, ",\"upstream_reuse\":{\"connections\":%" PRIu64
            ",\"single_request\":%" PRIu64 "}", pl->upstream_with_requests,
            pl->upstream_single_use);
    fputs(",\"upstream_idle_close\":[", f);
    for (i = 0; i < pl->nidle_close; i++) {
        const struct rd_idle_close  *k = &pl->idle_close[i];
        char                         ep[RD_EP_STRLEN];

        rd_ep_format(ep, sizeof(ep), k->af, k->addr, k->port);
        fprintf(f, "%s{\"upstream\":", i ? "," : "");
        rd_json_cstr(f, ep);
        fprintf(f, ",\"count\":%" PRIu32 ",\"median_s\":%.6f,\"min_s\":%.6f"
                ",\"max_s\":%.6f}", k->count, rd_idle_close_median(k), k->min,
                k->max);
    }
    putc(']', f);
    fputs(",\"advice\":[", f);
    if (churn(pl)) {
        rd_json_cstr(f, "nearly every upstream connection carried one "
                        "request: enable upstream keep-alive (keepalive N; in "
                        "the upstream block, proxy_http_version 1.1; "
                        "proxy_set_header Connection \"\";)");
    }
    putc(']', f);
    fputs(",\"nginx_version\":", f);
    if (t->nginx_version != 0) {
        fprintf(f, "\"%u.%u.%u\"", t->nginx_version / 10000,
                t->nginx_version / 100 % 100, t->nginx_version % 100);
    } else {
        fputs("null", f);
    }
    fprintf(f, ",\"flows\":{\"created\":%" PRIu64 ",\"peak\":%" PRIu32
            ",\"evicted\":%" PRIu64 ",\"expired\":%" PRIu64
            ",\"tuple_reused\":%" PRIu64 ",\"closed_clean\":%" PRIu64
            ",\"late_packets\":%" PRIu64 "}",
            t->flows->created, t->flows->peak, t->flows->evicted,
            t->flows->expired, t->flows->reused, t->flows->closed, pl->late);
    fprintf(f, ",\"evictions\":%" PRIu64, t->flows->evicted);
    fprintf(f, ",\"gaps\":{\"count\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
            pl->gaps, pl->gap_bytes);
    fprintf(f, ",\"ooo_refused\":%" PRIu64 ",\"ts_backwards\":%" PRIu64,
            pl->ooo_refused, pl->ts_backwards);
    fputs(",\"ts_first\":", f);
    json_ts_or_null(f, pl->packets ? pl->ts_first : 0);
    fputs(",\"ts_last\":", f);
    json_ts_or_null(f, pl->packets ? pl->ts_last : 0);
    truncated = false;
    fputs(",\"inputs\":[", f);
    for (i = 0; i < t->ninputs; i++) {
        const struct rd_report_input  *in = &t->inputs[i];

        fprintf(f, "%s{\"name\":", i ? "," : "");
        rd_json_cstr(f, in->name);
        fprintf(f, ",\"packets\":%" PRIu64 ",\"truncated\":%s,\"error\":",
                in->packets, in->truncated ? "true" : "false");
        if (in->error != NULL) {
            rd_json_cstr(f, in->error);
        } else {
            fputs("null", f);
        }
        putc('}', f);
        truncated = truncated || in->truncated;
    }
    fprintf(f, "],\"truncated\":%s", truncated ? "true" : "false");
    if (t->evidence != NULL) {
        fprintf(f, ",\"evidence_files\":{\"written\":%" PRIu64
                ",\"removed\":%" PRIu64 ",\"errors\":%" PRIu64
                ",\"kept\":%" PRIu32 ",\"bytes\":%" PRIu64, t->evidence->files,
                t->evidence->removed, t->evidence->errors,
                t->evidence->kept, t->evidence->bytes);
        if (t->evidence_store != NULL) {
            fprintf(f, ",\"packets_stored\":%" PRIu64
                    ",\"packets_reclaimed\":%" PRIu64,
                    t->evidence_store->stored, t->evidence_store->reclaimed);
        }
        putc('}', f);
    }
    if (t->live) {
        fprintf(f, ",\"pcap_drops\":%" PRIu64 ",\"capture_drops\":{"
                "\"kernel\":%" PRIu64 ",\"interface\":%" PRIu64 "}"
                ",\"final\":%s", t->pcap_drops, t->drops_kernel,
                t->drops_iface, t->interim ? "false" : "true");
    }
    fputs("}\n", f);
}


/* The ranked summary: verdict, count, share, nginx's line, the fix. */
static void
write_ranking(FILE *f, const struct rd_pipeline_stats *pl)
{
    const struct rd_verdict_rule  *rule;
    int                            order[RD_V_NCODES], n, i, j, t;
    uint64_t                       total;

    n = 0;
    total = 0;
    for (i = 1; i < RD_V_NCODES; i++) {
        if (pl->verdicts[i] == 0) {
            continue;
        }
        total += pl->verdicts[i];
        /* insertion by count, then by severity */
        order[n++] = i;
        for (j = n - 1; j > 0; j--) {
            if (pl->verdicts[order[j]] < pl->verdicts[order[j - 1]]
                || (pl->verdicts[order[j]] == pl->verdicts[order[j - 1]]
                    && rd_verdict_rule(order[j])->severity
                       <= rd_verdict_rule(order[j - 1])->severity))
            {
                break;
            }
            t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    }
    if (n == 0) {
        fputs("verdicts: none\n", f);
        return;
    }
    fputs("verdicts, most frequent first:\n", f);
    for (i = 0; i < n; i++) {
        rule = rd_verdict_rule(order[i]);
        fprintf(f, "  %6" PRIu64 "  %5.1f%%  %-7s  %s\n", pl->verdicts[order[i]],
                100.0 * (double) pl->verdicts[order[i]] / (double) total,
                rd_tok2str(rd_severity_names, rule->severity, "?"),
                rd_tok2str(rd_verdict_names, order[i], "?"));
        if (rule->message != NULL) {
            fprintf(f, "                   nginx: [%s] %s\n", rule->level,
                    rule->message);
        }
        fprintf(f, "                   fix: %s\n", rule->fix);
    }
}


static void
write_summary_text(FILE *f, const struct rd_report_totals *t,
    uint64_t findings)
{
    const struct rd_pipeline_stats  *pl = t->pl;
    uint64_t                         malformed, skipped;
    size_t                           i;
    int                              st;

    malformed = 0;
    skipped = 0;
    for (st = RD_DECODE_SKIP_NOT_IP; st < RD_DECODE_NSTATUS; st++) {
        if (st <= RD_DECODE_SKIP_FRAGMENT) {
            skipped += pl->status[st];
        } else {
            malformed += pl->status[st];
        }
    }
    fprintf(f, "rstdiag: %" PRIu64 " packets, %" PRIu64 " TCP, %" PRIu64
            " skipped (not TCP or fragments), %" PRIu64 " malformed\n",
            pl->packets, pl->tcp, skipped, malformed);
    fprintf(f, "connections: %" PRIu64 ", with findings: %" PRIu64
            " (an RST, a failed connect, a failed exchange, or a warning)\n",
            pl->reported, findings);
    write_ranking(f, pl);
    {
        struct cluster_out  o = { f, true };

        find_clusters(pl, cluster_text, &o);
    }
    if (churn(pl)) {
        fprintf(f, "advice: %" PRIu64 " of %" PRIu64 " upstream connections "
                "carried a single request: enable upstream keep-alive "
                "(keepalive N; proxy_http_version 1.1; proxy_set_header "
                "Connection \"\";)\n", pl->upstream_single_use,
                pl->upstream_with_requests);
    }
    if (t->legs != NULL) {
        write_nginx_text(f, t->legs);
    }
    for (i = 0; i < pl->nidle_close; i++) {
        const struct rd_idle_close  *k = &pl->idle_close[i];
        char                         ep[RD_EP_STRLEN];

        rd_ep_format(ep, sizeof(ep), k->af, k->addr, k->port);
        fprintf(f, "upstream %s closed idle keep-alive connections after "
                "%.3f s (median of %" PRIu32 ", %.3f to %.3f s): its own idle "
                "timeout; nginx's keepalive_timeout for it must stay below\n",
                ep, rd_idle_close_median(k), k->count, k->min, k->max);
    }
    fprintf(f, "flow table: peak %" PRIu32 ", evicted %" PRIu64
            ", expired %" PRIu64 ", tuples reused %" PRIu64 "\n",
            t->flows->peak, t->flows->evicted, t->flows->expired,
            t->flows->reused);
    if (pl->gaps != 0) {
        fprintf(f, "capture gaps: %" PRIu64 " (%" PRIu64 " bytes the "
                "endpoints exchanged but the capture missed)\n",
                pl->gaps, pl->gap_bytes);
    }
    if (malformed != 0) {
        fputs("malformed packets by reason:", f);
        for (st = RD_DECODE_SKIP_FRAGMENT + 1; st < RD_DECODE_NSTATUS; st++) {
            if (pl->status[st] != 0) {
                fprintf(f, " %s %" PRIu64,
                        rd_tok2str(rd_decode_status_names, st, "?"),
                        pl->status[st]);
            }
        }
        putc('\n', f);
    }
    for (i = 0; i < t->ninputs; i++) {
        if (t->inputs[i].truncated) {
            fputs("input ", f);
            rd_text_safe(f, (const uint8_t *) t->inputs[i].name,
                         strlen(t->inputs[i].name));
            fprintf(f, " is truncated: analysed up to the cut (%" PRIu64
                    " packets)\n", t->inputs[i].packets);
        }
    }
    if (t->live) {
        fprintf(f, "capture drops: %" PRIu64 " (kernel %" PRIu64 ", interface "
                "%" PRIu64 ")\n", t->pcap_drops, t->drops_kernel,
                t->drops_iface);
    }
}


void
rd_report_interim(struct rd_report *r, const struct rd_report_totals *t)
{
    struct rd_report_totals  it = *t;

    it.interim = true;
    if (r->cfg.json) {
        write_summary_json(r->out, &it, r->cfg.nginx_conf);
    } else {
        fputs("interim summary (the counters so far; the capture goes "
              "on):\n", r->out);
        write_summary_text(r->out, &it, r->findings);
        putc('\n', r->out);
    }
    fflush(r->out);
}


FILE *
rd_report_set_output(struct rd_report *r, FILE *out)
{
    FILE  *old = r->out;

    fflush(old);
    r->out = out;
    return old;
}


int
rd_report_summary(struct rd_report *r, const struct rd_report_totals *t,
    char err[RD_ERRLEN])
{
    char    buf[8192];
    char   *sb;
    size_t  n, sn;
    FILE   *m;
    int     rc;

    rc = 0;
    if (r->ej != NULL
        && rd_errjoin_finish(r->ej, t->pl->ts_first, t->pl->ts_last,
                             r->ej_err) != 0)
    {
        rc = -1;
    }
    if (rc != 0) {
        snprintf(err, RD_ERRLEN, "%s", r->ej_err);
    }
    if (r->cfg.json && r->ej != NULL) {
        sb = NULL;
        sn = 0;
        m = open_memstream(&sb, &sn);
        if (m != NULL) {
            write_summary_json(m, t, r->cfg.nginx_conf);
            fclose(m);
            fwrite(sb, 1, open_object(sb, sn), r->out);
            ej_summary(r, r->out, true);
            fputs("}\n", r->out);
            free(sb);
        }
    } else if (r->cfg.json) {
        write_summary_json(r->out, t, r->cfg.nginx_conf);
    } else {
        write_summary_text(r->out, t, r->findings);
        if (r->ej != NULL) {
            ej_summary(r, r->out, false);
        }
        if (r->spool != NULL) {     /* not when streamed (live) */
            rewind(r->spool);
            while ((n = fread(buf, 1, sizeof(buf), r->spool)) > 0) {
                fwrite(buf, 1, n, r->out);
            }
            fclose(r->spool);
            r->spool = NULL;
        }
    }
    fflush(r->out);
    return rc;
}
