import Foundation
import ParityModel

/// Absolute and relative tolerance: an element passes when `|actual - expected| <= atol + rtol * |expected|`.
public struct Tolerance: Sendable, Equatable {
    public var atol: Double
    public var rtol: Double

    /// The contract's defaults: `atol = 1e-5`, `rtol = 1e-4`.
    public static let `default` = Tolerance(atol: 1e-5, rtol: 1e-4)

    public init(atol: Double, rtol: Double) {
        self.atol = atol
        self.rtol = rtol
    }

    /// Whether `actual` is within tolerance of `expected`; NaN or an infinity on either side never is.
    @inline(__always)
    public func accepts(_ actual: Double, _ expected: Double) -> Bool {
        guard actual.isFinite, expected.isFinite else { return false }
        return abs(actual - expected) <= atol + rtol * abs(expected)
    }
}

/// The outcome of comparing two equally long arrays element by element.
public struct Comparison: Sendable, Equatable {
    public var count: Int
    public var mismatches: Int
    /// Elements where either side is NaN or infinite (each also counts as a mismatch).
    public var nonFinite: Int
    /// The largest `|actual - expected|` over elements finite on both sides.
    public var maxAbsError: Double
    /// The largest `|actual - expected| / |expected|` over elements finite on both sides with `expected != 0`.
    public var maxRelError: Double
    /// The largest `|actual - expected|` divided by what the rule allows there (`atol + rtol * |expected|`, or the
    /// rounding bound plus its floor): above 1 fails. Infinite when the allowance is 0 and a value differs, or when a
    /// value is not finite.
    public var maxToleranceRatio: Double
    /// The largest allowance over the elements finite on both sides (`atol + rtol * |expected|`, or the bound plus its
    /// floor): the scale of what the rule allows, drawn beside the errors in the HTML report's error-against-depth plot.
    public var maxAllowance = 0.0
    /// The median of that ratio over the finite elements (from a histogram of 8 bins per octave, over an evenly spaced
    /// sample of up to 2¹⁶ of them: within 9 %).
    public var medianToleranceRatio: Double {
        ratioHistogram.median()
    }
    /// Elements whose allowance is at least the recorded tensor's mean magnitude (an error the size of a typical value
    /// would pass there):
    /// where a bound propagated through many layers says nothing, the report says so instead of implying a check.
    public var uninformative = 0
    /// Error-to-allowance ratios binned on a log scale, for the median.
    var ratioHistogram = RatioHistogram()
    /// The first failing element: its flat index and both values.
    public var firstMismatch: (index: Int, actual: Double, expected: Double)?

    public var passed: Bool { mismatches == 0 }

    public static func == (lhs: Comparison, rhs: Comparison) -> Bool {
        lhs.count == rhs.count && lhs.mismatches == rhs.mismatches && lhs.nonFinite == rhs.nonFinite
            && lhs.maxAbsError == rhs.maxAbsError && lhs.maxRelError == rhs.maxRelError
    }

    /// Compares `actual` with `expected` (equal counts) under `tolerance`.
    ///
    /// Long arrays are compared in chunks on all cores and the chunks' results merged; the result is the same as one
    /// pass in order (counts add up, maxima are maxima, the first mismatch is the first chunk's).
    public init(actual: [Float], expected: [Float], tolerance: Tolerance) {
        self.init(actual: actual, expected: expected, tolerance: tolerance, bound: nil)
    }

    /// Compares `actual` with `expected` where each element may differ by `bound[i] + RoundingBound.absoluteFloor`
    /// (the rounding difference two correct implementations may have there), instead of a fixed tolerance. An empty
    /// `bound` is an exact value's: every element is allowed the floor alone.
    public init(actual: [Float], expected: [Float], bound: [Float]) {
        precondition(bound.isEmpty || bound.count == actual.count, "a bound for every element, or none")
        self.init(actual: actual, expected: expected, tolerance: Tolerance(atol: 0, rtol: 0), bound: bound)
    }

