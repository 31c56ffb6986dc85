import ArgumentParser
import Importers
import Reports
import TFParityKit

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model's or a source's layers and batch-norm statistics.")

    @Argument(help: "A tfparity model, or a source (with --spec for its layers), or a TensorFlow checkpoint.")
    var file: String

    @Option(help: "YAML or JSON spec naming the source's tensors layer by layer.")
    var spec: String?

    @Option(
        name: .customLong("suggest-spec"),
        help:
            "Write a starting spec for the source's dense and batch-norm layers, found by name, to this file; for a TensorFlow graph, the spec of the layers read from it."
    )
    var suggestSpec: String?

    @Option(help: "Architecture JSON (model.to_json(), or a .keras file's config.json) for a Keras 3 .weights.h5.")
    var config: String?

    @OptionGroup var graph: GraphOptions

    @OptionGroup var report: ReportOptions

    func validate() throws {
        if suggestSpec != nil, spec != nil {
            throw ValidationError("--suggest-spec writes a spec for a source inspected without --spec")
        }
        try paths.validate()
    }

    var paths: CommandPaths {
        CommandPaths(
            inputs: [("file", file), ("--spec", spec), ("--config", config), ("--graph", graph.graph)],
            outputs: [("--report", report.report), ("--suggest-spec", suggestSpec)])
    }

    func run() throws {
        try runReportingErrors(paths: paths) {
            let result = try Inspector.inspect(path: file, spec: spec, config: config, graph: graph.importOptions)
            if let suggestSpec {
                try SpecSuggestion.write(for: result, to: suggestSpec)
            }
            try report.emit(result)
        }
    }
}
