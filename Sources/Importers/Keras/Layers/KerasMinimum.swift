import ParityModel

/// `Minimum` of its inputs.
enum KerasMinimum: KerasLayerMapping {
    static let classNames = ["Minimum"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped { KerasMapped(Minimum()) }
}
