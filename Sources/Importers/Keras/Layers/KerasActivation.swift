import ParityModel

/// `Activation(name)`.
enum KerasActivation: KerasLayerMapping {
    static let classNames = ["Activation"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        KerasMapped(ActivationLayer(try layer.activation(fused: false)))
    }
}
