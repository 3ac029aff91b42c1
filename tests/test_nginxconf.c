/*
 * Unit tests of the nginx configuration reader (src/nginxconf.c).  Every
 * text is parsed whole and byte by byte (and cut at every offset for the
 * short ones): the tree and the error must not depend on how the input
 * was split.  Memory comes from cmocka's allocator, so leaks fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "rstdiag/limits.h"
#include "rstdiag/nginxconf.h"
#include "talloc.h"

#define V_1_22_1  12201u
#define V_1_30_4  13004u

/* The tree as text: "file:line name args {" per directive, "}" after
 * blocks, or "ERR <error>". */
static void
dump(struct rd_nginxconf *c, int rc, char *out, size_t cap)
{
    struct rd_nginxconf_directive  d;
    size_t                         n;
    uint32_t                       i, k;

    n = 0;
    out[0] = '\0';
    if (rc != 0) {
        snprintf(out, cap, "ERR %s", rd_nginxconf_error(c));
        return;
    }
    for (i = 0; rd_nginxconf_directive(c, i, &d); i++) {
        n += (size_t) snprintf(out + n, cap - n, "%s:%u p%d", d.file, d.line,
                               d.parent);
        for (k = 0; k < d.argc; k++) {
            n += (size_t) snprintf(out + n, cap - n, " [%s]", d.argv[k]);
        }
        n += (size_t) snprintf(out + n, cap - n, "%s\n", d.block ? " {" : "");
        assert_true(n < cap);
    }
}


/* Parse text in pieces of step bytes (0: whole); the conf or NULL with
 * the error dumped into out. */
static struct rd_nginxconf *
parse_step(const char *text, size_t step, char *out, size_t cap)
{
    struct rd_nginxconf  *c;
    size_t                len, off, n;
    int                   rc;

    c = rd_nginxconf_create(&talloc, "test.conf");
    assert_non_null(c);
    len = strlen(text);
    rc = 0;
    for (off = 0; off < len && rc == 0; off += n) {
        n = step == 0 ? len : RD_MIN(step, len - off);
        rc = rd_nginxconf_feed(c, text + off, n);
    }
    if (rc == 0) {
        rc = rd_nginxconf_finish(c);
    }
    dump(c, rc, out, cap);
    return c;
}


static char  whole[65536], split[65536];


/* Parsed whole and per byte with the same outcome; returns the conf
 * (whole) for further checks, the text in whole[]. */
static struct rd_nginxconf *
parse(const char *text)
{
    struct rd_nginxconf  *c;

    c = parse_step(text, 1, split, sizeof(split));
    rd_nginxconf_destroy(c);
    c = parse_step(text, 0, whole, sizeof(whole));
    assert_string_equal(whole, split);
    return c;
}


/* The error text of a malformed input, the same at every split. */
static void
expect_error(const char *text, const char *err)
{
    struct rd_nginxconf  *c;

    c = parse(text);
    assert_non_null(rd_nginxconf_error(c));
    assert_string_equal(rd_nginxconf_error(c), err);
    rd_nginxconf_destroy(c);
}


static void
test_nginxconf_blocks_tree(void **state)
{
    struct rd_nginxconf  *c;

    (void) state;
    c = parse("events {\n  worker_connections 768;\n}\nhttp {\n"
              "  server { listen 80; }\n}\n");
    assert_string_equal(whole,
        "test.conf:1 p-1 [events] {\n"
        "test.conf:2 p0 [worker_connections] [768]\n"
        "test.conf:4 p-1 [http] {\n"
        "test.conf:5 p2 [server] {\n"
        "test.conf:5 p3 [listen] [80]\n");
    assert_int_equal(rd_nginxconf_ndirectives(c), 5);
    rd_nginxconf_destroy(c);
}


/* Quotes, escapes as ngx_conf_read_token copies them, ')' after a
 * quote, words that contain quote characters. */
