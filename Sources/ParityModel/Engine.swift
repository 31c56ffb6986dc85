import Foundation
import TensorCore

/// A model that cannot run: a layer whose attributes, parameters or inputs do not fit, or a name that is not there.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    /// Layer `layer` cannot be built or run, for `problem`.
    case layer(String, LayerProblem)
    case unknownLayer(String)
    case missingValue(layer: String, input: String)
    /// The model's declared outputs do not name its layers (an empty list, or a name that is not a layer).
    case outputs(String)

    public var description: String {
        switch self {
        case .layer(let layer, let problem): "layer '\(layer)': \(problem)"
        case .unknownLayer(let name): "no layer named '\(name)'"
        case .missingValue(let layer, let input): "layer '\(layer)': no value for its input '\(input)'"
        case .outputs(let reason): "outputs: \(reason)"
        }
    }

    /// The layer the error is about, and the reason without the layer's name.
    public var layerAndReason: (layer: String?, reason: String) {
        switch self {
        case .layer(let layer, let problem): (layer, problem.description)
        case .unknownLayer: (nil, description)
        case .missingValue(let layer, let input): (layer, "no value for its input '\(input)'")
        case .outputs: (nil, description)
        }
    }
}

/// The checks every layer graph passes before anything uses it, whoever made it (an importer's plan, a model file,
/// a program building a `Model`): each operation's attribute ranges, the wiring (unique names, inputs that are
/// earlier layers or the model input, as many as the operation takes), and the shapes flowing through, computed by
/// each operation's own rule with checked arithmetic. Iterative: a 60,000-layer chain is as safe as a short one.
public enum LayerGraph {
    /// Every layer's output shape, by layer name, for inputs of the shapes `inputs` gives (by input name).
    /// - Parameters:
    ///   - outputs: the model's declared outputs, each of which must name a layer (nil: the last layer).
    ///   - parameterShape: the shape of parameter `<layer>/<param>`, or nil when absent.
    public static func check(
        _ layers: [Layer], inputs: [String: ValueShape] = [Model.inputName: .unknown], outputs: [String]? = nil,
        parameterShape: (String) -> [Int]?
    ) throws(EngineError) -> [String: ValueShape] {
        var shapes = inputs
        for layer in layers {
            guard inputs[layer.name] == nil else {
                throw .layer(
                    layer.name, .attribute("name", value: "'\(layer.name)'", reason: "is the model input's name"))
            }
            guard shapes[layer.name] == nil else {
                throw .layer(
                    layer.name, .attribute("name", value: "'\(layer.name)'", reason: "is used by an earlier layer"))
            }
            let op = layer.op
            do throws(LayerProblem) {
                try op.validate()
                let arity = type(of: op).inputCount
                guard arity.contains(layer.inputs.count) else {
                    let expected =
                        arity.count == 1 ? "\(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)"
                    throw .inputCount(expected: expected, actual: layer.inputs.count)
                }
                var inputs: [ValueShape] = []
                for name in layer.inputs {
                    guard let shape = shapes[name] else {
                        throw .attribute("inputs", value: "'\(name)'", reason: "is not an earlier layer")
                    }
                    inputs.append(shape)
                }
                shapes[layer.name] = try op.outputShape(inputs: inputs) { parameterShape("\(layer.name)/\($0)") }
            } catch {
                throw .layer(layer.name, error)
            }
        }
        for name in inputs.keys { shapes[name] = nil }
        if let outputs {
            guard !outputs.isEmpty else { throw .outputs("the list is empty") }
            for name in outputs where shapes[name] == nil {
                throw .outputs("'\(name)' is not a layer of the model")
            }
        }
        return shapes
    }
}

/// Runs a `Model` in float32, as TensorFlow does on CPU.
///
/// Parameters are converted to float32 once, at init. Every op follows TensorFlow's order of operations, so results
/// agree with TensorFlow's to float32 rounding. What decides the summation order of matrix products is the
/// `MatrixProduct` the engine is made with, visible at the call site.
public struct Engine: Sendable {
    public let model: Model
    public let matrixProduct: MatrixProduct
    private let prepared: [any PreparedOperation]
    /// The layers the engine may apply in place on their input's value (`InPlaceOperation`), by index.
    private let inPlace: [(any InPlaceOperation)?]
    /// The layers whose kernels take an epilogue of fused layers (`EpilogueProducing`), by index.
    private let producers: [(any EpilogueProducing)?]
    private let indexOfLayer: [String: Int]
    private let parameterShapes: [String: [Int]]
    /// `run(_:)`'s plans, one per input shape seen (`ForwardPlan`).
    private let plans = ForwardPlans()

