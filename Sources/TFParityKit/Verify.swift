import Foundation
import Importers
import ParityModel
import TensorCore

/// Which comparison a result is.
public enum Stage: String, Sendable, Equatable {
    /// A BN layer's input, re-run from the nearest upstream recorded tensor.
    case preBN = "pre_bn"
    /// A BN layer applied to its recorded input.
    case postBN = "post_bn"
    /// A recorded layer output (or the model's `output`), re-run from the nearest upstream recorded tensor.
    case output
    /// Any recorded tensor, with the whole model run from `input`.
    case endToEnd = "end_to_end"
}

/// One comparison of computed values against a recorded tensor.
public struct StageResult: Sendable {
    public var layer: String
    public var stage: Stage
    /// The recording key compared against.
    public var tensor: String
    /// The compared tensor's shape.
    public var shape: [Int]
    public var comparison: Comparison
    public var diagnosis: Diagnosis?
    /// For a batch-norm layer's output: the largest absolute error in each channel, for plots.
    public var perChannelMaxAbsError: [Double]?
    public var passed: Bool { comparison.passed }
}

/// Everything `verify` found.
public struct VerifyReport: Sendable {
    public var model: String
    public var recording: String
    /// The fixed rule's tolerances (informative under `auto`).
    public var tolerance: Tolerance
    /// Which rule judged the elements.
    public var rule: ToleranceRule = .fixed
    public var results: [StageResult]
    /// Recording keys that name nothing in the model; they were not compared.
    public var ignoredKeys: [String]
    /// Named durations in milliseconds, in the order they happened.
    public var timings: [(name: String, milliseconds: Double)]
    /// The model's layer names in execution order (the depth axis of the report's plots).
    public var layerOrder: [String]
    /// Statistics of every batch-norm layer of the model.
    public var batchNorms: [BatchNormSummary]
    /// Recording keys of layers `tfparity fold` changed (a folded BN's `pre_bn`/`post_bn`, the pre-BN `output` of
    /// the layer it went into): not compared, as the folded model computes no such value.
    public var foldedKeys: [String] = []
    /// The folded model's record of what was folded and the difference folding made, for a folded model.
    public var folding: FoldingRecord?
    public var passed: Bool { results.allSatisfy(\.passed) }

    /// The failing result that comes first in the model's layer order.
    public var firstDivergence: StageResult? {
        let depth = Dictionary(layerOrder.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        return results.filter { !$0.passed }.min { (depth[$0.layer] ?? .max) < (depth[$1.layer] ?? .max) }
    }
}

/// What judges each element: the rounding bound the engine computes (`auto`, the default), or a fixed
/// `|actual − expected| ≤ atol + rtol·|expected|`.
public enum ToleranceRule: String, Sendable, Equatable {
    case auto
    case fixed
}

public struct VerifyOptions: Sendable {
    /// The fixed rule's tolerances (the contract's defaults unless given); used when `rule` is `fixed`.
    public var tolerance: Tolerance
    public var rule: ToleranceRule
    public var endToEnd: Bool
    public var progress: ProgressHandler?
    /// The matrix product the engine re-runs layers with (the CLI passes OpenBLAS's where it loads).
    public var matrixProduct: MatrixProduct
    /// How the recording lays out its 4-D tensors (`--layout`).
    public var layout: RecordingLayout