    private init(actual: [Float], expected: [Float], tolerance: Tolerance, bound: [Float]?) {
        precondition(actual.count == expected.count, "compared arrays differ in length")
        // The recorded values' mean magnitude, the scale an allowance is "uninformative" against.
        let typical = bound == nil ? 0 : Self.meanMagnitude(expected)
        let sampling = Self.medianSampling(actual.count)
        let cores = Parallel.cores
        guard actual.count >= 1 << 18, cores > 1 else {
            self.init(
                actual[...], expected[...], bound?[...], offset: 0, tolerance: tolerance, typical: typical,
                sampling: sampling)
            return
        }
        let chunks = cores * 2
        let parts = ComparisonParts(count: chunks)
        Parallel.run(chunks) { chunk in
            let range = (chunk * actual.count / chunks)..<((chunk + 1) * actual.count / chunks)
            let part = bound.map { $0.isEmpty ? $0[...] : $0[range] }
            parts.set(
                chunk,
                Comparison(
                    actual[range], expected[range], part, offset: range.lowerBound, tolerance: tolerance,
                    typical: typical, sampling: sampling))
        }
        self = parts.merged()
    }

    /// Every how many elements the median's histogram takes one: all of them up to 2¹⁶, then an odd stride (odd, so
    /// it does not keep meeting the same channel of a power-of-two channel count) that takes 2¹⁵ to 2¹⁶ elements,
    /// evenly spread. A median from that many is as close as the histogram's bins (9 %) allow; dividing out every
    /// element's ratio for it was a quarter of the verdict's time on a large model.
    static func medianSampling(_ count: Int) -> Int { count <= 1 << 16 ? 1 : (count >> 16) | 1 }

    /// The mean of `|x|` over the finite elements' count of all (non-finite ones add nothing).
    private static func meanMagnitude(_ x: [Float]) -> Double {
        guard !x.isEmpty else { return 0 }
        var total = 0.0
        x.withUnsafeBufferPointer { x in
            for v in x where v.isFinite { total += Double(abs(v)) }
        }
        return total / Double(x.count)
    }

