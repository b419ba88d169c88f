#ifndef FLOWGEN_CFLOWSMALLGEMM_H
#define FLOWGEN_CFLOWSMALLGEMM_H
/* Single-threaded SGEMM for the small shapes of MLP training (batch 16–256, widths ≤ 256), where
 * OpenBLAS's packing, beta pass and thread dispatch dominate. Compiled with AVX2/FMA (see Package.swift).
 * Internal to flowgen; BLAS.gemm decides when to call it. */
#include <stddef.h>

/** Row-major C = alpha·op(A)·op(B) + beta·C with the semantics of cblas_sgemm(CblasRowMajor, …):
 *  op(A) is [m, k] (A is [m, k] with row stride lda, or [k, m] when trans_a != 0), op(B) is [k, n]
 *  (B is [k, n] with row stride ldb, or [n, k] when trans_b != 0), C is [m, n] with row stride ldc.
 *  beta == 0 ignores C's old contents (even NaN); alpha == 0 or k == 0 only scales C by beta.
 *  C must not overlap A or B. Uses no heap memory (a 16 KiB stack buffer for packed panels). */
void cflow_sgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb,
                 float beta, float *c, size_t ldc);

#endif
