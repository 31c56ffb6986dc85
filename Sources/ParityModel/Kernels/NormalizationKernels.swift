import Foundation

/// The rows a normalisation runs over, shared by its row tasks: each reads `x` and writes only its own rows of `y`.
private struct RowBuffers: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let gamma: UnsafePointer<Float>?
    let beta: UnsafePointer<Float>?
}

/// The sum of `x[0 ..< count]` in float32, eight lanes at a time then the lanes added (as Eigen's packet reductions
/// sum), so neither a rounding-order artefact of a sequential sum nor a wider accumulator.
@inline(__always)
private func laneSum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        lanes += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var sum = lanes.sum()
    while i < count {
        sum += x[i]
        i += 1
    }
    return sum
}

/// `sum((x - mean)²)` over `x[0 ..< count]`, as `laneSum` sums.
@inline(__always)
private func laneSquaredDeviation(_ x: UnsafePointer<Float>, mean: Float, count: Int) -> Float {
    var lanes = SIMD8<Float>()
    let m = SIMD8<Float>(repeating: mean)
    var i = 0
    while i + 8 <= count {
        let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - m
        lanes += d * d
        i += 8
    }
    var sum = lanes.sum()
    while i < count {
        let d = x[i] - mean
        sum += d * d
        i += 1
    }
    return sum
}

/// Normalisations that compute statistics over part of a value (layer, group) or apply given ones (`Normalization`).
enum NormalizationKernels {
    /// How `LayerNormalization` orders its float32 arithmetic once the row's `mean`, `variance` are known.
    enum Order {
        /// `tf.nn.batch_normalization` (Keras 3, and tf_keras' unfused path): `inv = rsqrt(variance + epsilon) *
        /// gamma; y = x * inv + (beta - mean * inv)`.
        case batchNormalization
        /// tf_keras' fused path (`fused_batch_norm` with unit scale): `y = (x - mean) * rsqrt(variance + epsilon)`,
        /// then `* gamma`, then `+ beta`.
        case fusedBatchNorm
    }