static void
test_nginxconf_quotes_escapes(void **state)
{
    struct rd_nginxconf  *c;

    (void) state;
    c = parse("a \"x y\" 'z;{}' \"q\\\"q\" b\\;c \"t\\tn\" \"\\d\" "
              "'it\\'s' \"\";\n"
              "if ($a = \"b\") { x\"y; }\n"
              "m \"multi\nline\" next;\n");
    assert_string_equal(whole,
        "test.conf:1 p-1 [a] [x y] [z;{}] [q\"q] [b\\;c] [t\tn] [\\d] "
        "[it's] []\n"
        "test.conf:2 p-1 [if] [($a] [=] [b] [)] {\n"
        "test.conf:2 p1 [x\"y]\n"
        "test.conf:3 p-1 [m] [multi\nline] [next]\n");
    rd_nginxconf_destroy(c);
}


/* '#' starts a comment only at the start of a word. */
static void
test_nginxconf_comments(void **state)
{
    struct rd_nginxconf  *c;

    (void) state;
    c = parse("# whole line ; { }\nlisten 80; # after\n"
              "a#b c;#x\n  # indented\nd;");
    assert_string_equal(whole,
        "test.conf:2 p-1 [listen] [80]\n"
        "test.conf:3 p-1 [a#b] [c]\n"
        "test.conf:5 p-1 [d]\n");
    rd_nginxconf_destroy(c);
}


/* $var and ${var} are text; '{' right after '$' does not open a block. */
static void
test_nginxconf_variables_kept(void **state)
{
    struct rd_nginxconf  *c;

    (void) state;
    c = parse("set $x \"${a}b\";\nreturn 200 ${var}x;\nlocation /${y} {}\n");
    assert_string_equal(whole,
        "test.conf:1 p-1 [set] [$x] [${a}b]\n"
        "test.conf:2 p-1 [return] [200] [${var}x]\n"
        "test.conf:3 p-1 [location] [/${y}] {\n");
    rd_nginxconf_destroy(c);
}


/* nginx -T: "nginx: " lines skipped before the first marker; a marker
 * switches the file and the next line is its line 1. */
static void
test_nginxconf_dump_markers(void **state)
{
    struct rd_nginxconf  *c;

    (void) state;
    c = parse("nginx: the configuration file /etc/nginx/nginx.conf syntax "
              "is ok\nnginx: configuration file /etc/nginx/nginx.conf test "
              "is successful\n# configuration file /etc/nginx/nginx.conf:\n"
              "user www-data;\n\nhttp {\n  include conf.d/*.conf;\n}\n"
              "\n# configuration file /etc/nginx/conf.d/a.conf:\r\n"
              "server { listen 8080; }\n");
    assert_string_equal(whole,
        "/etc/nginx/nginx.conf:1 p-1 [user] [www-data]\n"
        "/etc/nginx/nginx.conf:3 p-1 [http] {\n"
        "/etc/nginx/nginx.conf:4 p1 [include] [conf.d/*.conf]\n"
        "/etc/nginx/conf.d/a.conf:1 p-1 [server] {\n"
        "/etc/nginx/conf.d/a.conf:1 p3 [listen] [8080]\n");
    rd_nginxconf_destroy(c);
    /* a line that only starts like nginx's is configuration */
    c = parse("nginxx on;\nngin y;\n");
    assert_string_equal(whole, "test.conf:1 p-1 [nginxx] [on]\n"
                               "test.conf:2 p-1 [ngin] [y]\n");
    rd_nginxconf_destroy(c);
}


