import ParityModel

/// `GlobalMaxPooling2D(keepdims)`.
enum KerasGlobalMaxPooling2D: KerasLayerMapping {
    static let classNames = ["GlobalMaxPooling2D", "GlobalMaxPool2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.checkChannelsLast()
        return KerasMapped(GlobalMaxPooling2D(keepdims: layer.flag("keepdims", default: false)))
    }
}
