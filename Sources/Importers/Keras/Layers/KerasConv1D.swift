import ParityModel

/// `Conv1D` (`Convolution1D` in Keras 2) over channels_last `[N, L, C]` input: valid, same or causal padding, grouped
/// when `groups` is above 1.
enum KerasConv1D: KerasLayerMapping {
    static let classNames = ["Conv1D", "Convolution1D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let op = Conv1D(
            try layer.convolution1D(allowingGroups: true), activation: try layer.activation(),
            groups: layer.integer("groups") ?? 1)
        return KerasMapped(op, variables: ["kernel"] + layer.bias)
    }
}
