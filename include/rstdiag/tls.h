/*
 * rstdiag: streaming TLS record-layer reader of one direction of one TCP
 * connection (TLS 1.0-1.3: RFC 2246, 4346, 5246, 8446; no decryption).
 *
 * One struct rd_tls per direction, owned by the caller, told at init
 * whether it reads the client's bytes (RD_TLS_CLIENT) or the server's
 * (RD_TLS_SERVER).  No allocation.  Every decision is taken at a byte
 * position (end of a record header, end of a handshake message, buffer
 * full), so input split at any byte boundary gives the same events.
 * Application data and encrypted records are skipped in bulk, never
 * copied.  Only ClientHello and ServerHello bodies are reassembled, into
 * a fixed buffer of RD_TLS_HS_BUF bytes inside the struct.
 * sizeof(struct rd_tls) is 4704 bytes on x86-64 LP64: RD_TLS_HS_BUF
 * (4096) plus 608 bytes of state, counters and facts (SNI 255, ALPN 64).
 *
 * Pairing: rd_tls_pair(client, server) links the two directions of a
 * connection.  The server's ServerHello then tells the client parser the
 * negotiated version (rd_tls_set_version), and a TLS 1.3 server parser
 * can see when the client's Finished went by (the start of its
 * application data).  Both structs must then stay where they are.
 * Unpaired parsers work alone; the caller may call rd_tls_set_version()
 * itself.
 *
 * Events, through p->on_ev(ctx, p, event); the facts are in p:
 *   RD_TLS_EV_CLIENT_HELLO   a ClientHello (or SSLv2 CLIENT-HELLO) was
 *                            parsed: p->legacy_version, p->sni,
 *                            p->alpn (offered list), p->versions.
 *   RD_TLS_EV_SERVER_HELLO   a ServerHello: p->legacy_version,
 *                            p->version (negotiated), p->cipher,
 *                            p->alpn (chosen; TLS <= 1.2 only, 1.3
 *                            sends it in the encrypted
 *                            EncryptedExtensions).
 *   RD_TLS_EV_HRR            a HelloRetryRequest (a ServerHello whose
 *                            random is the RFC 8446 4.1.3 constant):
 *                            p->version, p->cipher; p->hrr set.
 *   RD_TLS_EV_HANDSHAKE      another handshake message in clear:
 *                            p->hs_type (also bit in p->hs_types).
 *   RD_TLS_EV_CCS            a ChangeCipherSpec record.
 *   RD_TLS_EV_ALERT          an alert in clear: p->alert_level,
 *                            p->alert_desc (rd_tls_alert_names).
 *   RD_TLS_EV_ENC_ALERT      an encrypted alert record (TLS <= 1.2: type
 *                            21 after ChangeCipherSpec); its length is
 *                            p->last_len.
 *   RD_TLS_EV_FINISHED       this direction's Finished went by (see
 *                            completion below).
 *   RD_TLS_EV_APPDATA_FIRST  the first application-data record of this
 *                            direction (p->ts_first_appdata).
 *   RD_TLS_EV_ERROR          the reader stopped: p->err, p->reason.
 *   RD_TLS_EV_APPDATA        an application-data record begins (after
 *                            APPDATA_FIRST for the first one), at its
 *                            header: p->last_len is its length,
 *                            p->ts_last_appdata its time.
 *
 * Decisions:
 * - Record header (RFC 8446 5.1, RFC 5246 6.2.1): content type 20..24
 *   (24 heartbeat is counted and skipped), version major 3, minor 0..4
 *   (1.3 writes 0x0301/0x0303 there), length at most RD_TLS_MAX_RECORD
 *   = 2^14 + 2048 (the TLS 1.2 ciphertext limit, which covers 1.3's
 *   2^14 + 256).  Anything else stops the reader: "record too long",
 *   "bad record version", "bad content type".  A zero-length record is
 *   counted, not an error.
 * - First bytes: a direction whose first 5 bytes read like an HTTP method
 *   followed by SP ("GET ", "POST ", ...) or "HTTP/" stops with
 *   RD_TLS_E_NOT_TLS, reason "not TLS: plain HTTP" and RD_TLS_F_PLAIN_HTTP
 *   (an upstream answering HTTP on a TLS port: nginx logs "wrong version
 *   number"; a client sending HTTP to nginx's TLS port gets a 400).
 *   Other non-TLS first bytes give reason "not TLS".  A client direction
 *   that starts with an SSLv2-style CLIENT-HELLO (2-byte length with the
 *   high bit, message type 1) is read as such (RD_TLS_F_SSL2_HELLO), then
 *   as TLS records.
 * - Handshake messages in clear are framed across records (RFC 8446 5.1
 *   allows a message to span records and a record to hold several).
 *   ClientHello and ServerHello bodies are buffered up to RD_TLS_HS_BUF;
 *   a longer one is parsed at the byte that fills the buffer, as far as
 *   it goes, with RD_TLS_F_HELLO_TRUNC, and the rest is skipped.  A hello
 *   cut by a gap or by the end of the stream is parsed then, the same
 *   way.  Other message
 *   types are skipped and their type noted.  A claimed length is never
 *   allocated nor trusted beyond skipping (2^24 - 1 at most).  A hello
 *   whose fields do not fit their lengths sets RD_TLS_F_HELLO_BAD; the
 *   facts read before the fault are kept.  Hellos do not stop the reader.
 * - Encryption starts, for this direction: TLS <= 1.2 (or version still
 *   unknown) at its ChangeCipherSpec: handshake records after it are
 *   counted as the encrypted Finished (and renegotiation), alerts as
 *   encrypted alerts.  TLS 1.3: every type-23 record is encrypted; a
 *   ChangeCipherSpec is only middlebox compatibility (RFC 8446 D.4) and
 *   changes nothing, so a second ClientHello after a HelloRetryRequest
 *   is still parsed.
 * - Completion (rd_tls_phase, p->finished): TLS <= 1.2: a direction is
 *   finished at its first record after its ChangeCipherSpec (the
 *   Finished); the connection is established when both are.  TLS 1.3:
 *   the client is finished at its first type-23 record after the version
 *   became known (its Finished, after the server's whole flight); the
 *   connection is then established.  A TLS 1.3 server parser marks
 *   itself finished at its first record after its ServerHello, which is
 *   encrypted (the server's Finished is somewhere in that flight).
 * - Application data: type 23 records of TLS <= 1.2 (or version
 *   unknown).  TLS 1.3: client records after its Finished; client
 *   records before the version is known are counted as early data
 *   (p->early_records) when its ClientHello offered early_data, as
 *   application data otherwise; server records once the paired client
 *   is finished (unpaired: never, they stay encrypted_records).  A TLS
 *   1.3 server's NewSessionTicket is an encrypted record after the
 *   client's Finished and so counts as application data: its first
 *   "application data" may be a ticket.
 * - Gaps (rd_tls_gap): inside a record whose remaining length is known,
 *   the bytes are skipped and framing continues at the next record
 *   header; a gap that reaches past the current record, or falls in a
 *   record header, stops the reader (RD_TLS_E_GAP).  A gap inside a
 *   handshake record in clear loses the handshake framing of this
 *   direction (RD_TLS_F_HS_LOST): later handshake records are only
 *   counted.
 * - Alerts in clear are read two bytes at a time, across records; each
 *   one is an RD_TLS_EV_ALERT.  closed_alert (the direction's phase and
 *   rd_tls_phase()) means a clear fatal alert or close_notify, or a TLS
 *   <= 1.2 encrypted alert record (which cannot be read: a warning such
 *   as no_renegotiation counts too); a clear warning other than
 *   close_notify changes no phase.  An encrypted TLS 1.3 alert looks like
 *   any type-23 record: see rd_tls_probable_close_notify().
 */
