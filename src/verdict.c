/*
 * verdict: rules from a finished connection to nginx's words.  Messages are
 * those of nginx 1.22 with its defaults (proxy_http_version 1.0,
 * proxy_buffering on), checked against a real nginx in tests/lab; the
 * rows of ../shared/nginx-messages.md sections 2, 8 and 10.  What other
 * versions do differently is in one table, versions[] below, read by
 * every prediction that depends on the version.
 */
#include <stdio.h>
#include <string.h>

#include "rstdiag/legs.h"
#include "rstdiag/verdict.h"

#define MSG_RECV_RESET \
    "recv() failed (104: Connection reset by peer) while reading response " \
    "header from upstream"
#define MSG_PREMATURE_HEADER \
    "upstream prematurely closed connection while reading response header " \
    "from upstream"
#define MSG_ABORT_PREFIX \
    "epoll_wait() reported that client prematurely closed connection, so " \
    "upstream connection is closed too while "
#define MSG_TIMEOUT_PREFIX "upstream timed out (110: Connection timed out) while "
#define MSG_CL_AND_TE \
    "upstream sent \"Content-Length\" and \"Transfer-Encoding\" headers at " \
    "the same time while reading response header from upstream"

#define MSG_BAD_CL_QUOTED \
    "upstream sent invalid \"Content-Length\" header: \"NAME: VALUE\" " \
    "while reading response header from upstream"
#define MSG_READV_RESET \
    "readv() failed (104: Connection reset by peer) while reading upstream"
#define MSG_PREMATURE_BODY \
    "upstream prematurely closed connection while reading upstream"
#define NOTE_SSL_INFO \
    "nginx before 1.23.4 logs many of OpenSSL's handshake errors (length " \
    "too short, bad legacy version, record too small, ...) at crit; 1.23.4 " \
    "and later at info"
#define MSG_TLS_HS_PREFIX "peer closed connection in SSL handshake "
#define MSG_INVALID_CHUNKED \
    "upstream sent invalid chunked response while reading upstream"

/* The version nginx is taken to be when nothing names it. */
#define ASSUMED_VERSION 12201u

/* A row's message that says nginx logs nothing. */
#define SILENT ""

/* What nginx retries (proxy_next_upstream's default is "error timeout"). */
#define RETRY_ERROR \
    "the next server of the upstream block, for idempotent requests " \
    "(proxy_next_upstream error, the default)"
#define RETRY_TIMEOUT \
    "the next server of the upstream block, for idempotent requests " \
    "(proxy_next_upstream timeout, the default)"
#define RETRY_KEEPALIVE \
    "once more on a new connection, for idempotent requests (nginx " \
    "1.15.3 and later; proxy_next_upstream ... non_idempotent for the " \
    "others)"

/* nginx's default proxy_buffer_size is one memory page: 4 KiB on x86 */
#define PROXY_BUFFER_SIZE 4096

/*
 * upstream_send_timeout_backpressure: nginx's window to the upstream was
 * shut at least this long when the upstream closed mid-body (no backend
 * send timeout is shorter), and a FIN, which waits behind the data still
 * in the upstream's send buffer, came at most ZW_AFTER_MS after the
 * window opened again (the lab: 0 ms, with the first segment).
 */
#define ZW_STALL_MS 1000u
#define ZW_AFTER_MS 500u

const struct rd_tok  rd_verdict_names[] = {
    { RD_V_NONE, "none" },
    { RD_V_UPSTREAM_REFUSED, "upstream_refused" },
    { RD_V_UPSTREAM_CONNECT_TIMEOUT, "upstream_connect_timeout" },
    { RD_V_UPSTREAM_RESET_BEFORE_RESPONSE, "upstream_reset_before_response" },
    { RD_V_UPSTREAM_RESET_MID_BODY, "upstream_reset_mid_body" },
    { RD_V_UPSTREAM_RESET_SENDING_REQUEST, "upstream_reset_sending_request" },
    { RD_V_UPSTREAM_CLOSED_BEFORE_RESPONSE,
      "upstream_closed_before_response" },
    { RD_V_UPSTREAM_TRUNCATED_BODY, "upstream_truncated_body" },
    { RD_V_UPSTREAM_EXCESS_BODY, "upstream_excess_body" },
    { RD_V_UPSTREAM_INVALID_CHUNKED, "upstream_invalid_chunked" },
    { RD_V_UPSTREAM_HEADER_TOO_BIG, "upstream_header_too_big" },
    { RD_V_UPSTREAM_TIMEOUT, "upstream_timeout" },
    { RD_V_KEEPALIVE_RACE, "keepalive_race" },
    { RD_V_CLIENT_ABORT, "client_abort" },
    { RD_V_CHUNKED_TO_HTTP10, "chunked_to_http10" },
    { RD_V_CL_AND_TE, "cl_and_te" },
    { RD_V_NGINX_RESET, "nginx_reset" },
    { RD_V_SUSPECT_INJECTED_RST, "suspect_injected_rst" },
    { RD_V_IDLE_CLOSE, "idle_close" },
    { RD_V_BAD_GATEWAY, "bad_gateway" },
    { RD_V_RESPONSE_CUT_TO_CLIENT, "response_cut_to_client" },
    { RD_V_NGINX_CLOSED_WITHOUT_RESPONSE, "nginx_closed_without_response" },
    { RD_V_FASTCGI_STDERR, "fastcgi_stderr" },
    { RD_V_UPSTREAM_BAD_CONTENT_LENGTH, "upstream_bad_content_length" },
    { RD_V_UPSTREAM_SEND_TIMEOUT_BACKPRESSURE,
      "upstream_send_timeout_backpressure" },
    { RD_V_UPSTREAM_TLS_HANDSHAKE_CLOSED, "upstream_tls_handshake_closed" },
    { RD_V_UPSTREAM_TLS_HANDSHAKE_RESET, "upstream_tls_handshake_reset" },
    { RD_V_UPSTREAM_TLS_ALERT, "upstream_tls_alert" },
    { RD_V_UPSTREAM_NOT_TLS, "upstream_not_tls" },
    { RD_V_NGINX_TLS_HANDSHAKE_ABORT, "nginx_tls_handshake_abort" },
    { RD_V_CLIENT_TLS_HANDSHAKE_ABORT, "client_tls_handshake_abort" },
    { RD_V_CLIENT_TLS_REJECTED, "client_tls_rejected" },
    { RD_V_CLIENT_PLAIN_HTTP_TO_TLS, "client_plain_http_to_tls_port" },
    { 0, NULL }
};

const struct rd_tok  rd_client_gets_names[] = {
    { RD_GETS_UNKNOWN, "unknown" },
    { RD_GETS_ERROR_PAGE, "error_page" },
    { RD_GETS_CUT_RESPONSE, "cut_response" },
    { RD_GETS_WHOLE_RESPONSE, "whole_response" },
    { RD_GETS_RETRIED, "retried" },
    { RD_GETS_NO_RESPONSE, "no_response" },
    { RD_GETS_CLIENT_GONE, "client_gone" },
    { 0, NULL }
};

const struct rd_tok  rd_severity_names[] = {
    { RD_SEV_NONE, "none" },
    { RD_SEV_INFO, "info" },
    { RD_SEV_WARNING, "warning" },
    { RD_SEV_ERROR, "error" },
    { 0, NULL }
};

const struct rd_tok  rd_blame_names[] = {
    { RD_BLAME_NONE, "none" },
    { RD_BLAME_UPSTREAM, "upstream" },
    { RD_BLAME_NGINX, "nginx" },
    { RD_BLAME_CLIENT, "client" },
    { RD_BLAME_MIDDLEBOX, "middlebox" },
    { RD_BLAME_EITHER, "either" },
    { 0, NULL }
};

const struct rd_tok  rd_confidence_names[] = {
    { RD_CONF_HIGH, "high" },
    { RD_CONF_MEDIUM, "medium" },
    { RD_CONF_LOW, "low" },
    { 0, NULL }
};

