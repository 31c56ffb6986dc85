import Foundation
import TestSupport
import Testing

/// The report options of the built binary: HTML, JUnit, GitHub annotations, formats, colour.
@Suite struct ReportCLITests {
    func model(in dir: URL) throws -> String {
        let output = dir.appendingPathComponent("seed.safetensors").path
        let result = try runTFParity([
            "convert", "Fixtures/seed/params.npz", "--spec", "Fixtures/seed/spec.yaml", "-o", output,
        ])
        #expect(result.status == 0)
        return output
    }

    @Test func verifyWritesHTMLAndJUnit() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let html = dir.appendingPathComponent("parity.html").path
        let junit = dir.appendingPathComponent("parity.xml").path
        let result = try runTFParity([
            "verify", try model(in: dir), "Fixtures/diagnosis/std-as-variance.npz", "--report", html, "--junit", junit,
        ])
        #expect(result.status == 1)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("std-as-variance") && page.contains("<svg"))
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("<failure") && xml.contains("std-as-variance"))
        #expect(!result.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
        #expect(result.stderr.isEmpty, "no progress bar when stderr is not a terminal")
    }

    @Test func githubActionsGetsErrorAnnotations() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = try model(in: dir)
        let text = try runTFParity(
            ["verify", model, "Fixtures/diagnosis/no-gamma.npz"], environment: ["GITHUB_ACTIONS": "true"])
        #expect(text.status == 1)
        #expect(text.stdout.contains("::error file=Fixtures/diagnosis/no-gamma.npz"))
        let json = try runTFParity(
            ["verify", model, "Fixtures/diagnosis/no-gamma.npz", "--format", "json"],
            environment: ["GITHUB_ACTIONS": "true"])
        #expect(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) is [String: Any], "stdout stays JSON")
        #expect(json.stderr.contains("::error"))
        let passing = try runTFParity(
            ["verify", model, "Fixtures/seed/recording.npz"], environment: ["GITHUB_ACTIONS": "true"])
        #expect(!passing.stdout.contains("::error"))
    }

    @Test func inspectWritesHTMLAndMarkdown() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let html = dir.appendingPathComponent("stats.html").path
        let result = try runTFParity([
            "inspect", "Fixtures/tiny_variance/params.h5", "--spec", "Fixtures/tiny_variance/spec.yaml", "--format",
            "markdown",
            "--report", html,
        ])
        #expect(result.status == 0)
        #expect(result.stdout.contains("#### batchnorm `layer0/bn`"))
        #expect(try String(contentsOfFile: html, encoding: .utf8).contains("moving_variance (log; red: below epsilon)"))
    }

    @Test func unwritableReportExitsTwo() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let result = try runTFParity([
            "inspect", try model(in: dir), "--report", dir.appendingPathComponent("no/such/dir/x.html").path,
        ])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains("does not exist"))
    }
}
