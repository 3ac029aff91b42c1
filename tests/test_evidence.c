/*
 * Unit tests of evidence: the per-connection rings over one circular pool
 * (a connection of 10,000 packets keeps at most max_packets of them, the
 * first ones and the latest; the pool never holds more than its bytes;
 * reclaimed packets are counted and never handed out), and the directory
 * (file names, max-files and max-bytes removing the oldest first).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "rstdiag/common.h"
#include "rstdiag/decode.h"
#include "rstdiag/evidence.h"
#include "rstdiag/legs.h"
#include "talloc.h"

/* a packet whose bytes say which it is: its number in the first 4 */
static void
add_nth(struct rd_evstore *s, uint32_t slot, uint32_t nth, uint32_t len)
{
    uint8_t  p[2048];

    assert_true(len >= 4 && len <= sizeof(p));
    memset(p, (int) (nth & 0xff), len);
    memcpy(p, &nth, 4);
    rd_evstore_add(s, slot, 1, (rd_usec_t) nth, p, len, len + 10, 80,
                   RD_TCP_ACK);
}


static uint32_t
nth_of(const struct rd_evpkt *e)
{
    uint32_t  n;

    memcpy(&n, e->data, 4);
    return n;
}


/* 10,000 packets on one connection: 16 kept, the first 4 and the last
 * 12, in order, whatever the pool's size. */
static void
test_evstore_ring_keeps_first_and_latest(void **state)
{
    struct rd_evstore  *s;
    struct rd_evpkt     out[64];
    uint64_t            omitted;
    size_t              n, i;
    uint32_t            k;

    (void) state;
    s = rd_evstore_create(&talloc, 4, 16, 1u << 20);
    assert_non_null(s);
    for (k = 0; k < 10000; k++) {
        add_nth(s, 1, k, 64);
        if (k % 500 == 0) {
            rd_evstore_validate_(s);
        }
    }
    rd_evstore_validate_(s);
    assert_int_equal(rd_evstore_count(s, 1), 10000);
    n = rd_evstore_collect(s, 1, out, RD_NELEMS(out), &omitted);
    assert_int_equal(n, 16);
    assert_int_equal(omitted, 10000 - 16);
    for (i = 0; i < 4; i++) {
        assert_int_equal(nth_of(&out[i]), i);
        assert_int_equal(out[i].ts, (rd_usec_t) i);
        assert_int_equal(out[i].caplen, 64);
        assert_int_equal(out[i].wirelen, 74);
        assert_int_equal(out[i].sport, 80);
        assert_int_equal(out[i].dlt, 1);
    }
    for (i = 4; i < 16; i++) {
        assert_int_equal(nth_of(&out[i]), 10000 - 16 + i);
    }
    /* a shorter out[] is filled, not overrun */
    n = rd_evstore_collect(s, 1, out, 5, &omitted);
    assert_int_equal(n, 5);
    assert_int_equal(omitted, 10000 - 5);
    /* other slots hold nothing */
    assert_int_equal(rd_evstore_collect(s, 0, out, 64, NULL), 0);
    assert_int_equal(rd_evstore_collect(s, 9, out, 64, NULL), 0);
    assert_int_equal(rd_evstore_stats(s)->stored, 10000);
    assert_int_equal(rd_evstore_stats(s)->reclaimed, 0);    /* it fitted */
    rd_evstore_destroy(s);
}


/* A pool of 39 records under one connection of 10,000: only the first
 * packets (4 of them) are lost evidence when overwritten; the packets
 * that had left the ring of the latest already are not counted. */
static void
test_evstore_reclaimed_counts_ring_only(void **state)
{
    struct rd_evstore  *s;
    struct rd_evpkt     out[16];
    uint64_t            omitted;
    uint32_t            k;

    (void) state;
    s = rd_evstore_create(&talloc, 1, 16, 4096);
    assert_non_null(s);
    for (k = 0; k < 10000; k++) {
        add_nth(s, 0, k, 64);
    }
    rd_evstore_validate_(s);
    assert_int_equal(rd_evstore_stats(s)->reclaimed, 4);
    assert_int_equal(rd_evstore_collect(s, 0, out, 16, &omitted), 12);
    assert_int_equal(omitted, 10000 - 12);
    assert_int_equal(nth_of(&out[0]), 10000 - 12);
    rd_evstore_destroy(s);
}


