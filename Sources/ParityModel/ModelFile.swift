import Foundation
import SafeTensors
import TensorCore

/// The tfparity model file: safetensors whose `__metadata__["tfparity"]` holds the layer graph and provenance.
public enum ModelFile {
    /// The version of the `tfparity` metadata layout this build writes and reads.
    public static let formatVersion = 1
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
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(json.utf8))
        } catch {
            throw FileError(path: path, member: "__metadata__", reason: "malformed '\(metadataKey)' metadata: \(error)")
        }
        guard document.formatVersion <= formatVersion else {
            throw FileError(
                path: path, member: "__metadata__",
                reason: "format_version \(document.formatVersion) is newer than this tool reads (\(formatVersion))")
        }
        var layers: [Layer] = []
        var seen: Set<String> = [Model.inputName]
        for record in document.layers {
            let op = try record.op(path: path)
            for input in record.inputs where !seen.contains(input) {
                throw FileError(
                    path: path, member: record.name, reason: "input '\(input)' is not an earlier layer")
            }
            guard seen.insert(record.name).inserted else {
                throw FileError(path: path, member: record.name, reason: "duplicate layer name")
            }
            layers.append(Layer(name: record.name, op: op, inputs: record.inputs))
        }
        var parameters: [String: Tensor] = [:]
        for name in file.names {
            parameters[name] = try file.tensor(named: name)
        }
        return Model(layers: layers, parameters: parameters, provenance: document.provenance)
    }

    /// The JSON string stored under `__metadata__["tfparity"]`.
    public static func metadataJSON(for model: Model) throws -> String {
        let document = Document(
            formatVersion: formatVersion, layers: model.layers.map(LayerRecord.init), provenance: model.provenance)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self)
    }

    struct Document: Codable {
        var formatVersion: Int
        var layers: [LayerRecord]
        var provenance: Provenance?

        enum CodingKeys: String, CodingKey {
            case formatVersion = "format_version"
            case layers, provenance
        }
    }

    enum AttributeValue: Codable, Equatable {
        case number(Double)
        case string(String)

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .number(let number): try container.encode(number)
            case .string(let string): try container.encode(string)
            }
        }

        var number: Double? { if case .number(let n) = self { n } else { nil } }
        var string: String? { if case .string(let s) = self { s } else { nil } }
    }

    struct LayerRecord: Codable {
        var name: String
        var type: String
        var inputs: [String]
        var attributes: [String: AttributeValue]

        init(_ layer: Layer) {
            name = layer.name
            type = layer.op.typeName
            inputs = layer.inputs
            attributes = [:]
            switch layer.op {
            case .dense(let activation):
                attributes["activation"] = .string(activation.name)
                if let alpha = activation.alpha { attributes["alpha"] = .number(Double(alpha)) }
            case .batchNormalization(let epsilon, let axis):
                attributes["epsilon"] = .number(epsilon)
                attributes["axis"] = .number(Double(axis))
            case .activation(let activation):
                if let alpha = activation.alpha { attributes["alpha"] = .number(Double(alpha)) }
            case .dropout(let rate):
                attributes["rate"] = .number(rate)
            }
        }

        func op(path: String) throws -> LayerOp {
            func number(_ key: String) throws -> Double {
                guard let value = attributes[key]?.number else {
                    throw FileError(path: path, member: name, reason: "\(type) layer has no numeric '\(key)'")
                }
                return value
            }
            let alpha = attributes["alpha"]?.number.map { Float($0) }
            switch type {
            case "dense":
                let activationName = attributes["activation"]?.string ?? "linear"
                guard let activation = Activation(name: activationName, alpha: alpha) else {
                    throw FileError(path: path, member: name, reason: "unknown activation '\(activationName)'")
                }
                return .dense(activation: activation)
            case "batchnorm":
                return .batchNormalization(epsilon: try number("epsilon"), axis: Int(try number("axis")))
            case "dropout":
                return .dropout(rate: attributes["rate"]?.number ?? 0)
            default:
                guard let activation = Activation(name: type, alpha: alpha) else {
                    throw FileError(path: path, member: name, reason: "unknown layer type '\(type)'")
                }
                return .activation(activation)
            }
        }
    }
}
