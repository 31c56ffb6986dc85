import TensorCore

/// What a layer computes: one type per operation, each in its own file under `Operations/`, listed by
/// `LayerRegistry`.
///
/// An operation is a value of typed attributes (its `Codable` form is the `attributes` object of the model file). It
/// says which parameters it owns, checks its own attributes (`validate`), derives its output shape from its inputs'
/// and parameters' shapes with checked arithmetic (`outputShape`) — the same rule when an importer plans a model,
/// when a model file is read and when the engine runs — and prepares its kernel.
public protocol LayerOperation: Sendable, Codable, Equatable {
    /// The `type` string of model files (`conv2d`, `batchnorm`, …); unique in the registry.
    static var typeName: String { get }
    /// How many inputs the layer takes.
    static var inputCount: ClosedRange<Int> { get }
    /// The parameters this operation may own, in the order the model file stores them.
    var parameters: [ParameterSlot] { get }
    /// Checks every attribute's range; throws `LayerProblem.attribute` for the first that is out of range.
    func validate() throws(LayerProblem)
    /// The output's shape for inputs of `inputs`' shapes and parameters of the shapes `parameter` gives (nil: absent).
    /// Checks that parameters fit the op and the inputs, and that every derived size is representable and within
    /// `Limits`. Unknown dimensions stay unknown.
    func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape
    /// Converts the parameters to what the kernel reads; called once, after `outputShape` accepted their shapes.
    func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) throws(LayerProblem)
        -> any PreparedOperation
}

extension LayerOperation {
    public static var inputCount: ClosedRange<Int> { 1...1 }
    public var parameters: [ParameterSlot] { [] }
    public func validate() throws(LayerProblem) {}

    /// The `type` string of this operation's model-file record.
    public var typeName: String { Self.typeName }

    /// True when `other` is the same operation with the same attributes.
    public func isEqual(to other: any LayerOperation) -> Bool { (other as? Self) == self }
}

/// A layer's kernel with its parameters converted: applied to inputs whose shapes `outputShape` accepted.
public protocol PreparedOperation: Sendable {
    /// Computes the output (of shape `outputShape`, already checked) from `inputs`.
    func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor
    /// For each element of `output` (what `apply` gave for `inputs`), the bound on the difference between two correct
    /// implementations computing with unit roundoff `roundoff`, given bounds on the inputs' own differences (nil: the
    /// inputs are exact, recorded values). See `RoundingBound` for the rule of each kind of layer. Empty: the output is
    /// exact too — every correct implementation gives these very values (a layer that only moves, picks or clips exact
    /// values rounds nothing), so the layers it feeds need no propagation products.
    func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff: Float)
        -> [Float]
    /// `apply`, with scratch memory lent by the pass (`Workspace`); the same values.
    func apply(_ inputs: [FloatTensor], outputShape: [Int], workspace: Workspace) -> FloatTensor
}

/// An operation whose kernel needs nothing but its attributes (no parameters to convert: an activation, a padding, a
/// reduction) is its own prepared kernel, rather than a copy of its attributes in a `Prepared` struct.
public protocol SelfPreparedOperation: LayerOperation, PreparedOperation {}

extension SelfPreparedOperation {
    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation { self }
}

/// A kernel that maps each element of its one input to the output element at the same place (a batch
/// normalisation over the last axis, an elementwise activation): the engine may apply it in place, on the value its
/// input layer just produced when nothing else reads that value, instead of into a new value (a run-time fusion with
/// the layer before; the same arithmetic, element for element).
public protocol InPlaceOperation: PreparedOperation {
    /// Applies the kernel to `value` in place; false (and `value` unchanged) where this layer cannot for `value`'s
    /// shape, so the engine applies it the ordinary way.
    func applyInPlace(_ value: inout FloatTensor) -> Bool
}

