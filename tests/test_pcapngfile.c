/*
 * Unit tests of pcapngfile: hand-made pcapng files in both byte orders,
 * with timestamp resolutions of 10^-n and 2^-n seconds and offsets,
 * every packet block type, blocks skipped, more interfaces and sections,
 * cut and damaged blocks.  Each case checks the values expected, then
 * that libpcap reads the same file the same way (tests/pcapngfile_diff.h)
 * with the bytes handed over in many chunkings; one file is also cut at
 * every byte and parsed against a guard page (tests/guard.h).
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
#include "pcapngfile_diff.h"
#include "rstdiag/common.h"
#include "rstdiag/pcapfile.h"
#include "rstdiag/pcapngfile.h"

#define SEEDS         40u               /* chunkings tried per file */
#define SEEDS_CUT     3u                /* per prefix of a cut file */

#define T_SHB         0x0a0d0d0au
#define T_IDB         1u
#define T_PB          2u
#define T_SPB         3u
#define T_NRB         4u
#define T_ISB         5u
#define T_EPB         6u
#define T_CUSTOM      0x00000badu

/* A file being written, in this host's byte order or the other one. */
struct file {
    uint8_t     b[8192];
    size_t      n;
    size_t      blk;                    /* start of the open block */
    bool        other;                  /* the other byte order */
};


static uint32_t
sw32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u)
           | (v << 24);
}


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
        v = sw32(v);
    }
    memcpy(f->b + f->n, &v, 4);
    f->n += 4;
}


static void
put64(struct file *f, uint64_t v)
{
    if (f->other) {
        v = ((uint64_t) sw32((uint32_t) v) << 32)
            | sw32((uint32_t) (v >> 32));
    }
    memcpy(f->b + f->n, &v, 8);
    f->n += 8;
}


/* n bytes counting up from seed, then padding to 4 */
static void
bytes(struct file *f, size_t n, uint8_t seed)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        f->b[f->n++] = (uint8_t) (seed + i);
    }
    while (f->n % 4 != 0) {
        f->b[f->n++] = 0;
    }
}


static void
begin(struct file *f, uint32_t type)
{
    f->blk = f->n;
    put32(f, type);
    put32(f, 0);                        /* length, set by end() */
}


static void
end(struct file *f)
{
    uint32_t  len;
    size_t    at;

    len = (uint32_t) (f->n - f->blk + 4);
    put32(f, len);
    at = f->n;
    f->n = f->blk + 4;
    put32(f, len);
    f->n = at;
}


static void
option(struct file *f, uint16_t code, const void *v, uint16_t len)
{
    put16(f, code);
    put16(f, len);
    if (len > 0) {
        memcpy(f->b + f->n, v, len);
        f->n += len;
    }
    bytes(f, 0, 0);
}


static void
shb(struct file *f, uint16_t minor)
{
    begin(f, T_SHB);
    put32(f, 0x1a2b3c4du);
    put16(f, 1);
    put16(f, minor);
    put64(f, UINT64_MAX);               /* section length unknown */
    end(f);
}


static void
file_start(struct file *f, bool other)
{
    memset(f, 0, sizeof(*f));
    f->other = other;
    shb(f, 0);
}


/* An IDB; tsresol 0xff: none, tsoffset 0: none. */
static void
idb(struct file *f, uint16_t linktype, uint32_t snaplen, uint8_t tsresol,
    uint64_t tsoffset)
{
    begin(f, T_IDB);
    put16(f, linktype);
    put16(f, 0);
    put32(f, snaplen);
    if (tsresol != 0xff) {
        option(f, 9, &tsresol, 1);
    }
    if (tsoffset != 0) {
        put16(f, 14);
        put16(f, 8);
        put64(f, tsoffset);
    }
    option(f, 0, NULL, 0);
    end(f);
}


static void
epb(struct file *f, uint32_t ifid, uint64_t ts, uint32_t caplen,
    uint32_t len, uint8_t seed)
{
    begin(f, T_EPB);
    put32(f, ifid);
    put32(f, (uint32_t) (ts >> 32));
    put32(f, (uint32_t) ts);
    put32(f, caplen);
    put32(f, len);
    bytes(f, caplen, seed);
    end(f);
}


static void
spb(struct file *f, uint32_t len, uint32_t stored, uint8_t seed)
{
    begin(f, T_SPB);
    put32(f, len);
    bytes(f, stored, seed);
    end(f);
}


static void
other_block(struct file *f, uint32_t type, size_t n)
{
    begin(f, type);
    bytes(f, n, 0x55);
    end(f);
}