    /// - Parameter tolerance: a fixed rule's tolerances; nil (the default) judges by the rounding bound instead.
    public init(
        tolerance: Tolerance? = nil, endToEnd: Bool = false, progress: ProgressHandler? = nil,
        matrixProduct: MatrixProduct = .portable, layout: RecordingLayout = .nhwc
    ) {
        self.tolerance = tolerance ?? .default
        rule = tolerance == nil ? .auto : .fixed
        self.endToEnd = endToEnd
        self.progress = progress
        self.matrixProduct = matrixProduct
        self.layout = layout
    }
}

/// Re-running a model against values TensorFlow recorded.
public enum Verifier {
    /// Compares the model at `modelPath` with the recording at `recordingPath` (NPZ or HDF5).
    ///
    /// Throws for unreadable or inconsistent input (a missing `input`, shapes that do not fit the model); a parity
    /// mismatch is not an error but a failing result in the report.
    public static func verify(
        model modelPath: String, recording recordingPath: String, options: VerifyOptions = .init()
    )
        throws -> VerifyReport
    {
        var clock = Stopwatch()
        var model = try ModelFile.read(path: modelPath)
        // The engine keeps its float32 copy of every parameter, and is given the file's tensors to drop layer by layer
        // as it converts them; kept are only the batch-norm statistics the report summarises and the batch-norm
        // diagnosis refits. A failing check's porting diagnosis, which needs every parameter, reads the model again.
        let parameterShapes = model.parameters.mapValues(\.shape)
        var kept: [String: Tensor] = [:]
        for layer in model.layers where layer.isBatchNormalization {
            for slot in layer.op.parameters {
                let key = "\(layer.name)/\(slot.name)"
                kept[key] = model.parameters[key]
            }
        }
        let engine = try Engine.taking(&model, path: modelPath, matrixProduct: options.matrixProduct)
        model.parameters = kept
        clock.lap("load_model")
        let recording = try RecordedTensors(path: recordingPath, layout: options.layout)
        clock.lap("load_recording")
        let context = CheckContext(
            engine: engine, model: model, parameterShapes: parameterShapes,
            fullEngine: { try Engine(model: ModelFile.read(path: modelPath), matrixProduct: options.matrixProduct) })
        var report = try verify(context, recording: recording, options: options, clock: &clock)
        report.model = modelPath
        return report
    }

    /// What the checks run and refit with.
    struct CheckContext {
        /// Runs the layers; its model may hold no parameters.
        var engine: Engine
        /// The model's layers, with (at least) every batch-norm layer's parameters.
        var model: Model
        /// The shape of every parameter of the model.
        var parameterShapes: [String: [Int]]
        /// An engine whose model holds every parameter, for the porting diagnosis of a failing check (made only then:
        /// a failing verify holds the parameters twice while it diagnoses).
        var fullEngine: () throws -> Engine

        init(
            engine: Engine, model: Model, parameterShapes: [String: [Int]], fullEngine: @escaping () throws -> Engine
        ) {
            self.engine = engine
            self.model = model
            self.parameterShapes = parameterShapes
            self.fullEngine = fullEngine
        }
    }

    /// A recorded (exact) value: no rounding bound of its own.
    private static func exact(_ value: FloatTensor) -> BoundedTensor {
        BoundedTensor(value: value, bound: [Float](repeating: 0, count: value.count))
    }

    /// The value with its rounding bound when the automatic rule judges, else the value alone (no bound computed).
    private static func computed(
        _ bounded: Bool, _ withBound: () throws -> BoundedTensor, plain: () throws -> FloatTensor
    ) throws -> BoundedTensor {
        bounded ? try withBound() : BoundedTensor(value: try plain(), bound: [])
    }

