import Foundation

/// The numeric kernels, in plain Swift.
enum Kernels {
    /// `x[rows, w.inner] · w`, summed in float32 by the blocked SIMD kernel `Gemm` (as TensorFlow's Eigen and oneDNN
    /// kernels do: blocked float32 sums, so neither side is the exact value; the difference stays of the order of
    /// float32 rounding of the terms).
    static func matmul(_ x: [Float], rows: Int, _ w: PackedMatrix) -> [Float] {
        precondition(x.count == rows * w.inner, "matmul: \(x.count) values for [\(rows), \(w.inner)]")
        return x.withUnsafeBufferPointer { x in
            guard let xBase = x.baseAddress else { return [Float](repeating: 0, count: rows * w.columns) }
            return matmul(xBase, rows: rows, w)
        }
    }

    /// `matmul` of `x[rows, w.inner]` at `x`. `Gemm.multiply` writes every element of the product, so the new array
    /// is not zeroed first.
    static func matmul(_ x: UnsafePointer<Float>, rows: Int, _ w: PackedMatrix) -> [Float] {
        let count = rows * w.columns
        return [Float](unsafeUninitializedCapacity: count) { y, initialized in
            if let yBase = y.baseAddress { Gemm.multiply(x, rows: rows, w, into: yBase) }
            initialized = count
        }
    }

    /// `matmul`, then `finish` over every row: each part of the product as soon as it is computed where `w`'s kernel
    /// computes it in parts (`RowFinishingOperand`), else in runs over the cores after.
    static func matmul(_ x: UnsafePointer<Float>, rows: Int, _ w: PackedMatrix, finishing finish: RowFinishing)
        -> [Float]
    {
        guard let operand = w.operand as? any RowFinishingOperand, rows > 0, w.inner > 0, w.columns > 0 else {
            var y = matmul(x, rows: rows, w)
            y.withUnsafeMutableBufferPointer { y in
                guard let base = y.baseAddress else { return }
                Parallel.finish(rows: rows, columns: w.columns, of: base, finish.all)
            }
            return y
        }
        let count = rows * w.columns
        return [Float](unsafeUninitializedCapacity: count) { y, initialized in
            if let yBase = y.baseAddress { operand.multiply(rows: rows, x, into: yBase, finishing: finish) }
            initialized = count
        }
    }

    /// `y[row, j] += bias[j]` for every row of `bias.count` values, eight columns at a time (each sum rounded once,
    /// as the scalar loop's).
    static func addBias(_ y: inout [Float], _ bias: [Float]) {
        y.withUnsafeMutableBufferPointer { y in addBias(y, bias) }
    }

    /// `addBias` on the whole rows at `y`.
    static func addBias(_ y: UnsafeMutableBufferPointer<Float>, _ bias: [Float]) {
        let columns = bias.count
        bias.withUnsafeBufferPointer { bias in
            guard let yp = y.baseAddress, let b = bias.baseAddress, columns > 0 else { return }
            for start in stride(from: 0, to: y.count, by: columns) {
                let row = yp + start
                var j = 0
                while j + 8 <= columns {
                    let sum = load(row + j) + load(b + j)
                    UnsafeMutableRawPointer(row + j).storeBytes(of: sum, as: SIMD8<Float>.self)
                    j += 8
                }
                while j < columns {
                    row[j] += b[j]
                    j += 1
                }
            }
        }
    }

