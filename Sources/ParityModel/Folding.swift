import TensorCore

/// One batch-normalisation layer folded into the layer before it.
public struct FoldedBatchNormalization: Sendable, Equatable, Codable {
    /// The batch-normalisation layer that is gone.
    public var bn: String
    /// The dense or convolution layer that now computes its output, under its own name.
    public var into: String

    public init(bn: String, into: String) {
        self.bn = bn
        self.into = into
    }
}

/// What `tfparity fold` did to a model, kept in its metadata (`folding` in `__metadata__["tfparity"]`).
public struct FoldingRecord: Sendable, Equatable, Codable {
    /// Every folded batch-normalisation layer, in layer order.
    public var folded: [FoldedBatchNormalization]
    /// The largest `|folded − unfolded|` over the model's output on `probe`, when it was measured.
    public var maxAbsDifference: Double?
    /// The input the difference was measured on, in words (`recording.h5 input [4, 8]`, `deterministic [4, 8]`).
    public var probe: String?
    /// The unfolded model's file name and SHA-256, and the tool version that folded it.
    public var unfoldedModel: String?
    public var unfoldedSHA256: String?
    public var toolVersion: String?

    public init(folded: [FoldedBatchNormalization], maxAbsDifference: Double? = nil, probe: String? = nil) {
        self.folded = folded
        self.maxAbsDifference = maxAbsDifference
        self.probe = probe
    }

    enum CodingKeys: String, CodingKey {
        case folded, probe
        case maxAbsDifference = "max_abs_difference"
        case unfoldedModel = "unfolded_model"
        case unfoldedSHA256 = "unfolded_sha256"
        case toolVersion = "tool_version"
    }

    /// The layer a folded batch-normalisation layer went into, if `name` is one.
    public func target(ofFolded name: String) -> String? { folded.first { $0.bn == name }?.into }
}

/// Folding inference batch normalisation into the dense or convolution layer that feeds it.
///
/// A BN layer `y = x · s + (beta − mean · s)` with `s = gamma / sqrt(variance + epsilon)` that directly follows a
/// layer computing `x = W · input + b` (with a linear activation, and whose output feeds nothing else) is the same
/// as that layer with `W' = W · s` (per output channel) and `b' = (b − mean) · s + beta`. Both are computed in
/// float64 and stored as float32.
public enum BatchNormFolding {
    /// Why a batch-normalisation layer was kept.
    public struct Kept: Sendable, Equatable {
        public var bn: String
        public var reason: String
    }

    /// `model` with every foldable BN folded; the folded layers keep their names and references to a removed BN
    /// layer now name the layer it was folded into.
    ///
    /// - Throws: `EngineError` when a BN layer's parameters do not fit the layer it would fold into.
    public static func fold(_ model: Model) throws -> (model: Model, folded: [FoldedBatchNormalization], kept: [Kept]) {
        var parameters = model.parameters
        var layers: [Layer] = []
        var folded: [FoldedBatchNormalization] = []
        var kept: [Kept] = []
        var rename: [String: String] = [:]
        var removed: Set<String> = []
        func resolve(_ name: String) -> String {
            var name = name
            while let next = rename[name] { name = next }
            return name
        }
        for (position, original) in model.layers.enumerated() {
            var layer = original
            layer.inputs = layer.inputs.map(resolve)
            guard let bn = layer.batchNormalization else {
                layers.append(layer)
                continue
            }
            let (epsilon, axis) = (bn.epsilon, bn.axis)
            guard layer.inputs.count == 1, let producerIndex = layers.lastIndex(where: { $0.name == layer.inputs[0] })
            else {
                kept.append(Kept(bn: layer.name, reason: "it does not follow a layer directly"))
                layers.append(layer)
                continue
            }
            let producer = layers[producerIndex]
            guard let target = producer.op as? any BatchNormFoldable, target.activation == .linear,
                target.foldableAxes.contains(axis)
            else {
                kept.append(Kept(bn: layer.name, reason: reasonNotFoldable(producer, bnAxis: axis)))
                layers.append(layer)
                continue
            }
            let consumers = model.layers.enumerated().filter { index, other in
                index != position && !removed.contains(other.name)
            }.reduce(0) { count, element in
                count + element.element.inputs.filter { resolve($0) == producer.name }.count
            }
            guard consumers == 0 else {
                kept.append(
                    Kept(bn: layer.name, reason: "the output of '\(producer.name)' also feeds other layers"))
                layers.append(layer)
                continue
            }
            try foldParameters(
                bn: layer.name, epsilon: epsilon, into: producer.name, target: target, parameters: &parameters)
            for param in ["moving_mean", "moving_variance", "gamma", "beta"] {
                parameters["\(layer.name)/\(param)"] = nil
            }
            rename[layer.name] = producer.name
            removed.insert(layer.name)
            folded.append(FoldedBatchNormalization(bn: layer.name, into: producer.name))
            // The model's output is its last layer: when the BN was last, the layer it went into takes its place.
            if position == model.layers.count - 1 {
                layers.append(layers.remove(at: producerIndex))
            }
        }
        var result = Model(layers: layers, parameters: parameters, provenance: model.provenance)
        result.inputNames = model.inputNames
        result.declaredOutputs = model.declaredOutputs?.map(resolve)
        if !folded.isEmpty || model.folding != nil {
            result.folding = FoldingRecord(folded: (model.folding?.folded ?? []) + folded)
        }
        return (result, folded, kept)
    }

