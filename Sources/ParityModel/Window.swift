/// How a window is placed over the input: TensorFlow's `VALID` (no padding) or `SAME` (output size
/// `ceil(input / stride)`, padding split with the extra element at the bottom/right).
public enum Padding: String, Sendable, Equatable, Codable {
    case valid
    case same
}

/// One spatial axis of a window op: its output size and the padding before the first element.
struct WindowAxis {
    var output: Int
    var padBefore: Int

    /// TensorFlow's rule: `VALID` gives `(input - effective) / stride + 1`; `SAME` gives `ceil(input / stride)`
    /// and pads `max((output - 1) * stride + effective - input, 0)`, the odd element after (bottom/right).
    /// Arguments are within `Limits` (validated attributes, checked shapes), so nothing here overflows; nil when a
    /// `VALID` window does not fit.
    init?(input: Int, kernel: Int, stride: Int, dilation: Int, padding: Padding) {
        let effective = (kernel - 1) * dilation + 1
        switch padding {
        case .valid:
            guard input >= effective else { return nil }
            output = (input - effective) / stride + 1
            padBefore = 0
        case .same:
            output = (input + stride - 1) / stride
            padBefore = max((output - 1) * stride + effective - input, 0) / 2
        }
    }

    /// The output sizes of a window over height and width, unknown where the input's are; throws when a `VALID`
    /// window is larger than the input.
    static func outputs(
        _ image: ImageDims, kernel: [Int], strides: [Int], dilation: [Int], padding: Padding, input: ValueShape
    ) throws(LayerProblem) -> (height: Int?, width: Int?) {
        func axis(_ size: Int?, _ i: Int) throws(LayerProblem) -> Int? {
            guard let size else { return nil }
            guard
                let axis = WindowAxis(
                    input: size, kernel: kernel[i], stride: strides[i], dilation: dilation[i], padding: padding)
            else {
                throw .inputShape(
                    expected: "height and width at least the \(kernel[0])×\(kernel[1]) window"
                        + (dilation == [1, 1] ? "" : " (dilation \(dilation[0])×\(dilation[1]))"),
                    actual: "\(input)")
            }
            return axis.output
        }
        return (try axis(image.height, 0), try axis(image.width, 1))
    }
}

/// The window geometry of a 2-D convolution over an NHWC input (model-file attributes `kernel_size`, `strides`,
/// `padding`, `dilation_rate`).
public struct Convolution2D: Sendable, Equatable, Codable {
    /// `[height, width]` of the kernel.
    public var kernelSize: [Int]
    public var strides: [Int]
    public var padding: Padding
    public var dilation: [Int]

    public init(kernelSize: [Int], strides: [Int] = [1, 1], padding: Padding = .valid, dilation: [Int] = [1, 1]) {
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.dilation = dilation
    }

    enum CodingKeys: String, CodingKey {
        case kernelSize = "kernel_size"
        case strides, padding
        case dilation = "dilation_rate"
    }

    func validate() throws(LayerProblem) {
        try Attribute.positive("kernel_size", kernelSize)
        try Attribute.positive("strides", strides)
        try Attribute.positive("dilation_rate", dilation)
    }

    /// The output's height and width over `image`.
    func outputs(_ image: ImageDims, input: ValueShape) throws(LayerProblem) -> (height: Int?, width: Int?) {
        try WindowAxis.outputs(
            image, kernel: kernelSize, strides: strides, dilation: dilation, padding: padding, input: input)
    }

    /// A kernel `[kh, kw, in, last]` of this geometry (`last` nil: any).
    func checkKernel(_ name: String, _ shape: [Int], last: Int? = nil) throws(LayerProblem) {
        guard shape.count == 4, shape[0] == kernelSize[0], shape[1] == kernelSize[1],
            last.map({ shape[3] == $0 }) ?? true
        else {
            throw .parameterShape(
                name, expected: "[\(kernelSize[0]), \(kernelSize[1]), in, \(last.map(String.init) ?? "out")]",
                actual: shape)
        }
    }
}

