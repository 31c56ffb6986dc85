#ifndef TFPARITY_GEMM_H
#define TFPARITY_GEMM_H

#include <stddef.h>

// A float32 matrix product for the engine's layers, `y[rows, columns] = x[rows, inner] · w[inner, columns]` (all
// row-major), with the weights packed once into column panels of `tfparity_gemm_panel_width_…` floats. Each output is
// one chain of fused multiply-adds over `inner` in order, from zero, whatever the rows, the panels and the threads
// a caller splits the product into (so the values depend only on the product's shape and not on the instance: AVX2
// and AVX-512 give the same bits). Two instances: `_avx2` (AVX2 and FMA: panels of 16 columns, tiles of 6 rows; call
// it only where `tfparity_has_avx2_fma` says so) and `_avx512` (AVX-512F: panels of 32 columns, tiles of 12 rows;
// where `tfparity_has_avx512` says so).

/// Whether this CPU (and its OS) runs the AVX2 instance: AVX2 and FMA, `__builtin_cpu_supports`; 0 off x86-64.
int tfparity_has_avx2_fma(void);

/// The columns of one packed panel.
size_t tfparity_gemm_panel_width_avx2(void);
size_t tfparity_gemm_panel_width_avx512(void);

/// The rows of one tile: a caller that splits a product by rows splits it best on multiples of it.
size_t tfparity_gemm_tile_rows_avx2(void);
size_t tfparity_gemm_tile_rows_avx512(void);

/// Packs `w[inner, columns]` into `packed`, which holds `panels · inner · width` floats (`panels = ⌈columns /
/// width⌉`): panel `j` at `j · inner · width`, its row `p` at `+ p · width`, zeros past the last column.
void tfparity_gemm_pack_avx2(const float *w, size_t inner, size_t columns, float *packed);
void tfparity_gemm_pack_avx512(const float *w, size_t inner, size_t columns, float *packed);

/// What a finishing step does to each output `v` of column `c`, in the tile's registers before it is stored.
enum tfparity_gemm_step_kind {
    /// `v + a[c]` (a bias).
    TFPARITY_GEMM_ADD = 1,
    /// `v · a[c] + b[c]`, the product rounded, then the sum (a batch normalisation's scale and offset).
    TFPARITY_GEMM_SCALE_SHIFT = 2,
    /// `0 >= v ? 0 : v`, then, when `bounded`, `maximum < v ? maximum : v` (ReLU, ReLU6: NaN stays, -0 becomes +0).
    TFPARITY_GEMM_CLAMP = 3,
};

/// One finishing step; `a` and `b` hold a value for each of the product's columns (unused ones may be null).
typedef struct {
    int kind;
    int bounded;
    float maximum;
    const float *a;
    const float *b;
} tfparity_gemm_step;

/// The panels `[panel_begin, panel_end)` of `y[rows, columns] = x · w` (their columns of every row), `w` as the same
/// instance's `tfparity_gemm_pack_…` packed it; every element of those columns is written. Each output, once its sum is
/// complete, goes through `steps[0 ..< step_count]` in order before it is stored (none when `step_count` is 0): the
/// same values as those steps applied to the stored product.
void tfparity_gemm_avx2(const float *x, size_t rows, size_t inner, size_t columns, const float *packed, float *y,
    size_t panel_begin, size_t panel_end, const tfparity_gemm_step *steps, size_t step_count);
void tfparity_gemm_avx512(const float *x, size_t rows, size_t inner, size_t columns, const float *packed, float *y,
    size_t panel_begin, size_t panel_end, const tfparity_gemm_step *steps, size_t step_count);

#endif