/* A small pool (16 KiB) under three busy connections: it never holds
 * more than its bytes, the oldest packets go first and are counted, a
 * reclaimed packet is never handed out, the newest are intact. */
static void
test_evstore_pool_cap_holds(void **state)
{
    struct rd_evstore  *s;
    struct rd_evpkt     out[64];
    uint64_t            omitted;
    size_t              n, i;
    uint32_t            k, len, slot;

    (void) state;
    s = rd_evstore_create(&talloc, 3, 32, 16384);
    assert_non_null(s);
    for (k = 0; k < 3000; k++) {
        slot = k % 3;
        len = 60 + (k * 37) % 1400;       /* odd sizes: wraps at odd places */
        add_nth(s, slot, k, len);
        rd_evstore_validate_(s);
    }
    assert_true(rd_evstore_stats(s)->reclaimed > 0);
    for (slot = 0; slot < 3; slot++) {
        size_t  bytes = 0;

        n = rd_evstore_collect(s, slot, out, RD_NELEMS(out), &omitted);
        assert_true(n >= 1 && n <= 32);
        assert_int_equal(n + omitted, 1000);
        for (i = 0; i < n; i++) {
            k = nth_of(&out[i]);
            assert_int_equal(k % 3, slot);
            assert_int_equal(out[i].caplen, 60 + (k * 37) % 1400);
            assert_int_equal(out[i].data[out[i].caplen - 1], k & 0xff);
            if (i > 0) {
                assert_true(k > nth_of(&out[i - 1]));
            }
            bytes += out[i].caplen;
        }
        assert_true(bytes <= 16384);
        /* the newest packet of each slot survives */
        assert_int_equal(nth_of(&out[n - 1]), 2997 + slot);
    }
    rd_evstore_destroy(s);
}


/* A reset forgets the slot's packets, even those still in the pool;
 * packets added after it are the new connection's.  Reclaiming those of
 * a finished connection is not counted as a loss. */
static void
test_evstore_reset_forgets(void **state)
{
    struct rd_evstore  *s;
    struct rd_evpkt     out[8];
    uint32_t            k;

    (void) state;
    s = rd_evstore_create(&talloc, 2, 8, 4096);
    assert_non_null(s);
    for (k = 0; k < 5; k++) {
        add_nth(s, 0, k, 100);
    }
    rd_evstore_reset(s, 0);
    assert_int_equal(rd_evstore_collect(s, 0, out, 8, NULL), 0);
    add_nth(s, 0, 77, 100);
    assert_int_equal(rd_evstore_collect(s, 0, out, 8, NULL), 1);
    assert_int_equal(nth_of(&out[0]), 77);
    for (k = 0; k < 200; k++) {
        add_nth(s, 1, k, 100);
    }
    /* slot 0's old packets were reclaimed: only the live 77 counts, and
     * slot 1's own beyond its ring */
    assert_true(rd_evstore_stats(s)->reclaimed >= 1);
    assert_true(rd_evstore_stats(s)->reclaimed <= 1 + 200);
    assert_int_equal(rd_evstore_collect(s, 0, out, 8, NULL), 0);
    rd_evstore_validate_(s);
    rd_evstore_destroy(s);
}


/* A packet larger than the pool is counted, not kept; bad sizes refuse
 * to create a store. */
static void
test_evstore_too_big_and_bad_config(void **state)
{
    struct rd_evstore  *s;
    struct rd_evpkt     out[4];
    uint8_t            *p;

    (void) state;
    assert_null(rd_evstore_create(&talloc, 0, 8, 4096));
    assert_null(rd_evstore_create(&talloc, 1, 0, 4096));
    assert_null(rd_evstore_create(&talloc, 1, 8, 100));
    s = rd_evstore_create(&talloc, 1, 1, 4096);
    assert_non_null(s);
    p = calloc(1, 8192);
    assert_non_null(p);
    rd_evstore_add(s, 0, 1, 1, p, 8192, 8192, 1, 0);
    assert_int_equal(rd_evstore_stats(s)->too_big, 1);
    assert_int_equal(rd_evstore_collect(s, 0, out, 4, NULL), 0);
    rd_evstore_add(s, 5, 1, 1, p, 10, 10, 1, 0);     /* no such slot */
    rd_evstore_add(s, 0, 1, 1, p, 10, 10, 1, 0);
    rd_evstore_add(s, 0, 1, 2, p, 10, 10, 1, 0);     /* max 1: the latest */
    assert_int_equal(rd_evstore_collect(s, 0, out, 4, NULL), 1);
    assert_int_equal(out[0].ts, 2);
    free(p);
    rd_evstore_destroy(s);
}


