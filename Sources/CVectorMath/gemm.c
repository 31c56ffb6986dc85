// The engine's float32 matrix product for x86-64 (gemm.h): a register-tiled kernel over weights packed once,
// written in gemm_kernels.h for a vector width and instanced twice, AVX2 with FMA (8 lanes, tiles of 6 rows: 12
// accumulators, two panel vectors and a broadcast in the 16 registers) and AVX-512 (16 lanes, tiles of 12 rows).
// Unlike vector_math.c's kernels these contract each product and sum into one fused multiply-add: a matrix
// product's summation order is its kernel's own (OpenBLAS's differs again), and the engine holds every kernel to the
// portable one within float32's rounding.
#include "gemm.h"

#if defined(__x86_64__)
#include <immintrin.h>

int tfparity_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// AVX2 and FMA. Its masks are vectors of lanes all ones or all zeros: an integer one for the masked loads and
// stores (a masked-off lane is neither read nor written, and never faults), a float one from the comparisons.
#define W 8
#define MR 6
#define GROUP_FLOATS (1 << 16)
#define TARGET "avx2,fma"
#define SUFFIX avx2
#define V __m256
#define MASK __m256i
#define MASK_FOR(n) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#define LOAD _mm256_loadu_ps
#define STORE _mm256_storeu_ps
#define MLOAD(m, p) _mm256_maskload_ps((p), (m))
#define MSTORE(m, p, v) _mm256_maskstore_ps((p), (m), (v))
#define SET1 _mm256_set1_ps
#define ZERO _mm256_setzero_ps()
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define MUL _mm256_mul_ps
#define SELECT(m, a, b) _mm256_blendv_ps((b), (a), (m))
#define CMP_GE(a, b) _mm256_cmp_ps((a), (b), _CMP_GE_OQ)
#define CMP_LT(a, b) _mm256_cmp_ps((a), (b), _CMP_LT_OQ)
#include "gemm_kernels.h"

// AVX-512F.
#define W 16
#define MR 12
#define GROUP_FLOATS (1 << 17)
#define TARGET "avx512f"
#define SUFFIX avx512
#define V __m512
#define MASK __mmask16
#define MASK_FOR(n) ((__mmask16)((1u << (n)) - 1u))
#define LOAD _mm512_loadu_ps
#define STORE _mm512_storeu_ps
#define MLOAD(m, p) _mm512_maskz_loadu_ps((m), (p))
#define MSTORE(m, p, v) _mm512_mask_storeu_ps((p), (m), (v))
#define SET1 _mm512_set1_ps
#define ZERO _mm512_setzero_ps()
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define MUL _mm512_mul_ps
#define SELECT(m, a, b) _mm512_mask_blend_ps((m), (b), (a))
#define CMP_GE(a, b) _mm512_cmp_ps_mask((a), (b), _CMP_GE_OQ)
#define CMP_LT(a, b) _mm512_cmp_ps_mask((a), (b), _CMP_LT_OQ)
#include "gemm_kernels.h"

#else

int tfparity_has_avx2_fma(void) { return 0; }

#define TFPARITY_GEMM_UNAVAILABLE(suffix)                                                                             \
    size_t tfparity_gemm_panel_width_##suffix(void) { return 1; }                                                     \
    size_t tfparity_gemm_tile_rows_##suffix(void) { return 1; }                                                       \
    void tfparity_gemm_pack_##suffix(const float *w, size_t inner, size_t columns, float *packed) {                   \
        (void)w, (void)inner, (void)columns, (void)packed;                                                            \
    }                                                                                                                 \
    void tfparity_gemm_##suffix(const float *x, size_t rows, size_t inner, size_t columns, const float *packed,       \
        float *y, size_t panel_begin, size_t panel_end, const tfparity_gemm_step *steps, size_t step_count) {         \
        (void)x, (void)rows, (void)inner, (void)columns, (void)packed, (void)y, (void)panel_begin, (void)panel_end;   \
        (void)steps, (void)step_count;                                                                                \
    }
TFPARITY_GEMM_UNAVAILABLE(avx2)
TFPARITY_GEMM_UNAVAILABLE(avx512)

#endif