/// The window geometry of a 2-D pooling over an NHWC input (attributes `pool_size`, `strides`, `padding`): a
/// convolution's window (`Convolution2D`) of size `pool_size`, undilated, so the two place their windows by one rule.
public struct Pooling2D: Sendable, Equatable, Codable {
    /// The window, its `kernelSize` the pool size and its dilation 1.
    public var window: Convolution2D

    public init(poolSize: [Int], strides: [Int], padding: Padding) {
        window = Convolution2D(kernelSize: poolSize, strides: strides, padding: padding)
    }

    public var poolSize: [Int] { window.kernelSize }
    public var strides: [Int] { window.strides }
    public var padding: Padding { window.padding }

    enum CodingKeys: String, CodingKey {
        case poolSize = "pool_size"
        case strides, padding
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            poolSize: try container.decode([Int].self, forKey: .poolSize),
            strides: try container.decode([Int].self, forKey: .strides),
            padding: try container.decode(Padding.self, forKey: .padding))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(poolSize, forKey: .poolSize)
        try container.encode(strides, forKey: .strides)
        try container.encode(padding, forKey: .padding)
    }

    func validate() throws(LayerProblem) {
        try Attribute.positive("pool_size", poolSize)
        try Attribute.positive("strides", strides)
    }

    func outputShape(_ input: ValueShape) throws(LayerProblem) -> ValueShape {
        let image = try ImageDims(input)
        let (height, width) = try window.outputs(image, input: input)
        return ValueShape([image.batch, height, width, image.channels])
    }
}

/// The attributes every plain convolution has: its window, fused activation and `groups`.
public struct GroupedConvolutionAttributes<Geometry: Codable & Sendable & Equatable>: Sendable, Equatable {
    public var geometry: Geometry
    public var activation: Activation
    public var groups: Int
}

/// What the plain convolutions (`Conv2D`, `Conv1D`) share: their `GroupedConvolutionAttributes` (stored, initialised
/// and decoded here once rather than in each operation) as flat attributes; a record without `groups` means 1.
public protocol GroupedConvolutionOperation: LayerOperation {
    associatedtype Geometry: Codable & Sendable & Equatable
    var attributes: GroupedConvolutionAttributes<Geometry> { get }
    init(attributes: GroupedConvolutionAttributes<Geometry>)
}

enum GroupedConvolutionCodingKeys: String, CodingKey { case activation, groups }

extension GroupedConvolutionOperation {
    public init(_ geometry: Geometry, activation: Activation = .linear, groups: Int = 1) {
        self.init(attributes: GroupedConvolutionAttributes(geometry: geometry, activation: activation, groups: groups))
    }

    public var geometry: Geometry { attributes.geometry }
    public var activation: Activation { attributes.activation }
    public var groups: Int { attributes.groups }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: GroupedConvolutionCodingKeys.self)
        self.init(
            try Geometry(from: decoder), activation: try container.decode(Activation.self, forKey: .activation),
            groups: try container.decodeIfPresent(Int.self, forKey: .groups) ?? 1)
    }
}

/// The attributes every depthwise convolution has: its window, `depth_multiplier` and fused activation, flat in the
/// model file's `attributes` (the geometry's keys beside `depth_multiplier` and `activation`).
public struct DepthwiseAttributes<Geometry: Codable & Sendable & Equatable>: Sendable, Equatable, Codable {
    public var geometry: Geometry
    public var depthMultiplier: Int
    public var activation: Activation

    public init(_ geometry: Geometry, depthMultiplier: Int, activation: Activation) {
        self.geometry = geometry
        self.depthMultiplier = depthMultiplier
        self.activation = activation
    }

    private enum CodingKeys: String, CodingKey {
        case activation
        case depthMultiplier = "depth_multiplier"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            try Geometry(from: decoder), depthMultiplier: try container.decode(Int.self, forKey: .depthMultiplier),
            activation: try container.decode(Activation.self, forKey: .activation))
    }

    public func encode(to encoder: any Encoder) throws {
        try geometry.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(depthMultiplier, forKey: .depthMultiplier)
        try container.encode(activation, forKey: .activation)
    }
}

