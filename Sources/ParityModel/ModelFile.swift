import Foundation
import SafeTensors
import TensorCore

/// The tfparity model file: safetensors whose `__metadata__["tfparity"]` holds the layer graph and provenance.
public enum ModelFile {
    /// The version of the `tfparity` metadata layout this build writes. Version 1 (tfparity 0.1) spelled activation
    /// layers by the activation's name and flattened parameterised activations into `alpha`; it is still read.
    public static let formatVersion = 2
    /// The `__metadata__` key holding the JSON document.
    public static let metadataKey = "tfparity"

    /// Writes `model` to `path` atomically (temporary file beside it, validated, then renamed).
    public static func write(_ model: Model, to path: String) throws {
        let tensors = model.orderedParameterNames.compactMap { name in
            model.parameters[name].map { (name: name, tensor: $0) }
        }
        try SafeTensorsWriter.write(tensors, metadata: [metadataKey: try metadataJSON(for: model)], to: path)
    }

    /// Reads a model written by `write(_:to:)`.
    public static func read(path: String) throws -> Model {
        let file = try SafeTensorsFile(path: path)
        guard let json = file.metadata[metadataKey] else {
            throw FileError(
                path: path, member: "__metadata__",
                reason: "no '\(metadataKey)' entry: not a tfparity model (convert the source with 'tfparity convert')")
        }
        var model = try decodeGraph(json: json, path: path) { file.info($0)?.shape }
        for name in file.names {
            model.parameters[name] = try file.tensor(named: name)
        }
        return model
    }

    /// Decodes the `tfparity` metadata JSON of a model file into its layer graph and checks it the way an importer's
    /// plan is checked (`LayerGraph.check`: attributes, wiring, parameter shapes).
    /// - Parameters:
    ///   - path: the model file, for errors.
    ///   - parameterShape: the shape of parameter `<layer>/<param>` in the file, or nil when it holds none.
    /// - Returns: the model without its parameter tensors (layers, inputs, provenance, folding).
    /// - Throws: `FileError` naming `path` and the layer at fault.
    public static func decodeGraph(json: String, path: String, parameterShape: (String) -> [Int]?) throws -> Model {
        let document: Document
        do {
            let decoder = JSONDecoder()
            decoder.userInfo[LayerRecord.versionKey] = try JSONDecoder().decode(Version.self, from: Data(json.utf8))
                .formatVersion
            document = try decoder.decode(Document.self, from: Data(json.utf8))
        } catch let error as LayerRecord.Invalid {
            throw FileError(path: path, member: error.layer, reason: error.reason)
        } catch let error as DecodingError {
            // An attribute the JSON parser itself refuses to give as the type asked (1e300 for an Int) surfaces here,
            // not inside the layer's record: name the layer from the error's coding path.
            if let layer = Self.layerName(at: error, in: json) {
                throw FileError(path: path, member: layer, reason: Self.describe(error))
            }
            throw FileError(
                path: path, member: "__metadata__",
                reason: "malformed '\(metadataKey)' metadata: \(Self.describe(error))")
        } catch {
            throw FileError(path: path, member: "__metadata__", reason: "malformed '\(metadataKey)' metadata: \(error)")
        }
        guard document.formatVersion <= formatVersion else {
            throw FileError(
                path: path, member: "__metadata__",
                reason: "format_version \(document.formatVersion) is newer than this tool reads (\(formatVersion))")
        }
        let layers = document.layers.map {
            Layer(name: $0.name, op: $0.op, inputs: $0.inputs, precision: $0.precision ?? .float32)
        }
        let inputs = document.inputs ?? [Model.inputName]
        // The same checks an importer's plan passes: attributes, wiring, parameter shapes.
        do {
            _ = try LayerGraph.check(
                layers, inputs: Dictionary(inputs.map { ($0, .unknown) }) { a, _ in a }, outputs: document.outputs,
                parameterShape: parameterShape)
        } catch {
            let (layer, reason) = error.layerAndReason
            throw FileError(path: path, member: layer, reason: reason)
        }
        var model = Model(layers: layers, parameters: [:], provenance: document.provenance)
        model.inputNames = inputs
        model.declaredOutputs = document.outputs
        model.folding = document.folding
        return model
    }

