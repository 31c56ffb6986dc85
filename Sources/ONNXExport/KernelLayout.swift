import ParityModel

/// Weights rearranged at export time from TensorFlow's layouts to ONNX's.
enum KernelLayout {
    /// `values` (C order, of `shape`) with its axes permuted: result axis `k` is source axis `permutation[k]`.
    static func permuted(_ values: [Float], shape: [Int], _ permutation: [Int]) -> (shape: [Int], values: [Float]) {
        let permuted = FloatTensor(shape: shape, values: values).transposed(permutation)
        return (permuted.shape, permuted.values)
    }

    /// A convolution kernel `[kh, kw, in, out]` (HWIO) as ONNX's `[out, in, kh, kw]` (OIHW).
    static func oihw(_ values: [Float], hwio shape: [Int]) -> (shape: [Int], values: [Float]) {
        permuted(values, shape: shape, [3, 2, 0, 1])
    }

    /// A depthwise kernel `[kh, kw, C, M]` as a grouped convolution's `[C·M, 1, kh, kw]` (`group = C`): output
    /// channel `c·M + m` convolves input channel `c` with `kernel[:, :, c, m]`, as TensorFlow's `depthwise_conv2d`.
    static func grouped(_ values: [Float], depthwise shape: [Int]) -> (shape: [Int], values: [Float]) {
        let (_, out) = permuted(values, shape: shape, [2, 3, 0, 1])
        return ([shape[2] * shape[3], 1, shape[0], shape[1]], out)
    }
}
