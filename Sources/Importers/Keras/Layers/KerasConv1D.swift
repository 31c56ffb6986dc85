import ParityModel

/// `Conv1D` (`Convolution1D` in Keras 2) over channels_last `[N, L, C]` input: valid, same or causal padding, grouped
/// when `groups` is above 1.
enum KerasConv1D: KerasLayerMapping {
    static let classNames = ["Conv1D", "Convolution1D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.groupedConvolution(Conv1D.self)
    }
}
