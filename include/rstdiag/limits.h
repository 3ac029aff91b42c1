/*
 * Every default limit of rstdiag, named (p0f config.h).  Options override
 * the ones marked "option".
 */
#ifndef RD_LIMITS_H
#define RD_LIMITS_H

/* option --max-flows: connections tracked at once; the oldest is evicted */
#define RD_LIMITS_MAX_FLOWS          65536u

/* option --idle-timeout: seconds of silence (packet time) before a
 * connection is finished and reported */
#define RD_LIMITS_IDLE_TIMEOUT       300u

/* seconds a fully closed connection (both FINs, or an RST) is kept for
 * late packets (retransmissions, an RST answering late data) */
#define RD_LIMITS_CLOSED_LINGER      2u

/* option --max-ooo-bytes: out-of-order bytes held for all flows together */
#define RD_LIMITS_OOO_POOL_BYTES     (8u * 1024u * 1024u)

/* out-of-order bytes held for one direction of one connection */
#define RD_LIMITS_OOO_DIR_BYTES      (256u * 1024u)

/* out-of-order segments held for one direction of one connection */
#define RD_LIMITS_OOO_DIR_SEGS       16u

/* RST records kept per connection (later ones are only counted) */
#define RD_LIMITS_RST_KEEP           4u

/* request/response exchanges kept per connection (the last ones) */
#define RD_LIMITS_EXCHANGES_KEEP     4u

/* option --max-header-bytes: header block size before header_overflow */
#define RD_LIMITS_MAX_HEADER_BYTES   65536u

/* endpoints whose role (nginx listener, upstream) is remembered */
#define RD_LIMITS_ROLE_EPS           256u

/* recent requests remembered for leg pairing */
#define RD_LIMITS_PAIR_RING          4096u

/* seconds an upstream request may follow the client request it serves
 * (retries through proxy_next_upstream included) */
#define RD_LIMITS_PAIR_WINDOW        120u

/* milliseconds an upstream request may follow a TLS client's turn (its
 * last record) and still be paired with it by timing alone */
#define RD_LIMITS_TLS_PAIR_MS        250u

/* option -s: live snapshot length */
#define RD_LIMITS_SNAPLEN            262144

/* live: kernel capture buffer, bytes */
#define RD_LIMITS_LIVE_BUFFER        (16 * 1024 * 1024)

/* live: packets handled per pcap_dispatch() call from the event loop */
#define RD_LIMITS_LIVE_BATCH         256

/* live: the longest a captured packet waits in a partly filled TPACKET_V3
 * block before rstdiag sees it (pcap_set_timeout) */
#define RD_LIMITS_LIVE_TIMEOUT_MS    100

/* IPv6 extension headers walked before the packet is called malformed */
#define RD_LIMITS_IPV6_EXT_MAX       8u

/* 802.1Q tags peeled before the packet is called malformed */
#define RD_LIMITS_VLAN_MAX           4u

/* --nginx-conf (nginx -T output): block nesting, include nesting too */
#define RD_LIMITS_NGINXCONF_DEPTH        32u

/* --nginx-conf: bytes of one word (nginx's own conf buffer is 4096) */
#define RD_LIMITS_NGINXCONF_TOKEN        4096u

/* --nginx-conf: words of one directive, its name included */
#define RD_LIMITS_NGINXCONF_ARGS         64u

/* --nginx-conf: directives in all files together */
#define RD_LIMITS_NGINXCONF_DIRECTIVES   200000u

/* --nginx-conf: "# configuration file" sections */
#define RD_LIMITS_NGINXCONF_FILES        4096u

/* --nginx-conf: bytes of words, file names and texts kept */
#define RD_LIMITS_NGINXCONF_BYTES        (32u * 1024u * 1024u)

#endif /* RD_LIMITS_H */
