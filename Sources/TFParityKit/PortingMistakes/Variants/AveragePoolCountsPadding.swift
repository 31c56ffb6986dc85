import ParityModel

/// `avg-pool-counts-padding`: an average pool that divides every window by its full size, padded zeros included
/// (PyTorch's `count_include_pad=True`), where TensorFlow's SAME average divides by the real elements only.
struct AveragePoolCountsPadding: PortingVariant {
    let id = "avg-pool-counts-padding"

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        guard let op = layer.op as? AveragePooling2D, op.pooling.padding == .same,
            let input = layer.inputs.first, let shape = context.shape(of: input), shape.count == 4
        else { return [] }
        let p = op.pooling
        var before: [Int] = []
        var after: [Int] = []
        for axis in 0..<2 {
            let size = shape[axis + 1]
            let output = (size + p.strides[axis] - 1) / p.strides[axis]
            let total = max((output - 1) * p.strides[axis] + p.poolSize[axis] - size, 0)
            before.append(total / 2)
            after.append(total - total / 2)
        }
        guard before.contains(where: { $0 > 0 }) || after.contains(where: { $0 > 0 }) else { return [] }
        return [
            .preceded(
                layer,
                by: ZeroPadding2D(top: before[0], bottom: after[0], left: before[1], right: after[1]),
                suffix: "counted_padding",
                then: AveragePooling2D(Pooling2D(poolSize: p.poolSize, strides: p.strides, padding: .valid)),
                detail: "the recording averaged every \(p.poolSize[0])×\(p.poolSize[1]) window over its full size, "
                    + "padded zeros included (PyTorch's count_include_pad=True); TensorFlow's SAME average pooling "
                    + "divides each window by its number of real elements. Use count_include_pad=False (or divide by "
                    + "the pooled count of ones).")
        ]
    }
}
