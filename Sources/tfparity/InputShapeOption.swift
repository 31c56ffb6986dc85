import ArgumentParser

/// A command taking `InputShapeOptions`, and how it words them.
protocol InputShapeHelp {
    static var recordingHelp: ArgumentHelp { get }
    static var inputShapeHelp: ArgumentHelp { get }
}

/// The `--recording` / `--input-shape` pair of `export` and `fold`: the input's shape comes from a recording, or from
/// the shape given, not both.
struct InputShapeOptions<Command: InputShapeHelp>: ParsableArguments {
    @Option(help: Command.recordingHelp)
    var recording: String?

    @Option(name: .customLong("input-shape"), help: Command.inputShapeHelp)
    var inputShape: String?

    /// True when either option was given.
    var isGiven: Bool { recording != nil || inputShape != nil }

    /// The shape `--input-shape` gives; nil when it was not given.
    var shape: [Int]? { inputShape.flatMap { Self.parse($0) } }

    /// `text` (`1,224,224,3`) as a shape: positive integers separated by commas; nil for anything else.
    static func parse(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return parts.compactMap { $0 }
    }

    /// Throws the usage error for a shape `parse` refuses, or for both options given. Called from the command's
    /// `validate()` at the point its checks put it (a `validate()` here would run before the command's own).
    func check() throws {
        if let inputShape, Self.parse(inputShape) == nil {
            throw ValidationError("--input-shape must be positive integers separated by commas, got '\(inputShape)'")
        }
        if recording != nil, inputShape != nil { throw ValidationError("give --recording or --input-shape, not both") }
    }
}