static const struct rd_verdict_rule  rules[RD_V_NCODES] = {
    { RD_V_NONE, RD_SEV_NONE, RD_BLAME_NONE, NULL, NULL, NULL, NULL },
    { RD_V_UPSTREAM_REFUSED, RD_SEV_ERROR, RD_BLAME_UPSTREAM, "error",
      "connect() failed (111: Connection refused) while connecting to "
      "upstream",
      "nothing listens on the upstream address: the backend is down, "
      "restarting, or bound to another port or address",
      "start or fix the backend; check the upstream address and port; with "
      "several servers nginx retries the next one (proxy_next_upstream "
      "error) and marks this one down (max_fails, fail_timeout)" },
    { RD_V_UPSTREAM_CONNECT_TIMEOUT, RD_SEV_ERROR, RD_BLAME_UPSTREAM, "error",
      MSG_TIMEOUT_PREFIX "connecting to upstream",
      "SYNs unanswered: a firewall drops them, the route is wrong, or the "
      "backend's listen backlog is full",
      "check firewalls and routes to the upstream; proxy_connect_timeout "
      "(default 60s) bounds the wait" },
    { RD_V_UPSTREAM_RESET_BEFORE_RESPONSE, RD_SEV_ERROR, RD_BLAME_UPSTREAM,
      "error", MSG_RECV_RESET,
      "the backend reset the connection after reading the request: its "
      "worker was killed (php-fpm request_terminate_timeout, OOM killer, "
      "SIGKILL) or it closed with unread request data",
      "check the backend's logs at that time; raise the backend's request "
      "timeout or make the request faster; nginx retries idempotent "
      "requests on another server (proxy_next_upstream error)" },
    { RD_V_UPSTREAM_RESET_MID_BODY, RD_SEV_ERROR, RD_BLAME_UPSTREAM, "error",
      MSG_READV_RESET,
      "the backend reset the connection while sending the body (killed "
      "mid-response, or a middlebox); with proxy_buffering off nginx logs "
      "recv() instead of readv(); the client gets a truncated response",
      "check the backend's logs; the client's response is cut short and "
      "cannot be retried once the header was sent" },
    { RD_V_UPSTREAM_RESET_SENDING_REQUEST, RD_SEV_ERROR, RD_BLAME_UPSTREAM,
      "error",
      "writev() failed (104: Connection reset by peer) while sending request "
      "to upstream",
      "the backend closed while nginx was still sending the request: it "
      "answered early (401, 413) and closed with the body unread, so its "
      "kernel reset the connection",
      "make the backend read (drain) the request body before closing, or "
      "raise its body size limit; POST is not retried by default" },
    { RD_V_UPSTREAM_CLOSED_BEFORE_RESPONSE, RD_SEV_ERROR, RD_BLAME_UPSTREAM,
      "error", MSG_PREMATURE_HEADER,
      "the backend closed (FIN) before sending any response: its worker "
      "exited or was killed by its own timeout (gunicorn --timeout, uWSGI "
      "harakiri) or it rejects the request",
      "check the backend's logs; raise the backend's worker timeout or "
      "speed up the request" },
    { RD_V_UPSTREAM_TRUNCATED_BODY, RD_SEV_ERROR, RD_BLAME_UPSTREAM, "error",
      MSG_PREMATURE_BODY,
      "the backend closed before the Content-Length bytes or the last chunk: "
      "it crashed or was killed mid-response; the client gets a truncated "
      "body with the original status",
      "check the backend's logs for a crash at that time" },
    { RD_V_UPSTREAM_EXCESS_BODY, RD_SEV_WARNING, RD_BLAME_UPSTREAM, "warn",
      "upstream sent more data than specified in \"Content-Length\" header "
      "while reading upstream",
      "the backend sent more body bytes than its Content-Length; nginx "
      "drops the excess and closes the connection",
      "fix the backend's Content-Length computation (compression or "
      "encoding applied after the length was set)" },
    { RD_V_UPSTREAM_INVALID_CHUNKED, RD_SEV_ERROR, RD_BLAME_UPSTREAM,
      "error", "upstream sent invalid chunked response while reading upstream",
      "the backend's chunked encoding is malformed (bad size line, missing "
      "CRLF; nginx 1.29.4 and later also reject bare LF)",
      "fix the backend's chunk encoder; the client gets a cut or empty "
      "response" },
    { RD_V_UPSTREAM_HEADER_TOO_BIG, RD_SEV_ERROR, RD_BLAME_UPSTREAM, "error",
      "upstream sent too big header while reading response header from "
      "upstream",
      "the response header is larger than proxy_buffer_size (one page, "
      "4k, by default): big cookies, CSP or JWT headers; nginx closes with "
      "the data unread, so it sends the RST",
      "proxy_buffer_size 16k; (and proxy_buffers/proxy_busy_buffers_size "
      "to match; fastcgi_buffer_size for FastCGI), or send smaller headers" },
    { RD_V_UPSTREAM_TIMEOUT, RD_SEV_ERROR, RD_BLAME_UPSTREAM, "error",
      MSG_TIMEOUT_PREFIX "reading response header from upstream",
      "the backend did not answer within proxy_read_timeout (default 60s); "
      "nginx closed the connection and answered 504",
      "speed up the backend or raise proxy_read_timeout; a late answer "
      "draws an RST from nginx's closed socket" },
    { RD_V_KEEPALIVE_RACE, RD_SEV_ERROR, RD_BLAME_UPSTREAM, "error",
      MSG_RECV_RESET,
      "nginx reused an idle keep-alive connection just as the backend "
      "closed it for idleness; nginx retries on a new connection, so the "
      "client may still get its answer (access log upstream status "
      "\"502, 200\"), but POST is not retried",
      "set the upstream block's keepalive_timeout below the backend's idle "
      "timeout (Node keepAliveTimeout 5s, gunicorn keepalive 2s, Tomcat 20s, "
      "AWS ALB 60s), or raise the backend's idle timeout above nginx's "
      "keepalive_timeout (default 60s); nginx 1.15.3 and later retry only "
      "idempotent requests (proxy_next_upstream ... non_idempotent for the "
      "others)" },
    { RD_V_CLIENT_ABORT, RD_SEV_INFO, RD_BLAME_CLIENT, "info",
      MSG_ABORT_PREFIX "sending request to upstream",
      "the client gave up before nginx could answer (a client or load "
      "balancer timeout shorter than the backend's latency); nginx logs 499 "
      "and closes the upstream connection",
      "raise the client's timeout or speed up the backend; "
      "proxy_ignore_client_abort on if the backend must finish" },
    { RD_V_CHUNKED_TO_HTTP10, RD_SEV_WARNING, RD_BLAME_UPSTREAM, NULL, NULL,
      "the backend answered nginx's HTTP/1.0 request with a chunked body, "
      "which HTTP/1.0 does not allow; nginx 1.22 decodes it anyway",
      "fix the backend to answer HTTP/1.0 without chunked encoding, or "
      "make nginx speak HTTP/1.1 to it: proxy_http_version 1.1; with "
      "proxy_set_header Connection \"\"; (needed for keep-alive; without "
      "it nginx still sends Connection: close)" },
    { RD_V_CL_AND_TE, RD_SEV_WARNING, RD_BLAME_UPSTREAM, NULL, NULL,
      "the response carries both Content-Length and Transfer-Encoding; "
      "nginx before 1.23.0 lets chunked win, 1.23.0 and later answer 502",
      "fix the backend to send only one of the two headers" },
    { RD_V_NGINX_RESET, RD_SEV_ERROR, RD_BLAME_NGINX, NULL, NULL,
      "nginx reset the connection: it closed a socket with unread data or "
      "reset_timedout_connection is on",
      "look for an nginx error on this request in error.log" },
    { RD_V_SUSPECT_INJECTED_RST, RD_SEV_ERROR, RD_BLAME_MIDDLEBOX, "error",
      MSG_RECV_RESET,
      "an RST whose TTL, IP ID or sequence number does not fit the claimed "
      "sender: a firewall, load balancer or IDS injected it",
      "check the middleboxes between nginx and the peer (conntrack timeouts, "
      "IPS rules)" },
    { RD_V_IDLE_CLOSE, RD_SEV_INFO, RD_BLAME_EITHER, NULL, NULL,
      "an idle keep-alive connection was closed: normal",
      "nothing to fix; if races with reuse show up, see keepalive_race" },
    { RD_V_BAD_GATEWAY, RD_SEV_ERROR, RD_BLAME_UPSTREAM, NULL, NULL,
      "nginx answered the client with a 5xx because an upstream attempt "
      "failed: see the paired upstream leg",
      "see the upstream leg named by cause and cause_leg (its verdict and "
      "fix); without one, the upstream leg was not captured or not paired" },
    { RD_V_RESPONSE_CUT_TO_CLIENT, RD_SEV_ERROR, RD_BLAME_UPSTREAM, NULL,
      NULL,
      "nginx closed the client connection before the whole body: the "
      "upstream failed after the header was sent",
      "see the upstream leg named by cause and cause_leg (its verdict and "
      "fix); without one, the upstream leg was not captured or not paired" },
    { RD_V_NGINX_CLOSED_WITHOUT_RESPONSE, RD_SEV_ERROR, RD_BLAME_UPSTREAM,
      NULL, NULL,
      "nginx closed the client connection without a response: the upstream "
      "failed after nginx committed to answering (e.g. invalid chunked "
      "body)",
      "see the upstream leg named by cause and cause_leg (its verdict and "
      "fix); without one, the upstream leg was not captured or not paired" },
    { RD_V_FASTCGI_STDERR, RD_SEV_WARNING, RD_BLAME_UPSTREAM, "error",
      "FastCGI sent in stderr: \"",
      "the FastCGI application (PHP) wrote to STDERR: a fatal error (the "
      "client then gets a 500) or a warning; nginx logs it at [error]",
      "read the message: fix the script (a fatal error, an uncaught "
      "exception), or route PHP warnings to a log file (log_errors, "
      "error_log) instead of STDERR" },
    { RD_V_UPSTREAM_BAD_CONTENT_LENGTH, RD_SEV_WARNING, RD_BLAME_UPSTREAM,
      NULL, NULL,
      "the response's Content-Length is not a number, overflows, or is "
      "given twice with different values; nginx before 1.23.0 reads the "
      "body to the close, 1.23.0 and later answer 502 (upstream sent "
      "invalid \"Content-Length\" header)",
      "fix the backend's Content-Length header" },
    { RD_V_UPSTREAM_SEND_TIMEOUT_BACKPRESSURE, RD_SEV_ERROR,
      RD_BLAME_UPSTREAM, "error", MSG_PREMATURE_BODY,
      "the client read slowly and nginx could hold no more of the "
      "response (proxy_max_temp_file_size 0 or reached, proxy_buffering "
      "off, X-Accel-Buffering: no), so it stopped reading the upstream: "
      "its receive window to the upstream stayed zero until the "
      "backend's send or idle timeout (uWSGI socket-timeout, a worker "
      "timeout) closed the connection mid-body; with an RST nginx logs "
      "readv() instead; the client gets a truncated body",
      "let nginx take the whole response while the client drains: "
      "proxy_max_temp_file_size above the response size (default 1024m; "
      "0 forbids temp files), proxy_buffering on (and no "
      "X-Accel-Buffering: no from the backend); or raise the backend's "
      "send timeout above the time the slowest client needs" },
    { RD_V_UPSTREAM_TLS_HANDSHAKE_CLOSED, RD_SEV_ERROR, RD_BLAME_UPSTREAM,
      "error", MSG_TLS_HS_PREFIX "while SSL handshaking to upstream",
      "the TLS upstream closed (FIN) after nginx's ClientHello, before "
      "answering it: it does not accept the offered protocol versions, "
      "ciphers or server name (SNI) and closes without an alert, or a load "
      "balancer in front of it has no backend",
      "compare what nginx offers with what the upstream accepts: "
      "proxy_ssl_protocols (nginx before 1.23.4 offers no TLSv1.3), "
      "proxy_ssl_ciphers, and proxy_ssl_server_name on with proxy_ssl_name "
      "for upstreams that route by SNI; check the upstream's TLS log" },
    { RD_V_UPSTREAM_TLS_HANDSHAKE_RESET, RD_SEV_ERROR, RD_BLAME_UPSTREAM,
      "error", MSG_TLS_HS_PREFIX "(104: Connection reset by peer) while SSL "
      "handshaking to upstream",
      "the TLS upstream reset the connection during the handshake: no "
      "TLS listener behind the port (a proxy that resets), a rejected SNI "
      "or protocol, or a backend overloaded or restarting",
      "check that the upstream port speaks TLS and what it requires: "
      "proxy_ssl_server_name on and proxy_ssl_name, proxy_ssl_protocols, "
      "proxy_ssl_ciphers; check the upstream's TLS log" },
    { RD_V_UPSTREAM_TLS_ALERT, RD_SEV_ERROR, RD_BLAME_UPSTREAM, "error",
      "SSL_do_handshake() failed (SSL: error:0A000410:SSL routines::sslv3 "
      "alert handshake failure:SSL alert number 40) while SSL handshaking "
      "to upstream",
      "the TLS upstream refused the handshake with a fatal alert in clear "
      "(see tls.alert): handshake_failure for no shared cipher or version, "
      "unrecognized_name for an SNI it does not serve, protocol_version, "
      "certificate_required for a missing client certificate",
      "match the upstream's requirements: proxy_ssl_protocols, "
      "proxy_ssl_ciphers, proxy_ssl_server_name on and proxy_ssl_name, "
      "proxy_ssl_certificate and proxy_ssl_certificate_key for mutual TLS" },
    { RD_V_UPSTREAM_NOT_TLS, RD_SEV_ERROR, RD_BLAME_NGINX, "error",
      "SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong "
      "version number) while SSL handshaking to upstream",
      "nginx speaks TLS (proxy_pass https://) to a port that answers in "
      "plain HTTP: OpenSSL reads \"HTTP/\" as a record of an unknown "
      "version",
      "use proxy_pass http:// for this upstream, or point it at the "
      "upstream's TLS port" },
    { RD_V_NGINX_TLS_HANDSHAKE_ABORT, RD_SEV_ERROR, RD_BLAME_NGINX, NULL,
      NULL,
      "nginx ended the TLS handshake with the upstream itself: most often "
      "proxy_ssl_verify on and a certificate it does not trust or whose "
      "name does not match proxy_ssl_name (error.log: upstream SSL "
      "certificate verify error), or no shared protocol; its alert is "
      "encrypted in TLS 1.3, so the reason is not on the wire",
      "read the error.log line for this request; for verify errors set "
      "proxy_ssl_trusted_certificate to the upstream's CA, proxy_ssl_name "
      "to a name in its certificate, and proxy_ssl_verify_depth" },
    { RD_V_CLIENT_TLS_HANDSHAKE_ABORT, RD_SEV_INFO, RD_BLAME_CLIENT, "info",
      "peer closed connection in SSL handshake while SSL handshaking",
      "the client gave up its TLS handshake with nginx: it closed or reset "
      "after its ClientHello, or sent a fatal alert (tls.alert: unknown_ca "
      "or bad_certificate when it does not trust nginx's certificate, "
      "protocol_version); port scanners, health checks and browsers "
      "racing connections do this all day",
      "nothing to fix for a few; for many with one alert, check what "
      "clients are given: ssl_certificate with its whole chain, "
      "ssl_protocols, ssl_ciphers; nginx logs them at info, which the "
      "default error_log level hides" },
    { RD_V_CLIENT_TLS_REJECTED, RD_SEV_INFO, RD_BLAME_CLIENT, "info", NULL,
      "nginx refused the client's TLS handshake with a fatal alert "
      "(tls.alert): a ClientHello it could not parse, no protocol or "
      "cipher in common (protocol_version, handshake_failure), or an SNI "
      "no server block serves with ssl_reject_handshake",
      "if real clients are refused, widen ssl_protocols and ssl_ciphers "
      "or add their server name; error.log says OpenSSL's reason (at info "
      "from nginx 1.23.4 on for most, crit before)" },
    { RD_V_CLIENT_PLAIN_HTTP_TO_TLS, RD_SEV_INFO, RD_BLAME_CLIENT, "info",
      "client sent plain HTTP request to HTTPS port while reading client "
      "request headers",
      "a client spoke plain HTTP to a port where nginx listens with ssl: "
      "nginx answered 400 \"The plain HTTP request was sent to HTTPS "
      "port\" (its 497 page) in clear and closed; an http:// link or "
      "bookmark, a health check or a load balancer configured for HTTP",
      "point the client at https://, or redirect on that port: error_page "
      "497 =301 https://$host$request_uri; (or =307 to keep the method)" },
};


