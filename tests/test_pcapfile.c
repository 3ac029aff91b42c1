/*
 * Unit tests of pcapfile: hand-made classic pcap files in both byte
 * orders, with microsecond and nanosecond timestamps, old versions, cut
 * headers and records, bogus and oversized caplens.  Each case checks
 * the values expected, then that libpcap reads the same file the same way
 * (tests/pcapfile_diff.h) with the bytes handed over in many chunkings.
 * Records are also parsed against a guard page (tests/guard.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <pcap/pcap.h>

#include "guard.h"
#include "pcapfile_diff.h"
#include "rstdiag/common.h"
#include "rstdiag/pcapfile.h"

#define MAGIC_USEC    0xa1b2c3d4u
#define MAGIC_NSEC    0xa1b23c4du
#define MAGIC_KUZ     0xa1b2cd34u       /* Kuznetzov's: left to libpcap */
#define MAGIC_PCAPNG  0x0a0d0d0au

#define SEEDS         40u               /* chunkings tried per file */

/* A file being written, in this host's byte order or the other one. */
struct file {
    uint8_t     b[8192];
    size_t      n;
    bool        other;                  /* the other byte order */
};


static void
put16(struct file *f, uint16_t v)
{
    if (f->other) {
        v = (uint16_t) ((v >> 8) | (v << 8));
    }
    memcpy(f->b + f->n, &v, 2);
    f->n += 2;
}


static void
put32(struct file *f, uint32_t v)
{
    if (f->other) {
        v = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u)
            | (v << 24);
    }
    memcpy(f->b + f->n, &v, 4);
    f->n += 4;
}


static void
put(struct file *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}


static void
file_start(struct file *f, bool other, uint32_t magic, uint16_t major,
    uint16_t minor, uint32_t snaplen, uint32_t linktype)
{
    memset(f, 0, sizeof(*f));
    f->other = other;
    put32(f, magic);
    put16(f, major);
    put16(f, minor);
    put32(f, 0);                        /* thiszone */
    put32(f, 0);                        /* sigfigs */
    put32(f, snaplen);
    put32(f, linktype);
}


/* A record whose data is caplen bytes counting up from seed. */
static void
file_record(struct file *f, uint32_t sec, uint32_t frac, uint32_t caplen,
    uint32_t len, uint8_t seed)
{
    uint32_t  i;

    put32(f, sec);
    put32(f, frac);
    put32(f, caplen);
    put32(f, len);
    for (i = 0; i < caplen; i++) {
        f->b[f->n++] = (uint8_t) (seed + i);
    }
}


/* libpcap and pcapfile agree on f under many chunkings. */
static void
agree(const struct file *f, uint64_t packets, bool error)
{
    struct reader_diff_res  res;
    char                    why[READER_DIFF_WHY];
    uint32_t                seed;

    for (seed = 0; seed < SEEDS; seed++) {
        if (pcapfile_diff(f->b, f->n, seed, &res, why) != 0) {
            fail_msg("seed %u: %s", seed, why);
        }
        assert_true(res.ours);
        assert_int_equal(res.packets, packets);
        assert_int_equal(res.error, error);
    }
}


/* Parse the whole file f (header and every record) in one buffer. */
struct parsed {
    struct rd_pcapfile      pf;
    struct rd_pcapfile_rec  rec[8];
    size_t                  nrec;
    int                     rc;         /* how it ended */
    char                    err[RD_ERRLEN];
};


static void
parse_all(struct file *f, struct parsed *r)
{
    size_t  off, used;
    int     rc;

    memset(r, 0, sizeof(*r));
    assert_int_equal(rd_pcapfile_header(&r->pf, f->b, f->n, DLT_EN10MB), 0);
    off = RD_PCAPFILE_HDRLEN;
    for ( ;; ) {
        rc = rd_pcapfile_parse(&r->pf, f->b + off, f->n - off, true,
                               &r->rec[r->nrec], &used, r->err);
        if (rc != RD_OK) {
            r->rc = rc;
            return;
        }
        assert_true(used <= f->n - off);
        off += used;
        r->nrec++;
        assert_true(r->nrec < RD_NELEMS(r->rec));
    }
}