static const char  dump_conf[] =
    "# configuration file /etc/nginx/nginx.conf:\n"
    "error_log /var/log/nginx/error.log warn;\n"              /* 1 */
    "http {\n"                                                /* 2 */
    "  proxy_read_timeout 30s;\n"                             /* 3 */
    "  proxy_set_header Connection \"\";\n"                   /* 4 */
    "  client_max_body_size 10m;\n"                           /* 5 */
    "  include /etc/nginx/conf.d/*.conf;\n"                   /* 6 */
    "  upstream app {\n"                                      /* 7 */
    "    server 10.0.0.1:8080 weight=2;\n"                    /* 8 */
    "    server 10.0.0.2;\n"                                  /* 9 */
    "    server backend.example:8080;\n"                      /* 10 */
    "    server unix:/run/app.sock;\n"                        /* 11 */
    "    server [2001:db8::1]:81 backup;\n"                   /* 12 */
    "    keepalive 16;\n"                                     /* 13 */
    "    keepalive_timeout 75s;\n"                            /* 14 */
    "  }\n"
    "  upstream php { server 127.0.0.1:9000; }\n"             /* 16 */
    "}\n"
    "# configuration file /etc/nginx/conf.d/site.conf:\n"
    "server {\n"                                              /* 1 */
    "  listen 80;\n"                                          /* 2 */
    "  listen [::]:443 ssl;\n"                                /* 3 */
    "  listen 192.0.2.1:8080;\n"                              /* 4 */
    "  listen unix:/run/n.sock;\n"                            /* 5 */
    "  proxy_connect_timeout 5s;\n"                           /* 6 */
    "  proxy_bind 192.0.2.9;\n"                               /* 7 */
    "  location /api/ {\n"                                    /* 8 */
    "    proxy_pass http://app/;\n"                           /* 9 */
    "    proxy_read_timeout 1m30s;\n"                         /* 10 */
    "    proxy_set_header Host $host;\n"                      /* 11 */
    "    proxy_http_version 1.1;\n"                           /* 12 */
    "    proxy_buffer_size 16k;\n"                            /* 13 */
    "    proxy_buffering off;\n"                              /* 14 */
    "    proxy_max_temp_file_size 0;\n"                       /* 15 */
    "    proxy_next_upstream error timeout http_502;\n"       /* 16 */
    "    proxy_ignore_client_abort on;\n"                     /* 17 */
    "    proxy_send_timeout 500ms;\n"                         /* 18 */
    "    client_max_body_size 0;\n"                           /* 19 */
    "    error_log /tmp/e.log info;\n"                        /* 20 */
    "  }\n"
    "  location / {\n"                                        /* 22 */
    "    proxy_pass http://127.0.0.1:3000;\n"                 /* 23 */
    "    location /deep { proxy_pass https://[::1]; }\n"      /* 24 */
    "  }\n"
    "  location ~ \\.php$ {\n"                                /* 26 */
    "    fastcgi_pass php;\n"                                 /* 27 */
    "    fastcgi_read_timeout 300;\n"                         /* 28 */
    "    fastcgi_connect_timeout 2s;\n"                       /* 29 */
    "    fastcgi_send_timeout 1h;\n"                          /* 30 */
    "    fastcgi_buffer_size 32k;\n"                          /* 31 */
    "    fastcgi_bind 192.0.2.10;\n"                          /* 32 */
    "  }\n"
    "  location /f { fastcgi_pass 127.0.0.1:9001; }\n"        /* 34 */
    "  location /h { proxy_pass http://other.example; }\n"    /* 35 */
    "}\n"
    "server { server_name b; }\n";                            /* 37 */


static void
check_value(const struct rd_nginxconf_values *v, int key, const char *text,
    int64_t num, const char *file, uint32_t line)
{
    const struct rd_nginxconf_value  *x = &v->v[key];

    assert_string_equal(x->text, text);
    assert_int_equal(x->num, num);
    if (file == NULL) {
        assert_null(x->file);
    } else {
        assert_non_null(x->file);
        assert_string_equal(x->file, file);
        assert_int_equal(x->line, line);
    }
}


#define MAIN  "/etc/nginx/nginx.conf"
#define SITE  "/etc/nginx/conf.d/site.conf"


