import Foundation

/// A binary arithmetic operation, TensorFlow's `tf.math.add` … `tf.math.minimum` and Keras 3's `ops.add` …: of two
/// inputs (NumPy broadcasting), or of one input and a scalar constant on either side (`x - 1`, `1 - x`).
///
/// Computed in float32 exactly as TensorFlow does: one rounding per element (`x / 3` divides, it does not multiply
/// by a rounded reciprocal).
public struct Elementwise: SelfPreparedOperation {
    public static let typeName = "elementwise"
    public static var inputCount: ClosedRange<Int> { 1...2 }

    public enum Function: String, Sendable, Codable, CaseIterable {
        case add, subtract, multiply, divide, maximum, minimum

        func apply(_ a: Float, _ b: Float) -> Float {
            switch self {
            case .add: a + b
            case .subtract: a - b
            case .multiply: a * b
            case .divide: a / b
            case .maximum: Self.maximum(a, b)
            case .minimum: Self.minimum(a, b)
            }
        }

        // TensorFlow's Maximum/Minimum propagate NaN.
        @inline(__always) static func maximum(_ a: Float, _ b: Float) -> Float {
            a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
        }

        @inline(__always) static func minimum(_ a: Float, _ b: Float) -> Float {
            a.isNaN || b.isNaN ? .nan : Swift.min(a, b)
        }

        /// `inputs` combined left to right by this function (NumPy broadcasting, `ShapeKernels.combine`). The switch
        /// is outside the loop, each case a literal closure the kernel is specialised for: a stored closure (or a
        /// switch) called per element kept the residual adds of a ResNet from being a vector loop.
        func combine(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            switch self {
            case .add: ShapeKernels.combine(inputs, outputShape: outputShape) { $0 + $1 }
            case .subtract: ShapeKernels.combine(inputs, outputShape: outputShape) { $0 - $1 }
            case .multiply: ShapeKernels.combine(inputs, outputShape: outputShape) { $0 * $1 }
            case .divide: ShapeKernels.combine(inputs, outputShape: outputShape) { $0 / $1 }
            case .maximum: ShapeKernels.combine(inputs, outputShape: outputShape) { Self.maximum($0, $1) }
            case .minimum: ShapeKernels.combine(inputs, outputShape: outputShape) { Self.minimum($0, $1) }
            }
        }

        /// The bound of `a op b` from the operands' bounds (`RoundingBound`): sums and differences add them (with
        /// `u` of the operands, as cancellation leaves it), products and quotients take the first- and second-order
        /// terms, maximum and minimum pass the larger.
        func bound(_ a: Float, _ ba: Float, _ b: Float, _ bb: Float, _ y: Float, _ u: Float) -> Float {
            switch self {
            case .add, .subtract: ba + bb + u * (Swift.abs(a) + Swift.abs(b))
            case .multiply: Swift.abs(b) * ba + Swift.abs(a) * bb + ba * bb + u * Swift.abs(y)
            case .divide:
                // |Δ(a/b)| ≤ (|Δa| + |y|·|Δb|) / (|b| − |Δb|) while |Δb| < |b|.
                Swift.abs(b) > bb ? (ba + Swift.abs(y) * bb) / (Swift.abs(b) - bb) + u * Swift.abs(y) : .infinity
            case .maximum, .minimum: Swift.max(ba, bb)
            }
        }
    }

    /// A scalar operand, and the side of the operation it stands on.
    public struct Scalar: Sendable, Equatable {
        public var value: Float
        /// True when the scalar is the left operand (`constant - x`).
        public var isFirst: Bool
    }

    public var function: Function
    /// The scalar operand, for a layer of one input; nil for two inputs (which have no side to choose).
    public var scalar: Scalar?

    public init(_ function: Function, constant: Float? = nil, constantFirst: Bool = false) {
        self.function = function
        scalar = constant.map { Scalar(value: $0, isFirst: constantFirst) }
    }

    /// The scalar operand's value (the model file's `constant`).
    public var constant: Float? { scalar?.value }
    /// Whether the scalar is the left operand (the model file's `constant_first`); false for two inputs.
    public var constantFirst: Bool { scalar?.isFirst ?? false }

    enum CodingKeys: String, CodingKey {
        case function, constant
        case constantFirst = "constant_first"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            try container.decode(Function.self, forKey: .function),
            constant: try container.decodeIfPresent(Float.self, forKey: .constant),
            constantFirst: try container.decodeIfPresent(Bool.self, forKey: .constantFirst) ?? false)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(function, forKey: .function)
        if let scalar {
            try container.encode(scalar.value, forKey: .constant)
            try container.encode(scalar.isFirst, forKey: .constantFirst)
        }
    }

    public func validate() throws(LayerProblem) {
        if let constant { try Attribute.finite("constant", Double(constant)) }
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let expected = scalar == nil ? 2 : 1
        guard inputs.count == expected else { throw .inputCount(expected: "\(expected)", actual: inputs.count) }
        return try ShapeKernels.broadcastShape(inputs)
    }

    public func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        let function = function
        guard let scalar else {
            return function.combine(inputs, outputShape: outputShape)
        }
        let c = scalar.value
        let values =
            scalar.isFirst
            ? inputs[0].values.map { function.apply(c, $0) } : inputs[0].values.map { function.apply($0, c) }
        return FloatTensor(shape: outputShape, values: values)
    }

    public func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
        -> [Float]
    {
        let x = inputs[0]
        let bx = inputBounds?[0] ?? [Float](repeating: 0, count: x.count)
        guard let scalar else {
            let shape = output.shape
            let a = ShapeKernels.expand(x, to: shape)
            let ba = ShapeKernels.expand(FloatTensor(shape: x.shape, values: bx), to: shape)
            let b = ShapeKernels.expand(inputs[1], to: shape)
            let bb = ShapeKernels.expand(
                FloatTensor(
                    shape: inputs[1].shape,
                    values: inputBounds?[1] ?? [Float](repeating: 0, count: inputs[1].count)), to: shape)
            return (0..<output.count).map { i in
                function.bound(a.values[i], ba.values[i], b.values[i], bb.values[i], output.values[i], u)
            }
        }
        let c = scalar.value
        return (0..<output.count).map { i in
            scalar.isFirst
                ? function.bound(c, 0, x.values[i], bx[i], output.values[i], u)
                : function.bound(x.values[i], bx[i], c, 0, output.values[i], u)
        }
    }
}