static void
test_pcapfile_header(void **state)
{
    struct file         f;
    struct rd_pcapfile  pf;

    (void) state;
    file_start(&f, false, MAGIC_USEC, 2, 4, 65535, 1);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB), 0);
    assert_false(pf.swapped);
    assert_false(pf.nsec);
    assert_int_equal(pf.snapshot, 65535);
    assert_int_equal(pf.max_caplen, 262144);
    assert_int_equal(pf.lengths, RD_PCAPFILE_LEN_AS_IS);
    assert_int_equal(rd_pcapfile_rd_min(&pf), 16 + 262144);

    file_start(&f, true, MAGIC_NSEC, 2, 4, 0, 1);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB), 0);
    assert_true(pf.swapped);
    assert_true(pf.nsec);
    assert_int_equal(pf.snapshot, 262144);      /* 0: the maximum */

    file_start(&f, false, MAGIC_USEC, 2, 4, 0x80000000u, 1);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB), 0);
    assert_int_equal(pf.snapshot, 262144);      /* > INT_MAX too */
    file_start(&f, false, MAGIC_USEC, 2, 4, 0x7fffffffu, 1);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB), 0);
    assert_int_equal(pf.snapshot, 0x7fffffff);  /* kept, as libpcap */

    file_start(&f, false, MAGIC_USEC, 2, 2, 100, 1);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB), 0);
    assert_int_equal(pf.lengths, RD_PCAPFILE_LEN_SWAPPED);
    file_start(&f, false, MAGIC_USEC, 2, 3, 100, 1);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB), 0);
    assert_int_equal(pf.lengths, RD_PCAPFILE_LEN_MAYBE);
    file_start(&f, true, MAGIC_USEC, 543, 0, 100, 1);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB), 0);
    assert_int_equal(pf.lengths, RD_PCAPFILE_LEN_SWAPPED);

    /* left to libpcap (which refuses some of them itself) */
    file_start(&f, false, MAGIC_KUZ, 2, 4, 100, 1);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB),
                     -RD_EPROTO);
    file_start(&f, false, MAGIC_PCAPNG, 2, 4, 100, 1);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB),
                     -RD_EPROTO);
    file_start(&f, false, MAGIC_USEC, 2, 5, 100, 1);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB),
                     -RD_EPROTO);
    file_start(&f, false, MAGIC_USEC, 1, 0, 100, 1);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB),
                     -RD_EPROTO);
    file_start(&f, false, MAGIC_USEC, 2, 4, 100, 117);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_PFLOG),
                     -RD_EPROTO);
    file_start(&f, false, MAGIC_USEC, 2, 4, 100, 1);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, 23, DLT_EN10MB),
                     -RD_EPROTO);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_DBUS), 0);
    assert_int_equal(pf.max_caplen, 128u * 1024 * 1024);
}


/* Records read in place: pointers into the buffer, nothing copied. */
static void
test_pcapfile_records(void **state)
{
    struct file    f;
    struct parsed  r;

    (void) state;
    file_start(&f, false, MAGIC_USEC, 2, 4, 65535, 1);
    file_record(&f, 1700000000, 123456, 60, 60, 1);
    file_record(&f, 1700000001, 999999, 0, 0, 2);
    file_record(&f, 1700000002, 5, 54, 1514, 3);
    parse_all(&f, &r);
    assert_int_equal(r.rc, RD_PCAPFILE_END);
    assert_int_equal(r.nrec, 3);
    assert_int_equal(r.rec[0].sec, 1700000000);
    assert_int_equal(r.rec[0].usec, 123456);
    assert_int_equal(r.rec[0].caplen, 60);
    assert_ptr_equal(r.rec[0].data, f.b + 24 + 16);
    assert_int_equal(r.rec[1].caplen, 0);
    assert_int_equal(r.rec[2].caplen, 54);
    assert_int_equal(r.rec[2].len, 1514);
    assert_ptr_equal(r.rec[2].data, f.b + 24 + 16 + 60 + 16 + 16);
    assert_int_equal(r.rec[2].data[0], 3);
    agree(&f, 3, false);

    /* an empty file is a clean end */
    file_start(&f, false, MAGIC_USEC, 2, 4, 65535, 1);
    parse_all(&f, &r);
    assert_int_equal(r.rc, RD_PCAPFILE_END);
    agree(&f, 0, false);
}


