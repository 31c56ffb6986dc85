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
    /// The median of that ratio over the elements (from a histogram of 8 bins per octave: within 9 %).
    public var medianToleranceRatio: Double {
        ratioHistogram.median(count: count - nonFinite)
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
    /// (the rounding difference two correct implementations may have there), instead of a fixed tolerance.
    public init(actual: [Float], expected: [Float], bound: [Float]) {
        precondition(bound.count == actual.count, "a bound for every element")
        self.init(actual: actual, expected: expected, tolerance: Tolerance(atol: 0, rtol: 0), bound: bound)
    }

    private init(actual: [Float], expected: [Float], tolerance: Tolerance, bound: [Float]?) {
        precondition(actual.count == expected.count, "compared arrays differ in length")
        let cores = ProcessInfo.processInfo.activeProcessorCount
        guard actual.count >= 1 << 18, cores > 1 else {
            self.init(actual[...], expected[...], bound?[...], offset: 0, tolerance: tolerance)
            return
        }
        let chunks = cores * 2
        let parts = ComparisonParts(count: chunks)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let range = (chunk * actual.count / chunks)..<((chunk + 1) * actual.count / chunks)
            parts.set(
                chunk,
                Comparison(
                    actual[range], expected[range], bound?[range], offset: range.lowerBound, tolerance: tolerance))
        }
        self = parts.merged()
    }

    /// Compares `actual[i]` with `expected[i]` for the slices' common indices; `offset` is added to the index
    /// reported for the first mismatch.
    private init(
        _ actual: ArraySlice<Float>, _ expected: ArraySlice<Float>, _ bound: ArraySlice<Float>?, offset: Int,
        tolerance: Tolerance
    ) {
        count = actual.count
        mismatches = 0
        nonFinite = 0
        maxAbsError = 0
        maxRelError = 0
        maxToleranceRatio = 0
        firstMismatch = nil
        let floor = Double(RoundingBound.absoluteFloor)
        let bounds = bound.map { Array($0) }
        // The recorded values' mean magnitude, the scale an allowance is "uninformative" against.
        let typical =
            bounds == nil || expected.isEmpty
            ? 0 : expected.reduce(0.0) { $0 + (abs(Double($1)).isFinite ? abs(Double($1)) : 0) } / Double(expected.count)
        // The ratios are divided out only when they may raise the maximum (`error > max * denominator`), which keeps
        // divisions off the per-element path (the maxima agree with dividing every element to the last bit of rounding).
        actual.withUnsafeBufferPointer { actual in
            expected.withUnsafeBufferPointer { expected in
                for i in 0..<actual.count {
                    let a = Double(actual[i])
                    let e = Double(expected[i])
                    if a.isFinite && e.isFinite {
                        let error = abs(a - e)
                        let magnitude = abs(e)
                        let allowed =
                            bounds.map { Double($0[i]) + floor } ?? (tolerance.atol + tolerance.rtol * magnitude)
                        ratioHistogram.add(error / allowed)
                        if bounds != nil, allowed >= typical, typical > 0 { uninformative += 1 }
                        if error > maxAbsError { maxAbsError = error }
                        if error > maxRelError * magnitude, e != 0 { maxRelError = max(maxRelError, error / magnitude) }
                        if error > maxToleranceRatio * allowed, error > 0 {
                            maxToleranceRatio = max(maxToleranceRatio, allowed > 0 ? error / allowed : .infinity)
                        }
                        if error <= allowed { continue }
                    } else {
                        // NaN or an infinity on either side is a mismatch, even NaN against NaN.
                        nonFinite += 1
                        maxToleranceRatio = .infinity
                    }
                    mismatches += 1
                    if firstMismatch == nil { firstMismatch = (offset + i, a, e) }
                }
            }
        }
    }
}

/// The per-chunk results of one parallel comparison: each task writes only its own slot, and `merged()` reads them
/// after `concurrentPerform` has returned.
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

    mutating func add(_ ratio: Double) {
        guard ratio > 0 else {
            bins[0] += 1
            return
        }
        guard ratio.isFinite else {
            bins[Self.binCount - 1] += 1
            return
        }
        // The exponent and the top three significand bits: eight bins per octave, without a logarithm per element.
        let position = (Int(ratio.exponent) - Int(Self.lowest)) * 8 + Int(ratio.significandBitPattern >> 49)
        bins[min(max(position + 1, 0), Self.binCount - 1)] += 1
    }

    mutating func merge(_ other: RatioHistogram) {
        for i in bins.indices { bins[i] += other.bins[i] }
    }

    /// The geometric middle of the bin holding the median of `count` ratios; 0 when most are 0.
    func median(count: Int) -> Double {
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
