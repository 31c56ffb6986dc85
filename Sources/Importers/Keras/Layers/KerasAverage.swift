import ParityModel

/// `Average` of its inputs.
enum KerasAverage: KerasLayerMapping {
    static let classNames = ["Average"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped { KerasMapped(Average()) }
}
