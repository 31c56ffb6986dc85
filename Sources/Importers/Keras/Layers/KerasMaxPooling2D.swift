import ParityModel

/// `MaxPooling2D`; strides default to the pool size.
enum KerasMaxPooling2D: KerasLayerMapping {
    static let classNames = ["MaxPooling2D", "MaxPool2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped { KerasMapped(MaxPooling2D(try pooling(layer))) }

    /// The pooling window Keras describes (shared with `AveragePooling2D`).
    static func pooling(_ layer: KerasLayer) throws -> Pooling2D {
        try layer.checkChannelsLast()
        let size = try layer.pair("pool_size", default: [2, 2])
        return Pooling2D(
            poolSize: size, strides: try layer.pair("strides", default: size), padding: try layer.padding())
    }
}