const struct rd_verdict_rule *
rd_verdict_rule(int code)
{
    if (code < 0 || code >= RD_V_NCODES) {
        code = RD_V_NONE;
    }
    return &rules[code];
}


/*
 * The version table.  Rows for one code and kind cover disjoint ranges;
 * a row's severity 0 and message NULL keep the rule's.  Checked against
 * nginx 1.22.1, 1.26 and 1.30 by the lab (tests/lab: the message in
 * error.log, the status curl got).
 */
static const struct rd_version_row  versions[] = {
    { RD_V_UPSTREAM_REFUSED, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 502, RETRY_ERROR, NULL },
    { RD_V_UPSTREAM_CONNECT_TIMEOUT, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 504, RETRY_TIMEOUT, NULL },
    { RD_V_UPSTREAM_RESET_BEFORE_RESPONSE, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 502, RETRY_ERROR, NULL },
    { RD_V_UPSTREAM_RESET_MID_BODY, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_CUT_RESPONSE, 0, NULL, NULL },
    { RD_V_UPSTREAM_RESET_SENDING_REQUEST, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 502, RETRY_ERROR, NULL },
    { RD_V_UPSTREAM_CLOSED_BEFORE_RESPONSE, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 502, RETRY_ERROR, NULL },
    { RD_V_UPSTREAM_TRUNCATED_BODY, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_CUT_RESPONSE, 0, NULL, NULL },
    { RD_V_UPSTREAM_EXCESS_BODY, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_WHOLE_RESPONSE, 0, NULL, NULL },
    /* whether nginx had sent the header before the bad chunk is timing */
    { RD_V_UPSTREAM_INVALID_CHUNKED, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_UNKNOWN, 0, NULL, NULL },
    { RD_V_UPSTREAM_INVALID_CHUNKED, 0, 12904, RD_VW_BARE_LF,
      RD_SEV_WARNING, NULL, SILENT, RD_GETS_WHOLE_RESPONSE, 0, NULL,
      "only bare LF line ends in the chunk framing: nginx before 1.29.4 "
      "accepts them, 1.29.4 and later fail the response" },
    { RD_V_UPSTREAM_INVALID_CHUNKED, 12904, 0, RD_VW_BARE_LF, 0, NULL, NULL,
      RD_GETS_UNKNOWN, 0, NULL,
      "only bare LF line ends in the chunk framing: nginx 1.29.4 and later "
      "fail the response, earlier versions accept it" },
    { RD_V_UPSTREAM_HEADER_TOO_BIG, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 502, NULL, NULL },
    { RD_V_UPSTREAM_TIMEOUT, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 504, RETRY_TIMEOUT, NULL },
    { RD_V_KEEPALIVE_RACE, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_RETRIED, 0, RETRY_KEEPALIVE, NULL },
    { RD_V_CLIENT_ABORT, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_CLIENT_GONE, 499, NULL, NULL },
    { RD_V_CHUNKED_TO_HTTP10, 0, 12907, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_WHOLE_RESPONSE, 0, NULL,
      "nginx before 1.29.7 asks with HTTP/1.0 by default; 1.29.7 and later "
      "ask with HTTP/1.1, and a chunked answer is then legal" },
    { RD_V_CHUNKED_TO_HTTP10, 12907, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_WHOLE_RESPONSE, 0, NULL,
      "nginx 1.29.7 and later ask with HTTP/1.1 by default: this location "
      "sets proxy_http_version 1.0" },
    { RD_V_CL_AND_TE, 0, 12300, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_WHOLE_RESPONSE, 0, NULL,
      "nginx before 1.23.0 lets chunked win; 1.23.0 and later answer 502" },
    { RD_V_CL_AND_TE, 12300, 0, RD_VW_ANY, RD_SEV_ERROR, "error",
      MSG_CL_AND_TE, RD_GETS_ERROR_PAGE, 502, NULL,
      "nginx 1.23.0 and later reject the response (502)" },
    { RD_V_FASTCGI_STDERR, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_WHOLE_RESPONSE, 0, NULL, NULL },
    { RD_V_UPSTREAM_BAD_CONTENT_LENGTH, 0, 12300, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_WHOLE_RESPONSE, 0, NULL,
      "nginx before 1.23.0 reads the body to the close; 1.23.0 and later "
      "answer 502 and log 'upstream sent invalid \"Content-Length\" "
      "header' with the header" },
    { RD_V_UPSTREAM_BAD_CONTENT_LENGTH, 12300, 0, RD_VW_ANY, RD_SEV_ERROR,
      "error", MSG_BAD_CL_QUOTED, RD_GETS_ERROR_PAGE, 502, NULL,
      "nginx 1.23.0 and later reject the response (502)" },
    /* 1.22.1, 1.26.3 and 1.30.4 log the same (the lab's
     * slow_client_temp_file scenarios) */
    { RD_V_UPSTREAM_SEND_TIMEOUT_BACKPRESSURE, 0, 0, RD_VW_ANY, 0, NULL,
      NULL, RD_GETS_CUT_RESPONSE, 0, NULL, NULL },
    /* TLS upstreams (issue 17): the lab's tls_* scenarios on 1.22.1,
     * 1.26.3 and 1.30.4 with OpenSSL 3.0 log the same */
    { RD_V_UPSTREAM_TLS_HANDSHAKE_CLOSED, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 502, RETRY_ERROR, NULL },
    { RD_V_UPSTREAM_TLS_HANDSHAKE_RESET, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 502, RETRY_ERROR, NULL },
    { RD_V_UPSTREAM_TLS_ALERT, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 502, RETRY_ERROR, NULL },
    { RD_V_UPSTREAM_NOT_TLS, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 502, RETRY_ERROR, NULL },
    { RD_V_NGINX_TLS_HANDSHAKE_ABORT, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 502, RETRY_ERROR, NULL },
    /* client legs over TLS (issue 17): the lab's tls_client_* scenarios;
     * 1.22.1 logs "length too short" at crit, 1.26.3 and 1.30.4 at info */
    { RD_V_CLIENT_TLS_HANDSHAKE_ABORT, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_NO_RESPONSE, 0, NULL, NULL },
    { RD_V_CLIENT_TLS_REJECTED, 0, 12304, RD_VW_ANY, RD_SEV_WARNING, NULL,
      NULL, RD_GETS_NO_RESPONSE, 0, NULL,
      NOTE_SSL_INFO },
    { RD_V_CLIENT_TLS_REJECTED, 12304, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_NO_RESPONSE, 0, NULL,
      NOTE_SSL_INFO },
    { RD_V_CLIENT_PLAIN_HTTP_TO_TLS, 0, 0, RD_VW_ANY, 0, NULL, NULL,
      RD_GETS_ERROR_PAGE, 400, NULL, NULL },
    { RD_V_UPSTREAM_RESET_BEFORE_RESPONSE, 0, 0, RD_VW_TLS, 0, "error",
      MSG_PREMATURE_HEADER, RD_GETS_ERROR_PAGE, 502, RETRY_ERROR,
      "over TLS nginx logs a reset as a close: SSL_read() meets a system "
      "error with OpenSSL's error queue empty, which ngx_ssl_handle_recv() "
      "takes for EOF" },
    { RD_V_UPSTREAM_RESET_MID_BODY, 0, 0, RD_VW_TLS, 0, "error",
      MSG_PREMATURE_BODY, RD_GETS_CUT_RESPONSE, 0, NULL,
      "over TLS nginx logs a reset as a close: SSL_read() meets a system "
      "error with OpenSSL's error queue empty, which ngx_ssl_handle_recv() "
      "takes for EOF" },
    { RD_V_KEEPALIVE_RACE, 0, 0, RD_VW_TLS, 0, "error", MSG_PREMATURE_HEADER,
      RD_GETS_RETRIED, 0, RETRY_KEEPALIVE,
      "over TLS nginx logs a reset as a close (see "
      "upstream_reset_before_response)" },
};


