import ParityModel

/// `Conv2D` (`Convolution2D` in Keras 2) over channels_last input; `groups` other than 1 is refused.
enum KerasConv2D: KerasLayerMapping {
    static let classNames = ["Conv2D", "Convolution2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        KerasMapped(
            Conv2D(try layer.convolution(), activation: try layer.activation()), variables: ["kernel"] + layer.bias)
    }
}
