import Foundation

/// Kernels of the operations without parameters: placing, merging, joining, softmax.
enum ShapeKernels {
    /// `x` placed into a zero NHWC value of `outputShape` with its row 0 at `top` and column 0 at `left`; negative
    /// offsets crop (rows and columns that fall outside are dropped).
    static func place(_ x: FloatTensor, into outputShape: [Int], top: Int, left: Int) -> FloatTensor {
        let image = ImageShape(x.shape)
        let (height, width, c) = (outputShape[1], outputShape[2], image.channels)
        let count = outputShape.reduce(1, *)
        let columns = max(0, min(image.width, width - left) - max(0, -left))
        guard columns > 0 else { return FloatTensor(shape: outputShape, values: [Float](repeating: 0, count: count)) }
        let firstColumn = max(0, -left)
        let rows = max(0, -top)..<min(image.height, height - top)
        // Every element written once: the copied run of each row the image covers, zeros around it (rather than a
        // zeroed buffer written over).
        let values = [Float](unsafeUninitializedCapacity: count) { y, initialized in
            defer { initialized = count }
            x.values.withUnsafeBufferPointer { x in
                guard let target = y.baseAddress, let source = x.baseAddress else { return }
                let rowLength = width * c
                let (before, run) = ((firstColumn + left) * c, columns * c)
                for b in 0..<image.batch {
                    for oy in 0..<height {
                        let row = target + (b * height + oy) * rowLength
                        let iy = oy - top
                        guard rows.contains(iy) else {
                            row.initialize(repeating: 0, count: rowLength)
                            continue
                        }
                        row.initialize(repeating: 0, count: before)
                        (row + before).initialize(
                            from: source + ((b * image.height + iy) * image.width + firstColumn) * c, count: run)
                        (row + before + run).initialize(repeating: 0, count: rowLength - before - run)
                    }
                }
            }
        }
        return FloatTensor(shape: outputShape, values: values)
    }

    /// The NumPy broadcast of `inputs`' shapes (aligned at the last axis, size-1 axes stretched).
    static func broadcastShape(_ inputs: [ValueShape]) throws(LayerProblem) -> ValueShape {
        var result = inputs[0]
        for other in inputs.dropFirst() {
            let rank = max(result.dims.count, other.dims.count)
            let a = [Int?](repeating: 1, count: rank - result.dims.count) + result.dims
            let b = [Int?](repeating: 1, count: rank - other.dims.count) + other.dims
            var dims: [Int?] = []
            for (p, q) in zip(a, b) {
                switch (p, q) {
                case (let p?, let q?):
                    guard p == q || p == 1 || q == 1 else {
                        throw .inputShape(expected: "a shape broadcastable with \(result)", actual: "\(other)")
                    }
                    dims.append(p == 1 ? q : p)
                case (let p?, nil) where p != 1: dims.append(p)
                case (nil, let q?) where q != 1: dims.append(q)
                default: dims.append(nil)
                }
            }
            result = ValueShape(dims, rankKnown: result.rankKnown && other.rankKnown)
        }
        try Checked.elementCount(result.dims, "the output")
        return result
    }

