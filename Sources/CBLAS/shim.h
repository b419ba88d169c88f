#ifndef FLOWGEN_CBLAS_SHIM_H
#define FLOWGEN_CBLAS_SHIM_H
#include <cblas.h>
/* OpenBLAS extras (declared in OpenBLAS's cblas.h; repeated here for other CBLAS providers). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
char *openblas_get_config(void);
#endif
