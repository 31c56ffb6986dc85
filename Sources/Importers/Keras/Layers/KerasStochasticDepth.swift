import ParityModel

/// keras.applications' ConvNeXt `StochasticDepth(drop_path_rate)`: drops residual paths only in training, the
/// identity at inference.
enum KerasStochasticDepth: KerasLayerMapping {
    static let classNames = ["StochasticDepth"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        KerasMapped(Dropout(rate: layer.number("drop_path_rate") ?? 0))
    }
}
