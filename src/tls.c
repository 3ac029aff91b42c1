/*
 * Streaming TLS record-layer reader (RFC 5246 6.2, RFC 8446 5), one
 * direction, no decryption.  See include/rstdiag/tls.h for the contract
 * and the decisions.
 */
#include <stddef.h>
#include <string.h>

#include "rstdiag/cur.h"
#include "rstdiag/tls.h"
#include "tls_int.h"


/* reader states */
enum {
    S_HDR = 0,              /* inside a 5-byte record header */
    S_BODY,                 /* inside a record's payload */
    S_STOP                  /* stopped on an error */
};

/* _rtype of the SSLv2 CLIENT-HELLO "record" */
#define RT_SSL2         0

/* handshake message header length (RFC 8446 4) */
#define HS_HDR_LEN      4

/* extensions read (IANA TLS ExtensionType values) */
#define EXT_SERVER_NAME         0
#define EXT_ALPN                16
#define EXT_EARLY_DATA          42
#define EXT_SUPPORTED_VERSIONS  43

/* what an encrypted 2-byte alert costs per suite family */
enum {
    SUITE_UNKNOWN = 0,      /* CBC, stream, NULL or not in our table */
    SUITE_AEAD16,           /* TLS 1.2 GCM/CCM: 8-byte nonce, 16 tag */
    SUITE_AEAD8,            /* TLS 1.2 CCM_8: 8-byte nonce, 8 tag */
    SUITE_CHACHA,           /* TLS 1.2 ChaCha20-Poly1305: 16 tag */
    SUITE_13_16,            /* TLS 1.3, 16-byte tag */
    SUITE_13_8              /* TLS 1.3 CCM_8 */
};

/* RFC 8446 4.1.3: the random of a HelloRetryRequest, SHA-256 of
 * "HelloRetryRequest" */
static const uint8_t  hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
    0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
    0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c
};


const struct rd_tok  rd_tls_version_names[] = {
    { 0x0002, "SSLv2" },
    { RD_TLS_SSL3, "SSLv3" },
    { RD_TLS_V10, "TLSv1.0" },
    { RD_TLS_V11, "TLSv1.1" },
    { RD_TLS_V12, "TLSv1.2" },
    { RD_TLS_V13, "TLSv1.3" },
    { 0, NULL }
};

const struct rd_tok  rd_tls_content_type_names[] = {
    { RD_TLS_CT_CCS, "change_cipher_spec" },
    { RD_TLS_CT_ALERT, "alert" },
    { RD_TLS_CT_HANDSHAKE, "handshake" },
    { RD_TLS_CT_APPDATA, "application_data" },
    { RD_TLS_CT_HEARTBEAT, "heartbeat" },
    { 0, NULL }
};

const struct rd_tok  rd_tls_hs_type_names[] = {
    { 0, "hello_request" },
    { 1, "client_hello" },
    { 2, "server_hello" },
    { 3, "hello_verify_request" },
    { 4, "new_session_ticket" },
    { 5, "end_of_early_data" },
    { 8, "encrypted_extensions" },
    { 11, "certificate" },
    { 12, "server_key_exchange" },
    { 13, "certificate_request" },
    { 14, "server_hello_done" },
    { 15, "certificate_verify" },
    { 16, "client_key_exchange" },
    { 20, "finished" },
    { 22, "certificate_status" },
    { 24, "key_update" },
    { 254, "message_hash" },
    { 0, NULL }
};

const struct rd_tok  rd_tls_alert_level_names[] = {
    { RD_TLS_ALERT_WARNING, "warning" },
    { RD_TLS_ALERT_FATAL, "fatal" },
    { 0, NULL }
};

/* RFC 8446 6, RFC 5246 7.2, RFC 7301 3.2 (IANA TLS Alerts registry) */
const struct rd_tok  rd_tls_alert_names[] = {
    { 0, "close_notify" },
    { 10, "unexpected_message" },
    { 20, "bad_record_mac" },
    { 21, "decryption_failed" },
    { 22, "record_overflow" },
    { 30, "decompression_failure" },
    { 40, "handshake_failure" },
    { 41, "no_certificate" },
    { 42, "bad_certificate" },
    { 43, "unsupported_certificate" },
    { 44, "certificate_revoked" },
    { 45, "certificate_expired" },
    { 46, "certificate_unknown" },
    { 47, "illegal_parameter" },
    { 48, "unknown_ca" },
    { 49, "access_denied" },
    { 50, "decode_error" },
    { 51, "decrypt_error" },
    { 60, "export_restriction" },
    { 70, "protocol_version" },
    { 71, "insufficient_security" },
    { 80, "internal_error" },
    { 86, "inappropriate_fallback" },
    { 90, "user_canceled" },
    { 100, "no_renegotiation" },
    { 109, "missing_extension" },
    { 110, "unsupported_extension" },
    { 111, "certificate_unobtainable" },
    { 112, "unrecognized_name" },
    { 113, "bad_certificate_status_response" },
    { 114, "bad_certificate_hash_value" },
    { 115, "unknown_psk_identity" },
    { 116, "certificate_required" },
    { 120, "no_application_protocol" },
    { 0, NULL }
};

