/*
 * pcapfile: records of a classic pcap file (pcap-savefile(5)), read in
 * place from a buffer the caller fills, with libpcap 1.10's results to
 * the byte: the same packets, timestamps (nanosecond files scaled down to
 * microseconds), caplen/len, end of file and error messages as
 * pcap_next_ex() on a handle opened with PCAP_TSTAMP_PRECISION_MICRO.
 *
 * No I/O here: rd_pcapfile_parse() is a pure function of its bytes, and
 * struct rd_pcapfile_rd keeps the buffer (the caller reads into the space
 * it offers).  capture.c does the reading; the fuzzer feeds bytes.
 * pcapng files are pcapngfile's, which uses the same buffer and records.
 */
#ifndef RD_PCAPFILE_H
#define RD_PCAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rstdiag/common.h"

#define RD_PCAPFILE_HDRLEN   24u     /* file header */
#define RD_PCAPFILE_RECLEN   16u     /* record header */

/* rd_pcapfile_parse()/rd_pcapfile_read(): a clean end of file */
#define RD_PCAPFILE_END      2

/* How a file stores caplen and len (libpcap's lengths_swapped). */
enum rd_pcapfile_lengths {
    RD_PCAPFILE_LEN_AS_IS,          /* version 2.4 and later */
    RD_PCAPFILE_LEN_SWAPPED,        /* before 2.3, and DG/UX's 543.0 */
    RD_PCAPFILE_LEN_MAYBE           /* 2.3: swapped when caplen > len */
};

/* What the file header says; filled by rd_pcapfile_header(). */
struct rd_pcapfile {
    int                         dlt;
    uint32_t                    snapshot;   /* records are cut to it */
    uint32_t                    max_caplen; /* more: a damaged file */
    uint16_t                    major;
    uint16_t                    minor;
    bool                        swapped;    /* other byte order than ours */
    bool                        nsec;       /* nanosecond timestamps */
    enum rd_pcapfile_lengths    lengths;
};

/* One record.  data points into the caller's buffer. */
struct rd_pcapfile_rec {
    const uint8_t              *data;
    uint32_t                    caplen;
    uint32_t                    len;
    int64_t                     sec;        /* as libpcap's ts.tv_sec */
    int64_t                     usec;       /* as libpcap's ts.tv_usec */
};

/*
 * Read the 24-byte file header p[0..n) of a file libpcap opened with link
 * type dlt (pcap_datalink(), already mapped from the file's LINKTYPE_).
 * Returns 0, or -RD_EPROTO when this is not a classic pcap file this
 * module reads exactly like libpcap: pcapng, Kuznetzov's patched format,
 * an unsupported version, or a link type whose pseudo-header libpcap
 * rewrites in ways this module does not (PFLOG, Linux USB).
 */
int rd_pcapfile_header(struct rd_pcapfile *pf, const uint8_t *p, size_t n,
    int dlt);

/*
 * The record at the start of p[0..n), the rest of the file after the file
 * header or the previous record.  eof: no byte follows p[n - 1].
 *
 * Returns 0 with *rec filled and *used set to the bytes the record takes;
 * RD_AGAIN with *used set to the bytes the record needs (> n; at most
 * RD_PCAPFILE_RECLEN + pf->max_caplen), when !eof; RD_PCAPFILE_END when n
 * is 0 and eof; -RD_EPROTO with libpcap's message in err for a damaged
 * file (a cut or bogus record).  Reads nothing beyond p[n - 1].
 *
 * In a file of the other byte order, the pseudo-header fields libpcap
 * swaps to our order (the CAN ID behind Linux cooked headers, the NFLOG
 * TLV headers) are swapped in place, hence the writable buffer.
 */
int rd_pcapfile_parse(const struct rd_pcapfile *pf, uint8_t *p, size_t n,
    bool eof, struct rd_pcapfile_rec *rec, size_t *used, char err[RD_ERRLEN]);

/*
 * A buffer of records, filled by the caller.  Zero-fill is not enough:
 * set up with rd_pcapfile_rd_init().  Fields are private.
 */
struct rd_pcapfile_rd {
    uint8_t                    *_buf;
    size_t                      _cap;
    size_t                      _head;      /* first unread byte */
    size_t                      _tail;      /* one past the last byte */
    uint64_t                    _done;      /* bytes handed out */
    bool                        _eof;
};

/* Minimum buffer size for pf: the largest record (header + max_caplen). */
size_t rd_pcapfile_rd_min(const struct rd_pcapfile *pf);

/* Use buf[0..cap) (cap >= rd_pcapfile_rd_min(), owned by the caller). */
void rd_pcapfile_rd_init(struct rd_pcapfile_rd *rd, uint8_t *buf,
    size_t cap);

/*
 * The next record: rd_pcapfile_parse()'s results, except that RD_AGAIN
 * means "add bytes": call rd_pcapfile_rd_space(), write into it, then
 * rd_pcapfile_rd_commit() (or rd_pcapfile_rd_eof() at the end of the
 * file) and call again.  rec->data is valid until the next call: a
 * record cut by the end of the buffer is moved to its start then (the
 * only copy).
 */
int rd_pcapfile_read(const struct rd_pcapfile *pf, struct rd_pcapfile_rd *rd,
    struct rd_pcapfile_rec *rec, char err[RD_ERRLEN]);

/* Where to write the next bytes: at least the rest of the record. */
void rd_pcapfile_rd_space(struct rd_pcapfile_rd *rd, uint8_t **p,
    size_t *n);

/* n bytes were written at the space. */
void rd_pcapfile_rd_commit(struct rd_pcapfile_rd *rd, size_t n);

/* The file has no more bytes. */
void rd_pcapfile_rd_eof(struct rd_pcapfile_rd *rd);

/* Bytes of the records handed out so far (after the file header). */
uint64_t rd_pcapfile_rd_done(const struct rd_pcapfile_rd *rd);

#endif /* RD_PCAPFILE_H */
