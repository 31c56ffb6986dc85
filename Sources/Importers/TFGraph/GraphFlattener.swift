import TFGraph
import TensorCore

/// Builds the `InferenceGraph` of a graph's outputs: walks back from them, resolving v1 `Switch`/`Merge` and v2
/// `If`/`StatelessIf` with the fed values, inlining `PartitionedCall`/`StatefulPartitionedCall` bodies and `If`
/// branches, and folding the ops that only pass a value on (`Identity`, `IdentityN`, `ReadVariableOp`, …).
///
/// Only what the outputs need is visited: a training graph's gradients and optimizer are never looked at.
final class GraphFlattener {
    /// What a reference resolves to: a value, or nothing (a branch the feeds do not take).
    enum Resolved: Hashable {
        case value(GraphTensor)
        case dead
    }

    /// A graph or an instantiated function body, with its nodes by name.
    private struct Scope {
        var nodes: [NodeDef]
        var index: [String: Int]
        var inputs: [[TensorReference]]
        /// A function's arguments: the reference each is called with, in the caller's scope.
        var arguments: [String: (TensorReference, Int)]
        var location: String
        var depth: Int
    }

    private struct Key: Hashable {
        var scope: Int
        var node: String
        var output: Int
    }

    private struct CallKey: Hashable {
        var scope: Int
        var node: String
    }

    let graph: Graph
    let path: String
    /// Placeholder name → its fed value.
    private let feeds: [String: Tensor]
    /// Top-level placeholders that stay inputs.
    private let inputNames: Set<String>
    /// Top-level variable nodes bound to something other than their own name (a SavedModel's captures).
    private let variableOverrides: [String: GraphVariable]
    private(set) var nodes: [InferenceNode] = []
    private var scopes: [Scope] = []
    private var memo: [Key: Resolved] = [:]
    private var calls: [CallKey: Int] = [:]
    /// How deep resolution recurses: a node chain longer than this is refused rather than overflowing the 8 MiB main
    /// thread stack (resolution is recursive; an iterative walk would lift the limit).
    private var depth = 0
    static let maximumDepth = 4_000
    static let maximumCallDepth = 64

    init(
        graph: Graph, feeds: [String: Tensor], inputs: Set<String>, variableOverrides: [String: GraphVariable] = [:]
    ) {
        self.graph = graph
        self.path = graph.path
        self.feeds = feeds
        self.inputNames = inputs
        self.variableOverrides = variableOverrides
        var index: [String: Int] = [:]
        for (position, node) in graph.nodes.enumerated() { index[node.name] = position }
        scopes = [
            Scope(
                nodes: graph.nodes, index: index, inputs: graph.inputs, arguments: [:], location: "graph", depth: 0)
        ]
    }

    /// The top-level tensor `reference` names, resolved.
    func resolveTopLevel(_ reference: TensorReference) throws -> Resolved {
        try resolve(reference, scope: 0)
    }

    // MARK: - resolution

    private func resolve(_ reference: TensorReference, scope: Int) throws -> Resolved {
        let current = scopes[scope]
        if current.index[reference.node] == nil, let (argument, caller) = current.arguments[reference.node] {
            return try resolve(argument, scope: caller)
        }
        guard let position = current.index[reference.node] else {
            throw GraphError.missingInput(path: path, node: current.location, input: reference.description)
        }
        let node = current.nodes[position]
        var output = reference.index
        if let argument = reference.outputArgument {
            output = OpOutputs.offset(of: argument, op: node.op) + reference.index
        }
        return try resolveOutput(position, output, scope: scope)
    }

    private func resolveOutput(_ position: Int, _ output: Int, scope: Int) throws -> Resolved {
        let node = scopes[scope].nodes[position]
        let key = Key(scope: scope, node: node.name, output: output)
        if let known = memo[key] { return known }
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else {
            throw GraphImportError.badFunction(
                path: path, node: node.name,
                reason: "the graph's dependency chains are deeper than \(Self.maximumDepth) nodes")
        }
        let result = try evaluate(position, output, scope: scope)
        memo[key] = result
        return result
    }

    private func dataInputs(_ position: Int, scope: Int) -> [TensorReference] {
        scopes[scope].inputs[position].filter { !$0.isControl }
    }

