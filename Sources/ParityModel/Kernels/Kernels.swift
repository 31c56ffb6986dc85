import Foundation

/// The numeric kernels, in plain Swift.
enum Kernels {
    /// `x[rows, w.inner] · w`, summed in float32 by the blocked SIMD kernel `Gemm` (as TensorFlow's Eigen and oneDNN
    /// kernels do: blocked float32 sums, so neither side is the exact value; the difference stays of the order of
    /// float32 rounding of the terms).
    static func matmul(_ x: [Float], rows: Int, _ w: PackedMatrix) -> [Float] {
        precondition(x.count == rows * w.inner, "matmul: \(x.count) values for [\(rows), \(w.inner)]")
        var y = [Float](repeating: 0, count: rows * w.columns)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                guard let xBase = x.baseAddress, let yBase = y.baseAddress else { return }
                Gemm.multiply(xBase, rows: rows, w, into: yBase)
            }
        }
        return y
    }

    static func addBias(_ y: inout [Float], _ bias: [Float]) {
        let columns = bias.count
        y.withUnsafeMutableBufferPointer { y in
            for start in stride(from: 0, to: y.count, by: columns) {
                for j in 0..<columns { y[start + j] += bias[j] }
            }
        }
    }

    /// `x * scale[c] + offset[c]` where the channel `c` of flat index `i` is `(i / inner) % channels`.
    static func scaleAndShift(_ x: [Float], _ scale: [Float], _ offset: [Float], inner: Int) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        let channels = scale.count
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                if inner == 1 {
                    for start in stride(from: 0, to: x.count, by: channels) {
                        for c in 0..<channels { y[start + c] = x[start + c] * scale[c] + offset[c] }
                    }
                } else {
                    for i in 0..<x.count {
                        let c = (i / inner) % channels
                        y[i] = x[i] * scale[c] + offset[c]
                    }
                }
            }
        }
        return y
    }
}
