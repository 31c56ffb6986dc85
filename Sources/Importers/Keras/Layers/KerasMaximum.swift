import ParityModel

/// `Maximum` of its inputs.
enum KerasMaximum: KerasLayerMapping {
    static let classNames = ["Maximum"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped { KerasMapped(Maximum()) }
}