#ifndef RD_TLS_H
#define RD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rstdiag/common.h"

#define RD_TLS_CLIENT             0   /* client -> server bytes */
#define RD_TLS_SERVER             1   /* server -> client bytes */

#define RD_TLS_SAFE               1   /* finish(): at a record boundary */
#define RD_TLS_UNSAFE             0   /* finish(): the end cut a record */

#define RD_TLS_HDR_LEN            5
#define RD_TLS_MAX_RECORD         (16384u + 2048u)
#define RD_TLS_HS_BUF             4096u   /* hello reassembly buffer */
#define RD_TLS_SNI_LEN            255
#define RD_TLS_ALPN_LEN           64      /* "h2,http/1.1" joined by ',' */
#define RD_TLS_VERSIONS           8       /* supported_versions kept */

/* Versions (wire values). */
#define RD_TLS_SSL3               0x0300
#define RD_TLS_V10                0x0301
#define RD_TLS_V11                0x0302
#define RD_TLS_V12                0x0303
#define RD_TLS_V13                0x0304

extern const struct rd_tok  rd_tls_version_names[];

/* Record content types (RFC 8446 5.1). */
#define RD_TLS_CT_CCS             20
#define RD_TLS_CT_ALERT           21
#define RD_TLS_CT_HANDSHAKE       22
#define RD_TLS_CT_APPDATA         23
#define RD_TLS_CT_HEARTBEAT       24