/* libpcap and pcapngfile agree on f under many chunkings. */
static void
agree(const struct file *f, uint64_t packets, bool error)
{
    struct reader_diff_res  res;
    char                    why[READER_DIFF_WHY];
    uint32_t                seed;

    for (seed = 0; seed < SEEDS; seed++) {
        if (pcapng_diff(f->b, f->n, seed, &res, why) != 0) {
            fail_msg("seed %u: %s", seed, why);
        }
        assert_true(res.ours);
        assert_int_equal(res.packets, packets);
        assert_int_equal(res.error, error);
    }
}


/* Parse the whole file f in one buffer. */
struct parsed {
    struct rd_pcapng        ng;
    struct rd_pcapfile_rec  rec[8];
    size_t                  nrec;
    int                     rc;         /* how it ended */
    char                    err[RD_ERRLEN];
};


static void
parse_all(struct file *f, int dlt, struct parsed *r)
{
    size_t  off, used;
    int     rc;

    memset(r, 0, sizeof(*r));
    assert_int_equal(rd_pcapng_header(&r->ng, f->b, f->n, dlt, &off), 0);
    for ( ;; ) {
        rc = rd_pcapng_parse(&r->ng, f->b + off, f->n - off, true,
                             &r->rec[r->nrec], &used, r->err);
        if (rc == RD_PCAPNG_SKIP) {
            off += used;
            continue;
        }
        if (rc != RD_OK) {
            r->rc = rc;
            rd_pcapng_free(&r->ng);
            return;
        }
        assert_true(used <= f->n - off);
        off += used;
        r->nrec++;
        assert_true(r->nrec < RD_NELEMS(r->rec));
    }
}


static void
test_pcapng_header(void **state)
{
    struct file       f;
    struct rd_pcapng  ng;
    size_t            used, idb_end;
    int               other;

    (void) state;
    for (other = 0; other < 2; other++) {
        file_start(&f, other);
        other_block(&f, T_CUSTOM, 5);   /* skipped before the IDB too */
        idb(&f, 1, 0, 0xff, 0);
        idb_end = f.n;
        epb(&f, 0, 1, 4, 4, 0);
        assert_int_equal(rd_pcapng_header(&ng, f.b, f.n, DLT_EN10MB, &used),
                         0);
        assert_int_equal(used, idb_end);
        assert_int_equal(ng.swapped, other);
        assert_int_equal(ng.major, 1);
        assert_int_equal(ng.snapshot, 262144);  /* 0: the maximum */
        assert_int_equal(ng.nifs, 1);
        assert_int_equal(rd_pcapng_rd_min(&ng), 16u * 1024 * 1024);
        rd_pcapng_free(&ng);
        agree(&f, 1, false);
    }

    /* left to libpcap: PFLOG, a packet before the IDB, no IDB */
    file_start(&f, false);
    idb(&f, 117, 100, 0xff, 0);
    assert_int_equal(rd_pcapng_header(&ng, f.b, f.n, DLT_PFLOG, &used),
                     -RD_EPROTO);
    rd_pcapng_free(&ng);
    file_start(&f, false);
    epb(&f, 0, 1, 4, 4, 0);
    idb(&f, 1, 100, 0xff, 0);
    assert_int_equal(rd_pcapng_header(&ng, f.b, f.n, DLT_EN10MB, &used),
                     -RD_EPROTO);
    rd_pcapng_free(&ng);
    file_start(&f, false);
    assert_int_equal(rd_pcapng_header(&ng, f.b, f.n, DLT_EN10MB, &used),
                     -RD_EPROTO);
    rd_pcapng_free(&ng);
}


static void
test_pcapng_timestamps(void **state)
{
    struct file    f;
    struct parsed  r;
    int            other;

    (void) state;
    for (other = 0; other < 2; other++) {
        file_start(&f, other);
        idb(&f, 1, 65535, 0xff, 0);             /* microseconds */
        idb(&f, 1, 65535, 9, 0);                /* nanoseconds */
        idb(&f, 1, 65535, 0x80 | 20, 0);        /* 2^-20 s */
        idb(&f, 1, 65535, 3, 1000);             /* ms, 1000 s later */
        idb(&f, 1, 65535, 0x80 | 50, 0);        /* 2^-50: wraps */
        epb(&f, 0, 1700000000123456ull, 10, 60, 1);
        epb(&f, 1, 1700000000987654321ull, 10, 60, 2);
        epb(&f, 2, (5ull << 20) | (1u << 19), 10, 60, 3);
        epb(&f, 3, 1234567ull, 10, 60, 4);
        epb(&f, 4, (3ull << 50) | ((1ull << 50) - 1), 10, 60, 5);
        parse_all(&f, DLT_EN10MB, &r);
        assert_int_equal(r.rc, RD_PCAPFILE_END);
        assert_int_equal(r.nrec, 5);
        assert_int_equal(r.rec[0].sec, 1700000000);
        assert_int_equal(r.rec[0].usec, 123456);
        assert_int_equal(r.rec[1].sec, 1700000000);
        assert_int_equal(r.rec[1].usec, 987654);  /* truncated */
        assert_int_equal(r.rec[2].sec, 5);
        assert_int_equal(r.rec[2].usec, 500000);
        assert_int_equal(r.rec[3].sec, 1234 + 1000);
        assert_int_equal(r.rec[3].usec, 567000);
        assert_int_equal(r.rec[4].sec, 3);
        assert_int_equal(r.rec[0].caplen, 10);
        assert_int_equal(r.rec[0].len, 60);
        assert_int_equal(r.rec[4].data[0], 5);
        agree(&f, 5, false);
    }

    /* resolutions libpcap refuses once the file is open */
    file_start(&f, false);
    idb(&f, 1, 65535, 0xff, 0);
    epb(&f, 0, 1, 4, 4, 0);
    idb(&f, 1, 65535, 20, 0);
    epb(&f, 1, 1, 4, 4, 0);
    parse_all(&f, DLT_EN10MB, &r);
    assert_int_equal(r.rc, -RD_EPROTO);
    assert_string_equal(r.err, "Interface Description Block if_tsresol "
                        "option resolution 10^-20 is too high");
    agree(&f, 1, true);
}