    /// Layer normalisation of `rows` contiguous rows of `width` values: each row's mean and (biased) variance, as
    /// `tf.nn.moments` computes them (the mean, then the mean of squared deviations from it), then `order`.
    static func normalizeRows(
        _ x: [Float], rows: Int, width: Int, gamma: [Float]?, beta: [Float]?, epsilon: Float, order: Order
    ) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        let count = Float(width)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                guard let xBase = x.baseAddress, let yBase = y.baseAddress else { return }
                withOptionalPointer(gamma) { gamma in
                    withOptionalPointer(beta) { beta in
                        let buffers = RowBuffers(x: xBase, y: yBase, gamma: gamma, beta: beta)
                        Parallel.forEach(rows, work: rows * width * 4) { row in
                            let x = buffers.x + row * width
                            let y = buffers.y + row * width
                            let mean = laneSum(x, count: width) / count
                            let variance = laneSquaredDeviation(x, mean: mean, count: width) / count
                            let r = 1 / (variance + epsilon).squareRoot()
                            switch order {
                            case .batchNormalization:
                                normalizeRow(x, y, width, mean: mean, r: r, buffers.gamma, buffers.beta)
                            case .fusedBatchNorm:
                                for j in 0..<width {
                                    var value = (x[j] - mean) * r
                                    if let gamma = buffers.gamma { value *= gamma[j] }
                                    if let beta = buffers.beta { value += beta[j] }
                                    y[j] = value
                                }
                            }
                        }
                    }
                }
            }
        }
        return y
    }

    /// `inv = r * gamma[j]; y[j] = x[j] * inv + (beta[j] - mean * inv)` over one row, eight values at a time.
    @inline(__always)
    private static func normalizeRow(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ width: Int, mean: Float, r: Float,
        _ gamma: UnsafePointer<Float>?, _ beta: UnsafePointer<Float>?
    ) {
        var j = 0
        if let gamma, let beta {
            let (m, rv) = (SIMD8<Float>(repeating: mean), SIMD8<Float>(repeating: r))
            while j + 8 <= width {
                let inv = rv * UnsafeRawPointer(gamma + j).loadUnaligned(as: SIMD8<Float>.self)
                let offset = UnsafeRawPointer(beta + j).loadUnaligned(as: SIMD8<Float>.self) - m * inv
                let value = UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self) * inv + offset
                UnsafeMutableRawPointer(y + j).storeBytes(of: value, as: SIMD8<Float>.self)
                j += 8
            }
        }
        while j < width {
            let inv = gamma.map { r * $0[j] } ?? r
            let offset = beta.map { $0[j] - mean * inv } ?? -mean * inv
            y[j] = x[j] * inv + offset
            j += 1
        }
    }

    /// Group normalisation of channels-last `x` (`[N, …, C]`, C a multiple of `groups`): per sample and group of
    /// `C / groups` consecutive channels, the mean and biased variance over every position and channel of the group,
    /// then `inv = rsqrt(variance + epsilon) * gamma; y = x * inv + (beta - mean * inv)` (Keras 3's order, and
    /// `tf.nn.batch_normalization`'s in tf_keras). Sums run over positions per channel, eight channels at a time.
    static func groupNormalize(
        _ x: FloatTensor, groups: Int, gamma: [Float]?, beta: [Float]?, epsilon: Float
    ) -> FloatTensor {
        let channels = x.lastDimension
        let batch = x.shape.first ?? 1
        let positions = x.count / max(batch * channels, 1)
        let width = channels / groups
        let count = Float(positions * width)
        var y = [Float](repeating: 0, count: x.count)
        var channelSums = [Float](repeating: 0, count: channels)
        var channelMeans = [Float](repeating: 0, count: channels)
        var scale = [Float](repeating: 0, count: channels)
        var offset = [Float](repeating: 0, count: channels)
        x.values.withUnsafeBufferPointer { x in
            for b in 0..<batch {
                let sample = b * positions * channels
                for c in 0..<channels { channelSums[c] = 0 }
                for p in 0..<positions {
                    let row = sample + p * channels
                    for c in 0..<channels { channelSums[c] += x[row + c] }
                }
                for g in 0..<groups {
                    var sum: Float = 0
                    for c in (g * width)..<((g + 1) * width) { sum += channelSums[c] }
                    for c in (g * width)..<((g + 1) * width) { channelMeans[c] = sum / count }
                }
                for c in 0..<channels { channelSums[c] = 0 }
                for p in 0..<positions {
                    let row = sample + p * channels
                    for c in 0..<channels {
                        let d = x[row + c] - channelMeans[c]
                        channelSums[c] += d * d
                    }
                }
                for g in 0..<groups {
                    var sum: Float = 0
                    for c in (g * width)..<((g + 1) * width) { sum += channelSums[c] }
                    let r = 1 / (sum / count + epsilon).squareRoot()
                    for c in (g * width)..<((g + 1) * width) {
                        let inv = gamma.map { r * $0[c] } ?? r
                        scale[c] = inv
                        offset[c] = beta.map { $0[c] - channelMeans[c] * inv } ?? -channelMeans[c] * inv
                    }
                }
                for p in 0..<positions {
                    let row = sample + p * channels
                    for c in 0..<channels { y[row + c] = x[row + c] * scale[c] + offset[c] }
                }
            }
        }
        return FloatTensor(shape: x.shape, values: y)
    }

    /// The flat offsets of `shape`'s elements split by `axes` (sorted, distinct): `outer` over the other axes and
    /// `inner` over `axes`, both in row-major order, so element `(o, j)` is at `outer[o] + inner[j]`.
    static func split(_ shape: [Int], axes: [Int]) -> (outer: [Int], inner: [Int]) {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) {
            strides[axis] = strides[axis + 1] * shape[axis + 1]
        }
        func offsets(_ selected: [Int]) -> [Int] {
            var result = [0]
            for axis in selected {
                var next: [Int] = []
                next.reserveCapacity(result.count * shape[axis])
                for base in result {
                    for i in 0..<shape[axis] { next.append(base + i * strides[axis]) }
                }
                result = next
            }
            return result
        }
        let others = (0..<shape.count).filter { !axes.contains($0) }
        return (offsets(others), offsets(axes))
    }

    /// The offset into a parameter of `parameterShape` (right-aligned to `keptAxes` of a value of `shape`, each
    /// dimension 1 or the value's) of each element of the value, in row-major order.
    static func broadcastIndex(_ shape: [Int], keptAxes: [Int], parameterShape: [Int]) -> [Int] {
        var expanded = [Int](repeating: 1, count: shape.count)
        let skipped = keptAxes.count - parameterShape.count
        for (k, axis) in keptAxes.enumerated() where k >= skipped { expanded[axis] = parameterShape[k - skipped] }
        var strides = [Int](repeating: 0, count: shape.count)
        var step = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = expanded[axis] == 1 ? 0 : step
            step *= expanded[axis]
        }
        var index = [Int](repeating: 0, count: shape.reduce(1, *))
        ShapeKernels.forEachOffset(shape, strides: strides) { i, offset in index[i] = offset }
        return index
    }
}

/// Runs `body` with a pointer to `values`' storage, or nil when there are none.
private func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}