/* An upstream leg over before its client leg leaves its packets to it:
 * they survive the upstream slot's reset and reuse, and go when the pool
 * overwrites them or the client leg is reset. */
static void
test_evstore_inherit_survives_reset(void **state)
{
    struct rd_evstore  *s;
    struct rd_evpkt     out[8];
    uint64_t            omitted;
    uint32_t            k;

    (void) state;
    s = rd_evstore_create(&talloc, 3, 8, 8192);
    assert_non_null(s);
    add_nth(s, 0, 1, 100);                 /* client leg, slot 0 */
    for (k = 10; k < 20; k++) {
        add_nth(s, 1, k, 100);             /* upstream leg, slot 1 */
    }
    assert_false(rd_evstore_has_inherited(s, 0));
    rd_evstore_inherit(s, 1, 0);
    rd_evstore_reset(s, 1);
    add_nth(s, 1, 99, 100);                /* slot 1 reused */
    assert_true(rd_evstore_has_inherited(s, 0));
    assert_int_equal(rd_evstore_collect_inherited(s, 0, out, 8, &omitted),
                     8);
    assert_int_equal(omitted, 2);          /* 10 sent, 8 in its ring */
    assert_int_equal(nth_of(&out[0]), 10);
    assert_int_equal(nth_of(&out[1]), 11);
    assert_int_equal(nth_of(&out[7]), 19);
    /* the slot's own packets are apart */
    assert_int_equal(rd_evstore_collect(s, 0, out, 8, NULL), 1);
    /* the pool moves on: what was overwritten is not handed out */
    for (k = 0; k < 60; k++) {
        add_nth(s, 2, 200 + k, 100);
    }
    assert_int_equal(rd_evstore_collect_inherited(s, 0, out, 8, &omitted),
                     0);
    assert_int_equal(omitted, 10);
    rd_evstore_reset(s, 0);
    assert_false(rd_evstore_has_inherited(s, 0));
    rd_evstore_validate_(s);
    rd_evstore_destroy(s);
}


static void
fake_conn(struct rd_conn *c, struct rd_verdict *v, int leg, rd_usec_t ts,
    int code)
{
    memset(c, 0, sizeof(*c));
    memset(v, 0, sizeof(*v));
    c->id = 7;
    c->af = 4;
    c->ep[0].addr[0] = 10;
    c->ep[0].addr[3] = 1;
    c->ep[0].port = 40000;
    c->ep[1].addr[0] = 10;
    c->ep[1].addr[3] = 2;
    c->ep[1].port = 8080;
    c->leg = (uint8_t) leg;
    c->close_ts = ts;
    v->code = code;
    v->severity = RD_SEV_ERROR;
    v->level = "error";
    v->message = "recv() failed (104: Connection reset by peer)\n\x01";
}


static uint32_t
count_files(const char *dir)
{
    DIR            *d;
    struct dirent  *e;
    uint32_t        n;

    d = opendir(dir);
    assert_non_null(d);
    n = 0;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}


/* Names: deterministic, sortable by time, safe characters only, the
 * upstream's address for an upstream leg and the client's otherwise. */
static void
test_evdir_names(void **state)
{
    struct rd_conn     c;
    struct rd_verdict  v;
    char               name[RD_EVIDENCE_NAME_MAX];
    size_t             i;

    (void) state;
    fake_conn(&c, &v, RD_LEG_UPSTREAM, 1795640488218498LL,
              RD_V_UPSTREAM_RESET_BEFORE_RESPONSE);
    rd_evdir_name(&c, &v, c.close_ts, name);
    assert_string_equal(name, "rstdiag-20261125T210128.218498-"
                        "upstream_reset_before_response-10.0.0.2_8080.pcapng");
    c.leg = RD_LEG_CLIENT;
    rd_evdir_name(&c, &v, 5, name);
    assert_string_equal(name, "rstdiag-19700101T000000.000005-"
                        "upstream_reset_before_response-10.0.0.1_40000.pcapng");
    c.af = 6;
    memset(c.ep[0].addr, 0, 16);
    c.ep[0].addr[0] = 0x20;
    c.ep[0].addr[1] = 0x01;
    c.ep[0].addr[15] = 1;
    rd_evdir_name(&c, &v, 5, name);
    for (i = 0; name[i] != '\0'; i++) {
        assert_non_null(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                               "TUVWXYZ0123456789._-", name[i]));
    }
    assert_non_null(strstr(name, "-2001..1_40000.pcapng"));
}


