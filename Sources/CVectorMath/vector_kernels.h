// The kernels of vector_math.c, written once for a vector width: included once with AVX2's 8 lanes and once with
// AVX-512's 16. Every lane computes what ParityModel's portable Swift code computes for that element (the same adds,
// multiplies and selects in the same order; contraction off), so the values are the same bit for bit whichever width
// runs; a partial vector at the end goes through the same lanes, masked.
//
// Before including: W (lanes), TARGET (the target attribute's string), SUFFIX (the functions' suffix), and the macros
// V (the vector type), MASK (its lane mask type), LOAD/STORE (unaligned), MASK_FOR(n) (the first n lanes),
// MLOAD(mask, p)/MSTORE(mask, p, v) (masked, zeros in the lanes left out), ADD, MUL, DIV, SET1, ZERO,
// SELECT(m, a, b) (a where the lane's bit of m is set, else b), CMP_GE(a, b), CMP_LT(a, b) (lane masks, false for NaN)
// and the integer ones the exponential needs (EXP_SCALE(t)).

#define FN2(name, suffix) name##_##suffix
#define FN1(name, suffix) FN2(name, suffix)
#define FN(name) FN1(name, SUFFIX)
#define ATTR __attribute__((target(TARGET)))

ATTR static inline V FN(exp_lanes)(V x) {
    const V magic = SET1(12582912.0f);
    V t = ADD(MUL(x, SET1(1.44269504f)), magic);
    V n = SUB(t, magic);
    V r = SUB(x, MUL(n, SET1(0.693145751953125f)));
    r = SUB(r, MUL(n, SET1(1.4286067653301870e-06f)));
    V p = SET1(1.9875691500e-4f);
    p = ADD(MUL(p, r), SET1(1.3981999507e-3f));
    p = ADD(MUL(p, r), SET1(8.3334519073e-3f));
    p = ADD(MUL(p, r), SET1(4.1665795894e-2f));
    p = ADD(MUL(p, r), SET1(1.6666665459e-1f));
    p = ADD(MUL(p, r), SET1(5.0000001201e-1f));
    p = ADD(SET1(1.0f), ADD(r, MUL(MUL(r, r), p)));
    return MUL(p, EXP_SCALE(t));
}

// Swift's `replace(with: c, where: m .> c)` keeps `m` where the comparison is false (NaN included), as the selects
// below do.
ATTR static inline V FN(sigmoid_lanes)(V x) {
    V m = SUB(ZERO, x);
    m = SELECT(CMP_LT(SET1(88.0f), m), SET1(88.0f), m);
    m = SELECT(CMP_LT(m, SET1(-87.0f)), SET1(-87.0f), m);
    const V one = SET1(1.0f);
    V s = DIV(one, ADD(one, FN(exp_lanes)(m)));
    // Exactly 0 below -89; NaN compares false and keeps its value.
    return SELECT(CMP_LT(x, SET1(-89.0f)), ZERO, s);
}

ATTR static inline V FN(swish_lanes)(V x) { return MUL(x, FN(sigmoid_lanes)(x)); }

// The tail through the same lanes, zeros in the others, as `VectorMath.map` pads it.
#define TFPARITY_MAP(name, f)                                                                                         \
    ATTR void FN(name)(float *y, size_t count) {                                                                      \
        size_t i = 0;                                                                                                 \
        for (; i + W <= count; i += W) STORE(y + i, f(LOAD(y + i)));                                                  \
        if (i == count) return;                                                                                       \
        MASK mask = MASK_FOR(count - i);                                                                              \
        MSTORE(mask, y + i, f(MLOAD(mask, y + i)));                                                                   \
    }

TFPARITY_MAP(tfparity_sigmoid, FN(sigmoid_lanes))
TFPARITY_MAP(tfparity_swish, FN(swish_lanes))
#undef TFPARITY_MAP