static void
test_pcapfile_swapped_and_nsec(void **state)
{
    struct file    f;
    struct parsed  r;

    (void) state;
    file_start(&f, true, MAGIC_USEC, 2, 4, 65535, 1);
    file_record(&f, 0x01020304, 0x00050607, 40, 0x00010203, 9);
    parse_all(&f, &r);
    assert_int_equal(r.nrec, 1);
    assert_int_equal(r.rec[0].sec, 0x01020304);
    assert_int_equal(r.rec[0].usec, 0x00050607);
    assert_int_equal(r.rec[0].caplen, 40);
    assert_int_equal(r.rec[0].len, 0x00010203);
    agree(&f, 1, false);

    /* nanoseconds divided down, rounding toward zero like libpcap's
     * signed division; negative fields are sign-extended in native
     * files, zero-extended in swapped ones (libpcap's SWAPLONG()) */
    file_start(&f, false, MAGIC_NSEC, 2, 4, 65535, 1);
    file_record(&f, 10, 999999999, 8, 8, 1);
    file_record(&f, 0xffffffffu, (uint32_t) -1500, 8, 8, 1);
    file_record(&f, 0x80000000u, 0x7fffffff, 8, 8, 1);
    parse_all(&f, &r);
    assert_int_equal(r.nrec, 3);
    assert_int_equal(r.rec[0].usec, 999999);
    assert_int_equal(r.rec[1].sec, -1);
    assert_int_equal(r.rec[1].usec, -1);
    assert_int_equal(r.rec[2].sec, INT32_MIN);
    assert_int_equal(r.rec[2].usec, 2147483);
    agree(&f, 3, false);

    file_start(&f, true, MAGIC_NSEC, 2, 4, 65535, 1);
    file_record(&f, 10, 123456789, 8, 8, 1);
    file_record(&f, 0xfffffff0u, 0x90000000u, 8, 8, 1);
    parse_all(&f, &r);
    assert_int_equal(r.rec[0].usec, 123456);
    assert_int_equal(r.rec[1].sec, 0xfffffff0u);    /* libpcap's quirk */
    assert_int_equal(r.rec[1].usec, 0x90000000u / 1000);
    agree(&f, 2, false);
}


/* Before 2.3 caplen and len were the other way round; 2.3 files are
 * either, swapped back when caplen > len. */
static void
test_pcapfile_old_versions(void **state)
{
    struct file    f;
    struct parsed  r;

    (void) state;
    file_start(&f, false, MAGIC_USEC, 2, 2, 65535, 1);
    file_record(&f, 1, 0, 1514, 20, 1);         /* len, caplen */
    f.n -= 1514 - 20;
    parse_all(&f, &r);
    assert_int_equal(r.nrec, 1);
    assert_int_equal(r.rec[0].caplen, 20);
    assert_int_equal(r.rec[0].len, 1514);
    agree(&f, 1, false);

    file_start(&f, false, MAGIC_USEC, 2, 3, 65535, 1);
    file_record(&f, 1, 0, 1514, 30, 1);         /* swapped: caplen > len */
    f.n -= 1514 - 30;
    file_record(&f, 2, 0, 30, 1514, 1);         /* not swapped */
    parse_all(&f, &r);
    assert_int_equal(r.nrec, 2);
    assert_int_equal(r.rec[0].caplen, 30);
    assert_int_equal(r.rec[0].len, 1514);
    assert_int_equal(r.rec[1].caplen, 30);
    agree(&f, 2, false);

    file_start(&f, true, MAGIC_USEC, 543, 0, 65535, 1);
    file_record(&f, 1, 0, 100, 50, 1);
    f.n -= 50;
    parse_all(&f, &r);
    assert_int_equal(r.rec[0].caplen, 50);
    agree(&f, 1, false);
}


static void
test_pcapfile_truncated_header(void **state)
{
    struct file    f;
    struct parsed  r;

    (void) state;
    file_start(&f, false, MAGIC_USEC, 2, 4, 65535, 1);
    file_record(&f, 1, 0, 10, 10, 1);
    file_record(&f, 2, 0, 10, 10, 1);
    f.n -= 16 + 10 - 7;                         /* 7 of 16 header bytes */
    parse_all(&f, &r);
    assert_int_equal(r.nrec, 1);
    assert_int_equal(r.rc, -RD_EPROTO);
    assert_string_equal(r.err, "truncated dump file; tried to read 16 "
                        "header bytes, only got 7");
    agree(&f, 1, true);
}