const struct rd_tok  rd_tls_event_names[] = {
    { RD_TLS_EV_CLIENT_HELLO, "client_hello" },
    { RD_TLS_EV_SERVER_HELLO, "server_hello" },
    { RD_TLS_EV_HRR, "hello_retry_request" },
    { RD_TLS_EV_HANDSHAKE, "handshake" },
    { RD_TLS_EV_CCS, "change_cipher_spec" },
    { RD_TLS_EV_ALERT, "alert" },
    { RD_TLS_EV_ENC_ALERT, "encrypted_alert" },
    { RD_TLS_EV_FINISHED, "finished" },
    { RD_TLS_EV_APPDATA_FIRST, "appdata_first" },
    { RD_TLS_EV_ERROR, "error" },
    { RD_TLS_EV_APPDATA, "appdata" },
    { 0, NULL }
};

const struct rd_tok  rd_tls_error_names[] = {
    { RD_TLS_E_NONE, "none" },
    { RD_TLS_E_NOT_TLS, "not_tls" },
    { RD_TLS_E_CONTENT_TYPE, "content_type" },
    { RD_TLS_E_VERSION, "record_version" },
    { RD_TLS_E_RECORD_LEN, "record_length" },
    { RD_TLS_E_GAP, "gap" },
    { 0, NULL }
};

const struct rd_tok  rd_tls_phase_names[] = {
    { RD_TLS_PH_NONE, "none" },
    { RD_TLS_PH_CLIENT_HELLO, "client_hello" },
    { RD_TLS_PH_SERVER_HELLO, "server_hello" },
    { RD_TLS_PH_ENCRYPTED_HANDSHAKE, "encrypted_handshake" },
    { RD_TLS_PH_ESTABLISHED, "established" },
    { RD_TLS_PH_CLOSED_ALERT, "closed_alert" },
    { RD_TLS_PH_ERROR, "error" },
    { 0, NULL }
};


static void
emit(struct rd_tls *p, int ev)
{
    if (p->on_ev != NULL) {
        p->on_ev(p->ctx, p, ev);
    }
}


/* The phase of a direction only moves forward (error is the last). */
static void
set_phase(struct rd_tls *p, int ph)
{
    if (p->phase < ph) {
        p->phase = (uint8_t) ph;
    }
}


static void
stop(struct rd_tls *p, int err, const char *reason)
{
    p->err = err;
    p->reason = reason;
    p->_state = S_STOP;
    set_phase(p, RD_TLS_PH_ERROR);
    emit(p, RD_TLS_EV_ERROR);
}


/*
 * Whether this direction's records are protected: TLS <= 1.2 (or not yet
 * known) after its ChangeCipherSpec.  TLS 1.3 protection shows in the
 * record type (23) instead, and its CCS is a no-op (RFC 8446 D.4).
 */
static bool
cipher_on(const struct rd_tls *p)
{
    return p->_ccs && p->version != RD_TLS_V13;
}


static bool
grease(uint16_t v)
{
    /* RFC 8701: 0x0A0A, 0x1A1A, ... 0xFAFA */
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}


/* --- hello parsing (RFC 8446 4.1.2, 4.1.3, RFC 5246 7.4.1) ------------- */

/* A sub-cursor of n bytes from c (or what is left when truncated). */
static void
sub(struct rd_cur *c, struct rd_cur *s, size_t n, bool trunc)
{
    size_t  left = rd_cur_left(c);

    if (c->err) {
        rd_cur_init(s, c->p, 0);
        s->err = true;
        return;
    }
    if (n > left) {
        rd_cur_init(s, c->p, left);
        c->p = c->end;
        if (!trunc) {
            s->err = true;      /* the fault shows when s is read */
        }
        c->err = true;
        return;
    }
    rd_cur_init(s, c->p, n);
    c->p += n;
}


static void
ext_sni(struct rd_tls *p, struct rd_cur *e)
{
    struct rd_cur  list;
    uint16_t       n;
    uint8_t        type;
    size_t         k;

    p->flags |= RD_TLS_F_SNI_PRESENT;
    if (rd_cur_left(e) == 0) {
        return;                 /* ServerHello: an empty acknowledgement */
    }
    n = rd_cur_be16(e);
    sub(e, &list, n, false);
    while (!list.err && rd_cur_left(&list) > 0) {
        type = rd_cur_u8(&list);
        n = rd_cur_be16(&list);
        if (list.err) {
            break;
        }
        if (type == 0 && p->sni_len == 0) {
            /* host_name: the first one is the one nginx matches */
            k = RD_MIN((size_t) n, rd_cur_left(&list));
            if (k > RD_TLS_SNI_LEN) {
                k = RD_TLS_SNI_LEN;
                p->flags |= RD_TLS_F_SNI_TRUNC;
            }
            memcpy(p->sni, list.p, k);
            p->sni_len = (uint8_t) k;
        }
        rd_cur_skip(&list, n);
    }
}


