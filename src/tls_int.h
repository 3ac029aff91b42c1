/*
 * rstdiag: TLS reader internals shared with the tests (not part of the
 * contract in include/rstdiag/tls.h).
 */
#ifndef RD_TLS_INT_H
#define RD_TLS_INT_H

#include "rstdiag/tls.h"

/* Check the invariants of p; aborts (rd_require) when one fails. */
void rd_tls_validate_(const struct rd_tls *p);

#endif /* RD_TLS_INT_H */
