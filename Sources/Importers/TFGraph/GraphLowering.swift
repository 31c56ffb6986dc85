import ParityModel
import TFCheckpoint
import TFGraph
import TensorCore

/// A weight a layer reads: a variable of the checkpoint, or a constant of the graph.
struct GraphParameter {
    /// The variable's name, what layers are named after; nil for a constant that is no weight (a frozen graph's
    /// scalars).
    var variableName: String?
    var pending: PendingTensor
    /// The tensor's name in the checkpoint, for a variable (a spec can name it); nil for a graph constant.
    var sourceName: String? = nil
}

/// What a handler made of one or more nodes: a layer, its weights, and the values it reads.
struct LoweredLayer {
    var op: any LayerOperation
    /// Model parameter (`kernel`, `moving_mean`, …) → the weight.
    var parameters: [(slot: String, parameter: GraphParameter)] = []
    /// The data-path values the layer reads, in the op's input order.
    var inputs: [GraphTensor]
    /// The value the layer computes.
    var output: GraphTensor
    /// The graph nodes the layer replaces (its data-path nodes), for inspect and to skip them.
    var nodes: [Int]
    /// The name of a layer that reads no variable: its op's.
    var fallbackName: String
}

/// Lowers the nodes of one TensorFlow op family, or one pattern, to a layer; listed in `GraphOpHandlers.all` and
/// looked up by the op types it names.
protocol GraphOpHandler: Sendable {
    /// The op types of the nodes this handler's layers start at.
    var opTypes: [String] { get }
    /// The layer `node` (on the data path, not yet lowered) starts; nil when the node is not this handler's pattern.
    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer?
}

/// The weights of a graph: where variables' values are read.
struct GraphWeights {
    /// The checkpoint, for a graph with variables.
    var bundle: TensorBundle?
    /// The checkpoint as the user named it, for errors.
    var bundlePath: String
    /// True for a frozen graph, whose float constants of more than one element are its variables (for names).
    var constantsAreVariables: Bool
}

/// What handlers see of the inference graph: nodes, which are on the data path, their consumers, and the values of
/// the weights and constants they read.
final class LoweringContext {
    let graph: InferenceGraph
    let weights: GraphWeights
    let dynamic: [Bool]
    let needed: [Bool]
    private(set) var consumers: [[Int]]
    private var constants: [Int: Tensor] = [:]
    private let outputNodes: Set<Int>

    init(graph: InferenceGraph, weights: GraphWeights) {
        self.graph = graph
        self.weights = weights
        dynamic = graph.dynamicNodes()
        needed = graph.neededNodes()
        var consumers = [[Int]](repeating: [], count: graph.nodes.count)
        for (index, node) in graph.nodes.enumerated() where needed[index] {
            for input in node.inputs where !consumers[input.node].contains(index) {
                consumers[input.node].append(index)
            }
        }
        self.consumers = consumers
        outputNodes = Set(graph.outputs.map(\.node))
    }

    var path: String { graph.path }

    func node(_ index: Int) -> InferenceNode { graph.nodes[index] }

    func isDynamic(_ tensor: GraphTensor) -> Bool { dynamic[tensor.node] }

    /// The one node consuming `node`'s value, when it has exactly one and `node` is not a model output (whose value
    /// must stay a layer's).
    func soleConsumer(of node: Int) -> Int? {
        guard !outputNodes.contains(node), consumers[node].count == 1 else { return nil }
        return consumers[node][0]
    }

    /// The consumers of `node` of one of `ops`.
    func consumers(of node: Int, ops: Set<String>) -> [Int] {
        consumers[node].filter { ops.contains(graph.nodes[$0].op) }
    }

    /// `node`'s value is read by no one but `others`.
    func isOnlyUsed(_ node: Int, by others: Set<Int>) -> Bool {
        !outputNodes.contains(node) && consumers[node].allSatisfy(others.contains)
    }

    /// The data input and the other input of a binary op whose other input is not on the data path.
    func dataAndOther(_ node: Int) -> (data: GraphTensor, other: GraphTensor)? {
        let inputs = graph.nodes[node].inputs
        guard inputs.count == 2 else { return nil }
        switch (dynamic[inputs[0].node], dynamic[inputs[1].node]) {
        case (true, false): return (inputs[0], inputs[1])
        case (false, true): return (inputs[1], inputs[0])
        default: return nil
        }
    }

    /// The value of a constant (`Const`, a fed placeholder), decoded once.
    func constant(_ tensor: GraphTensor) throws -> Tensor? {
        let node = graph.nodes[tensor.node]
        guard tensor.output == 0 else { return nil }
        if let value = node.constant { return value }
        guard node.op == "Const" else { return nil }
        if let cached = constants[tensor.node] { return cached }
        guard let proto = node.attr["value"]?.tensorValue else {
            throw GraphImportError.unsupportedUse(
                path: path, node: node.name, op: node.op, reason: "the constant has no value")
        }
        let value = try proto.tensor(path: path, node: node.name)
        constants[tensor.node] = value
        return value
    }