/* Every listed value: set in the location, inherited from server and
 * http, or nginx's default; proxy_set_header at a level drops the
 * inherited Connection. */
static void
test_nginxconf_inheritance(void **state)
{
    struct rd_nginxconf         *c;
    struct rd_nginxconf_values   v;

    (void) state;
    c = parse(dump_conf);
    assert_null(rd_nginxconf_error(c));

    assert_int_equal(rd_nginxconf_location_for(c, V_1_22_1, "app", 0, NULL,
                                               0, 0, &v), 1);
    assert_string_equal(v.location, "/api/");
    assert_string_equal(v.file, SITE);
    assert_int_equal(v.line, 8);
    assert_string_equal(v.pass, "http://app/");
    assert_int_equal(v.pass_line, 9);
    assert_string_equal(v.upstream, "app");
    assert_false(v.fastcgi);
    check_value(&v, RD_NGINXCONF_PROXY_CONNECT_TIMEOUT, "5s", 5000, SITE, 6);
    check_value(&v, RD_NGINXCONF_PROXY_READ_TIMEOUT, "1m30s", 90000, SITE,
                10);
    check_value(&v, RD_NGINXCONF_PROXY_SEND_TIMEOUT, "500ms", 500, SITE, 18);
    check_value(&v, RD_NGINXCONF_PROXY_HTTP_VERSION, "1.1", 11, SITE, 12);
    /* Host set here: http's Connection "" no longer applies */
    check_value(&v, RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION, "close", -1,
                NULL, 0);
    check_value(&v, RD_NGINXCONF_PROXY_BUFFER_SIZE, "16k", 16384, SITE, 13);
    check_value(&v, RD_NGINXCONF_PROXY_BUFFERING, "off", 0, SITE, 14);
    check_value(&v, RD_NGINXCONF_PROXY_MAX_TEMP_FILE_SIZE, "0", 0, SITE, 15);
    check_value(&v, RD_NGINXCONF_PROXY_NEXT_UPSTREAM, "error timeout http_502",
                RD_NGINXCONF_NU_ERROR | RD_NGINXCONF_NU_TIMEOUT
                | RD_NGINXCONF_NU_HTTP_502, SITE, 16);
    check_value(&v, RD_NGINXCONF_PROXY_IGNORE_CLIENT_ABORT, "on", 1, SITE, 17);
    check_value(&v, RD_NGINXCONF_CLIENT_MAX_BODY_SIZE, "0", 0, SITE, 19);
    check_value(&v, RD_NGINXCONF_ERROR_LOG, "info", 7, SITE, 20);
    check_value(&v, RD_NGINXCONF_KEEPALIVE, "16", 16, MAIN, 13);
    check_value(&v, RD_NGINXCONF_KEEPALIVE_TIMEOUT, "75s", 75000, MAIN, 14);
    check_value(&v, RD_NGINXCONF_KEEPALIVE_REQUESTS, "1000", 1000, NULL, 0);
    check_value(&v, RD_NGINXCONF_KEEPALIVE_TIME, "1h", 3600000, NULL, 0);

    /* location / by its address: inherits http and server */
    {
        uint8_t  a[16] = { 127, 0, 0, 1 };

        assert_int_equal(rd_nginxconf_location_for(c, V_1_22_1, NULL, 4, a,
                                                   3000, 0, &v), 1);
    }
    assert_string_equal(v.location, "/");
    assert_null(v.upstream);
    check_value(&v, RD_NGINXCONF_PROXY_CONNECT_TIMEOUT, "5s", 5000, SITE, 6);
    check_value(&v, RD_NGINXCONF_PROXY_READ_TIMEOUT, "30s", 30000, MAIN, 3);
    check_value(&v, RD_NGINXCONF_PROXY_SEND_TIMEOUT, "60s", 60000, NULL, 0);
    check_value(&v, RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION, "", -1, MAIN,
                4);
    check_value(&v, RD_NGINXCONF_PROXY_HTTP_VERSION, "1.0", 10, NULL, 0);
    check_value(&v, RD_NGINXCONF_CLIENT_MAX_BODY_SIZE, "10m", 10485760, MAIN,
                5);
    check_value(&v, RD_NGINXCONF_ERROR_LOG, "warn", 5, MAIN, 1);
    check_value(&v, RD_NGINXCONF_PROXY_BUFFER_SIZE, "4k", 4096, NULL, 0);
    /* an implicit upstream: no keep-alive cache, whatever the version */
    check_value(&v, RD_NGINXCONF_KEEPALIVE, "off", 0, NULL, 0);

    /* fastcgi, through an upstream block, by its server's address */
    {
        uint8_t  a[16] = { 127, 0, 0, 1 };

        assert_int_equal(rd_nginxconf_location_for(c, V_1_30_4, NULL, 4, a,
                                                   9000, 0, &v), 1);
        assert_string_equal(rd_nginxconf_upstream_name(c, 4, a, 9000), "php");
        assert_null(rd_nginxconf_upstream_name(c, 4, a, 9001));
    }
    assert_true(v.fastcgi);
    assert_string_equal(v.location, "~ \\.php$");
    check_value(&v, RD_NGINXCONF_FASTCGI_READ_TIMEOUT, "300", 300000, SITE,
                28);
    check_value(&v, RD_NGINXCONF_FASTCGI_CONNECT_TIMEOUT, "2s", 2000, SITE,
                29);
    check_value(&v, RD_NGINXCONF_FASTCGI_SEND_TIMEOUT, "1h", 3600000, SITE,
                30);
    check_value(&v, RD_NGINXCONF_FASTCGI_BUFFER_SIZE, "32k", 32768, SITE, 31);
    /* 1.30.4: an upstream{} block keeps connections by default */
    check_value(&v, RD_NGINXCONF_KEEPALIVE, "32", 32, NULL, 0);
    check_value(&v, RD_NGINXCONF_PROXY_HTTP_VERSION, "1.1", 11, NULL, 0);

    /* the nested location does not inherit proxy_pass: its own */
    {
        uint8_t  a[16] = { 0 };

        a[15] = 1;
        assert_int_equal(rd_nginxconf_location_for(c, V_1_22_1, NULL, 6, a,
                                                   443, 0, &v), 1);
        assert_string_equal(v.location, "/deep");
        a[15] = 2;
        assert_int_equal(rd_nginxconf_location_for(c, V_1_22_1, NULL, 6, a,
                                                   443, 0, &v), 0);
    }

    {
        struct rd_nginxconf_value  el;

        rd_nginxconf_error_log(c, &el);
        assert_string_equal(el.text, "warn");
        assert_int_equal(el.line, 1);
    }
    rd_nginxconf_destroy(c);
}