const struct rd_version_row *
rd_verdict_versions(size_t *n)
{
    *n = sizeof(versions) / sizeof(versions[0]);
    return versions;
}


const char *
rd_version_str(uint32_t v, char *buf, size_t size)
{
    snprintf(buf, size, "%u.%u.%u", (unsigned) (v / 10000),
             (unsigned) (v / 100 % 100), (unsigned) (v % 100));
    return buf;
}


/* The row for code and kind when in version ver. */
static const struct rd_version_row *
version_row(int code, uint32_t ver, unsigned when)
{
    const struct rd_version_row  *r;
    size_t                        i;

    for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        r = &versions[i];
        if (r->code == code && r->when == when && ver >= r->from
            && (r->to == 0 || ver < r->to))
        {
            return r;
        }
    }
    return NULL;
}


/* The range a row holds for, in the words of the JSON's nginx_versions. */
static void
range_str(const struct rd_version_row *r, char *buf, size_t size)
{
    char  a[16], b[16];

    if (r->from == 0 && r->to == 0) {
        snprintf(buf, size, ">=1.22 with default proxy settings");
    } else if (r->from == 0) {
        snprintf(buf, size, "<%s", rd_version_str(r->to, b, sizeof(b)));
    } else if (r->to == 0) {
        snprintf(buf, size, ">=%s", rd_version_str(r->from, a, sizeof(a)));
    } else {
        snprintf(buf, size, ">=%s <%s", rd_version_str(r->from, a, sizeof(a)),
                 rd_version_str(r->to, b, sizeof(b)));
    }
}


/* The table's word on v, for connection kind when; once per verdict. */
static void
by_version(const struct rd_conn *c, const struct rd_verdict_ctx *x,
    struct rd_verdict *v, unsigned when)
{
    const struct rd_version_row  *r;
    uint32_t                      ver;
    bool                          quote;

    if (v->row != NULL) {
        return;
    }
    ver = x->nginx_version != 0 ? x->nginx_version : ASSUMED_VERSION;
    r = version_row(v->code, ver, when);
    if (r == NULL) {
        return;
    }
    v->row = r;
    range_str(r, v->versions, sizeof(v->versions));
    if (r->severity != 0) {
        v->severity = r->severity;
    }
    if (r->message != NULL && r->message[0] == '\0') {
        v->message = NULL;
        v->level = NULL;
    } else if (r->message != NULL) {
        v->message = r->message;
        v->level = r->level;
    }
    quote = r->code == RD_V_UPSTREAM_BAD_CONTENT_LENGTH && r->message != NULL;
    if (quote && (c->app == NULL || c->app->bad_cl_len == 0))
    {
        v->message = NULL;          /* the header was not seen whole */
    } else if (quote) {
        snprintf(v->buf, sizeof(v->buf), "upstream sent invalid "
                 "\"Content-Length\" header: \"%.*s\" while reading "
                 "response header from upstream", (int) c->app->bad_cl_len,
                 (const char *) c->app->bad_cl);
        v->message = v->buf;
    }
    if (r->note != NULL && x->nginx_version == 0) {
        snprintf(v->note_buf, sizeof(v->note_buf), "nginx version unknown, "
                 "%u.%u assumed: %s", ASSUMED_VERSION / 10000,
                 ASSUMED_VERSION / 100 % 100, r->note);
        v->note = v->note_buf;
    } else if (r->note != NULL) {
        v->note = r->note;
    }
}


/* The exchange in progress at the first close: the last one begun. */
static const struct rd_exchange *
ex_at_close(const struct rd_conn *c)
{
    const struct rd_exchange  *e, *best;
    uint32_t                   i;

    best = NULL;
    for (i = rd_conn_first_kept(c); i < c->nex; i++) {
        e = rd_conn_exchange(c, i);
        if (e != NULL && (c->close_kind == RD_CLOSE_NONE
                          || e->req_start <= c->close_ts))
        {
            best = e;
        }
    }
    return best;
}


static const struct rd_exchange *
ex_before(const struct rd_conn *c, const struct rd_exchange *e)
{
    uint32_t  i;

    for (i = c->nex; i > 1; i--) {
        if (rd_conn_exchange(c, i - 1) == e) {
            return rd_conn_exchange(c, i - 2);
        }
    }
    return NULL;
}


