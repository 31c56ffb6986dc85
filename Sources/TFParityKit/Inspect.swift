import Foundation
import ParityModel
import SafeTensors
import TensorCore

/// min / max / mean of a parameter vector (NaNs excluded and counted apart).
public struct Summary: Sendable, Equatable {
    public var min: Double
    public var max: Double
    public var mean: Double

    init?(_ values: [Float]) {
        let finite = values.filter(\.isFinite).map(Double.init)
        guard let low = finite.min(), let high = finite.max() else { return nil }
        min = low
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
    /// Channels whose moving variance is below epsilon: there, epsilon's placement changes the output most.
    public var varianceBelowEpsilon: Int
    public var negativeVariance: Int
    /// NaN or infinite values across the layer's parameters.
    public var nonFinite: Int
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
}

/// Reading layer statistics out of a model or a source.
public enum Inspector {
    /// Inspects a converted model, a source with a spec, or (without a spec) lists a source's tensors.
    public static func inspect(path: String, spec specPath: String?) throws -> InspectReport {
        if specPath == nil, try SourceDetection.kind(of: path) == .safetensors {
            let file = try SafeTensorsFile(path: path)
            if file.metadata[ModelFile.metadataKey] != nil {
                return summarise(try ModelFile.read(path: path), file: path, kind: "tfparity-model")
            }
        }
        if try specPath != nil || SourceDetection.kind(of: path).isKeras {
            let (model, kind) = try Converter.loadModel(source: path, spec: specPath)
            return summarise(model, file: path, kind: kind.rawValue)
        }
        let (source, kind) = try SourceDetection.open(path)
        var tensors: [(name: String, dtype: DType, shape: [Int])] = []
        for name in source.tensorNames {
            let tensor = try source.readTensor(name)
            tensors.append((name, tensor.dtype, tensor.shape))
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
            let (required, optional) = layer.op.parameterNames
            let parameters = (required + optional).compactMap { name in
                model.parameter(layer.name, name).map { (name: name, dtype: $0.dtype, shape: $0.shape) }
            }
            layers.append(
                LayerSummary(
                    name: layer.name, type: layer.op.typeName, inputs: layer.inputs, parameters: parameters,
                    parameterCount: model.parameterCount(of: layer)))
            guard case .batchNormalization(let epsilon, let axis) = layer.op else { continue }
            let mean = model.parameter(layer.name, "moving_mean")?.floatValues() ?? []
            let variance = model.parameter(layer.name, "moving_variance")?.floatValues() ?? []
            let gamma = model.parameter(layer.name, "gamma")?.floatValues()
            let beta = model.parameter(layer.name, "beta")?.floatValues()
            let below = variance.filter { Double($0) < epsilon }.count
            let negative = variance.filter { $0 < 0 }.count
            let nonFinite = (mean + variance + (gamma ?? []) + (beta ?? [])).filter { !$0.isFinite }.count
            let summary = BatchNormSummary(
                name: layer.name, epsilon: epsilon, axis: axis, channels: mean.count, mean: Summary(mean),
                variance: Summary(variance), gamma: gamma.flatMap(Summary.init), beta: beta.flatMap(Summary.init),
                varianceBelowEpsilon: below, negativeVariance: negative, nonFinite: nonFinite)
            batchNorms.append(summary)
            if below > 0 {
                warnings.append(
                    "\(layer.name): \(below) of \(mean.count) channels have moving variance below epsilon "
                        + "(\(BatchNormDiagnosis.format(epsilon))): there the output depends on epsilon more than on the "
                        + "data, so a wrong epsilon or epsilon outside the square root changes results most.")
            }
            if negative > 0 {
                warnings.append(
                    "\(layer.name): \(negative) channels have a negative moving variance: the parameters are corrupt.")
            }
            if nonFinite > 0 {
                warnings.append(
                    "\(layer.name): \(nonFinite) parameter values are NaN or infinite: every output of those channels will be too."
                )
            }
            if let gamma, gamma.contains(where: { abs($0) < 1e-6 }) {
                let dead = gamma.filter { abs($0) < 1e-6 }.count
                warnings.append(
                    "\(layer.name): \(dead) channels have |gamma| < 1e-6 (dead channels): their output is beta alone.")
            }
        }
        return InspectReport(
            file: file, kind: kind, layers: layers, batchNorms: batchNorms, tensors: [], warnings: warnings,
            provenance: model.provenance)
    }
}