    private func evaluate(_ position: Int, _ output: Int, scope: Int) throws -> Resolved {
        let node = scopes[scope].nodes[position]
        let inputs = dataInputs(position, scope: scope)
        func input(_ index: Int) throws -> Resolved {
            guard index < inputs.count else {
                throw GraphImportError.badFunction(
                    path: path, node: node.name, reason: "\(node.op) has \(inputs.count) inputs, expected \(index + 1)")
            }
            return try resolve(inputs[index], scope: scope)
        }
        if try controlledByDeadBranch(position, scope: scope) { return .dead }
        switch node.op {
        case "Identity", "Snapshot", "StopGradient", "PreventGradient", "RefIdentity", "ReadVariableOp",
            "CheckNumerics", "EnsureShape":
            return try input(0)
        case "IdentityN":
            return try input(output)
        case "Switch", "RefSwitch":
            let taken = try predicate(inputs.count > 1 ? inputs[1] : nil, node: node, scope: scope) ? 1 : 0
            return output == taken ? try input(0) : .dead
        case "Merge", "RefMerge":
            guard output == 0 else { break }
            for index in inputs.indices {
                if case .value(let value) = try input(index) { return .value(value) }
            }
            return .dead
        case "If", "StatelessIf":
            let branch = try predicate(inputs.first, node: node, scope: scope) ? "then_branch" : "else_branch"
            guard let function = node.attr[branch]?.functionValue?.name else {
                throw GraphImportError.badFunction(path: path, node: node.name, reason: "\(node.op) has no \(branch)")
            }
            return try call(function, node: node, arguments: Array(inputs.dropFirst()), output: output, scope: scope)
        case "PartitionedCall", "StatefulPartitionedCall":
            guard let function = node.attr["f"]?.functionValue?.name else {
                throw GraphImportError.badFunction(
                    path: path, node: node.name, reason: "\(node.op) has no function 'f'")
            }
            return try call(function, node: node, arguments: inputs, output: output, scope: scope)
        case "Placeholder", "PlaceholderWithDefault":
            if scope == 0, let fed = feeds[node.name] {
                return .value(append(node, inputs: [], scope: scope, constant: fed))
            }
            if scope == 0, inputNames.contains(node.name) {
                var placeholder = InferenceNode(
                    name: node.name, op: node.op, attr: node.attr, inputs: [], location: "graph")
                placeholder.isInput = true
                nodes.append(placeholder)
                return .value(GraphTensor(node: nodes.count - 1, output: output))
            }
            if node.op == "PlaceholderWithDefault" { return try input(0) }
        default:
            break
        }
        var resolved: [GraphTensor] = []
        for index in inputs.indices {
            guard case .value(let value) = try input(index) else { return .dead }
            resolved.append(value)
        }
        let tensor = append(node, inputs: resolved, scope: scope, constant: nil)
        return .value(GraphTensor(node: tensor.node, output: output))
    }

    /// Appends a node (once per node and scope: memoised by the caller's key for output 0, so a node with several
    /// outputs is found again through `created`).
    private var created: [CallKey: Int] = [:]

    private func append(_ node: NodeDef, inputs: [GraphTensor], scope: Int, constant: Tensor?) -> GraphTensor {
        let key = CallKey(scope: scope, node: node.name)
        if let existing = created[key] { return GraphTensor(node: existing, output: 0) }
        var flat = InferenceNode(
            name: node.name, op: node.op, attr: node.attr, inputs: inputs, location: scopes[scope].location)
        flat.constant = constant
        if scope == 0, let override = variableOverrides[node.name] {
            flat.variable = override
        } else if ["VariableV2", "Variable", "VarHandleOp"].contains(node.op) {
            let shared = node.attr["shared_name"]?.text ?? ""
            let name = node.op == "VarHandleOp" && !shared.isEmpty ? shared : node.name
            flat.variable = GraphVariable(name: name, key: name)
        }
        nodes.append(flat)
        created[key] = nodes.count - 1
        return GraphTensor(node: nodes.count - 1, output: 0)
    }

