/* Small-matrix SGEMM (see CFlowSmallGemm.h). Compiled with -march=haswell: AVX2 + FMA.
 *
 * Design (BLIS-like, without packing A):
 *  - Micro-tile of C: up to 6 rows × 16 columns (12 ymm accumulators), computed as a sum over k of
 *    rank-1 updates: broadcast op(A)[i, p] × a 16-wide row of the B panel. op(A) is read in place with
 *    either layout (row-major: A[i·lda + p]; transposed: A[p·lda + i]), so A is never packed.
 *  - B panel (kc × 16 slice of op(B)): read in place when B is not transposed and the panel is full
 *    (rows are contiguous); otherwise packed into a zero-padded 16 KiB stack buffer (an 8×8 AVX
 *    transpose when B is transposed), once per panel and reused down the whole column of row blocks
 *    (one call per column of tiles).
 *  - Edge tiles: specialised kernels for 1…6 rows and 8/16-wide panels (48 instantiations); the last
 *    < 8 columns of C are written in 4/2/1 pieces (vmaskmovps stores are slow on AMD). k is blocked by
 *    256 (beta is applied on the first block only).
 *  - Three strategies, chosen per call by a rough cycle model (sg_cost): the normal orientation; the
 *    transposed one, Cᵀ = op(B)ᵀ·op(A)ᵀ, when n is narrow (2, 9, 16 columns with a large m: the 16-wide
 *    vectors then run along m and the small operand is the one packed; C is written with strides); and,
 *    for A·Bᵀ with few outputs, dot products vectorised along k.
 */
#include "CFlowSmallGemm.h"
#include <immintrin.h>
#include <stdint.h>

#define SG_MR 6
#define SG_NR 16
#define SG_KC 256

#define SG_INLINE static inline __attribute__((always_inline))

static const int32_t sg_mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
/** Mask with the first `count` (0…8) lanes set. */
SG_INLINE __m256i sg_tail_mask(size_t count) {
    return _mm256_loadu_si256((const __m256i *)(sg_mask_table + 8 - count));
}

/* p[0..<cols] = x[0..<cols] + beta · p[0..<cols] for cols < 8, in 4/2/1-element pieces (vmaskmovps stores
 * are slow on AMD, and a round trip through memory stalls store forwarding). */
SG_INLINE void sg_store_partial(float *p, __m256 x, size_t cols, float beta) {
    __m128 part = _mm256_castps256_ps128(x);
    const __m128 vbeta = _mm_set1_ps(beta);
    if (cols & 4) {
        if (beta != 0) part = _mm_fmadd_ps(vbeta, _mm_loadu_ps(p), part);
        _mm_storeu_ps(p, part);
        p += 4;
        part = _mm256_extractf128_ps(x, 1);
    }
    if (cols & 2) {
        if (beta != 0) part = _mm_fmadd_ps(vbeta, _mm_castpd_ps(_mm_load_sd((const double *)p)), part);
        _mm_store_sd((double *)p, _mm_castps_pd(part));
        p += 2;
        part = _mm_movehl_ps(part, part);
    }
    if (cols & 1) {
        if (beta != 0) part = _mm_fmadd_ss(vbeta, _mm_load_ss(p), part);
        _mm_store_ss(p, part);
    }
}

/* Stores one accumulator vector (columns 0..<cols of a C row, cols ≥ 1) as x·alpha + beta·C; has_beta is a
 * compile-time constant (beta == 0 must not read C). */
SG_INLINE void sg_store_vec(const int has_beta, float *p, __m256 x, size_t cols, __m256 valpha, __m256 vbeta) {
    x = _mm256_mul_ps(x, valpha);
    if (cols >= 8) {
        if (has_beta) x = _mm256_fmadd_ps(vbeta, _mm256_loadu_ps(p), x);
        _mm256_storeu_ps(p, x);
    } else {
        sg_store_partial(p, x, cols, has_beta ? _mm256_cvtss_f32(vbeta) : 0.0f);
    }
}

