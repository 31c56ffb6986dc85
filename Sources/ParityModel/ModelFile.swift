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
        var model = Model(layers: layers, parameters: parameters, provenance: document.provenance)
        model.folding = document.folding
        return model
    }

    /// The JSON string stored under `__metadata__["tfparity"]`.
    public static func metadataJSON(for model: Model) throws -> String {
        try metadataJSON(layers: model.layers, provenance: model.provenance, folding: model.folding)
    }

    static func metadataJSON(layers: [Layer], provenance: Provenance?, folding: FoldingRecord? = nil) throws -> String {
        let document = Document(
            formatVersion: formatVersion, layers: layers.map(LayerRecord.init), provenance: provenance,
            folding: folding)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self)
    }

    struct Document: Codable {
        var formatVersion: Int
        var layers: [LayerRecord]
        var provenance: Provenance?
        /// Present only in folded models, so other files stay as they were.
        var folding: FoldingRecord?

        enum CodingKeys: String, CodingKey {
            case formatVersion = "format_version"
            case layers, provenance, folding
        }
    }

    enum AttributeValue: Codable, Equatable {
        case number(Double)
        case string(String)
        case numbers([Double])
        case flag(Bool)

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else if let flag = try? container.decode(Bool.self) {
                self = .flag(flag)
            } else if let numbers = try? container.decode([Double].self) {
                self = .numbers(numbers)
            } else {
                self = .string(try container.decode(String.self))
            }
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .number(let number): try container.encode(number)
            case .string(let string): try container.encode(string)
            case .numbers(let numbers): try container.encode(numbers)
            case .flag(let flag): try container.encode(flag)
            }
        }

        static func integers(_ values: [Int]) -> AttributeValue { .numbers(values.map(Double.init)) }

        var number: Double? { if case .number(let n) = self { n } else { nil } }
        var string: String? { if case .string(let s) = self { s } else { nil } }
        var flag: Bool? { if case .flag(let f) = self { f } else { nil } }
        /// Integers only: a fractional or huge value is nil.
        var integers: [Int]? {
            guard case .numbers(let values) = self else { return nil }
            let integers = values.compactMap { Int(exactly: $0) }
            return integers.count == values.count ? integers : nil
        }
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
            case .conv2D(let geometry, let activation):
                record(geometry, activation)
            case .depthwiseConv2D(let geometry, let multiplier, let activation),
                .separableConv2D(let geometry, let multiplier, let activation):
                record(geometry, activation)
                attributes["depth_multiplier"] = .number(Double(multiplier))
            case .zeroPadding2D(let top, let bottom, let left, let right):
                attributes["padding"] = .integers([top, bottom, left, right])
            case .maxPooling2D(let pooling), .averagePooling2D(let pooling):
                attributes["pool_size"] = .integers(pooling.poolSize)
                attributes["strides"] = .integers(pooling.strides)
                attributes["padding"] = .string(pooling.padding.rawValue)
            case .globalAveragePooling2D(let keepDims), .globalMaxPooling2D(let keepDims):
                attributes["keepdims"] = .flag(keepDims)
            case .reshape(let target):
                attributes["target_shape"] = .integers(target)
            case .concatenate(let axis), .softmax(let axis):
                attributes["axis"] = .number(Double(axis))
            case .relu(let maxValue, let slope, let threshold):
                if let maxValue { attributes["max_value"] = .number(Double(maxValue)) }
                attributes["negative_slope"] = .number(Double(slope))
                attributes["threshold"] = .number(Double(threshold))
            case .rescaling(let scale, let offset):
                attributes["scale"] = .number(Double(scale))
                attributes["offset"] = .number(Double(offset))
            case .flatten, .add, .multiply:
                break
            }
        }

        private mutating func record(_ geometry: Convolution2D, _ activation: Activation) {
            attributes["kernel_size"] = .integers(geometry.kernelSize)
            attributes["strides"] = .integers(geometry.strides)
            attributes["padding"] = .string(geometry.padding.rawValue)
            attributes["dilation_rate"] = .integers(geometry.dilation)
            attributes["activation"] = .string(activation.name)
            if let alpha = activation.alpha { attributes["alpha"] = .number(Double(alpha)) }
        }

        func op(path: String) throws -> LayerOp {
            func number(_ key: String) throws -> Double {
                guard let value = attributes[key]?.number else {
                    throw FileError(path: path, member: name, reason: "\(type) layer has no numeric '\(key)'")
                }
                return value
            }
            func integers(_ key: String, count: Int) throws -> [Int] {
                guard let values = attributes[key]?.integers, values.count == count, values.allSatisfy({ $0 >= 0 })
                else {
                    throw FileError(
                        path: path, member: name, reason: "\(type) layer needs '\(key)': \(count) non-negative integers"
                    )
                }
                return values
            }
            func positive(_ key: String) throws -> [Int] {
                let values = try integers(key, count: 2)
                guard values.allSatisfy({ $0 > 0 }) else {
                    throw FileError(path: path, member: name, reason: "\(type) layer's '\(key)' must be positive")
                }
                return values
            }
            func padding() throws -> Padding {
                guard let text = attributes["padding"]?.string, let padding = Padding(rawValue: text) else {
                    throw FileError(path: path, member: name, reason: "\(type) layer needs 'padding': valid or same")
                }
                return padding
            }
            func geometry() throws -> Convolution2D {
                Convolution2D(
                    kernelSize: try positive("kernel_size"), strides: try positive("strides"), padding: try padding(),
                    dilation: try positive("dilation_rate"))
            }
            func pooling() throws -> Pooling2D {
                Pooling2D(poolSize: try positive("pool_size"), strides: try positive("strides"), padding: try padding())
            }
            func multiplier() throws -> Int {
                let value = try number("depth_multiplier")
                guard let multiplier = Int(exactly: value), multiplier > 0 else {
                    throw FileError(path: path, member: name, reason: "'depth_multiplier' must be a positive integer")
                }
                return multiplier
            }
            func axis() throws -> Int {
                guard let axis = Int(exactly: try number("axis")) else {
                    throw FileError(path: path, member: name, reason: "'axis' must be an integer")
                }
                return axis
            }
            let alpha = attributes["alpha"]?.number.map { Float($0) }
            func activation() throws -> Activation {
                let activationName = attributes["activation"]?.string ?? "linear"
                guard let activation = Activation(name: activationName, alpha: alpha) else {
                    throw FileError(path: path, member: name, reason: "unknown activation '\(activationName)'")
                }
                return activation
            }
            switch type {
            case "dense":
                return .dense(activation: try activation())
            case "conv2d":
                return .conv2D(try geometry(), activation: try activation())
            case "depthwise_conv2d":
                return .depthwiseConv2D(try geometry(), depthMultiplier: try multiplier(), activation: try activation())
            case "separable_conv2d":
                return .separableConv2D(try geometry(), depthMultiplier: try multiplier(), activation: try activation())
            case "zero_padding2d":
                let p = try integers("padding", count: 4)
                return .zeroPadding2D(top: p[0], bottom: p[1], left: p[2], right: p[3])
            case "max_pooling2d":
                return .maxPooling2D(try pooling())
            case "average_pooling2d":
                return .averagePooling2D(try pooling())
            case "global_average_pooling2d":
                return .globalAveragePooling2D(keepDims: attributes["keepdims"]?.flag ?? false)
            case "global_max_pooling2d":
                return .globalMaxPooling2D(keepDims: attributes["keepdims"]?.flag ?? false)
            case "flatten":
                return .flatten
            case "reshape":
                guard let target = attributes["target_shape"]?.integers else {
                    throw FileError(path: path, member: name, reason: "reshape layer needs integer 'target_shape'")
                }
                return .reshape(targetShape: target)
            case "add":
                return .add
            case "multiply":
                return .multiply
            case "concatenate":
                return .concatenate(axis: try axis())
            case "softmax" where attributes["axis"] != nil:
                return .softmax(axis: try axis())
            case "relu" where attributes["negative_slope"] != nil || attributes["threshold"] != nil:
                return .relu(
                    maxValue: attributes["max_value"]?.number.map { Float($0) },
                    negativeSlope: Float(attributes["negative_slope"]?.number ?? 0),
                    threshold: Float(attributes["threshold"]?.number ?? 0))
            case "rescaling":
                return .rescaling(scale: Float(try number("scale")), offset: Float(try number("offset")))
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