static void
test_pcapfile_truncated_record(void **state)
{
    struct file    f;
    struct parsed  r;

    (void) state;
    file_start(&f, true, MAGIC_USEC, 2, 4, 65535, 1);
    file_record(&f, 1, 0, 100, 100, 1);
    f.n -= 60;
    parse_all(&f, &r);
    assert_int_equal(r.nrec, 0);
    assert_int_equal(r.rc, -RD_EPROTO);
    assert_string_equal(r.err, "truncated dump file; tried to read 100 "
                        "captured bytes, only got 40");
    agree(&f, 0, true);

    /* just the record header */
    file_start(&f, false, MAGIC_USEC, 2, 4, 65535, 1);
    file_record(&f, 1, 0, 100, 100, 1);
    f.n -= 100;
    parse_all(&f, &r);
    assert_string_equal(r.err, "truncated dump file; tried to read 100 "
                        "captured bytes, only got 0");
    agree(&f, 0, true);
}


/* caplen above the link type's maximum ends the file; the message names
 * the snapshot length when caplen is above that too. */
static void
test_pcapfile_bogus_caplen(void **state)
{
    struct file    f;
    struct parsed  r;

    (void) state;
    file_start(&f, false, MAGIC_USEC, 2, 4, 65535, 1);
    file_record(&f, 1, 0, 10, 10, 1);
    file_record(&f, 1, 0, 0, 10, 1);
    f.n -= 8;
    put32(&f, 300000);
    put32(&f, 300000);
    parse_all(&f, &r);
    assert_int_equal(r.nrec, 1);
    assert_int_equal(r.rc, -RD_EPROTO);
    assert_string_equal(r.err, "invalid packet capture length 300000, "
                        "bigger than snaplen of 65535");
    agree(&f, 1, true);

    file_start(&f, true, MAGIC_USEC, 2, 4, 0x7fffffff, 1);
    file_record(&f, 1, 0, 0, 10, 1);
    f.n -= 8;
    put32(&f, 262145);
    put32(&f, 262145);
    parse_all(&f, &r);
    assert_string_equal(r.err, "invalid packet capture length 262145, "
                        "bigger than maximum of 262144");
    agree(&f, 0, true);
}


/* A record longer than the snapshot (but not bogus) is cut to it and
 * the rest skipped; cut short, libpcap's message depends on where. */
static void
test_pcapfile_over_snapshot(void **state)
{
    struct file    f;
    struct parsed  r;

    (void) state;
    file_start(&f, false, MAGIC_USEC, 2, 4, 64, 1);
    file_record(&f, 1, 0, 100, 100, 1);
    file_record(&f, 2, 0, 20, 20, 7);
    parse_all(&f, &r);
    assert_int_equal(r.nrec, 2);
    assert_int_equal(r.rc, RD_PCAPFILE_END);
    assert_int_equal(r.rec[0].caplen, 64);
    assert_int_equal(r.rec[0].len, 100);
    assert_int_equal(r.rec[1].caplen, 20);
    assert_int_equal(r.rec[1].data[0], 7);
    agree(&f, 2, false);

    /* cut inside the snapshot part */
    file_start(&f, false, MAGIC_USEC, 2, 4, 64, 1);
    file_record(&f, 1, 0, 100, 100, 1);
    f.n -= 50;
    parse_all(&f, &r);
    assert_string_equal(r.err, "truncated dump file; tried to read 64 "
                        "captured bytes, only got 50");
    agree(&f, 0, true);

    /* cut in the part that would be skipped */
    file_start(&f, true, MAGIC_USEC, 2, 4, 64, 1);
    file_record(&f, 1, 0, 100, 100, 1);
    f.n -= 10;
    parse_all(&f, &r);
    assert_string_equal(r.err, "truncated dump file; tried to read 100 "
                        "captured bytes, only got 90");
    agree(&f, 0, true);
}