    /// The NumPy broadcast of two concrete shapes (checked compatible by the operation).
    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        let sa = [Int](repeating: 1, count: rank - a.count) + a
        let sb = [Int](repeating: 1, count: rank - b.count) + b
        return zip(sa, sb).map { $0 == 1 ? $1 : $0 }
    }

    /// `x` broadcast to `shape` (a copy; `x` itself when it already has that shape).
    static func expand(_ x: FloatTensor, to shape: [Int]) -> FloatTensor {
        guard x.shape != shape else { return x }
        let zeros = FloatTensor(shape: shape, values: [Float](repeating: 0, count: shape.reduce(1, *)))
        return broadcast(x, zeros) { a, _ in a }
    }

    /// `inputs` combined elementwise by `op`, left to right, broadcast to `outputShape`.
    static func combine(_ inputs: [FloatTensor], outputShape: [Int], _ op: (Float, Float) -> Float) -> FloatTensor {
        var y = inputs[0]
        var rest = inputs.dropFirst()
        if let second = rest.first, second.shape == y.shape {
            // The first two in one pass into the new value, rather than a copy of the first and a pass over it.
            let values = [Float](unsafeUninitializedCapacity: y.count) { target, initialized in
                y.values.withUnsafeBufferPointer { a in
                    second.values.withUnsafeBufferPointer { b in
                        for i in 0..<a.count { target[i] = op(a[i], b[i]) }
                    }
                }
                initialized = y.count
            }
            y = FloatTensor(shape: y.shape, values: values)
            rest = rest.dropFirst()
        }
        for other in rest {
            if other.shape == y.shape {
                y.values.withUnsafeMutableBufferPointer { values in
                    other.values.withUnsafeBufferPointer { b in
                        for i in 0..<values.count { values[i] = op(values[i], b[i]) }
                    }
                }
            } else {
                y = broadcast(y, other, op)
            }
        }
        return FloatTensor(shape: outputShape, values: y.values)
    }

    /// `a op b` with NumPy broadcasting; the shapes were checked by `broadcastShape`.
    static func broadcast(_ a: FloatTensor, _ b: FloatTensor, _ op: (Float, Float) -> Float) -> FloatTensor {
        if let y = perChannel(a, b, op) { return y }
        let rank = max(a.shape.count, b.shape.count)
        let sa = [Int](repeating: 1, count: rank - a.shape.count) + a.shape
        let sb = [Int](repeating: 1, count: rank - b.shape.count) + b.shape
        let shape = zip(sa, sb).map { $0 == 1 ? $1 : $0 }
        func strides(_ s: [Int]) -> [Int] {
            var result = [Int](repeating: 0, count: rank)
            var step = 1
            for axis in stride(from: rank - 1, through: 0, by: -1) {
                result[axis] = s[axis] == 1 ? 0 : step
                step *= s[axis]
            }
            return result
        }
        let (ta, tb) = (strides(sa), strides(sb))
        let count = shape.reduce(1, *)
        var y = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<count {
            var ia = 0
            var ib = 0
            for axis in 0..<rank {
                ia += index[axis] * ta[axis]
                ib += index[axis] * tb[axis]
            }
            y[i] = op(a.values[ia], b.values[ib])
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return FloatTensor(shape: shape, values: y)
    }

    /// `a op b` where one operand holds one value per batch item and channel (`[N, 1, …, 1, C]`, a squeeze-and-excite
    /// gate) and the other is the full `[N, …, C]` value: each run of `C` paired with its batch item's row, without
    /// the general index arithmetic. Nil for any other pair of shapes.
    private static func perChannel(_ a: FloatTensor, _ b: FloatTensor, _ op: (Float, Float) -> Float) -> FloatTensor? {
        let rank = a.shape.count
        guard rank >= 3, b.shape.count == rank else { return nil }
        func isGate(_ small: [Int], of full: [Int]) -> Bool {
            small[0] == full[0] && small[rank - 1] == full[rank - 1] && small[1..<(rank - 1)].allSatisfy { $0 == 1 }
                && full[1..<(rank - 1)].contains { $0 != 1 }
        }
        let gateFirst: Bool
        if isGate(b.shape, of: a.shape) {
            gateFirst = false
        } else if isGate(a.shape, of: b.shape) {
            gateFirst = true
        } else {
            return nil
        }
        let (full, gate) = gateFirst ? (b, a) : (a, b)
        let (batch, channels) = (full.shape[0], full.shape[rank - 1])
        guard batch > 0, channels > 0 else { return nil }
        let perItem = full.count / batch
        let values = [Float](unsafeUninitializedCapacity: full.count) { y, initialized in
            full.values.withUnsafeBufferPointer { x in
                gate.values.withUnsafeBufferPointer { g in
                    guard let xp = x.baseAddress, let gp = g.baseAddress, let yp = y.baseAddress else { return }
                    for n in 0..<batch {
                        let gateRow = gp + n * channels
                        // The operand order chosen once per item, so the loop over channels vectorises.
                        for start in stride(from: n * perItem, to: (n + 1) * perItem, by: channels) {
                            let (source, target) = (xp + start, yp + start)
                            if gateFirst {
                                for c in 0..<channels { target[c] = op(gateRow[c], source[c]) }
                            } else {
                                for c in 0..<channels { target[c] = op(source[c], gateRow[c]) }
                            }
                        }
                    }
                }
            }
            initialized = full.count
        }
        return FloatTensor(shape: full.shape, values: values)
    }

    /// `inputs` joined along axis `a` (0-based); shapes checked by the operation.
    static func concatenate(_ inputs: [FloatTensor], axis a: Int, outputShape: [Int]) -> FloatTensor {
        let first = inputs[0]
        let outer = first.shape[..<a].reduce(1, *)
        let inner = first.shape[(a + 1)...].reduce(1, *)
        var y: [Float] = []
        y.reserveCapacity(outputShape.reduce(1, *))
        for o in 0..<outer {
            for input in inputs {
                let block = input.shape[a] * inner
                y.append(contentsOf: input.values[(o * block)..<((o + 1) * block)])
            }
        }
        return FloatTensor(shape: outputShape, values: y)
    }

    /// Softmax along axis `a` (0-based), stabilised by the maximum as TensorFlow's kernel is.
    static func softmax(_ x: FloatTensor, axis a: Int) -> FloatTensor {
        let size = x.shape[a]
        let inner = x.shape[(a + 1)...].reduce(1, *)
        let outer = x.shape[..<a].reduce(1, *)
        var y = x.values
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * size * inner + i
                var peak = -Float.infinity
                for k in 0..<size { peak = max(peak, y[base + k * inner]) }
                var sum: Float = 0
                for k in 0..<size {
                    let e = Foundation.exp(y[base + k * inner] - peak)
                    y[base + k * inner] = e
                    sum += e
                }
                for k in 0..<size { y[base + k * inner] /= sum }
            }
        }
        return FloatTensor(shape: x.shape, values: y)
    }

    /// `x` with its axes reordered: output axis `i` is input axis `axes[i]` (a permutation).
    static func transpose(_ x: FloatTensor, axes: [Int]) -> FloatTensor {
        let rank = x.shape.count
        var inputStrides = [Int](repeating: 1, count: rank)
        for axis in stride(from: rank - 2, through: 0, by: -1) {
            inputStrides[axis] = inputStrides[axis + 1] * x.shape[axis + 1]
        }
        let shape = axes.map { x.shape[$0] }
        let strides = axes.map { inputStrides[$0] }
        var y = [Float](repeating: 0, count: x.count)
        x.values.withUnsafeBufferPointer { x in
            forEachOffset(shape, strides: strides) { i, offset in y[i] = x[offset] }
        }
        return FloatTensor(shape: shape, values: y)
    }

    /// Calls `body` with each row-major index `i` of a value of `shape` and the offset `Σ position · strides` of that
    /// position, in order. The offset is kept by an odometer (one addition a step, a carry at the end of an axis)
    /// rather than recomputed per element.
    @inline(__always)
    static func forEachOffset(_ shape: [Int], strides: [Int], _ body: (_ i: Int, _ offset: Int) -> Void) {
        let count = shape.reduce(1, *)
        var position = [Int](repeating: 0, count: shape.count)
        var offset = 0
        for i in 0..<count {
            body(i, offset)
            var axis = shape.count - 1
            while axis >= 0 {
                position[axis] += 1
                offset += strides[axis]
                if position[axis] < shape[axis] { break }
                offset -= strides[axis] * position[axis]
                position[axis] = 0
                axis -= 1
            }
        }
    }
}
