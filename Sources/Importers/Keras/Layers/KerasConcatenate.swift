import ParityModel

/// `Concatenate(axis)`.
enum KerasConcatenate: KerasLayerMapping {
    static let classNames = ["Concatenate"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        KerasMapped(Concatenate(axis: layer.integer("axis") ?? -1))
    }
}
