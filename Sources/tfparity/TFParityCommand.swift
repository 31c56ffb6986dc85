import ArgumentParser
import Foundation
import Importers
import ParityModel
import Platform
import Reports
import TFParityKit

@main
struct TFParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tfparity",
        abstract:
            "Take a trained TensorFlow/Keras network out of TensorFlow and prove the copy computes the same numbers.",
        version: toolVersion,
        // Each names itself (`commandName`): a name the parser derives from the type costs a String(describing:) of it
        // at every start, a search of every protocol conformance in the binary.
        subcommands: [
            Convert.self, Verify.self, Inspect.self, Fold.self, Export.self, ProbeHDF5.self, CatalogHDF5.self,
            TimeForward.self,
        ]
    )
}

/// Flags shared by the commands that print a report.
struct ReportOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: text, json or markdown.")
    var format: OutputFormat = .text

    @Option(name: .long, help: "Also write a self-contained HTML report (inline SVG plots) to this file.")
    var report: String?

    @Option(
        name: .customLong("report-layer"), help: "The batch-norm layer whose per-channel plots the HTML report shows.")
    var reportLayer: String?

    @Flag(name: .shortAndLong, help: "No progress bar.")
    var quiet = false
}

extension ReportOptions {
    /// Writes the HTML report when asked for, then prints the report in the chosen format.
    func emit(_ result: some RenderableReport) throws {
        if let report { try OutputFile.write(result.html(layer: reportLayer), to: report) }
        printOut(result.rendered(as: format, style: Terminal.style))
    }
}

extension OutputFormat: ExpressibleByArgument {}

/// Runs `body` once `paths`' inputs are checked; an input error becomes one `error:` line on stderr and exit code 2.
///
/// This is the one place errors are printed: control characters in the message (a tensor name holding terminal
/// escapes, a path with a newline) are escaped there, so the error is always one line and never drives the terminal.
func runReportingErrors(paths: CommandPaths? = nil, _ body: () throws -> Void) throws {
    _ = Terminal.interruptHandlers
    HDF5Probe.install()
    Memory.keepFreedMemory()
    do {
        try paths?.checkInputs()
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        var text = "\(error)"
        while text.last?.isNewline == true { text.removeLast() }
        switch error as? ImportError {
        case .noArchitecture: text += "; pass --spec SPEC.yaml naming its tensors"
        case .weightsWithoutConfig:
            text += "; pass --config CONFIG.json (the model's config.json from its .keras file, or model.to_json())"
        case nil: break
        }
        switch error as? GraphImportError {
        case .ambiguousOutputs(_, let candidates) where !candidates.isEmpty: text += "; name one with --outputs"
        case .ambiguousInputs(_, let candidates) where !candidates.isEmpty: text += "; name one with --inputs"
        case .unresolvedPredicate, .unfedPlaceholder: text += "; set it with --feed NAME=VALUE"
        case .noSignature: text += "; choose one with --signature"
        case .noTag: text += "; choose one with --tag"
        case .noMetaGraph: text += "; pass --graph FILE.meta, or --spec SPEC.yaml naming its tensors"
        default: break
        }
        FileHandle.standardError.write(Data("error: \(ErrorText.escaped(text))\n".utf8))
        throw ExitCode(2)
    }
}

/// The matrix product commands that run a model use: OpenBLAS where it loads, else the portable kernel. Only those
/// commands ask for it, so `convert` and `inspect` never load OpenBLAS (its start-up costs CPU time).
var commandLineMatrixProduct: MatrixProduct { Acceleration.fastestProduct() }

extension CommandPaths {
    /// Throws the usage error (exit 64) for an output that names an input or is not a regular file; for `validate()`.
    func validate() throws {
        if let problem = outputProblem() { throw ValidationError(problem) }
    }
}

func printOut(_ text: String) {
    FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}
