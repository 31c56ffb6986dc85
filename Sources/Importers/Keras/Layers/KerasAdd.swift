import ParityModel

/// `Add` of its inputs.
enum KerasAdd: KerasLayerMapping {
    static let classNames = ["Add"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped { KerasMapped(Add()) }
}