    /// The JSON string stored under `__metadata__["tfparity"]`.
    public static func metadataJSON(for model: Model) throws -> String {
        try metadataJSON(
            layers: model.layers, inputs: model.inputNames, outputs: model.declaredOutputs,
            provenance: model.provenance, folding: model.folding)
    }

    static func metadataJSON(
        layers: [Layer], inputs: [String] = [Model.inputName], outputs: [String]? = nil, provenance: Provenance?,
        folding: FoldingRecord? = nil
    ) throws -> String {
        let document = Document(
            formatVersion: formatVersion, layers: layers.map(LayerRecord.init),
            inputs: inputs == [Model.inputName] ? nil : inputs, outputs: outputs, provenance: provenance,
            folding: folding)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self)
    }

    struct Version: Decodable {
        var formatVersion: Int
        enum CodingKeys: String, CodingKey { case formatVersion = "format_version" }
    }

    struct Document: Codable {
        var formatVersion: Int
        var layers: [LayerRecord]
        /// The model's input names, when it has other than the one `input`.
        var inputs: [String]?
        /// The layers whose outputs the model returns, when declared (absent: the last layer).
        var outputs: [String]?
        var provenance: Provenance?
        /// Present only in folded models, so other files stay as they were.
        var folding: FoldingRecord?

        enum CodingKeys: String, CodingKey {
            case formatVersion = "format_version"
            case layers, inputs, outputs, provenance, folding
        }
    }

    /// One layer as the model file stores it: `{"name", "type", "inputs", "attributes"}`, the attributes being the
    /// operation's own `Codable` form, decoded by the type the registry gives for `type`.
    struct LayerRecord: Codable {
        static let versionKey = CodingUserInfoKey(rawValue: "tfparity.format_version")!

        var name: String
        var op: any LayerOperation
        var inputs: [String]
        /// Written only for a layer that does not compute in float32.
        var precision: Precision?

        /// A record that does not decode, with the layer it belongs to.
        struct Invalid: Error {
            var layer: String
            var reason: String
        }

        enum CodingKeys: String, CodingKey { case name, type, inputs, attributes, precision }

        init(_ layer: Layer) {
            name = layer.name
            op = layer.op
            inputs = layer.inputs
            precision = layer.precision == .float32 ? nil : layer.precision
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            inputs = try container.decode([String].self, forKey: .inputs)
            precision = try container.decodeIfPresent(Precision.self, forKey: .precision)
            var type = try container.decode(String.self, forKey: .type)
            let version = decoder.userInfo[Self.versionKey] as? Int ?? ModelFile.formatVersion
            let attributes = try container.superDecoder(forKey: .attributes)
            var legacy: LegacyAttributes?
            if version < 2 {
                let record = try LegacyAttributes(type: type, from: attributes)
                type = record.type
                legacy = record
            }
            if version >= 2, let problem = Self.unrepresentableNumber(in: attributes) {
                throw Invalid(layer: name, reason: problem)
            }
            guard let operation = LayerRegistry.operation(named: type) else {
                throw Invalid(
                    layer: name,
                    reason: "unknown layer type '\(type)' (known: \(LayerRegistry.typeNames.joined(separator: ", ")))")
            }
            do {
                if let legacy {
                    let data = try JSONSerialization.data(withJSONObject: legacy.attributes)
                    op = try decodeOperation(operation, from: data)
                } else {
                    op = try operation.init(from: attributes)
                }
            } catch let error as DecodingError {
                throw Invalid(layer: name, reason: Self.describe(error))
            }
        }

        /// `axis 1e+300: is out of range` for the first attribute holding a number no attribute takes (beyond what
        /// an `Int` holds): JSONDecoder reports those as invalid JSON without saying where.
        static func unrepresentableNumber(in attributes: any Decoder) -> String? {
            guard let values = try? attributes.singleValueContainer().decode([String: AnyNumbers].self) else {
                return nil
            }
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                if let bad = value.numbers.first(where: { !$0.isFinite || abs($0) >= 0x1p63 }) {
                    return "\(key) \(bad): is out of range"
                }
            }
            return nil
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(op.typeName, forKey: .type)
            try container.encode(inputs, forKey: .inputs)
            try container.encodeIfPresent(precision, forKey: .precision)
            try op.encode(to: container.superEncoder(forKey: .attributes))
        }

        static func describe(_ error: DecodingError) -> String { ModelFile.describe(error) }
    }

    /// The name of the layer a decoding error of the document is about, when its coding path runs through `layers`.
    static func layerName(at error: DecodingError, in json: String) -> String? {
        let context: DecodingError.Context
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): context = c
        case .keyNotFound(_, let c): context = c
        @unknown default: return nil
        }
        let path = context.codingPath
        guard path.count >= 2, path[0].stringValue == "layers", let index = path[1].intValue,
            let root = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let layers = root["layers"] as? [[String: Any]], layers.indices.contains(index)
        else { return nil }
        return layers[index]["name"] as? String ?? "layer \(index)"
    }

    /// A decoding error of a layer's attributes in words, naming the attribute: `attribute 'strides' is missing`.
    public static func describe(_ error: DecodingError) -> String {
        func attribute(_ path: [any CodingKey]) -> String {
            path.filter { $0.intValue == nil && !["attributes", "layers"].contains($0.stringValue) }
                .map(\.stringValue).joined(separator: ".")
        }
        func kind(_ type: Any.Type) -> String {
            switch type {
            case is Int.Type, is [Int].Type: "an integer in range"
            case is Double.Type, is Float.Type: "a number"
            case is String.Type: "a string"
            case is Bool.Type: "a boolean"
            default: "of the expected kind"
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "attribute '\(attribute(context.codingPath + [key]))' is missing"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "attribute '\(attribute(context.codingPath))' is not \(kind(type)): \(context.debugDescription)"
        case .dataCorrupted(let context):
            return "attribute '\(attribute(context.codingPath))': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    /// A version 1 record's type and attributes, rewritten as version 2 spells them.
    struct LegacyAttributes {
        var type: String
        var attributes: [String: Any]

        init(type: String, from decoder: any Decoder) throws {
            let raw = try decoder.singleValueContainer().decode([String: LegacyValue].self)
            var attributes = raw.mapValues(\.value)
            // Parameterised activations were flattened: `activation: elu, alpha: 1.0`.
            if let alpha = attributes["alpha"], let name = attributes["activation"] as? String {
                attributes["activation"] = ["name": name, "alpha": alpha]
            }
            var type = type
            let isReLULayer = type == "relu" && (attributes["negative_slope"] != nil || attributes["threshold"] != nil)
            let isSoftmaxLayer = type == "softmax" && attributes["axis"] != nil
            if !isReLULayer, !isSoftmaxLayer, Activation(name: type) != nil {
                // Activation layers were spelled by the activation's name.
                attributes = ["activation": attributes["alpha"].map { ["name": type, "alpha": $0] } ?? type]
                type = ActivationLayer.typeName
            }
            if type == "dropout", attributes["rate"] == nil { attributes["rate"] = 0.0 }
            if type == "global_average_pooling2d" || type == "global_max_pooling2d", attributes["keepdims"] == nil {
                attributes["keepdims"] = false
            }
            self.type = type
            self.attributes = attributes
        }
    }

    /// Every number in a JSON value (nested lists and objects included), anything else ignored.
    struct AnyNumbers: Decodable {
        var numbers: [Double] = []

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            if let object = try? decoder.container(keyedBy: Key.self) {
                for key in object.allKeys {
                    numbers += (try? object.decode(AnyNumbers.self, forKey: key))?.numbers ?? []
                }
            } else if var list = try? decoder.unkeyedContainer() {
                while !list.isAtEnd {
                    guard let element = try? list.decode(AnyNumbers.self) else { break }
                    numbers += element.numbers
                }
            } else if let number = try? decoder.singleValueContainer().decode(Double.self) {
                numbers = [number]
            }
        }
    }

    /// Any JSON value of a version 1 attribute.
    struct LegacyValue: Decodable {
        var value: Any

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let flag = try? container.decode(Bool.self) {
                value = flag
            } else if let number = try? container.decode(Double.self) {
                value = number
            } else if let string = try? container.decode(String.self) {
                value = string
            } else {
                value = try container.decode([Double].self)
            }
        }
    }
}

/// Decodes a value of the operation type `operation` (the registry's existential metatype, opened) from JSON.
private func decodeOperation(_ operation: any LayerOperation.Type, from data: Data) throws -> any LayerOperation {
    func open<T: LayerOperation>(_: T.Type) throws -> any LayerOperation {
        try JSONDecoder().decode(T.self, from: data)
    }
    return try open(operation)
}
