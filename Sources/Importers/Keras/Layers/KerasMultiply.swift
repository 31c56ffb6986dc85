import ParityModel

/// `Multiply` of its inputs.
enum KerasMultiply: KerasLayerMapping {
    static let classNames = ["Multiply"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped { KerasMapped(Multiply()) }
}
