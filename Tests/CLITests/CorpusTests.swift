import Foundation
import TestSupport
import Testing

/// One case of `Fixtures/corpus/manifest.json` (written by `Scripts/fixtures/corpus.py`).
struct CorpusCase: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var `class`: String
    var args: [String]
    var exitCode: Int32
    var errorPath: String?
    var errorContains: [String]
    var generate: String?
    var knownIssue: String?
    var testDescription: String { name }

    enum CodingKeys: String, CodingKey {
        case name, `class`, args, generate
        case exitCode = "exit_code"
        case errorPath = "error_path"
        case errorContains = "error_contains"
        case knownIssue = "known_issue"
    }

    static func load() -> [CorpusCase] {
        struct Manifest: Decodable { var cases: [CorpusCase] }
        let url = fixture("corpus/manifest.json")
        guard let data = try? Data(contentsOf: url), let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
        else { return [] }
        return manifest.cases
    }
}

/// Every hostile or broken file of the corpus is refused the way the contract says: the right exit code, exactly one
/// `error: <file>[: <member>]: <reason>` line, no output or temporary file left behind, in under 10 s and 256 MiB.
@Suite struct CorpusTests {
    /// Cases with a `known_issue` (see the manifest) run only with `TFPARITY_SLOW_CORPUS=1`.
    static let cases = CorpusCase.load().filter {
        $0.knownIssue == nil || ProcessInfo.processInfo.environment["TFPARITY_SLOW_CORPUS"] == "1"
    }
    static let secondsAllowed = 10.0
    static let bytesAllowed = 256 << 20

    @Test func corpusCoversEveryClass() {
        let all = CorpusCase.load()
        let classes = Set(all.map(\.class))
        #expect(Self.cases.count >= 40)
        #expect(classes == ["npy", "npz", "safetensors", "hdf5", "tf-checkpoint", "spec", "recording"])
    }

    @Test(arguments: cases)
    func hostileInput(_ entry: CorpusCase) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let before = try prepare(entry, in: dir)
        let arguments = try entry.args.map { try resolve($0, in: dir) }

        let result = try runTFParityMeasured(arguments)

        #expect(result.signal == nil, "killed by signal \(result.signal ?? 0)")
        #expect(result.status == entry.exitCode, "stderr: \(result.stderr)")
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        if entry.exitCode == 2 {
            #expect(lines.count == 1, "expected one error line, got: \(lines)")
            let line = lines.first ?? ""
            let path = try resolve(entry.errorPath ?? "", in: dir)
            #expect(line.hasPrefix("error: \(path): "), "\(line)")
            for text in entry.errorContains {
                #expect(line.contains(try resolve(text, in: dir)), "'\(text)' missing from: \(line)")
            }
        } else {
            #expect(!result.stderr.contains("error:"), "\(result.stderr)")
            #expect(result.stdout.contains("FAILED"))
        }
        let after = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(Set(after) == before, "left behind: \(Set(after).subtracting(before).sorted())")
        #expect(result.seconds < Self.secondsAllowed, "took \(result.seconds) s")
        #expect(result.maxRSSBytes < Self.bytesAllowed, "peak RSS \(result.maxRSSBytes >> 20) MiB")
    }

    /// Writes what the case needs into `dir` (a model to verify, a file too big to commit); returns the names there.
    private func prepare(_ entry: CorpusCase, in dir: URL) throws -> Set<String> {
        if entry.generate == "safetensors-million-tensors" {
            try Self.writeMillionTensors(to: dir.appendingPathComponent("millions.safetensors"))
        }
        for argument in entry.args {
            guard let source = Self.modelSource(argument) else { continue }
            let converted = try runTFParity([
                "convert", source, "--spec", "Fixtures/seed/spec.yaml", "-o",
                dir.appendingPathComponent("model.safetensors").path,
            ])
            try #require(converted.status == 0, "\(converted.stderr)")
        }
        return Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
    }

    /// `{out}` is an output path in `dir`, `{tmp}` the directory itself, `{model:SOURCE}` the model converted from it.
    private func resolve(_ argument: String, in dir: URL) throws -> String {
        if Self.modelSource(argument) != nil { return dir.appendingPathComponent("model.safetensors").path }
        return argument.replacingOccurrences(of: "{out}", with: dir.appendingPathComponent("out.safetensors").path)
            .replacingOccurrences(of: "{tmp}", with: dir.path)
    }

    private static func modelSource(_ argument: String) -> String? {
        guard argument.hasPrefix("{model:"), argument.hasSuffix("}") else { return nil }
        return String(argument.dropFirst("{model:".count).dropLast())
    }

    /// A valid safetensors file of 1,000,000 one-byte tensors `t0`…`t999999` (a ~50 MB header), none of which the
    /// seed spec names.
    static func writeMillionTensors(to url: URL) throws {
        let count = 1_000_000
        var header = "{"
        header.reserveCapacity(count * 52)
        for i in 0..<count {
            if i > 0 { header += "," }
            header += "\"t\(i)\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[\(i),\(i + 1)]}"
        }
        header += "}"
        while header.utf8.count % 8 != 0 { header += " " }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + header.utf8.count + count)
        let length = UInt64(header.utf8.count)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(i)))) }
        bytes.append(contentsOf: header.utf8)
        bytes.append(contentsOf: repeatElement(0, count: count))
        try Data(bytes).write(to: url)
    }
}