    static func verify(
        _ context: CheckContext, recording: RecordedTensors, options: VerifyOptions, clock: inout Stopwatch
    ) throws -> VerifyReport {
        let engine = context.engine
        let model = context.model
        let path = recording.path
        // `input`, or `input/<input layer>` for each input of a model with several: the names layers read them by.
        var inputs: [String: FloatTensor] = [:]
        for name in model.inputNames {
            guard let value = try recording.value(name) else {
                let what = model.inputNames.count == 1 ? "the batch fed to the model" : "the batch fed to each input"
                throw FileError(path: path, member: name, reason: "missing: a recording must hold \(what)")
            }
            inputs[name] = value
        }
        // An empty batch runs every check on no elements and "passes" them all: nothing would be verified.
        for (name, value) in inputs.sorted(by: { $0.key < $1.key }) where value.values.isEmpty {
            throw Self.nothingToCompare(path, name, value.shape)
        }
        try ChannelsFirstDetection.requireChannelsLast(
            recording, model: model, parameterShape: { context.parameterShapes[$0] })
        let plan = try RecordingPlan(model: model, recording: recording)
        var results: [StageResult] = []

        // Recorded values are read when a check needs them and dropped after the last check that reads them.
        var loaded: [String: FloatTensor] = [:]
        func recorded(_ key: String) throws -> FloatTensor {
            if let value = loaded[key] { return value }
            guard let value = try recording.value(key) else {
                preconditionFailure("planned key '\(key)' not recorded")
            }
            loaded[key] = value
            return value
        }
        /// The recorded values a re-run of `target` starts from, read now.
        func givens(_ target: String) throws -> [String: FloatTensor] {
            var values: [String: FloatTensor] = [:]
            for (name, key) in plan.knownKeys(reaching: target, in: model) {
                values[name] = try inputs[key] ?? recorded(key)
            }
            return values
        }
        let lastRead = plan.lastReads(model)

        let auto = options.rule == .auto
        func compare(_ layer: String, _ stage: Stage, _ key: String, _ computed: BoundedTensor) throws -> StageResult {
            let actual = computed.value
            let expected = try recorded(key)
            guard actual.shape == expected.shape else {
                throw FileError(
                    path: path, member: key,
                    reason:
                        "recorded shape \(Shape.describe(expected.shape)) does not match the model's \(Shape.describe(actual.shape)) here"
                )
            }
            guard !expected.values.isEmpty else { throw Self.nothingToCompare(path, key, expected.shape) }
            var result = StageResult(
                layer: layer, stage: stage, tensor: key, shape: expected.shape,
                comparison: auto
                    ? Comparison(
                        actual: actual.values, expected: expected.values,
                        bound: computed.bound)
                    : Comparison(actual: actual.values, expected: expected.values, tolerance: options.tolerance))
            if key.hasSuffix("/post_bn"), let bn = model.layer(named: layer)?.batchNormalization {
                result.perChannelMaxAbsError = perChannelMaxAbsError(actual, expected, axis: bn.axis)
            }
            return result
        }
        func run<T>(_ key: String, _ body: () throws -> T) throws -> T {
            do {
                return try body()
            } catch let error as EngineError {
                throw FileError(path: path, member: key, reason: error.description)
            }
        }

        let total = model.layers.count + (options.endToEnd ? 1 : 0)
        for (index, layer) in model.layers.enumerated() {
            options.progress?(ProgressEvent(completed: index, total: total, label: layer.name))
            if let preKey = plan.preBN[layer.name] {
                let actual = try run(preKey) { () throws -> BoundedTensor in
                    let source = layer.inputs.first ?? Model.inputName
                    if let value = inputs[source] { return exact(value) }
                    let known = try givens(source)
                    return try computed(auto) { try engine.outputWithBound(of: source, given: known) }
                        plain: { try engine.output(of: source, given: known) }
                }
                results.append(try compare(layer.name, .preBN, preKey, actual))
            }
            if let postKey = plan.postBN[layer.name] {
                let actual: BoundedTensor
                if let preKey = plan.preBN[layer.name] {
                    let recordedInput = try recorded(preKey)
                    actual = try run(preKey) {
                        try computed(auto) { try engine.applyWithBound(layer, to: [recordedInput]) }
                            plain: { try engine.apply(layer, to: [recordedInput]) }
                    }
                    var result = try compare(layer.name, .postBN, postKey, actual)
                    if !result.passed {
                        result.diagnosis = diagnose(
                            layer, model: model, x: recordedInput, y: try recorded(postKey), options: options)
                    }
                    results.append(result)
                } else {
                    let known = try givens(layer.name)
                    actual = try run(postKey) {
                        try computed(auto) { try engine.outputWithBound(of: layer.name, given: known) }
                            plain: { try engine.output(of: layer.name, given: known) }
                    }
                    results.append(try compare(layer.name, .postBN, postKey, actual))
                }
            }
            for key in plan.outputs[layer.name, default: []] {
                let known = try givens(layer.name)
                let actual = try run(key) {
                    try computed(auto) { try engine.outputWithBound(of: layer.name, given: known) }
                        plain: { try engine.output(of: layer.name, given: known) }
                }
                results.append(try compare(layer.name, .output, key, actual))
            }
            loaded = loaded.filter { lastRead[$0.key, default: -1] > index }
        }
        loaded = [:]
        clock.lap("local_checks")
        try diagnoseFailures(&results, context: context, plan: plan, recording: recording, options: options)
        clock.lap("diagnosis")

        if options.endToEnd {
            options.progress?(ProgressEvent(completed: model.layers.count, total: total, label: "end to end"))
            var compared = Set<String>()
            for layer in model.layers {
                if plan.preBN[layer.name] != nil { compared.insert(layer.inputs.first ?? Model.inputName) }
                if plan.postBN[layer.name] != nil || !plan.outputs[layer.name, default: []].isEmpty {
                    compared.insert(layer.name)
                }
            }
            let trace: [String: BoundedTensor] = try run(model.inputNames[0]) {
                // Only the values a check reads are kept; the rest are freed after their last reader.
                if auto { return try engine.traceWithBounds(inputs, keeping: compared) }
                return try engine.trace(inputs: inputs, keeping: compared).mapValues(exact)
            }
            clock.lap("forward")
            for layer in model.layers {
                let sourceValue: BoundedTensor? = {
                    let source = layer.inputs.first ?? Model.inputName
                    return inputs[source].map(exact) ?? trace[source]
                }()
                if let key = plan.preBN[layer.name], let value = sourceValue {
                    results.append(try compare(layer.name, .endToEnd, key, value))
                }
                if let key = plan.postBN[layer.name], let value = trace[layer.name] {
                    results.append(try compare(layer.name, .endToEnd, key, value))
                }
                for key in plan.outputs[layer.name, default: []] {
                    if let value = trace[layer.name] { results.append(try compare(layer.name, .endToEnd, key, value)) }
                }
                // Each recorded value is compared once here.
                loaded = [:]
            }
            clock.lap("end_to_end_compare")
        }
        options.progress?(ProgressEvent(completed: total, total: total, label: "done"))
        let batchNorms = model.layers.compactMap { layer -> BatchNormSummary? in
            guard let bn = layer.batchNormalization else { return nil }
            return Inspector.summariseBatchNorm(layer.name, model: model, epsilon: bn.epsilon, axis: bn.axis)
        }
        var report = VerifyReport(
            model: "", recording: path, tolerance: options.tolerance, results: results, ignoredKeys: plan.ignored,
            timings: clock.laps, layerOrder: model.layers.map(\.name), batchNorms: batchNorms,
            foldedKeys: plan.folded, folding: model.folding)
        report.rule = options.rule
        return report
    }