    /// Checks the model (`LayerGraph.check`) and converts its parameters to float32.
    public init(model: Model, matrixProduct: MatrixProduct) throws(EngineError) {
        var parameters = model.parameters
        try self.init(model: model, parameters: &parameters, taking: false, matrixProduct: matrixProduct)
    }

    /// As `init(model:matrixProduct:)` for a model whose parameter tensors are handed over in `parameters` (the
    /// model's own `parameters` are not read, and are what `model` keeps): each layer's are taken out as it is
    /// prepared and freed after, so an inference-only engine holds each value once, and making it never holds the
    /// file's tensors and all their float32 copies at the same time (a ResNet50's weights are 98 MB). What is left in
    /// `parameters` belongs to no layer.
    public init(model: Model, takingParameters parameters: inout [String: Tensor], matrixProduct: MatrixProduct)
        throws(EngineError)
    {
        try self.init(model: model, parameters: &parameters, taking: true, matrixProduct: matrixProduct)
    }

    private init(model: Model, parameters: inout [String: Tensor], taking: Bool, matrixProduct: MatrixProduct)
        throws(EngineError)
    {
        let parameterShapes = parameters.mapValues(\.shape)
        _ = try LayerGraph.check(model.layers, inputs: model.unknownInputs, outputs: model.declaredOutputs) {
            parameterShapes[$0]
        }
        self.model = model
        self.matrixProduct = matrixProduct
        var prepared: [any PreparedOperation] = []
        var indexOfLayer: [String: Int] = [:]
        for (index, layer) in model.layers.enumerated() {
            indexOfLayer[layer.name] = index
            let own: [String: Tensor]
            if taking {
                var taken: [String: Tensor] = [:]
                for slot in layer.op.parameters {
                    let key = "\(layer.name)/\(slot.name)"
                    taken[key] = parameters.removeValue(forKey: key)
                }
                own = taken
            } else {
                own = parameters
            }
            let values = ParameterValues { own["\(layer.name)/\($0)"] }
            do throws(LayerProblem) {
                prepared.append(try layer.op.prepare(values, matrixProduct: matrixProduct))
            } catch {
                throw .layer(layer.name, error)
            }
        }
        self.prepared = prepared
        inPlace = prepared.map { $0 as? any InPlaceOperation }
        producers = prepared.map { $0 as? any EpilogueProducing }
        self.indexOfLayer = indexOfLayer
        self.parameterShapes = parameterShapes
    }

    /// The model's (first) output for `input`, for a model with one input.
    ///
    /// Computed as `output(of:given:)` computes it, by a plan made at the first call for `input`'s shape
    /// (`ForwardPlan`): which layers run, in which order, what each reads and its checked output shape, so a call
    /// looks nothing up by name and checks no shape again.
    public func run(_ input: FloatTensor) throws(EngineError) -> FloatTensor {
        guard let last = model.outputLayer else { return input }
        let plan: ForwardPlan
        if let known = plans.plan(for: input.shape) {
            plan = known
        } else {
            plan = try forwardPlan(reaching: last.name, input: input)
            plans.keep(plan, for: input.shape)
        }
        return run(plan, input)
    }

    /// The plan of `run(_:)` for inputs of `input`'s shape: the steps `output(of:given:)` takes, each layer's output
    /// shape checked by its operation's rule once, here.
    private func forwardPlan(reaching name: String, input: FloatTensor) throws(EngineError) -> ForwardPlan {
        let (target, order, counts) = try plan(reaching: name, given: [Model.inputName: input])
        var shapes: [String: [Int]] = [Model.inputName: input.shape]
        var steps: [ForwardPlan.Step] = []
        for index in order {
            let layer = model.layers[index]
            var sources: [Int] = []
            var operands: [[Int]] = []
            for input in layer.inputs {
                guard let shape = shapes[input] else { throw .missingValue(layer: layer.name, input: input) }
                sources.append(input == Model.inputName ? -1 : indexOfLayer[input] ?? -1)
                operands.append(shape)
            }
            let shape = try checkedOutputShape(layer, shapes: operands)
            shapes[layer.name] = shape
            steps.append(ForwardPlan.Step(layer: index, sources: sources, outputShape: shape))
        }
        var readers = [Int](repeating: 0, count: model.layers.count)
        for (name, count) in counts {
            if let index = indexOfLayer[name] { readers[index] = count }
        }
        return ForwardPlan(
            steps: fusingEpilogues(steps, target: target, readers: readers), target: target, readers: readers)
    }

