import ParityModel

/// `Softmax(axis)`: over the last axis it is the softmax activation.
enum KerasSoftmax: KerasLayerMapping {
    static let classNames = ["Softmax"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let axis = try layer.axis(default: -1)
        return KerasMapped(axis == -1 ? ActivationLayer(.softmax) : Softmax(axis: axis))
    }
}
