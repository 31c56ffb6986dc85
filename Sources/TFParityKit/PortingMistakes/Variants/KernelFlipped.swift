import ParityModel
import TensorCore

/// `kernel-flipped`: a true convolution (kernel rotated 180°, as `scipy.signal.convolve2d` computes) where TensorFlow's
/// `conv2d` is a cross-correlation.
struct KernelFlipped: PortingVariant {
    let id = "kernel-flipped"

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        guard let op = layer.op as? any SpatialKernelOperation else { return [] }
        var overrides: [String: Tensor?] = [:]
        for name in op.spatialKernels {
            guard let kernel = context.parameter(layer, name), kernel.rank == 4,
                kernel.shape[0] > 1 || kernel.shape[1] > 1
            else { continue }
            overrides[context.parameterKey(layer, name)] = Tensor(
                shape: kernel.shape, floats: Self.rotated(kernel.floatValues(), shape: kernel.shape))
        }
        guard !overrides.isEmpty else { return [] }
        return [
            .parameters(
                layer, overrides,
                detail: "the recording convolved with the kernel rotated 180° (a true convolution, as "
                    + "scipy.signal.convolve2d or a transposed convolution computes); TensorFlow's conv2d is a "
                    + "cross-correlation. Use the kernel as stored, without flipping it (in PyTorch, F.conv2d with "
                    + "the kernel transposed to OIHW, not flipped).")
        ]
    }

    /// `kernel[::-1, ::-1]` of a `[kh, kw, …]` kernel.
    static func rotated(_ values: [Float], shape: [Int]) -> [Float] {
        let (kh, kw) = (shape[0], shape[1])
        let inner = shape[2...].reduce(1, *)
        var out = values
        for ky in 0..<kh {
            for kx in 0..<kw {
                let source = ((kh - 1 - ky) * kw + (kw - 1 - kx)) * inner
                let target = (ky * kw + kx) * inner
                out[target..<target + inner] = values[source..<source + inner]
            }
        }
        return out
    }
}