    /// `steps` with each run of element-by-element layers (`EpilogueOperation`) that follows a layer producing an
    /// `EpilogueProducing` kernel's output, each reading only the value before it and the only one reading it, folded
    /// into that layer's step: a run-time fusion for `run(_:)`, which returns only the target's value. Every layer is
    /// in float32 and keeps its shape; the target ends a run.
    private func fusingEpilogues(_ steps: [ForwardPlan.Step], target: Int, readers: [Int]) -> [ForwardPlan.Step] {
        var fused: [ForwardPlan.Step] = []
        for var step in steps {
            // A zero padding read only by a window layer that can pad its input itself: that layer reads the padding's
            // input instead.
            if let last = fused.last, last.fused.isEmpty, last.padding == nil, last.layer != target,
                readers[last.layer] == 1, step.sources == [last.layer],
                model.layers[last.layer].precision == .float32, model.layers[step.layer].precision == .float32,
                let padding = prepared[last.layer] as? any ZeroPaddingKernel,
                let absorbing = producers[step.layer] as? any PaddingAbsorbing, absorbing.absorbs(padding.edges)
            {
                step.sources = last.sources
                step.padding = padding.edges
                fused[fused.count - 1] = step
                continue
            }
            if var last = fused.last, producers[last.layer] != nil, last.result != target,
                readers[last.result] == 1, step.sources == [last.result], step.outputShape == last.outputShape,
                model.layers[last.layer].precision == .float32, model.layers[step.layer].precision == .float32,
                let operation = prepared[step.layer] as? any EpilogueOperation, operation.fuses(shape: step.outputShape)
            {
                last.fused.append(step.layer)
                last.epilogue = Epilogue(last.epilogue.operations + [operation])
                fused[fused.count - 1] = last
                continue
            }
            fused.append(step)
        }
        return fused
    }

    /// `output(of:given:)`'s loop over a plan's steps: values held by layer index, each dropped after its last reader,
    /// a one-input layer applied in place on a value only it reads.
    private func run(_ plan: ForwardPlan, _ input: FloatTensor) -> FloatTensor {
        var values = [FloatTensor?](repeating: nil, count: model.layers.count)
        var readers = plan.readers
        let workspace = Workspace()
        for step in plan.steps {
            let index = step.layer
            let precision = model.layers[index].precision
            var value: FloatTensor?
            if step.sources.count == 1, let source = step.sources.first, source >= 0, readers[source] == 1,
                let op = inPlace[index], precision == .float32, var operand = values[source],
                operand.shape == step.outputShape
            {
                values[source] = nil
                if op.applyInPlace(&operand) {
                    value = operand
                } else {
                    values[source] = operand
                }
            }
            if value == nil {
                var operands = step.sources.map { source in
                    guard source >= 0 else { return input }
                    guard let value = values[source] else { preconditionFailure("a planned value was dropped") }
                    return value
                }
                // Planned only for float32 layers: no rounding to another precision on either side.
                if let padding = step.padding, let absorbing = producers[index] as? any PaddingAbsorbing {
                    value = absorbing.apply(
                        operands, padded: padding, outputShape: step.outputShape, workspace: workspace,
                        epilogue: step.epilogue)
                } else if !step.epilogue.isEmpty, let producer = producers[index] {
                    value = producer.apply(
                        operands, outputShape: step.outputShape, workspace: workspace, epilogue: step.epilogue)
                } else {
                    value = computed(index, &operands, outputShape: step.outputShape, workspace: workspace)
                }
            }
            guard let value else { preconditionFailure("layer \(index) gave no value") }
            if step.result == plan.target { return value }
            for source in step.sources where source >= 0 {
                readers[source] -= 1
                if readers[source] == 0 { values[source] = nil }
            }
            values[step.result] = value
        }
        preconditionFailure("the planned target was not computed")
    }

