import TFGraph
import TensorCore

/// The inference computation's ends in a top-level graph: its input placeholders, its outputs, and the placeholder
/// values that select its branches.
struct GraphSelection {
    var inputs: [String]
    var outputs: [TensorReference]
    var feeds: [String: Tensor]
    /// One line per thing decided for the user (an unfed bool placeholder fed `false`).
    var notes: [String]

    /// Chooses inputs, outputs and feeds from `options`, finding what the user left out.
    ///
    /// Outputs default to the sinks of the forward computation from the input: what the input computes that nothing
    /// else of the forward computation consumes, leaving out what depends on another placeholder (labels, the loss
    /// and the optimizer), the branches the feeds do not take, gradients, savers, and whatever feeds a variable
    /// assignment (moving-average updates). The input defaults to the one float placeholder with such outputs (or, given
    /// outputs, the one they depend on).
    static func choose(in graph: Graph, options: GraphImportOptions, signature: (inputs: [String], outputs: [String])?)
        throws -> GraphSelection
    {
        let path = graph.path
        var feeds: [String: Tensor] = [:]
        var notes: [String] = []
        for feed in options.feeds {
            guard let node = graph.node(named: feed.name) else {
                throw GraphImportError.noSuchNode(path: path, node: feed.name, role: .feed)
            }
            let type = node.attr["dtype"]?.typeValue ?? node.attr["T"]?.typeValue ?? .invalid
            guard let tensor = feed.tensor(as: type) else {
                throw GraphImportError.badFeed(
                    path: path, node: feed.name, value: feed.value.description, dtype: type.description)
            }
            feeds[feed.name] = tensor
        }
        for node in graph.nodes
        where node.op == "Placeholder" && node.attr["dtype"]?.typeValue == .bool && feeds[node.name] == nil {
            feeds[node.name] = Tensor(dtype: .bool, shape: [], bytes: [0])
            notes.append("the bool placeholder '\(node.name)' is fed false (inference)")
        }
        func reference(_ text: String, role: GraphImportError.Role) throws -> TensorReference {
            guard let parsed = TensorReference(parsing: text), !parsed.isControl, parsed.outputArgument == nil,
                graph.node(named: parsed.node) != nil
            else {
                throw GraphImportError.noSuchNode(path: path, node: text, role: role)
            }
            return parsed
        }
        let givenInputs = try (options.inputs.isEmpty ? signature?.inputs ?? [] : options.inputs).map {
            try reference($0, role: .input).node
        }
        var outputs = try (options.outputs.isEmpty ? signature?.outputs ?? [] : options.outputs).map {
            try reference($0, role: .output)
        }
        let analysis = try ForwardAnalysis(graph: graph, feeds: feeds)
        var inputs = givenInputs
        if outputs.isEmpty {
            let candidates = inputs.isEmpty ? analysis.floatPlaceholders : inputs.compactMap(graph.position(of:))
            var found: [(input: Int, sinks: [Int])] = []
            if inputs.isEmpty {
                for candidate in candidates {
                    let sinks = analysis.sinks(from: [candidate])
                    if !sinks.isEmpty { found.append((candidate, sinks)) }
                }
            } else {
                found = [(candidates.first ?? 0, analysis.sinks(from: candidates))]
            }
            guard found.count == 1 else {
                throw GraphImportError.ambiguousInputs(
                    path: path,
                    candidates: (found.isEmpty ? candidates : found.map(\.input)).map { graph.nodes[$0].name })
            }
            guard found[0].sinks.count == 1 else {
                throw GraphImportError.ambiguousOutputs(
                    path: path, candidates: found[0].sinks.map { graph.nodes[$0].name })
            }
            if inputs.isEmpty { inputs = [graph.nodes[found[0].input].name] }
            outputs = [TensorReference(node: graph.nodes[found[0].sinks[0]].name)]
        } else if inputs.isEmpty {
            let upstream = analysis.placeholders(feeding: outputs.compactMap { graph.position(of: $0.node) })
            guard upstream.count == 1 else {
                throw GraphImportError.ambiguousInputs(path: path, candidates: upstream.map { graph.nodes[$0].name })
            }
            inputs = [graph.nodes[upstream[0]].name]
        }
        return GraphSelection(inputs: inputs, outputs: outputs, feeds: feeds, notes: notes)
    }
}

/// Which nodes of a top-level graph are alive under the feeds, which placeholders each depends on, and who consumes
/// what: the facts default inputs and outputs are chosen from.
struct ForwardAnalysis {
    let graph: Graph
    /// Per node: every output is dead (a branch not taken).
    private(set) var deadNode: [Bool]
    private var deadTensors: Set<GraphTensor> = []
    /// Per node: the unfed placeholders (positions) its value depends on.
    private(set) var placeholders: [Set<Int>]
    private var consumers: [[Int]]
    /// Unfed float `Placeholder`s, in graph order.
    let floatPlaceholders: [Int]
    private let feeds: [String: Tensor]

    static let assignments: Set<String> = [
        "Assign", "AssignAdd", "AssignSub", "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp",
    ]
    /// Ops outside the forward computation: their value is a shape or nothing, or they belong to training.
    static let outsideForward: Set<String> = [
        "Shape", "ShapeN", "Size", "Rank", "BroadcastGradientArgs", "NoOp", "Const", "Placeholder",
        "PlaceholderWithDefault", "VariableV2", "VarHandleOp", "VarIsInitializedOp", "IsVariableInitialized",
        "SaveV2", "RestoreV2", "MergeSummary", "ScalarSummary", "HistogramSummary", "ImageSummary",
    ]
    /// Control-flow plumbing: part of the forward computation, never its output (a `Switch`'s taken side that only a
    /// branch's update reads).
    static let neverOutputs: Set<String> = [
        "Switch", "RefSwitch", "Merge", "RefMerge", "Enter", "Exit", "NextIteration",
    ]

