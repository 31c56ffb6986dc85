import ParityModel
import TensorCore

/// `no-bias`: the layer's bias left out (a port that built the layer with `bias=False`, or never loaded it).
struct NoBias: PortingVariant {
    let id = "no-bias"

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        guard layer.op.parameters.contains(where: { $0.name == "bias" }), context.parameter(layer, "bias") != nil
        else { return [] }
        return [
            .parameters(
                layer, [context.parameterKey(layer, "bias"): nil],
                detail: "the recording left out the layer's bias; TensorFlow adds it. Load the bias too "
                    + "(and build the layer with bias=True).")
        ]
    }
}
