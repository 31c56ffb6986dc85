import ArgumentParser

/// The `--recording` / `--input-shape` pair of `export` and `fold`: the input's shape comes from a recording, or from
/// the shape given, not both.
enum InputShapeOption {
    /// `text` (`1,224,224,3`) as a shape: positive integers separated by commas; nil for anything else.
    static func parse(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return parts.compactMap { $0 }
    }

    /// Throws the usage error for a shape `parse` refuses, or for both options given; for `validate()`.
    static func validate(recording: String?, inputShape: String?) throws {
        if let inputShape, parse(inputShape) == nil {
            throw ValidationError("--input-shape must be positive integers separated by commas, got '\(inputShape)'")
        }
        if recording != nil, inputShape != nil { throw ValidationError("give --recording or --input-shape, not both") }
    }
}