static uint32_t
findings_any(const struct rd_conn *c)
{
    const struct rd_exchange  *e;
    uint32_t                   i, f;

    f = 0;
    for (i = rd_conn_first_kept(c); i < c->nex; i++) {
        e = rd_conn_exchange(c, i);
        if (e != NULL && e->has_resp) {
            f |= e->findings;
        }
    }
    return f;
}


/*
 * An RST that does not fit its claimed sender: outside the window while
 * the connection went on, with another TTL than the sender's other
 * packets (a middlebox is some hops away from the real endpoint), or
 * followed by data from that sender, whose socket an RST would have
 * destroyed.
 */
static const struct rd_conn_rst *
suspect_rst(const struct rd_conn *c)
{
    const struct rd_conn_rst   *r;
    const struct rd_conn_side  *s;
    unsigned                    i;

    for (i = 0; i < c->nrst; i++) {
        r = &c->cold->rst[i];
        s = &c->side[r->by];
        if (r->known && !r->acceptable && !r->answers_syn) {
            return r;
        }
        /* the claimed sender went on talking after its own RST */
        if (s->after_rst > 0 && (r->exact || !r->known)) {
            return r;
        }
        /* a TTL two or more hops away from every other packet of a
         * sender whose TTL never varied */
        if (s->ttl_samples >= 2 && s->ttl_min == s->ttl_max
            && (r->ttl + 1 < s->ttl_min || r->ttl > s->ttl_max + 1))
        {
            return r;
        }
    }
    return NULL;
}


/* Whole seconds give or take 50 ms: what configured timeouts produce. */
static bool
looks_like_timeout(double s)
{
    double  frac;

    if (s < 1.0) {
        return false;
    }
    frac = s - (double) (long) s;
    return frac < 0.05 || frac > 0.95;
}


static void
set(struct rd_verdict *v, int code)
{
    v->code = code;
    v->rule = &rules[code];
    v->message = rules[code].message;
    v->level = rules[code].level;
    v->severity = rules[code].severity;
}


static double
secs(rd_usec_t d)
{
    return (double) d / 1e6;
}


/*
 * A FastCGI exchange with STDERR text: nginx logs it as
 * 'FastCGI sent in stderr: "<text>"'; the message is rebuilt up to the
 * first line end (error.log entries span lines as the text does).
 */
static bool
fcgi_stderr(const struct rd_conn *c, struct rd_verdict *v)
{
    const struct rd_fcgi_exchange  *x, *best;
    size_t                          i, n;
    int                             k;

    best = NULL;
    for (k = 0; c->app != NULL && k < RD_FCGI_SLOTS; k++) {
        x = &c->app->fcgi->slot[k];
        if (x->stderr_len > 0 && (best == NULL || x->seq > best->seq)) {
            best = x;
        }
    }
    if (best == NULL) {
        return false;
    }
    set(v, RD_V_FASTCGI_STDERR);
    n = (size_t) snprintf(v->buf, sizeof(v->buf), "%s", v->message);
    for (i = 0; i < best->stderr_len && n + 1 < sizeof(v->buf); i++) {
        if (best->stderr_text[i] == '\n' || best->stderr_text[i] == '\r') {
            break;
        }
        v->buf[n++] = (char) best->stderr_text[i];
    }
    v->buf[n] = '\0';
    v->message = v->buf;
    if (best->status >= 500) {
        v->severity = RD_SEV_ERROR;     /* a fatal error: the client got 5xx */
    }
    return true;
}


static const struct rd_exchange *classify_client_own(const struct rd_conn *c,
    struct rd_verdict *v);


/*
 * The upstream closed while nginx's receive window to it was shut, or as
 * soon as it opened again: the backend gave up writing (its send
 * timeout), not crashed.  Sets v->stall, the seconds it was shut.
 */
static bool
backpressure(const struct rd_conn *c, struct rd_verdict *v)
{
    const struct rd_tcp_zw_close  *zc;

    if (!c->has_zw || c->close_by != RD_CONN_SERVER) {
        return false;
    }
    zc = &c->cold->zw_close;
    if (!zc->seen || zc->stall_ms < ZW_STALL_MS
        || (!zc->at_close && zc->after_ms > ZW_AFTER_MS))
    {
        return false;
    }
    v->stall = (double) zc->stall_ms / 1000;
    return true;
}


/* A body cut by the upstream's close: why, and what nginx says. */
static void
body_cut(const struct rd_conn *c, const struct rd_exchange *e,
    struct rd_verdict *v)
{
    if (backpressure(c, v)) {
        set(v, RD_V_UPSTREAM_SEND_TIMEOUT_BACKPRESSURE);
        if (c->close_kind == RD_CLOSE_RST) {
            v->message = MSG_READV_RESET;
        }
        if (e != NULL && e->req_end != 0) {
            v->elapsed = secs(c->close_ts - e->req_end);
        }
    } else {
        set(v, c->close_kind == RD_CLOSE_RST ? RD_V_UPSTREAM_RESET_MID_BODY
                                             : RD_V_UPSTREAM_TRUNCATED_BODY);
    }
}


/*
 * OpenSSL 3's reason for a received alert: its code is 1000 plus the
 * alert's number (SSL_AD_REASON_OFFSET), the text the one ssl_err.c
 * gives it.  Only handshake_failure (40) is checked against nginx in the
 * lab; the others are predicted from OpenSSL's table.
 */
static const struct rd_tok  openssl_alert_reasons[] = {
    { 10, "sslv3 alert unexpected message" },
    { 20, "sslv3 alert bad record mac" },
    { 30, "sslv3 alert decompression failure" },
    { 40, "sslv3 alert handshake failure" },
    { 41, "sslv3 alert no certificate" },
    { 42, "sslv3 alert bad certificate" },
    { 43, "sslv3 alert unsupported certificate" },
    { 44, "sslv3 alert certificate revoked" },
    { 45, "sslv3 alert certificate expired" },
    { 46, "sslv3 alert certificate unknown" },
    { 47, "sslv3 alert illegal parameter" },
    { 48, "tlsv1 alert unknown ca" },
    { 49, "tlsv1 alert access denied" },
    { 50, "tlsv1 alert decode error" },
    { 51, "tlsv1 alert decrypt error" },
    { 70, "tlsv1 alert protocol version" },
    { 71, "tlsv1 alert insufficient security" },
    { 80, "tlsv1 alert internal error" },
    { 86, "tlsv1 alert inappropriate fallback" },
    { 90, "tlsv1 alert user cancelled" },
    { 109, "tlsv13 alert missing extension" },
    { 112, "tlsv1 unrecognized name" },
    { 116, "tlsv13 alert certificate required" },
    { 120, "tlsv1 alert no application protocol" },
    { 0, NULL }
};


/* nginx's line for a fatal alert received in the handshake ("while SSL
 * handshaking" and where: " to upstream" or ""), from OpenSSL 3's reason
 * for it; checked: the alert the lab saw nginx log for this side. */
static void
alert_message(struct rd_verdict *v, uint8_t desc, const char *where,
    uint8_t checked)
{
    const char  *why;

    why = rd_tok2str(openssl_alert_reasons, desc, NULL);
    if (why == NULL) {
        v->message = NULL;
        v->confidence = RD_CONF_MEDIUM;
        v->why = "OpenSSL's text for this alert is not known here";
        return;
    }
    snprintf(v->buf, sizeof(v->buf), "SSL_do_handshake() failed (SSL: "
             "error:0A%06X:SSL routines::%s:SSL alert number %u) while SSL "
             "handshaking%s", 1000u + desc, why, (unsigned) desc, where);
    v->message = v->buf;
    if (desc != checked) {
        v->confidence = RD_CONF_MEDIUM;
        v->why = "nginx's line for this alert is predicted from OpenSSL 3's "
                 "reason table, not seen in the lab";
    }
}


/* The client leg this upstream leg served closed before it did. */
static bool
client_left_first(const struct rd_conn *c, const struct rd_verdict_ctx *x)
{
    return x->peer_known && x->peer_close_by == RD_CONN_CLIENT
           && x->peer_close_kind != RD_CLOSE_NONE
           && x->peer_close_ts <= c->close_ts;
}


/* A TLS upstream whose handshake failed; false: not such a case. */
static bool
tls_upstream(const struct rd_conn *c, const struct rd_verdict_ctx *x,
    struct rd_verdict *v)
{
    const struct rd_conn_tls  *t = c->app->tls;
    const struct rd_tls       *sv = &t->dir[RD_CONN_SERVER];

