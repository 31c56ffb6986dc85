import TensorCore

/// `[N, …]` → `[N] + target_shape`; one entry may be -1 (whatever the other entries leave).
public struct Reshape: LayerOperation {
    public static let typeName = "reshape"
    public var targetShape: [Int]

    public init(targetShape: [Int]) { self.targetShape = targetShape }

    enum CodingKeys: String, CodingKey { case targetShape = "target_shape" }

    public func validate() throws(LayerProblem) {
        guard targetShape.count <= 63, targetShape.allSatisfy({ $0 >= -1 && $0 != 0 }),
            targetShape.filter({ $0 == -1 }).count <= 1
        else {
            throw .attribute("target_shape", targetShape, "must be positive sizes with at most one -1")
        }
        guard let known = Checked.product(targetShape.filter { $0 != -1 }), known <= Limits.elements else {
            throw .attribute("target_shape", targetShape, "holds more than \(Limits.elements) elements")
        }
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let x = inputs[0]
        guard x.rank != 0 else { throw .inputShape(expected: "[N, …]", actual: "\(x)") }
        let batch = x.rankKnown ? x.dims[0] : nil
        let rest = x.rankKnown ? Array(x.dims.dropFirst()) : []
        let restKnown = rest.compactMap { $0 }
        guard x.rankKnown, restKnown.count == rest.count, let perSample = Checked.product(restKnown) else {
            return ValueShape([batch] + targetShape.map { $0 == -1 ? nil : $0 })
        }
        var shape = targetShape
        let known = Checked.product(targetShape.filter { $0 != -1 }) ?? 0
        if let unknown = targetShape.firstIndex(of: -1), known > 0, perSample % known == 0 {
            shape[unknown] = perSample / known
        }
        guard shape.allSatisfy({ $0 > 0 }), Checked.product(shape) == perSample else {
            throw .inputShape(
                expected: "\(perSample) values per sample to fit \(Shape.describe(targetShape))", actual: "\(x)")
        }
        return ValueShape([batch] + shape.map { $0 })
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Reshaped()
    }
}
