import ParityModel

/// `Reshape(target_shape)`.
enum KerasReshape: KerasLayerMapping {
    static let classNames = ["Reshape"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        guard let target = try layer.integerList("target_shape", notIntegers: "Reshape target_shape must be integers")
        else { throw layer.fail("Reshape has no target_shape") }
        return KerasMapped(Reshape(targetShape: target))
    }
}
