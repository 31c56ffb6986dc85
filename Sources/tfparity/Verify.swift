import ArgumentParser
import Foundation
import Importers
import Reports
import TFParityKit

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-run a model against values recorded from TensorFlow; exit 1 on a mismatch.")

    @Argument(help: "The model file written by 'tfparity convert'.")
    var model: String

    @Argument(help: "The recording (NPZ or HDF5): input, <bn layer>/pre_bn, <bn layer>/post_bn, output.")
    var recording: String

    @Option(
        help: ArgumentHelp(
            "How elements are judged: 'auto' (default) against the float32 rounding bound the engine computes at each "
                + "element; 'fixed' by |actual - expected| <= atol + rtol * |expected|.",
            valueName: "auto|fixed"))
    var tolerance: String?

    @Option(help: "Absolute tolerance of the fixed rule (default 1e-5); giving it selects the fixed rule.")
    var atol: Double?

    @Option(help: "Relative tolerance of the fixed rule (default 1e-4); giving it selects the fixed rule.")
    var rtol: Double?

    /// The fixed rule's tolerances, or nil for the automatic one.
    var fixedTolerance: Tolerance? {
        if tolerance == "auto" { return nil }
        guard tolerance == "fixed" || atol != nil || rtol != nil else { return nil }
        return Tolerance(atol: atol ?? Tolerance.default.atol, rtol: rtol ?? Tolerance.default.rtol)
    }

    @Flag(
        name: .customLong("end-to-end"),
        help: "Also run the whole model from 'input' and compare every recorded tensor.")
    var endToEnd = false

    @Option(
        help: ArgumentHelp(
            "How the recording lays out its 4-D tensors: nhwc (TensorFlow's) or nchw (channels-first, PyTorch's: "
                + "transposed to NHWC before comparing).", valueName: "nhwc|nchw"))
    var layout: RecordingLayout = .nhwc

    @Option(help: "Also write JUnit XML, one test case per layer and stage, to this file.")
    var junit: String?

    @OptionGroup var report: ReportOptions

    func validate() throws {
        if let tolerance, !["auto", "fixed"].contains(tolerance) {
            throw ValidationError("--tolerance must be 'auto' or 'fixed', got '\(tolerance)'")
        }
        if tolerance == "auto", atol != nil || rtol != nil {
            throw ValidationError("--atol and --rtol belong to the fixed rule; drop them or use --tolerance fixed")
        }
        if let atol, !(atol >= 0 && atol.isFinite) {
            throw ValidationError("--atol must be a non-negative number, got '\(atol)'")
        }
        if let rtol, !(rtol >= 0 && rtol.isFinite) {
            throw ValidationError("--rtol must be a non-negative number, got '\(rtol)'")
        }
        try paths.validate()
    }

    var paths: CommandPaths {
        CommandPaths(
            inputs: [("model", model), ("recording", recording)],
            outputs: [("--junit", junit), ("--report", report.report)])
    }

    func run() throws {
        var passed = false
        try runReportingErrors(paths: paths) {
            let result = try Verifier.verify(
                model: model, recording: recording,
                options: VerifyOptions(
                    tolerance: fixedTolerance, endToEnd: endToEnd,
                    progress: Terminal.progressBar(quiet: report.quiet), matrixProduct: commandLineMatrixProduct,
                    layout: layout))
            if let junit { try OutputFile.write(Rendering.junit(result), to: junit) }
            try report.emit(result)
            if Terminal.isGitHubActions, !result.passed {
                // Workflow commands are read from stdout; keep stdout parseable when it carries JSON.
                let annotations = Rendering.githubAnnotations(result)
                if report.format == .json {
                    FileHandle.standardError.write(Data((annotations + "\n").utf8))
                } else {
                    printOut(annotations)
                }
            }
            passed = result.passed
        }
        if !passed { throw ExitCode(1) }
    }
}

extension RecordingLayout: ExpressibleByArgument {}
