import Foundation
import TensorCore
import Testing

/// The repository root, found from this file's location.
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A file under `Fixtures/`.
public func fixture(_ relativePath: String) -> URL {
    repositoryRoot.appendingPathComponent("Fixtures").appendingPathComponent(relativePath)
}

/// A fresh temporary directory; remove it with `removeTemporaryDirectory` in a `defer`.
public func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("tfparity-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

public func removeTemporaryDirectory(_ url: URL) {
    try? FileManager.default.removeItem(at: url)
}

/// Records an issue unless every element satisfies `|actual - expected| <= atol + rtol * |expected|`.
///
/// Counts must match first. NaN matches only NaN, and an infinity only the same infinity.
public func expectClose(
    _ actual: [Double], _ expected: [Double], atol: Double = 1e-6, rtol: Double = 1e-6,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.count == expected.count else {
        Issue.record("count \(actual.count) != expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var failures = 0
    var first = ""
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let ok: Bool
        if a.isNaN || e.isNaN {
            ok = a.isNaN && e.isNaN
        } else if a.isInfinite || e.isInfinite {
            ok = a == e
        } else {
            ok = abs(a - e) <= atol + rtol * abs(e)
        }
        if !ok {
            if failures == 0 { first = "element \(i): \(a) vs expected \(e)" }
            failures += 1
        }
    }
    if failures > 0 {
        Issue.record(
            "\(failures) of \(actual.count) elements differ; first at \(first)", sourceLocation: sourceLocation)
    }
}

public func expectClose(
    _ actual: [Float], _ expected: [Float], atol: Double = 1e-6, rtol: Double = 1e-6,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    expectClose(
        actual.map(Double.init), expected.map(Double.init), atol: atol, rtol: rtol, sourceLocation: sourceLocation)
}

/// Checks shapes, then values.
public func expectClose(
    _ actual: Tensor, _ expected: Tensor, atol: Double = 1e-6, rtol: Double = 1e-6,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.shape == expected.shape else {
        Issue.record("shape \(actual.shape) != expected \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    expectClose(actual.doubleValues(), expected.doubleValues(), atol: atol, rtol: rtol, sourceLocation: sourceLocation)
}
