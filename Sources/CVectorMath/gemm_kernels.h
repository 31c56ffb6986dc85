// The matrix product of gemm.c, written for a vector width (AVX2: 8 lanes, tiles of 6 rows; AVX-512: 16 lanes,
// tiles of 12 rows). A panel is two vectors wide; a tile is MR rows of one panel, its 2·MR accumulators in registers,
// one broadcast of `x` and two loads of the panel for each inner position.
//
// Before including (each is undefined at the end, for the next instance): W, MR (6 or 12), GROUP_FLOATS (the floats
// of weights a group of panels holds, about half a core's L2 cache), TARGET, SUFFIX, and V, MASK, MASK_FOR(n) (the
// first n lanes, n ≤ W), LOAD/STORE, MLOAD(m, p)/MSTORE(m, p, v), SET1, ZERO, FMA(a, b, c) (a·b + c, rounded once),
// ADD and MUL (each rounded), SELECT(m, a, b) (a where m, else b), CMP_GE and CMP_LT (ordered: false when either is
// NaN).

#define FN2(name, suffix) name##_##suffix
#define FN1(name, suffix) FN2(name, suffix)
#define FN(name) FN1(name, SUFFIX)
#define ATTR __attribute__((target(TARGET)))
#define NR (2 * W)

size_t FN(tfparity_gemm_panel_width)(void) { return NR; }

size_t FN(tfparity_gemm_tile_rows)(void) { return MR; }

ATTR void FN(tfparity_gemm_pack)(const float *w, size_t inner, size_t columns, float *packed) {
    size_t panels = (columns + NR - 1) / NR;
    for (size_t j = 0; j < panels; j++) {
        size_t width = columns - j * NR < NR ? columns - j * NR : NR;
        float *panel = packed + j * inner * NR;
        for (size_t p = 0; p < inner; p++) {
            const float *row = w + p * columns + j * NR;
            size_t c = 0;
            for (; c < width; c++) panel[p * NR + c] = row[c];
            for (; c < NR; c++) panel[p * NR + c] = 0;
        }
    }
}

// A finishing step on one vector of a tile: `v` for the columns whose step values are `a` and `b` (loaded already).
ATTR static inline __attribute__((always_inline)) V FN(step)(const tfparity_gemm_step *s, V v, V a, V b, V top) {
    switch (s->kind) {
    case TFPARITY_GEMM_ADD: return ADD(v, a);
    case TFPARITY_GEMM_SCALE_SHIFT: return ADD(MUL(v, a), b);
    case TFPARITY_GEMM_CLAMP:
        v = SELECT(CMP_GE(ZERO, v), ZERO, v);
        return s->bounded ? SELECT(CMP_LT(top, v), top, v) : v;
    default: return v;
    }
}

// `mr` rows (at most MR) of one panel over the inner positions [0, k) of this block: `a` is x at the tile's first
// row and the block's first position (rows `lda` apart), `b` the panel's rows of the block, `y` the tile's first
// output (rows `ldy` apart), `n` the panel's real columns. `first`: the block starts the sums (from zero), else each
// continues from the value in `y`. `steps` (the last block only; `column` is the panel's first column) finish each
// sum in its register before it is stored.
ATTR static inline __attribute__((always_inline)) void FN(tile)(size_t mr, const float *a, size_t lda,
    const float *b, size_t k, float *y, size_t ldy, size_t n, int first, const tfparity_gemm_step *steps,
    size_t step_count, size_t column) {
    V acc[MR][2];
    MASK m0 = MASK_FOR(n >= W ? W : n);
    MASK m1 = MASK_FOR(n > W ? n - W : 0);
    for (size_t r = 0; r < mr; r++) {
        if (first) {
            acc[r][0] = ZERO;
            acc[r][1] = ZERO;
        } else if (n >= NR) {
            acc[r][0] = LOAD(y + r * ldy);
            acc[r][1] = LOAD(y + r * ldy + W);
        } else {
            acc[r][0] = MLOAD(m0, y + r * ldy);
            acc[r][1] = MLOAD(m1, y + r * ldy + W);
        }
    }
    // The panel's rows are prefetched 16 ahead (2 KB; a prefetch never faults, even past the end). Products of few
    // rows wait on their weights from memory (ResNet50's last stage at 64×64, 8 rows; a dense layer of 2): with it
    // they ran 10-20% faster on two cores here (hardware prefetching alone reached about 15 GB/s); others unchanged.
    for (size_t p = 0; p < k; p++) {
        _mm_prefetch((const char *)(b + (p + 16) * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + (p + 16) * NR + W), _MM_HINT_T0);
        V b0 = LOAD(b + p * NR), b1 = LOAD(b + p * NR + W);
        for (size_t r = 0; r < mr; r++) {
            V x = SET1(a[r * lda + p]);
            acc[r][0] = FMA(x, b0, acc[r][0]);
            acc[r][1] = FMA(x, b1, acc[r][1]);
        }
    }
    // A step's values for the panel's columns, loaded once for the tile (masked: no read past the last column).
    for (size_t s = 0; s < step_count; s++) {
        const tfparity_gemm_step *step = steps + s;
        V a0 = ZERO, a1 = ZERO, b0 = ZERO, b1 = ZERO, top = SET1(step->maximum);
        if (step->a) a0 = MLOAD(m0, step->a + column), a1 = MLOAD(m1, step->a + column + W);
        if (step->b) b0 = MLOAD(m0, step->b + column), b1 = MLOAD(m1, step->b + column + W);
        for (size_t r = 0; r < mr; r++) {
            acc[r][0] = FN(step)(step, acc[r][0], a0, b0, top);
            acc[r][1] = FN(step)(step, acc[r][1], a1, b1, top);
        }
    }
    if (n >= NR) {
        for (size_t r = 0; r < mr; r++) {
            STORE(y + r * ldy, acc[r][0]);
            STORE(y + r * ldy + W, acc[r][1]);
        }
    } else {
        for (size_t r = 0; r < mr; r++) {
            MSTORE(m0, y + r * ldy, acc[r][0]);
            MSTORE(m1, y + r * ldy + W, acc[r][1]);
        }
    }
}