// `min(max(x, 0), maximum)` as Swift computes it: `0 >= v ? 0 : v` (NaN stays, -0 becomes +0), then
// `maximum < v ? maximum : v`.
ATTR static inline V FN(clamp_lanes)(V v, int bounded, V top) {
    v = SELECT(CMP_GE(ZERO, v), ZERO, v);
    if (bounded) v = SELECT(CMP_LT(top, v), top, v);
    return v;
}

ATTR void FN(tfparity_clamp)(const float *x, float *y, size_t count, int bounded, float maximum) {
    const V top = SET1(maximum);
    size_t i = 0;
    for (; i + W <= count; i += W) STORE(y + i, FN(clamp_lanes)(LOAD(x + i), bounded, top));
    if (i == count) return;
    MASK mask = MASK_FOR(count - i);
    MSTORE(mask, y + i, FN(clamp_lanes)(MLOAD(mask, x + i), bounded, top));
}

// Whole rows of `channels`: `y[c] = x[c] * scale[c] + offset[c]`, the product rounded, then the sum.
ATTR void FN(tfparity_scale_and_shift)(
    const float *x, float *y, size_t count, const float *scale, const float *offset, size_t channels) {
    size_t full = channels / W * W;
    MASK mask = MASK_FOR(channels - full);
    for (size_t start = 0; start + channels <= count; start += channels) {
        const float *source = x + start;
        float *target = y + start;
        size_t c = 0;
        for (; c < full; c += W) STORE(target + c, ADD(MUL(LOAD(source + c), LOAD(scale + c)), LOAD(offset + c)));
        if (c < channels) {
            V value = ADD(MUL(MLOAD(mask, source + c), MLOAD(mask, scale + c)), MLOAD(mask, offset + c));
            MSTORE(mask, target + c, value);
        }
    }
}

// One output pixel of a depthwise convolution with multiplier 1, as ParityModel's `depthwisePixel`: for each channel,
// the taps of rows `[ky0, ky1)` × columns `[kx0, kx1)` summed from 0 in (ky, kx) order, `source · weight` each.
// `origin` is where tap (0, 0) would read (only the taps inside the ranges are read); the kernel is [kh, kw, c].
ATTR void FN(tfparity_depthwise_pixel)(
    float *target, const float *origin, const float *k, size_t c, size_t kw, ptrdiff_t row_step,
    ptrdiff_t column_step, size_t ky0, size_t ky1, size_t kx0, size_t kx1) {
    size_t ci = 0;
    for (; ci + 4 * W <= c; ci += 4 * W) {
        V a0 = ZERO, a1 = ZERO, a2 = ZERO, a3 = ZERO;
        for (size_t ky = ky0; ky < ky1; ky++) {
            for (size_t kx = kx0; kx < kx1; kx++) {
                const float *s = origin + (ptrdiff_t)ky * row_step + (ptrdiff_t)kx * column_step + ci;
                const float *w = k + (ky * kw + kx) * c + ci;
                a0 = ADD(a0, MUL(LOAD(s), LOAD(w)));
                a1 = ADD(a1, MUL(LOAD(s + W), LOAD(w + W)));
                a2 = ADD(a2, MUL(LOAD(s + 2 * W), LOAD(w + 2 * W)));
                a3 = ADD(a3, MUL(LOAD(s + 3 * W), LOAD(w + 3 * W)));
            }
        }
        STORE(target + ci, a0);
        STORE(target + ci + W, a1);
        STORE(target + ci + 2 * W, a2);
        STORE(target + ci + 3 * W, a3);
    }
    for (; ci < c; ci += W) {
        MASK mask = MASK_FOR(c - ci < W ? c - ci : W);
        V a = ZERO;
        for (size_t ky = ky0; ky < ky1; ky++) {
            for (size_t kx = kx0; kx < kx1; kx++) {
                const float *s = origin + (ptrdiff_t)ky * row_step + (ptrdiff_t)kx * column_step + ci;
                a = ADD(a, MUL(MLOAD(mask, s), MLOAD(mask, k + (ky * kw + kx) * c + ci)));
            }
        }
        MSTORE(mask, target + ci, a);
    }
}

