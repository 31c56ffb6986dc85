import ParityModel

/// `GlobalAveragePooling2D(keepdims)`.
enum KerasGlobalAveragePooling2D: KerasLayerMapping {
    static let classNames = ["GlobalAveragePooling2D", "GlobalAvgPool2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.checkChannelsLast()
        return KerasMapped(GlobalAveragePooling2D(keepdims: layer.flag("keepdims", default: false)))
    }
}
