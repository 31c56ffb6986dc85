import Foundation
import Importers
import TFCheckpoint
import TensorCore

/// One checkpoint entry as `tf.train.list_variables` lists it, with what tfparity makes of it.
public struct CheckpointVariable: Sendable, Equatable {
    public var name: String
    /// TensorFlow's dtype name (`float32`, `int64`, `string`…).
    public var dtype: String
    public var shape: [Int]
    /// Why the entry is not a model parameter, or is not read: `string, skipped`, `optimizer slot`, …; nil otherwise.
    public var note: String?
}

/// Checkpoint variables that look like one batch-norm layer's parameters, grouped by the layer's scope.
public struct BatchNormGroup: Sendable, Equatable {
    /// The scope: `layer0/bn`, `model/layer_with_weights-1`.
    public var name: String
    public var channels: Int?
    public var gamma: String?
    public var beta: String?
    /// `moving_mean`, or the ExponentialMovingAverage shadow of the batch mean (TF1).
    public var movingMean: String?
    public var movingVariance: String?
}

/// What `inspect` reports about a checkpoint inspected without a spec.
public struct CheckpointReport: Sendable {
    public var file: String
    public var kind: String
    public var prefix: String
    public var shardCount: Int
    public var variables: [CheckpointVariable]
    public var batchNorms: [BatchNormGroup]
    public var warnings: [String]
}

/// Listing a checkpoint, grouping its batch-norm parameters, and suggesting a spec by name matching.
public enum CheckpointInspector {
    static func report(_ source: CheckpointSource, kind: SourceKind) -> CheckpointReport {
        let bundle = source.bundle
        let variables = bundle.entries.map { entry in
            CheckpointVariable(
                name: entry.name, dtype: entry.dtypeName, shape: entry.shape, note: note(for: entry))
        }
        let parameters = variables.filter { $0.note == nil }.map { (name: $0.name, shape: $0.shape) }
        var warnings: [String] = []
        for entry in bundle.entries {
            if case .partitioned(let slices) = entry.kind {
                warnings.append(
                    "\(entry.name) is a partitioned variable (\(slices) slices): tfparity cannot convert it; "
                        + "re-save it unpartitioned.")
            }
        }
        return CheckpointReport(
            file: source.path, kind: kind.rawValue, prefix: bundle.prefix, shardCount: bundle.dataPaths.count,
            variables: variables, batchNorms: SpecSuggestion.batchNormGroups(parameters), warnings: warnings)
    }

    private static func note(for entry: BundleEntry) -> String? {
        switch entry.kind {
        case .string: return "string, skipped"
        case .partitioned(let slices): return "partitioned (\(slices) slices), not supported"
        case .unsupported: return "unsupported dtype"
        case .tensor:
            if CheckpointSource.isBookkeeping(entry.name) { return "bookkeeping" }
            if SpecSuggestion.isOptimizerState(entry.name) { return "optimizer state" }
            return nil
        }
    }
}

/// A starting spec for a dense + batch-norm stack, from variable names alone.
///
/// Recognises TF1 names (`layerN/W` or `kernel`/`weights`, `layerN/b` or `bias`/`biases`, `…/bn/gamma`, `beta`,
/// `moving_mean`/`moving_variance` or the ExponentialMovingAverage shadows of `moments/Squeeze` and `Squeeze_1`)
/// and TF2 object names (`model/layer_with_weights-N/kernel/.ATTRIBUTES/VARIABLE_VALUE`, `gamma`, `beta`,
/// `moving_mean`, `moving_variance`). Layers are ordered by their scopes, numbers compared as numbers.
public enum SpecSuggestion {
    static let attributeSuffix = "/.ATTRIBUTES/VARIABLE_VALUE"
    static let slotNames: Set<String> = [
        "Adam", "Adam_1", "Momentum", "RMSProp", "RMSProp_1", "Adagrad", "Adadelta", "Adadelta_1", "Ftrl", "Ftrl_1",
        "Nadam", "Nadam_1", "Adamax", "Adamax_1",
    ]

