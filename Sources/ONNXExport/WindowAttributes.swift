import ONNXFormat
import ParityModel

/// The ONNX attributes placing a window (Conv, MaxPool, AveragePool) as TensorFlow places it.
enum WindowAttributes {
    /// `kernel_shape`, `strides`, `dilations` (when given) and the padding: none for `VALID`; for `SAME`, explicit
    /// `pads = [top, left, bottom, right]` by TensorFlow's rule when the input's height and width are known
    /// (`out = ceil(in / s)`, `total = max((out − 1)·s + (k − 1)·d + 1 − in, 0)`, `before = total / 2`, the odd
    /// element after), else `auto_pad = SAME_UPPER`, which onnxruntime computes by the same rule.
    static func make(
        kernel: [Int], strides: [Int], dilation: [Int]?, padding: Padding, input: ValueShape
    ) -> [ONNXAttribute] {
        var attributes: [ONNXAttribute] = [.ints("kernel_shape", kernel), .ints("strides", strides)]
        if let dilation { attributes.append(.ints("dilations", dilation)) }
        switch padding {
        case .valid:
            attributes.append(.ints("pads", [0, 0, 0, 0]))
        case .same:
            let spatial = input.aligned(toRank: 4).map { [$0[1], $0[2]] } ?? [nil, nil]
            guard let height = spatial[0], let width = spatial[1] else {
                attributes.append(.string("auto_pad", "SAME_UPPER"))
                return attributes
            }
            let d = dilation ?? [1, 1]
            let (top, bottom) = samePadding(input: height, kernel: kernel[0], stride: strides[0], dilation: d[0])
            let (left, right) = samePadding(input: width, kernel: kernel[1], stride: strides[1], dilation: d[1])
            attributes.append(.ints("pads", [top, left, bottom, right]))
        }
        return attributes
    }

    /// TensorFlow's `SAME` padding of one axis: (before, after).
    static func samePadding(input: Int, kernel: Int, stride: Int, dilation: Int) -> (Int, Int) {
        let output = (input + stride - 1) / stride
        let total = max((output - 1) * stride + (kernel - 1) * dilation + 1 - input, 0)
        return (total / 2, total - total / 2)
    }

    /// The attributes of a pooling window (`AveragePool`, `MaxPool`) over an input of shape `input`.
    static func make(pooling: Pooling2D, input: ValueShape) -> [ONNXAttribute] {
        make(kernel: pooling.poolSize, strides: pooling.strides, dilation: nil, padding: pooling.padding, input: input)
    }
}
