/* Makes include/flowgen.h (symlinked here) importable from Swift as module CFlowGenABI, so the
 * @_cdecl implementations in FlowGenCAPI use exactly the header's types. No code lives here. */
#include "flowgen.h"