    private static func reasonNotFoldable(_ producer: Layer, bnAxis axis: Int) -> String {
        guard let target = producer.op as? any BatchNormFoldable else {
            return "'\(producer.name)' is a \(producer.op.typeName) layer, not dense or convolution"
        }
        if target.activation != .linear {
            return "'\(producer.name)' applies \(target.activation.name) before it"
        }
        return "its axis \(axis) is not the channel axis of '\(producer.name)'"
    }

    private static func foldParameters(
        bn: String, epsilon: Double, into layer: String, target: any BatchNormFoldable,
        parameters: inout [String: Tensor]
    ) throws {
        func values(_ layerName: String, _ param: String) -> [Double]? {
            parameters["\(layerName)/\(param)"]?.doubleValues()
        }
        let kernelName = target.foldedKernel
        guard let kernelTensor = parameters["\(layer)/\(kernelName)"] else {
            throw EngineError.layer(layer, .missingParameter(kernelName))
        }
        guard let mean = values(bn, "moving_mean") else {
            throw EngineError.layer(bn, .missingParameter("moving_mean"))
        }
        guard let variance = values(bn, "moving_variance") else {
            throw EngineError.layer(bn, .missingParameter("moving_variance"))
        }
        let channels = mean.count
        let outputChannels = target.outputChannels(ofKernel: kernelTensor.shape)
        guard kernelTensor.rank >= 2, outputChannels == channels, variance.count == channels else {
            throw EngineError.layer(
                bn,
                .parameterShape(
                    "moving_mean", expected: "[\(outputChannels)] (the channels of '\(layer)')",
                    actual: parameters["\(bn)/moving_mean"]?.shape ?? []))
        }
        let gamma = values(bn, "gamma")
        let beta = values(bn, "beta")
        let bias = values(layer, "bias")
        for (name, vector) in [("gamma", gamma), ("beta", beta)] {
            if let vector, vector.count != channels {
                throw EngineError.layer(
                    bn,
                    .parameterShape(name, expected: "[\(channels)]", actual: parameters["\(bn)/\(name)"]?.shape ?? []))
            }
        }
        if let bias, bias.count != channels {
            throw EngineError.layer(
                layer,
                .parameterShape("bias", expected: "[\(channels)]", actual: parameters["\(layer)/bias"]?.shape ?? []))
        }
        var scale = [Double](repeating: 0, count: channels)
        var offset = [Double](repeating: 0, count: channels)
        for c in 0..<channels {
            scale[c] = (gamma?[c] ?? 1) / (variance[c] + epsilon).squareRoot()
            offset[c] = ((bias?[c] ?? 0) - mean[c]) * scale[c] + (beta?[c] ?? 0)
        }
        // Every kernel layout here keeps the output channel in its last axis (for a depthwise kernel, the last two
        // flattened: index `c · multiplier + m`), so the channel of flat index i is i mod channels.
        let kernel = kernelTensor.doubleValues()
        let folded = kernel.indices.map { Float(kernel[$0] * scale[$0 % channels]) }
        parameters["\(layer)/\(kernelName)"] = Tensor(shape: kernelTensor.shape, floats: folded)
        parameters["\(layer)/bias"] = Tensor(shape: [channels], floats: offset.map { Float($0) })
    }
}

/// An operation computing `x = W · input + b` that a batch normalisation right after it can fold into: the kernel
/// scaled per output channel, the bias shifted. Each such operation says which kernel and which axes.
public protocol BatchNormFoldable: LayerOperation {
    /// Folding needs a linear activation (the BN comes after it).
    var activation: Activation { get }
    /// The BN axes that are this operation's output channel axis (`-1` and the positive spelling).
    var foldableAxes: Set<Int> { get }
    /// The parameter scaled per output channel; its output channel is its flat index modulo the channel count.
    var foldedKernel: String { get }
    func outputChannels(ofKernel shape: [Int]) -> Int
}

extension Dense: BatchNormFoldable {
    public var foldableAxes: Set<Int> { [-1, 1] }
    public var foldedKernel: String { "kernel" }
    public func outputChannels(ofKernel shape: [Int]) -> Int { shape.last ?? 0 }
}
