// ParityModel's `VectorMath.exp` and `sigmoid` (Sources/ParityModel/Kernels/VectorMath.swift) in AVX2: each lane the
// very operations the Swift SIMD8 code does at the baseline x86-64 target with SSE, in the same order, so every value
// is bit for bit the same (a test holds them to each other). Only adds, multiplies, a division and selects: no
// fused multiply-add (the target has none and contraction is off), no reciprocal estimates.
#include "vector_math.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

int tfparity_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

__attribute__((target("avx2"))) static inline __m256 exp8(__m256 x) {
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    __m256 t = _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), magic);
    __m256 n = _mm256_sub_ps(t, magic);
    __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(0.693145751953125f)));
    r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(1.4286067653301870e-06f)));
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(r, _mm256_mul_ps(_mm256_mul_ps(r, r), p)));
    __m256i k = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000));
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(p, scale);
}

// Swift's `replace(with: c, where: m .> c)` keeps `m` where the comparison is false (NaN included): `minps(c, m)`
// returns its second operand unless `c < m`, the same select; likewise `maxps(c, m)` for `m .< c`.
__attribute__((target("avx2"))) static inline __m256 sigmoid8(__m256 x) {
    __m256 m = _mm256_sub_ps(_mm256_setzero_ps(), x);
    m = _mm256_min_ps(_mm256_set1_ps(88.0f), m);
    m = _mm256_max_ps(_mm256_set1_ps(-87.0f), m);
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp8(m)));
    // Exactly 0 below -89; NaN compares false and keeps its value.
    __m256 below = _mm256_cmp_ps(x, _mm256_set1_ps(-89.0f), _CMP_LT_OQ);
    return _mm256_andnot_ps(below, s);
}

__attribute__((target("avx2"))) static inline __m256 swish8(__m256 x) { return _mm256_mul_ps(x, sigmoid8(x)); }

// The tail through the same lanes, padded with zeros, as `VectorMath.map` does.
#define TFPARITY_MAP(name, f)                                                                                         \
    __attribute__((target("avx2"))) void name(float *y, size_t count) {                                             \
        size_t i = 0;                                                                                                 \
        for (; i + 8 <= count; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(y + i)));                          \
        if (i == count) return;                                                                                       \
        float tail[8] = {0};                                                                                          \
        for (size_t j = 0; j < count - i; j++) tail[j] = y[i + j];                                                    \
        _mm256_storeu_ps(tail, f(_mm256_loadu_ps(tail)));                                                             \
        for (size_t j = 0; j < count - i; j++) y[i + j] = tail[j];                                                    \
    }

TFPARITY_MAP(tfparity_sigmoid_avx2, sigmoid8)
TFPARITY_MAP(tfparity_swish_avx2, swish8)

#else

int tfparity_has_avx2(void) { return 0; }
void tfparity_sigmoid_avx2(float *y, size_t count) { (void)y; (void)count; }
void tfparity_swish_avx2(float *y, size_t count) { (void)y; (void)count; }

#endif
