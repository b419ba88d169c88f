#ifndef FLOWGEN_CFLOWKERNELS_H
#define FLOWGEN_CFLOWKERNELS_H
/* Vectorised element-wise kernels (compiled with AVX2/FMA, see Package.swift). Internal to flowgen.
 * All arrays hold n floats and must not overlap unless stated. */
#include <stddef.h>

/** y = exp(x) (Cephes-style polynomial, ≈1 ulp; exp(-inf) = 0, exp(+inf) = +inf, NaN propagates). y may equal x. */
void cflow_exp(const float *x, float *y, size_t n);
/** y = 1 / (1 + exp(-x)). y may equal x. */
void cflow_sigmoid(const float *x, float *y, size_t n);
/** y = tanh(x). y may equal x. */
void cflow_tanh(const float *x, float *y, size_t n);
/** y = x > 0 ? scale·x : scale·alpha·(exp(x) − 1)  (ELU with scale 1, SELU with Klambauer's constants). y may equal x. */
void cflow_scaled_elu(const float *x, float *y, size_t n, float scale, float alpha);

/** y = x > 0 ? x : slope·x (ReLU for slope 0). y may equal x. */
void cflow_leaky_relu(const float *x, float *y, size_t n, float slope);

/* Backward passes of the activations: out = g · f'(x), from the saved input x and/or output y.
 * out may equal g. */
void cflow_leaky_relu_backward(const float *g, const float *x, float *out, size_t n, float slope);
void cflow_scaled_elu_backward(const float *g, const float *x, const float *y, float *out, size_t n,
                               float scale, float alpha);
void cflow_tanh_backward(const float *g, const float *y, float *out, size_t n);
void cflow_sigmoid_backward(const float *g, const float *y, float *out, size_t n);

/** One Adam/AdamW step over n parameters (PyTorch semantics):
 *  g' = g + l2·w;  m = b1·m + (1−b1)·g';  v = b2·v + (1−b2)·g'²;
 *  w = decay·w − step_size · m / (sqrt(v)/correction2_root + eps). */
void cflow_adam_update(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                       float b1, float b2, float step_size, float correction2_root, float eps,
                       float decay, float l2);
#endif
