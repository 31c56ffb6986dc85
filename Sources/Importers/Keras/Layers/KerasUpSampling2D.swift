import ParityModel

/// `UpSampling2D(size, interpolation)` over channels_last input: nearest or bilinear; TensorFlow's other resize
/// methods are refused.
enum KerasUpSampling2D: KerasLayerMapping {
    static let classNames = ["UpSampling2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.checkChannelsLast()
        let name = layer.config["interpolation"] as? String ?? "nearest"
        guard let interpolation = UpSampling2D.Interpolation(rawValue: name) else {
            throw layer.fail("UpSampling2D interpolation '\(name)' is not supported (nearest or bilinear)")
        }
        return KerasMapped(UpSampling2D(size: try layer.pair("size", default: [2, 2]), interpolation: interpolation))
    }
}