    /// The model's outputs, in `Model.outputNames` order, for `inputs` (input name, as `Model.inputNames` spells it,
    /// → value); throws `missingValue` naming an input that is not given.
    public func run(inputs: [String: FloatTensor]) throws(EngineError) -> [FloatTensor] {
        try checkInputs(inputs)
        var known = inputs
        var results: [FloatTensor] = []
        for name in model.outputNames {
            let value: FloatTensor
            if let computed = known[name] {
                value = computed
            } else {
                value = try output(of: name, given: known)
            }
            known[name] = value
            results.append(value)
        }
        return results
    }

    /// Every layer's output for `input`, by layer name, for a model with one input.
    public func trace(_ input: FloatTensor) throws(EngineError) -> [String: FloatTensor] {
        try trace(inputs: [Model.inputName: input])
    }

    /// Every layer's output for `inputs` (input name → value), by layer name.
    public func trace(inputs: [String: FloatTensor]) throws(EngineError) -> [String: FloatTensor] {
        try checkInputs(inputs)
        var values = inputs
        let workspace = Workspace()
        for layer in model.layers {
            values[layer.name] = try evaluate(
                layer, try self.inputs(of: layer, in: values), inputBounds: nil, bounded: false, workspace: workspace
            ).value
        }
        for name in model.inputNames { values[name] = nil }
        return values
    }

    /// The values of the layers `keeping` names (others are ignored), computed from `inputs` (input name → value) in
    /// one pass like `trace`; every other value is dropped after its last reader, so its memory serves the layers
    /// after it (a `trace` holds all of them at once, each in memory of its own).
    public func trace(inputs: [String: FloatTensor], keeping: Set<String>) throws(EngineError) -> [String: FloatTensor]
    {
        try checkInputs(inputs)
        var readers = readerCounts
        var values = inputs
        var kept: [String: FloatTensor] = [:]
        let workspace = Workspace()
        for (index, layer) in model.layers.enumerated() {
            let value: FloatTensor
            if let only = layer.inputs.first, layer.inputs.count == 1, inputs[only] == nil, !keeping.contains(only),
                readers[only] == 1, let fused = try appliedInPlace(layer, at: index, taking: &values)
            {
                value = fused
            } else {
                value = try evaluate(
                    layer, try self.inputs(of: layer, in: values), inputBounds: nil, bounded: false,
                    workspace: workspace
                ).value
            }
            Self.release(readOnceMore: layer, known: inputs, readers: &readers, values: &values)
            if keeping.contains(layer.name) { kept[layer.name] = value }
            if readers[layer.name, default: 0] > 0 { values[layer.name] = value }
        }
        return kept
    }

    /// Computes layer `name`'s output. Its inputs are taken from `known` (layer name, or `Model.inputName`, → value)
    /// where present, else computed the same way; the layer itself is always computed, even when `known` has it.
    public func output(of name: String, given known: [String: FloatTensor]) throws(EngineError) -> FloatTensor {
        let (target, order, counts) = try plan(reaching: name, given: known)
        var readers = counts
        var values = known
        let workspace = Workspace()
        for index in order {
            let layer = model.layers[index]
            let value: FloatTensor
            if let only = layer.inputs.first, layer.inputs.count == 1, known[only] == nil, readers[only] == 1,
                let fused = try appliedInPlace(layer, at: index, taking: &values)
            {
                value = fused
            } else {
                value = try evaluate(
                    layer, try inputs(of: layer, in: values), inputBounds: nil, bounded: false, workspace: workspace
                ).value
            }
            if index == target { return value }
            Self.release(readOnceMore: layer, known: known, readers: &readers, values: &values)
            values[layer.name] = value
        }
        preconditionFailure("layer '\(name)' was not computed")
    }

    /// Throws `missingValue` for the first model input `inputs` lacks, naming a layer that reads it.
    private func checkInputs(_ inputs: [String: FloatTensor]) throws(EngineError) {
        for name in model.inputNames where inputs[name] == nil {
            let reader = model.layers.first { $0.inputs.contains(name) }
            throw .missingValue(layer: reader?.name ?? name, input: name)
        }
    }

