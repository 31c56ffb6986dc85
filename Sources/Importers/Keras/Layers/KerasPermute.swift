import ParityModel

/// `Permute(dims)`: the non-batch axes reordered, 1-based.
enum KerasPermute: KerasLayerMapping {
    static let classNames = ["Permute"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        guard let list = layer.config["dims"] as? [Any] else { throw layer.fail("Permute 'dims' must be a list") }
        let dims = list.compactMap(ImportersJSON.integer)
        guard dims.count == list.count else { throw layer.fail("Permute 'dims' must be integers") }
        return KerasMapped(Permute(dims: dims))
    }
}
