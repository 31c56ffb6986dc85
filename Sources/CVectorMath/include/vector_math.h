#ifndef TFPARITY_VECTOR_MATH_H
#define TFPARITY_VECTOR_MATH_H

#include <stddef.h>

/// Whether this CPU (and its OS) runs the AVX2 kernels below, `__builtin_cpu_supports`; 0 on other architectures.
int tfparity_has_avx2(void);
/// Whether it runs the AVX-512 ones (AVX-512F).
int tfparity_has_avx512(void);

// Each kernel comes in two widths, `_avx2` (8 lanes) and `_avx512` (16): call one only where its `tfparity_has_…`
// says so. Every element is what ParityModel's portable Swift code computes for it (the same operations in the same
// order), bit for bit.

/// `y[i] = sigmoid(y[i])` in place, as ParityModel's `VectorMath.sigmoid`.
void tfparity_sigmoid_avx2(float *y, size_t count);
void tfparity_sigmoid_avx512(float *y, size_t count);

/// `y[i] = y[i] * sigmoid(y[i])` in place, as ParityModel's swish.
void tfparity_swish_avx2(float *y, size_t count);
void tfparity_swish_avx512(float *y, size_t count);

/// `y[i] = min(max(x[i], 0), maximum)` (`max(x[i], 0)` where `bounded` is 0) as Swift's `max` and `min` compute it;
/// `y` may be `x`.
void tfparity_clamp_avx2(const float *x, float *y, size_t count, int bounded, float maximum);
void tfparity_clamp_avx512(const float *x, float *y, size_t count, int bounded, float maximum);

/// For each whole row of `channels` among the `count` elements: `y[c] = x[c] * scale[c] + offset[c]`, a product
/// rounded, then a sum; `y` may be `x`.
void tfparity_scale_and_shift_avx2(
    const float *x, float *y, size_t count, const float *scale, const float *offset, size_t channels);
void tfparity_scale_and_shift_avx512(
    const float *x, float *y, size_t count, const float *scale, const float *offset, size_t channels);

/// One output pixel of a depthwise convolution with multiplier 1: `target[ci] = Σ origin[ky·row_step + kx·column_step
/// + ci] · k[(ky·kw + kx)·c + ci]` over `ky` in `[ky0, ky1)`, `kx` in `[kx0, kx1)`, summed from 0 in `(ky, kx)` order.
void tfparity_depthwise_pixel_avx2(float *target, const float *origin, const float *k, size_t c, size_t kw,
    ptrdiff_t row_step, ptrdiff_t column_step, size_t ky0, size_t ky1, size_t kx0, size_t kx1);
void tfparity_depthwise_pixel_avx512(float *target, const float *origin, const float *k, size_t c, size_t kw,
    ptrdiff_t row_step, ptrdiff_t column_step, size_t ky0, size_t ky1, size_t kx0, size_t kx1);

/// `tfparity_depthwise_pixel` for `pixels` pixels of one output row whose windows take every column of the kernel
/// (`kx` in `[0, kw)`): pixel `p` reads from `origin + p · input_step` and writes `target + p · output_step`.
void tfparity_depthwise_row_avx2(float *target, const float *origin, const float *k, size_t c, size_t kw,
    ptrdiff_t row_step, ptrdiff_t column_step, size_t ky0, size_t ky1, size_t pixels, ptrdiff_t input_step,
    size_t output_step);
void tfparity_depthwise_row_avx512(float *target, const float *origin, const float *k, size_t c, size_t kw,
    ptrdiff_t row_step, ptrdiff_t column_step, size_t ky0, size_t ky1, size_t pixels, ptrdiff_t input_step,
    size_t output_step);

#endif
