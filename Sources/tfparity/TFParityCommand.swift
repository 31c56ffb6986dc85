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
        subcommands: [Convert.self, Verify.self, Inspect.self, Fold.self, Export.self, ProbeHDF5.self]
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

/// Runs `body`; an input error becomes one `error:` line on stderr and exit code 2.
func runReportingErrors(_ body: () throws -> Void) throws {
    _ = Terminal.interruptHandlers
    HDF5Probe.install()
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        var message = "\(error)".split(whereSeparator: \.isNewline).joined(separator: "; ")
        switch error as? ImportError {
        case .noArchitecture: message += "; pass --spec SPEC.yaml naming its tensors"
        case .weightsWithoutConfig:
            message += "; pass --config CONFIG.json (the model's config.json from its .keras file, or model.to_json())"
        case nil: break
        }
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        throw ExitCode(2)
    }
}

/// The matrix product commands that run a model use: OpenBLAS where it loads, else the portable kernel. Only those
/// commands ask for it, so `convert` and `inspect` never load OpenBLAS (its start-up costs CPU time).
var commandLineMatrixProduct: MatrixProduct { Acceleration.fastestProduct() }

func printOut(_ text: String) {
    FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}
