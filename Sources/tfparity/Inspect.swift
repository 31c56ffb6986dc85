import ArgumentParser
import TFParityKit

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's or a source's layers and batch-norm statistics.")

    @Argument(help: "A tfparity model, or a source (with --spec for its layers).")
    var file: String

    @Option(help: "YAML or JSON spec naming the source's tensors layer by layer.")
    var spec: String?

    @OptionGroup var report: ReportOptions

    func run() throws {
        try runReportingErrors {
            let result = try Inspector.inspect(path: file, spec: spec)
            try report.emit(result)
        }
    }
}
