import TensorCore

/// One entry of a node's `input` list, parsed.
///
/// A graph writes `name` (output 0), `name:N` or `^name` (a control edge: ordering only, no data). A function body
/// writes an input argument's name (`x`, `x:0`) or `node:output_arg:N`, naming the op's output argument
/// (`MatMul:product:0`), since an argument may be a list of several tensors.
public struct TensorReference: Hashable, Sendable, CustomStringConvertible {
    public var node: String
    /// The output argument's name, in the function-body form only.
    public var outputArgument: String?
    /// The output index (within `outputArgument`, when there is one).
    public var index: Int
    public var isControl: Bool

    public init(node: String, outputArgument: String? = nil, index: Int = 0, isControl: Bool = false) {
        self.node = node
        self.outputArgument = outputArgument
        self.index = index
        self.isControl = isControl
    }

    /// Parses an input string; nil when it is none of the forms above.
    public init?(parsing text: String) {
        var body = Substring(text)
        isControl = body.first == "^"
        if isControl { body = body.dropFirst() }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty, parts.count <= 3 else { return nil }
        node = String(first)
        outputArgument = nil
        index = 0
        // An output index is decimal digits; TensorFlow's are int32, and more than nine digits is no index.
        func isIndex(_ part: Substring) -> Bool { !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber } }
        func parseIndex(_ part: Substring) -> Int? { part.count <= 9 ? Int(part) : nil }
        switch parts.count {
        case 1:
            break
        case 2 where isIndex(parts[1]):
            guard let n = parseIndex(parts[1]) else { return nil }
            index = n
        case 2:
            guard !parts[1].isEmpty else { return nil }
            outputArgument = String(parts[1])
        default:
            guard !parts[1].isEmpty, !isIndex(parts[1]), isIndex(parts[2]), let n = parseIndex(parts[2]) else {
                return nil
            }
            outputArgument = String(parts[1])
            index = n
        }
        // A control edge carries no output.
        if isControl && parts.count > 1 { return nil }
    }

    /// The spelling TensorFlow uses: `^name`, `name`, `name:N`, `node:arg:N`.
    public var description: String {
        if isControl { return "^" + node }
        if let outputArgument { return "\(node):\(outputArgument):\(index)" }
        return index == 0 ? node : "\(node):\(index)"
    }
}

/// A graph ready to walk: nodes by name, every input parsed and checked to name a node, and the function library
/// by name.
public struct Graph: Sendable {
    /// The file the graph came from, for errors.
    public let path: String
    public let nodes: [NodeDef]
    /// Each node's inputs, parsed, in the order of `nodes`.
    public let inputs: [[TensorReference]]
    public let functions: [String: FunctionDef]
    private let index: [String: Int]

    /// Indexes `definition`'s nodes and functions.
    ///
    /// - Throws: `GraphError.duplicateNode`, `badInput` for an input string of no known form, `missingInput` for one
    ///   naming no node.
    public init(_ definition: GraphDef, path: String) throws {
        self.path = path
        nodes = definition.nodes
        var index: [String: Int] = [:]
        index.reserveCapacity(nodes.count)
        for (position, node) in nodes.enumerated() {
            guard index.updateValue(position, forKey: node.name) == nil else {
                throw GraphError.duplicateNode(path: path, node: node.name)
            }
        }
        var inputs: [[TensorReference]] = []
        inputs.reserveCapacity(nodes.count)
        for node in nodes {
            var parsed: [TensorReference] = []
            parsed.reserveCapacity(node.inputs.count)
            for text in node.inputs {
                guard let reference = TensorReference(parsing: text), reference.outputArgument == nil else {
                    throw GraphError.badInput(path: path, node: node.name, input: text)
                }
                guard index[reference.node] != nil else {
                    throw GraphError.missingInput(path: path, node: node.name, input: text)
                }
                parsed.append(reference)
            }
            inputs.append(parsed)
        }
        var functions: [String: FunctionDef] = [:]
        for function in definition.functions { functions[function.name] = function }
        self.inputs = inputs
        self.functions = functions
        self.index = index
    }

