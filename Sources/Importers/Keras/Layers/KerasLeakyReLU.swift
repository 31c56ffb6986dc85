import ParityModel

/// `LeakyReLU`: Keras 3 calls the slope `negative_slope`, Keras 2 `alpha` (default 0.3).
enum KerasLeakyReLU: KerasLayerMapping {
    static let classNames = ["LeakyReLU"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let alpha = layer.number("negative_slope") ?? layer.number("alpha") ?? 0.3
        return KerasMapped(ActivationLayer(.leakyRelu(alpha: Float(alpha))))
    }
}