    private func inputs(of layer: Layer, in values: [String: FloatTensor]) throws(EngineError) -> [FloatTensor] {
        try layer.inputs.map { name throws(EngineError) in
            guard let value = values[name] else { throw .missingValue(layer: layer.name, input: name) }
            return value
        }
    }

    /// Applies one layer to its input values, after checking their shapes against the layer's rule.
    public func apply(_ layer: Layer, to inputs: [FloatTensor]) throws(EngineError) -> FloatTensor {
        try evaluate(layer, inputs, inputBounds: nil, bounded: false, workspace: Workspace()).value
    }

    /// `apply`, with the bound on each output element's rounding difference (`RoundingBound`), given bounds on the
    /// inputs' own (nil: exact inputs, such as recorded values).
    public func applyWithBound(_ layer: Layer, to inputs: [FloatTensor], inputBounds: [[Float]]? = nil)
        throws(EngineError) -> BoundedTensor
    {
        try evaluate(layer, inputs, inputBounds: inputBounds, bounded: true, workspace: Workspace())
    }

    /// `output(of:given:)` with the rounding bound carried through every layer computed (the `known` values exact).
    public func outputWithBound(of name: String, given known: [String: FloatTensor]) throws(EngineError)
        -> BoundedTensor
    {
        let (target, order, counts) = try plan(reaching: name, given: known)
        var readers = counts
        // Known values are exact: an empty bound, so layers fed only by them skip the propagation products.
        var values: [String: BoundedTensor] = known.mapValues { BoundedTensor(value: $0, bound: []) }
        let workspace = Workspace()
        for index in order {
            let layer = model.layers[index]
            let inputs = try layer.inputs.map { name throws(EngineError) in
                guard let value = values[name] else { throw .missingValue(layer: layer.name, input: name) }
                return value
            }
            let value = try evaluate(
                layer, inputs.map(\.value), inputBounds: inputs.map(\.bound), bounded: true, workspace: workspace)
            if index == target { return value }
            // Each computed value and its bound are dropped after their last reader, as in `output(of:given:)`.
            Self.release(readOnceMore: layer, known: known, readers: &readers, values: &values)
            values[layer.name] = value
        }
        preconditionFailure("layer '\(name)' was not computed")
    }

    /// Counts down the readers of each value `layer` has just read and drops the computed ones (not in `known`, the
    /// caller's) no later layer reads.
    private static func release<Value>(
        readOnceMore layer: Layer, known: [String: FloatTensor], readers: inout [String: Int],
        values: inout [String: Value]
    ) {
        for input in layer.inputs where known[input] == nil {
            readers[input, default: 0] -= 1
            if readers[input] == 0 { values[input] = nil }
        }
    }

    /// The layers a value `name` needs given `known` values, found walking back from it (iteratively), in model
    /// order (`target`, its index, last), and how many of them read each value computed on the way, for dropping
    /// each one after its last reader, so its memory serves the layers after.
    private func plan(reaching name: String, given known: [String: FloatTensor]) throws(EngineError)
        -> (target: Int, order: [Int], readers: [String: Int])
    {
        guard let target = indexOfLayer[name] else { throw .unknownLayer(name) }
        var needed = Set<Int>([target])
        var stack = [target]
        while let index = stack.popLast() {
            for input in model.layers[index].inputs where known[input] == nil {
                guard let upstream = indexOfLayer[input] else {
                    throw .missingValue(layer: model.layers[index].name, input: input)
                }
                if needed.insert(upstream).inserted { stack.append(upstream) }
            }
        }
        let order = needed.sorted()
        var readers: [String: Int] = [:]
        for index in order {
            for input in model.layers[index].inputs where known[input] == nil { readers[input, default: 0] += 1 }
        }
        return (target, order, readers)
    }

    /// How many layers read each value (layer name or input name), for dropping a value after its last reader.
    private var readerCounts: [String: Int] {
        var readers: [String: Int] = [:]
        for layer in model.layers {
            for input in layer.inputs { readers[input, default: 0] += 1 }
        }
        return readers
    }

