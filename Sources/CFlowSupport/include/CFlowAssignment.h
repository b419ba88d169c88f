#ifndef FLOWGEN_CFLOWASSIGNMENT_H
#define FLOWGEN_CFLOWASSIGNMENT_H
/* Inner passes of the dense linear-assignment solver (Sources/FlowMatching/Assignment.swift,
 * AuctionInit.swift), written with AVX2 intrinsics. Internal to flowgen. Inputs are finite doubles. */
#include <stddef.h>

/** Auction bid scan: over j < n, w_j = row[j] − v[j]; writes the smallest (*best) and second smallest
 *  (*second, +inf when n = 1) value and returns the first index attaining *best. n ≥ 1. */
size_t cflow_lap_best_two(const double *row, const double *v, size_t n, double *best, double *second);

/** cflow_lap_best_two in single precision (the auction's bids, where only ε-accuracy matters):
 *  twice the lanes per instruction and half the memory traffic. n ≥ 1. */
size_t cflow_lap_best_two_f32(const float *row, const float *v, size_t n, float *best, float *second);

/** out[j] = (float)x[j] for j < n, and the smallest and largest x[j] (n ≥ 1), in one pass. */
void cflow_to_f32_min_max(const double *x, size_t n, float *out, double *lo, double *hi);

/** out[j] = (float)(x[j] − shift) for j < n (the auction's single-precision copy of the costs). */
void cflow_shifted_f32(const double *x, size_t n, double shift, float *out);

/** Dijkstra relaxation from one scanned row: for j < n, c = row[j] − v[j] − h + penalty[j];
 *  if c < d[j] then d[j] = c and pred[j] = row_index. Returns min_j (d[j] + penalty[j]) after the update
 *  and its first index in *best_j (penalty[j] = +inf marks scanned columns; returns +inf, *best_j = n
 *  when every column is scanned). */
double cflow_lap_relax(const double *row, const double *v, const double *penalty, double *d, double *pred,
                       double h, double row_index, size_t n, size_t *best_j);

/** Squared Euclidean distances out[i·m + j] = Σ_k (a[i·d + k] − b[j·d + k])² in double, for a [n, d]
 *  and b [m, d] floats. */
void cflow_squared_distances(const float *a, const float *b, size_t n, size_t m, size_t d, double *out);

#endif