/// What the depthwise convolutions (`DepthwiseConv2D`, `SeparableConv2D` and their 1-D forms) share: their
/// `DepthwiseAttributes` (stored, initialised and coded here once rather than in each operation), and (2-D; the 1-D
/// forms validate as their planar forms) the validation of those.
public protocol DepthwiseConvolutionOperation: LayerOperation {
    associatedtype Geometry: Codable & Sendable & Equatable
    var attributes: DepthwiseAttributes<Geometry> { get set }
    init(attributes: DepthwiseAttributes<Geometry>)
}

extension DepthwiseConvolutionOperation where Geometry == Convolution2D {
    public func validate() throws(LayerProblem) {
        try geometry.validate()
        try Attribute.positive("depth_multiplier", [depthMultiplier], count: 1)
        try Attribute.fused(activation)
    }
}

extension DepthwiseConvolutionOperation {
    public init(_ geometry: Geometry, depthMultiplier: Int = 1, activation: Activation = .linear) {
        self.init(attributes: DepthwiseAttributes(geometry, depthMultiplier: depthMultiplier, activation: activation))
    }

    public var geometry: Geometry {
        get { attributes.geometry }
        set { attributes.geometry = newValue }
    }

    public var depthMultiplier: Int {
        get { attributes.depthMultiplier }
        set { attributes.depthMultiplier = newValue }
    }

    public var activation: Activation {
        get { attributes.activation }
        set { attributes.activation = newValue }
    }

    public init(from decoder: any Decoder) throws { self.init(attributes: try DepthwiseAttributes(from: decoder)) }

    public func encode(to encoder: any Encoder) throws { try attributes.encode(to: encoder) }
}

/// What the edge operations (`ZeroPadding2D`, `Cropping2D`) share: four amounts at the edges of height and width,
/// stored as one list `[top, bottom, left, right]` under the operation's `attributeKey`, each in
/// 0…`Limits.spatialExtent`. The output shape is the input's with each of height and width passed through `extent`.
public protocol EdgeAmountOperation: LayerOperation {
    static var attributeKey: String { get }
    var edges: EdgeAmounts { get }
    init(_ edges: EdgeAmounts)
    /// The output's size along one axis of the input; `input` is the whole input shape, for errors.
    func extent(_ edge: EdgeAxis, input: ValueShape) throws(LayerProblem) -> Int
}

/// One spatial axis of an edge operation's input: which it is, its size, and the amounts at its two edges.
public struct EdgeAxis: Sendable {
    /// `height` or `width`, the word errors use.
    public var name: String
    /// What the axis counts: `rows` of a height, `columns` of a width.
    public var lines: String
    public var size: Int
    /// The amounts at the top and bottom, or at the left and right.
    public var before: Int
    public var after: Int
}

/// Rows above and below, columns left and right of an image.
public struct EdgeAmounts: Sendable, Equatable {
    public var top: Int
    public var bottom: Int
    public var left: Int
    public var right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        (self.top, self.bottom, self.left, self.right) = (top, bottom, left, right)
    }
}

private struct EdgeKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension EdgeAmountOperation {
    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.init(EdgeAmounts(top: top, bottom: bottom, left: left, right: right))
    }

    public var top: Int { edges.top }
    public var bottom: Int { edges.bottom }
    public var left: Int { edges.left }
    public var right: Int { edges.right }

    public func validate() throws(LayerProblem) {
        try Attribute.nonNegative(Self.attributeKey, [top, bottom, left, right], count: 4)
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        var image = try ImageDims(inputs[0])
        if let height = image.height {
            let axis = EdgeAxis(name: "height", lines: "rows", size: height, before: top, after: bottom)
            image.height = try extent(axis, input: inputs[0])
        }
        if let width = image.width {
            let axis = EdgeAxis(name: "width", lines: "columns", size: width, before: left, after: right)
            image.width = try extent(axis, input: inputs[0])
        }
        try Checked.elementCount(image.shape.dims, "the output")
        return image.shape
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: EdgeKey.self)
        let key = EdgeKey(stringValue: Self.attributeKey)
        let values = try container.decode([Int].self, forKey: key)
        guard values.count == 4 else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: container, debugDescription: "needs [top, bottom, left, right]")
        }
        self.init(top: values[0], bottom: values[1], left: values[2], right: values[3])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: EdgeKey.self)
        try container.encode([top, bottom, left, right], forKey: EdgeKey(stringValue: Self.attributeKey))
    }
}
