/// Float32 `exp`, sigmoid and GELU eight lanes at a time, for the activations that called the C library once per
/// element (EfficientNet's swish, ConvNeXt's GELU: a fifth of their forward passes went to `expf` and `erfcf`).
///
/// Each lane is computed on its own, so a value does not depend on where it sits in a buffer or on how a loop is
/// split. The verdict allows an elementary function `RoundingBound.elementaryFunctionUlps` (8) units of `u·|y|` between
/// two implementations; over a sweep of every 64th float32 (ActivationAccuracyTests holds a sparser one) against
/// float64 references these take at most 0.30 (sigmoid), 0.36 (swish) and 0.36 (GELU, whose negative side also has the
/// verdict's absolute `4·8·u`) of it, libm's formulas 0.29, about the same, and 0.27.
enum VectorMath {
    typealias V = SIMD8<Float>

    /// eˣ for `x` in [-87, 88] (the caller clamps): x = n·ln2 + r with |r| ≤ ln2/2 (ln2 in two parts, so `r` is
    /// nearly exact), eʳ by a degree-6 polynomial, 2ⁿ from the exponent bits.
    @inline(__always)
    static func exp(_ x: V) -> V {
        let magic = V(repeating: 12_582_912)  // 1.5·2²³: adding it rounds to an integer
        let t = x * V(repeating: 1.442_695_04) + magic
        let n = t - magic
        var r = x - n * V(repeating: 0.693_145_751_953_125)
        r = r - n * V(repeating: 1.428_606_765_330_187_0e-06)
        // eʳ = 1 + (r + r²·P(r)), P Cephes' minimax polynomial for expf: the one rounding that matters is the last
        // sum's.
        var p = V(repeating: 1.987_569_150_0e-4)
        p = p * r + V(repeating: 1.398_199_950_7e-3)
        p = p * r + V(repeating: 8.333_451_907_3e-3)
        p = p * r + V(repeating: 4.166_579_589_4e-2)
        p = p * r + V(repeating: 1.666_666_545_9e-1)
        p = p * r + V(repeating: 5.000_000_120_1e-1)
        p = V(repeating: 1) + (r + (r * r) * p)
        // n sits in the low bits of t's significand.
        let k = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((k &+ 127) &<< 23, to: V.self)
        return p * scale
    }

    /// 1 / (1 + e⁻ˣ) (NaN for NaN: the clamps keep it, `exp` and the quotient pass it on); exactly 0 below -89 (as TensorFlow's overflowing `exp` gives, and so `swish(-∞)` is NaN as
    /// there), NaN for NaN; between -89 and -87 a value below 10⁻³⁷ (the verdict's absolute floor covers the tail).
    @inline(__always)
    static func sigmoid(_ x: V) -> V {
        var m = -x
        m.replace(with: V(repeating: 88), where: m .> V(repeating: 88))
        m.replace(with: V(repeating: -87), where: m .< V(repeating: -87))
        var s = V(repeating: 1) / (V(repeating: 1) + exp(m))
        s.replace(with: V(), where: x .< V(repeating: -89))
        return s
    }

    /// `1 + erf(z)` (= erfc(−z)), accurate to about one unit of float32 rounding of 1 in absolute terms: below 1 in
    /// magnitude `erf(z) = z·P(z²)`, above `erfc(|z|)` by a degree-12 polynomial in `|z| − 2.5` on [1, 4] (least-squares
    /// fits at Chebyshev points, float32 coefficients; past 4, erfc is below 1.6·10⁻⁸ and taken as 0).
    @inline(__always)
    static func onePlusErf(_ z: V) -> V {
        let a = z.replacing(with: -z, where: z .< V())
        let s = a * a
        var small = V(repeating: -5.696_655_716_747_046e-4)
        small = small * s + V(repeating: 4.934_506_956_487_894e-3)
        small = small * s + V(repeating: -2.672_698_162_496_09e-2)
        small = small * s + V(repeating: 1.128_078_848_123_550_4e-1)
        small = small * s + V(repeating: -3.761_241_436_004_638_7e-1)
        small = small * s + V(repeating: 1.128_379_106_521_606_4)
        small = small * a
        var t = a.replacing(with: V(repeating: 4), where: a .> V(repeating: 4)) - V(repeating: 2.5)
        t.replace(with: V(repeating: -1.5), where: t .< V(repeating: -1.5))
        var big = V(repeating: 8.709_190_296_940_506e-6)
        big = big * t + V(repeating: -2.140_609_649_359_248_6e-5)
        big = big * t + V(repeating: -5.941_226_118_011_4e-5)
        big = big * t + V(repeating: 2.808_724_239_002_913e-4)
        big = big * t + V(repeating: -2.920_029_801_316_559_3e-4)
        big = big * t + V(repeating: -5.742_036_737_501_621e-4)
        big = big * t + V(repeating: 2.823_757_939_040_661e-3)
        big = big * t + V(repeating: -6.100_024_562_329_054e-3)
        big = big * t + V(repeating: 8.612_778_037_786_484e-3)
        big = big * t + V(repeating: -8.354_324_847_459_793e-3)
        big = big * t + V(repeating: 5.447_070_579_975_843e-3)
        big = big * t + V(repeating: -2.177_979_331_463_575_4e-3)
        big = big * t + V(repeating: 4.069_206_479_471_177e-4)
        big.replace(with: V(), where: a .> V(repeating: 4))
        let positive = z .>= V()
        let one = V(repeating: 1)
        let near = (one + small).replacing(with: one - small, where: .!positive)
        let far = big.replacing(with: V(repeating: 2) - big, where: positive)
        return near.replacing(with: far, where: a .>= one)
    }

    /// `0.5·x·erfc(−x/√2)` (Keras' exact GELU); NaN for NaN (no select takes it out of the polynomials).
    @inline(__always)
    static func gelu(_ x: V) -> V {
        V(repeating: 0.5) * x * onePlusErf(x * V(repeating: 0.707_106_781_186_547_6))
    }
}

extension VectorMath {
    /// `y[i] = f(y[i])` for a lane-wise `f`, eight elements at a time, the tail through the same `f` (padded with
    /// zeros), so every element gets the value `f` gives it wherever it sits.
    @inline(__always)
    static func map(_ y: UnsafeMutableBufferPointer<Float>, _ f: (V) -> V) {
        guard let base = y.baseAddress else { return }
        var i = 0
        while i + 8 <= y.count {
            let p = UnsafeMutableRawPointer(base + i)
            p.storeBytes(of: f(p.loadUnaligned(as: V.self)), as: V.self)
            i += 8
        }
        guard i < y.count else { return }
        var tail = V()
        for j in 0..<(y.count - i) { tail[j] = base[i + j] }
        let result = f(tail)
        for j in 0..<(y.count - i) { base[i + j] = result[j] }
    }
}