    private static func nothingToCompare(_ path: String, _ key: String, _ shape: [Int]) -> FileError {
        FileError(path: path, reason: "nothing to compare: '\(key)' has shape \(Shape.describe(shape))")
    }

    /// The largest |actual - expected| in each channel along `axis` (NaN where a value is not finite).
    static func perChannelMaxAbsError(_ actual: FloatTensor, _ expected: FloatTensor, axis: Int) -> [Double]? {
        let rank = expected.shape.count
        let channelAxis = axis < 0 ? axis + rank : axis
        guard channelAxis >= 0, channelAxis < rank else { return nil }
        let channels = expected.shape[channelAxis]
        let inner = expected.shape[(channelAxis + 1)...].reduce(1, *)
        var errors = [Double](repeating: 0, count: channels)
        guard channels > 0, inner > 0 else { return errors }
        actual.values.withUnsafeBufferPointer { actual in
            expected.values.withUnsafeBufferPointer { expected in
                errors.withUnsafeMutableBufferPointer { errors in
                    if inner == 1 {
                        // Channels last: a row of every channel at a time, a loop over contiguous channels that
                        // vectorises (a select, no branch: once a channel's error is NaN it stays NaN).
                        for start in stride(from: 0, to: expected.count - channels + 1, by: channels) {
                            for c in 0..<channels {
                                let error = abs(Double(actual[start + c]) - Double(expected[start + c]))
                                errors[c] = error > errors[c] || error.isNaN ? error : errors[c]
                            }
                        }
                        return
                    }
                    // Runs of `inner` elements share a channel; walking them avoids a division per element.
                    var c = 0
                    for start in stride(from: 0, to: expected.count, by: inner) {
                        var worst = errors[c]
                        for i in start..<min(start + inner, expected.count) {
                            let error = abs(Double(actual[i]) - Double(expected[i]))
                            worst = error.isNaN ? .nan : max(worst, error)
                        }
                        errors[c] = worst
                        c = c + 1 == channels ? 0 : c + 1
                    }
                }
            }
        }
        return errors
    }

