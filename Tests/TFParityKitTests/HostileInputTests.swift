import Foundation
import TensorCore
import TestSupport
import Testing

@testable import Importers
@testable import TFParityKit

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ErrorTextTests {
    @Test(arguments: [
        ("layer0/W", "layer0/W"),
        ("\u{1B}[31mred\u{1B}[0m", "\\x1b[31mred\\x1b[0m"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\u{07}\u{7F}\u{9B}\u{2028}", "\\x07\\x7f\\u{9b}\\u{2028}"),
        ("naïve/größe", "naïve/größe"),
    ])
    func controlCharactersAreSpelledOut(_ text: String, _ expected: String) {
        #expect(ErrorText.escaped(text) == expected)
    }
}

@Suite struct DocumentLimitsTests {
    @Test func aKerasConfigIsRefusedForItsLayersBeforeParsing() {
        let layer = #"{"class_name": "ReLU", "config": {"name": "[x]"}}"#
        let config =
            #"{"class_name": "Sequential", "config": {"layers": ["#
            + Array(repeating: layer, count: 11).joined(separator: ",") + "]}}"
        let limits = DocumentLimits(maximumBytes: 1 << 20, maximumLayers: 10, maximumDepth: 8, maximumNodes: 1000)
        #expect(
            throws: FileError(
                path: "c.json", reason: "the Keras model config lists more than 10 layers (tfparity reads at most 10)")
        ) {
            try limits.checkJSON(Array(config.utf8), path: "c.json")
        }
        // Brackets inside strings do not count as nesting; ten layers pass.
        let ten = config.replacingOccurrences(of: "[" + layer + ",", with: "[")
        #expect(throws: Never.self) { try limits.checkJSON(Array(ten.utf8), path: "c.json") }
        #expect(throws: FileError.self) {
            try limits.checkJSON(Array(("[" + String(repeating: "[", count: 8) + "]]]]]]]]]").utf8), path: "c.json")
        }
    }

    @Test func aSpecIsRefusedForItsLayersBeforeComposing() {
        let limits = DocumentLimits(maximumBytes: 1 << 20, maximumLayers: 3, maximumDepth: 8, maximumNodes: 100)
        let block = "layers:\n" + String(repeating: "  - type: relu\n", count: 4)
        let flow = #"{"layers": ["# + Array(repeating: #"{"type" : "relu"}"#, count: 4).joined(separator: ",") + "]}"
        for text in [block, flow] {
            #expect(throws: SpecError(path: "s.yaml", reason: "lists more than 3 layers (tfparity reads at most 3)")) {
                try limits.checkSpec(text, path: "s.yaml")
            }
        }
        // `types:` and `subtype:` are not layer types.
        #expect(throws: Never.self) {
            try limits.checkSpec("layers:\n  - {type: relu, subtype: 1, types: 2}\n", path: "s.yaml")
        }
    }
}

@Suite struct CommandPathsTests {
    @Test func anOutputNamingAnInputIsFoundHoweverItIsSpelled() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let source = dir.appendingPathComponent("params.npz").path
        try Data([1]).write(to: URL(fileURLWithPath: source))
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/link", withDestinationPath: "params.npz")
        try FileManager.default.linkItem(atPath: source, toPath: dir.path + "/hard")
        try FileManager.default.createDirectory(atPath: dir.path + "/sub", withIntermediateDirectories: false)
        for output in [source, dir.path + "/link", dir.path + "/hard", dir.path + "/sub/../params.npz"] {
            let paths = CommandPaths(inputs: [("source", source)], outputs: [("-o", output)])
            #expect(paths.outputProblem()?.contains("names the input source '\(source)'") == true, "\(output)")
        }
        let fresh = CommandPaths(inputs: [("source", source)], outputs: [("-o", dir.path + "/m.safetensors")])
        #expect(fresh.outputProblem() == nil)
        let twice = CommandPaths(
            inputs: [("model", source)], outputs: [("--junit", dir.path + "/r"), ("--report", dir.path + "/./r")])
        #expect(twice.outputProblem()?.contains("name the same file") == true)
    }

    @Test func anOutputThatIsNotARegularFileIsRefused() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        try #require(mkfifo(dir.path + "/pipe", 0o600) == 0)
        for (output, kind) in [
            ("/dev/null", "a character device"), (dir.path + "/pipe", "a FIFO"), (dir.path, "a directory"),
        ] {
            let paths = CommandPaths(inputs: [], outputs: [("-o", output)])
            #expect(paths.outputProblem()?.contains("is \(kind)") == true, "\(output)")
        }
        let input = CommandPaths(inputs: [("recording", dir.path + "/pipe")], outputs: [])
        #expect(throws: FileError(path: dir.path + "/pipe", reason: "is a FIFO (named pipe), not a regular file")) {
            try input.checkInputs()
        }
    }
}