    if (sv->err == RD_TLS_E_NOT_TLS) {
        set(v, RD_V_UPSTREAM_NOT_TLS);
        if (!(sv->flags & RD_TLS_F_PLAIN_HTTP)) {
            v->message = NULL;
            v->confidence = RD_CONF_MEDIUM;
            v->why = "the upstream's first bytes are neither TLS nor HTTP: "
                     "OpenSSL's words for them are not predicted";
        }
        return true;
    }
    if (t->alert_by == RD_CONN_SERVER && t->alert_level == RD_TLS_ALERT_FATAL
        && !rd_conn_tls_established(c))
    {
        set(v, RD_V_UPSTREAM_TLS_ALERT);
        alert_message(v, t->alert_desc, " to upstream", 40);
        return true;
    }
    if (c->close_kind == RD_CLOSE_NONE) {
        return false;
    }
    /* the handshake done, nginx said close_notify without sending a
     * request: it rejected the upstream once it could check it */
    if (c->phase != RD_PHASE_TLS_HANDSHAKE && t->requests == 0
        && t->notify[RD_CONN_CLIENT] && x->leg != RD_LEG_CLIENT)
    {
        set(v, RD_V_NGINX_TLS_HANDSHAKE_ABORT);
        v->confidence = RD_CONF_MEDIUM;
        v->why = "nginx completed the handshake, then closed (a probable "
                 "close_notify) without a request: its check of the "
                 "upstream failed, most often proxy_ssl_verify; error.log "
                 "says which";
        return true;
    }
    if (c->phase != RD_PHASE_TLS_HANDSHAKE) {
        return false;
    }
    if (c->close_by == RD_CONN_SERVER) {
        set(v, c->close_kind == RD_CLOSE_RST ? RD_V_UPSTREAM_TLS_HANDSHAKE_RESET
                                             : RD_V_UPSTREAM_TLS_HANDSHAKE_CLOSED);
        return true;
    }
    /* nginx closed first: its client left, or nginx gave up the
     * handshake itself */
    if (client_left_first(c, x)) {
        set(v, RD_V_CLIENT_ABORT);
        v->message = MSG_ABORT_PREFIX "SSL handshaking to upstream";
        return true;
    }
    set(v, RD_V_NGINX_TLS_HANDSHAKE_ABORT);
    if (sv->records == 0) {
        v->confidence = RD_CONF_MEDIUM;
        v->why = "the upstream sent nothing before nginx closed: "
                 "proxy_connect_timeout also bounds the TLS handshake "
                 "(upstream timed out ... while SSL handshaking to upstream)";
    }
    return true;
}


/* A TLS upstream closed without close_notify right after its records
 * (reading_response_body), and the client leg's answer, where paired and
 * seen, is not whole: the body was most likely cut; a response that
 * ends by its close would end with close_notify. */
static void
tls_cut_body(struct rd_verdict *v)
{
    set(v, RD_V_UPSTREAM_TRUNCATED_BODY);
    v->confidence = RD_CONF_MEDIUM;
    v->why = "TLS: the upstream closed right after its records without "
             "close_notify; the framing inside is encrypted, so the cut is "
             "inferred (with close_notify the response would have ended "
             "cleanly)";
}


/* A TLS upstream sent its close_notify before nginx's first close: it
 * closed first, whoever sent the first FIN (an upstream that waits for
 * nginx's close_notify before its own FIN).  false: not such a case. */
static bool
tls_server_notified_first(const struct rd_conn *c, struct rd_verdict *v)
{
    const struct rd_conn_tls  *t = c->app->tls;

    if (c->close_kind == RD_CLOSE_NONE || c->close_by != RD_CONN_CLIENT
        || !t->notify[RD_CONN_SERVER] || t->notify_ts[RD_CONN_SERVER] == 0
        || t->notify_ts[RD_CONN_SERVER] > c->close_ts
        || (t->notify[RD_CONN_CLIENT]
            && t->notify_ts[RD_CONN_CLIENT] < t->notify_ts[RD_CONN_SERVER]))
    {
        return false;
    }
    if (c->phase == RD_PHASE_AWAITING_RESPONSE_HEADER) {
        set(v, RD_V_UPSTREAM_CLOSED_BEFORE_RESPONSE);
        if (t->req_last_ts != 0) {
            v->elapsed = secs(t->notify_ts[RD_CONN_SERVER] - t->req_last_ts);
        }
        v->confidence = RD_CONF_MEDIUM;
        v->why = "TLS: the upstream's close_notify (probable, by its size) "
                 "came before nginx closed: the upstream ended the "
                 "connection before answering";
        return true;
    }
    return false;
}


/* Upstream leg (or a leg of unknown role, taken as one). */
static void
classify_upstream(const struct rd_conn *c, const struct rd_verdict_ctx *x,
    struct rd_verdict *v)
{
    const struct rd_exchange  *e, *prev;
    const struct rd_conn_rst  *sr;
    uint32_t                   f;
    int                        ph;
    bool                       got_bytes;

    if (c->refused) {
        set(v, RD_V_UPSTREAM_REFUSED);
        return;
    }
    if (rd_conn_syn_unanswered(c)) {
        set(v, RD_V_UPSTREAM_CONNECT_TIMEOUT);
        return;
    }
    /* one SYN, never answered, and the client it was for got nginx's
     * 504: proxy_connect_timeout ran out before a retransmission */
    if (c->syn && !c->synack && c->nex == 0 && x->peer_known
        && x->peer_status == 504)
    {
        set(v, RD_V_UPSTREAM_CONNECT_TIMEOUT);
        return;
    }

    sr = suspect_rst(c);
    if (sr != NULL && (!sr->acceptable
                       || (c->close_kind == RD_CLOSE_RST
                           && c->close_ts == sr->ts)))
    {
        set(v, RD_V_SUSPECT_INJECTED_RST);
        if (!sr->acceptable) {
            v->message = NULL;      /* dropped by the receiver */
        }
        return;
    }

    if (c->proto == RD_PROTO_TLS && c->app != NULL && tls_upstream(c, x, v)) {
        return;
    }

    e = ex_at_close(c);
    ph = c->phase;
    f = findings_any(c);

    if (c->proto == RD_PROTO_TLS && c->app != NULL
        && tls_server_notified_first(c, v))
    {
        return;
    }
    if (c->close_kind != RD_CLOSE_NONE && c->close_by == RD_CONN_SERVER) {
        if (ph == RD_PHASE_AWAITING_RESPONSE_HEADER
            && c->served_at_close > 0)
        {
            set(v, RD_V_KEEPALIVE_RACE);
            if (c->close_kind == RD_CLOSE_FIN) {
                v->message = MSG_PREMATURE_HEADER;
            }
            prev = e != NULL ? ex_before(c, e) : NULL;
            if (e != NULL && prev != NULL && prev->resp_end != 0) {
                v->idle = secs(e->req_start - prev->resp_end);
            } else if (c->proto == RD_PROTO_TLS && c->app != NULL
                       && c->app->tls->resp_last_ts != 0
                       && c->app->tls->req_ts > c->app->tls->resp_last_ts)
            {
                /* the last response's last record to the reuse */
                v->idle = secs(c->app->tls->req_ts
                               - c->app->tls->resp_last_ts);
            }
            return;
        }
        if (c->close_kind == RD_CLOSE_RST) {
            switch (ph) {
            case RD_PHASE_SENDING_REQUEST:
                set(v, RD_V_UPSTREAM_RESET_SENDING_REQUEST);
                return;
            case RD_PHASE_AWAITING_RESPONSE_HEADER:
                set(v, RD_V_UPSTREAM_RESET_BEFORE_RESPONSE);
                if (e != NULL && e->req_end != 0) {
                    v->elapsed = secs(c->close_ts - e->req_end);
                } else if (c->proto == RD_PROTO_TLS
                           && c->app->tls->req_last_ts != 0)
                {
                    v->elapsed = secs(c->close_ts - c->app->tls->req_last_ts);
                }
                return;
            case RD_PHASE_READING_RESPONSE_BODY:
                body_cut(c, e, v);
                return;
            default:
                break;
            }
        } else {
            switch (ph) {
            case RD_PHASE_SENDING_REQUEST:
                set(v, c->rst_total > 0 ? RD_V_UPSTREAM_RESET_SENDING_REQUEST
                                        : RD_V_UPSTREAM_CLOSED_BEFORE_RESPONSE);
                return;
            case RD_PHASE_READING_RESPONSE_BODY:
                if (c->proto == RD_PROTO_TLS && c->app != NULL
                    && !c->app->tls->notify[RD_CONN_SERVER]
                    && !x->peer_resp_done)
                {
                    tls_cut_body(v);
                    return;
                }
                break;
            case RD_PHASE_AWAITING_RESPONSE_HEADER:
                set(v, RD_V_UPSTREAM_CLOSED_BEFORE_RESPONSE);
                if (e != NULL && e->req_end != 0) {
                    v->elapsed = secs(c->close_ts - e->req_end);
                } else if (c->proto == RD_PROTO_TLS
                           && c->app->tls->req_last_ts != 0)
                {
                    v->elapsed = secs(c->close_ts - c->app->tls->req_last_ts);
                }
                if (c->proto == RD_PROTO_FASTCGI && e != NULL
                    && e->resp_start != 0 && e->resp_start <= c->close_ts)
                {
                    /* STDOUT had begun: the FastCGI module says so */
                    v->message = "upstream prematurely closed FastCGI stdout "
                                 "while reading response header from upstream";
                }
                return;
            default:
                break;
            }
        }
    }