/// An `InPlaceOperation` that can also run on part of a channels-last value, a block of whole rows at a time, element
/// for element as `applyInPlace` computes it: the engine fuses it into the layer before (`EpilogueProducing`), which
/// applies it to each block of its output while the block is in cache, instead of in a pass of its own over the
/// whole value.
public protocol EpilogueOperation: InPlaceOperation {
    /// Whether `applyInPlace(_:count:channels:)` computes this layer for a value of `shape`.
    func fuses(shape: [Int]) -> Bool
    /// A rough count of operations one element costs (1 for a scale or a clip, 32 for a function that calls `exp`),
    /// for deciding when a pass pays for a second thread.
    var elementWork: Int { get }
    /// Applies the kernel in place to the `count` elements at `base`: whole rows of the last axis, `channels` values
    /// each, the first element a row's first.
    func applyInPlace(_ base: UnsafeMutablePointer<Float>, count: Int, channels: Int)
    /// The kernel as one operation on each element of a known channel, when it is one (a scale and offset, a clamp),
    /// for a product's kernel to apply in its registers: the same arithmetic as `applyInPlace`. Nil by default.
    var columnStep: ColumnStep? { get }
}

extension EpilogueOperation {
    public var columnStep: ColumnStep? { nil }
}

extension EpilogueOperation {
    /// The whole value, when `fuses(shape:)` accepts its shape; as `applyInPlace(_:count:channels:)` computes it.
    public func applyInPlace(_ value: inout FloatTensor) -> Bool {
        guard fuses(shape: value.shape) else { return false }
        Epilogue([self]).apply(to: &value.values, channels: value.lastDimension)
        return true
    }
}

/// The layers the engine fuses into the one before them at run time (`Engine.run`: only for values no one else
/// reads), applied in order to each block of that layer's output.
public struct Epilogue: Sendable {
    let operations: [any EpilogueOperation]

    init(_ operations: [any EpilogueOperation]) { self.operations = operations }

    static let none = Epilogue([])

    var isEmpty: Bool { operations.isEmpty }

    /// What one element costs, summed over the operations (`EpilogueOperation.elementWork`).
    var elementWork: Int { operations.reduce(0) { $0 + $1.elementWork } }

    /// The rows of one block: about 2 K floats, which stay in the L1 cache from one operation to the next.
    private static func blockRows(channels: Int) -> Int { max(1, 2048 / max(channels, 1)) }

    /// Every operation, in order, on the `count` elements at `base` (whole rows of `channels`), block by block.
    func apply(_ base: UnsafeMutablePointer<Float>, count: Int, channels: Int) {
        guard !operations.isEmpty, channels > 0 else { return }
        let block = Self.blockRows(channels: channels) * channels
        var start = 0
        while start < count {
            let length = min(block, count - start)
            for operation in operations { operation.applyInPlace(base + start, count: length, channels: channels) }
            start += length
        }
    }

    /// `apply` over all of `values`, its blocks split over the cores when the work pays for it.
    func apply(to values: inout [Float], channels: Int) {
        guard !operations.isEmpty, channels > 0 else { return }
        let rows = values.count / channels
        let work = values.count * elementWork
        values.withUnsafeMutableBufferPointer { values in
            guard let base = values.baseAddress else { return }
            let shared = EpilogueTarget(base: base)
            let chunks = min(rows, Parallel.cores * 4)
            Parallel.forEach(chunks, work: work) { chunk in
                let first = chunk * rows / chunks
                let end = (chunk + 1) * rows / chunks
                self.apply(shared.base + first * channels, count: (end - first) * channels, channels: channels)
            }
        }
    }
}

/// The value an epilogue's parallel chunks each write a disjoint part of.
private struct EpilogueTarget: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
}

/// A kernel that finishes its output with an `Epilogue` (the layers after it the engine fused into it), block by
/// block as it writes the output where it can; the same values as the epilogue's layers applied after it.
public protocol EpilogueProducing: PreparedOperation {
    /// `apply(_:outputShape:workspace:)`, then `epilogue` over the output (channels last).
    func apply(_ inputs: [FloatTensor], outputShape: [Int], workspace: Workspace, epilogue: Epilogue) -> FloatTensor
}

/// A kernel that adds zeros around the height and width of an NHWC value and nothing else (`ZeroPadding2D`): the
/// engine may leave the padding to the window layer after it (`PaddingAbsorbing`), which reads the taps outside the
/// image as the zeros they would be.
public protocol ZeroPaddingKernel: PreparedOperation {
    var edges: EdgeAmounts { get }
}