    /// A scalar constant's value (any numeric type), through shape-only ops.
    func scalar(_ tensor: GraphTensor) throws -> Double? {
        guard let source = staticSource(tensor), let value = try constant(source), value.elementCount == 1 else {
            return nil
        }
        return value.doubleValues().first
    }

    /// An integer constant's values (`int32`/`int64` axes, paddings, shapes), each representable as `Int`.
    func integers(_ tensor: GraphTensor) throws -> [Int]? {
        guard let value = try constant(tensor), value.dtype == .int32 || value.dtype == .int64 else { return nil }
        return value.doubleValues().map { Int(exactly: $0) ?? Int.max }
    }

    /// A weight: a variable or constant reached through ops that only reshape it (`Reshape`, `Squeeze`,
    /// `ExpandDims`), as Keras 3 reshapes its biases. Nil when the value is on the data path or computed.
    func parameter(_ tensor: GraphTensor) throws -> GraphParameter? {
        guard !dynamic[tensor.node], let source = staticSource(tensor) else { return nil }
        let node = graph.nodes[source.node]
        if let variable = node.variable {
            guard let bundle = weights.bundle else {
                throw GraphImportError.missingVariable(
                    path: path, variable: variable.name, checkpoint: "no checkpoint")
            }
            guard let entry = bundle.entry(named: variable.key) else {
                throw GraphImportError.missingVariable(
                    path: path, variable: variable.key, checkpoint: weights.bundlePath)
            }
            guard case .tensor(let dtype) = entry.kind else {
                // The bundle's own error says why (a partitioned variable, a string).
                _ = try bundle.tensor(named: variable.key)
                throw GraphImportError.missingVariable(
                    path: path, variable: variable.key, checkpoint: weights.bundlePath)
            }
            let key = variable.key
            return GraphParameter(
                variableName: variable.name,
                pending: PendingTensor(dtype: dtype, shape: entry.shape) { try bundle.tensor(named: key) },
                sourceName: key)
        }
        guard let value = try constant(source) else { return nil }
        let isWeight =
            weights.constantsAreVariables && value.elementCount > 1
            && [DType.float32, .float64, .float16, .bfloat16].contains(value.dtype)
        return GraphParameter(variableName: isWeight ? node.name : nil, pending: PendingTensor(value))
    }

    /// The variable or constant behind ops that only reshape a static value.
    private func staticSource(_ tensor: GraphTensor) -> GraphTensor? {
        var current = tensor
        for _ in 0..<16 {
            let node = graph.nodes[current.node]
            if node.variable != nil || node.constant != nil || node.op == "Const" { return current }
            guard ["Reshape", "Squeeze", "ExpandDims"].contains(node.op), let first = node.inputs.first,
                !dynamic[first.node]
            else { return nil }
            current = first
        }
        return nil
    }

    /// An integer list attribute (`strides`, `ksize`), each value representable as `Int`.
    func integers(_ node: Int, _ attribute: String) -> [Int]? {
        switch graph.nodes[node].attr[attribute]?.listValue {
        case .ints(let values): values.map { Int(exactly: $0) ?? Int.max }
        case nil: nil
        default: []
        }
    }

    func text(_ node: Int, _ attribute: String) -> String? { graph.nodes[node].attr[attribute]?.text }

    func bool(_ node: Int, _ attribute: String) -> Bool? { graph.nodes[node].attr[attribute]?.boolValue }

    /// The error for a use of an op this handler recognises but cannot lower.
    func refuse(_ node: Int, _ reason: String) -> GraphImportError {
        .unsupportedUse(path: path, node: graph.nodes[node].name, op: graph.nodes[node].op, reason: reason)
    }

    /// Refuses `data_format: NCHW` (tfparity models are channels-last).
    func requireNHWC(_ node: Int) throws {
        if let format = text(node, "data_format"), format != "NHWC", !format.isEmpty {
            throw refuse(node, "data_format \(format) is not supported (tfparity models are NHWC)")
        }
    }

    /// `padding` as a layer's: `SAME` or `VALID`.
    func padding(_ node: Int) throws -> Padding {
        switch text(node, "padding") {
        case "SAME": return .same
        case "VALID": return .valid
        case let other: throw refuse(node, "padding '\(other ?? "")' is not supported (SAME or VALID)")
        }
    }

    /// The spatial pair of an NHWC 4-vector attribute (`strides [1, 2, 2, 1]` → `[2, 2]`); batch and channel must be
    /// 1.
    func spatial(_ node: Int, _ attribute: String, default fallback: [Int]? = nil) throws -> [Int] {
        guard let values = integers(node, attribute) else {
            if let fallback { return fallback }
            throw refuse(node, "'\(attribute)' is missing")
        }
        guard values.count == 4, values[0] == 1, values[3] == 1 else {
            throw refuse(node, "'\(attribute)' \(values) must be [1, h, w, 1]")
        }
        return [values[1], values[2]]
    }
}