static void
test_pcapng_spb_pb_skipped(void **state)
{
    struct file    f;
    struct parsed  r;
    int            other;

    (void) state;
    for (other = 0; other < 2; other++) {
        file_start(&f, other);
        idb(&f, 1, 30, 0xff, 86400);
        other_block(&f, T_NRB, 12);
        spb(&f, 60, 30, 7);             /* cut to the snapshot */
        other_block(&f, T_ISB, 20);
        spb(&f, 20, 20, 8);
        other_block(&f, T_CUSTOM, 0);
        begin(&f, T_PB);                /* obsolete Packet Block */
        put16(&f, 0);
        put16(&f, 0);
        put32(&f, 0);
        put32(&f, 2500000);
        put32(&f, 10);
        put32(&f, 40);
        bytes(&f, 10, 9);
        end(&f);
        parse_all(&f, DLT_EN10MB, &r);
        assert_int_equal(r.rc, RD_PCAPFILE_END);
        assert_int_equal(r.nrec, 3);
        assert_int_equal(r.rec[0].caplen, 30);
        assert_int_equal(r.rec[0].len, 60);
        assert_int_equal(r.rec[0].sec, 86400);  /* SPB: the offset only */
        assert_int_equal(r.rec[0].usec, 0);
        assert_int_equal(r.rec[1].caplen, 20);
        assert_int_equal(r.rec[1].data[0], 8);
        assert_int_equal(r.rec[2].sec, 86400 + 2);
        assert_int_equal(r.rec[2].usec, 500000);
        agree(&f, 3, false);
    }
}


/* f ends in an error with message msg after packets packets. */
static void
fails(struct file *f, uint64_t packets, const char *msg)
{
    struct parsed  r;

    parse_all(f, DLT_EN10MB, &r);
    assert_int_equal(r.rc, -RD_EPROTO);
    assert_int_equal(r.nrec, packets);
    assert_string_equal(r.err, msg);
    agree(f, packets, true);
}


static void
test_pcapng_damaged(void **state)
{
    struct file  f, g;

    (void) state;
    file_start(&f, false);
    idb(&f, 1, 100, 0xff, 0);
    epb(&f, 0, 1, 40, 40, 0);
    g = f;

    /* cut in the block header, then in the block */
    f.n = g.n - 72 + 5;                 /* the EPB is 72 bytes */
    fails(&f, 0, "truncated pcapng dump file; tried to read 8 bytes, only "
          "got 5");
    f.n = g.n - 3;
    fails(&f, 0, "truncated pcapng dump file; tried to read 64 bytes, only "
          "got 61");

    /* trailer, lengths */
    f = g;
    f.b[f.n - 4] ^= 4;
    fails(&f, 0, "block total length in header and trailer don't match");
    f = g;
    other_block(&f, T_CUSTOM, 0);
    f.b[f.n - 12 + 4] = 8;
    fails(&f, 1, "block in pcapng dump file has a length of 8 < 12");
    f.b[f.n - 12 + 4] = 14;
    fails(&f, 1, "block in pcapng dump file has a length of 14 that is not "
          "a multiple of 4");
    f.b[f.n - 12 + 7] = 0x10;
    f.b[f.n - 12 + 4] = 4;
    fails(&f, 1, "pcapng block size 268435460 > maximum 16777216");

    /* packets libpcap refuses */
    f = g;
    epb(&f, 1, 1, 4, 4, 0);
    fails(&f, 1, "a packet arrived on interface 1, but there's no Interface "
          "Description Block for that interface");
    f = g;
    epb(&f, 0, 1, 101, 101, 0);
    fails(&f, 1, "invalid packet capture length 101, bigger than snaplen of "
          "100");
    f = g;
    epb(&f, 0, 1, 4, 4, 0);
    f.b[f.n - 16] = 9;                  /* caplen past the block */
    fails(&f, 1, "block of type 6 in pcapng dump file is too short");
    f = g;
    other_block(&f, T_EPB, 16);
    fails(&f, 1, "block of type 6 in pcapng dump file is too short");
}


