import ParityModel

/// `Subtract` of its two inputs.
enum KerasSubtract: KerasLayerMapping {
    static let classNames = ["Subtract"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped { KerasMapped(Subtract()) }
}