/* max-files 3: five incidents leave the newest three; max-bytes then
 * removes the oldest of those; files that were there before stay. */
static void
test_evdir_bounds_remove_oldest(void **state)
{
    struct rd_evdir              *d;
    const struct rd_evdir_stats  *st;
    struct rd_conn                c;
    struct rd_verdict             v;
    struct rd_evpkt               pk[2];
    uint8_t                       data[100];
    char                          dir[] = "/tmp/evdirXXXXXX", path[512];
    char                          err[RD_ERRLEN], first[512], last[512];
    const char                   *out;
    struct stat                   sb;
    int                           k;
    FILE                         *f;

    (void) state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/mine.txt", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    d = rd_evdir_open(dir, 3, 1u << 20, 262144, err);
    assert_non_null(d);
    memset(data, 0x11, sizeof(data));
    memset(pk, 0, sizeof(pk));
    pk[0].data = data;
    pk[0].caplen = 100;
    pk[0].wirelen = 100;
    pk[0].dlt = 1;
    pk[1] = pk[0];
    pk[1].mark = true;
    first[0] = '\0';
    for (k = 0; k < 5; k++) {
        fake_conn(&c, &v, RD_LEG_UPSTREAM, 1795640488000000LL + k,
                  RD_V_UPSTREAM_RESET_BEFORE_RESPONSE);
        pk[0].ts = c.close_ts - 1;
        pk[1].ts = c.close_ts;
        out = rd_evdir_write(d, &c, NULL, &v, pk, 2, 0);
        assert_non_null(out);
        assert_int_equal(stat(out, &sb), 0);
        if (k == 0) {
            snprintf(first, sizeof(first), "%s", out);
        }
        snprintf(last, sizeof(last), "%s", out);   /* out dies with d */
    }
    st = rd_evdir_stats(d);
    assert_int_equal(st->files, 5);
    assert_int_equal(st->removed, 2);
    assert_int_equal(st->kept, 3);
    assert_int_equal(count_files(dir), 4);          /* 3 + mine.txt */
    assert_int_not_equal(stat(first, &sb), 0);      /* the oldest went */
    assert_int_equal(stat(path, &sb), 0);
    rd_evdir_close(d);

    /* max-bytes: room for two files of this size */
    assert_int_equal(stat(last, &sb), 0);
    d = rd_evdir_open(dir, 100, 2 * (uint64_t) sb.st_size + 10, 262144, err);
    assert_non_null(d);
    for (k = 0; k < 4; k++) {
        fake_conn(&c, &v, RD_LEG_CLIENT, 1795640499000000LL + k,
                  RD_V_BAD_GATEWAY);
        assert_non_null(rd_evdir_write(d, &c, NULL, &v, pk, 2, 0));
        assert_true(rd_evdir_stats(d)->bytes <= 2 * (uint64_t) sb.st_size
                    + 10);
    }
    assert_int_equal(rd_evdir_stats(d)->kept, 2);
    assert_int_equal(rd_evdir_stats(d)->removed, 2);
    rd_evdir_close(d);

    /* the same incident twice: a second name, not an overwrite */
    d = rd_evdir_open(dir, 100, 1u << 20, 262144, err);
    assert_non_null(d);
    out = rd_evdir_write(d, &c, NULL, &v, pk, 2, 0);
    assert_non_null(out);
    assert_non_null(strstr(out, "-2.pcapng"));
    rd_evdir_close(d);

    assert_null(rd_evdir_open("/nonexistent/x", 3, 1, 0, err));
    assert_non_null(strstr(err, "--evidence /nonexistent/x: No such file"));
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_evstore_ring_keeps_first_and_latest),
        cmocka_unit_test(test_evstore_reclaimed_counts_ring_only),
        cmocka_unit_test(test_evstore_pool_cap_holds),
        cmocka_unit_test(test_evstore_reset_forgets),
        cmocka_unit_test(test_evstore_too_big_and_bad_config),
        cmocka_unit_test(test_evstore_inherit_survives_reset),
        cmocka_unit_test(test_evdir_names),
        cmocka_unit_test(test_evdir_bounds_remove_oldest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