static void
test_pcapng_interfaces_sections(void **state)
{
    struct file  f, g;

    (void) state;
    file_start(&f, true);
    idb(&f, 1, 100, 0xff, 0);
    epb(&f, 0, 1, 4, 4, 0);
    idb(&f, 1, 100, 9, 0);
    epb(&f, 1, 1000, 4, 4, 0);
    g = f;
    agree(&f, 2, false);

    idb(&f, 113, 100, 0xff, 0);
    fails(&f, 2, "an interface has a type 113 different from the type of "
          "the first interface");
    f = g;
    idb(&f, 1, 200, 0xff, 0);
    fails(&f, 2, "an interface has a snapshot length 200 different from the "
          "snapshot length of the first interface");

    /* a new section forgets the interfaces */
    f = g;
    shb(&f, 2);
    idb(&f, 1, 100, 0xff, 0);
    epb(&f, 0, 1, 4, 4, 0);
    epb(&f, 1, 1, 4, 4, 0);
    fails(&f, 3, "a packet arrived on interface 1, but there's no Interface "
          "Description Block for that interface");

    /* a section in the other byte order */
    f = g;
    begin(&f, T_SHB);
    put32(&f, sw32(0x1a2b3c4du));
    put16(&f, 1);
    put16(&f, 0);
    put64(&f, 0);
    end(&f);
    fails(&f, 2, "the file has sections with different byte orders");
    f = g;
    shb(&f, 0);
    f.b[f.n - 20] ^= 1;
    fails(&f, 2, "the file has a section with a bad byte order magic field");
    f = g;
    begin(&f, T_SHB);
    put32(&f, 0x1a2b3c4du);
    put16(&f, 2);
    put16(&f, 0);
    put64(&f, 0);
    end(&f);
    fails(&f, 2, "unknown pcapng savefile major version number 2");
}


/* A small file cut at every byte: libpcap's open or packets agree, and
 * each block prefix parses against a guard page. */
static void
test_pcapng_cut_everywhere(void **state)
{
    struct reader_diff_res  res;
    struct rd_pcapng        ng;
    struct rd_pcapfile_rec  rec;
    struct file             f;
    char                    why[READER_DIFF_WHY], err[RD_ERRLEN];
    size_t                  k, start, used, len;
    uint32_t                seed;
    uint8_t                *p;
    int                     rc;

    (void) state;
    file_start(&f, true);
    idb(&f, 1, 50, 9, 10);
    epb(&f, 0, 1700000000123456789ull, 50, 60, 1);
    other_block(&f, T_NRB, 7);
    spb(&f, 70, 50, 2);
    idb(&f, 1, 50, 0x80 | 10, 0);
    epb(&f, 1, 5000, 3, 3, 3);
    for (k = 0; k <= f.n; k++) {
        for (seed = 0; seed < SEEDS_CUT; seed++) {
            if (pcapng_diff(f.b, k, seed, &res, why) != 0) {
                fail_msg("cut at %zu, seed %u: %s", k, seed, why);
            }
        }
    }

    assert_int_equal(rd_pcapng_header(&ng, f.b, f.n, DLT_EN10MB, &start), 0);
    while (start < f.n) {
        len = f.n - start;
        for (k = 0; k <= len && k <= guard_page; k++) {
            /* the guard area is ours to write: swapped pseudo-headers */
            p = (uint8_t *) (uintptr_t) guard_place(f.b + start, k);
            rc = rd_pcapng_parse(&ng, p, k, false, &rec, &used, err);
            if (rc == RD_AGAIN) {
                assert_true(used > k);
                rc = rd_pcapng_parse(&ng, p, k, true, &rec, &used, err);
                assert_int_equal(rc, k == 0 ? RD_PCAPFILE_END : -RD_EPROTO);
                continue;
            }
            assert_true(rc == RD_OK || rc == RD_PCAPNG_SKIP);
            break;
        }
        start += used;
    }
    rd_pcapng_free(&ng);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcapng_header),
        cmocka_unit_test(test_pcapng_timestamps),
        cmocka_unit_test(test_pcapng_spb_pb_skipped),
        cmocka_unit_test(test_pcapng_damaged),
        cmocka_unit_test(test_pcapng_interfaces_sections),
        cmocka_unit_test(test_pcapng_cut_everywhere),
    };

    return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