/* listen, upstream server, pass and bind forms; hostnames counted. */
static void
test_nginxconf_addresses(void **state)
{
    static const char *const  want[] = {
        "1 10.0.0.1:8080 0 app", "1 10.0.0.2:80 0 app",
        "1 [2001:db8::1]:81 0 app", "1 127.0.0.1:9000 1 php",
        "0 *:80 0 -", "0 *:443 0 -", "0 192.0.2.1:8080 0 -",
        "3 192.0.2.9 0 -", "2 127.0.0.1:3000 0 -", "2 [::1]:443 0 -",
        "3 192.0.2.10 0 -", "2 127.0.0.1:9001 1 -", "0 *:80 0 -"
    };
    struct rd_nginxconf        *c;
    struct rd_nginxconf_addr    a;
    struct rd_nginxconf_stats   st;
    char                        buf[128];
    uint32_t                    i;

    (void) state;
    c = parse(dump_conf);
    for (i = 0; rd_nginxconf_addr(c, i, &a); i++) {
        size_t  k;
        bool    found = false;

        snprintf(buf, sizeof(buf), "%d %s %d %s", a.kind, a.spec, a.fastcgi,
                 a.upstream != NULL ? a.upstream : "-");
        for (k = 0; k < RD_NELEMS(want); k++) {
            found = found || strcmp(want[k], buf) == 0;
        }
        if (!found) {
            fail_msg("unexpected address %s", buf);
        }
    }
    assert_int_equal(i, RD_NELEMS(want));
    rd_nginxconf_stats(c, &st);
    assert_int_equal(st.upstreams, 2);
    assert_int_equal(st.locations, 6);
    assert_int_equal(st.passes, 6);
    assert_int_equal(st.files, 2);
    /* backend.example, other.example */
    assert_int_equal(st.hostnames_skipped, 2);
    rd_nginxconf_destroy(c);
}


