import Foundation
import ParityModel
import TensorCore
import Yams

/// A spec that cannot be used: unreadable, not YAML/JSON, or describing an impossible layer.
public struct SpecError: InputError, Equatable {
    public var path: String
    public var member: String?
    public var reason: String
}

/// The architecture of a source that carries none: a list of layers naming tensors in the source.
public struct Spec: Sendable, Equatable {
    /// One `layers:` entry.
    public struct LayerEntry: Sendable, Equatable {
        public var name: String
        public var op: any LayerOperation
        /// Layer names feeding this one; nil means "the previous layer" (or the model input for the first).
        public var inputs: [String]?
        /// Model parameter (`kernel`, `moving_mean`, …) → tensor name in the source, in the op's order.
        public var references: [(parameter: String, tensor: String)]

        public static func == (lhs: LayerEntry, rhs: LayerEntry) -> Bool {
            lhs.name == rhs.name && lhs.op.isEqual(to: rhs.op) && lhs.inputs == rhs.inputs
                && lhs.references.map(\.parameter) == rhs.references.map(\.parameter)
                && lhs.references.map(\.tensor) == rhs.references.map(\.tensor)
        }
    }

    public var path: String
    public var layers: [LayerEntry]

    /// Reads a YAML or JSON spec (JSON is read as the YAML it also is).
    public static func load(path: String) throws -> Spec {
        let data: [UInt8]
        switch FileIO.readRegularFile(path, limit: DocumentLimits.spec.maximumBytes) {
        case .success(let bytes): data = bytes
        case .failure(let failure): throw SpecError(path: path, reason: failure.reason)
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw SpecError(path: path, reason: "is not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    /// The first thing in `node` Yams cannot construct safely: a mapping key that is not a scalar, or more nodes than
    /// `budget` (aliases can make a small document expand exponentially).
    private static func unsupportedNode(_ node: Node, budget: inout Int) -> String? {
        budget -= 1
        guard budget > 0 else { return "the document expands to too many nodes (aliases?)" }
        switch node {
        case .scalar, .alias:
            return nil
        case .sequence(let sequence):
            for element in sequence {
                if let problem = unsupportedNode(element, budget: &budget) { return problem }
            }
            return nil
        case .mapping(let mapping):
            for (key, value) in mapping {
                guard case .scalar = key else {
                    let line = key.mark.map { " at line \($0.line)" } ?? ""
                    return "a mapping key\(line) is not a string"
                }
                if let problem = unsupportedNode(value, budget: &budget) { return problem }
            }
            return nil
        }
    }

    /// Parses spec text; `path` names the spec in errors.
    public static func parse(_ text: String, path: String) throws -> Spec {
        try DocumentLimits.spec.checkSpec(text, path: path)
        let document: Any?
        do {
            // Yams' `load` force-unwraps every mapping key as a string and traps on `? [a]: b`; check the node tree
            // first (found by Fuzz/FuzzSpec, regression in Fuzz/regressions/spec).
            if let node = try Yams.compose(yaml: text) {
                var budget = 1_000_000
                if let problem = Self.unsupportedNode(node, budget: &budget) {
                    throw SpecError(path: path, reason: "not valid YAML or JSON: \(problem)")
                }
            }
            document = try Yams.load(yaml: text)
        } catch let error as SpecError {
            throw error
        } catch {
            let detail = "\(error)".split(separator: "\n").first.map(String.init) ?? "syntax error"
            throw SpecError(path: path, reason: "not valid YAML or JSON: \(detail)")
        }
        guard let root = document as? [String: Any] else {
            throw SpecError(path: path, reason: "expected a mapping with a 'layers' list at the top")
        }
        guard let entries = root["layers"] as? [Any] else {
            throw SpecError(path: path, reason: "missing 'layers' list")
        }
        if let extra = root.keys.filter({ $0 != "layers" }).sorted().first {
            throw SpecError(path: path, reason: "unknown top-level key '\(extra)' (a spec holds 'layers')")
        }
        guard !entries.isEmpty else { throw SpecError(path: path, reason: "'layers' is empty") }
        var layers: [LayerEntry] = []
        var names: Set<String> = []
        for (index, raw) in entries.enumerated() {
            let entry = try parseLayer(raw, index: index, path: path)
            guard names.insert(entry.name).inserted else {
                throw SpecError(path: path, member: "layer \(index)", reason: "duplicate layer name '\(entry.name)'")
            }
            if let inputs = entry.inputs {
                for input in inputs where input != Model.inputName && !names.contains(input) {
                    throw SpecError(
                        path: path, member: "layer \(index) ('\(entry.name)')",
                        reason: "input '\(input)' is not an earlier layer")
                }
            }
            layers.append(entry)
        }
        return Spec(path: path, layers: layers)
    }

    private static func parseLayer(_ raw: Any, index: Int, path: String) throws -> LayerEntry {
        guard let fields = raw as? [String: Any] else {
            throw SpecError(
                path: path, member: "layer \(index)", reason: "expected a mapping such as {type: dense, name: …}")
        }
        guard let type = fields["type"] as? String else {
            throw SpecError(path: path, member: "layer \(index)", reason: "missing 'type'")
        }
        let name =
            try (fields["name"]).map { value -> String in
                guard let name = value as? String, !name.isEmpty else {
                    throw SpecError(path: path, member: "layer \(index)", reason: "'name' must be a non-empty string")
                }
                return name
            } ?? "\(type)_\(index)"
        let member = "layer \(index) ('\(name)')"
        func fail(_ reason: String) -> SpecError { SpecError(path: path, member: member, reason: reason) }
        func string(_ key: String) throws -> String? {
            guard let value = fields[key] else { return nil }
            guard let text = value as? String, !text.isEmpty else { throw fail("'\(key)' must be a tensor name") }
            return text
        }
        func number(_ key: String) throws -> Double? {
            guard let value = fields[key] else { return nil }
            if let int = value as? Int { return Double(int) }
            if let double = value as? Double { return double }
            // YAML 1.1 reads `1e-3` (no dot) as a string.
            if let text = value as? String, let double = Double(text) { return double }
            throw fail("'\(key)' must be a number, got '\(value)'")
        }
        func checkKeys(_ allowed: Set<String>) throws {
            let all = allowed.union(["type", "name", "inputs"])
            if let unknown = fields.keys.filter({ !all.contains($0) }).sorted().first {
                throw fail(
                    "unknown key '\(unknown)' for a \(type) layer (allowed: \(all.sorted().joined(separator: ", ")))")
            }
        }
        var inputs: [String]?
        if let rawInputs = fields["inputs"] {
            if let single = rawInputs as? String {
                inputs = [single]
            } else if let list = rawInputs as? [Any], let strings = list as? [String], !strings.isEmpty {
                inputs = strings
            } else {
                throw fail("'inputs' must be a layer name or a list of layer names")
            }
        }
        switch type {
        case "dense":
            try checkKeys(["kernel", "bias", "activation"])
            guard let kernel = try string("kernel") else {
                throw fail("missing 'kernel' (the [in, out] weight tensor)")
            }
            let activationName = try string("activation") ?? "linear"
            guard let activation = Activation(name: activationName) else {
                throw fail(
                    "unknown activation '\(activationName)' (known: \(Activation.names.joined(separator: ", ")))")
            }
            var references = [(parameter: "kernel", tensor: kernel)]
            if let bias = try string("bias") { references.append((parameter: "bias", tensor: bias)) }
            return LayerEntry(name: name, op: Dense(activation: activation), inputs: inputs, references: references)
        case "batchnorm", "batch_normalization", "batchnormalization":
            try checkKeys(["epsilon", "mean", "variance", "gamma", "beta", "axis"])
            guard let epsilon = try number("epsilon") else {
                throw fail(
                    "missing 'epsilon' (Keras' default is 0.001, PyTorch's 1e-5; it must be the one used in training)")
            }
            guard epsilon >= 0, epsilon.isFinite else { throw fail("'epsilon' must be a non-negative number") }
            guard let mean = try string("mean") else { throw fail("missing 'mean' (the moving mean tensor)") }
            guard let variance = try string("variance") else {
                throw fail("missing 'variance' (the moving variance tensor)")
            }
            let axisValue = try number("axis") ?? -1
            guard let axis = Int(exactly: axisValue), (-64...64).contains(axis) else {
                throw fail("'axis' must be an integer axis, got \(axisValue)")
            }
            var references = [
                (parameter: "moving_mean", tensor: mean), (parameter: "moving_variance", tensor: variance),
            ]
            if let gamma = try string("gamma") { references.append((parameter: "gamma", tensor: gamma)) }
            if let beta = try string("beta") { references.append((parameter: "beta", tensor: beta)) }
            return LayerEntry(
                name: name, op: BatchNormalization(epsilon: epsilon, axis: axis), inputs: inputs,
                references: references)
        case "dropout":
            try checkKeys(["rate"])
            return LayerEntry(name: name, op: Dropout(rate: try number("rate") ?? 0), inputs: inputs, references: [])
        default:
            let alpha = try number("alpha").map { Float($0) }
            guard let activation = Activation(name: type, alpha: alpha) else {
                if let operation = LayerRegistry.operation(named: type) {
                    return try registryEntry(operation, fields: fields, name: name, inputs: inputs, fail: fail)
                }
                let known = ["dense", "batchnorm", "dropout"] + Activation.names + LayerRegistry.typeNames
                throw fail("unknown layer type '\(type)' (known: \(Set(known).sorted().joined(separator: ", ")))")
            }
            try checkKeys(activation.alpha == nil ? [] : ["alpha"])
            return LayerEntry(name: name, op: ActivationLayer(activation), inputs: inputs, references: [])
        }
    }

    /// Any other operation of the registry, its attributes as the model file spells them and its parameters named by
    /// the operation's own parameter names (`{type: cropping2d, cropping: [1, 2, 0, 3]}`).
    private static func registryEntry(
        _ operation: any LayerOperation.Type, fields: [String: Any], name: String, inputs: [String]?,
        fail: (String) -> SpecError
    ) throws -> LayerEntry {
        // YAML 1.1 reads `1e-3` (no dot) as a string.
        func numeric(_ value: Any) -> Any {
            if let text = value as? String, let number = Double(text) { return number }
            if let list = value as? [Any] { return list.map(numeric) }
            return value
        }
        let attributes = fields.filter { !["type", "name", "inputs"].contains($0.key) }.mapValues(numeric)
        let op: any LayerOperation
        do {
            let data = try JSONSerialization.data(withJSONObject: attributes)
            func open<T: LayerOperation>(_: T.Type) throws -> any LayerOperation {
                try JSONDecoder().decode(T.self, from: data)
            }
            op = try open(operation)
        } catch let error as DecodingError {
            throw fail(ModelFile.describe(error))
        } catch {
            throw fail("attributes cannot be read: \(error)")
        }
        var references: [(parameter: String, tensor: String)] = []
        for slot in op.parameters {
            guard let value = fields[slot.name] else {
                if slot.isRequired { throw fail("missing '\(slot.name)' (a tensor name)") }
                continue
            }
            guard let tensor = value as? String, !tensor.isEmpty else {
                throw fail("'\(slot.name)' must be a tensor name")
            }
            references.append((parameter: slot.name, tensor: tensor))
        }
        return LayerEntry(name: name, op: op, inputs: inputs, references: references)
    }
}