/// A window kernel over an NHWC value that can take its input unpadded and the zeros around it as window padding
/// (`ZeroPaddingKernel`), leaving out the taps on them: each sum then lacks only terms `0·w`, so the values are those
/// of the padded input, up to the sign of a zero.
public protocol PaddingAbsorbing: EpilogueProducing {
    /// Whether this kernel computes a layer reading `edges`' padding of its input this way.
    func absorbs(_ edges: EdgeAmounts) -> Bool
    /// `apply(_:outputShape:workspace:epilogue:)` on `inputs` padded with zeros by `edges`.
    func apply(
        _ inputs: [FloatTensor], padded edges: EdgeAmounts, outputShape: [Int], workspace: Workspace,
        epilogue: Epilogue
    ) -> FloatTensor
}

extension PreparedOperation {
    /// A kernel without temporaries of its own ignores the workspace.
    public func apply(_ inputs: [FloatTensor], outputShape: [Int], workspace: Workspace) -> FloatTensor {
        apply(inputs, outputShape: outputShape)
    }
}

/// A parameter an operation owns: `kernel`, `bias`, `moving_mean`, ….
public struct ParameterSlot: Sendable, Equatable {
    public var name: String
    public var isRequired: Bool
    /// A per-channel vector (`bias`, `gamma`, …): stored 1-D whatever shape of one axis the source gives it.
    public var isVector: Bool

    public static func required(_ name: String, vector: Bool = false) -> ParameterSlot {
        ParameterSlot(name: name, isRequired: true, isVector: vector)
    }

    public static func optional(_ name: String, vector: Bool = false) -> ParameterSlot {
        ParameterSlot(name: name, isRequired: false, isVector: vector)
    }
}

/// A layer's parameters, as `prepare` reads them.
public struct ParameterValues {
    let tensors: (String) -> Tensor?

    public init(_ tensors: @escaping (String) -> Tensor?) { self.tensors = tensors }

    /// A parameter `outputShape` required: present by then.
    public func required(_ name: String) -> Tensor {
        guard let tensor = tensors(name) else { preconditionFailure("checked parameter '\(name)' vanished") }
        return tensor
    }

    public func floats(_ name: String) -> [Float]? { tensors(name)?.floatValues() }
}

/// The shape of a value between layers while a model is planned: dimensions may be unknown (`nil`, the batch), and
/// for a source that does not say its input's rank (a spec), only the trailing dimensions are known.
public struct ValueShape: Sendable, Equatable, CustomStringConvertible {
    /// The known dimensions; with `rankKnown` false, the trailing ones.
    public var dims: [Int?]
    public var rankKnown: Bool

    public init(_ dims: [Int?], rankKnown: Bool = true) {
        self.dims = dims
        self.rankKnown = rankKnown
    }

    public init(concrete: [Int]) { self.init(concrete.map { $0 }) }

    /// Nothing known: not even the rank.
    public static let unknown = ValueShape([], rankKnown: false)

    /// Every dimension, when all are known.
    public var concrete: [Int]? {
        guard rankKnown else { return nil }
        let known = dims.compactMap { $0 }
        return known.count == dims.count ? known : nil
    }

    public var rank: Int? { rankKnown ? dims.count : nil }

    /// The last dimension, when known.
    public var lastDimension: Int? { dims.last ?? nil }

    /// The shape with its last dimension replaced (appended when the rank is unknown and nothing is known).
    public func replacingLast(with value: Int?) -> ValueShape {
        var shape = self
        if shape.dims.isEmpty { shape.dims = [value] } else { shape.dims[shape.dims.count - 1] = value }
        return shape
    }

    /// The shape read as `rank` dimensions: known ones where given, nil elsewhere; nil when the known rank differs.
    public func aligned(toRank rank: Int) -> [Int?]? {
        if rankKnown { return dims.count == rank ? dims : nil }
        guard dims.count <= rank else { return nil }
        return [Int?](repeating: nil, count: rank - dims.count) + dims
    }

    public var description: String {
        let text = dims.map { $0.map(String.init) ?? "?" }
        return "[" + (rankKnown ? text : ["…"] + text).joined(separator: ", ") + "]"
    }
}

/// Why a layer cannot be built or run, without the layer's name (the caller adds it).
public enum LayerProblem: Error, Equatable, CustomStringConvertible {
    /// An attribute out of range: `strides [0, 0]: must be positive`.
    case attribute(String, value: String, reason: String)
    case missingParameter(String)
    case parameterShape(String, expected: String, actual: [Int])
    case inputShape(expected: String, actual: String)
    case inputCount(expected: String, actual: Int)
    /// A derived size beyond what the engine computes (`Limits.elements`) or than an `Int` holds.
    case tooLarge(String)