static void
test_nginxconf_defaults_per_version(void **state)
{
    struct rd_nginxconf_value  v;

    (void) state;
    rd_nginxconf_default(RD_NGINXCONF_PROXY_HTTP_VERSION, V_1_22_1, true, &v);
    assert_string_equal(v.text, "1.0");
    rd_nginxconf_default(RD_NGINXCONF_PROXY_HTTP_VERSION, 12906, true, &v);
    assert_int_equal(v.num, 10);
    rd_nginxconf_default(RD_NGINXCONF_PROXY_HTTP_VERSION, 12907, true, &v);
    assert_int_equal(v.num, 11);
    rd_nginxconf_default(RD_NGINXCONF_PROXY_HTTP_VERSION, 0, true, &v);
    assert_int_equal(v.num, 10);
    rd_nginxconf_default(RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION, V_1_22_1,
                         true, &v);
    assert_string_equal(v.text, "close");
    rd_nginxconf_default(RD_NGINXCONF_PROXY_SET_HEADER_CONNECTION, V_1_30_4,
                         true, &v);
    assert_string_equal(v.text, "");
    rd_nginxconf_default(RD_NGINXCONF_KEEPALIVE, V_1_22_1, true, &v);
    assert_int_equal(v.num, 0);
    rd_nginxconf_default(RD_NGINXCONF_KEEPALIVE, V_1_30_4, true, &v);
    assert_int_equal(v.num, 32);
    rd_nginxconf_default(RD_NGINXCONF_KEEPALIVE, V_1_30_4, false, &v);
    assert_int_equal(v.num, 0);
    rd_nginxconf_default(RD_NGINXCONF_KEEPALIVE_REQUESTS, 11900, true, &v);
    assert_int_equal(v.num, 100);
    rd_nginxconf_default(RD_NGINXCONF_KEEPALIVE_REQUESTS, V_1_22_1, true, &v);
    assert_int_equal(v.num, 1000);
    rd_nginxconf_default(RD_NGINXCONF_PROXY_READ_TIMEOUT, V_1_30_4, true, &v);
    assert_int_equal(v.num, 60000);
    assert_null(v.file);
    rd_nginxconf_default(RD_NGINXCONF_ERROR_LOG, 0, false, &v);
    assert_string_equal(v.text, "error");
    rd_nginxconf_default(RD_NGINXCONF_CLIENT_MAX_BODY_SIZE, 0, false, &v);
    assert_int_equal(v.num, 1048576);
}


