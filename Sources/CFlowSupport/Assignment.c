#include "CFlowAssignment.h"
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Combines per-lane (smallest, second smallest, index of smallest) into the row's best two; ties of the
   smallest keep the lower index. */
static size_t top_two_of_lanes(const double *l1, const double *l2, const size_t *li, int lanes, double *w1out,
                               double *w2out) {
    double w1 = INFINITY, w2 = INFINITY;
    size_t best_index = 0;
    for (int k = 0; k < lanes; k++) {
        if (l1[k] < w1 || (l1[k] == w1 && li[k] < best_index)) {
            w2 = w2 < w1 ? w2 : w1;
            w1 = l1[k];
            best_index = li[k];
        } else if (l1[k] < w2) {
            w2 = l1[k];
        }
        if (l2[k] < w2) w2 = l2[k];
    }
    *w1out = w1;
    *w2out = w2;
    return best_index;
}

size_t cflow_lap_best_two(const double *row, const double *v, size_t n, double *best, double *second) {
    __m256d b1 = _mm256_set1_pd(INFINITY), b2 = b1, bi = _mm256_setzero_pd();
    __m256d index = _mm256_set_pd(3.0, 2.0, 1.0, 0.0);
    const __m256d four = _mm256_set1_pd(4.0);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256d w = _mm256_sub_pd(_mm256_loadu_pd(row + j), _mm256_loadu_pd(v + j));
        __m256d better = _mm256_cmp_pd(w, b1, _CMP_LT_OQ);
        b2 = _mm256_min_pd(b2, _mm256_max_pd(b1, w));
        b1 = _mm256_min_pd(b1, w);
        bi = _mm256_blendv_pd(bi, index, better);
        index = _mm256_add_pd(index, four);
    }
    double l1[4], l2[4], lf[4], w1, w2;
    size_t li[4];
    _mm256_storeu_pd(l1, b1);
    _mm256_storeu_pd(l2, b2);
    _mm256_storeu_pd(lf, bi);
    for (int k = 0; k < 4; k++) li[k] = (size_t)lf[k];
    size_t best_index = top_two_of_lanes(l1, l2, li, 4, &w1, &w2);
    for (; j < n; j++) {
        double w = row[j] - v[j];
        if (w < w1) { w2 = w1; w1 = w; best_index = j; } else if (w < w2) { w2 = w; }
    }
    *best = w1;
    *second = w2;
    return best_index;
}

double cflow_lap_relax(const double *row, const double *v, const double *penalty, double *d, double *pred,
                       double h, double row_index, size_t n, size_t *best_j) {
    const __m256d hv = _mm256_set1_pd(h), iv = _mm256_set1_pd(row_index), four = _mm256_set1_pd(4.0);
    __m256d bestv = _mm256_set1_pd(INFINITY), besti = _mm256_setzero_pd();
    __m256d index = _mm256_set_pd(3.0, 2.0, 1.0, 0.0);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256d pen = _mm256_loadu_pd(penalty + j);
        __m256d c = _mm256_add_pd(_mm256_sub_pd(_mm256_sub_pd(_mm256_loadu_pd(row + j), _mm256_loadu_pd(v + j)), hv), pen);
        __m256d dj = _mm256_loadu_pd(d + j);
        __m256d improved = _mm256_cmp_pd(c, dj, _CMP_LT_OQ);
        dj = _mm256_blendv_pd(dj, c, improved);
        _mm256_storeu_pd(d + j, dj);
        _mm256_storeu_pd(pred + j, _mm256_blendv_pd(_mm256_loadu_pd(pred + j), iv, improved));
        __m256d eff = _mm256_add_pd(dj, pen);
        __m256d better = _mm256_cmp_pd(eff, bestv, _CMP_LT_OQ);
        bestv = _mm256_blendv_pd(bestv, eff, better);
        besti = _mm256_blendv_pd(besti, index, better);
        index = _mm256_add_pd(index, four);
    }
    double lv[4], li[4];
    _mm256_storeu_pd(lv, bestv);
    _mm256_storeu_pd(li, besti);
    double best = INFINITY;
    size_t bj = n;
    for (int k = 0; k < 4; k++) {
        size_t idx = (size_t)li[k];
        if (lv[k] < best || (lv[k] == best && idx < bj)) { best = lv[k]; bj = idx; }
    }
    for (; j < n; j++) {
        double c = row[j] - v[j] - h + penalty[j];
        if (c < d[j]) { d[j] = c; pred[j] = row_index; }
        double eff = d[j] + penalty[j];
        if (eff < best) { best = eff; bj = j; }
    }
    *best_j = bj;
    return best;
}