    /// Compares `actual[i]` with `expected[i]` for the slices' common indices; `offset` is added to the index
    /// reported for the first mismatch. `bound` nil: the fixed `tolerance`; empty: the floor alone.
    private init(
        _ actual: ArraySlice<Float>, _ expected: ArraySlice<Float>, _ bound: ArraySlice<Float>?, offset: Int,
        tolerance: Tolerance, typical: Double, sampling: Int
    ) {
        count = actual.count
        mismatches = 0
        nonFinite = 0
        maxAbsError = 0
        maxRelError = 0
        maxToleranceRatio = 0
        firstMismatch = nil
        let floor = Double(RoundingBound.absoluteFloor)
        let (atol, rtol) = (tolerance.atol, tolerance.rtol)
        var histogram = RatioHistogram()
        // Locals, not stored properties, in the loop: the compiler keeps them in registers.
        var (mismatches, nonFinite, uninformative) = (0, 0, 0)
        var (maxAbs, maxRel, maxRatio, maxAllowed) = (0.0, 0.0, 0.0, 0.0)
        var first: (index: Int, actual: Double, expected: Double)?
        let hasBound = bound.map { !$0.isEmpty } ?? false
        let fixed = bound == nil
        // The ratios are divided out only when they may raise the maximum (`error > max * denominator`), which keeps
        // divisions off the per-element path (the maxima agree with dividing every element to the last bit of rounding).
        actual.withUnsafeBufferPointer { actual in
            expected.withUnsafeBufferPointer { expected in
                (bound ?? [])[...].withUnsafeBufferPointer { bound in
                    @inline(__always) func allowance(_ i: Int, _ magnitude: Double) -> Double {
                        fixed ? atol + rtol * magnitude : (hasBound ? Double(bound[i]) : 0) + floor
                    }
                    // The median's sample: the elements whose index in the whole array is a multiple of `sampling`.
                    histogram.withBins { bins in
                        let remainder = offset % sampling
                        for i in stride(from: remainder == 0 ? 0 : sampling - remainder, to: actual.count, by: sampling)
                        {
                            let a = Double(actual[i])
                            let e = Double(expected[i])
                            guard a.isFinite && e.isFinite else { continue }
                            RatioHistogram.add(abs(a - e), over: allowance(i, abs(e)), to: bins)
                        }
                    }
                    /// One element, every case (the path for a block of eight with a failing or non-finite one).
                    func compareOne(_ i: Int) {
                        let a = Double(actual[i])
                        let e = Double(expected[i])
                        if a.isFinite && e.isFinite {
                            let error = abs(a - e)
                            let magnitude = abs(e)
                            let allowed = allowance(i, magnitude)
                            if !fixed, allowed >= typical, typical > 0 { uninformative += 1 }
                            if error > maxAbs { maxAbs = error }
                            if allowed > maxAllowed { maxAllowed = allowed }
                            if error > maxRel * magnitude, e != 0 { maxRel = max(maxRel, error / magnitude) }
                            if error > maxRatio * allowed, error > 0 {
                                maxRatio = max(maxRatio, allowed > 0 ? error / allowed : .infinity)
                            }
                            if error <= allowed { return }
                        } else {
                            // NaN or an infinity on either side is a mismatch, even NaN against NaN.
                            nonFinite += 1
                            maxRatio = .infinity
                        }
                        mismatches += 1
                        if first == nil { first = (offset + i, a, e) }
                    }
                    // Eight elements at a time in the same double-precision arithmetic as `compareOne` (the same
                    // maxima to the bit), without a branch per element: a block where any element fails or is not
                    // finite goes through `compareOne` instead.
                    typealias Lanes = SIMD8<Double>
                    let width = Lanes.scalarCount
                    var (blockAbs, blockRel, blockRatio, blockAllowed) = (Lanes(), Lanes(), Lanes(), Lanes())
                    var blockUninformative = SIMD8<Int64>()
                    let countsUninformative = !fixed && typical > 0
                    let (typicalLanes, floorLanes) = (Lanes(repeating: typical), Lanes(repeating: floor))
                    let (atolLanes, rtolLanes) = (Lanes(repeating: atol), Lanes(repeating: rtol))
                    @inline(__always) func lanes(_ p: UnsafeBufferPointer<Float>, _ i: Int) -> Lanes {
                        Lanes(UnsafeRawPointer(p.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self))
                    }
                    var i = 0
                    while i + width <= actual.count {
                        let a = lanes(actual, i)
                        let e = lanes(expected, i)
                        let difference = a - e
                        let error = difference.replacing(with: -difference, where: difference .< 0)
                        let magnitude = e.replacing(with: -e, where: e .< 0)
                        let allowed =
                            fixed
                            ? atolLanes + rtolLanes * magnitude
                            : (hasBound ? lanes(bound, i) : Lanes()) + floorLanes
                        // NaN compares false: a non-finite element fails `error <= allowed` and takes `compareOne`.
                        guard all(error .<= allowed), all(magnitude .<= Lanes(repeating: .greatestFiniteMagnitude))
                        else {
                            for j in i..<(i + width) { compareOne(j) }
                            i += width
                            continue
                        }
                        // Divided out only when a lane may raise its maximum, as `compareOne` does: after the first
                        // blocks the maxima rarely move, and two vector divisions per block were most of its cost.
                        if any(error .> blockRel * magnitude) {
                            let relative = (error / magnitude).replacing(with: 0, where: magnitude .== 0)
                            blockRel.replace(with: relative, where: relative .> blockRel)
                        }
                        if any(error .> blockRatio * allowed) {
                            let ratio = (error / allowed).replacing(with: 0, where: error .== 0)
                            blockRatio.replace(with: ratio, where: ratio .> blockRatio)
                        }
                        blockAbs.replace(with: error, where: error .> blockAbs)
                        blockAllowed.replace(with: allowed, where: allowed .> blockAllowed)
                        if countsUninformative {
                            blockUninformative &+= SIMD8<Int64>().replacing(with: 1, where: allowed .>= typicalLanes)
                        }
                        i += width
                    }
                    while i < actual.count {
                        compareOne(i)
                        i += 1
                    }
                    maxAbs = max(maxAbs, blockAbs.max())
                    maxRel = max(maxRel, blockRel.max())
                    maxRatio = max(maxRatio, blockRatio.max())
                    maxAllowed = max(maxAllowed, blockAllowed.max())
                    uninformative += Int(blockUninformative.wrappedSum())
                }
            }
        }
        self.mismatches = mismatches
        self.nonFinite = nonFinite
        self.uninformative = uninformative
        maxAbsError = maxAbs
        maxRelError = maxRel
        maxToleranceRatio = maxRatio
        maxAllowance = maxAllowed
        firstMismatch = first
        ratioHistogram = histogram
    }
}

