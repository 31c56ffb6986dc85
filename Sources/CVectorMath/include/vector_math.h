#ifndef TFPARITY_VECTOR_MATH_H
#define TFPARITY_VECTOR_MATH_H

#include <stddef.h>

/// Whether this CPU runs the AVX2 kernels below (`__builtin_cpu_supports`); 0 on other architectures.
int tfparity_has_avx2(void);

/// `y[i] = sigmoid(y[i])` in place, exactly as ParityModel's `VectorMath.sigmoid` computes each lane (the same
/// operations in the same order, eight lanes per AVX2 instruction). Call only where `tfparity_has_avx2()`.
void tfparity_sigmoid_avx2(float *y, size_t count);

/// `y[i] = y[i] * sigmoid(y[i])` in place, as ParityModel's swish computes it. Call only where `tfparity_has_avx2()`.
void tfparity_swish_avx2(float *y, size_t count);

#endif
