import Importers
import Reports
import TFParityKit
import Testing

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
}
