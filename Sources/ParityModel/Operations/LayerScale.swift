/// `x * gamma` over the last axis (`gamma [C]`), ConvNeXt's `LayerScale`.
public struct LayerScale: LayerOperation {
    public static let typeName = "layer_scale"

    public init() {}

    public var parameters: [ParameterSlot] { [.required("gamma", vector: true)] }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let gamma = try ParameterShape.required("gamma", parameter)
        guard let length = Checked.product(gamma), gamma.filter({ $0 != 1 }).count <= 1 else {
            throw .parameterShape("gamma", expected: "[channels]", actual: gamma)
        }
        let x = inputs[0]
        guard x.rank != 0 else { throw .inputShape(expected: "[…, \(length)]", actual: "\(x)") }
        if let channels = x.lastDimension, channels != length {
            throw .inputShape(expected: "[…, \(length)] for gamma", actual: "\(x)")
        }
        return x
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared(gamma: parameters.required("gamma").floatValues())
    }

    struct Prepared: PreparedOperation {
        let gamma: [Float]

        /// `|gamma|·b + u·|y|` per channel (the last axis).
        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            let channels = gamma.count
            return output.values.indices.map { i in
                abs(gamma[i % channels]) * (inputBounds?[0][i] ?? 0) + u * abs(output.values[i])
            }
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            var y = inputs[0]
            let channels = gamma.count
            y.values.withUnsafeMutableBufferPointer { y in
                for start in stride(from: 0, to: y.count, by: channels) {
                    for c in 0..<channels { y[start + c] *= gamma[c] }
                }
            }
            return y
        }
    }
}
