import ParityModel

/// `Cropping2D(cropping)`: an integer, a pair, or `((top, bottom), (left, right))`.
enum KerasCropping2D: KerasLayerMapping {
    static let classNames = ["Cropping2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.checkChannelsLast()
        return KerasMapped(Cropping2D(try layer.edgeAmounts("cropping")))
    }
}
