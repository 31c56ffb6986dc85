import ParityModel

/// `Flatten` of channels_last values (NHWC element order).
enum KerasFlatten: KerasLayerMapping {
    static let classNames = ["Flatten"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.checkChannelsLast()
        return KerasMapped(Flatten())
    }
}