/// Turns an `InferenceGraph` into layers: each data-path node, in order, is lowered by the first handler of its op type
/// that takes it; the layers are then named by the contract's rule.
enum GraphLowering {
    static func plan(_ graph: InferenceGraph, weights: GraphWeights) throws -> ModelPlan {
        guard graph.outputs.count == 1 else {
            throw GraphImportError.ambiguousOutputs(path: graph.path, candidates: graph.outputNames)
        }
        let context = LoweringContext(graph: graph, weights: weights)
        var lowered: [LoweredLayer] = []
        var producer: [GraphTensor: Int] = [:]
        var covered = Set<Int>()
        for index in graph.nodes.indices where context.dynamic[index] && context.needed[index] {
            let node = graph.nodes[index]
            if node.isInput || covered.contains(index) { continue }
            var layer: LoweredLayer?
            for handler in GraphOpHandlers.table[node.op] ?? [] {
                if let made = try handler.lower(index, in: context) {
                    layer = made
                    break
                }
            }
            guard let layer else {
                throw GraphImportError.unsupportedOp(
                    path: graph.path, node: node.name, op: node.op, location: node.location,
                    route: route(to: index, in: context))
            }
            covered.formUnion(layer.nodes)
            producer[layer.output] = lowered.count
            lowered.append(layer)
        }
        let names = LayerNaming.names(for: lowered)
        var layers: [Layer] = []
        var parameters: [String: PendingTensor] = [:]
        var origins: [String: [String]] = [:]
        var sources: [String: String] = [:]
        for (position, layer) in lowered.enumerated() {
            let inputs = try layer.inputs.map { tensor -> String in
                if graph.nodes[tensor.node].isInput { return Model.inputName }
                guard let source = producer[tensor] else {
                    let node = graph.nodes[tensor.node]
                    throw GraphImportError.unsupportedUse(
                        path: graph.path, node: node.name, op: node.op,
                        reason: "its value is used inside the pattern of another layer and by layer "
                            + "'\(names[position])'")
                }
                return names[source]
            }
            for (slot, parameter) in layer.parameters {
                parameters["\(names[position])/\(slot)"] = parameter.pending
                sources["\(names[position])/\(slot)"] = parameter.sourceName
            }
            layers.append(Layer(name: names[position], op: layer.op, inputs: inputs))
            origins[names[position]] = layer.nodes.map { "\(graph.nodes[$0].name) (\(graph.nodes[$0].op))" }
        }
        let output = graph.outputs[0]
        guard !graph.nodes[output.node].isInput else {
            throw GraphImportError.emptyModel(path: graph.path, output: graph.outputNames[0])
        }
        guard let last = producer[output], last == lowered.count - 1 else {
            let node = graph.nodes[output.node]
            throw GraphImportError.unsupportedUse(
                path: graph.path, node: node.name, op: node.op,
                reason: "the output is not the last layer's value (a value computed inside a pattern)")
        }
        var plan = ModelPlan(layers: layers, parameters: parameters, provenance: nil, sourcePath: graph.path)
        plan.layerOrigins = origins
        plan.parameterSources = sources
        return plan
    }

    /// The names from the input to `node` along data inputs, as `name (Op)`.
    private static func route(to node: Int, in context: LoweringContext) -> [String] {
        var chain: [Int] = []
        var current = node
        while chain.count < 64 {
            chain.append(current)
            let inputs = context.node(current).inputs.filter { context.dynamic[$0.node] }
            guard let next = inputs.first else { break }
            current = next.node
        }
        if chain.count == 64 { chain.append(-1) }
        return chain.reversed().map { index in
            guard index >= 0 else { return "…" }
            let item = context.node(index)
            return item.isInput ? item.name : "\(item.name) (\(item.op))"
        }
    }
}

/// The contract's naming rule: a layer is named after the longest common name scope of the variables it reads, after
/// dropping the scope prefix that every variable of the model shares; a layer without variables is named after its op.
enum LayerNaming {
    static func names(for layers: [LoweredLayer]) -> [String] {
        let all = layers.flatMap { $0.parameters.compactMap(\.parameter.variableName) }
        let shared = commonScope(all).count
        var used: Set<String> = [Model.inputName]
        return layers.map { layer in
            let variables = layer.parameters.compactMap(\.parameter.variableName)
            var name = variables.isEmpty ? "" : commonScope(variables).dropFirst(shared).joined(separator: "/")
            if name.isEmpty { name = layer.fallbackName }
            if used.contains(name) {
                var suffix = 1
                while used.contains("\(name)_\(suffix)") { suffix += 1 }
                name = "\(name)_\(suffix)"
            }
            used.insert(name)
            return name
        }
    }

    /// The longest scope (`a/b` of `a/b/c`) all `names` share.
    static func commonScope(_ names: [String]) -> [Substring] {
        guard let first = names.first else { return [] }
        var prefix = Array(first.split(separator: "/", omittingEmptySubsequences: false).dropLast())
        for name in names.dropFirst() {
            let scope = name.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            var count = 0
            for (a, b) in zip(prefix, scope) {
                guard a == b else { break }
                count += 1
            }
            prefix = Array(prefix.prefix(count))
        }
        return prefix
    }
}