extern const struct rd_tok  rd_tls_content_type_names[];

/* Handshake message types (RFC 8446 4, RFC 5246 7.4). */
#define RD_TLS_HS_CLIENT_HELLO    1
#define RD_TLS_HS_SERVER_HELLO    2

extern const struct rd_tok  rd_tls_hs_type_names[];

/* Alert levels and descriptions (RFC 8446 6, RFC 5246 7.2). */
#define RD_TLS_ALERT_WARNING      1
#define RD_TLS_ALERT_FATAL        2
#define RD_TLS_CLOSE_NOTIFY       0

extern const struct rd_tok  rd_tls_alert_level_names[];
extern const struct rd_tok  rd_tls_alert_names[];

/* events */
#define RD_TLS_EV_CLIENT_HELLO    1
#define RD_TLS_EV_SERVER_HELLO    2
#define RD_TLS_EV_HRR             3
#define RD_TLS_EV_HANDSHAKE       4
#define RD_TLS_EV_CCS             5
#define RD_TLS_EV_ALERT           6
#define RD_TLS_EV_ENC_ALERT       7
#define RD_TLS_EV_FINISHED        8
#define RD_TLS_EV_APPDATA_FIRST   9
#define RD_TLS_EV_ERROR           10
#define RD_TLS_EV_APPDATA         11

extern const struct rd_tok  rd_tls_event_names[];

/* Sticky errors, with p->reason. */
enum rd_tls_error {
    RD_TLS_E_NONE = 0,
    RD_TLS_E_NOT_TLS,          /* first bytes are not TLS */
    RD_TLS_E_CONTENT_TYPE,     /* a later record of unknown type */
    RD_TLS_E_VERSION,          /* record version not 3.0-3.4 */
    RD_TLS_E_RECORD_LEN,       /* record longer than RD_TLS_MAX_RECORD */
    RD_TLS_E_GAP               /* a capture gap broke the framing */
};

extern const struct rd_tok  rd_tls_error_names[];

enum rd_tls_phase {
    RD_TLS_PH_NONE = 0,
    RD_TLS_PH_CLIENT_HELLO,
    RD_TLS_PH_SERVER_HELLO,
    RD_TLS_PH_ENCRYPTED_HANDSHAKE,
    RD_TLS_PH_ESTABLISHED,
    RD_TLS_PH_CLOSED_ALERT,
    RD_TLS_PH_ERROR
};

extern const struct rd_tok  rd_tls_phase_names[];

