/*
 * json: the few primitives the reports need to write valid JSON whatever
 * bytes the packets held, and text without control characters.
 */
#ifndef RD_JSON_H
#define RD_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rstdiag/common.h"

/*
 * Write p[0..len) as a JSON string with its quotes.  Valid UTF-8 passes
 * through; control characters, quote and backslash are escaped; every
 * byte of an invalid UTF-8 sequence becomes \u00XX (its Latin-1 reading),
 * so the output is always valid JSON.
 */
void rd_json_str(FILE *f, const uint8_t *p, size_t len);

/* Same, for a NUL-terminated C string. */
void rd_json_cstr(FILE *f, const char *s);

/* How many bytes at the start of p[0..len) rd_json_str writes as they
 * are (printable ASCII but quote and backslash): all of them means the
 * string is its own JSON text between quotes. */
size_t rd_json_plain(const uint8_t *p, size_t len);

/* A timestamp as epoch seconds with six decimals: 1732560000.123456 */
void rd_json_ts(FILE *f, rd_usec_t ts);

/*
 * Write p[0..len) for a terminal or log: printable ASCII passes, every
 * other byte becomes \xHH and backslash becomes \\ (tcpdump's
 * fn_print_char idea), so packet bytes never reach a terminal raw.
 */
void rd_text_safe(FILE *f, const uint8_t *p, size_t len);

#endif /* RD_JSON_H */
