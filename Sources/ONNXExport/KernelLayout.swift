/// Weights rearranged at export time from TensorFlow's layouts to ONNX's.
enum KernelLayout {
    /// `values` (C order, of `shape`) with its axes permuted: result axis `k` is source axis `permutation[k]`.
    static func permuted(_ values: [Float], shape: [Int], _ permutation: [Int]) -> (shape: [Int], values: [Float]) {
        precondition(permutation.sorted() == Array(shape.indices), "permutation \(permutation) of \(shape)")
        let rank = shape.count
        var sourceStrides = [Int](repeating: 1, count: rank)
        for k in stride(from: rank - 2, through: 0, by: -1) { sourceStrides[k] = sourceStrides[k + 1] * shape[k + 1] }
        let outShape = permutation.map { shape[$0] }
        let strides = permutation.map { sourceStrides[$0] }
        var out = [Float](repeating: 0, count: values.count)
        guard !values.isEmpty else { return (outShape, out) }
        var index = [Int](repeating: 0, count: rank)
        var source = 0
        for i in 0..<out.count {
            out[i] = values[source]
            var k = rank - 1
            while k >= 0 {
                index[k] += 1
                source += strides[k]
                if index[k] < outShape[k] { break }
                source -= strides[k] * outShape[k]
                index[k] = 0
                k -= 1
            }
        }
        return (outShape, out)
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
