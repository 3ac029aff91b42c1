/*
 * fixedit: a verdict's fix as an edit of the configuration that really
 * runs (--nginx-conf): the directive, its value in force with file:line
 * (or nginx's default), and the value to set, computed from what the
 * capture measured; or the word that nginx is not the side to change.
 * A join at the report edge: a finished connection, its verdict and the
 * parsed configuration in, one record out.
 */
#ifndef RD_FIXEDIT_H
#define RD_FIXEDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "rstdiag/conn.h"
#include "rstdiag/nginxconf.h"
#include "rstdiag/verdict.h"

/* Which side the edit is for (the JSON key "side"). */
enum rd_fix_side {
    RD_FIX_NGINX = 0,               /* change the directive */
    RD_FIX_BACKEND,                 /* nginx's value is not the limit: the
                                     * backend's is */
    RD_FIX_CLIENT                   /* the client's timeout */
};

extern const struct rd_tok  rd_fix_side_names[];

struct rd_fix_edit {
    int             key;            /* enum rd_nginxconf_key */
    const char     *directive;      /* its name */
    struct rd_nginxconf_value  current;     /* in force (file NULL:
                                             * default) */
    const char     *location;       /* the location it is in force in */
    int             side;           /* enum rd_fix_side */
    char            set[64];        /* the value to set, "" for none */
    char            why[384];       /* from what was measured */
};

/*
 * The edit for upstream leg c judged v, by the configuration nc for nginx
 * version (0 unknown).  backend_idle: the upstream's measured idle
 * timeout in seconds (< 0 unknown).  false when the verdict has no
 * directive to name or no location passes to c's server.
 */
bool rd_fix_edit(const struct rd_nginxconf *nc, uint32_t version,
    const struct rd_conn *c, const struct rd_verdict *v, double backend_idle,
    struct rd_fix_edit *out);

#endif /* RD_FIXEDIT_H */
