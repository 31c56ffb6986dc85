import ArgumentParser
import Importers

/// The flags that say how to read a TensorFlow graph source, shared by `convert` and `inspect`.
struct GraphOptions: ParsableArguments {
    @Option(help: "A meta graph (.meta) giving a checkpoint's architecture, when <prefix>.meta is not beside it.")
    var graph: String?

    @Option(help: "The input placeholders, comma-separated op or op:N names (default: the one float placeholder).")
    var inputs: String?

    @Option(help: "The outputs, comma-separated op or op:N names (default: the sinks of the forward computation).")
    var outputs: String?

    @Option(
        name: .customLong("feed"),
        help: ArgumentHelp(
            "Set a scalar placeholder, NAME=VALUE (phase_train=false); repeatable. An unfed bool placeholder is "
                + "fed false.", valueName: "NAME=VALUE"))
    var feeds: [String] = []

    @Option(help: "The SavedModel meta graph's tag.")
    var tag: String = "serve"

    @Option(help: "The SavedModel signature.")
    var signature: String = "serving_default"

    func validate() throws {
        for feed in feeds where GraphFeed(parsing: feed) == nil {
            throw ValidationError("--feed '\(feed)' is not NAME=VALUE with a bool, integer or number value")
        }
    }

    /// What the importer takes.
    var importOptions: GraphImportOptions {
        func names(_ text: String?) -> [String] {
            (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return GraphImportOptions(
            graph: graph, inputs: names(inputs), outputs: names(outputs), feeds: feeds.compactMap(GraphFeed.init),
            savedModel: SavedModelSelection(tag: tag, signature: signature))
    }
}
