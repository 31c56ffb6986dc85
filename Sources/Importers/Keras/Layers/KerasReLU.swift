import ParityModel

/// `ReLU(max_value, negative_slope, threshold)`; the plain form is the relu activation.
enum KerasReLU: KerasLayerMapping {
    static let classNames = ["ReLU"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let maxValue = layer.number("max_value").map { Float($0) }
        let slope = Float(layer.number("negative_slope") ?? 0)
        let threshold = Float(layer.number("threshold") ?? 0)
        if maxValue == nil, slope == 0, threshold == 0 { return KerasMapped(ActivationLayer(.relu)) }
        return KerasMapped(ReLU(maxValue: maxValue, negativeSlope: slope, threshold: threshold))
    }
}