// A run of `pixels` output pixels of one output row whose windows lie inside the image's columns (every kx of
// [0, kw)), pixel `p` reading from `origin + p · input_step` and writing `target + p · output_step`: the values of
// `depthwise_pixel` for each, four pixels at a time so that four sums are in flight per vector of channels.
ATTR void FN(tfparity_depthwise_row)(
    float *target, const float *origin, const float *k, size_t c, size_t kw, ptrdiff_t row_step,
    ptrdiff_t column_step, size_t ky0, size_t ky1, size_t pixels, ptrdiff_t input_step, size_t output_step) {
    size_t p = 0;
    for (; p + 4 <= pixels; p += 4) {
        const float *o = origin + (ptrdiff_t)p * input_step;
        float *t = target + p * output_step;
        size_t ci = 0;
        // Two vectors of channels for the four pixels: eight sums in flight, 128 contiguous bytes read per pixel and tap.
        for (; ci + 2 * W <= c; ci += 2 * W) {
            V a0 = ZERO, a1 = ZERO, a2 = ZERO, a3 = ZERO, b0 = ZERO, b1 = ZERO, b2 = ZERO, b3 = ZERO;
            for (size_t ky = ky0; ky < ky1; ky++) {
                for (size_t kx = 0; kx < kw; kx++) {
                    const float *s = o + (ptrdiff_t)ky * row_step + (ptrdiff_t)kx * column_step + ci;
                    const float *kp = k + (ky * kw + kx) * c + ci;
                    V w = LOAD(kp), u = LOAD(kp + W);
                    a0 = ADD(a0, MUL(LOAD(s), w));
                    b0 = ADD(b0, MUL(LOAD(s + W), u));
                    a1 = ADD(a1, MUL(LOAD(s + input_step), w));
                    b1 = ADD(b1, MUL(LOAD(s + input_step + W), u));
                    a2 = ADD(a2, MUL(LOAD(s + 2 * input_step), w));
                    b2 = ADD(b2, MUL(LOAD(s + 2 * input_step + W), u));
                    a3 = ADD(a3, MUL(LOAD(s + 3 * input_step), w));
                    b3 = ADD(b3, MUL(LOAD(s + 3 * input_step + W), u));
                }
            }
            STORE(t + ci, a0);
            STORE(t + ci + W, b0);
            STORE(t + output_step + ci, a1);
            STORE(t + output_step + ci + W, b1);
            STORE(t + 2 * output_step + ci, a2);
            STORE(t + 2 * output_step + ci + W, b2);
            STORE(t + 3 * output_step + ci, a3);
            STORE(t + 3 * output_step + ci + W, b3);
        }
        for (; ci < c; ci += W) {
            MASK mask = MASK_FOR(c - ci < W ? c - ci : W);
            V a0 = ZERO, a1 = ZERO, a2 = ZERO, a3 = ZERO;
            for (size_t ky = ky0; ky < ky1; ky++) {
                for (size_t kx = 0; kx < kw; kx++) {
                    const float *s = o + (ptrdiff_t)ky * row_step + (ptrdiff_t)kx * column_step + ci;
                    V w = MLOAD(mask, k + (ky * kw + kx) * c + ci);
                    a0 = ADD(a0, MUL(MLOAD(mask, s), w));
                    a1 = ADD(a1, MUL(MLOAD(mask, s + input_step), w));
                    a2 = ADD(a2, MUL(MLOAD(mask, s + 2 * input_step), w));
                    a3 = ADD(a3, MUL(MLOAD(mask, s + 3 * input_step), w));
                }
            }
            MSTORE(mask, t + ci, a0);
            MSTORE(mask, t + output_step + ci, a1);
            MSTORE(mask, t + 2 * output_step + ci, a2);
            MSTORE(mask, t + 3 * output_step + ci, a3);
        }
    }
    for (; p < pixels; p++) {
        FN(tfparity_depthwise_pixel)(target + p * output_step, origin + (ptrdiff_t)p * input_step, k, c, kw,
            row_step, column_step, ky0, ky1, 0, kw);
    }
}

#undef ATTR
#undef FN
#undef FN1
#undef FN2
