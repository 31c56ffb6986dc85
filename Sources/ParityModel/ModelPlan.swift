import SafeTensors
import TensorCore

/// A parameter known by its element type and shape, read from its source only when needed.
public struct PendingTensor {
    public var dtype: DType
    public var shape: [Int]
    /// Reads the tensor; its dtype and shape must be the ones above.
    public var load: () throws -> Tensor
    /// Where the source stores the tensor's bytes exactly as a model file stores them, if it does: a writer copies
    /// them file to file instead of calling `load`.
    public var stored: FileRange?

    public init(dtype: DType, shape: [Int], stored: FileRange? = nil, load: @escaping () throws -> Tensor) {
        self.dtype = dtype
        self.shape = shape
        self.stored = stored
        self.load = load
    }

    /// A tensor already in memory.
    public init(_ tensor: Tensor) {
        self.init(dtype: tensor.dtype, shape: tensor.shape) { tensor }
    }
}

/// A model whose parameters are still in their source: what `convert` streams into a model file, one layer's
/// parameters at a time, so converting needs memory for the largest layer rather than for the whole model.
public struct ModelPlan {
    public var layers: [Layer]
    /// `<layer name>/<param>` → where to read it.
    public var parameters: [String: PendingTensor]
    public var provenance: Provenance?
    /// The source as the user named it, for errors found while the parameters are read.
    public var sourcePath: String
    /// Objects the pending tensors need alive until they are read or copied (a temporary extraction they read from).
    public var retained: [AnyObject] = []
    /// The model's input names (`Model.inputNames`).
    public var inputNames: [String] = [Model.inputName]
    /// The model's declared outputs (`Model.declaredOutputs`).
    public var declaredOutputs: [String]?
    /// The graph the layers came from (set by the graph importer; the converter adds its digest to the provenance).
    public var graph: GraphProvenance?
    /// What the importer decided for the user, one line each (an unfed bool placeholder fed `false`).
    public var notes: [String] = []
    /// Layer name → the source ops it came from (`MatMul (MatMul)`), for an importer that reads a graph.
    public var layerOrigins: [String: [String]] = [:]
    /// `<layer name>/<param>` → the source tensor it is read from, where it has a name (a checkpoint key).
    public var parameterSources: [String: String] = [:]

    public init(layers: [Layer], parameters: [String: PendingTensor], provenance: Provenance?, sourcePath: String) {
        self.layers = layers
        self.parameters = parameters
        self.provenance = provenance
        self.sourcePath = sourcePath
    }

    /// Reads every parameter and checks the model can run.
    public func materialize() throws -> Model {
        var tensors: [String: Tensor] = [:]
        for (name, pending) in parameters {
            tensors[name] = try load(name, pending)
        }
        var model = Model(layers: layers, parameters: tensors, provenance: provenance)
        model.inputNames = inputNames
        model.declaredOutputs = declaredOutputs
        do {
            _ = try LayerGraph.check(layers, inputs: model.unknownInputs, outputs: declaredOutputs) {
                tensors[$0]?.shape
            }
        } catch {
            let (layer, reason) = error.layerAndReason
            throw FileError(path: sourcePath, member: layer, reason: reason)
        }
        return model
    }

    /// Reads one parameter, holding its source to the dtype and shape it announced.
    func load(_ name: String, _ pending: PendingTensor) throws -> Tensor {
        let tensor = try pending.load()
        guard tensor.dtype == pending.dtype, tensor.shape == pending.shape else {
            throw FileError(
                path: sourcePath, member: name,
                reason: "read as \(tensor.dtype.numpyName) \(Shape.describe(tensor.shape)), announced as "
                    + "\(pending.dtype.numpyName) \(Shape.describe(pending.shape))")
        }
        return tensor
    }

    /// Parameter names in the order the model file stores them.
    var orderedParameterNames: [String] {
        Model.orderedParameterNames(layers) { parameters[$0] != nil }
    }
}

extension ModelPlan {
    /// The checks a model file gets when it is read (`LayerGraph.check`: attributes, wiring, shapes flowing from
    /// the inputs, declared outputs), made on the parameters' announced shapes without reading a value; errors name
    /// the source and layer.
    /// - Parameter input: the shape of every model input.
    @discardableResult
    public func checkShapes(input: ValueShape = .unknown) throws -> [String: ValueShape] {
        do {
            let inputs = Dictionary(inputNames.map { ($0, input) }, uniquingKeysWith: { first, _ in first })
            return try LayerGraph.check(layers, inputs: inputs, outputs: declaredOutputs) { parameters[$0]?.shape }
        } catch {
            let (layer, reason) = error.layerAndReason
            throw FileError(path: sourcePath, member: layer, reason: reason)
        }
    }
}