static uint16_t
host16(const uint8_t *p)
{
    uint16_t  v;

    memcpy(&v, p, 2);
    return v;
}


static uint32_t
host32(const uint8_t *p)
{
    uint32_t  v;

    memcpy(&v, p, 4);
    return v;
}


/* Parse the one record of f (data written from f->b + 24 + 16 on) in a
 * copy, so that f stays as written for agree(). */
static void
parse_copy(struct file *f, int dlt, uint8_t *b, struct rd_pcapfile_rec *rec)
{
    struct rd_pcapfile  pf;
    size_t              used, n;
    char                err[RD_ERRLEN];

    n = f->n - 24;
    f->b[24 + 8] = f->b[24 + 12] = 0;           /* caplen, len: fixed */
    f->n = 24;
    put32(f, 1);
    put32(f, 0);
    put32(f, (uint32_t) (n - 16));
    put32(f, (uint32_t) (n - 16));
    f->n = 24 + n;
    assert_int_equal(rd_pcapfile_header(&pf, f->b, f->n, dlt), 0);
    memcpy(b, f->b + 24, n);
    assert_int_equal(rd_pcapfile_parse(&pf, b, n, true, rec, &used, err),
                     RD_OK);
    assert_int_equal(used, n);
}


/* Swapped files: the pseudo-header fields libpcap puts in our byte
 * order (written here in the writer's) are read in ours; the same bytes
 * under other link types are left alone. */
static void
test_pcapfile_swapped_pseudo_headers(void **state)
{
    static const uint8_t    nflog_hdr[] = { 2, 0, 0, 0 };
    static const uint8_t    sll_hdr[] = {
        0, 0, 1, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x0c,
    };
    struct file             f;
    struct rd_pcapfile_rec  rec;
    uint8_t                 b[128];

    (void) state;
    file_start(&f, true, MAGIC_USEC, 2, 4, 65535, DLT_NFLOG);
    f.n += 16;
    put(&f, nflog_hdr, sizeof(nflog_hdr));
    put16(&f, 8);                               /* TLV: length, type */
    put16(&f, 1);
    put32(&f, 0x08000000u);
    put16(&f, 5);                               /* 5, padded to 8 */
    put16(&f, 10);
    put(&f, "abcd", 4);
    put16(&f, 0xffff);                          /* rounds to 0: stop */
    put16(&f, 9);
    put16(&f, 4);                               /* not reached */
    put16(&f, 11);
    parse_copy(&f, DLT_NFLOG, b, &rec);
    assert_int_equal(host16(rec.data + 4), 8);
    assert_int_equal(host16(rec.data + 6), 1);
    assert_int_equal(host16(rec.data + 12), 5);
    assert_int_equal(host16(rec.data + 14), 10);
    assert_int_equal(host16(rec.data + 20), 0xffff);
    assert_int_equal(host16(rec.data + 22), 9);
    assert_memory_equal(rec.data + 24, f.b + 24 + 16 + 24, 4);
    agree(&f, 1, false);

    /* a SocketCAN frame behind a cooked header: its CAN ID */
    file_start(&f, true, MAGIC_USEC, 2, 4, 65535, DLT_LINUX_SLL);
    f.n += 16;
    put(&f, sll_hdr, sizeof(sll_hdr));
    put32(&f, 0x11223344u);
    put32(&f, 0x08000000u);
    parse_copy(&f, DLT_LINUX_SLL, b, &rec);
    assert_int_equal(host32(rec.data + 16), 0x11223344u);
    assert_memory_equal(rec.data + 20, f.b + 24 + 16 + 20, 4);
    agree(&f, 1, false);

    /* the same bytes as Ethernet: nothing to swap */
    file_start(&f, true, MAGIC_USEC, 2, 4, 65535, DLT_EN10MB);
    f.n += 16;
    put(&f, sll_hdr, sizeof(sll_hdr));
    put32(&f, 0x11223344u);
    parse_copy(&f, DLT_EN10MB, b, &rec);
    assert_memory_equal(rec.data, f.b + 24 + 16, 20);
    agree(&f, 1, false);
}


/* Every prefix of a record, ending at a guard page: with more to come
 * the parser asks for the whole record, at the end it reports the cut;
 * it never reads past the bytes it was given. */