void cflow_squared_distances(const float *a, const float *b, size_t n, size_t m, size_t d, double *out) {
    /* b transposed to [d, m] doubles so the inner loop runs over j with unit stride. */
    double *bt = malloc(sizeof(double) * (d * m > 0 ? d * m : 1));
    if (bt == NULL) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) {
                double s = 0;
                for (size_t k = 0; k < d; k++) { double t = (double)a[i * d + k] - (double)b[j * d + k]; s += t * t; }
                out[i * m + j] = s;
            }
        return;
    }
    for (size_t j = 0; j < m; j++)
        for (size_t k = 0; k < d; k++) bt[k * m + j] = (double)b[j * d + k];
    for (size_t i = 0; i < n; i++) {
        double *restrict o = out + i * m;
        for (size_t j = 0; j < m; j++) o[j] = 0;
        for (size_t k = 0; k < d; k++) {
            const double ak = (double)a[i * d + k];
            const double *restrict col = bt + k * m;
            for (size_t j = 0; j < m; j++) { double t = ak - col[j]; o[j] += t * t; }
        }
    }
    free(bt);
}

size_t cflow_lap_best_two_f32(const float *row, const float *v, size_t n, float *best, float *second) {
    /* Integer lane indices (1-cycle adds) keep the loop-carried chain short. */
    __m256 b1 = _mm256_set1_ps(INFINITY), b2 = b1;
    __m256i bi = _mm256_setzero_si256(), index = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    const __m256i eight = _mm256_set1_epi32(8);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 w = _mm256_sub_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(v + j));
        __m256 better = _mm256_cmp_ps(w, b1, _CMP_LT_OQ);
        b2 = _mm256_min_ps(b2, _mm256_max_ps(b1, w));
        b1 = _mm256_min_ps(b1, w);
        bi = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(bi), _mm256_castsi256_ps(index), better));
        index = _mm256_add_epi32(index, eight);
    }
    float f1[8], f2[8];
    int32_t fi[8];
    _mm256_storeu_ps(f1, b1);
    _mm256_storeu_ps(f2, b2);
    _mm256_storeu_si256((__m256i *)fi, bi);
    double l1[8], l2[8], w1, w2;   /* floats widen exactly, so the comparisons are unchanged */
    size_t li[8];
    for (int k = 0; k < 8; k++) { l1[k] = f1[k]; l2[k] = f2[k]; li[k] = (size_t)fi[k]; }
    size_t best_index = top_two_of_lanes(l1, l2, li, 8, &w1, &w2);
    for (; j < n; j++) {
        float w = row[j] - v[j];
        if (w < w1) { w2 = w1; w1 = w; best_index = j; } else if (w < w2) { w2 = w; }
    }
    *best = (float)w1;
    *second = (float)w2;
    return best_index;
}

void cflow_to_f32_min_max(const double *x, size_t n, float *out, double *lo, double *hi) {
    __m256d l = _mm256_set1_pd(INFINITY), h = _mm256_set1_pd(-INFINITY);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256d w = _mm256_loadu_pd(x + j);
        l = _mm256_min_pd(l, w);
        h = _mm256_max_pd(h, w);
        _mm_storeu_ps(out + j, _mm256_cvtpd_ps(w));
    }
    double ll[4], hh[4];
    _mm256_storeu_pd(ll, l);
    _mm256_storeu_pd(hh, h);
    double a = INFINITY, b = -INFINITY;
    for (int k = 0; k < 4; k++) { if (ll[k] < a) a = ll[k]; if (hh[k] > b) b = hh[k]; }
    for (; j < n; j++) { out[j] = (float)x[j]; if (x[j] < a) a = x[j]; if (x[j] > b) b = x[j]; }
    *lo = a;
    *hi = b;
}

void cflow_shifted_f32(const double *x, size_t n, double shift, float *out) {
    const __m256d s = _mm256_set1_pd(shift);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) _mm_storeu_ps(out + j, _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_loadu_pd(x + j), s)));
    for (; j < n; j++) out[j] = (float)(x[j] - shift);
}
