// ParityModel's portable vector kernels (Sources/ParityModel/Kernels: VectorMath's sigmoid and swish, the clamp of
// ReLU and ReLU6, batch normalisation's scale and shift, the depthwise convolution's pixel) in AVX2 and AVX-512: each
// lane the very operations the Swift SIMD8 code does at the baseline x86-64 target with SSE, in the same order, so
// every value is bit for bit the same (tests hold them to each other). Only adds, multiplies, a division and selects:
// no fused multiply-add (contraction is off), no reciprocal estimates. The kernels are written once, in
// vector_kernels.h, for a vector width.
#include "vector_math.h"

#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

int tfparity_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

int tfparity_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

// AVX2: 8 lanes.
#define W 8
#define TARGET "avx2"
#define SUFFIX avx2
#define V __m256
#define MASK __m256i
#define LOAD _mm256_loadu_ps
#define STORE _mm256_storeu_ps
#define MASK_FOR(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define MLOAD(m, p) _mm256_maskload_ps((p), (m))
#define MSTORE(m, p, v) _mm256_maskstore_ps((p), (m), (v))
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define MUL _mm256_mul_ps
#define DIV _mm256_div_ps
#define SET1 _mm256_set1_ps
#define ZERO _mm256_setzero_ps()
#define SELECT(m, a, b) _mm256_blendv_ps((b), (a), (m))
#define CMP_GE(a, b) _mm256_cmp_ps((a), (b), _CMP_GE_OQ)
#define CMP_LT(a, b) _mm256_cmp_ps((a), (b), _CMP_LT_OQ)
#define EXP_SCALE(t)                                                                                                  \
    _mm256_castsi256_ps(_mm256_slli_epi32(                                                                            \
        _mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000)),                     \
            _mm256_set1_epi32(127)),                                                                                  \
        23))
#include "vector_kernels.h"
#undef W
#undef TARGET
#undef SUFFIX
#undef V
#undef MASK
#undef LOAD
#undef STORE
#undef MASK_FOR
#undef MLOAD
#undef MSTORE
#undef ADD
#undef SUB
#undef MUL
#undef DIV
#undef SET1
#undef ZERO
#undef SELECT
#undef CMP_GE
#undef CMP_LT
#undef EXP_SCALE

// AVX-512 (the foundation instructions alone): 16 lanes, masks in k registers.
#define W 16
#define TARGET "avx512f"
#define SUFFIX avx512
#define V __m512
#define MASK __mmask16
#define LOAD _mm512_loadu_ps
#define STORE _mm512_storeu_ps
#define MASK_FOR(n) ((__mmask16)((1u << (n)) - 1u))
#define MLOAD(m, p) _mm512_maskz_loadu_ps((m), (p))
#define MSTORE(m, p, v) _mm512_mask_storeu_ps((p), (m), (v))
#define ADD _mm512_add_ps
#define SUB _mm512_sub_ps
#define MUL _mm512_mul_ps
#define DIV _mm512_div_ps
#define SET1 _mm512_set1_ps
#define ZERO _mm512_setzero_ps()
#define SELECT(m, a, b) _mm512_mask_blend_ps((m), (b), (a))
#define CMP_GE(a, b) _mm512_cmp_ps_mask((a), (b), _CMP_GE_OQ)
#define CMP_LT(a, b) _mm512_cmp_ps_mask((a), (b), _CMP_LT_OQ)
#define EXP_SCALE(t)                                                                                                  \
    _mm512_castsi512_ps(_mm512_slli_epi32(                                                                            \
        _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000)),                     \
            _mm512_set1_epi32(127)),                                                                                  \
        23))
#include "vector_kernels.h"

#else

int tfparity_has_avx2(void) { return 0; }
int tfparity_has_avx512(void) { return 0; }

#define TFPARITY_UNAVAILABLE(suffix)                                                                                  \
    void tfparity_sigmoid_##suffix(float *y, size_t count) { (void)y, (void)count; }                                \
    void tfparity_swish_##suffix(float *y, size_t count) { (void)y, (void)count; }                                  \
    void tfparity_clamp_##suffix(const float *x, float *y, size_t count, int bounded, float maximum) {               \
        (void)x, (void)y, (void)count, (void)bounded, (void)maximum;                                                  \
    }                                                                                                                 \
    void tfparity_scale_and_shift_##suffix(                                                                           \
        const float *x, float *y, size_t count, const float *scale, const float *offset, size_t channels) {           \
        (void)x, (void)y, (void)count, (void)scale, (void)offset, (void)channels;                                     \
    }                                                                                                                 \
    void tfparity_depthwise_pixel_##suffix(float *target, const float *origin, const float *k, size_t c, size_t kw,  \
        ptrdiff_t row_step, ptrdiff_t column_step, size_t ky0, size_t ky1, size_t kx0, size_t kx1) {                  \
        (void)target, (void)origin, (void)k, (void)c, (void)kw, (void)row_step, (void)column_step, (void)ky0,         \
            (void)ky1, (void)kx0, (void)kx1;                                                                          \
    }                                                                                                                 \
    void tfparity_depthwise_row_##suffix(float *target, const float *origin, const float *k, size_t c, size_t kw,     \
        ptrdiff_t row_step, ptrdiff_t column_step, size_t ky0, size_t ky1, size_t pixels, ptrdiff_t input_step,       \
        size_t output_step) {                                                                                         \
        (void)target, (void)origin, (void)k, (void)c, (void)kw, (void)row_step, (void)column_step, (void)ky0,         \
            (void)ky1, (void)pixels, (void)input_step, (void)output_step;                                             \
    }
TFPARITY_UNAVAILABLE(avx2)
TFPARITY_UNAVAILABLE(avx512)

#endif