static void
test_nginxconf_time_and_size(void **state)
{
    static const struct { const char *s; int64_t ms; } times[] = {
        { "60", 60000 }, { "60s", 60000 }, { "1m", 60000 },
        { "500ms", 500 }, { "1h30m", 5400000 }, { "1h 30m", 5400000 },
        { "1d", 86400000 }, { "1w", 604800000 }, { "1M", 2592000000LL },
        { "1y", 31536000000LL }, { "2m5s10ms", 125010 }, { "0", 0 }
    };
    static const char *const  bad_times[] = {
        "", "s", "1x", "1s1m", "1s1s", "-1", "1.5s", "5min",
        "99999999999999999999"
    };
    static const struct { const char *s; int64_t b; } sizes[] = {
        { "4096", 4096 }, { "4k", 4096 }, { "4K", 4096 },
        { "1m", 1048576 }, { "1M", 1048576 }, { "2g", 2147483648LL },
        { "0", 0 }
    };
    static const char *const  bad_sizes[] = {
        "", "k", "1kb", "-1", "1.5m", "99999999999999999999g"
    };
    size_t   i;
    int64_t  v;

    (void) state;
    for (i = 0; i < RD_NELEMS(times); i++) {
        assert_int_equal(rd_nginxconf_parse_time(times[i].s, &v), 0);
        assert_int_equal(v, times[i].ms);
    }
    for (i = 0; i < RD_NELEMS(bad_times); i++) {
        assert_int_equal(rd_nginxconf_parse_time(bad_times[i], &v),
                         -RD_EINVAL);
    }
    for (i = 0; i < RD_NELEMS(sizes); i++) {
        assert_int_equal(rd_nginxconf_parse_size(sizes[i].s, &v), 0);
        assert_int_equal(v, sizes[i].b);
    }
    for (i = 0; i < RD_NELEMS(bad_sizes); i++) {
        assert_int_equal(rd_nginxconf_parse_size(bad_sizes[i], &v),
                         -RD_EINVAL);
    }
}


/* Each malformed input names the file and the line to look at. */
static void
test_nginxconf_malformed_names_line(void **state)
{
    (void) state;
    expect_error("http {\n  server {\n    listen 80;\n  }\n",
                 "test.conf:1: block \"http\" is not closed: unexpected end "
                 "of file, expecting \"}\"");
    expect_error("a b;\n\nc \"open\n\n",
                 "test.conf:3: unterminated quoted string (\") before the "
                 "end of the file");
    expect_error("a 'x",
                 "test.conf:1: unterminated quoted string (') before the end "
                 "of the file");
    expect_error("a b;\nworker_processes auto\n",
                 "test.conf:2: directive \"worker_processes\" has no \";\" "
                 "before the end of the file");
    expect_error("http { }\n}\n",
                 "test.conf:2: unexpected \"}\": no block is open");
    expect_error("http {\n  listen 80\n}\n",
                 "test.conf:3: unexpected \"}\": directive \"listen\" "
                 "(line 2) has no \";\"");
    expect_error("a;\n;\n", "test.conf:2: unexpected \";\"");
    expect_error("{ }", "test.conf:1: unexpected \"{\"");
    expect_error("a \"b\"c;", "test.conf:1: unexpected \"c\" after a quoted "
                 "string");
    /* at a marker, the file that ends must be complete */
    expect_error("# configuration file /etc/nginx/nginx.conf:\nhttp {\n"
                 "  x;\n# configuration file /etc/nginx/b.conf:\ny;\n",
                 "/etc/nginx/nginx.conf:1: block \"http\" is not closed: "
                 "unexpected end of file, expecting \"}\"");
    expect_error("# configuration file /etc/nginx/nginx.conf:\nok;\n"
                 "# configuration file /etc/nginx/b.conf:\n\n\n}\n",
                 "/etc/nginx/b.conf:3: unexpected \"}\": no block is open");
    /* values rstdiag reads must be nginx's */
    expect_error("http {\n proxy_read_timeout 5x;\n}\n",
                 "test.conf:2: invalid value \"5x\" in \"proxy_read_timeout\"");
    expect_error("http {\n proxy_buffering maybe;\n}\n",
                 "test.conf:2: invalid value \"maybe\" in \"proxy_buffering\"");
    expect_error("http {\n client_max_body_size 1 2;\n}\n",
                 "test.conf:2: invalid number of arguments in "
                 "\"client_max_body_size\"");
    expect_error("http { server {\n listen 1.2.3.4:99999;\n} }\n",
                 "test.conf:2: invalid address \"1.2.3.4:99999\" in "
                 "\"listen\"");
    expect_error("http { proxy_next_upstream error bogus; }",
                 "test.conf:1: invalid value \"bogus\" in "
                 "\"proxy_next_upstream\"");
}


