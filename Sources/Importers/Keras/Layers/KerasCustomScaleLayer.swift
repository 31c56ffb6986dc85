import ParityModel

/// keras.applications' InceptionResNetV2 `CustomScaleLayer(scale)`: `inputs[0] + inputs[1] * scale` (tf_keras
/// registers it as `Custom>CustomScaleLayer`).
enum KerasCustomScaleLayer: KerasLayerMapping {
    static let classNames = ["CustomScaleLayer", "Custom>CustomScaleLayer"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        guard let scale = layer.number("scale") else { throw layer.fail("CustomScaleLayer 'scale' must be a number") }
        return KerasMapped(CustomScale(scale: scale))
    }
}