static void
test_pcapfile_prefixes_at_guard_page(void **state)
{
    struct file             f;
    struct rd_pcapfile      pf;
    struct rd_pcapfile_rec  rec;
    uint8_t                *p;
    size_t                  len, used, whole;
    char                    err[RD_ERRLEN];

    (void) state;
    file_start(&f, false, MAGIC_USEC, 2, 4, 40, 1);
    file_record(&f, 1, 2, 50, 60, 1);           /* over the snapshot */
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB), 0);
    whole = f.n - 24;
    for (len = 0; len <= whole; len++) {
        (void) guard_place(f.b + 24, len);
        p = guard_base + guard_page - len;      /* the same, writable */
        if (len < whole) {
            assert_int_equal(rd_pcapfile_parse(&pf, p, len, false, &rec,
                                               &used, err), RD_AGAIN);
            assert_int_equal(used, len < 16 ? 16 : whole);
            assert_int_equal(rd_pcapfile_parse(&pf, p, len, true, &rec,
                                               &used, err),
                             len == 0 ? RD_PCAPFILE_END : -RD_EPROTO);
            continue;
        }
        assert_int_equal(rd_pcapfile_parse(&pf, p, len, true, &rec, &used,
                                           err), RD_OK);
        assert_int_equal(used, whole);
        assert_int_equal(rec.caplen, 40);
        assert_int_equal(rec.len, 60);
        assert_ptr_equal(rec.data, p + 16);
    }
}


/* The buffer keeper: fed a byte at a time, a record cut by the end of
 * the buffer is moved to its start; bytes handed out are counted. */
static void
test_pcapfile_reader_moves_cut_record(void **state)
{
    struct file             f;
    struct rd_pcapfile      pf;
    struct rd_pcapfile_rd   rd;
    struct rd_pcapfile_rec  rec;
    uint8_t                *buf, *space;
    size_t                  cap, fed, room;
    char                    err[RD_ERRLEN];
    int                     rc, n;

    (void) state;
    file_start(&f, false, MAGIC_USEC, 2, 4, 65535, 1);
    file_record(&f, 1, 0, 100, 100, 1);
    file_record(&f, 2, 0, 3000, 3000, 2);
    file_record(&f, 3, 0, 1, 1, 3);
    assert_int_equal(rd_pcapfile_header(&pf, f.b, f.n, DLT_EN10MB), 0);
    cap = rd_pcapfile_rd_min(&pf);
    buf = malloc(cap);
    assert_non_null(buf);
    rd_pcapfile_rd_init(&rd, buf, cap);

    fed = 24;
    n = 0;
    for ( ;; ) {
        rc = rd_pcapfile_read(&pf, &rd, &rec, err);
        if (rc == RD_AGAIN) {
            if (fed == f.n) {
                rd_pcapfile_rd_eof(&rd);
                continue;
            }
            rd_pcapfile_rd_space(&rd, &space, &room);
            assert_true(room > 0);
            *space = f.b[fed++];
            rd_pcapfile_rd_commit(&rd, 1);
            continue;
        }
        if (rc != RD_OK) {
            break;
        }
        /* each record starts the buffer: the one before was moved out */
        assert_ptr_equal(rec.data, buf + 16);
        assert_int_equal(rec.data[0], n + 1);
        n++;
    }
    assert_int_equal(rc, RD_PCAPFILE_END);
    assert_int_equal(n, 3);
    assert_int_equal(rd_pcapfile_rd_done(&rd), f.n - 24);
    free(buf);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcapfile_header),
        cmocka_unit_test(test_pcapfile_records),
        cmocka_unit_test(test_pcapfile_swapped_and_nsec),
        cmocka_unit_test(test_pcapfile_old_versions),
        cmocka_unit_test(test_pcapfile_truncated_header),
        cmocka_unit_test(test_pcapfile_truncated_record),
        cmocka_unit_test(test_pcapfile_bogus_caplen),
        cmocka_unit_test(test_pcapfile_over_snapshot),
        cmocka_unit_test(test_pcapfile_swapped_pseudo_headers),
        cmocka_unit_test(test_pcapfile_prefixes_at_guard_page),
        cmocka_unit_test(test_pcapfile_reader_moves_cut_record),
    };

    return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