/* Depth, word length, words per directive: errors, not crashes. */
static void
test_nginxconf_limits(void **state)
{
    char    *text;
    char     want[256];
    size_t   i, n;

    (void) state;
    text = malloc(RD_LIMITS_NGINXCONF_TOKEN * 2 + 64);
    assert_non_null(text);

    n = 0;
    for (i = 0; i <= RD_LIMITS_NGINXCONF_DEPTH; i++) {
        n += (size_t) sprintf(text + n, "b {\n");
    }
    text[n] = '\0';
    snprintf(want, sizeof(want), "test.conf:%u: blocks nested deeper than %u",
             RD_LIMITS_NGINXCONF_DEPTH + 1, RD_LIMITS_NGINXCONF_DEPTH);
    expect_error(text, want);

    memcpy(text, "a\n", 2);
    memset(text + 2, 'x', RD_LIMITS_NGINXCONF_TOKEN + 1);
    strcpy(text + 3 + RD_LIMITS_NGINXCONF_TOKEN, ";");
    snprintf(want, sizeof(want), "test.conf:2: word longer than %u bytes (a "
             "quote not closed?)", RD_LIMITS_NGINXCONF_TOKEN);
    expect_error(text, want);

    n = (size_t) sprintf(text, "\n\nd");
    for (i = 0; i < RD_LIMITS_NGINXCONF_ARGS; i++) {
        n += (size_t) sprintf(text + n, " a");
    }
    strcpy(text + n, ";");
    snprintf(want, sizeof(want), "test.conf:3: directive \"d\" has more than "
             "%u words", RD_LIMITS_NGINXCONF_ARGS);
    expect_error(text, want);
    free(text);

    /* an include of itself stops at the include depth */
    expect_error("# configuration file /etc/nginx/nginx.conf:\n"
                 "include /etc/nginx/nginx.conf;\n",
                 "/etc/nginx/nginx.conf:1: includes nested deeper than 32");
}


/* Every allocation failure is an error, never a crash or a leak. */
static void
test_nginxconf_allocation_failures(void **state)
{
    struct tfail          f;
    struct rd_nginxconf  *c;
    unsigned              k;
    int                   rc;

    (void) state;
    for (k = 0; k < 200; k++) {
        tfail_init(&f, k);
        c = rd_nginxconf_create(&f.a, "x");
        if (c == NULL) {
            continue;
        }
        rc = rd_nginxconf_feed(c, dump_conf, sizeof(dump_conf) - 1);
        if (rc == 0) {
            rc = rd_nginxconf_finish(c);
        }
        assert_true(rc == 0 || rc == -RD_ENOMEM);
        rd_nginxconf_destroy(c);
        if (rc == 0 && f.calls <= k) {
            break;                  /* every allocation was tried */
        }
    }
    assert_true(k < 200);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_nginxconf_blocks_tree),
        cmocka_unit_test(test_nginxconf_quotes_escapes),
        cmocka_unit_test(test_nginxconf_comments),
        cmocka_unit_test(test_nginxconf_variables_kept),
        cmocka_unit_test(test_nginxconf_dump_markers),
        cmocka_unit_test(test_nginxconf_inheritance),
        cmocka_unit_test(test_nginxconf_addresses),
        cmocka_unit_test(test_nginxconf_defaults_per_version),
        cmocka_unit_test(test_nginxconf_time_and_size),
        cmocka_unit_test(test_nginxconf_malformed_names_line),
        cmocka_unit_test(test_nginxconf_limits),
        cmocka_unit_test(test_nginxconf_allocation_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
