import ParityModel

/// `ZeroPadding2D(padding)`: an integer, a pair, or `((top, bottom), (left, right))`.
enum KerasZeroPadding2D: KerasLayerMapping {
    static let classNames = ["ZeroPadding2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.checkChannelsLast()
        return KerasMapped(ZeroPadding2D(try layer.edgeAmounts("padding")))
    }
}