/// The per-chunk results of one parallel comparison: each task writes only its own slot, and `merged()` reads them
/// after `Parallel.run` has returned.
private final class ComparisonParts: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Comparison?>
    private let count: Int

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    func set(_ index: Int, _ part: Comparison) { slots[index] = part }

    func merged() -> Comparison {
        let done = UnsafeBufferPointer(start: slots, count: count).compactMap { $0 }
        guard var total = done.first else { preconditionFailure("no comparison chunk was computed") }
        for part in done.dropFirst() {
            total.count += part.count
            total.mismatches += part.mismatches
            total.nonFinite += part.nonFinite
            total.maxAbsError = max(total.maxAbsError, part.maxAbsError)
            total.maxRelError = max(total.maxRelError, part.maxRelError)
            total.maxToleranceRatio = max(total.maxToleranceRatio, part.maxToleranceRatio)
            total.maxAllowance = max(total.maxAllowance, part.maxAllowance)
            total.ratioHistogram.merge(part.ratioHistogram)
            total.uninformative += part.uninformative
            if total.firstMismatch == nil { total.firstMismatch = part.firstMismatch }
        }
        return total
    }
}

/// Ratios binned on a log scale (8 bins per octave from 2⁻⁴⁰ to 2⁴⁰; zero and anything smaller in the first), for a
/// median without keeping every ratio.
struct RatioHistogram: Sendable, Equatable {
    static let binsPerOctave = 8.0
    static let lowest = -40.0
    static let binCount = 80 * 8 + 2
    private(set) var bins = [Int](repeating: 0, count: binCount)

    /// Counts `error / allowed` in `bins`: the exponent and the top three significand bits of the ratio give eight
    /// bins per octave, without a logarithm per element.
    @inline(__always)
    static func add(_ error: Double, over allowed: Double, to bins: UnsafeMutableBufferPointer<Int>) {
        let ratio = error / allowed
        let position: Int
        if !(ratio > 0) {
            position = 0
        } else if !ratio.isFinite {
            position = binCount - 1
        } else {
            position = min(
                max((Int(ratio.exponent) - Int(lowest)) * 8 + Int(ratio.significandBitPattern >> 49) + 1, 0),
                binCount - 1)
        }
        bins[position] += 1
    }

    /// The bins as one buffer for a loop of `add`s.
    mutating func withBins<R>(_ body: (UnsafeMutableBufferPointer<Int>) throws -> R) rethrows -> R {
        try bins.withUnsafeMutableBufferPointer { try body($0) }
    }

    mutating func merge(_ other: RatioHistogram) {
        for i in bins.indices { bins[i] += other.bins[i] }
    }

    /// The geometric middle of the bin holding the median of every ratio counted; 0 when most are 0.
    func median() -> Double {
        let count = bins.reduce(0, +)
        guard count > 0 else { return 0 }
        var seen = 0
        for (bin, n) in bins.enumerated() {
            seen += n
            if seen * 2 >= count {
                guard bin > 0 else { return 0 }
                return exp2(Double(bin - 1) / Self.binsPerOctave + Self.lowest + 0.5 / Self.binsPerOctave)
            }
        }
        return .infinity
    }
}
