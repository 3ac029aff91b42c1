/*
 * evidence: the packets of each tracked connection, kept so that an
 * incident can be written out as a pcapng file (--evidence DIR).
 *
 * The store: packet bytes live in one circular pool (--evidence-pool-bytes)
 * in arrival order; each flow slot keeps the pool positions of its first
 * packets (the handshake, the request) and a ring of its latest ones, at
 * most max_packets in all (--evidence-max-packets).  When the pool is
 * full the oldest stored packets are overwritten; a position older than
 * the pool's tail is simply no longer valid, so reclaiming costs no walk
 * of the connections.  Memory: the pool, plus max_packets x 16 bytes per
 * flow slot (reserved, resident only once a slot's connection has its
 * third packet: the first two positions live in the slot itself).
 *
 * The directory (rd_evdir): files named for the incident, written with
 * openat() on a directory opened at start-up, bounded in number and in
 * bytes; the oldest of the files this process wrote are removed first.
 * Files that were there before are never touched.
 */
#ifndef RD_EVIDENCE_H
#define RD_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rstdiag/common.h"
#include "rstdiag/conn.h"
#include "rstdiag/verdict.h"

#define RD_EVIDENCE_MAX_PACKETS     64          /* per connection */
#define RD_EVIDENCE_POOL_BYTES      (4u << 20)  /* ~13,000 packets cut at
                                                 * RD_EVIDENCE_SNAPLEN: as
                                                 * many as 16 MiB of whole
                                                 * frames, in a quarter of
                                                 * the page faults and
                                                 * cache */
#define RD_EVIDENCE_SNAPLEN         256         /* bytes kept of a packet:
                                                 * the headers and the
                                                 * start of the payload */
#define RD_EVIDENCE_SNAPLEN_MIN     128         /* Ethernet, VLAN, IPv6 and
                                                 * TCP with options fit */
#define RD_EVIDENCE_MAX_FILES       1000
#define RD_EVIDENCE_MAX_BYTES       (256ull << 20)
#define RD_EVIDENCE_FILES_CAP       100000      /* --evidence-max-files */
#define RD_EVIDENCE_NAME_MAX        112         /* a file name, with NUL */

/* One stored packet, as rd_evstore_collect() hands it out: data points
 * into the pool and is valid until the next rd_evstore_add(). */
struct rd_evpkt {
    const uint8_t  *data;
    uint32_t        caplen;
    uint32_t        wirelen;
    rd_usec_t       ts;
    int32_t         dlt;
    uint16_t        sport;              /* TCP source port */
    uint8_t         flags;              /* TCP flags (RD_TCP_*) */
    bool            mark;               /* the packet that decided the
                                         * verdict: it gets the comment */
};

struct rd_evstore_stats {
    uint64_t        stored;             /* packets copied in */
    uint64_t        reclaimed;          /* overwritten while still in
                                         * the ring of a tracked
                                         * connection: lost evidence */
    uint64_t        too_big;            /* larger than the pool: not kept */
    uint64_t        pool_bytes;         /* the pool's size */
};

struct rd_evstore;

/* A store for nslots flow slots; NULL when memory is short.  max_packets
 * >= 1; pool_bytes >= 4096. */
struct rd_evstore *rd_evstore_create(const struct rd_alloc *a,
    uint32_t nslots, uint32_t max_packets, uint64_t pool_bytes);

/* Free s and every packet it holds; s may be NULL. */
void rd_evstore_destroy(struct rd_evstore *s);

/* Keep a copy of p[0..caplen), a packet of the connection in slot
 * (< nslots; others are ignored): the oldest packets of the pool go to
 * make room.  A packet larger than the pool is counted in too_big.  No
 * allocation. */
void rd_evstore_add(struct rd_evstore *s, uint32_t slot, int dlt,
    rd_usec_t ts, const uint8_t *p, uint32_t caplen, uint32_t wirelen,
    uint16_t sport, uint8_t flags);

/* The slot's connection is over: forget its packets. */
void rd_evstore_reset(struct rd_evstore *s, uint32_t slot);

/*
 * The slot's packets still in the pool, in arrival order, into out[0..max)
 * (max >= max_packets takes them all).  Returns how many; *omitted (may
 * be NULL) is set to the packets of the connection not returned (beyond
 * the ring, or reclaimed).
 */
