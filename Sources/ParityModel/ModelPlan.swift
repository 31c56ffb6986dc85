import SafeTensors
import TensorCore

/// A parameter known by its element type and shape, read from its source only when needed.
public struct PendingTensor {
    public var dtype: DType
    public var shape: [Int]
    /// Reads the tensor; its dtype and shape must be the ones above.
    public var load: () throws -> Tensor

    public init(dtype: DType, shape: [Int], load: @escaping () throws -> Tensor) {
        self.dtype = dtype
        self.shape = shape
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
    /// Whether writing checks each layer's parameters with the engine before writing them. A builder that checked
    /// every shape itself turns it off: the engine's check holds a float32 copy of the layer beside it.
    public var checksLayersWhileWriting = true

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
        let model = Model(layers: layers, parameters: tensors, provenance: provenance)
        do {
            _ = try Engine(model: model)
        } catch let error as EngineError {
            throw FileError(path: sourcePath, reason: error.description)
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

extension ModelFile {
    /// Writes the model `plan` describes to `path` atomically, reading its parameters layer by layer.
    ///
    /// Each layer's parameters are read together and checked the way the engine checks them (shapes that fit the
    /// op) before the first of them is written; a layer that does not fit stops the write, leaving no file.
    /// - Parameter progress: called before each tensor is written with its index, the tensor count and its name.
    public static func write(
        _ plan: ModelPlan, to path: String, progress: ((_ index: Int, _ count: Int, _ name: String) -> Void)? = nil
    ) throws {
        let names = plan.orderedParameterNames
        let layout = names.compactMap { name in
            plan.parameters[name].map { TensorLayout(name: name, dtype: $0.dtype, shape: $0.shape) }
        }
        let layerOf = Dictionary(
            plan.layers.flatMap { layer in Model.parameterNames(of: layer).map { ("\(layer.name)/\($0)", layer) } },
            uniquingKeysWith: { first, _ in first })
        let metadata = try metadataJSON(layers: plan.layers, provenance: plan.provenance)
        var loaded: [String: Tensor] = [:]
        try SafeTensorsWriter.write(layout, metadata: [metadataKey: metadata], to: path) { index in
            let name = names[index]
            progress?(index, names.count, name)
            if loaded[name] == nil, let layer = layerOf[name] {
                loaded = [:]
                for parameter in Model.parameterNames(of: layer) {
                    let key = "\(layer.name)/\(parameter)"
                    if let pending = plan.parameters[key] { loaded[key] = try plan.load(key, pending) }
                }
                if plan.checksLayersWhileWriting {
                    do {
                        _ = try Engine(model: Model(layers: [layer], parameters: loaded))
                    } catch let error as EngineError {
                        throw FileError(path: plan.sourcePath, member: layer.name, reason: error.description)
                    }
                }
            }
            guard let tensor = loaded.removeValue(forKey: name) else {
                preconditionFailure("parameter '\(name)' belongs to no layer of the plan")
            }
            return tensor.bytes
        }
    }
}