    private static func diagnose(_ layer: Layer, model: Model, x: FloatTensor, y: FloatTensor, options: VerifyOptions)
        -> Diagnosis?
    {
        guard let bn = layer.batchNormalization, let mean = model.parameter(layer.name, "moving_mean"),
            let variance = model.parameter(layer.name, "moving_variance")
        else { return nil }
        let rank = x.shape.count
        let channelAxis = bn.axis < 0 ? bn.axis + rank : bn.axis
        guard channelAxis >= 0, channelAxis < rank else { return nil }
        let inner = x.shape[(channelAxis + 1)...].reduce(1, *)
        let parameters = BatchNormDiagnosis.Parameters(
            mean: mean.floatValues(), variance: variance.floatValues(),
            gamma: model.parameter(layer.name, "gamma")?.floatValues(),
            beta: model.parameter(layer.name, "beta")?.floatValues(), epsilon: bn.epsilon)
        return BatchNormDiagnosis.diagnose(
            x: x.values, y: y.values, parameters: parameters, inner: inner, tolerance: options.tolerance)
    }
}

/// Which recorded keys feed which checks, and the recorded values that stand in for layer outputs.
struct RecordingPlan {
    /// BN layer → its `pre_bn` key.
    var preBN: [String: String] = [:]
    /// BN layer → its `post_bn` key.
    var postBN: [String: String] = [:]
    /// Layer → `<layer>/output` keys (and `output` for the last layer).
    var outputs: [String: [String]] = [:]
    /// Layer name (or `input`) → the key of the recorded value of its output, for re-running from the nearest
    /// recorded tensor.
    var known: [String: String] = [:]
    var ignored: [String] = []
    /// Keys of layers folding removed or changed; see `VerifyReport.foldedKeys`.
    var folded: [String] = []
    /// Layer name → its index in model order (the first, should two share a name).
    private var indexOfLayer: [String: Int] = [:]

