import Importers
import ParityModel
import Reports
import TestSupport
import Testing

@testable import TFParityKit

@Suite struct ComparisonTests {
    /// Arrays long enough to be compared in chunks on all cores give the counts, maxima and first mismatch of one
    /// pass in order.
    @Test func chunkedComparisonMatchesOnePassInOrder() {
        let count = 1 << 19
        let expected = (0..<count).map { Float($0 % 1000) / 100 - 5 }
        var actual = expected
        // Mismatches only in the second half, so the first one must come from a later chunk.
        let failing = [count / 2 + 3, count / 2 + 10, count - 1]
        for i in failing { actual[i] += 1 }
        actual[count - 2] = .nan
        let comparison = Comparison(actual: actual, expected: expected, tolerance: .default)
        #expect(comparison.count == count)
        #expect(comparison.mismatches == failing.count + 1)
        #expect(comparison.nonFinite == 1)
        #expect(comparison.firstMismatch?.index == failing[0])
        #expect(abs(comparison.maxAbsError - 1) < 1e-6)
        #expect(comparison.maxToleranceRatio == .infinity)
    }

    /// The maxima the comparison divides out only where an element may raise them are those of dividing every
    /// element, in both rules (ratios spread over many octaves, so the running maxima move often and late).
    @Test(arguments: [false, true]) func maximaAreThoseOfDividingEveryElement(bounded: Bool) {
        var generator = SplitMix64(seed: 7)
        let count = 10_001
        let expected = (0..<count).map { _ in Float(generator.unit() * 2 - 1) * 100 }
        let actual = expected.enumerated().map { i, e in e + Float(generator.unit() - 0.5) * 1e-3 * Float(i % 97) }
        let bound = (0..<count).map { _ in Float(generator.unit()) * 1e-3 }
        let tolerance = Tolerance(atol: 1, rtol: 1)
        let comparison =
            bounded
            ? Comparison(actual: actual, expected: expected, bound: bound)
            : Comparison(actual: actual, expected: expected, tolerance: tolerance)
        var (maxRel, maxRatio) = (0.0, 0.0)
        for i in 0..<count {
            let (a, e) = (Double(actual[i]), Double(expected[i]))
            let error = abs(a - e)
            let allowed =
                bounded
                ? Double(bound[i]) + Double(RoundingBound.absoluteFloor) : tolerance.atol + tolerance.rtol * abs(e)
            if e != 0 { maxRel = max(maxRel, error / abs(e)) }
            maxRatio = max(maxRatio, error / allowed)
        }
        #expect(comparison.maxRelError == maxRel)
        #expect(comparison.maxToleranceRatio == maxRatio)
    }

    /// A batch-norm output's largest error per channel, channels last (the vector path) and first (runs of a channel),
    /// is each channel's maximum; a NaN in a channel is kept.
    @Test func perChannelMaximaInBothLayouts() throws {
        let (rows, channels) = (6, 5)
        let expected = (0..<(rows * channels)).map { Float($0) / 7 }
        var actual = expected
        for i in actual.indices { actual[i] += Float(i % 11) * 1e-3 }
        actual[2 * channels + 3] = .nan
        let last = Verifier.perChannelMaxAbsError(
            FloatTensor(shape: [rows, channels], values: actual),
            FloatTensor(shape: [rows, channels], values: expected),
            axis: -1)
        // The same values transposed to channels first.
        func transposed(_ x: [Float]) -> [Float] {
            (0..<(rows * channels)).map { x[($0 % rows) * channels + $0 / rows] }
        }
        let first = Verifier.perChannelMaxAbsError(
            FloatTensor(shape: [channels, rows], values: transposed(actual)),
            FloatTensor(shape: [channels, rows], values: transposed(expected)), axis: 0)
        let reference = (0..<channels).map { c in
            (0..<rows).map { r in abs(Double(actual[r * channels + c]) - Double(expected[r * channels + c])) }
                .reduce(0.0) { $1.isNaN || $0.isNaN ? .nan : max($0, $1) }
        }
        for (name, result) in [("channels last", last), ("channels first", first)] {
            let result = try #require(result, "\(name)")
            #expect(result.count == channels)
            for c in 0..<channels {
                #expect(result[c].isNaN == reference[c].isNaN, "\(name) channel \(c)")
                if !reference[c].isNaN { #expect(result[c] == reference[c], "\(name) channel \(c)") }
            }
        }
    }
}
