import ParityModel

/// `AveragePooling2D`; SAME windows divide by their real elements, as TensorFlow does.
enum KerasAveragePooling2D: KerasLayerMapping {
    static let classNames = ["AveragePooling2D", "AvgPool2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        KerasMapped(AveragePooling2D(try KerasMaxPooling2D.pooling(layer)))
    }
}