    init(model: Model, recording: RecordedTensors) throws {
        for (i, layer) in model.layers.enumerated() where indexOfLayer[layer.name] == nil {
            indexOfLayer[layer.name] = i
        }
        let layers = Dictionary(model.layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let inputNames = Set(model.inputNames)
        for name in model.inputNames where recording.shapes[name] != nil { known[name] = name }
        for key in recording.shapes.keys.sorted() where !inputNames.contains(key) {
            if key == "output", let last = model.outputLayer {
                outputs[last.name, default: []].append(key)
                known[last.name] = known[last.name] ?? key
                continue
            }
            guard let slash = key.lastIndex(of: "/") else {
                ignored.append(key)
                continue
            }
            let layerName = String(key[..<slash])
            let suffix = key[key.index(after: slash)...]
            if let folding = model.folding,
                layers[layerName] == nil || folding.folded.contains(where: { $0.into == layerName })
            {
                if let target = folding.target(ofFolded: layerName) {
                    // The folded layer now computes what the BN did: its recorded output stands in for the target's.
                    if suffix == "post_bn" || suffix == "output" { known[target] = key }
                    folded.append(key)
                    continue
                }
                if suffix == "output" && layers[layerName] != nil {
                    // The recorded output of a layer a BN went into is its pre-BN value, which nothing computes now.
                    folded.append(key)
                    continue
                }
            }
            guard let layer = layers[layerName] else {
                ignored.append(key)
                continue
            }
            switch suffix {
            case "pre_bn" where layer.isBatchNormalization:
                preBN[layerName] = key
            case "post_bn" where layer.isBatchNormalization:
                postBN[layerName] = key
                known[layerName] = key
            case "output":
                outputs[layerName, default: []].insert(key, at: 0)
                known[layerName] = key
            default:
                ignored.append(key)
            }
        }
        if preBN.isEmpty && postBN.isEmpty && outputs.isEmpty {
            let sample = (ignored + folded).prefix(3).map { "'\($0)'" }.joined(separator: ", ")
            throw FileError(
                path: recording.path,
                reason: "no recorded tensor names a layer of the model (expected keys like '<bn layer>/pre_bn', "
                    + "'<bn layer>/post_bn', 'output'\(sample.isEmpty ? "" : "; found \(sample)"))")
        }
    }

    /// The recorded values a re-run of layer `target` starts from (value name → recording key): walking back from
    /// its inputs to the nearest recorded ones, as `Engine.output(of:given:)` walks given `known`, so the engine
    /// given only these computes what it computes given all of them.
    func knownKeys(reaching target: String, in model: Model) -> [String: String] {
        guard let start = indexOfLayer[target] else { return [:] }
        var reached: [String: String] = [:]
        var visited: Set<Int> = [start]
        var stack = [start]
        while let i = stack.popLast() {
            for input in model.layers[i].inputs {
                if let key = known[input] {
                    reached[input] = key
                } else if let upstream = indexOfLayer[input], visited.insert(upstream).inserted {
                    stack.append(upstream)
                }
            }
        }
        return reached
    }

    /// For each recording key the local checks read, the index (in model order) of the last layer whose checks read
    /// it: after that layer's checks the value can be dropped.
    func lastReads(_ model: Model) -> [String: Int] {
        var last: [String: Int] = [:]
        let inputNames = Set(model.inputNames)
        for (index, layer) in model.layers.enumerated() {
            var keys: [String] = []
            if let preKey = preBN[layer.name] {
                keys.append(preKey)
                let source = layer.inputs.first ?? Model.inputName
                if !inputNames.contains(source) { keys += knownKeys(reaching: source, in: model).values }
            }
            if let postKey = postBN[layer.name] {
                keys.append(postKey)
                if preBN[layer.name] == nil { keys += knownKeys(reaching: layer.name, in: model).values }
            }
            if let outputKeys = outputs[layer.name] {
                keys += outputKeys
                keys += knownKeys(reaching: layer.name, in: model).values
            }
            for key in keys { last[key] = index }
        }
        return last
    }
}

/// A recording: tensor name → float32 values, from NPZ or HDF5.
public struct Recording: Sendable {
    public var path: String
    public var values: [String: FloatTensor]

