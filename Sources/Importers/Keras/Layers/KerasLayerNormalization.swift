import ParityModel

/// `LayerNormalization(axis, epsilon, center, scale)`: variables gamma (with `scale`), beta (with `center`).
/// tf_keras takes its fused path (another order of the same arithmetic) for trailing axes when epsilon is at least
/// 1.001e-5; Keras 3 never does. `rms_scaling` is refused.
enum KerasLayerNormalization: KerasLayerMapping {
    static let classNames = ["LayerNormalization"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        if layer.flag("rms_scaling", default: false) {
            throw layer.fail("LayerNormalization with rms_scaling is not supported")
        }
        let epsilon = layer.number("epsilon") ?? 1e-3
        let op = LayerNormalization(
            axis: try layer.axes(default: [-1]), epsilon: epsilon, fused: layer.isKeras2 && epsilon >= 1.001e-5)
        let variables =
            (layer.flag("scale", default: true) ? ["gamma"] : [])
            + (layer.flag("center", default: true) ? ["beta"] : [])
        return KerasMapped(op, variables: variables)
    }
}
