import ParityModel

/// `Cropping2D(cropping)`: an integer, a pair, or `((top, bottom), (left, right))`.
enum KerasCropping2D: KerasLayerMapping {
    static let classNames = ["Cropping2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.checkChannelsLast()
        let c = try layer.symmetricPairs("cropping")
        return KerasMapped(Cropping2D(top: c[0], bottom: c[1], left: c[2], right: c[3]))
    }
}
