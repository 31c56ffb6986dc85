import ParityModel

/// `input-channel-order`: the first layer fed BGR where the model takes RGB, or the reverse (OpenCV's `imread` gives
/// BGR).
struct InputChannelOrder: PortingVariant {
    let id = "input-channel-order"

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        layer.inputs.filter(context.isModelInput).compactMap { name in
            guard let x = context.value(of: name), x.shape.count >= 2, x.lastDimension == 3 else { return nil }
            return .input(
                layer, name, Self.reversingChannels(x),
                detail: "the recording fed '\(name)' with its channels reversed (BGR where the model takes RGB, or the "
                    + "reverse, as OpenCV's imread gives BGR). Feed the channels in the order the model was trained "
                    + "with (x[..., ::-1] to swap them).")
        }
    }

    /// `x[..., ::-1]`.
    static func reversingChannels(_ x: FloatTensor) -> FloatTensor {
        let c = x.lastDimension
        var values = x.values
        for start in stride(from: 0, to: values.count, by: c) {
            for k in 0..<c { values[start + k] = x.values[start + c - 1 - k] }
        }
        return FloatTensor(shape: x.shape, values: values)
    }
}
