#ifndef FLOWGEN_CFLOWSUPPORT_H
#define FLOWGEN_CFLOWSUPPORT_H
/* Small C helpers the Swift core needs and Swift cannot express without Foundation:
 * thread-local state (last error message, gradient recording switch). Internal: not exported
 * from libflowgen.so (the linker version script keeps only fg_* symbols). */
#include <stddef.h>
#include <stdint.h>
#include "CFlowKernels.h"
#include "CFlowSmallGemm.h"
#include "CFlowAssignment.h"

/** Stores a copy of `message` (truncated to 1023 bytes) as this thread's last error. */
void cflow_set_last_error(const char *message);
/** This thread's last error message; never NULL, "" when none. Valid until the next set on this thread. */
const char *cflow_last_error(void);

/** Nesting depth of "no gradient" regions on this thread (0 = gradients are recorded). */
int cflow_no_grad_depth(void);
void cflow_set_no_grad_depth(int depth);

#endif