static void
ext_alpn(struct rd_tls *p, struct rd_cur *e)
{
    struct rd_cur  list;
    uint16_t       n;
    uint8_t        k;
    size_t         need;

    p->flags |= RD_TLS_F_ALPN_PRESENT;
    p->nalpn = 0;
    p->alpn_len = 0;
    n = rd_cur_be16(e);
    sub(e, &list, n, false);
    while (!list.err && rd_cur_left(&list) > 0) {
        k = rd_cur_u8(&list);
        if (list.err || k > rd_cur_left(&list)) {
            list.err = true;
            break;
        }
        if (p->nalpn < 255) {
            p->nalpn++;
        }
        need = (size_t) k + (p->alpn_len > 0 ? 1 : 0);
        if ((p->flags & RD_TLS_F_ALPN_TRUNC) == 0
            && p->alpn_len + need <= RD_TLS_ALPN_LEN)
        {
            if (p->alpn_len > 0) {
                p->alpn[p->alpn_len++] = ',';
            }
            memcpy(p->alpn + p->alpn_len, list.p, k);
            p->alpn_len = (uint8_t) (p->alpn_len + k);
        } else {
            p->flags |= RD_TLS_F_ALPN_TRUNC;
        }
        rd_cur_skip(&list, k);
    }
    if (list.err) {
        e->err = true;
    }
}


static void
ext_versions(struct rd_tls *p, struct rd_cur *e, bool client)
{
    struct rd_cur  list;
    uint16_t       v;
    uint8_t        n;

    p->flags |= RD_TLS_F_SV_PRESENT;
    p->nversions = 0;
    if (!client) {
        /* ServerHello / HRR: selected_version */
        v = rd_cur_be16(e);
        if (!e->err) {
            p->versions[0] = v;
            p->nversions = 1;
        }
        return;
    }
    n = rd_cur_u8(e);
    sub(e, &list, n, false);
    while (!list.err && rd_cur_left(&list) >= 2) {
        v = rd_cur_be16(&list);
        if (!grease(v) && p->nversions < RD_TLS_VERSIONS) {
            p->versions[p->nversions++] = v;
        }
    }
    if (list.err || rd_cur_left(&list) != 0) {
        e->err = true;
    }
}


/* Walk the extensions block; returns false on a framing fault. */
static bool
extensions(struct rd_tls *p, struct rd_cur *c, bool client, bool trunc)
{
    struct rd_cur  all, e;
    uint16_t       type, n;
    bool           ok = true;

    if (rd_cur_left(c) == 0 && !c->err) {
        return true;            /* TLS 1.0 hellos may have none */
    }
    n = rd_cur_be16(c);
    sub(c, &all, n, trunc);
    while (!all.err && rd_cur_left(&all) > 0) {
        type = rd_cur_be16(&all);
        n = rd_cur_be16(&all);
        if (all.err) {
            break;
        }
        sub(&all, &e, n, trunc);
        if (e.err && rd_cur_left(&e) == 0) {
            break;
        }
        switch (type) {
        case EXT_SERVER_NAME:
            if (client || rd_cur_left(&e) == 0) {
                ext_sni(p, &e);
            }
            break;
        case EXT_ALPN:
            ext_alpn(p, &e);
            break;
        case EXT_EARLY_DATA:
            if (client) {
                p->flags |= RD_TLS_F_EARLY_DATA;
            }
            break;
        case EXT_SUPPORTED_VERSIONS:
            ext_versions(p, &e, client);
            break;
        default:
            break;
        }
        if (e.err) {
            ok = false;
        }
    }
    if (all.err || c->err) {
        ok = false;
    }
    return ok;
}


static void
parse_client_hello(struct rd_tls *p, bool trunc)
{
    struct rd_cur  c, skip;
    bool           ok;

    /* the facts are those of the last ClientHello (a second one follows
     * a HelloRetryRequest) */
    p->sni_len = 0;
    p->nversions = 0;
    p->nalpn = 0;
    p->alpn_len = 0;
    p->flags &= ~(uint32_t) (RD_TLS_F_SV_PRESENT | RD_TLS_F_ALPN_PRESENT
        | RD_TLS_F_SNI_PRESENT | RD_TLS_F_SNI_TRUNC | RD_TLS_F_ALPN_TRUNC);
    rd_cur_init(&c, p->_hs_buf, p->_hs_buflen);
    p->legacy_version = rd_cur_be16(&c);
    rd_cur_skip(&c, 32);                            /* random */
    sub(&c, &skip, rd_cur_u8(&c), trunc);           /* legacy_session_id */
    sub(&c, &skip, rd_cur_be16(&c), trunc);         /* cipher_suites */
    sub(&c, &skip, rd_cur_u8(&c), trunc);           /* compression */
    ok = !c.err && extensions(p, &c, true, trunc);
    if (!ok && !trunc) {
        p->flags |= RD_TLS_F_HELLO_BAD;
    }
    set_phase(p, RD_TLS_PH_CLIENT_HELLO);
    emit(p, RD_TLS_EV_CLIENT_HELLO);
}


