#include "CFlowKernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

/* exp(x) by range reduction x = k ln2 + r, |r| ≤ ln2/2, a degree-5 minimax polynomial for e^r
 * (coefficients from Cephes expf) and 2^k assembled in the exponent bits. Branch-free so the
 * loops below vectorise.
 *
 * Range reduction of exp: x = k ln2 + r with |r| ≤ ln2/2 (ln2 split in two for accuracy); returns
 * e^r − 1 = r + r²·p(r) and sets *two_k = 2^k (k must lie in −126 … 127). */
static inline float exp_reduced_minus_one(float x, float *two_k) {
    float k = rintf(x * 1.44269504088896341f);
    float r = x - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    int32_t bits = ((int32_t)k + 127) << 23;
    memcpy(two_k, &bits, sizeof *two_k);
    return p * r * r + r;
}

static inline float exp_scalar(float x) {
    const float hi = 88.3762626647949f, lo = -87.3365447505531f;
    float scale;
    float e = exp_reduced_minus_one(fminf(fmaxf(x, lo), hi), &scale) + 1.0f;
    float y = e * scale;
    y = x < lo ? 0.0f : y;
    y = x > hi ? INFINITY : y;
    return x != x ? x : y;
}

/* The element-wise kernels below may run in place (y == x, the inference paths): each iteration reads x[i]
 * before writing y[i], so vectorising is safe for exact aliasing, which the compiler's runtime overlap check
 * would otherwise send to the scalar loop. Partially overlapping buffers are not supported. */
#define ELEMENTWISE _Pragma("clang loop vectorize(assume_safety)")

void cflow_exp(const float *x, float *y, size_t n) {
    ELEMENTWISE
    for (size_t i = 0; i < n; i++) y[i] = exp_scalar(x[i]);
}

void cflow_sigmoid(const float *x, float *y, size_t n) {
    ELEMENTWISE
    for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + exp_scalar(-x[i]));
}

void cflow_tanh(const float *x, float *y, size_t n) {
    ELEMENTWISE
    for (size_t i = 0; i < n; i++) {
        float xi = x[i];
        float a = fabsf(xi);
        /* tanh|x| = 1 − 2/(e^{2|x|} + 1); for tiny |x| use the series to keep relative accuracy. */
        float t = 1.0f - 2.0f / (exp_scalar(2.0f * a) + 1.0f);
        float small = xi * (1.0f - xi * xi * (1.0f / 3.0f));
        float r = a < 0.004f ? small : copysignf(t, xi);
        y[i] = xi != xi ? xi : r;
    }
}

void cflow_scaled_elu(const float *x, float *y, size_t n, float scale, float alpha) {
    const float negative_scale = scale * alpha;
    ELEMENTWISE
    for (size_t i = 0; i < n; i++) {
        float xi = x[i];
        /* e^x − 1 is only needed for x ≤ 0, where no overflow can occur (and below −87 it is −1 in float):
         * with x = k ln2 + r, e^x − 1 = 2^k (e^r − 1) + (2^k − 1), where e^r − 1 = r + r²·p(r) keeps full
         * relative accuracy near 0 (k = 0) and the two terms share their sign otherwise. */
        float two_k;
        float er_m1 = exp_reduced_minus_one(fmaxf(fminf(xi, 0.0f), -87.0f), &two_k);
        float em1 = two_k * er_m1 + (two_k - 1.0f);
        float out = xi > 0 ? scale * xi : negative_scale * em1;
        y[i] = xi != xi ? xi : out;
    }
}

void cflow_leaky_relu(const float *x, float *y, size_t n, float slope) {
    ELEMENTWISE
    for (size_t i = 0; i < n; i++) { float xi = x[i]; y[i] = xi > 0 ? xi : slope * xi; }
}

void cflow_leaky_relu_backward(const float *g, const float *x, float *out, size_t n, float slope) {
    for (size_t i = 0; i < n; i++) out[i] = x[i] > 0 ? g[i] : slope * g[i];
}

void cflow_scaled_elu_backward(const float *g, const float *x, const float *y, float *out, size_t n,
                               float scale, float alpha) {
    const float scaled_alpha = scale * alpha;
    for (size_t i = 0; i < n; i++) out[i] = g[i] * (x[i] > 0 ? scale : y[i] + scaled_alpha);
}

void cflow_tanh_backward(const float *g, const float *y, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = g[i] * (1.0f - y[i] * y[i]);
}

void cflow_sigmoid_backward(const float *g, const float *y, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = g[i] * y[i] * (1.0f - y[i]);
}

void cflow_adam_update(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                       float b1, float b2, float step_size, float correction2_root, float eps,
                       float decay, float l2) {
    const float inv_c2 = 1.0f / correction2_root;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + l2 * w[i];
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = decay * w[i] - step_size * mi / (sqrtf(vi) * inv_c2 + eps);
    }
}
