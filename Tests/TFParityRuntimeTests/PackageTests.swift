import Foundation
import TestSupport
import Testing

/// Runs `swift` with `arguments` in `directory`.
private func runSwift(_ arguments: [String], in directory: URL) throws -> CommandResult {
    try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["swift"] + arguments, in: directory)
}

@Suite(.serialized) struct PackageTests {
    /// The example package builds against the runtime product (its own scratch path, so it never waits on the
    /// build running these tests), loads the committed CNN model and reproduces TensorFlow's recorded output.
    @Test(.timeLimit(.minutes(10)))
    func examplePackageBuildsAndReproducesTheRecording() throws {
        let example = repositoryRoot.appendingPathComponent("Examples/RuntimeExample")
        let scratch = repositoryRoot.appendingPathComponent(".build/examples/RuntimeExample").path
        // Always from scratch: an earlier build's folder can hold a stale build description (files added since, or
        // objects built against an older layout of the package's types), which fails or crashes the example.
        try? FileManager.default.removeItem(atPath: scratch)
        let build = try runSwift(["build", "--scratch-path", scratch], in: example)
        try #require(build.status == 0, "swift build failed:\n\(build.stdout)\n\(build.stderr)")
        let binPath = try runSwift(["build", "--scratch-path", scratch, "--show-bin-path"], in: example)
        let binary = URL(fileURLWithPath: binPath.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            .appendingPathComponent("RuntimeExample")

        let process = Process()
        process.executableURL = binary
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.contains("softmax (activation): [4, 5]"))
        #expect(output.contains("0 mismatches"))
        #expect(output.hasSuffix("PASSED\n"))
    }

    /// Nothing the runtime product is built from is a system library, a binary target, C code or another package's
    /// product; so a package depending on it needs no libhdf5, no zlib and no C toolchain setup.
    @Test func runtimeDependsOnNoCLibrary() throws {
        let scratch = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(scratch) }
        let dump = try runSwift(["package", "--scratch-path", scratch.path, "dump-package"], in: repositoryRoot)
        try #require(dump.status == 0, "\(dump.stderr)")
        let manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        let targets = try #require(manifest["targets"] as? [[String: Any]])
        let byName = Dictionary(targets.compactMap { t in (t["name"] as? String).map { ($0, t) } }) { a, _ in a }
        let products = try #require(manifest["products"] as? [[String: Any]])
        let runtime = try #require(products.first { $0["name"] as? String == "TFParityRuntime" })
        var pending = try #require(runtime["targets"] as? [String])
        var reached: Set<String> = []
        while let name = pending.popLast() {
            guard reached.insert(name).inserted else { continue }
            let target = try #require(byName[name], "no target '\(name)'")
            #expect(target["type"] as? String == "regular", "\(name) is a \(target["type"] ?? "?") target")
            #expect(target["pkgConfig"] == nil || target["pkgConfig"] is NSNull, "\(name) uses pkg-config")
            let settings = "\(target["settings"] ?? "")"
            #expect(!settings.contains("linkedLibrary") && !settings.contains("unsafeFlags"), "\(name): \(settings)")
            let path = (target["path"] as? String) ?? "Sources/\(name)"
            let files = FileManager.default.enumerator(atPath: repositoryRoot.appendingPathComponent(path).path)
            while let file = files?.nextObject() as? String {
                let ext = (file as NSString).pathExtension
                #expect(!["c", "h", "cc", "cpp", "m", "mm", "modulemap", "s"].contains(ext), "\(name): \(file)")
            }
            for dependency in target["dependencies"] as? [[String: Any]] ?? [] {
                if let product = dependency["product"] {
                    Issue.record("\(name) depends on another package's product \(product)")
                }
                for kind in ["byName", "target"] {
                    if let entry = dependency[kind] as? [Any], let dependencyName = entry.first as? String {
                        pending.append(dependencyName)
                    }
                }
            }
        }
        #expect(reached == ["TFParityRuntime", "ParityModel", "SafeTensors", "TensorCore"])
    }
}
