/*
 * json: escaping writers.  RFC 8259 §7 for strings.
 */
#include <inttypes.h>
#include <string.h>

#include "rstdiag/json.h"


/* Length of the valid UTF-8 sequence at p (RFC 3629 §4), 0 if invalid. */
static size_t
utf8_len(const uint8_t *p, size_t left)
{
    uint8_t  c = p[0];
    size_t   n, i;
    uint32_t cp;

    if (c < 0x80) {
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (left < n) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    /* overlong forms, surrogates and values past U+10FFFF */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
        || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    {
        return 0;
    }
    return n;
}


/* Bytes at p that JSON takes as they are: printable ASCII but " and \. */
static size_t
plain_run(const uint8_t *p, size_t len)
{
    size_t  n;

    for (n = 0; n < len; n++) {
        if (p[n] < 0x20 || p[n] >= 0x7f || p[n] == '"' || p[n] == '\\') {
            break;
        }
    }
    return n;
}


void
rd_json_str(FILE *f, const uint8_t *p, size_t len)
{
    size_t   i, n;
    uint8_t  c;

    putc('"', f);
    for (i = 0; i < len; i += n) {
        /* printable ASCII needs no escape: write it as one run */
        n = plain_run(p + i, len - i);
        if (n > 0) {
            fwrite(p + i, 1, n, f);
            continue;
        }
        c = p[i];
        n = 1;
        if (c == '"' || c == '\\') {
            putc('\\', f);
            putc(c, f);
        } else if (c < 0x20 || c == 0x7f) {
            switch (c) {
            case '\n':
                fputs("\\n", f);
                break;
            case '\r':
                fputs("\\r", f);
                break;
            case '\t':
                fputs("\\t", f);
                break;
            default:
                fprintf(f, "\\u%04x", c);
            }
        } else if (c < 0x80) {
            putc(c, f);
        } else {
            n = utf8_len(p + i, len - i);
            if (n == 0) {
                fprintf(f, "\\u%04x", c);
                n = 1;
            } else {
                fwrite(p + i, 1, n, f);
            }
        }
    }
    putc('"', f);
}


size_t
rd_json_plain(const uint8_t *p, size_t len)
{
    return plain_run(p, len);
}


void
rd_json_cstr(FILE *f, const char *s)
{
    rd_json_str(f, (const uint8_t *) s, strlen(s));
}


void
rd_json_ts(FILE *f, rd_usec_t ts)
{
    if (ts < 0) {
        fprintf(f, "-%" PRId64 ".%06" PRId64, (-ts) / 1000000,
                (-ts) % 1000000);
        return;
    }
    fprintf(f, "%" PRId64 ".%06" PRId64, ts / 1000000, ts % 1000000);
}


void
rd_text_safe(FILE *f, const uint8_t *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (p[i] == '\\') {
            fputs("\\\\", f);
        } else if (p[i] >= 0x20 && p[i] < 0x7f) {
            putc(p[i], f);
        } else {
            fprintf(f, "\\x%02x", p[i]);
        }
    }
}
