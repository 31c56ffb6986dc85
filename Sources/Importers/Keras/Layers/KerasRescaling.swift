import ParityModel

/// `Rescaling(scale, offset)` with scalars; per-channel vectors are refused.
enum KerasRescaling: KerasLayerMapping {
    static let classNames = ["Rescaling"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        guard let scale = layer.number("scale"), let offset = ImportersJSON.number(layer.config["offset"] ?? 0) else {
            throw layer.fail("Rescaling with per-channel scale or offset is not supported (scalars only)")
        }
        return KerasMapped(Rescaling(scale: Float(scale), offset: Float(offset)))
    }
}