    /// Optimizer slots and state: TF1 `…/Adam`, `beta1_power`, TF2 `.OPTIMIZER_SLOT`, `optimizer/…`.
    static func isOptimizerState(_ name: String) -> Bool {
        let leaf = name.split(separator: "/").last.map(String.init) ?? name
        return name.contains("/.OPTIMIZER_SLOT/") || name.hasPrefix("optimizer/") || slotNames.contains(leaf)
            || ["beta1_power", "beta2_power", "global_step"].contains(name)
    }

    /// (scope, parameter) for a variable name: `layer0/W` → (`layer0`, `W`); TF2 names lose their attribute suffix.
    static func split(_ name: String) -> (scope: String, leaf: String) {
        var path = Substring(name)
        if path.hasSuffix(attributeSuffix) { path = path.dropLast(attributeSuffix.count) }
        guard let slash = path.lastIndex(of: "/") else { return ("", String(path)) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// Batch-norm parameter groups, in scope order.
    static func batchNormGroups(_ variables: [(name: String, shape: [Int])]) -> [BatchNormGroup] {
        var groups: [String: BatchNormGroup] = [:]
        var shadows: [(name: String, shape: [Int])] = []
        for variable in variables {
            if variable.name.hasSuffix("/ExponentialMovingAverage") {
                shadows.append(variable)
                continue
            }
            let (scope, leaf) = split(variable.name)
            guard ["gamma", "beta", "moving_mean", "moving_variance"].contains(leaf) else { continue }
            var group = groups[scope] ?? BatchNormGroup(name: scope)
            switch leaf {
            case "gamma": group.gamma = variable.name
            case "beta": group.beta = variable.name
            case "moving_mean": group.movingMean = variable.name
            default: group.movingVariance = variable.name
            }
            group.channels = group.channels ?? Shape.elementCount(variable.shape)
            groups[scope] = group
        }
        // TF1's `ema.apply([batch_mean, batch_var])` under scope S names its shadows
        // `S/<S>/moments/Squeeze/ExponentialMovingAverage` (mean) and `…/Squeeze_1/…` (variance).
        for shadow in shadows {
            let isMean =
                shadow.name.hasSuffix("/Squeeze/ExponentialMovingAverage")
                || shadow.name.hasSuffix("mean/ExponentialMovingAverage")
            let isVariance =
                shadow.name.hasSuffix("/Squeeze_1/ExponentialMovingAverage")
                || shadow.name.hasSuffix("variance/ExponentialMovingAverage")
            guard isMean || isVariance else { continue }
            let candidates = groups.keys.filter { !$0.isEmpty && shadow.name.hasPrefix($0 + "/") }
            let scope: String
            if let longest = candidates.max(by: { $0.count < $1.count }) {
                scope = longest
            } else if let range = shadow.name.range(of: "/moments/") {
                // No gamma or beta (scale=False, center=False): take the scope the moments were computed in.
                let inner = String(shadow.name[..<range.lowerBound])
                scope = inner.split(separator: "/").count % 2 == 0 ? String(inner.prefix(inner.count / 2)) : inner
            } else {
                continue
            }
            var group = groups[scope] ?? BatchNormGroup(name: scope)
            if isMean, group.movingMean == nil { group.movingMean = shadow.name }
            if isVariance, group.movingVariance == nil { group.movingVariance = shadow.name }
            group.channels = group.channels ?? Shape.elementCount(shadow.shape)
            groups[scope] = group
        }
        return groups.values.sorted { naturalOrder($0.name, $1.name) }
    }

    /// A YAML spec for the dense and batch-norm layers found by name; nil when none is found.
    public static func suggest(_ variables: [(name: String, shape: [Int])], source: String) -> String? {
        let parameters = variables.filter { !isOptimizerState($0.name) && !CheckpointSource.isBookkeeping($0.name) }
        struct Dense {
            var scope: String
            var kernel: String
            var rank: Int
            var bias: String?
        }
        var dense: [String: Dense] = [:]
        var biases: [String: String] = [:]
        for variable in parameters where !variable.name.hasSuffix("/ExponentialMovingAverage") {
            let (scope, leaf) = split(variable.name)
            switch leaf {
            case "W", "kernel", "weights", "w":
                dense[scope] = Dense(scope: scope, kernel: variable.name, rank: variable.shape.count)
            case "b", "bias", "biases":
                biases[scope] = variable.name
            default:
                break
            }
        }
        for (scope, bias) in biases { dense[scope]?.bias = bias }
        let groups = batchNormGroups(parameters).filter { $0.movingMean != nil && $0.movingVariance != nil }
        enum Item {
            case dense(Dense)
            case batchNorm(BatchNormGroup)
            var scope: String {
                switch self {
                case .dense(let dense): dense.scope
                case .batchNorm(let group): group.name
                }
            }
        }
        let items = (dense.values.map(Item.dense) + groups.map(Item.batchNorm)).sorted {
            naturalOrder($0.scope, $1.scope)
        }
        guard !items.isEmpty else { return nil }
        var lines = [
            "# A starting spec for \(source), suggested by 'tfparity inspect --suggest-spec' from variable names.",
            "# Check it before use: the layer order follows the names, epsilon is not stored in a checkpoint",
            "# (0.001 is the Keras and tf.compat.v1 default), and each batch norm is assumed to feed a relu.",
            "layers:",
        ]
        func name(_ scope: String) -> String {
            scope.isEmpty ? "layer" : (scope.hasPrefix("model/") ? String(scope.dropFirst(6)) : scope)
        }
        var layerCount = 0
        for item in items {
            switch item {
            case .dense(let layer) where layer.rank != 2:
                lines.append(
                    "  # \(layer.scope): a rank-\(layer.rank) kernel (convolution?) '\(layer.kernel)': no spec layer type "
                        + "for it yet")
            case .dense(let layer):
                var line = "  - {type: dense, name: \(quoted(name(layer.scope))), kernel: \(quoted(layer.kernel))"
                if let bias = layer.bias { line += ",\n     bias: \(quoted(bias))" }
                lines.append(line + "}")
                layerCount += 1
            case .batchNorm(let group):
                guard let mean = group.movingMean, let variance = group.movingVariance else { continue }
                var line = "  - {type: batchnorm, name: \(quoted(name(group.name))), epsilon: 0.001,"
                line += "\n     mean: \(quoted(mean)),\n     variance: \(quoted(variance))"
                if let gamma = group.gamma { line += ",\n     gamma: \(quoted(gamma))" }
                if let beta = group.beta { line += ",\n     beta: \(quoted(beta))" }
                lines.append(line + "}")
                lines.append("  - {type: relu, name: \(quoted(name(group.name) + "/relu"))}")
                layerCount += 1
            }
        }
        guard layerCount > 0 else { return nil }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Suggests a spec for the tensors `report` lists and writes it to `path`.
    ///
    /// - Throws: `FileError` when no tensor is named like a dense or batch-norm parameter, or the file cannot be
    ///   written.
    public static func write(for report: InspectReport, to path: String) throws {
        if !report.graphOps.isEmpty {
            guard let spec = report.graphSpec else {
                throw FileError(
                    path: report.file,
                    reason: "the graph's weights are constants with no name a spec could use: no spec to suggest")
            }
            return try write(spec, to: path)
        }
        let variables = report.tensors.map { (name: $0.name, shape: $0.shape) }
        guard let text = suggest(variables, source: URL(fileURLWithPath: report.file).lastPathComponent) else {
            throw FileError(
                path: report.file, reason: "no tensor is named like a dense or batch-norm parameter: no spec to suggest"
            )
        }
        try write(text, to: path)
    }

    /// Writes a suggested spec to `path` atomically, after checking that it parses as a spec.
    static func write(_ text: String, to path: String) throws {
        _ = try Spec.parse(text, path: path)
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw FileError(path: path, reason: "cannot be written: \(error.localizedDescription)")
        }
    }

    /// Names are quoted only when YAML needs it.
    static func quoted(_ text: String) -> String {
        let plain = text.allSatisfy { $0.isLetter || $0.isNumber || "/_-.".contains($0) }
        return plain && !text.hasPrefix("-") && !text.hasPrefix(".")
            ? text : "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// `layer2` before `layer10`: digit runs compare as numbers.
    static func naturalOrder(_ a: String, _ b: String) -> Bool {
        a.compare(b, options: [.numeric, .literal]) == .orderedAscending
    }
}