    /* framing, whoever closed */
    if (f & (1u << RD_HTTP1_HEADER_OVERFLOW)) {
        set(v, RD_V_UPSTREAM_HEADER_TOO_BIG);
        return;
    }
    if (f & (1u << RD_HTTP1_INVALID_CHUNKED)) {
        set(v, RD_V_UPSTREAM_INVALID_CHUNKED);
        by_version(c, x, v, e != NULL && e->bare_lf_chunks ? RD_VW_BARE_LF
                                                           : RD_VW_ANY);
        return;
    }
    if ((f & (1u << RD_HTTP1_TRUNCATED)) && c->close_by == RD_CONN_SERVER) {
        body_cut(c, e, v);
        if (c->proto == RD_PROTO_FASTCGI && c->close_kind == RD_CLOSE_FIN
            && e != NULL && !e->keep_alive)
        {
            /* fastcgi_keep_conn off: the FIN ends the response for nginx
             * (catalog 2I) and it logs nothing */
            v->message = NULL;
            v->confidence = RD_CONF_MEDIUM;
            v->why = "with fastcgi_keep_conn off nginx takes the FIN as the "
                     "end of the response: the client gets a truncated body "
                     "and nothing is logged";
        }
        return;
    }
    if (f & (1u << RD_HTTP1_EXCESS)) {
        set(v, RD_V_UPSTREAM_EXCESS_BODY);
        return;
    }
    if (f & (1u << RD_HTTP1_BAD_CONTENT_LENGTH)) {
        set(v, RD_V_UPSTREAM_BAD_CONTENT_LENGTH);
        return;
    }
    if (f & (1u << RD_HTTP1_CL_AND_TE)) {
        set(v, RD_V_CL_AND_TE);
        return;
    }
    if (f & (1u << RD_HTTP1_CHUNKED_TO_HTTP10)) {
        set(v, RD_V_CHUNKED_TO_HTTP10);
        return;
    }

    if (c->close_kind != RD_CLOSE_NONE && c->close_by == RD_CONN_CLIENT
        && c->proto == RD_PROTO_TLS && ph == RD_PHASE_READING_RESPONSE_BODY
        && (!client_left_first(c, x)
            || (x->peer_phase == RD_PHASE_IDLE_KEEPALIVE
                && x->peer_status != 0)))
    {
        /* TLS: a close by the client side soon after the server's records
         * ends a complete response as often as it cuts one; the encrypted
         * framing cannot tell which, but a client leg that had its answer
         * whole before it left can */
        return;
    }
    if (c->close_kind != RD_CLOSE_NONE && c->close_by == RD_CONN_CLIENT) {
        /* nginx closed first */
        /* nginx resets (it closes with data unread) a response whose
         * header outgrew its buffer: whole on the wire, or still coming */
        if (c->close_kind == RD_CLOSE_RST
            && ((e != NULL && e->has_resp
                 && e->header_bytes > PROXY_BUFFER_SIZE)
                || (ph == RD_PHASE_AWAITING_RESPONSE_HEADER
                    && c->served_at_close == 0
                    && rd_conn_stream_bytes(c, RD_CONN_SERVER)
                       >= PROXY_BUFFER_SIZE)))
        {
            set(v, RD_V_UPSTREAM_HEADER_TOO_BIG);
            v->confidence = RD_CONF_MEDIUM;
            v->why = "assumes the default proxy_buffer_size (4k)";
            return;
        }
        if (ph == RD_PHASE_SENDING_REQUEST
            || ph == RD_PHASE_AWAITING_RESPONSE_HEADER
            || ph == RD_PHASE_READING_RESPONSE_BODY)
        {
            if (e != NULL && e->req_end != 0) {
                v->elapsed = secs(c->close_ts - e->req_end);
            }
            got_bytes = e != NULL && e->resp_start != 0
                        && e->resp_start <= c->close_ts;
            if (client_left_first(c, x)
                || (x->leg == RD_LEG_UNKNOWN
                    && (ph == RD_PHASE_READING_RESPONSE_BODY
                        || !looks_like_timeout(v->elapsed))))
            {
                /* with roles unknown the client is most likely a user
                 * agent giving up, unless the wait looks like a
                 * configured timeout */
                set(v, RD_V_CLIENT_ABORT);
                if (got_bytes) {
                    v->message = MSG_ABORT_PREFIX
                        "reading response header from upstream";
                }
                return;
            }
            if (c->close_kind == RD_CLOSE_RST) {
                /* a timed-out upstream socket is closed with a FIN */
                set(v, RD_V_NGINX_RESET);
                return;
            }
            set(v, RD_V_UPSTREAM_TIMEOUT);
            if (ph == RD_PHASE_SENDING_REQUEST) {
                v->message = MSG_TIMEOUT_PREFIX "sending request to upstream";
            } else if (ph == RD_PHASE_READING_RESPONSE_BODY) {
                v->message = MSG_TIMEOUT_PREFIX "reading upstream";
            }
            if (!x->peer_known) {
                v->confidence = RD_CONF_MEDIUM;
                v->why = "the client leg was not paired: a client abort "
                         "would look the same on this leg";
            }
            return;
        }
        if (c->close_kind == RD_CLOSE_RST && x->leg == RD_LEG_UPSTREAM) {
            set(v, RD_V_NGINX_RESET);
            return;
        }
        return;
    }

    if (c->proto == RD_PROTO_FASTCGI && fcgi_stderr(c, v)) {
        return;
    }

    if (c->close_kind != RD_CLOSE_NONE && c->close_by == RD_CONN_SERVER
        && (ph == RD_PHASE_IDLE_KEEPALIVE
            || ph == RD_PHASE_AFTER_COMPLETE_RESPONSE)
        && (c->close_kind == RD_CLOSE_RST || ph == RD_PHASE_IDLE_KEEPALIVE)
        && c->served_at_close > 0)
    {
        set(v, RD_V_IDLE_CLOSE);
    }
}


/* A TLS client leg whose paired upstream leg failed (x->cause): nginx's
 * answer is encrypted, so what the client got is the version table's
 * word on that failure (an error page, a cut body); nothing when nginx
 * retried or the client was gone. */
static void
classify_tls_client(const struct rd_verdict_ctx *x, struct rd_verdict *v)
{
    const struct rd_version_row  *r;
    uint32_t                      ver;
    int                           gets;

    ver = x->nginx_version != 0 ? x->nginx_version : ASSUMED_VERSION;
    r = version_row(x->cause, ver, RD_VW_ANY);
    gets = r != NULL ? r->gets : RD_GETS_ERROR_PAGE;
    if (gets == RD_GETS_CUT_RESPONSE) {
        set(v, RD_V_RESPONSE_CUT_TO_CLIENT);
    } else if (gets == RD_GETS_ERROR_PAGE || gets == RD_GETS_UNKNOWN) {
        set(v, RD_V_BAD_GATEWAY);
    } else {
        return;
    }
    v->cause = x->cause;
    v->confidence = RD_CONF_MEDIUM;
    v->why = "TLS client leg: nginx's answer is encrypted, so this verdict "
             "is inferred from the upstream leg it was paired with (cause, "
             "cause_leg), not read from the response";
}


/* Client leg: the client's view of nginx. */
static void
classify_client(const struct rd_conn *c, const struct rd_verdict_ctx *x,
    struct rd_verdict *v)
{
    const struct rd_exchange  *e;

    e = classify_client_own(c, v);
    if (c->proto == RD_PROTO_TLS && x->cause != RD_V_NONE
        && v->code != RD_V_CLIENT_ABORT)
    {
        classify_tls_client(x, v);
        return;
    }
    /* the upstream leg whose failure this is: its request began while
     * the client's failed request waited for its answer */
    if ((v->code == RD_V_BAD_GATEWAY || v->code == RD_V_RESPONSE_CUT_TO_CLIENT
         || v->code == RD_V_NGINX_CLOSED_WITHOUT_RESPONSE
         || v->code == RD_V_NGINX_RESET)
        && x->cause != RD_V_NONE && e != NULL && e->req_start <= x->cause_ts
        && (e->resp_start == 0 || e->resp_start >= x->cause_ts))
    {
        v->cause = x->cause;
    }
}


/* A TLS client leg that closed in its handshake: who gave up, and the
 * line nginx logs for it (at info).  false: not such a case. */
static bool
tls_client_handshake(const struct rd_conn *c, struct rd_verdict *v)
{
    const struct rd_conn_tls  *t = c->app->tls;

    if (c->close_kind == RD_CLOSE_NONE || c->phase != RD_PHASE_TLS_HANDSHAKE) {
        return false;
    }
    if (t->alert_by == RD_CONN_SERVER && t->alert_level == RD_TLS_ALERT_FATAL) {
        set(v, RD_V_CLIENT_TLS_REJECTED);
        return true;
    }
    if (c->close_by != RD_CONN_CLIENT && t->alert_by != RD_CONN_CLIENT
        && !t->notify[RD_CONN_CLIENT])
    {
        return false;               /* nginx closed: a handshake timeout */
    }
    set(v, RD_V_CLIENT_TLS_HANDSHAKE_ABORT);
    if (t->alert_by == RD_CONN_CLIENT && t->alert_level == RD_TLS_ALERT_FATAL) {
        alert_message(v, t->alert_desc, "", 48);
        return true;
    }
    if (t->notify[RD_CONN_CLIENT]) {
        /* TLS 1.3: the alert went encrypted */
        v->message = NULL;
        v->confidence = RD_CONF_MEDIUM;
        v->why = "the client's alert was encrypted (TLS 1.3): nginx logs "
                 "SSL_do_handshake() failed (... SSL alert number N) while "
                 "SSL handshaking, with a reason the wire does not show";
        return true;
    }
    if (c->close_kind == RD_CLOSE_RST) {
        v->message = "peer closed connection in SSL handshake (104: "
                     "Connection reset by peer) while SSL handshaking";
    }
    return true;
}


