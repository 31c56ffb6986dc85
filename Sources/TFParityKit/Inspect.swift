import Foundation
import Importers
import ParityModel
import SafeTensors
import TensorCore

/// Quantiles and mean of a per-channel vector; NaN and infinite values are left out (and counted apart).
public struct Summary: Sendable, Equatable {
    public var min: Double
    public var p25: Double
    public var median: Double
    public var p75: Double
    public var max: Double
    public var mean: Double

    /// nil when no value is finite.
    public init?(_ values: [Float]) {
        let finite = values.filter(\.isFinite).map(Double.init).sorted()
        guard let low = finite.first, let high = finite.last else { return nil }
        /// numpy's default (linear) quantile.
        func quantile(_ q: Double) -> Double {
            let position = q * Double(finite.count - 1)
            let below = Int(position.rounded(.down))
            let above = Swift.min(below + 1, finite.count - 1)
            let fraction = position - Double(below)
            return finite[below] + (finite[above] - finite[below]) * fraction
        }
        min = low
        p25 = quantile(0.25)
        median = quantile(0.5)
        p75 = quantile(0.75)
        max = high
        mean = finite.reduce(0, +) / Double(finite.count)
    }
}

/// What `inspect` reports about one layer.
public struct LayerSummary: Sendable {
    public var name: String
    public var type: String
    public var inputs: [String]
    /// Parameter name (`kernel`, `moving_mean`, …) with its dtype and shape.
    public var parameters: [(name: String, dtype: DType, shape: [Int])]
    public var parameterCount: Int
}

/// What `inspect` reports about one batch-norm layer.
public struct BatchNormSummary: Sendable {
    public var name: String
    public var epsilon: Double
    public var axis: Int
    public var channels: Int
    public var mean: Summary?
    public var variance: Summary?
    public var gamma: Summary?
    public var beta: Summary?
    /// The effective per-channel scale `gamma / sqrt(variance + epsilon)`, what multiplies x at inference.
    public var scale: Summary?
    /// The effective per-channel offset `beta - mean * scale`.
    public var offset: Summary?
    /// Channels whose moving variance is below epsilon: there, epsilon's placement changes the output most.
    public var varianceBelowEpsilon: Int
    /// Channels with |gamma| < 1e-6: their output is beta alone.
    public var deadChannels: Int
    public var negativeVariance: Int
    /// NaN or infinite values across the layer's parameters.
    public var nonFinite: Int
    /// Per-channel values, for plots.
    public var perChannel: PerChannel

    public struct PerChannel: Sendable {
        public var mean: [Float]
        public var variance: [Float]
        public var gamma: [Float]?
        public var beta: [Float]?
        public var scale: [Float]
        public var offset: [Float]
    }
}

/// Everything `inspect` found in a file.
public struct InspectReport: Sendable {
    public var file: String
    public var kind: String
    public var layers: [LayerSummary]
    public var batchNorms: [BatchNormSummary]
    /// Every tensor of a source inspected without a spec (nothing else can be said about it then).
    public var tensors: [(name: String, dtype: DType, shape: [Int])]
    public var warnings: [String]
    public var provenance: Provenance?
    /// A checkpoint inspected without a spec: every entry, batch-norm groups, what is skipped and why.
    public var checkpoint: CheckpointReport? = nil
    /// For a TensorFlow graph source: each layer's ops in the graph.
    public var graphOps: [(layer: String, ops: [String])] = []
    /// For a TensorFlow graph source whose weights all have names: the spec giving the same model.
    public var graphSpec: String? = nil
}

/// Reading layer statistics out of a model or a source.
public enum Inspector {
    /// Inspects a converted model, a source with a spec, or (without a spec) lists a source's tensors.
    /// - Parameter configPath: the architecture JSON of a Keras 3 `.weights.h5`.
    public static func inspect(
        path: String, spec specPath: String?, config configPath: String? = nil,
        graph graphOptions: GraphImportOptions = GraphImportOptions()
    ) throws -> InspectReport {
        let request = try ImportRequest(source: path, graph: graphOptions)
        let detected = request.kind
        if specPath == nil, configPath == nil, ModelImporters.readsGraph(request) {
            let (plan, kind) = try Converter.plan(source: path, spec: nil, graph: graphOptions)
            var report = summarise(try plan.materialize(), file: path, kind: kind.rawValue)
            report.provenance = plan.provenance
            report.warnings += plan.notes
            report.graphOps = plan.layers.compactMap { layer in plan.layerOrigins[layer.name].map { (layer.name, $0) } }
            report.graphSpec = GraphSpecSuggestion.spec(for: plan)
            return report
        }
        if specPath == nil, detected == .safetensors {
            let file = try SafeTensorsFile(path: path)
            if file.metadata[ModelFile.metadataKey] != nil {
                return summarise(try ModelFile.read(path: path), file: path, kind: "tfparity-model")
            }
        }
        if specPath != nil || configPath != nil || detected.isKeras {
            let (model, kind) = try Converter.loadModel(source: path, spec: specPath, config: configPath)
            return summarise(model, file: path, kind: kind.rawValue)
        }
        let (source, kind) = try SourceDetection.open(path, kind: detected)
        if let checkpoint = source as? CheckpointSource {
            // Listed from the index alone: no tensor is read.
            let report = CheckpointInspector.report(checkpoint, kind: kind)
            let tensors = checkpoint.bundle.entries.compactMap { entry in
                entry.dtype.map { (name: entry.name, dtype: $0, shape: entry.shape) }
            }
            return InspectReport(
                file: path, kind: kind.rawValue, layers: [], batchNorms: [], tensors: tensors,
                warnings: report.warnings, provenance: nil, checkpoint: report)
        }
        var tensors: [(name: String, dtype: DType, shape: [Int])] = []
        for name in source.tensorNames {
            let info = try source.tensorInfo(name)
            tensors.append((name, info.dtype, info.shape))
        }
        return InspectReport(
            file: path, kind: kind.rawValue, layers: [], batchNorms: [], tensors: tensors,
            warnings: ["no spec given: layers and BN statistics need --spec SPEC.yaml naming this file's tensors"],
            provenance: nil)
    }

