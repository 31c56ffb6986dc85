import ParityModel

/// The layers that are the identity at inference: dropout, noise, activity regularisation.
enum KerasDropout: KerasLayerMapping {
    static let classNames = [
        "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianDropout", "GaussianNoise", "AlphaDropout",
        "ActivityRegularization",
    ]

    static func map(_ layer: KerasLayer) throws -> KerasMapped { KerasMapped(Dropout(rate: layer.number("rate") ?? 0)) }
}