    init(graph: Graph, feeds: [String: Tensor]) throws {
        self.graph = graph
        self.feeds = feeds
        let count = graph.nodes.count
        deadNode = [Bool](repeating: false, count: count)
        placeholders = [Set<Int>](repeating: [], count: count)
        consumers = [[Int]](repeating: [], count: count)
        floatPlaceholders = graph.nodes.indices.filter { position in
            let node = graph.nodes[position]
            let type = node.attr["dtype"]?.typeValue?.dtype
            return node.op == "Placeholder" && feeds[node.name] == nil
                && [DType.float32, .float64, .float16, .bfloat16].contains(type)
        }
        for position in try graph.topologicalOrder() {
            let node = graph.nodes[position]
            var dead = false
            var data: [GraphTensor] = []
            for reference in graph.inputs[position] {
                guard let source = graph.position(of: reference.node) else { continue }
                if reference.isControl {
                    if deadNode[source] { dead = true }
                    continue
                }
                data.append(GraphTensor(node: source, output: reference.index))
            }
            let deadInputs = data.filter { deadTensors.contains($0) || deadNode[$0.node] }
            if node.op == "Merge" || node.op == "RefMerge" {
                if !data.isEmpty && deadInputs.count == data.count { dead = true }
            } else if !deadInputs.isEmpty {
                dead = true
            }
            if dead {
                deadNode[position] = true
                continue
            }
            var depends: Set<Int> = []
            for tensor in data where !deadInputs.contains(tensor) {
                depends.formUnion(placeholders[tensor.node])
                consumers[tensor.node].append(position)
            }
            if node.op == "Placeholder" && feeds[node.name] == nil { depends.insert(position) }
            placeholders[position] = depends
            if node.op == "Switch" || node.op == "RefSwitch", data.count == 2, let taken = known(data[1]) {
                deadTensors.insert(GraphTensor(node: position, output: taken ? 0 : 1))
            }
        }
    }

    /// A fed boolean's value, through identities and switches.
    private func known(_ tensor: GraphTensor) -> Bool? {
        var current = tensor
        for _ in 0..<64 {
            let node = graph.nodes[current.node]
            if let fed = feeds[node.name] { return fed.bytes.contains { $0 != 0 } }
            if node.op == "Const", let value = node.attr["value"]?.tensorValue,
                let tensor = try? value.tensor(path: graph.path, node: node.name), tensor.elementCount == 1
            {
                return tensor.bytes.contains { $0 != 0 }
            }
            guard node.op == "Identity" || node.op == "Switch",
                let first = graph.inputs[current.node].first(where: { !$0.isControl }),
                let source = graph.position(of: first.node)
            else { return nil }
            current = GraphTensor(node: source, output: first.index)
        }
        return nil
    }

    /// The unfed placeholders `outputs` depend on, float ones only, in graph order.
    func placeholders(feeding outputs: [Int]) -> [Int] {
        let all = outputs.reduce(into: Set<Int>()) { $0.formUnion(placeholders[$1]) }
        return floatPlaceholders.filter(all.contains)
    }

    /// The forward computation's sinks from `inputs`.
    func sinks(from inputs: [Int]) -> [Int] {
        let allowed = Set(inputs)
        let count = graph.nodes.count
        var forward = [Bool](repeating: false, count: count)
        for position in 0..<count where !deadNode[position] && !allowed.contains(position) {
            let depends = placeholders[position]
            guard !depends.isEmpty, depends.isSubset(of: allowed), !isTraining(position) else { continue }
            forward[position] = true
        }
        // What flows into a variable assignment is an update (a moving average), not an output.
        var updates = [Bool](repeating: false, count: count)
        var stack = (0..<count).filter { !deadNode[$0] && Self.assignments.contains(graph.nodes[$0].op) }
        while let position = stack.popLast() {
            for reference in graph.inputs[position] where !reference.isControl {
                if let source = graph.position(of: reference.node), !updates[source] {
                    updates[source] = true
                    stack.append(source)
                }
            }
        }
        return (0..<count).filter { position in
            forward[position] && !updates[position] && producesFloat(position)
                && !Self.neverOutputs.contains(graph.nodes[position].op)
                && !consumers[position].contains { forward[$0] }
        }
    }

    private func isTraining(_ position: Int) -> Bool {
        let node = graph.nodes[position]
        if Self.assignments.contains(node.op) || Self.outsideForward.contains(node.op) { return true }
        if node.op.hasPrefix("Apply") || node.op.hasPrefix("ResourceApply") || node.op.hasPrefix("Scatter") {
            return true
        }
        let scope = node.name.split(separator: "/").first.map(String.init) ?? node.name
        return scope.hasPrefix("gradients") || scope == "save" || scope.hasPrefix("save_")
    }

    private func producesFloat(_ position: Int) -> Bool {
        let node = graph.nodes[position]
        var type = node.attr["T"]?.typeValue ?? node.attr["dtype"]?.typeValue
        if type == nil, case .types(let outputs) = node.attr["Tout"]?.listValue { type = outputs.first }
        return [DType.float32, .float64, .float16, .bfloat16].contains(type?.dtype)
    }
}