    /// `trace`, with every layer's rounding bound propagated from the exact input (a first-order forward error
    /// bound: each layer's `|Jacobian|` applied to the incoming bound, plus its own rounding).
    public func traceWithBounds(_ inputs: [String: FloatTensor]) throws(EngineError) -> [String: BoundedTensor] {
        try traceWithBounds(inputs, keeping: nil)
    }

    /// `traceWithBounds` returning only the layers `keeping` names; every other value and bound is dropped after its
    /// last reader (nil: every layer kept).
    public func traceWithBounds(_ inputs: [String: FloatTensor], keeping: Set<String>?) throws(EngineError)
        -> [String: BoundedTensor]
    {
        var readers = readerCounts
        var values: [String: BoundedTensor] = inputs.mapValues { BoundedTensor(value: $0, bound: []) }
        var kept: [String: BoundedTensor] = [:]
        let workspace = Workspace()
        for layer in model.layers {
            let operands = try layer.inputs.map { name throws(EngineError) in
                guard let value = values[name] else { throw .missingValue(layer: layer.name, input: name) }
                return value
            }
            let value = try evaluate(
                layer, operands.map(\.value), inputBounds: operands.map(\.bound), bounded: true, workspace: workspace)
            guard let keeping else {
                values[layer.name] = value
                continue
            }
            Self.release(readOnceMore: layer, known: inputs, readers: &readers, values: &values)
            if keeping.contains(layer.name) { kept[layer.name] = value }
            if readers[layer.name, default: 0] > 0 { values[layer.name] = value }
        }
        guard keeping != nil else {
            for name in inputs.keys { values[name] = nil }
            return values
        }
        return kept
    }

    /// Layer `index` (an `InPlaceOperation`, of one input, in float32) applied in place on its input's value, taken
    /// out of `values`: a run-time fusion with the layer that produced it, for a value no one else reads (the caller
    /// checks). Nil, with `values` as it was, where the layer cannot be applied in place.
    private func appliedInPlace(_ layer: Layer, at index: Int, taking values: inout [String: FloatTensor])
        throws(EngineError) -> FloatTensor?
    {
        let stored = model.layers[index]
        guard let op = inPlace[index], stored.precision == .float32, let name = stored.inputs.first,
            var value = values.removeValue(forKey: name)
        else { return nil }
        // The same shape rule as `evaluate`; the output must be the input's shape to be written over it.
        let shape: [Int]
        do throws(EngineError) {
            shape = try checkedOutputShape(stored, [value])
        } catch {
            values[name] = value
            throw error
        }
        if shape == value.shape, op.applyInPlace(&value) { return value }
        values[name] = value
        return nil
    }

    /// The output shape of `layer` (the model's own) for `inputs`, by its operation's rule.
    private func checkedOutputShape(_ layer: Layer, _ inputs: [FloatTensor]) throws(EngineError) -> [Int] {
        try checkedOutputShape(layer, shapes: inputs.map(\.shape))
    }

    /// The output shape of `layer` for inputs of shapes `inputs`, by its operation's rule.
    private func checkedOutputShape(_ layer: Layer, shapes inputs: [[Int]]) throws(EngineError) -> [Int] {
        let op = layer.op
        let shape: ValueShape
        do throws(LayerProblem) {
            guard type(of: op).inputCount.contains(inputs.count) else {
                throw .inputCount(expected: "\(type(of: op).inputCount)", actual: inputs.count)
            }
            shape = try op.outputShape(inputs: inputs.map { ValueShape(concrete: $0) }) {
                parameterShapes["\(layer.name)/\($0)"]
            }
        } catch {
            throw .layer(layer.name, error)
        }
        guard let outputShape = shape.concrete else {
            preconditionFailure("\(op.typeName) gave \(shape) for concrete inputs")
        }
        return outputShape
    }

    /// Layer `index`'s prepared kernel on `operands`. A reduced-precision layer sees its inputs and gives its output
    /// rounded to its precision, as Keras casts: `operands` are left rounded, as the kernel saw them.
    private func computed(
        _ index: Int, _ operands: inout [FloatTensor], outputShape: [Int], workspace: Workspace
    ) -> FloatTensor {
        let precision = model.layers[index].precision
        if precision != .float32 { operands = operands.map { precision.rounded($0) } }
        let output = prepared[index].apply(operands, outputShape: outputShape, workspace: workspace)
        return precision == .float32 ? output : precision.rounded(output)
    }

