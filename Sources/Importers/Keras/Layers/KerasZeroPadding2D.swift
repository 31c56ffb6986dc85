import ParityModel

/// `ZeroPadding2D(padding)`: an integer, a pair, or `((top, bottom), (left, right))`.
enum KerasZeroPadding2D: KerasLayerMapping {
    static let classNames = ["ZeroPadding2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.checkChannelsLast()
        let p = try layer.symmetricPairs("padding")
        return KerasMapped(ZeroPadding2D(top: p[0], bottom: p[1], left: p[2], right: p[3]))
    }
}
