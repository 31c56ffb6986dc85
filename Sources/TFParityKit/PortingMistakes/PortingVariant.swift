import ParityModel
import TensorCore

/// One mistake people make when they port a TensorFlow layer to another framework (PyTorch, numpy, C, Swift).
///
/// A variant says how a layer would have computed with that mistake: as replacement layers, changed parameters or a
/// changed input. It concerns only the operations it names (found with `as?` on the operation types or on the
/// protocols in `VariantOperations.swift`) and yields nothing for the others. Adding a mistake is one file with one
/// such type plus its line in `PortingVariants.all`.
public protocol PortingVariant: Sendable {
    /// The contract's id (`kernel-flipped`, `padding-symmetric`, …).
    var id: String { get }
    /// The ways `layer` could have been computed with this mistake; empty when the mistake does not concern it.
    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate]
}

/// What a layer computes under one mistake.
public struct VariantCandidate: Sendable {
    /// The layers that stand in for the layer, in order; the last keeps the layer's name, the others are extra steps
    /// (a padding before a convolution) named after it.
    public var layers: [Layer]
    /// Parameter overrides by full name (`conv1/kernel`); a nil value removes the parameter.
    public var parameters: [String: Tensor?]
    /// Overrides of the values entering the re-run (the model input fed differently).
    public var inputs: [String: FloatTensor]
    /// What the recording did, what TensorFlow does and what to change.
    public var detail: String

    public init(
        layers: [Layer], parameters: [String: Tensor?] = [:], inputs: [String: FloatTensor] = [:], detail: String
    ) {
        self.layers = layers
        self.parameters = parameters
        self.inputs = inputs
        self.detail = detail
    }

    /// The layer as it is, with `parameters` overridden.
    public static func parameters(_ layer: Layer, _ parameters: [String: Tensor?], detail: String) -> VariantCandidate {
        VariantCandidate(layers: [layer], parameters: parameters, detail: detail)
    }

    /// The layer with its operation replaced.
    public static func operation(_ layer: Layer, _ op: any LayerOperation, detail: String) -> VariantCandidate {
        VariantCandidate(layers: [Layer(name: layer.name, op: op, inputs: layer.inputs)], detail: detail)
    }

    /// The layer as it is, fed `value` in place of its input `name`.
    public static func input(_ layer: Layer, _ name: String, _ value: FloatTensor, detail: String) -> VariantCandidate {
        VariantCandidate(layers: [layer], inputs: [name: value], detail: detail)
    }

    /// `step` (named `<layer>/<suffix>`) on the layer's inputs, then the layer's operation replaced by `op` on its
    /// output.
    public static func preceded(
        _ layer: Layer, by step: any LayerOperation, suffix: String, then op: any LayerOperation, detail: String
    ) -> VariantCandidate {
        let stepName = "\(layer.name)/\(suffix)"
        return VariantCandidate(
            layers: [
                Layer(name: stepName, op: step, inputs: layer.inputs),
                Layer(name: layer.name, op: op, inputs: [stepName]),
            ], detail: detail)
    }
}

/// What a variant may ask about the re-run it is part of: the model, the shapes flowing through it, the values
/// entering it and those TensorFlow's arithmetic gives inside it.
public struct VariantContext: Sendable {
    public let model: Model
    /// Output shape of every layer of the re-run, and shape of every value entering it.
    let shapes: [String: [Int]]
    /// The values entering the re-run, by layer name or model input name.
    let known: [String: FloatTensor]
    let engine: Engine
    /// The layer the check compares, and the recorded value it is compared with.
    public let target: String
    public let expected: FloatTensor

    /// The value `name` (a value entering the re-run, or a layer's output computed from them).
    public func value(of name: String) -> FloatTensor? {
        if let value = known[name] { return value }
        return try? engine.output(of: name, given: known)
    }

    /// The shape of the value `name`.
    public func shape(of name: String) -> [Int]? { shapes[name] }

    /// Parameter `param` of `layer` (`kernel`, `bias`, …), when the model has it.
    public func parameter(_ layer: Layer, _ param: String) -> Tensor? { model.parameter(layer.name, param) }

    /// The layer whose output is `name`, nil for a model input.
    public func producer(of name: String) -> Layer? { model.layer(named: name) }

    /// True when `name` is one of the model's inputs.
    public func isModelInput(_ name: String) -> Bool { model.inputNames.contains(name) }

    /// `layers` (inputs from `inputs`) run with the model's parameters overridden by `parameters`: the output of
    /// the last, nil when they do not run.
    public func run(_ layers: [Layer], parameters overrides: [String: Tensor?] = [:], inputs: [String: FloatTensor])
        -> FloatTensor?
    {
        guard let last = layers.last else { return nil }
        var parameters: [String: Tensor] = [:]
        for layer in layers {
            for slot in layer.op.parameters {
                let key = parameterKey(layer, slot.name)
                if let tensor = model.parameters[key] { parameters[key] = tensor }
            }
        }
        for (key, tensor) in overrides { parameters[key] = tensor }
        var rerun = Model(layers: layers, parameters: parameters)
        rerun.inputNames = inputs.keys.sorted()
        guard let engine = try? Engine(model: rerun, matrixProduct: engine.matrixProduct) else { return nil }
        return try? engine.output(of: last.name, given: inputs)
    }

    /// The parameter's name in the model (`conv1/kernel`), the key of `VariantCandidate.parameters`.
    public func parameterKey(_ layer: Layer, _ param: String) -> String { "\(layer.name)/\(param)" }
}
