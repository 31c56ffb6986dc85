import ParityModel

/// `Dense`: kernel `[in, out]` and an optional bias, with its activation.
enum KerasDense: KerasLayerMapping {
    static let classNames = ["Dense"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        KerasMapped(Dense(activation: try layer.activation()), variables: ["kernel"] + layer.bias)
    }
}