    /// `x * scale[c] + offset[c]` where the channel `c` of flat index `i` is `(i / inner) % channels`: a product
    /// rounded, then a sum rounded, per element (never fused), eight channels at a time where channels are last.
    static func scaleAndShift(
        _ x: [Float], _ scale: [Float], _ offset: [Float], inner: Int, kernels: VectorKernels = .portable
    ) -> [Float] {
        let channels = scale.count
        return [Float](unsafeUninitializedCapacity: x.count) { y, initialized in
            x.withUnsafeBufferPointer { x in
                scale.withUnsafeBufferPointer { scale in
                    offset.withUnsafeBufferPointer { offset in
                        guard let xp = x.baseAddress, let yp = y.baseAddress, let s = scale.baseAddress,
                            let o = offset.baseAddress
                        else { return }
                        if inner == 1, let wide = kernels.scaleAndShift {
                            wide(xp, yp, x.count, s, o, channels)
                        } else if inner == 1 {
                            for start in stride(from: 0, to: x.count, by: channels) {
                                scaleAndShiftRow(xp + start, into: yp + start, s, o, channels: channels)
                            }
                        } else {
                            for i in 0..<x.count {
                                let c = (i / inner) % channels
                                yp[i] = xp[i] * s[c] + o[c]
                            }
                        }
                    }
                }
            }
            initialized = x.count
        }
    }

    /// One channels-last row: `target[c] = source[c] · s[c] + o[c]`, eight channels at a time (`source` may be
    /// `target`).
    @inline(__always)
    private static func scaleAndShiftRow(
        _ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, _ s: UnsafePointer<Float>,
        _ o: UnsafePointer<Float>, channels: Int
    ) {
        var c = 0
        while c + 8 <= channels {
            let value = load(source + c) * load(s + c) + load(o + c)
            UnsafeMutableRawPointer(target + c).storeBytes(of: value, as: SIMD8<Float>.self)
            c += 8
        }
        while c < channels {
            target[c] = source[c] * s[c] + o[c]
            c += 1
        }
    }

    /// `scaleAndShift` of the `count` channels-last elements at `y` (`inner` 1, whole rows), in place.
    static func scaleAndShift(
        _ y: UnsafeMutablePointer<Float>, count: Int, _ scale: [Float], _ offset: [Float],
        kernels: VectorKernels = .portable
    ) {
        let channels = scale.count
        scale.withUnsafeBufferPointer { scale in
            offset.withUnsafeBufferPointer { offset in
                guard let s = scale.baseAddress, let o = offset.baseAddress else { return }
                if let wide = kernels.scaleAndShift {
                    wide(y, y, count, s, o, channels)
                    return
                }
                for start in stride(from: 0, to: count, by: channels) {
                    scaleAndShiftRow(y + start, into: y + start, s, o, channels: channels)
                }
            }
        }
    }

    /// `min(max(x, 0), maximum)` elementwise (`max(x, 0)` without a maximum) as Swift's `max` and `min` compute it
    /// (NaN stays NaN, -0 becomes 0), written into a new array in one vectorised pass.
    static func clamped(_ x: [Float], maximum: Float?, kernels: VectorKernels = .portable) -> [Float] {
        [Float](unsafeUninitializedCapacity: x.count) { y, initialized in
            x.withUnsafeBufferPointer { x in
                guard let xp = x.baseAddress, let yp = y.baseAddress else { return }
                clamp(xp, into: yp, count: x.count, maximum: maximum, kernels: kernels)
            }
            initialized = x.count
        }
    }

    /// `clamped`, from `x` into `y` (which may be `x`); by `kernels`' wider clamp where it has one.
    static func clamp(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int, maximum: Float?,
        kernels: VectorKernels = .portable
    ) {
        if let wide = kernels.clamp {
            wide(x, y, count, maximum)
            return
        }
        // Swift's `max(a, b)` is `b >= a ? b : a` and `min(a, b)` is `b < a ? b : a`: the same selects, lane-wise.
        let zero = SIMD8<Float>()
        var i = 0
        if let maximum {
            let top = SIMD8<Float>(repeating: maximum)
            while i + 8 <= count {
                var v = load(x + i)
                v.replace(with: zero, where: zero .>= v)
                v.replace(with: top, where: top .< v)
                UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: SIMD8<Float>.self)
                i += 8
            }
            while i < count {
                y[i] = min(max(x[i], 0), maximum)
                i += 1
            }
        } else {
            while i + 8 <= count {
                var v = load(x + i)
                v.replace(with: zero, where: zero .>= v)
                UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: SIMD8<Float>.self)
                i += 8
            }
            while i < count {
                y[i] = max(x[i], 0)
                i += 1
            }
        }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
}