static void
parse_server_hello(struct rd_tls *p, bool trunc)
{
    struct rd_cur  c, skip;
    uint16_t       v;
    bool           ok, hrr;

    rd_cur_init(&c, p->_hs_buf, p->_hs_buflen);
    p->legacy_version = rd_cur_be16(&c);
    hrr = rd_cur_left(&c) >= 32 && memcmp(c.p, hrr_random, 32) == 0;
    rd_cur_skip(&c, 32);
    sub(&c, &skip, rd_cur_u8(&c), trunc);           /* legacy_session_id */
    p->cipher = rd_cur_be16(&c);
    rd_cur_skip(&c, 1);                             /* compression */
    p->flags &= ~(uint32_t) (RD_TLS_F_SV_PRESENT | RD_TLS_F_ALPN_PRESENT);
    p->nversions = 0;
    p->nalpn = 0;
    p->alpn_len = 0;
    ok = !c.err && extensions(p, &c, false, trunc);
    if (!ok && !trunc) {
        p->flags |= RD_TLS_F_HELLO_BAD;
    }
    /* RFC 8446 4.2.1: supported_versions overrides legacy_version */
    v = p->nversions > 0 ? p->versions[0] : p->legacy_version;
    rd_tls_set_version(p, v);
    if (p->_peer != NULL) {
        p->_peer->cipher = p->cipher;
    }
    set_phase(p, RD_TLS_PH_SERVER_HELLO);
    if (hrr) {
        p->hrr = true;
        emit(p, RD_TLS_EV_HRR);
    } else {
        p->_sh_seen = true;
        emit(p, RD_TLS_EV_SERVER_HELLO);
    }
}


/* Parse the kept hello from what the buffer holds. */
static void
hs_parse(struct rd_tls *p, bool trunc)
{
    p->_hs_done = true;
    if (trunc) {
        p->flags |= RD_TLS_F_HELLO_TRUNC;
    }
    if (p->_hs_hdr[0] == RD_TLS_HS_CLIENT_HELLO) {
        parse_client_hello(p, trunc);
    } else {
        parse_server_hello(p, trunc);
    }
}


/* A kept hello that will never complete: parse what there is. */
static void
hs_flush(struct rd_tls *p)
{
    if (p->_hs_idx == HS_HDR_LEN && p->_hs_keep && !p->_hs_done
        && p->_hs_buflen > 0)
    {
        hs_parse(p, true);
    }
}


static void
hs_begin(struct rd_tls *p)
{
    uint8_t  t = p->_hs_hdr[0];

    p->_hs_len = (uint32_t) p->_hs_hdr[1] << 16
        | (uint32_t) p->_hs_hdr[2] << 8 | p->_hs_hdr[3];
    p->_hs_got = 0;
    p->_hs_buflen = 0;
    p->_hs_done = false;
    p->hs_messages++;
    p->hs_type = t;
    if (t < 32) {
        p->hs_types |= 1u << t;
    }
    p->_hs_keep = (t == RD_TLS_HS_CLIENT_HELLO && p->dir == RD_TLS_CLIENT)
        || (t == RD_TLS_HS_SERVER_HELLO && p->dir == RD_TLS_SERVER);
    if (!p->_hs_keep) {
        emit(p, RD_TLS_EV_HANDSHAKE);
    }
}


static void
hs_end(struct rd_tls *p)
{
    if (p->_hs_keep && !p->_hs_done) {
        hs_parse(p, p->_hs_buflen < p->_hs_len);
    }
    p->_hs_idx = 0;
    p->_hs_keep = false;
}


/*
 * Bytes of handshake records in clear: message headers go byte by byte
 * into _hs_hdr, bodies in runs; only a kept hello is copied, and only up
 * to RD_TLS_HS_BUF, whatever its header claims.
 */
static void
hs_bytes(struct rd_tls *p, const uint8_t *d, size_t n)
{
    size_t    i = 0, k, room;

    if (p->_hs_lost) {
        return;
    }
    while (i < n) {
        if (p->_hs_idx < HS_HDR_LEN) {
            p->_hs_hdr[p->_hs_idx++] = d[i++];
            if (p->_hs_idx == HS_HDR_LEN) {
                hs_begin(p);
                if (p->_hs_len == 0) {
                    hs_end(p);
                }
            }
            continue;
        }
        k = RD_MIN(n - i, (size_t) (p->_hs_len - p->_hs_got));
        if (p->_hs_keep && !p->_hs_done) {
            /* stop the run where the buffer fills, so the hello is
             * parsed at the same byte however the input was split */
            room = RD_TLS_HS_BUF - p->_hs_buflen;
            k = RD_MIN(room, k);
            memcpy(p->_hs_buf + p->_hs_buflen, d + i, k);
            p->_hs_buflen += (uint32_t) k;
        }
        p->_hs_got += (uint32_t) k;
        i += k;
        if (p->_hs_got == p->_hs_len) {
            hs_end(p);
        } else if (p->_hs_keep && !p->_hs_done
                   && p->_hs_buflen == RD_TLS_HS_BUF)
        {
            /* full: parse now, skip the rest of the message */
            hs_parse(p, true);
        }
    }
}


