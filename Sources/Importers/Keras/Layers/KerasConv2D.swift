import ParityModel

/// `Conv2D` (`Convolution2D` in Keras 2) over channels_last input, grouped when `groups` is above 1.
enum KerasConv2D: KerasLayerMapping {
    static let classNames = ["Conv2D", "Convolution2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let op = Conv2D(
            try layer.convolution(allowingGroups: true), activation: try layer.activation(),
            groups: layer.integer("groups") ?? 1)
        return KerasMapped(op, variables: ["kernel"] + layer.bias)
    }
}