    private func evaluate(
        _ layer: Layer, _ inputs: [FloatTensor], inputBounds: [[Float]]?, bounded: Bool, workspace: Workspace
    ) throws(EngineError) -> BoundedTensor {
        guard let index = indexOfLayer[layer.name] else { throw .unknownLayer(layer.name) }
        let stored = model.layers[index]
        let outputShape = try checkedOutputShape(stored, inputs)
        let precision = stored.precision
        var operands = inputs
        let output = computed(index, &operands, outputShape: outputShape, workspace: workspace)
        guard bounded else { return BoundedTensor(value: output, bound: []) }
        let u = precision.unitRoundoff
        // Exact operands (empty bounds) need no propagation; mixed ones get zeros where exact.
        let incoming: [[Float]]? =
            inputBounds.flatMap { bounds in
                bounds.allSatisfy(\.isEmpty)
                    ? nil
                    : zip(bounds, operands).map { $0.isEmpty ? [Float](repeating: 0, count: $1.count) : $0 }
            }
        var bound = prepared[index].roundingBound(operands, inputBounds: incoming, output: output, roundoff: u)
        if precision != .float32 {
            // The output's own rounding to the layer's precision (an exact result rounds too).
            if bound.isEmpty { bound = [Float](repeating: 0, count: output.count) }
            for i in bound.indices { bound[i] += u * abs(output.values[i]) }
        }
        RoundingBound.capped(&bound)
        return BoundedTensor(value: output, bound: bound)
    }
}

/// A computed value with, for each element, the bound on the rounding difference two correct implementations may
/// have there (`RoundingBound`).
public struct BoundedTensor: Sendable {
    public var value: FloatTensor
    /// One bound per element of `value`; empty for an exact value (a recorded one) or where none was computed.
    public var bound: [Float]

    public init(value: FloatTensor, bound: [Float]) {
        self.value = value
        self.bound = bound
    }
}

extension Precision {
    /// `x` rounded to this precision (round to nearest, ties to even) and widened back to float32.
    public func rounded(_ x: FloatTensor) -> FloatTensor {
        FloatTensor(shape: x.shape, values: x.values.map(rounded))
    }

    public func rounded(_ value: Float) -> Float {
        switch self {
        case .float32:
            return value
        case .float16:
            return Float(Float16(value))
        case .bfloat16:
            guard value.isFinite else { return value }
            let bits = value.bitPattern
            let roundedBits = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000
            return Float(bitPattern: roundedBits)
        }
    }
}

/// What `Engine.run(_:)` does for one input shape, worked out once: the layers it computes in order, where each one's
/// inputs come from (a layer's index, or -1 for the model input), its output shape (checked by the operation's rule
/// when the plan was made), and how many steps read each layer's value.
struct ForwardPlan: Sendable {
    struct Step: Sendable {
        var layer: Int
        var sources: [Int]
        var outputShape: [Int]
        /// The layers after `layer` fused into it (`EpilogueOperation`s reading only its value, in order; empty: none).
        var fused: [Int] = []
        var epilogue: Epilogue = .none
        /// The zeros `layer` adds around its input instead of the padding layer before it, which this step replaces
        /// (`PaddingAbsorbing`); nil: none.
        var padding: EdgeAmounts?

        /// The layer whose value this step gives: the last one fused, else `layer`.
        var result: Int { fused.last ?? layer }
    }

    var steps: [Step]
    var target: Int
    var readers: [Int]
}

/// An engine's forward plans by input shape: made at the first call for a shape, then only read; a handful kept (a
/// caller alternating between many shapes makes a plan per call, as costly as the checks it replaces).
final class ForwardPlans: @unchecked Sendable {
    private let lock = NSLock()
    private var plans: [[Int]: ForwardPlan] = [:]
    private static let kept = 8

    func plan(for shape: [Int]) -> ForwardPlan? {
        lock.lock()
        defer { lock.unlock() }
        return plans[shape]
    }

    func keep(_ plan: ForwardPlan, for shape: [Int]) {
        lock.lock()
        defer { lock.unlock() }
        if plans.count >= Self.kept { plans.removeAll() }
        plans[shape] = plan
    }
}
