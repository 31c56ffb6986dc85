/// Passes its input through unchanged: what stands for a nested Keras model's output in the flattened graph, so the
/// nested model's name (`base`) names its output as Keras' outer graph does and a recording's `base/output` compares.
public struct IdentityLayer: LayerOperation {
    public static let typeName = "identity"

    public init() {}

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) -> ValueShape { inputs[0] }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Identity()
    }
}
