import ParityModel
import TensorCore

/// `kernel-transposed`: a dense kernel used the wrong way round: PyTorch stores `Linear.weight` as `[out, in]`,
/// TensorFlow's Dense kernel is `[in, out]`.
struct KernelTransposed: PortingVariant {
    let id = "kernel-transposed"

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        guard layer.op is Dense, let kernel = context.parameter(layer, "kernel"), kernel.rank == 2 else { return [] }
        let (rows, columns) = (kernel.shape[0], kernel.shape[1])
        guard rows > 1 || columns > 1 else { return [] }
        let key = context.parameterKey(layer, "kernel")
        let values = kernel.floatValues()
        // The kernel's transpose read as [in, out]: an [out, in] weight taken for TensorFlow's layout.
        let transposed = AxisPermutation.transpose(values, shape: [rows, columns], order: [1, 0]).values
        var candidates: [VariantCandidate] = [
            .parameters(
                layer, [key: Tensor(shape: kernel.shape, floats: transposed)],
                detail: "the recording multiplied by the kernel transposed: an [out, in] weight (PyTorch's "
                    + "Linear.weight) read as TensorFlow's [in, out] Dense kernel (\(rows)×\(columns)). Transpose "
                    + "the weight when moving it between the frameworks (kernel = weight.T).")
        ]
        if rows != columns {
            // The [in, out] kernel reshaped to [out, in] and then used as a PyTorch weight (x · weightᵀ).
            let reshaped = AxisPermutation.transpose(values, shape: [columns, rows], order: [1, 0]).values
            candidates.append(
                .parameters(
                    layer, [key: Tensor(shape: kernel.shape, floats: reshaped)],
                    detail: "the recording reshaped the [in, out] kernel (\(rows)×\(columns)) to [out, in] instead of "
                        + "transposing it, then used it as a PyTorch weight. TensorFlow's Dense kernel is [in, out]: "
                        + "use weight = kernel.T."))
        }
        return candidates
    }
}
