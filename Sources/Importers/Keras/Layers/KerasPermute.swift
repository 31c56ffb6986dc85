import ParityModel

/// `Permute(dims)`: the non-batch axes reordered, 1-based.
enum KerasPermute: KerasLayerMapping {
    static let classNames = ["Permute"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        guard let dims = try layer.integerList("dims", notIntegers: "Permute 'dims' must be integers") else {
            throw layer.fail("Permute 'dims' must be a list")
        }
        return KerasMapped(Permute(dims: dims))
    }
}
