import ParityModel

/// `padding-symmetric`: SAME padding split evenly on both sides (PyTorch's `padding=k//2`), where TensorFlow puts the
/// odd row and column at the bottom and right. It differs only where the total padding is odd (stride 2 on an even
/// input, for a 3×3 kernel).
struct PaddingSymmetric: PortingVariant {
    let id = "padding-symmetric"

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        guard let op = layer.op as? any WindowedConvolutionOperation, op.geometry.padding == .same,
            let input = layer.inputs.first, let shape = context.shape(of: input), shape.count == 4
        else { return [] }
        let g = op.geometry
        var evenly: [Int] = []
        var differs = false
        for axis in 0..<2 {
            let effective = (g.kernelSize[axis] - 1) * g.dilation[axis] + 1
            let size = shape[axis + 1]
            let output = (size + g.strides[axis] - 1) / g.strides[axis]
            let total = max((output - 1) * g.strides[axis] + effective - size, 0)
            let side = (effective - 1) / 2
            // The even split must give TensorFlow's output size, or the recording could not have had its shape.
            guard (size + 2 * side - effective) / g.strides[axis] + 1 == output else { return [] }
            if side != total / 2 || side != total - total / 2 { differs = true }
            evenly.append(side)
        }
        guard differs else { return [] }
        var valid = g
        valid.padding = .valid
        let (top, left) = (evenly[0], evenly[1])
        return [
            .preceded(
                layer, by: ZeroPadding2D(top: top, bottom: top, left: left, right: left), suffix: "symmetric_padding",
                then: op.replacingGeometry(valid),
                detail: "the recording padded \(top) row(s) and \(left) column(s) on every side (PyTorch's "
                    + "padding=k//2); TensorFlow's SAME padding here puts the odd row and column at the bottom and right "
                    + "only (for stride \(g.strides[0]) on a \(shape[1])×\(shape[2]) input). Pad asymmetrically, as "
                    + "F.pad(x, (left, right, top, bottom)) with TF's amounts, then convolve without padding.")
        ]
    }
}