size_t rd_evstore_collect(const struct rd_evstore *s, uint32_t slot,
    struct rd_evpkt *out, size_t max, uint64_t *omitted);

/*
 * An upstream leg (slot from) is over before its client leg (slot to):
 * the client leg remembers where the upstream leg's packets are, so that
 * its own incident (a 502, say) can show them.  Only the latest such leg
 * is remembered; the packets stay in the pool until reclaimed as any.
 * Call before rd_evstore_reset(from).
 */
void rd_evstore_inherit(struct rd_evstore *s, uint32_t from, uint32_t to);

/* true when slot remembers another leg's packets */
bool rd_evstore_has_inherited(const struct rd_evstore *s, uint32_t slot);

/* rd_evstore_collect() for the packets slot inherited. */
size_t rd_evstore_collect_inherited(const struct rd_evstore *s,
    uint32_t slot, struct rd_evpkt *out, size_t max, uint64_t *omitted);

/* Packets added to slot since its reset. */
uint64_t rd_evstore_count(const struct rd_evstore *s, uint32_t slot);

/* max_packets as created. */
uint32_t rd_evstore_max_packets(const struct rd_evstore *s);

/* The counters, valid while s lives. */
const struct rd_evstore_stats *rd_evstore_stats(const struct rd_evstore *s);

/* Tests: check the pool's chain of records; aborts on violation. */
void rd_evstore_validate_(const struct rd_evstore *s);


struct rd_evdir_stats {
    uint64_t        files;              /* written */
    uint64_t        removed;            /* removed by the bounds */
    uint64_t        errors;             /* could not be written */
    uint64_t        bytes;              /* of the files kept now */
    uint32_t        kept;               /* files kept now */
};

struct rd_evdir;

/* Open directory path, check that it can be written; NULL with
 * "--evidence PATH: reason" in err.  Keeps at most max_files files of
 * its own there and max_bytes of them (the oldest removed first)
 * (1 to RD_EVIDENCE_FILES_CAP); snaplen goes into each file's interface
 * blocks.  path is copied. */
struct rd_evdir *rd_evdir_open(const char *path, uint32_t max_files,
    uint64_t max_bytes, uint32_t snaplen, char err[RD_ERRLEN]);

/* Close the directory (the files stay); d may be NULL. */
void rd_evdir_close(struct rd_evdir *d);

/* -Z: hand the directory to uid:gid when root owns it and it is not a
 * shared (sticky) one, so it stays writable after the drop; then, once
 * dropped, rd_evdir_check() again.  -1 with a reason in err. */
int rd_evdir_give(struct rd_evdir *d, uid_t uid, gid_t gid,
    char err[RD_ERRLEN]);

/* The directory can still be written by this process: 0, or -1 with
 * "--evidence PATH: reason" in err. */
int rd_evdir_check(struct rd_evdir *d, char err[RD_ERRLEN]);

/*
 * Write one incident: connection c with verdict v, peer its client leg
 * (or NULL), their packets pk[0..n) in time order (the ones marked get
 * the verdict as their comment), omitted the packets not kept.  Returns
 * the file's path (DIR/NAME, valid until the next call), or NULL when it
 * could not be written (counted in errors, a warning on stderr the first
 * time) or the bounds removed it at once.
 */
const char *rd_evdir_write(struct rd_evdir *d, const struct rd_conn *c,
    const struct rd_conn *peer, const struct rd_verdict *v,
    const struct rd_evpkt *pk, size_t n, uint64_t omitted);

/* The counters, valid while d lives. */
const struct rd_evdir_stats *rd_evdir_stats(const struct rd_evdir *d);

/* The file name for an incident, e.g.
 * rstdiag-20261208T001502.123456-upstream_reset_mid_body-10.0.0.2_8080.pcapng
 * (the client's address for a client leg, the server's otherwise: the
 * upstream's, or the server of a leg not told apart). */
void rd_evdir_name(const struct rd_conn *c, const struct rd_verdict *v,
    rd_usec_t ts, char name[RD_EVIDENCE_NAME_MAX]);

#endif /* RD_EVIDENCE_H */
