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
    /// Steps run in the test's directory first: `["copy", FROM, NAME]`, `["mkfifo", NAME]`, `["chardev", NAME]`,
    /// `["mkdir", NAME]`, `["symlink", TARGET, NAME]`, `["hardlink", EXISTING, NAME]` (see the corpus script).
    var setup: [[String]]?
    /// Variables set for the run (the HDF5 probe's timeout, for a file libhdf5 hangs on).
    var environment: [String: String]?
    var knownIssue: String?
    var testDescription: String { name }

    enum CodingKeys: String, CodingKey {
        case name, `class`, args, generate, setup, environment
        case exitCode = "exit_code"
        case errorPath = "error_path"
        case errorContains = "error_contains"
        case knownIssue = "known_issue"
    }

    /// The cases of `manifest.json` (corpus.py) and `attributes.json` (corpus_attributes.py: hostile layer attributes).
    static func load() -> [CorpusCase] {
        struct Manifest: Decodable { var cases: [CorpusCase] }
        return ["corpus/manifest.json", "corpus/attributes.json"].flatMap { name -> [CorpusCase] in
            guard let data = try? Data(contentsOf: fixture(name)),
                let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
            else { return [] }
            return manifest.cases
        }
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
        #expect(
            classes == [
                "npy", "npz", "safetensors", "hdf5", "tf-checkpoint", "spec", "recording", "special", "output", "keras",
                "layer-attributes",
            ])
    }

    @Test(arguments: cases)
    func hostileInput(_ entry: CorpusCase) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let before = try prepare(entry, in: dir)
        let snapshot = try Self.snapshot(dir)
        let arguments = try entry.args.map { try resolve($0, in: dir) }

        let result = try runTFParityMeasured(arguments, environment: entry.environment ?? [:], timeout: 60)

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
        } else if entry.exitCode == 64 {
            // A usage error: ArgumentParser's `Error: …` line and the usage text.
            #expect(result.stderr.hasPrefix("Error: "), "\(result.stderr)")
            for text in entry.errorContains {
                let wanted = try resolve(text, in: dir)
                #expect(result.stderr.contains(wanted), "'\(wanted)' missing from: \(result.stderr)")
            }
        } else {
            #expect(!result.stderr.contains("error:"), "\(result.stderr)")
            #expect(result.stdout.contains("FAILED"))
        }
        #expect(!result.stderr.utf8.contains(0x1B), "a raw escape byte reached stderr: \(result.stderr)")
        let after = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(Set(after) == before, "left behind: \(Set(after).subtracting(before).sorted())")
        #expect(try Self.snapshot(dir) == snapshot, "an input or a special file was changed")
        #expect(result.seconds < Self.secondsAllowed, "took \(result.seconds) s")
        #expect(result.maxRSSBytes < Self.bytesAllowed, "peak RSS \(result.maxRSSBytes >> 20) MiB")
    }

    /// Writes what the case needs into `dir` (a model to verify, a file too big to commit); returns the names there.
    private func prepare(_ entry: CorpusCase, in dir: URL) throws -> Set<String> {
        if entry.generate == "safetensors-million-tensors" {
            try Self.writeMillionTensors(to: dir.appendingPathComponent("millions.safetensors"))
        }
        if entry.generate == "spec-million-layers" {
            try Self.writeMillionLayerSpec(to: dir.appendingPathComponent("million.yaml"))
        }
        for step in entry.setup ?? [] { try Self.run(step, in: dir) }
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

    /// Makes one setup step's file in `dir`; FIFOs and device nodes cannot be committed, so they are made here.
    private static func run(_ step: [String], in dir: URL) throws {
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let manager = FileManager.default
        switch (step.first, step.count) {
        case ("copy", 3):
            try manager.copyItem(atPath: repositoryRoot.appendingPathComponent(step[1]).path, toPath: path(step[2]))
        case ("mkfifo", 2):
            try #require(mkfifo(path(step[1]), 0o600) == 0, "mkfifo: \(String(cString: strerror(errno)))")
        case ("chardev", 2):
            // A character device with /dev/null's numbers (1, 3): mknod as root, else a copy with `cp -a`.
            // glibc's makedev(1, 3) is (1 << 8) | 3.
            if mknod(path(step[1]), S_IFCHR | 0o600, dev_t((1 << 8) | 3)) != 0 {
                let copied = try runProcess(
                    URL(fileURLWithPath: "/bin/cp"), ["-a", "/dev/null", path(step[1])], in: dir)
                try #require(copied.status == 0, "cannot make a character device: \(copied.stderr)")
            }
        case ("mkdir", 2):
            try manager.createDirectory(atPath: path(step[1]), withIntermediateDirectories: true)
        case ("symlink", 3):
            try manager.createSymbolicLink(atPath: path(step[2]), withDestinationPath: step[1])
        case ("hardlink", 3):
            try manager.linkItem(atPath: path(step[1]), toPath: path(step[2]))
        default:
            Issue.record("unknown setup step \(step)")
        }
    }

    /// Every entry under `dir` (recursively, links not followed) with its kind, and a regular file's bytes.
    private static func snapshot(_ dir: URL) throws -> [String: Data] {
        var entries: [String: Data] = [:]
        let names = (FileManager.default.subpaths(atPath: dir.path) ?? []).sorted()
        for name in names {
            let path = dir.appendingPathComponent(name).path
            var status = stat()
            guard lstat(path, &status) == 0 else { continue }
            let kind = Data("\(status.st_mode & S_IFMT) \(status.st_rdev)".utf8)
            if status.st_mode & S_IFMT == S_IFREG, status.st_size < 64 << 20 {
                entries[name] = kind + ((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data())
            } else {
                entries[name] = kind
            }
        }
        return entries
    }

    /// A spec of 1,000,000 `relu` layers (13 MB, under the size cap), refused for its layer count.
    static func writeMillionLayerSpec(to url: URL) throws {
        var text = "layers:\n"
        text.reserveCapacity(14 << 20)
        for _ in 0..<1_000_000 { text += "- type: relu\n" }
        try Data(text.utf8).write(to: url)
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