    public static func load(path: String) throws -> Recording {
        let (source, _) = try SourceDetection.open(path)
        var values: [String: FloatTensor] = [:]
        for name in source.tensorNames {
            let tensor = try source.readTensor(name)
            let key = try recordingKey(name, dtype: tensor.dtype, path: path) { values[$0] != nil }
            values[key] = FloatTensor(shape: tensor.shape, values: tensor.floatValues())
        }
        return Recording(path: path, values: values)
    }
}

extension Engine {
    /// The engine for `model`, read from the file at `path`, handed the model's tensors (`model` is left with its
    /// layers and no parameters): each layer's are freed once converted, so the file's tensors and the engine's copy
    /// are never all held at once.
    /// - Throws: `FileError` naming `path` and the layer that does not fit its parameters or inputs.
    static func taking(_ model: inout Model, path: String, matrixProduct: MatrixProduct) throws -> Engine {
        var parameters: [String: Tensor] = [:]
        swap(&parameters, &model.parameters)
        do {
            return try Engine(model: model, takingParameters: &parameters, matrixProduct: matrixProduct)
        } catch {
            let (layer, reason) = error.layerAndReason
            throw FileError(path: path, member: layer, reason: reason)
        }
    }
}

/// A recorded tensor's key (its name normalised), after checking it holds floating-point values and that no other
/// spelling of the name was recorded (`isTaken(key)`).
/// - Throws: `FileError` naming the file and the tensor.
private func recordingKey(_ name: String, dtype: DType, path: String, isTaken: (String) -> Bool) throws -> String {
    guard dtype.isFloatingPoint else {
        throw FileError(
            path: path, member: name, reason: "recorded values must be floating point, found \(dtype.numpyName)")
    }
    let key = TensorNameIndex.normalise(name)
    guard !isTaken(key) else {
        throw FileError(path: path, member: name, reason: "recorded twice under spellings of the same name")
    }
    return key
}

/// A recording opened for `verify`: every tensor's key and shape read up front, its values read from the file when a
/// check needs them, so verifying holds the few recorded tensors a check compares rather than the whole recording
/// (a ResNet50's at 224×224 is larger than the model).
struct RecordedTensors {
    let path: String
    let layout: RecordingLayout
    /// Recording key → shape, as compared: a 4-D tensor's NHWC shape under `--layout nchw`.
    let shapes: [String: [Int]]
    private let source: any TensorSource
    /// Recording key → the file's spelling of it.
    private let names: [String: String]

    /// Opens the recording and reads every tensor's description.
    /// - Throws: `FileError` for an unreadable file, a tensor that is not floating point, or a name recorded twice.
    init(path: String, layout: RecordingLayout) throws {
        let (source, _) = try SourceDetection.open(path)
        var shapes: [String: [Int]] = [:]
        var names: [String: String] = [:]
        for name in source.tensorNames {
            let (dtype, shape) = try source.tensorInfo(name)
            let key = try recordingKey(name, dtype: dtype, path: path) { names[$0] != nil }
            names[key] = name
            shapes[key] = layout == .nchw && shape.count == 4 ? [shape[0], shape[2], shape[3], shape[1]] : shape
        }
        self.path = path
        self.layout = layout
        self.shapes = shapes
        self.source = source
        self.names = names
    }

    /// The values recorded under `key`, read from the file now (transposed to NHWC under `--layout nchw`); nil when
    /// nothing is recorded under it.
    func value(_ key: String) throws -> FloatTensor? {
        guard let name = names[key] else { return nil }
        let tensor = try source.readTensor(name)
        guard tensor.dtype.isFloatingPoint else {
            throw FileError(path: path, member: name, reason: "changed while it was read")
        }
        let value = FloatTensor(shape: tensor.shape, values: tensor.floatValues())
        let shaped = layout == .nchw && value.shape.count == 4 ? AxisPermutation.channelsLast(value) : value
        guard shaped.shape == shapes[key] else {
            throw FileError(path: path, member: name, reason: "changed while it was read")
        }
        return shaped
    }
}

/// Wall-clock laps in milliseconds.
struct Stopwatch {
    private var last = DispatchTime.now().uptimeNanoseconds
    private(set) var laps: [(name: String, milliseconds: Double)] = []

    mutating func lap(_ name: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        laps.append((name, Double(now - last) / 1e6))
        last = now
    }
}