/* p->flags */
#define RD_TLS_F_PLAIN_HTTP       0x00000001u /* first bytes are HTTP */
#define RD_TLS_F_SSL2_HELLO       0x00000002u /* SSLv2-style ClientHello */
#define RD_TLS_F_HELLO_TRUNC      0x00000004u /* hello > RD_TLS_HS_BUF */
#define RD_TLS_F_HELLO_BAD        0x00000008u /* hello fields overrun */
#define RD_TLS_F_SNI_TRUNC        0x00000010u
#define RD_TLS_F_ALPN_TRUNC       0x00000020u /* names left out of alpn */
#define RD_TLS_F_HS_LOST          0x00000040u /* gap in handshake framing */
#define RD_TLS_F_ENCRYPTED        0x00000080u /* this direction encrypts */
#define RD_TLS_F_EARLY_DATA       0x00000100u /* CH offered early_data */
#define RD_TLS_F_CUT_RECORD       0x00000200u /* finish() inside a record */
#define RD_TLS_F_CUT_HANDSHAKE    0x00000400u /* finish() inside a message */
#define RD_TLS_F_ALERT_ODD        0x00000800u /* clear alert bytes not even */
#define RD_TLS_F_SV_PRESENT       0x00001000u /* supported_versions seen */
#define RD_TLS_F_ALPN_PRESENT     0x00002000u /* ALPN extension seen */
#define RD_TLS_F_SNI_PRESENT      0x00004000u /* server_name seen (SH: empty) */

struct rd_tls;

typedef void (*rd_tls_cb)(void *ctx, const struct rd_tls *p, int event);

/* Zero-fill and rd_tls_init() before use; fields with _ are private. */
struct rd_tls {
    rd_tls_cb       on_ev;         /* may be NULL */
    void           *ctx;
    int             dir;           /* RD_TLS_CLIENT / RD_TLS_SERVER */

    int             err;           /* enum rd_tls_error, sticky */
    const char     *reason;        /* static text, NULL when no error */
    uint32_t        flags;         /* RD_TLS_F_* */
    uint8_t         phase;         /* enum rd_tls_phase, this direction */
    bool            finished;      /* this direction's Finished seen */
    bool            hrr;           /* server: a HelloRetryRequest */

    /* hello facts: ClientHello on the client side, ServerHello on the
     * server side (the last one when there are two) */
    uint16_t        record_version; /* of the first record */
    uint16_t        legacy_version; /* hello's legacy_version */
    uint16_t        version;       /* negotiated, 0 unknown */
    uint16_t        cipher;        /* ServerHello cipher_suite */
    uint8_t         nversions;     /* CH: offered; SH: 1 when selected */
    uint16_t        versions[RD_TLS_VERSIONS]; /* supported_versions */
    uint8_t         nalpn;         /* protocol names in the extension */
    uint8_t         alpn_len;
    uint8_t         sni_len;
    uint8_t         hs_type;       /* last handshake message type */
    uint32_t        hs_types;      /* bit t: a type t < 32 seen in clear */
    uint8_t         alert_level;   /* last clear alert */
    uint8_t         alert_desc;
    uint8_t         last_type;     /* content type of the last record */

    /* raw bytes, not NUL-terminated, escape before printing */
    uint8_t         sni[RD_TLS_SNI_LEN];      /* first host_name */
    uint8_t         alpn[RD_TLS_ALPN_LEN];    /* names joined by ',' */

    /* counters */
    uint64_t        offset;        /* bytes fed + gaps */
    uint64_t        ignored_bytes; /* after a stop */
    uint64_t        gap_bytes;
    uint64_t        records;       /* record headers read */
    uint64_t        hs_records;    /* handshake records in clear */
    uint64_t        hs_messages;   /* handshake messages in clear */
    uint64_t        ccs_records;
    uint64_t        alert_records; /* in clear */
    uint64_t        alerts;        /* clear alerts (2 bytes each) */
    uint64_t        enc_alert_records; /* TLS <= 1.2 after CCS */
    uint64_t        encrypted_records; /* encrypted handshake/unknown */
    uint64_t        early_records; /* TLS 1.3 0-RTT */
    uint64_t        appdata_records;
    uint64_t        appdata_bytes; /* record payload, headers excluded */
    uint64_t        heartbeat_records;
    rd_usec_t       ts_first_appdata; /* 0 none */
    rd_usec_t       ts_last_appdata;
    rd_usec_t       ts_last_record;
    uint32_t        last_len;      /* payload length of the last record */