extension ModelFile {
    /// Writes the model `plan` describes to `path` atomically, reading one parameter at a time.
    ///
    /// Every layer's shapes are checked first, the way the engine checks them, so a model that could not run is
    /// refused before anything is written; then each tensor is read, written and dropped — or, where the source
    /// stores it as the model does (`PendingTensor.stored`), copied file to file.
    /// - Parameters:
    ///   - progress: called before each tensor is written with its index, the tensor count and its name.
    ///   - streamedSource: the source file read once while the tensors copied from it are written, each window of it
    ///     handed to an observer (the digest `finalProvenance` completes); see `SafeTensorsWriter.StreamedSource`.
    ///   - finalProvenance: called once every tensor is written, for a provenance completed meanwhile (a digest of
    ///     the source computed alongside); it replaces `plan.provenance`, whose fields must be of the same lengths.
    public static func write(
        _ plan: ModelPlan, to path: String, progress: ((_ index: Int, _ count: Int, _ name: String) -> Void)? = nil,
        streamedSource: SafeTensorsWriter.StreamedSource? = nil, finalProvenance: (() throws -> Provenance)? = nil
    ) throws {
        try plan.checkShapes()
        let names = plan.orderedParameterNames
        let layout = names.compactMap { name in
            plan.parameters[name].map { TensorLayout(name: name, dtype: $0.dtype, shape: $0.shape) }
        }
        let metadata = try metadataJSON(
            layers: plan.layers, inputs: plan.inputNames, outputs: plan.declaredOutputs, provenance: plan.provenance)
        let completion = finalProvenance.map { finalProvenance in
            { () throws -> [String: String] in
                let provenance = try finalProvenance()
                return [
                    metadataKey: try completedDigest(in: metadata, from: plan.provenance, to: provenance)
                        ?? metadataJSON(
                            layers: plan.layers, inputs: plan.inputNames, outputs: plan.declaredOutputs,
                            provenance: provenance)
                ]
            }
        }
        try SafeTensorsWriter.write(
            layout, metadata: [metadataKey: metadata], to: path,
            streaming: { index in
                let name = names[index]
                progress?(index, names.count, name)
                guard let pending = plan.parameters[name] else {
                    preconditionFailure("parameter '\(name)' of the layout is not in the plan")
                }
                if let stored = pending.stored, stored.count == layout[index].byteCount { return .file(stored) }
                return .bytes(try plan.load(name, pending).bytes)
            }, streamedSource: streamedSource, finalMetadata: completion)
    }

    /// `metadata` (the JSON `metadataJSON` made with the provenance `planned`) with `completed`'s digest in place of
    /// `planned`'s, when the digest is all that differs: the one `"sha256":"<planned digest>"` pair, which a string
    /// inside the JSON cannot imitate (its quotes are escaped), given the new value, 64 hex digits that need no
    /// escaping. Nil otherwise (another field differs, the pair is not there exactly once): the caller encodes anew.
    static func completedDigest(in metadata: String, from planned: Provenance?, to completed: Provenance) -> String? {
        guard var planned, completed.sha256.utf8.count == 64,
            completed.sha256.utf8.allSatisfy({ "0123456789abcdef".utf8.contains($0) })
        else { return nil }
        let pair = Array("\"sha256\":\"\(planned.sha256)\"".utf8)
        planned.sha256 = completed.sha256
        guard planned == completed else { return nil }
        // Searched as bytes by a first-byte scan, 0.09 ms over 176 KB of metadata: String's own search compares
        // Characters (0.7 ms), the standard library's generic one over bytes, `ranges(of:)`, took 17 ms.
        var bytes = Array(metadata.utf8)
        let found = occurrences(of: pair, in: bytes)
        guard found.count == 1 else { return nil }
        bytes.replaceSubrange(found[0]..<(found[0] + pair.count), with: "\"sha256\":\"\(completed.sha256)\"".utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Where `needle` starts in `haystack`, every place, overlapping ones included.
    private static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        guard let first = needle.first, needle.count <= haystack.count else { return [] }
        var found: [Int] = []
        haystack.withUnsafeBufferPointer { text in
            needle.withUnsafeBufferPointer { pattern in
                for start in 0...(text.count - pattern.count) where text[start] == first {
                    if pattern.indices.allSatisfy({ text[start + $0] == pattern[$0] }) { found.append(start) }
                }
            }
        }
        return found
    }
}