    /// Whether a v1 cond's control edge (`^cond/switch_t`) ties the node to a branch the feeds do not take.
    private func controlledByDeadBranch(_ position: Int, scope: Int) throws -> Bool {
        guard scope == 0 else { return false }
        for control in scopes[scope].inputs[position] where control.isControl {
            guard let source = scopes[scope].index[control.node] else { continue }
            var current = source
            var hops = 0
            // `switch_t = Identity(Switch:1)`: follow identities to the Switch.
            while scopes[scope].nodes[current].op == "Identity", hops < 8,
                let next = dataInputs(current, scope: scope).first, let found = scopes[scope].index[next.node]
            {
                if scopes[scope].nodes[found].op == "Switch" {
                    if case .dead = try resolveOutput(current, 0, scope: scope) { return true }
                    break
                }
                current = found
                hops += 1
            }
        }
        return false
    }

    /// The value of a branch predicate: a fed placeholder or a constant, through identities.
    private func predicate(_ reference: TensorReference?, node: NodeDef, scope: Int) throws -> Bool {
        guard let reference, case .value(let value) = try resolve(reference, scope: scope),
            let tensor = nodes[value.node].constant, tensor.elementCount == 1, let first = tensor.bytes.first
        else {
            throw GraphImportError.unresolvedPredicate(path: path, node: node.name)
        }
        // Bool and integer predicates alike: any non-zero byte is true (an integer's value is non-zero then).
        return first != 0 || tensor.bytes.contains { $0 != 0 }
    }

    /// Output `output` of `function` called by `node` with `arguments` (references in `scope`).
    private func call(
        _ function: String, node: NodeDef, arguments: [TensorReference], output: Int, scope: Int
    ) throws -> Resolved {
        guard let definition = graph.function(named: function) else {
            throw GraphImportError.badFunction(
                path: path, node: node.name, reason: "calls '\(function)', which is not in the function library")
        }
        let callKey = CallKey(scope: scope, node: node.name)
        let bodyScope: Int
        if let existing = calls[callKey] {
            bodyScope = existing
        } else {
            guard scopes[scope].depth < Self.maximumCallDepth else {
                throw GraphImportError.badFunction(
                    path: path, node: node.name, reason: "function calls nest deeper than \(Self.maximumCallDepth)")
            }
            guard definition.signature.inputs.count == arguments.count else {
                throw GraphImportError.badFunction(
                    path: path, node: node.name,
                    reason: "calls '\(function)' with \(arguments.count) inputs; it takes "
                        + "\(definition.signature.inputs.count)")
            }
            let inputs = try definition.parsedInputs(path: path)
            var index: [String: Int] = [:]
            for (position, body) in definition.nodes.enumerated() { index[body.name] = position }
            var bound: [String: (TensorReference, Int)] = [:]
            for (argument, reference) in zip(definition.signature.inputs, arguments) {
                bound[argument.name] = (reference, scope)
            }
            scopes.append(
                Scope(
                    nodes: definition.nodes, index: index, inputs: inputs, arguments: bound,
                    location: "function '\(function)'", depth: scopes[scope].depth + 1))
            bodyScope = scopes.count - 1
            calls[callKey] = bodyScope
        }
        guard output < definition.signature.outputs.count else {
            throw GraphImportError.badFunction(
                path: path, node: node.name, reason: "'\(function)' has no output \(output)")
        }
        let name = definition.signature.outputs[output].name
        guard let returned = definition.ret[name], let reference = TensorReference(parsing: returned) else {
            throw GraphImportError.badFunction(
                path: path, node: node.name, reason: "'\(function)' does not say what its output '\(name)' returns")
        }
        return try resolve(reference, scope: bodyScope)
    }
}

/// Where an op's named output argument starts among its outputs, for a function body's `node:argument:N` inputs.
enum OpOutputs {
    private static let arguments: [String: [String]] = {
        let fusedBatchNorm = [
            "y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2", "reserve_space_3",
        ]
        return [
            "FusedBatchNorm": fusedBatchNorm, "FusedBatchNormV2": fusedBatchNorm, "FusedBatchNormV3": fusedBatchNorm,
            "Switch": ["output_false", "output_true"], "Merge": ["output", "value_index"],
            "TopKV2": ["values", "indices"], "Unique": ["y", "idx"],
        ]
    }()

    /// The index of the first output of `argument`; 0 for ops with one output argument (a list or a single tensor).
    static func offset(of argument: String, op: String) -> Int {
        arguments[op]?.firstIndex(of: argument) ?? 0
    }
}
