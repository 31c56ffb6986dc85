import ParityModel

/// `Conv2D` (`Convolution2D` in Keras 2) over channels_last input, grouped when `groups` is above 1.
enum KerasConv2D: KerasLayerMapping {
    static let classNames = ["Conv2D", "Convolution2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.groupedConvolution(Conv2D.self)
    }
}