/* One micro-tile: C[0..<mr, 0..<nr] (C element (i, j) at c[i·rsc + j·csc]) = alpha · Σ_p op(A)[i, p]·Bp[p, j]
 * + beta · C. mr, nv (vectors per row: 1 or 2), ta and ts are compile-time constants after inlining;
 * ts == 0 requires csc == 1 (vector stores straight from the accumulators), ts == 1 is the transposed
 * orientation (rsc == 1) and stores through a small stack tile. nr ≤ 8·nv. The B panel has row stride ldb
 * and at least 8·nv readable columns. */
SG_INLINE void sg_tile(const int mr, const int nv, const int ta, const int ts, size_t kc,
                       const float *restrict a, size_t lda, const float *restrict b, size_t ldb,
                       float *restrict c, size_t rsc, size_t csc, size_t nr, float alpha, float beta) {
    /* Named accumulators (not an array) so that they always live in registers; rows ≥ mr and the second
     * vector when nv == 1 are dead code after inlining. */
    const __m256 zero = _mm256_setzero_ps();
    __m256 c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero;
    __m256 c30 = zero, c31 = zero, c40 = zero, c41 = zero, c50 = zero, c51 = zero;
#define SG_ROW(R, AR)                                                  \
    if (mr > R) {                                                      \
        const __m256 ar = _mm256_broadcast_ss(AR);                     \
        c##R##0 = _mm256_fmadd_ps(ar, b0, c##R##0);                    \
        if (nv > 1) c##R##1 = _mm256_fmadd_ps(ar, b1, c##R##1);        \
    }
    if (ta) {
        for (size_t p = 0; p < kc; p++) {
            const __m256 b0 = _mm256_loadu_ps(b);
            const __m256 b1 = nv > 1 ? _mm256_loadu_ps(b + 8) : b0;
            SG_ROW(0, a + 0) SG_ROW(1, a + 1) SG_ROW(2, a + 2) SG_ROW(3, a + 3) SG_ROW(4, a + 4) SG_ROW(5, a + 5)
            a += lda;
            b += ldb;
        }
    } else {
        /* Row pointers past row mr − 1 are never formed (they could point outside A). */
        const float *a0 = a, *a1 = mr > 1 ? a0 + lda : a0, *a2 = mr > 2 ? a1 + lda : a0;
        const float *a3 = mr > 3 ? a2 + lda : a0, *a4 = mr > 4 ? a3 + lda : a0, *a5 = mr > 5 ? a4 + lda : a0;
        for (size_t p = 0; p < kc; p++) {
            const __m256 b0 = _mm256_loadu_ps(b);
            const __m256 b1 = nv > 1 ? _mm256_loadu_ps(b + 8) : b0;
            SG_ROW(0, a0 + p) SG_ROW(1, a1 + p) SG_ROW(2, a2 + p) SG_ROW(3, a3 + p) SG_ROW(4, a4 + p) SG_ROW(5, a5 + p)
            b += ldb;
        }
    }
#undef SG_ROW

    if (!ts) {
        (void)csc;
        const __m256 valpha = _mm256_set1_ps(alpha), vbeta = _mm256_set1_ps(beta);
        const size_t cols0 = nr < 8 ? nr : 8, cols1 = nr - 8;
#define SG_STORE_ROW(HB, R)                                                                      \
        if (mr > R) {                                                                            \
            sg_store_vec(HB, c + (size_t)R * rsc, c##R##0, cols0, valpha, vbeta);                \
            if (nv > 1) sg_store_vec(HB, c + (size_t)R * rsc + 8, c##R##1, cols1, valpha, vbeta); \
        }
        if (beta == 0) {
            SG_STORE_ROW(0, 0) SG_STORE_ROW(0, 1) SG_STORE_ROW(0, 2) SG_STORE_ROW(0, 3) SG_STORE_ROW(0, 4) SG_STORE_ROW(0, 5)
        } else {
            SG_STORE_ROW(1, 0) SG_STORE_ROW(1, 1) SG_STORE_ROW(1, 2) SG_STORE_ROW(1, 3) SG_STORE_ROW(1, 4) SG_STORE_ROW(1, 5)
        }
#undef SG_STORE_ROW
    } else {
        float tmp[SG_MR][SG_NR] __attribute__((aligned(32)));
#define SG_TMP_ROW(R)                                              \
        if (mr > R) {                                              \
            _mm256_store_ps(&tmp[R][0], c##R##0);                  \
            if (nv > 1) _mm256_store_ps(&tmp[R][8], c##R##1);      \
        }
        SG_TMP_ROW(0) SG_TMP_ROW(1) SG_TMP_ROW(2) SG_TMP_ROW(3) SG_TMP_ROW(4) SG_TMP_ROW(5)
#undef SG_TMP_ROW
        /* Transposed orientation: rows of the tile are contiguous in C (rsc == 1). */
        for (size_t j = 0; j < nr; j++) {
            float *cj = c + j * csc;
            if (beta == 0) {
                for (int r = 0; r < mr; r++) cj[(size_t)r * rsc] = alpha * tmp[r][j];
            } else {
                for (int r = 0; r < mr; r++) cj[(size_t)r * rsc] = alpha * tmp[r][j] + beta * cj[(size_t)r * rsc];
            }
        }
    }
}

/* A column of `count` micro-tiles of MR rows each (rows advance by MR), one instantiation per shape. */
typedef void (*sg_tile_fn)(size_t count, size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                           float *c, size_t rsc, size_t csc, size_t nr, float alpha, float beta);

#define SG_DEFINE_TILE(MR, NV, TA, TS)                                                                     \
    static void sg_tile_##MR##_##NV##_##TA##_##TS(size_t count, size_t kc, const float *a, size_t lda,     \
                                                  const float *b, size_t ldb, float *c, size_t rsc,        \
                                                  size_t csc, size_t nr, float alpha, float beta) {        \
        for (size_t i = 0; i < count; i++) {                                                               \
            sg_tile(MR, NV, TA, TS, kc, a, lda, b, ldb, c, rsc, csc, nr, alpha, beta);                     \
            a += TA ? (size_t)MR : (size_t)MR * lda;                                                       \
            c += (size_t)MR * rsc;                                                                         \
        }                                                                                                  \
    }
#define SG_DEFINE_TILES_MR(MR)                                                                 \
    SG_DEFINE_TILE(MR, 1, 0, 0) SG_DEFINE_TILE(MR, 2, 0, 0) SG_DEFINE_TILE(MR, 1, 1, 0)        \
    SG_DEFINE_TILE(MR, 2, 1, 0) SG_DEFINE_TILE(MR, 1, 0, 1) SG_DEFINE_TILE(MR, 2, 0, 1)        \
    SG_DEFINE_TILE(MR, 1, 1, 1) SG_DEFINE_TILE(MR, 2, 1, 1)
SG_DEFINE_TILES_MR(1)
SG_DEFINE_TILES_MR(2)
SG_DEFINE_TILES_MR(3)
SG_DEFINE_TILES_MR(4)
SG_DEFINE_TILES_MR(5)
SG_DEFINE_TILES_MR(6)

#define SG_TILE_ROW(NV, TA, TS)                                                                      \
    {sg_tile_1_##NV##_##TA##_##TS, sg_tile_2_##NV##_##TA##_##TS, sg_tile_3_##NV##_##TA##_##TS,       \
     sg_tile_4_##NV##_##TA##_##TS, sg_tile_5_##NV##_##TA##_##TS, sg_tile_6_##NV##_##TA##_##TS}
/* [ts][ta][nv - 1][mr - 1] */
static const sg_tile_fn sg_tiles[2][2][2][SG_MR] = {
    {{SG_TILE_ROW(1, 0, 0), SG_TILE_ROW(2, 0, 0)}, {SG_TILE_ROW(1, 1, 0), SG_TILE_ROW(2, 1, 0)}},
    {{SG_TILE_ROW(1, 0, 1), SG_TILE_ROW(2, 0, 1)}, {SG_TILE_ROW(1, 1, 1), SG_TILE_ROW(2, 1, 1)}},
};

/* Packs op(B)[0..<kc, 0..<nr] for row-major (not transposed) B into dst with row stride w (8 or 16),
 * zero-padding columns nr..<w. */
static void sg_pack_n(size_t kc, size_t nr, size_t w, const float *restrict b, size_t ldb, float *restrict dst) {
    const __m256i m0 = sg_tail_mask(nr >= 8 ? 8 : nr);
    const __m256i m1 = sg_tail_mask(nr >= 16 ? 8 : (nr > 8 ? nr - 8 : 0));
    for (size_t p = 0; p < kc; p++) {
        const float *src = b + p * ldb;
        float *d = dst + p * w;
        _mm256_store_ps(d, _mm256_maskload_ps(src, m0));
        if (w > 8) _mm256_store_ps(d + 8, _mm256_maskload_ps(src + 8, m1));
    }
}

/* Packs op(B)[0..<kc, 0..<nr] for transposed B (op(B)[p, j] = b[j·ldb + p]) into dst with row stride w,
 * zero-padding columns nr..<w. */
static void sg_pack_t(size_t kc, size_t nr, size_t w, const float *restrict b, size_t ldb, float *restrict dst) {
    size_t j0 = 0;
    for (; j0 + 8 <= nr; j0 += 8) {
        const float *s = b + j0 * ldb;
        size_t p0 = 0;
        for (; p0 + 8 <= kc; p0 += 8) {
            const __m256 r0 = _mm256_loadu_ps(s + 0 * ldb + p0), r1 = _mm256_loadu_ps(s + 1 * ldb + p0);
            const __m256 r2 = _mm256_loadu_ps(s + 2 * ldb + p0), r3 = _mm256_loadu_ps(s + 3 * ldb + p0);
            const __m256 r4 = _mm256_loadu_ps(s + 4 * ldb + p0), r5 = _mm256_loadu_ps(s + 5 * ldb + p0);
            const __m256 r6 = _mm256_loadu_ps(s + 6 * ldb + p0), r7 = _mm256_loadu_ps(s + 7 * ldb + p0);
            const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *d = dst + p0 * w + j0;
            _mm256_store_ps(d + 0 * w, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_store_ps(d + 1 * w, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_store_ps(d + 2 * w, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_store_ps(d + 3 * w, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_store_ps(d + 4 * w, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_store_ps(d + 5 * w, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_store_ps(d + 6 * w, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_store_ps(d + 7 * w, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
        for (; p0 < kc; p0++)
            for (size_t j = 0; j < 8; j++) dst[p0 * w + j0 + j] = s[j * ldb + p0];
    }
    if (j0 < w) {
        /* The last < 8 columns: zero the 8-wide group, then copy column by column. */
        for (size_t p = 0; p < kc; p++) _mm256_store_ps(dst + p * w + j0, _mm256_setzero_ps());
        for (size_t j = j0; j < nr; j++) {
            const float *s = b + j * ldb;
            for (size_t p = 0; p < kc; p++) dst[p * w + j] = s[p];
        }
    }
}

/* C element (i, j) at c[i·rsc + j·csc]; k ≥ 1. */
static void sg_gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                    const float *b, size_t ldb, float beta, float *c, size_t rsc, size_t csc) {
    float buf[SG_KC * SG_NR] __attribute__((aligned(32)));
    const size_t mfull = m / SG_MR, mrem = m % SG_MR;
    const int ts = csc != 1;
    for (size_t pc = 0; pc < k; pc += SG_KC) {
        const size_t kc = k - pc < SG_KC ? k - pc : SG_KC;
        const float beta_blk = pc == 0 ? beta : 1.0f;
        const float *ablk = ta ? a + pc * lda : a + pc;
        const float *arem = ta ? ablk + mfull * SG_MR : ablk + mfull * SG_MR * lda;
        for (size_t jc = 0; jc < n; jc += SG_NR) {
            const size_t nr = n - jc < SG_NR ? n - jc : SG_NR;
            const int nv = nr > 8 ? 2 : 1;
            const float *bp;
            size_t ldbp;
            if (!tb && nr == SG_NR) {
                bp = b + pc * ldb + jc;
                ldbp = ldb;
            } else {
                ldbp = (size_t)(8 * nv);
                if (tb) sg_pack_t(kc, nr, ldbp, b + jc * ldb + pc, ldb, buf);
                else sg_pack_n(kc, nr, ldbp, b + pc * ldb + jc, ldb, buf);
                bp = buf;
            }
            const sg_tile_fn *fns = sg_tiles[ts][ta ? 1 : 0][nv - 1];
            float *cj = c + jc * csc;
            if (mfull) fns[SG_MR - 1](mfull, kc, ablk, lda, bp, ldbp, cj, rsc, csc, nr, alpha, beta_blk);
            if (mrem)
                fns[mrem - 1](1, kc, arem, lda, bp, ldbp, cj + mfull * SG_MR * rsc, rsc, csc, nr, alpha, beta_blk);
        }
    }
}

/* Dot-product tile for op(A) rows and op(B) columns both contiguous along k (A not transposed, B
 * transposed): C[i, j] = alpha · <A[i, :], B[j, :]> + beta · C[i, j] for i < mr, j < nr, vectorised along k
 * (the last k % 8 elements through masked loads) and reduced horizontally once. */
SG_INLINE void sg_dot_tile(const int mr, const int nr, size_t k, const float *restrict a, size_t lda,
                           const float *restrict b, size_t ldb, float *restrict c, size_t ldc,
                           float alpha, float beta) {
    __m256 acc[2][4];
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) acc[r][j] = _mm256_setzero_ps();
    size_t p = 0;
    for (; p + 8 <= k; p += 8) {
        __m256 av[2];
        for (int r = 0; r < mr; r++) av[r] = _mm256_loadu_ps(a + (size_t)r * lda + p);
        for (int j = 0; j < nr; j++) {
            const __m256 bv = _mm256_loadu_ps(b + (size_t)j * ldb + p);
            for (int r = 0; r < mr; r++) acc[r][j] = _mm256_fmadd_ps(av[r], bv, acc[r][j]);
        }
    }
    if (p < k) {
        const __m256i mask = sg_tail_mask(k - p);
        __m256 av[2];
        for (int r = 0; r < mr; r++) av[r] = _mm256_maskload_ps(a + (size_t)r * lda + p, mask);
        for (int j = 0; j < nr; j++) {
            const __m256 bv = _mm256_maskload_ps(b + (size_t)j * ldb + p, mask);
            for (int r = 0; r < mr; r++) acc[r][j] = _mm256_fmadd_ps(av[r], bv, acc[r][j]);
        }
    }
    for (int r = 0; r < mr; r++) {
        const __m256 zero = _mm256_setzero_ps();
        const __m256 h01 = _mm256_hadd_ps(acc[r][0], nr > 1 ? acc[r][1] : zero);
        const __m256 h23 = _mm256_hadd_ps(nr > 2 ? acc[r][2] : zero, nr > 3 ? acc[r][3] : zero);
        const __m256 h = _mm256_hadd_ps(h01, h23);
        __m128 sum = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
        sum = _mm_mul_ps(sum, _mm_set1_ps(alpha));
        float out[4];
        _mm_storeu_ps(out, sum);
        float *cr = c + (size_t)r * ldc;
        for (int j = 0; j < nr; j++) cr[j] = beta == 0 ? out[j] : out[j] + beta * cr[j];
    }
}

typedef void (*sg_dot_fn)(size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                          float alpha, float beta);
#define SG_DEFINE_DOT(MR, NR)                                                                             \
    static void sg_dot_##MR##_##NR(size_t k, const float *a, size_t lda, const float *b, size_t ldb,       \
                                   float *c, size_t ldc, float alpha, float beta) {                        \
        sg_dot_tile(MR, NR, k, a, lda, b, ldb, c, ldc, alpha, beta);                                       \
    }
SG_DEFINE_DOT(1, 1) SG_DEFINE_DOT(1, 2) SG_DEFINE_DOT(1, 3) SG_DEFINE_DOT(1, 4)
SG_DEFINE_DOT(2, 1) SG_DEFINE_DOT(2, 2) SG_DEFINE_DOT(2, 3) SG_DEFINE_DOT(2, 4)
static const sg_dot_fn sg_dots[2][4] = {{sg_dot_1_1, sg_dot_1_2, sg_dot_1_3, sg_dot_1_4},
                                        {sg_dot_2_1, sg_dot_2_2, sg_dot_2_3, sg_dot_2_4}};

static void sg_gemm_dot(size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                        const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i += 2) {
        const size_t mr = m - i < 2 ? m - i : 2;
        for (size_t j = 0; j < n; j += 4) {
            const size_t nr = n - j < 4 ? n - j : 4;
            sg_dots[mr - 1][nr - 1](k, a + i * lda, lda, b + j * ldb, ldb, c + i * ldc + j, ldc, alpha, beta);
        }
    }
}

/* Rough cycle estimates (Zen 3 / Haswell-class: 2 FMA and 2 vector loads per cycle) used to pick a path. */
static double sg_tile_cycles(size_t mr, size_t nv) {
    const double fma = 0.5 * (double)(mr * nv), loads = 0.5 * (double)(mr + nv);
    return (fma > loads ? fma : loads) + 0.5;
}

/* Cycles of the broadcast path for an [m, n] output: per k (micro-kernels + B packing) and once (C stores). */
static double sg_cost(int tb, size_t m, size_t n, size_t k, int transposed_store) {
    const size_t full = n / SG_NR, rem = n % SG_NR;
    const size_t mfull = m / SG_MR, mrem = m % SG_MR;
    double per_k = 0, pack = 0;
    if (full) {
        per_k += (double)full * ((double)mfull * sg_tile_cycles(SG_MR, 2) + (mrem ? sg_tile_cycles(mrem, 2) : 0));
        if (tb) pack += 0.4 * SG_NR * (double)full;
    }
    if (rem) {
        const size_t nv = rem > 8 ? 2 : 1;
        per_k += (double)mfull * sg_tile_cycles(SG_MR, nv) + (mrem ? sg_tile_cycles(mrem, nv) : 0);
        pack += tb ? (rem >= 8 ? 0.4 * 8 + (double)(rem - 8) + 1 : (double)rem + 1) : 1;
    }
    const double store = transposed_store ? 1.5 * (double)(m * n) : (double)(m * ((n + 7) / 8)) * 1.5;
    const double tiles = (double)((m + SG_MR - 1) / SG_MR) * (double)(full + (rem != 0));
    return (double)k * (per_k + pack) + store + 12 * tiles;
}

void cflow_sgemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb,
                 float beta, float *c, size_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0 || alpha == 0) {
        if (beta == 1) return;
        for (size_t i = 0; i < m; i++) {
            float *ci = c + i * ldc;
            if (beta == 0) for (size_t j = 0; j < n; j++) ci[j] = 0;
            else for (size_t j = 0; j < n; j++) ci[j] *= beta;
        }
        return;
    }
    trans_a = trans_a != 0;
    trans_b = trans_b != 0;
    /* A single contiguous row/column reads the same either way: prefer the layout contiguous along k. */
    if (!trans_b && n == 1 && ldb == 1) { trans_b = 1; ldb = k; }
    if (trans_a && m == 1 && lda == 1) { trans_a = 0; lda = k; }
    /* Normal orientation vs. Cᵀ = op(B)ᵀ·op(A)ᵀ (strided C stores, the other operand packed) vs. dot products. */
    const double normal = sg_cost(trans_b, m, n, k, 0);
    const double swapped = sg_cost(!trans_a, n, m, k, 1);
    int path = swapped < normal ? 2 : 1;
    if (!trans_a && trans_b) {
        const double dot = (double)(m * n) * (0.55 * (double)((k + 7) / 8) + 3) + 10 * (double)(((m + 1) / 2) * ((n + 3) / 4));
        if (dot < (path == 2 ? swapped : normal)) path = 3;
    }
    if (path == 3) {
        sg_gemm_dot(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    } else if (path == 2) {
        sg_gemm(!trans_b, !trans_a, n, m, k, alpha, b, ldb, a, lda, beta, c, 1, ldc);
    } else {
        sg_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1);
    }
}
