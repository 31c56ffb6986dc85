import Foundation
import ParityModel
import TensorCore

/// What `tfparity fold` did.
public struct FoldResult: Sendable {
    public var model: String
    public var output: String
    public var layersBefore: Int
    public var layersAfter: Int
    public var folded: [FoldedBatchNormalization]
    /// Batch-normalisation layers left in place, each with why.
    public var kept: [BatchNormFolding.Kept]
    /// The numeric cost of folding, when it could be measured.
    public var cost: FoldCost?
    /// Why the cost was not measured, when it was not.
    public var costNote: String?
}

/// The difference folding makes to the model's output on one input.
public struct FoldCost: Sendable, Equatable {
    /// The largest `|folded − unfolded|` over every element of the model's output.
    public var maxAbsDifference: Double
    /// The largest `|folded − unfolded| / |unfolded|` where the unfolded value is not zero.
    public var maxRelDifference: Double
    /// The input, in words.
    public var probe: String
    public var inputShape: [Int]
}

public struct FoldOptions: Sendable {
    /// A recording whose `input` is the probe; else `inputShape`, else a shape inferred from a dense first layer.
    public var recording: String?
    /// The shape of a deterministic probe input.
    public var inputShape: [Int]?
    /// The matrix product both engines measure the difference with.
    public var matrixProduct: MatrixProduct

    public init(recording: String? = nil, inputShape: [Int]? = nil, matrixProduct: MatrixProduct = .portable) {
        self.recording = recording
        self.inputShape = inputShape
        self.matrixProduct = matrixProduct
    }
}

/// Folding batch normalisation into the layers before it, as a file-to-file operation.
public enum Folder {
    /// Reads the model at `modelPath`, folds every foldable BN layer (see `BatchNormFolding`), measures the largest
    /// difference between folded and unfolded outputs on a probe input, and writes the folded model to `output`
    /// atomically with a `folding` record in its metadata.
    ///
    /// - Throws: an `InputError` for an unreadable model or recording, or a probe that does not fit the model.
    public static func fold(model modelPath: String, output: String, options: FoldOptions = .init()) throws
        -> FoldResult
    {
        let model = try ModelFile.read(path: modelPath)
        let unfoldedEngine = try engine(model, path: modelPath, options.matrixProduct)
        let (folded, newlyFolded, kept) = try wrap(modelPath) { try BatchNormFolding.fold(model) }
        let foldedEngine = try engine(folded, path: modelPath, options.matrixProduct)

        var cost: FoldCost?
        var costNote: String?
        if let (input, probe) = try probeInput(model: model, options: options) {
            let key = options.recording ?? modelPath
            let reference = try wrap(key) { try unfoldedEngine.run(input) }
            let actual = try wrap(key) { try foldedEngine.run(input) }
            cost = difference(actual, reference, probe: probe, inputShape: input.shape)
        } else {
            costNote =
                "not measured: the input shape cannot be inferred from a dense first layer; "
                + "give --recording or --input-shape"
        }

        var record = folded.folding ?? FoldingRecord(folded: [])
        record.maxAbsDifference = cost?.maxAbsDifference
        record.probe = cost?.probe
        record.unfoldedModel = URL(fileURLWithPath: modelPath).lastPathComponent
        record.unfoldedSHA256 = try Converter.sha256(ofFile: modelPath)
        record.toolVersion = toolVersion
        var result = folded
        result.folding = newlyFolded.isEmpty && model.folding == nil ? nil : record
        try ModelFile.write(result, to: output)
        return FoldResult(
            model: modelPath, output: output, layersBefore: model.layers.count, layersAfter: result.layers.count,
            folded: newlyFolded, kept: kept, cost: cost, costNote: costNote)
    }

    /// The largest absolute and relative differences of `actual` from `reference`.
    static func difference(_ actual: FloatTensor, _ reference: FloatTensor, probe: String, inputShape: [Int])
        -> FoldCost
    {
        var maxAbs = 0.0
        var maxRel = 0.0
        for (a, r) in zip(actual.values, reference.values) {
            let error = abs(Double(a) - Double(r))
            if error.isNaN {
                maxAbs = .nan
                continue
            }
            maxAbs = max(maxAbs, error)
            if r != 0 { maxRel = max(maxRel, error / abs(Double(r))) }
        }
        return FoldCost(maxAbsDifference: maxAbs, maxRelDifference: maxRel, probe: probe, inputShape: inputShape)
    }

    /// The probe input and its description, or nil when no shape is known.
    static func probeInput(model: Model, options: FoldOptions) throws -> (FloatTensor, String)? {
        if let path = options.recording {
            // Only the input is read, not the whole recording.
            guard let input = try RecordedTensors(path: path, layout: .nhwc).value(Model.inputName) else {
                throw FileError(
                    path: path, member: Model.inputName,
                    reason: "missing: a recording must hold the batch fed to the model")
            }
            return (input, "\(URL(fileURLWithPath: path).lastPathComponent) input \(Shape.describe(input.shape))")
        }
        let shape: [Int]
        if let given = options.inputShape {
            guard !given.isEmpty, given.allSatisfy({ $0 > 0 }), given.reduce(1, *) <= 1 << 28 else {
                throw FileError(
                    path: "--input-shape", reason: "'\(given.map(String.init).joined(separator: ","))' is not a shape")
            }
            shape = given
        } else if let first = model.layers.first(where: { $0.inputs.contains(Model.inputName) }),
            first.op is Dense, let kernel = model.parameter(first.name, "kernel"), kernel.rank == 2
        {
            shape = [4, kernel.shape[0]]
        } else {
            return nil
        }
        return (deterministicInput(shape: shape), "deterministic \(Shape.describe(shape))")
    }

    /// Values uniform in [-1, 1) from a fixed SplitMix64 stream, so the same shape always gives the same input.
    public static func deterministicInput(shape: [Int]) -> FloatTensor {
        var state: UInt64 = 0x7466_7061_7269_7479
        let count = shape.reduce(1, *)
        let values = (0..<count).map { _ -> Float in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Float(Double(z >> 11) / Double(1 << 53) * 2 - 1)
        }
        return FloatTensor(shape: shape, values: values)
    }

    private static func engine(_ model: Model, path: String, _ product: MatrixProduct) throws -> Engine {
        try wrap(path) { try Engine(model: model, matrixProduct: product) }
    }

    private static func wrap<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as EngineError {
            throw FileError(path: path, reason: error.description)
        }
    }
}