static void
alert_bytes(struct rd_tls *p, const uint8_t *d, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        p->_alert[p->_alert_idx++] = d[i];
        if (p->_alert_idx < 2) {
            continue;
        }
        p->_alert_idx = 0;
        p->alerts++;
        p->alert_level = p->_alert[0];
        p->alert_desc = p->_alert[1];
        if (p->alert_level == RD_TLS_ALERT_FATAL
            || p->alert_desc == RD_TLS_CLOSE_NOTIFY)
        {
            set_phase(p, RD_TLS_PH_CLOSED_ALERT);
        }
        emit(p, RD_TLS_EV_ALERT);
    }
}


/* --- records ------------------------------------------------------------ */

/* An HTTP method (RFC 9110 9) or "HTTP/" at the start of a stream. */
static bool
looks_http(const uint8_t *h)
{
    static const char *const  words[] = {
        "GET ", "HEAD ", "POST ", "PUT ", "DELETE", "OPTIONS", "CONNECT",
        "PATCH", "TRACE", "PRI *", "HTTP/"
    };
    size_t  i, k;

    for (i = 0; i < RD_NELEMS(words); i++) {
        k = RD_MIN(strlen(words[i]), (size_t) RD_TLS_HDR_LEN);
        if (memcmp(h, words[i], k) == 0) {
            return true;
        }
    }
    return false;
}


static bool
ssl2_hello(const uint8_t *h)
{
    unsigned  len = ((unsigned) (h[0] & 0x7f) << 8) | h[1];

    /* draft-hickman SSL 2.0 CLIENT-HELLO, as RFC 5246 E.2 sends it:
     * msg_type 1, version 0x0002 or 3.x, then 3 lengths (6 bytes) */
    return (h[0] & 0x80) != 0 && h[2] == 1 && len >= 9
        && ((h[3] == 0 && h[4] == 2) || (h[3] == 3 && h[4] <= 4));
}


static void
appdata(struct rd_tls *p, uint32_t len, rd_usec_t ts)
{
    p->appdata_records++;
    p->appdata_bytes += len;
    p->ts_last_appdata = ts;
    set_phase(p, RD_TLS_PH_ESTABLISHED);
    if (p->appdata_records == 1) {
        p->ts_first_appdata = ts;
        emit(p, RD_TLS_EV_APPDATA_FIRST);
    }
    emit(p, RD_TLS_EV_APPDATA);
}


static void
mark_finished(struct rd_tls *p)
{
    p->finished = true;
    set_phase(p, RD_TLS_PH_ESTABLISHED);
    emit(p, RD_TLS_EV_FINISHED);
}


/* A type-23 record: early data, a Finished, or application data. */
static void
record_appdata(struct rd_tls *p, uint32_t len, rd_usec_t ts)
{
    if (p->version == RD_TLS_V13) {
        p->flags |= RD_TLS_F_ENCRYPTED;
        if (p->dir == RD_TLS_CLIENT) {
            if (!p->finished) {
                p->encrypted_records++;
                mark_finished(p);
            } else {
                appdata(p, len, ts);
            }
            return;
        }
        if (p->_peer != NULL && p->_peer->finished) {
            appdata(p, len, ts);
            return;
        }
        p->encrypted_records++;
        set_phase(p, RD_TLS_PH_ENCRYPTED_HANDSHAKE);
        if (!p->finished) {
            mark_finished(p);
        }
        return;
    }
    if (p->dir == RD_TLS_CLIENT && p->version == 0
        && (p->flags & RD_TLS_F_EARLY_DATA))
    {
        p->early_records++;
        return;
    }
    appdata(p, len, ts);
}