    public var description: String {
        switch self {
        case .attribute(let name, let value, let reason): "\(name) \(value): \(reason)"
        case .missingParameter(let name): "parameter '\(name)' is missing"
        case .parameterShape(let name, let expected, let actual):
            "parameter '\(name)' has shape \(Shape.describe(actual)), expected \(expected)"
        case .inputShape(let expected, let actual): "input has shape \(actual), expected \(expected)"
        case .inputCount(let expected, let actual): "takes \(expected) inputs, has \(actual)"
        case .tooLarge(let what): what
        }
    }

    /// `attribute` with the value printed as a list: `strides [0, 0]`.
    static func attribute(_ name: String, _ values: [Int], _ reason: String) -> LayerProblem {
        .attribute(name, value: Shape.describe(values), reason: reason)
    }
}

/// The engine's bounds on what a model file may ask of it.
public enum Limits {
    /// The largest kernel size, stride, dilation, pool size, padding or crop an operation accepts: far beyond any
    /// network's, small enough that window arithmetic on any representable input stays within `Int`.
    public static let spatialExtent = 1 << 16
    /// The most elements one value (a layer's output or a kernel's work buffer) may hold: 4 GiB of float32.
    public static let elements = 1 << 30
}

/// Overflow-checked arithmetic for sizes derived from file contents.
public enum Checked {
    /// The product of `values`, or nil when it overflows `Int` or a factor is negative (`Shape.elementCount`'s rule).
    public static func product(_ values: [Int]) -> Int? { Shape.elementCount(values) }

    /// Throws `tooLarge` unless a value of `dims` elements fits `Limits.elements`; unknown dimensions are skipped.
    public static func elementCount(_ dims: [Int?], _ what: @autoclosure () -> String) throws(LayerProblem) {
        guard let count = product(dims.compactMap { $0 }), count <= Limits.elements else {
            throw .tooLarge(
                "\(what()) of shape \(ValueShape(dims)) would hold more than \(Limits.elements) elements")
        }
    }

    /// `a + b`, throwing `tooLarge` past `Limits.elements`.
    public static func sum(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws(LayerProblem) -> Int {
        let (value, overflow) = a.addingReportingOverflow(b)
        guard !overflow, value <= Limits.elements else { throw .tooLarge("\(what()) is too large") }
        return value
    }
}

/// Attribute checks shared by the operations.
enum Attribute {
    /// `values` must hold `count` integers in `range`.
    static func check(
        _ name: String, _ values: [Int], count: Int, in range: ClosedRange<Int>, _ reason: String
    ) throws(LayerProblem) {
        guard values.count == count else {
            throw .attribute(name, values, "must be \(count) integers")
        }
        guard values.allSatisfy(range.contains) else { throw .attribute(name, values, reason) }
    }

    /// A spatial extent list (kernel size, strides, dilation, pool size): `count` values in 1…`Limits.spatialExtent`.
    static func positive(_ name: String, _ values: [Int], count: Int = 2) throws(LayerProblem) {
        try check(
            name, values, count: count, in: 1...Limits.spatialExtent,
            "must be positive and at most \(Limits.spatialExtent)")
    }

    /// Padding or cropping amounts: `count` values in 0…`Limits.spatialExtent`.
    static func nonNegative(_ name: String, _ values: [Int], count: Int) throws(LayerProblem) {
        try check(
            name, values, count: count, in: 0...Limits.spatialExtent,
            "must be non-negative and at most \(Limits.spatialExtent)")
    }

    /// A finite number.
    static func finite(_ name: String, _ value: Double, nonNegative: Bool = false) throws(LayerProblem) {
        guard value.isFinite, !nonNegative || value >= 0 else {
            throw .attribute(
                name, value: "\(value)", reason: nonNegative ? "must be finite and >= 0" : "must be finite")
        }
    }

    /// An axis of a rank-`rank` value (negative counts from the end), normalised to 0..<rank.
    static func axis(_ name: String, _ axis: Int, rank: Int) throws(LayerProblem) -> Int {
        let normalised = axis < 0 ? axis + rank : axis
        guard normalised >= 0, normalised < rank else {
            throw .attribute(name, value: "\(axis)", reason: "is not an axis of a rank-\(rank) input")
        }
        return normalised
    }