// One function per tile height, so each one's loops over rows unroll and its accumulators stay in registers.
#define TILE(rows)                                                                                                    \
    ATTR static void FN1(tile##rows, SUFFIX)(const float *a, size_t lda, const float *b, size_t k, float *y,         \
        size_t ldy, size_t n, int first, const tfparity_gemm_step *steps, size_t step_count, size_t column) {         \
        FN(tile)(rows, a, lda, b, k, y, ldy, n, first, steps, step_count, column);                                    \
    }

typedef void (*FN(tile_function))(const float *, size_t, const float *, size_t, float *, size_t, size_t, int,
    const tfparity_gemm_step *, size_t, size_t);

TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6)
#if MR > 6
TILE(7) TILE(8) TILE(9) TILE(10) TILE(11) TILE(12)
#endif

// Indexed by tile height.
static const FN(tile_function) FN(tiles)[MR + 1] = {
    0, FN1(tile1, SUFFIX), FN1(tile2, SUFFIX), FN1(tile3, SUFFIX), FN1(tile4, SUFFIX), FN1(tile5, SUFFIX),
    FN1(tile6, SUFFIX),
#if MR > 6
    FN1(tile7, SUFFIX), FN1(tile8, SUFFIX), FN1(tile9, SUFFIX), FN1(tile10, SUFFIX), FN1(tile11, SUFFIX),
    FN1(tile12, SUFFIX),
#endif
};

ATTR void FN(tfparity_gemm)(const float *x, size_t rows, size_t inner, size_t columns, const float *packed, float *y,
    size_t panel_begin, size_t panel_end, const tfparity_gemm_step *steps, size_t step_count) {
    // The inner axis in blocks of KC; the panels in groups whose blocks fill about GROUP_FLOATS floats, each group's
    // blocks read once from memory and kept in the cache while every tile of rows goes over them, a tile's x block
    // staying in the L1 cache across the group. (Going over every panel for each tile read the whole matrix again for
    // each 12 rows: Xception's 728×728 products of 72 rows lost 1.5× to that.)
    enum { KC = 1024, GROUP = GROUP_FLOATS };
    for (size_t p0 = 0; p0 < inner; p0 += KC) {
        size_t k = inner - p0 < KC ? inner - p0 : KC;
        size_t group = GROUP / (k * NR) > 0 ? GROUP / (k * NR) : 1;
        size_t finishing = p0 + k == inner ? step_count : 0;
        for (size_t g0 = panel_begin; g0 < panel_end; g0 += group) {
            size_t g1 = g0 + group < panel_end ? g0 + group : panel_end;
            for (size_t i = 0; i < rows; i += MR) {
                size_t mr = rows - i < MR ? rows - i : MR;
                for (size_t j = g0; j < g1; j++) {
                    size_t n = columns - j * NR < NR ? columns - j * NR : NR;
                    FN(tiles)[mr](x + i * inner + p0, inner, packed + j * inner * NR + p0 * NR, k,
                        y + i * columns + j * NR, columns, n, p0 == 0, steps, finishing, j * NR);
                }
            }
        }
    }
}

#undef TILE
#undef NR
#undef ATTR
#undef FN
#undef FN1
#undef FN2
// The instance's parameters too, so that the next instance defines its own.
#undef W
#undef MR
#undef GROUP_FLOATS
#undef TARGET
#undef SUFFIX
#undef V
#undef MASK
#undef MASK_FOR
#undef LOAD
#undef STORE
#undef MLOAD
#undef MSTORE
#undef SET1
#undef ZERO
#undef FMA
#undef ADD
#undef MUL
#undef SELECT
#undef CMP_GE
#undef CMP_LT
