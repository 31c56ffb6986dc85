import Foundation
import ONNXExport
import ONNXFormat
import ParityModel
import TensorCore

/// How `Exporter.export(model:onnx:options:)` writes the ONNX file.
public struct ONNXFileOptions: Sendable {
    public var opset: Int
    public var layout: ONNXLayout
    /// A recording whose `input` (`input/<name>` for several inputs) gives the input's shape; it is named in the
    /// file's metadata as the recording the model was checked on.
    public var recording: String?
    /// The full shape of the model's one input (batch first), when no recording gives it.
    public var inputShape: [Int]?

    public init(
        opset: Int = ONNXModel.defaultOpset, layout: ONNXLayout = .nhwc, recording: String? = nil,
        inputShape: [Int]? = nil
    ) {
        self.opset = opset
        self.layout = layout
        self.recording = recording
        self.inputShape = inputShape
    }
}

/// What `tfparity export --onnx` wrote.
public struct ONNXFileExportResult: Sendable {
    public var output: String
    public var opset: Int
    public var layout: ONNXLayout
    public var nodeCount: Int
    public var initializerCount: Int
    public var write: ONNXWriteResult
    /// The graph's inputs and outputs, each with its dimensions as written (`N` for the batch, `?` unknown).
    public var inputs: [(name: String, dims: [String])]
    public var outputs: [(name: String, dims: [String])]
    /// Whether SAME windows got explicit pads (input size known) or `auto_pad = SAME_UPPER`.
    public var autoPadded: Bool
}

extension Exporter {
    /// Writes the model at `modelPath` as the ONNX model `onnx` (atomically; see `ONNXExporter` for the lowering),
    /// with provenance in its `metadata_props`: the source and its SHA-256 (from the model file), the model file and
    /// its SHA-256, tfparity's version, and the recording when one was given.
    /// - Throws: an `InputError` naming the model file and the layer that cannot be exported (no lowering, an opset
    ///   too low for it), or the recording; `ONNXError` when writing fails.
    public static func export(model modelPath: String, onnx: String, options: ONNXFileOptions = .init()) throws
        -> ONNXFileExportResult
    {
        let model = try ModelFile.read(path: modelPath)
        var metadata = [
            ONNXStringEntry(key: "tfparity_version", value: toolVersion),
            ONNXStringEntry(key: "tfparity_model", value: URL(fileURLWithPath: modelPath).lastPathComponent),
            ONNXStringEntry(key: "tfparity_model_sha256", value: try Converter.sha256(ofFile: modelPath)),
        ]
        var inputShapes: [String: [Int]]?
        if let path = options.recording {
            inputShapes = try recordedInputShapes(path, model: model)
            metadata.append(ONNXStringEntry(key: "recording", value: URL(fileURLWithPath: path).lastPathComponent))
            metadata.append(ONNXStringEntry(key: "recording_sha256", value: try Converter.sha256(ofFile: path)))
        } else if let shape = options.inputShape {
            guard model.inputNames.count == 1 else {
                throw FileError(
                    path: "--input-shape",
                    reason: "the model has \(model.inputNames.count) inputs; give a recording holding each")
            }
            inputShapes = [model.inputNames[0]: shape]
        }
        let exported: ONNXModel
        do {
            exported = try ONNXExporter.export(
                model: model,
                options: ONNXExportOptions(
                    opset: options.opset, layout: options.layout, inputShapes: inputShapes, metadata: metadata,
                    producerVersion: toolVersion))
        } catch {
            if case .inputShape = error {
                throw FileError(
                    path: options.recording ?? "--input-shape", member: error.layer, reason: error.reason)
            }
            throw FileError(path: modelPath, member: error.layer, reason: error.reason)
        }
        let written = try exported.write(to: onnx)
        let graph = exported.graph
        let describe = { (info: ONNXValueInfo) -> (name: String, dims: [String]) in
            (
                info.name,
                (info.shape ?? []).map { dimension in
                    switch dimension {
                    case .value(let size): String(size)
                    case .param(let name): name
                    case .unknown: "?"
                    }
                }
            )
        }
        return ONNXFileExportResult(
            output: onnx, opset: options.opset, layout: options.layout, nodeCount: graph.nodes.count,
            initializerCount: graph.initializers.count, write: written, inputs: graph.inputs.map(describe),
            outputs: graph.outputs.map(describe),
            autoPadded: graph.nodes.contains { $0.attributes.contains { $0.name == "auto_pad" } })
    }

    /// Each model input's shape in the recording at `path`, under the input's own name: `input`, or
    /// `input/<Keras name>` for each of several (`Model.inputNames` spells them so).
    static func recordedInputShapes(_ path: String, model: Model) throws -> [String: [Int]] {
        // The shapes alone: no recorded values are read.
        let recording = try RecordedTensors(path: path, layout: .nhwc)
        var shapes: [String: [Int]] = [:]
        for name in model.inputNames {
            let key = model.inputNames.count == 1 ? Model.inputName : name
            guard let shape = recording.shapes[key] else {
                throw FileError(path: path, member: key, reason: "missing: the batch fed to the model's input")
            }
            shapes[name] = shape
        }
        return shapes
    }
}