    /* private */
    struct rd_tls  *_peer;
    int             _state;
    uint8_t         _hdr[RD_TLS_HDR_LEN];
    uint8_t         _idx;
    uint8_t         _rtype;        /* current record's type */
    uint32_t        _remain;       /* of the current record */
    uint8_t         _hs_hdr[4];
    uint8_t         _hs_idx;
    bool            _hs_keep;      /* buffering this message */
    bool            _hs_done;      /* kept message parsed (truncated) */
    bool            _hs_lost;
    uint32_t        _hs_len;       /* claimed message length */
    uint32_t        _hs_got;
    uint32_t        _hs_buflen;
    uint8_t         _alert[2];
    uint8_t         _alert_idx;
    bool            _ccs;          /* this direction sent a CCS */
    bool            _closed;       /* finish() called */
    bool            _sh_seen;      /* server: a real ServerHello */
    uint8_t         _hs_buf[RD_TLS_HS_BUF];
};

/* Set up p for direction dir (RD_TLS_CLIENT or RD_TLS_SERVER).  Every
 * field is zeroed but _hs_buf, whose first _hs_buflen bytes only are
 * read: a slot's buffer pages are touched only by a hello. */
void rd_tls_init(struct rd_tls *p, int dir, rd_tls_cb on_ev, void *ctx);

/*
 * Link the two directions of one connection (see pairing above); either
 * may be NULL to unlink.  Call after both rd_tls_init().
 */
void rd_tls_pair(struct rd_tls *client, struct rd_tls *server);

/*
 * Parse in-order stream bytes seen at ts.  Returns RD_OK, -RD_EPROTO once
 * the reader stopped (sticky; later bytes are only counted in
 * ignored_bytes), -RD_EINVAL after finish().  Callbacks run inside.
 */
int rd_tls_feed(struct rd_tls *p, const uint8_t *data, size_t len,
    rd_usec_t ts);

/* The capture missed nbytes of this direction (see gaps above). */
void rd_tls_gap(struct rd_tls *p, uint64_t nbytes);

/*
 * The stream ended.  Returns RD_TLS_SAFE at a record boundary outside a
 * handshake message, RD_TLS_UNSAFE when the end cut a record or message
 * (flags RD_TLS_F_CUT_*) or after a stop, -RD_EINVAL when called twice.
 */
int rd_tls_finish(struct rd_tls *p);

/*
 * The version the connection negotiated (a ServerHello's, as wire value;
 * 0 is ignored).  The server parser sets its own; a paired server sets
 * its client's.
 */
void rd_tls_set_version(struct rd_tls *p, uint16_t version);

/*
 * Phase of the connection from its two directions (either may be NULL):
 * error if a direction stopped, closed_alert if one sent an alert (see
 * above), established on completion, encrypted_handshake once a
 * direction encrypts, server_hello, client_hello, none.
 */
enum rd_tls_phase rd_tls_phase(const struct rd_tls *client,
    const struct rd_tls *server);

/*
 * Whether this direction's last record is, by its length, probably an
 * encrypted close_notify (it cannot be read: any alert of the same
 * suite has the same length, and other records may too).  Compares
 * p->last_len with the length of an encrypted 2-byte alert for the
 * negotiated version and cipher suite: TLS 1.3 AEAD 2 + 1 (content type)
 * + 16 (tag) = 19 (11 for CCM_8), with no padding; TLS 1.2 AES-GCM/CCM 8
 * (explicit nonce) + 2 + 16 = 26 (18 for CCM_8); ChaCha20-Poly1305 in
 * TLS 1.2: 2 + 16 = 18.  TLS 1.2 also needs content type 21, 1.3 type 23.
 * Returns 1 when it matches, 0 when it does not (or the last record was
 * not encrypted), -1 when unknown: CBC or other suites, version or suite
 * unknown, no record.  The cipher comes from the server parser: pass
 * either direction of a paired connection.
 */
int rd_tls_probable_close_notify(const struct rd_tls *p);

/*
 * Cheap test of a connection's first client bytes b[0..n): 1 a TLS
 * handshake record (type 22, version 3.0-3.4, length 1..2^14+2048),
 * 2 an SSLv2-style CLIENT-HELLO (high-bit 2-byte length, type 1,
 * version 2.0 or 3.x), 0 not TLS, -1 need more bytes (at most 5 needed).
 */
int rd_tls_looks_like(const uint8_t *b, size_t n);

#endif /* RD_TLS_H */