    static func summarise(_ model: Model, file: String, kind: String) -> InspectReport {
        var layers: [LayerSummary] = []
        var batchNorms: [BatchNormSummary] = []
        var warnings: [String] = []
        for layer in model.layers {
            let parameters = layer.op.parameters.map(\.name).compactMap { name in
                model.parameter(layer.name, name).map { (name: name, dtype: $0.dtype, shape: $0.shape) }
            }
            layers.append(
                LayerSummary(
                    name: layer.name, type: layer.op.typeName, inputs: layer.inputs, parameters: parameters,
                    parameterCount: model.parameterCount(of: layer)))
            guard let bn = layer.batchNormalization else { continue }
            let summary = summariseBatchNorm(layer.name, model: model, epsilon: bn.epsilon, axis: bn.axis)
            batchNorms.append(summary)
            warnings += batchNormWarnings(summary)
        }
        return InspectReport(
            file: file, kind: kind, layers: layers, batchNorms: batchNorms, tensors: [], warnings: warnings,
            provenance: model.provenance)
    }

    static func summariseBatchNorm(_ name: String, model: Model, epsilon: Double, axis: Int) -> BatchNormSummary {
        let mean = model.parameter(name, "moving_mean")?.floatValues() ?? []
        let variance = model.parameter(name, "moving_variance")?.floatValues() ?? []
        let gamma = model.parameter(name, "gamma")?.floatValues()
        let beta = model.parameter(name, "beta")?.floatValues()
        let count = Swift.min(mean.count, variance.count)
        let (scale, offset) = BatchNormalization.scaleAndOffset(
            mean: Array(mean.prefix(count)), variance: Array(variance.prefix(count)),
            gamma: gamma.map { Array($0.prefix(count)) }, beta: beta.map { Array($0.prefix(count)) },
            epsilon: Float(epsilon))
        return BatchNormSummary(
            name: name, epsilon: epsilon, axis: axis, channels: mean.count, mean: Summary(mean),
            variance: Summary(variance), gamma: gamma.flatMap(Summary.init), beta: beta.flatMap(Summary.init),
            scale: Summary(scale), offset: Summary(offset),
            varianceBelowEpsilon: variance.filter { Double($0) < epsilon }.count,
            deadChannels: gamma?.filter { abs($0) < 1e-6 }.count ?? 0,
            negativeVariance: variance.filter { $0 < 0 }.count,
            nonFinite: (mean + variance + (gamma ?? []) + (beta ?? [])).filter { !$0.isFinite }.count,
            perChannel: .init(mean: mean, variance: variance, gamma: gamma, beta: beta, scale: scale, offset: offset))
    }

    /// What each anomaly means for parity, in words.
    static func batchNormWarnings(_ bn: BatchNormSummary) -> [String] {
        var warnings: [String] = []
        let eps = BatchNormDiagnosis.format(bn.epsilon)
        if bn.varianceBelowEpsilon > 0 {
            warnings.append(
                "\(bn.name): \(bn.varianceBelowEpsilon) of \(bn.channels) channels have moving variance below epsilon "
                    + "(\(eps)): there the output depends on epsilon more than on the data, so a wrong epsilon or "
                    + "epsilon outside the square root changes results most.")
        }
        if bn.negativeVariance > 0 {
            warnings.append(
                "\(bn.name): \(bn.negativeVariance) channels have a negative moving variance: sqrt(variance + epsilon) "
                    + "is NaN or huge there; the parameters are corrupt or were saved from the wrong variable.")
        }
        if bn.nonFinite > 0 {
            warnings.append(
                "\(bn.name): \(bn.nonFinite) parameter values are NaN or infinite: every output of those channels will be too."
            )
        }
        if bn.deadChannels > 0 {
            warnings.append(
                "\(bn.name): \(bn.deadChannels) channels have |gamma| < 1e-6 (dead channels): their output is beta alone, "
                    + "so they carry no signal and hide errors upstream.")
        }
        return warnings
    }
}