    public func node(named name: String) -> NodeDef? { index[name].map { nodes[$0] } }

    /// The position of the node named `name` in `nodes`.
    public func position(of name: String) -> Int? { index[name] }

    public func function(named name: String) -> FunctionDef? { functions[name] }

    /// The nodes in an order where every node comes after its inputs (data and control), computed iteratively
    /// (Kahn's algorithm), so a chain of any length is ordered without deep recursion. Edges into a `Merge` from a
    /// `NextIteration` are a v1 while loop's back edges and do not count, as in TensorFlow's own ordering.
    ///
    /// - Returns: positions in `nodes`; among nodes ready at the same time, file order is kept.
    /// - Throws: `GraphError.cycle` naming a node on a cycle.
    public func topologicalOrder() throws -> [Int] {
        try TopologicalOrder.order(
            count: nodes.count, path: path, name: { nodes[$0].name },
            predecessors: { position in
                let node = nodes[position]
                return inputs[position].compactMap { reference in
                    guard let source = index[reference.node] else { return nil }
                    if node.op == "Merge" && nodes[source].op == "NextIteration" { return nil }
                    return source
                }
            })
    }
}

extension FunctionDef {
    /// The body's inputs, parsed; an input naming no node must name an input argument.
    ///
    /// - Throws: `GraphError.badInput` or `missingInput` naming `function/node`.
    public func parsedInputs(path: String) throws -> [[TensorReference]] {
        let names = Set(nodes.map(\.name))
        let arguments = Set(signature.inputs.map(\.name))
        return try nodes.map { node in
            try node.inputs.map { text in
                guard let reference = TensorReference(parsing: text) else {
                    throw GraphError.badInput(path: path, node: "\(name)/\(node.name)", input: text)
                }
                guard names.contains(reference.node) || arguments.contains(reference.node) && !reference.isControl
                else {
                    throw GraphError.missingInput(path: path, node: "\(name)/\(node.name)", input: text)
                }
                return reference
            }
        }
    }

    /// The body's nodes ordered inputs first (see `Graph.topologicalOrder()`); input arguments are sources.
    public func topologicalOrder(path: String) throws -> [Int] {
        let inputs = try parsedInputs(path: path)
        var index: [String: Int] = [:]
        for (position, node) in nodes.enumerated() {
            guard index.updateValue(position, forKey: node.name) == nil else {
                throw GraphError.duplicateNode(path: path, node: "\(name)/\(node.name)")
            }
        }
        return try TopologicalOrder.order(
            count: nodes.count, path: path, name: { "\(name)/\(nodes[$0].name)" },
            predecessors: { position in inputs[position].compactMap { index[$0.node] } })
    }
}

/// Kahn's algorithm over node positions, and a cycle's witness when it stalls.
enum TopologicalOrder {
    static func order(
        count: Int, path: String, name: (Int) -> String, predecessors: (Int) -> [Int]
    ) throws -> [Int] {
        var pending = [Int](repeating: 0, count: count)
        var successors = [[Int]](repeating: [], count: count)
        var incoming = [[Int]](repeating: [], count: count)
        for position in 0..<count {
            let sources = predecessors(position)
            pending[position] = sources.count
            incoming[position] = sources
            for source in sources { successors[source].append(position) }
        }
        var order: [Int] = []
        order.reserveCapacity(count)
        // A min-heap would keep file order among ready nodes exactly; a FIFO queue keeps it close enough and is O(1).
        var ready = (0..<count).filter { pending[$0] == 0 }
        var head = 0
        while head < ready.count {
            let position = ready[head]
            head += 1
            order.append(position)
            for successor in successors[position] {
                pending[successor] -= 1
                if pending[successor] == 0 { ready.append(successor) }
            }
        }
        guard order.count < count else { return order }
        // Every node left over waits on another left-over node: walking back along those edges must revisit one,
        // and the first node seen twice is on a cycle.
        var seen = Set<Int>()
        var current = (0..<count).first { pending[$0] > 0 }!
        while seen.insert(current).inserted {
            current = incoming[current].first { pending[$0] > 0 }!
        }
        throw GraphError.cycle(path: path, node: name(current))
    }
}
