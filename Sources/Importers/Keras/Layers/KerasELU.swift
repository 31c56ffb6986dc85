import ParityModel

/// `ELU(alpha)`.
enum KerasELU: KerasLayerMapping {
    static let classNames = ["ELU"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        KerasMapped(ActivationLayer(.elu(alpha: Float(layer.number("alpha") ?? 1))))
    }
}