/* The length of nginx's 497 page ("400 The plain HTTP request was sent
 * to HTTPS port", ngx_http_special_response.c, the same in 1.22 to 1.30)
 * without the server name in its tail, which is the Server: header's
 * value (NGINX_VER, NGINX_VER_BUILD, or "nginx"). */
#define PLAIN_HTTP_PAGE_LEN 243

/* e's response is nginx's answer to plain HTTP on its TLS port: a 400
 * from nginx whose body has the length of the 497 page for the server
 * name it announced.  No other page of nginx's has that length. */
static bool
plain_http_page(const struct rd_conn *c, const struct rd_exchange *e)
{
    const struct rd_conn_app  *a = c->app;

    return e->has_resp && e->status == 400 && a != NULL && a->server_len >= 5
           && a->server_len < RD_HTTP1_SERVER_LEN
           && memcmp(a->server_hdr, "nginx", 5) == 0
           && (a->server_len == 5 || a->server_hdr[5] == '/')
           && e->content_length == PLAIN_HTTP_PAGE_LEN + (int64_t) a->server_len;
}


/* Returns the exchange the verdict is about (or NULL). */
static const struct rd_exchange *
classify_client_own(const struct rd_conn *c, struct rd_verdict *v)
{
    const struct rd_exchange  *e, *g;
    uint32_t                   f, i;
    int                        ph;

    e = ex_at_close(c);
    ph = c->phase;
    f = findings_any(c);

    if (c->proto == RD_PROTO_TLS && c->app != NULL
        && tls_client_handshake(c, v))
    {
        return NULL;
    }

    if (c->proto == RD_PROTO_TLS && c->close_kind != RD_CLOSE_NONE
        && c->close_by == RD_CONN_CLIENT
        && ph == RD_PHASE_READING_RESPONSE_BODY)
    {
        /* TLS: the client's close soon after nginx's records ends a whole
         * response as often as it abandons one */
        return e;
    }
    if (c->close_kind != RD_CLOSE_NONE && c->close_by == RD_CONN_CLIENT
        && (ph == RD_PHASE_SENDING_REQUEST
            || ph == RD_PHASE_AWAITING_RESPONSE_HEADER
            || ph == RD_PHASE_READING_RESPONSE_BODY))
    {
        set(v, RD_V_CLIENT_ABORT);
        if (e != NULL && e->req_end != 0) {
            v->elapsed = secs(c->close_ts - e->req_end);
        }
        return e;
    }
    if (e != NULL && e->has_resp && (e->status == 502 || e->status == 504)) {
        set(v, RD_V_BAD_GATEWAY);
        return e;
    }
    if (e != NULL && plain_http_page(c, e)) {
        set(v, RD_V_CLIENT_PLAIN_HTTP_TO_TLS);
        return e;
    }
    if (f & (1u << RD_HTTP1_TRUNCATED)) {
        set(v, RD_V_RESPONSE_CUT_TO_CLIENT);
        for (i = c->nex; i > rd_conn_first_kept(c); i--) {
            g = rd_conn_exchange(c, i - 1);
            if (g != NULL && g->has_resp
                && (g->findings & (1u << RD_HTTP1_TRUNCATED)))
            {
                return g;
            }
        }
        return e;
    }
    if (c->close_kind != RD_CLOSE_NONE && c->close_by == RD_CONN_SERVER
        && (ph == RD_PHASE_AWAITING_RESPONSE_HEADER
            || ph == RD_PHASE_SENDING_REQUEST))
    {
        set(v, c->close_kind == RD_CLOSE_RST ? RD_V_NGINX_RESET
                                             : RD_V_NGINX_CLOSED_WITHOUT_RESPONSE);
        if (c->close_kind == RD_CLOSE_RST && ph == RD_PHASE_SENDING_REQUEST) {
            v->note = "nginx closed while the client was still sending its "
                      "request, so the unread bytes made its kernel reset "
                      "the connection: a 'return 444', or an early answer "
                      "(413 over client_max_body_size, 400) without "
                      "lingering_close; nginx logs it at info, if at all";
        }
        return e;
    }
    /* a 502 or 504 earlier on a keep-alive connection */
    for (i = c->nex; i > rd_conn_first_kept(c); i--) {
        g = rd_conn_exchange(c, i - 1);
        if (g != NULL && g->has_resp && (g->status == 502 || g->status == 504)) {
            set(v, RD_V_BAD_GATEWAY);
            return g;
        }
    }
    if (c->close_kind == RD_CLOSE_RST) {
        set(v, c->close_by == RD_CONN_SERVER ? RD_V_NGINX_RESET
                                             : RD_V_IDLE_CLOSE);
    }
    return e;
}


void
rd_verdict_classify(const struct rd_conn *c, const struct rd_verdict_ctx *x,
    struct rd_verdict *v)
{
    bool  leans;

    memset(v, 0, sizeof(*v));
    v->elapsed = -1;
    v->idle = -1;
    v->stall = -1;
    set(v, RD_V_NONE);

    v->cause = RD_V_NONE;
    if (x->leg == RD_LEG_CLIENT) {
        classify_client(c, x, v);
    } else {
        classify_upstream(c, x, v);
        if (v->code != RD_V_NONE && x->leg == RD_LEG_UNKNOWN
            && v->confidence == RD_CONF_HIGH)
        {
            v->confidence = RD_CONF_MEDIUM;
            v->why = "roles not determined (one leg captured?): the server "
                     "is taken to be an upstream of nginx; --nginx or "
                     "--upstream say which";
        }
    }
    if (v->code == RD_V_NONE) {
        return;
    }
    if (c->proto == RD_PROTO_TLS) {
        by_version(c, x, v, RD_VW_TLS);
        /* the HTTP inside is encrypted: phases come from record flow */
        if (v->confidence == RD_CONF_HIGH
            && c->phase != RD_PHASE_TLS_HANDSHAKE
            && v->code != RD_V_UPSTREAM_NOT_TLS
            && v->code != RD_V_UPSTREAM_TLS_ALERT)
        {
            v->confidence = RD_CONF_MEDIUM;
            v->why = "TLS: the phase is inferred from the encrypted records' "
                     "flow (request records, then response records), not "
                     "read from the HTTP inside";
        }
    }
    by_version(c, x, v, RD_VW_ANY);
    /* a verdict that leans on the other leg is as good as the pairing */
    leans = (x->leg == RD_LEG_CLIENT && v->cause != RD_V_NONE)
            || (x->leg != RD_LEG_CLIENT && x->peer_known
                && (v->code == RD_V_CLIENT_ABORT
                    || v->code == RD_V_UPSTREAM_TIMEOUT
                    || (v->code == RD_V_UPSTREAM_CONNECT_TIMEOUT
                        && !rd_conn_syn_unanswered(c))));
    if (!leans) {
        /* nothing */
    } else if (c->proto == RD_PROTO_TLS && x->leg == RD_LEG_CLIENT
               && x->pair_ambiguous)
    {
        v->confidence = RD_CONF_LOW;
        v->why = "TLS client leg: its verdict is inferred from the upstream "
                 "leg paired with it by timing, and another client leg "
                 "fitted as well (see pairing_candidates)";
    } else if (c->proto == RD_PROTO_TLS && x->leg == RD_LEG_CLIENT
               && x->pair_weak)
    {
        v->why = "TLS client leg: nginx's answer is encrypted, so this "
                 "verdict is inferred from the upstream leg paired with it "
                 "by timing alone (cause, cause_leg)";
    } else if (x->pair_ambiguous && v->confidence == RD_CONF_HIGH) {
        v->confidence = RD_CONF_MEDIUM;
        v->why = "another connection fitted this pairing as well (see "
                 "pairing_candidates): the other leg may be that one";
    } else if (x->pair_weak && v->confidence == RD_CONF_HIGH) {
        v->confidence = RD_CONF_MEDIUM;
        v->why = "the legs were paired on one coincidence (the same request "
                 "soon after, across two addresses), not yet confirmed by a "
                 "second pair or a forwarding header";
    }
    /* what the capture could not show weakens any verdict */
    v->capture_drops = x->drops;
    if (c->side[0].tcp.gap_bytes > 0 || c->side[1].tcp.gap_bytes > 0) {
        v->confidence = RD_CONF_LOW;
        v->why = "the capture missed bytes of this connection (gaps)";
    } else if (x->drops > 0) {
        /* a lost FIN, RST or retransmission leaves no gap in the bytes */
        v->confidence = v->confidence == RD_CONF_HIGH ? RD_CONF_MEDIUM
                                                      : RD_CONF_LOW;
        v->why = "the capture dropped packets while this connection was "
                 "open (capture_drops_during, from pcap_stats): a lost FIN, RST "
                 "or segment can change the verdict";
    } else if (c->roles_inferred && v->confidence == RD_CONF_HIGH) {
        v->confidence = RD_CONF_MEDIUM;
        v->why = "the handshake was not captured: roles inferred from ports";
    } else if ((c->side[0].tcp.cut_bytes > 0 || c->side[1].tcp.cut_bytes > 0)
               && v->confidence == RD_CONF_HIGH)
    {
        v->confidence = RD_CONF_MEDIUM;
        v->why = "payload cut by the snapshot length: framing partly unseen";
    }
}