static void
record_begin(struct rd_tls *p, rd_usec_t ts)
{
    const uint8_t  *h = p->_hdr;
    uint8_t         type = h[0];
    uint16_t        ver = (uint16_t) ((unsigned) h[1] << 8 | h[2]);
    uint32_t        len = (uint32_t) h[3] << 8 | h[4];
    bool            first = p->records == 0;

    if (first && p->dir == RD_TLS_CLIENT && ssl2_hello(h)) {
        /* the 2-byte header, then msg_type and version: 3 of the length
         * are already read */
        p->records++;
        p->hs_messages++;
        p->flags |= RD_TLS_F_SSL2_HELLO;
        p->record_version = 0x0002;
        p->legacy_version = (uint16_t) ((unsigned) h[3] << 8 | h[4]);
        p->last_type = RT_SSL2;
        p->_rtype = RT_SSL2;
        p->_remain = (((uint32_t) (h[0] & 0x7f) << 8) | h[1]) - 3;
        p->last_len = p->_remain + 3;
        p->ts_last_record = ts;
        p->_state = S_BODY;
        set_phase(p, RD_TLS_PH_CLIENT_HELLO);
        emit(p, RD_TLS_EV_CLIENT_HELLO);
        return;
    }
    if (type < RD_TLS_CT_CCS || type > RD_TLS_CT_HEARTBEAT) {
        if (first && looks_http(h)) {
            p->flags |= RD_TLS_F_PLAIN_HTTP;
            stop(p, RD_TLS_E_NOT_TLS, "not TLS: plain HTTP");
        } else if (first) {
            stop(p, RD_TLS_E_NOT_TLS, "not TLS: bad content type");
        } else {
            stop(p, RD_TLS_E_CONTENT_TYPE, "bad record content type");
        }
        return;
    }
    if (h[1] != 3 || h[2] > 4) {
        stop(p, first ? RD_TLS_E_NOT_TLS : RD_TLS_E_VERSION,
            first ? "not TLS: bad record version" : "bad record version");
        return;
    }
    if (len > RD_TLS_MAX_RECORD) {
        stop(p, RD_TLS_E_RECORD_LEN, "record too long");
        return;
    }
    if (first) {
        p->record_version = ver;
    }
    p->records++;
    p->last_type = type;
    p->last_len = len;
    p->ts_last_record = ts;
    p->_rtype = type;
    p->_remain = len;
    p->_state = S_BODY;

    switch (type) {
    case RD_TLS_CT_CCS:
        p->ccs_records++;
        if (p->version != RD_TLS_V13
            && !(p->dir == RD_TLS_CLIENT && p->version == 0
                 && (p->flags & RD_TLS_F_EARLY_DATA)))
        {
            /* RFC 5246 7.1: from here this direction is protected */
            p->_ccs = true;
            p->flags |= RD_TLS_F_ENCRYPTED;
            set_phase(p, RD_TLS_PH_ENCRYPTED_HANDSHAKE);
        }
        emit(p, RD_TLS_EV_CCS);
        break;
    case RD_TLS_CT_ALERT:
        if (cipher_on(p)) {
            p->enc_alert_records++;
            set_phase(p, RD_TLS_PH_CLOSED_ALERT);
            emit(p, RD_TLS_EV_ENC_ALERT);
        } else {
            p->alert_records++;
        }
        break;
    case RD_TLS_CT_HANDSHAKE:
        if (cipher_on(p)) {
            p->encrypted_records++;
            if (!p->finished) {
                mark_finished(p);
            }
        } else {
            p->hs_records++;
        }
        break;
    case RD_TLS_CT_APPDATA:
        record_appdata(p, len, ts);
        break;
    default:
        p->heartbeat_records++;
        break;
    }
}


/* Payload bytes of the current record: only clear ones are read. */
static void
record_bytes(struct rd_tls *p, const uint8_t *d, size_t n)
{
    if (p->_rtype == RD_TLS_CT_HANDSHAKE && !cipher_on(p)) {
        hs_bytes(p, d, n);
    } else if (p->_rtype == RD_TLS_CT_ALERT && !cipher_on(p)) {
        alert_bytes(p, d, n);
    }
}


/* --- API ---------------------------------------------------------------- */

void
rd_tls_init(struct rd_tls *p, int dir, rd_tls_cb on_ev, void *ctx)
{
    /* all but the hello buffer, 4 KiB of the 4.7: only its first
     * _hs_buflen bytes are ever read, and zeroing it cost more per
     * connection than reading all its records (issue 17) */
    memset(p, 0, offsetof(struct rd_tls, _hs_buf));
    p->dir = dir == RD_TLS_SERVER ? RD_TLS_SERVER : RD_TLS_CLIENT;
    p->on_ev = on_ev;
    p->ctx = ctx;
}


void
rd_tls_pair(struct rd_tls *client, struct rd_tls *server)
{
    if (client != NULL) {
        client->_peer = server;
    }
    if (server != NULL) {
        server->_peer = client;
    }
}


void
rd_tls_set_version(struct rd_tls *p, uint16_t version)
{
    if (version == 0) {
        return;
    }
    p->version = version;
    if (p->dir == RD_TLS_SERVER && p->_peer != NULL) {
        p->_peer->version = version;
    }
}