    /// An activation a layer fuses after its own computation: one that keeps the shape (not `glu`).
    static func fused(_ activation: Activation) throws(LayerProblem) {
        guard activation.preservesShape else {
            throw .attribute(
                "activation", value: "'\(activation.name)'",
                reason: "changes the shape; only an activation layer applies it")
        }
    }

    /// A list of axes (negative counting from the end), each plausible; empty only with `allowEmpty`.
    static func axes(_ name: String, _ values: [Int], allowEmpty: Bool) throws(LayerProblem) {
        guard values.count <= 64, allowEmpty || !values.isEmpty else {
            throw .attribute(name, values, allowEmpty ? "names more axes than a tensor has" : "must name an axis")
        }
        for value in values { try plausibleAxis(name, value) }
    }

    /// `values` as distinct axes of a rank-`rank` value, normalised to 0..<rank and sorted.
    static func normalizedAxes(_ name: String, _ values: [Int], rank: Int) throws(LayerProblem) -> [Int] {
        var axes: [Int] = []
        for value in values { axes.append(try axis(name, value, rank: rank)) }
        guard Set(axes).count == axes.count else { throw .attribute(name, values, "names an axis twice") }
        return axes.sorted()
    }

    /// An axis must be small enough that a rank could have it (before the rank is known).
    static func plausibleAxis(_ name: String, _ axis: Int) throws(LayerProblem) {
        guard (-64...64).contains(axis) else {
            throw .attribute(name, value: "\(axis)", reason: "is not an axis of any tensor (rank is at most 64)")
        }
    }
}

/// Parameter shape checks shared by the operations.
enum ParameterShape {
    /// A product layer's output: `x` with its last axis `channels` wide, after checking the optional `bias` (one value
    /// per output channel) and that the output's element count fits.
    static func productOutput(_ x: ValueShape, channels: Int, _ parameter: (String) -> [Int]?) throws(LayerProblem)
        -> ValueShape
    {
        try vector("bias", length: channels, parameter)
        let y = x.replacingLast(with: channels)
        try Checked.elementCount(y.dims, "the output")
        return y
    }

    /// The shape of required parameter `name`, with no zero dimension.
    static func required(_ name: String, _ parameter: (String) -> [Int]?) throws(LayerProblem) -> [Int] {
        guard let shape = parameter(name) else { throw .missingParameter(name) }
        try nonEmpty(name, shape)
        return shape
    }

    static func nonEmpty(_ name: String, _ shape: [Int]) throws(LayerProblem) {
        guard !shape.contains(0), Checked.product(shape) != nil else {
            throw .parameterShape(name, expected: "a tensor with elements", actual: shape)
        }
    }

    /// Optional parameter `name`, when present, must hold `length` values along one axis (`[length]`, `[1, length]`).
    static func vector(
        _ name: String, length: Int, _ parameter: (String) -> [Int]?, required: Bool = false
    ) throws(LayerProblem) {
        guard let shape = parameter(name) else {
            if required { throw .missingParameter(name) }
            return
        }
        guard Checked.product(shape) == length, shape.filter({ $0 != 1 }).count <= 1 else {
            throw .parameterShape(name, expected: "[\(length)]", actual: shape)
        }
    }
}

/// An NHWC image shape as far as it is known.
struct ImageDims {
    var batch: Int?
    var height: Int?
    var width: Int?
    var channels: Int?

    /// `shape` read as `[N, H, W, C]`; throws when its rank is known and not 4, or `channels` disagrees.
    init(_ shape: ValueShape, channels expected: Int? = nil) throws(LayerProblem) {
        guard let dims = shape.aligned(toRank: 4) else {
            throw .inputShape(expected: "[N, H, W, \(expected.map(String.init) ?? "C")] (NHWC)", actual: "\(shape)")
        }
        (batch, height, width, channels) = (dims[0], dims[1], dims[2], dims[3])
        if let expected, let channels, channels != expected {
            throw .inputShape(expected: "[N, H, W, \(expected)] (NHWC)", actual: "\(shape)")
        }
    }

    var shape: ValueShape { ValueShape([batch, height, width, channels]) }
}
