import ParityModel
import TensorCore

/// `kernel-layout`: a convolution kernel moved between layouts by reshaping instead of transposing: stored OIHW
/// (PyTorch) or IOHW (a transposed convolution) and read as TensorFlow's HWIO, or the reverse.
struct KernelLayout: PortingVariant {
    let id = "kernel-layout"

    /// Each layout, as the order that takes an HWIO kernel to it.
    static let layouts: [(name: String, order: [Int])] = [("OIHW", [3, 2, 0, 1]), ("IOHW", [2, 3, 0, 1])]

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        guard layer.op is Conv2D, let kernel = context.parameter(layer, "kernel"), kernel.rank == 4 else { return [] }
        let shape = kernel.shape
        let values = kernel.floatValues()
        let key = context.parameterKey(layer, "kernel")
        let hwio = "[\(shape.map(String.init).joined(separator: ", "))]"
        var candidates: [VariantCandidate] = []
        for layout in Self.layouts {
            // Stored in `layout`, then reshaped (not transposed) to HWIO.
            let stored = AxisPermutation.transpose(values, shape: shape, order: layout.order).values
            candidates.append(
                .parameters(
                    layer, [key: Tensor(shape: shape, floats: stored)],
                    detail: "the recording used a kernel stored \(layout.name) and reshaped to HWIO \(hwio) instead "
                        + "of transposed; TensorFlow's conv2d kernel is [kh, kw, in, out]. Transpose it: "
                        + "kernel = weight.transpose(\(AxisPermutation.inverse(layout.order).map(String.init).joined(separator: ", ")))."
                ))
            // The HWIO kernel reshaped to `layout` and used as one.
            let laidOut = layout.order.map { shape[$0] }
            let read = AxisPermutation.transpose(values, shape: laidOut, order: AxisPermutation.inverse(layout.order))
            candidates.append(
                .parameters(
                    layer, [key: Tensor(shape: shape, floats: read.values)],
                    detail: "the recording reshaped the HWIO kernel \(hwio) to \(layout.name) instead of transposing "
                        + "it. Transpose it: weight = kernel.transpose(\(layout.order.map(String.init).joined(separator: ", ")))."
                ))
        }
        return candidates
    }
}