int
rd_tls_feed(struct rd_tls *p, const uint8_t *data, size_t len,
    rd_usec_t ts)
{
    size_t  i, n;

    if (p->_closed) {
        return -RD_EINVAL;
    }
    p->offset += len;
    i = 0;
    while (i < len && p->_state != S_STOP) {
        if (p->_state == S_HDR) {
            /* headers byte by byte: one may be split anywhere */
            p->_hdr[p->_idx++] = data[i++];
            if (p->_idx < RD_TLS_HDR_LEN) {
                continue;
            }
            p->_idx = 0;
            record_begin(p, ts);
            if (p->_state == S_BODY && p->_remain == 0) {
                p->_state = S_HDR;
            }
            continue;
        }
        /* S_BODY: a run, bounded by the record; skipped unless clear */
        n = RD_MIN(len - i, (size_t) p->_remain);
        if (p->_rtype != RT_SSL2) {
            record_bytes(p, data + i, n);
        }
        p->_remain -= (uint32_t) n;
        i += n;
        if (p->_remain == 0 && p->_state == S_BODY) {
            p->_state = S_HDR;
        }
    }
    if (p->_state == S_STOP) {
        p->ignored_bytes += len - i;
        return -RD_EPROTO;
    }
    return RD_OK;
}


void
rd_tls_gap(struct rd_tls *p, uint64_t nbytes)
{
    if (p->_closed || nbytes == 0) {
        return;
    }
    p->offset += nbytes;
    p->gap_bytes += nbytes;
    if (p->_state == S_STOP) {
        p->ignored_bytes += nbytes;
        return;
    }
    if (p->_state != S_BODY) {
        /* no length tells where the next record starts */
        stop(p, RD_TLS_E_GAP, p->_idx == 0
            ? "capture gap at a record header"
            : "capture gap inside a record header");
        return;
    }
    if (nbytes > p->_remain) {
        stop(p, RD_TLS_E_GAP, "capture gap past the end of a record");
        return;
    }
    if (p->_rtype == RD_TLS_CT_HANDSHAKE && !cipher_on(p) && !p->_hs_lost) {
        if (p->_hs_idx == HS_HDR_LEN
            && nbytes <= (uint64_t) (p->_hs_len - p->_hs_got))
        {
            /* inside one message body: framing survives, the body not */
            if (p->_hs_keep && !p->_hs_done) {
                hs_parse(p, true);
            }
            p->_hs_got += (uint32_t) nbytes;
            if (p->_hs_got == p->_hs_len) {
                hs_end(p);
            }
        } else {
            hs_flush(p);
            p->_hs_lost = true;
            p->flags |= RD_TLS_F_HS_LOST;
        }
    } else if (p->_rtype == RD_TLS_CT_ALERT && !cipher_on(p)) {
        p->_alert_idx = 0;      /* pairing lost; later alerts resync */
    }
    p->_remain -= (uint32_t) nbytes;
    if (p->_remain == 0) {
        p->_state = S_HDR;
    }
}


int
rd_tls_finish(struct rd_tls *p)
{
    int  rc = RD_TLS_SAFE;

    if (p->_closed) {
        return -RD_EINVAL;
    }
    if (p->_state != S_STOP) {
        if (p->_state == S_BODY || p->_idx > 0) {
            p->flags |= RD_TLS_F_CUT_RECORD;
            rc = RD_TLS_UNSAFE;
        }
        if (p->_hs_idx > 0 && !p->_hs_lost) {
            p->flags |= RD_TLS_F_CUT_HANDSHAKE;
            rc = RD_TLS_UNSAFE;
            hs_flush(p);
        }
        if (p->_alert_idx != 0) {
            p->flags |= RD_TLS_F_ALERT_ODD;
        }
    } else {
        rc = RD_TLS_UNSAFE;
    }
    p->_closed = true;
    return rc;
}


enum rd_tls_phase
rd_tls_phase(const struct rd_tls *c, const struct rd_tls *s)
{
    uint16_t  v = 0;

    if ((c != NULL && c->err) || (s != NULL && s->err)) {
        return RD_TLS_PH_ERROR;
    }
    if ((c != NULL && c->phase == RD_TLS_PH_CLOSED_ALERT)
        || (s != NULL && s->phase == RD_TLS_PH_CLOSED_ALERT))
    {
        return RD_TLS_PH_CLOSED_ALERT;
    }
    if (s != NULL) {
        v = s->version;
    }
    if (v == 0 && c != NULL) {
        v = c->version;
    }
    if (v == RD_TLS_V13 ? (c != NULL && c->finished)
        : (c != NULL && s != NULL && c->finished && s->finished))
    {
        return RD_TLS_PH_ESTABLISHED;
    }
    if ((c != NULL && (c->flags & RD_TLS_F_ENCRYPTED))
        || (s != NULL && (s->flags & RD_TLS_F_ENCRYPTED)))
    {
        return RD_TLS_PH_ENCRYPTED_HANDSHAKE;
    }
    if (s != NULL && s->phase >= RD_TLS_PH_SERVER_HELLO) {
        return RD_TLS_PH_SERVER_HELLO;
    }
    if (c != NULL && c->phase >= RD_TLS_PH_CLIENT_HELLO) {
        return RD_TLS_PH_CLIENT_HELLO;
    }
    return RD_TLS_PH_NONE;
}


