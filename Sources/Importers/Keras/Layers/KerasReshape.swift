import ParityModel

/// `Reshape(target_shape)`.
enum KerasReshape: KerasLayerMapping {
    static let classNames = ["Reshape"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        guard let list = layer.config["target_shape"] as? [Any] else { throw layer.fail("Reshape has no target_shape") }
        let target = list.compactMap(ImportersJSON.integer)
        guard target.count == list.count else { throw layer.fail("Reshape target_shape must be integers") }
        return KerasMapped(Reshape(targetShape: target))
    }
}