/* IANA TLS Cipher Suites: the AEAD families whose overhead is known. */
static int
suite_kind(uint16_t cs)
{
    if (cs >= 0x1301 && cs <= 0x1304) {
        return SUITE_13_16;     /* AES-GCM, ChaCha20-Poly1305, AES-CCM */
    }
    if (cs == 0x1305) {
        return SUITE_13_8;      /* AES-CCM-8 */
    }
    if ((cs >= 0x009c && cs <= 0x00ad) || (cs >= 0xc02b && cs <= 0xc032)
        || cs == 0xd001 || cs == 0xd002 || cs == 0xd005)
    {
        return SUITE_AEAD16;    /* RFC 5288, 5289, 5487, 8442 GCM/CCM */
    }
    if (cs >= 0xc09c && cs <= 0xc0af) {
        /* RFC 6655, 7251: groups of CCM then CCM_8 */
        if ((cs >= 0xc0a0 && cs <= 0xc0a3) || (cs >= 0xc0a8 && cs <= 0xc0ab)
            || cs == 0xc0ae || cs == 0xc0af)
        {
            return SUITE_AEAD8;
        }
        return SUITE_AEAD16;
    }
    if (cs == 0xd003) {
        return SUITE_AEAD8;
    }
    if (cs >= 0xcca8 && cs <= 0xccae) {
        return SUITE_CHACHA;    /* RFC 7905 */
    }
    return SUITE_UNKNOWN;
}


int
rd_tls_probable_close_notify(const struct rd_tls *p)
{
    uint16_t  v = p->version, cs = p->cipher;
    uint32_t  want;

    if (p->_peer != NULL) {
        v = v != 0 ? v : p->_peer->version;
        cs = cs != 0 ? cs : p->_peer->cipher;
    }
    if (p->records == 0 || v == 0 || cs == 0) {
        return -1;
    }
    if (v == RD_TLS_V13) {
        /* RFC 8446 5.2: TLSInnerPlaintext = alert + content type, then
         * the AEAD tag; padding would make it longer */
        switch (suite_kind(cs)) {
        case SUITE_13_16:
            want = 2 + 1 + 16;
            break;
        case SUITE_13_8:
            want = 2 + 1 + 8;
            break;
        default:
            return -1;
        }
        return p->last_type == RD_TLS_CT_APPDATA && p->last_len == want;
    }
    /* RFC 5246 6.2.3.3: explicit nonce + alert + tag; type 21 shows */
    switch (suite_kind(cs)) {
    case SUITE_AEAD16:
        want = 8 + 2 + 16;
        break;
    case SUITE_AEAD8:
        want = 8 + 2 + 8;
        break;
    case SUITE_CHACHA:
        want = 2 + 16;          /* RFC 7905 2: no explicit nonce */
        break;
    default:
        return -1;
    }
    return p->last_type == RD_TLS_CT_ALERT && cipher_on(p)
        && p->last_len == want;
}


int
rd_tls_looks_like(const uint8_t *b, size_t n)
{
    unsigned  len;

    if (n == 0) {
        return -1;
    }
    if (b[0] == RD_TLS_CT_HANDSHAKE) {
        if ((n >= 2 && b[1] != 3) || (n >= 3 && b[2] > 4)) {
            return 0;
        }
        if (n < RD_TLS_HDR_LEN) {
            return -1;
        }
        len = (unsigned) b[3] << 8 | b[4];
        return len >= 1 && len <= RD_TLS_MAX_RECORD ? 1 : 0;
    }
    if (b[0] & 0x80) {
        if (n >= 3 && b[2] != 1) {
            return 0;
        }
        if (n < RD_TLS_HDR_LEN) {
            return -1;
        }
        return ssl2_hello(b) ? 2 : 0;
    }
    return 0;
}


void
rd_tls_validate_(const struct rd_tls *p)
{
    rd_require(p->dir == RD_TLS_CLIENT || p->dir == RD_TLS_SERVER);
    rd_require(p->_state >= S_HDR && p->_state <= S_STOP);
    rd_require(p->_idx < RD_TLS_HDR_LEN);
    rd_require(p->_state != S_HDR || p->_remain == 0);
    rd_require(p->_remain <= 0x7fffu);     /* SSLv2 lengths reach 2^15 */
    rd_require(p->_hs_idx <= HS_HDR_LEN);
    rd_require(p->_hs_buflen <= RD_TLS_HS_BUF);
    rd_require(p->_hs_idx < HS_HDR_LEN || p->_hs_got <= p->_hs_len);
    rd_require(p->_hs_buflen <= p->_hs_got || p->_hs_idx < HS_HDR_LEN);
    rd_require(p->sni_len <= RD_TLS_SNI_LEN);
    rd_require(p->alpn_len <= RD_TLS_ALPN_LEN);
    rd_require(p->nversions <= RD_TLS_VERSIONS);
    rd_require(p->_alert_idx < 2);
    rd_require(p->ignored_bytes <= p->offset);
    rd_require(p->gap_bytes <= p->offset);
    rd_require((p->err == RD_TLS_E_NONE) == (p->_state != S_STOP));
    rd_require(p->appdata_records <= p->records);
}
