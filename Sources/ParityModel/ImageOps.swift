import Foundation
import TensorCore

/// The sizes of an NHWC input, checked against what a layer expects.
struct ImageShape {
    var batch: Int
    var height: Int
    var width: Int
    var channels: Int

    /// Requires `x` to be rank 4 (`[N, H, W, C]`), with `channels` channels when given.
    init(_ x: FloatTensor, layer: String, channels expected: Int? = nil) throws {
        guard x.shape.count == 4, expected == nil || x.shape[3] == expected else {
            let channels = expected.map(String.init) ?? "C"
            throw EngineError.inputShape(layer: layer, expected: "[N, H, W, \(channels)] (NHWC)", actual: x.shape)
        }
        batch = x.shape[0]
        height = x.shape[1]
        width = x.shape[2]
        channels = x.shape[3]
    }
}

/// One spatial axis of a window op: its output size and the padding before the first element.
struct WindowAxis {
    var output: Int
    var padBefore: Int

    /// TensorFlow's rule: `VALID` gives `(input - effective) / stride + 1`; `SAME` gives `ceil(input / stride)`
    /// and pads `max((output - 1) * stride + effective - input, 0)`, the odd element after (bottom/right).
    init?(input: Int, kernel: Int, stride: Int, dilation: Int, padding: Padding) {
        let effective = (kernel - 1) * dilation + 1
        switch padding {
        case .valid:
            guard input >= effective else { return nil }
            output = (input - effective) / stride + 1
            padBefore = 0
        case .same:
            output = (input + stride - 1) / stride
            padBefore = max((output - 1) * stride + effective - input, 0) / 2
        }
    }
}

/// Source and target of an image op, shared by its row tasks: each reads `x` and writes only its own rows of `y`,
/// inside the buffers' lifetime.
private struct ImageBuffers: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
}

/// A depthwise convolution's operands, shared by its row tasks as `ImageBuffers` are.
private struct DepthwiseBuffers: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let k: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
}

/// Splitting a loop over the cores.
enum Parallel {
    /// Runs `body(i)` for every `i` in `0..<count`, on all cores when `work` (a rough count of operations) is large
    /// enough to pay for it. `body` must write only what iteration `i` owns.
    static func forEach(_ count: Int, work: Int, _ body: @Sendable (Int) -> Void) {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        guard count > 1, cores > 1, work >= 1 << 16 else {
            for i in 0..<count { body(i) }
            return
        }
        let chunks = min(count, cores * 4)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * count / chunks
            let end = (chunk + 1) * count / chunks
            for i in start..<end { body(i) }
        }
    }
}

/// `target[i] += source[i] * weights[i]` for `i` in `0..<count`, eight lanes at a time.
@inline(__always)
private func multiplyAdd(
    _ target: UnsafeMutablePointer<Float>, _ source: UnsafePointer<Float>, _ weights: UnsafePointer<Float>, count: Int
) {
    var i = 0
    while i + 8 <= count {
        let t = UnsafeMutableRawPointer(target + i)
        let sum =
            t.loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self)
            * UnsafeRawPointer(weights + i).loadUnaligned(as: SIMD8<Float>.self)
        t.storeBytes(of: sum, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        target[i] += source[i] * weights[i]
        i += 1
    }
}

/// Convolutions and pooling over NHWC float32 tensors, following TensorFlow's definitions.
enum ImageKernels {
    private static func axes(
        _ image: ImageShape, kernel: [Int], strides: [Int], dilation: [Int], padding: Padding, layer: String,
        input: [Int]
    ) throws -> (WindowAxis, WindowAxis) {
        guard
            let rows = WindowAxis(
                input: image.height, kernel: kernel[0], stride: strides[0], dilation: dilation[0], padding: padding),
            let columns = WindowAxis(
                input: image.width, kernel: kernel[1], stride: strides[1], dilation: dilation[1], padding: padding)
        else {
            throw EngineError.inputShape(
                layer: layer, expected: "height and width at least the \(kernel[0])×\(kernel[1]) window",
                actual: input)
        }
        return (rows, columns)
    }

    /// `conv2d(x, kernel)` with `kernel [kh, kw, in, out]`: patches gathered row by row (im2col), then one matmul.
    static func conv2D(
        _ x: [Float], _ image: ImageShape, kernel: PackedMatrix, kernelShape: [Int], geometry: Convolution2D,
        layer: String
    ) throws -> FloatTensor {
        let (kh, kw, c, outChannels) = (kernelShape[0], kernelShape[1], kernelShape[2], kernelShape[3])
        let (rows, columns) = try axes(
            image, kernel: [kh, kw], strides: geometry.strides, dilation: geometry.dilation,
            padding: geometry.padding, layer: layer,
            input: [image.batch, image.height, image.width, image.channels])
        let pixels = image.batch * rows.output * columns.output
        let shape = [image.batch, rows.output, columns.output, outChannels]
        if kh == 1, kw == 1, geometry.strides == [1, 1], rows.padBefore == 0, columns.padBefore == 0 {
            let y = Kernels.matmul(x, rows: pixels, kernel)
            return FloatTensor(shape: shape, values: y)
        }
        let patch = kh * kw * c
        var patches = [Float](repeating: 0, count: pixels * patch)
        let (sh, sw) = (geometry.strides[0], geometry.strides[1])
        let (dh, dw) = (geometry.dilation[0], geometry.dilation[1])
        let outputRows = image.batch * rows.output
        x.withUnsafeBufferPointer { x in
            patches.withUnsafeMutableBufferPointer { patches in
                guard let source = x.baseAddress, let target = patches.baseAddress else { return }
                let buffers = ImageBuffers(x: source, y: target)
                // One output row (all its columns) per iteration; iterations write disjoint patch rows.
                Parallel.forEach(outputRows, work: pixels * patch) { outputRow in
                    let (b, oy) = (outputRow / rows.output, outputRow % rows.output)
                    for ox in 0..<columns.output {
                        let base = buffers.y + (outputRow * columns.output + ox) * patch
                        for ky in 0..<kh {
                            let iy = oy * sh - rows.padBefore + ky * dh
                            guard iy >= 0, iy < image.height else { continue }
                            for kx in 0..<kw {
                                let ix = ox * sw - columns.padBefore + kx * dw
                                guard ix >= 0, ix < image.width else { continue }
                                (base + (ky * kw + kx) * c).update(
                                    from: buffers.x + ((b * image.height + iy) * image.width + ix) * c, count: c)
                            }
                        }
                    }
                }
            }
        }
        let y = Kernels.matmul(patches, rows: pixels, kernel)
        return FloatTensor(shape: shape, values: y)
    }

    /// TensorFlow's `depthwise_conv2d`: output channel `c * multiplier + m` is input channel `c` convolved with
    /// `kernel[:, :, c, m]`.
    static func depthwiseConv2D(
        _ x: [Float], _ image: ImageShape, kernel: [Float], kernelShape: [Int], geometry: Convolution2D,
        layer: String
    ) throws -> FloatTensor {
        let (kh, kw, c, multiplier) = (kernelShape[0], kernelShape[1], kernelShape[2], kernelShape[3])
        let (rows, columns) = try axes(
            image, kernel: [kh, kw], strides: geometry.strides, dilation: geometry.dilation,
            padding: geometry.padding, layer: layer,
            input: [image.batch, image.height, image.width, image.channels])
        let outChannels = c * multiplier
        var y = [Float](repeating: 0, count: image.batch * rows.output * columns.output * outChannels)
        let (sh, sw) = (geometry.strides[0], geometry.strides[1])
        let (dh, dw) = (geometry.dilation[0], geometry.dilation[1])
        // Summed in float32 over the window in (ky, kx) order, as TensorFlow's depthwise kernels do; eight channels
        // at a time. Iterations are output rows, each writing only its own row.
        let outputRows = image.batch * rows.output
        x.withUnsafeBufferPointer { x in
            kernel.withUnsafeBufferPointer { k in
                y.withUnsafeMutableBufferPointer { y in
                    guard let xBase = x.baseAddress, let kBase = k.baseAddress, let yBase = y.baseAddress else {
                        return
                    }
                    let buffers = DepthwiseBuffers(x: xBase, k: kBase, y: yBase)
                    Parallel.forEach(outputRows, work: y.count * kh * kw) { outputRow in
                        let (b, oy) = (outputRow / rows.output, outputRow % rows.output)
                        let (x, k) = (buffers.x, buffers.k)
                        for ox in 0..<columns.output {
                            let target = buffers.y + (outputRow * columns.output + ox) * outChannels
                            target.initialize(repeating: 0, count: outChannels)
                            for ky in 0..<kh {
                                let iy = oy * sh - rows.padBefore + ky * dh
                                guard iy >= 0, iy < image.height else { continue }
                                for kx in 0..<kw {
                                    let ix = ox * sw - columns.padBefore + kx * dw
                                    guard ix >= 0, ix < image.width else { continue }
                                    let source = x + ((b * image.height + iy) * image.width + ix) * c
                                    let weights = k + (ky * kw + kx) * outChannels
                                    if multiplier == 1 {
                                        multiplyAdd(target, source, weights, count: c)
                                    } else {
                                        for ci in 0..<c {
                                            let value = source[ci]
                                            for m in 0..<multiplier {
                                                let o = ci * multiplier + m
                                                target[o] += value * weights[o]
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return FloatTensor(shape: [image.batch, rows.output, columns.output, outChannels], values: y)
    }

    /// Max or average pooling. Padded positions never count: max ignores them, average divides by the number
    /// of real elements in each window (TensorFlow's `avg_pool` with `SAME`).
    static func pool2D(_ x: FloatTensor, _ pooling: Pooling2D, average: Bool, layer: String) throws -> FloatTensor {
        let image = try ImageShape(x, layer: layer)
        let (rows, columns) = try axes(
            image, kernel: pooling.poolSize, strides: pooling.strides, dilation: [1, 1], padding: pooling.padding,
            layer: layer, input: x.shape)
        let c = image.channels
        var y = [Float](repeating: 0, count: image.batch * rows.output * columns.output * c)
        var accumulator = [Float](repeating: 0, count: c)
        x.values.withUnsafeBufferPointer { x in
            var pixel = 0
            for b in 0..<image.batch {
                for oy in 0..<rows.output {
                    for ox in 0..<columns.output {
                        let y0 = max(oy * pooling.strides[0] - rows.padBefore, 0)
                        let y1 = min(oy * pooling.strides[0] - rows.padBefore + pooling.poolSize[0], image.height)
                        let x0 = max(ox * pooling.strides[1] - columns.padBefore, 0)
                        let x1 = min(ox * pooling.strides[1] - columns.padBefore + pooling.poolSize[1], image.width)
                        for ci in 0..<c { accumulator[ci] = average ? 0 : -Float.infinity }
                        for iy in y0..<max(y1, y0) {
                            for ix in x0..<max(x1, x0) {
                                let source = ((b * image.height + iy) * image.width + ix) * c
                                if average {
                                    for ci in 0..<c { accumulator[ci] += x[source + ci] }
                                } else {
                                    for ci in 0..<c where !(x[source + ci] <= accumulator[ci]) {
                                        accumulator[ci] = x[source + ci]
                                    }
                                }
                            }
                        }
                        let count = Float(max(y1 - y0, 0) * max(x1 - x0, 0))
                        let target = pixel * c
                        for ci in 0..<c { y[target + ci] = average ? accumulator[ci] / count : accumulator[ci] }
                        pixel += 1
                    }
                }
            }
        }
        return FloatTensor(shape: [image.batch, rows.output, columns.output, c], values: y)
    }
}

/// The ops without parameters: padding, global pooling, reshaping, merging, elementwise layers.
enum ShapeOps {
    static func apply(_ op: LayerOp, to inputs: [FloatTensor], layer: String) throws -> FloatTensor {
        guard let x = inputs.first else { throw EngineError.missingValue(layer: layer, input: Model.inputName) }
        switch op {
        case .zeroPadding2D(let top, let bottom, let left, let right):
            return try zeroPad(x, top: top, bottom: bottom, left: left, right: right, layer: layer)
        case .maxPooling2D(let pooling):
            return try ImageKernels.pool2D(x, pooling, average: false, layer: layer)
        case .averagePooling2D(let pooling):
            return try ImageKernels.pool2D(x, pooling, average: true, layer: layer)
        case .globalAveragePooling2D(let keepDims), .globalMaxPooling2D(let keepDims):
            let image = try ImageShape(x, layer: layer)
            let average: Bool
            if case .globalAveragePooling2D = op { average = true } else { average = false }
            let c = image.channels
            let area = image.height * image.width
            var y = [Float](repeating: average ? 0 : -Float.infinity, count: image.batch * c)
            for b in 0..<image.batch {
                for p in 0..<area {
                    let source = (b * area + p) * c
                    for ci in 0..<c {
                        let value = x.values[source + ci]
                        if average {
                            y[b * c + ci] += value
                        } else if !(value <= y[b * c + ci]) {
                            y[b * c + ci] = value
                        }
                    }
                }
            }
            if average { for i in y.indices { y[i] /= Float(area) } }
            return FloatTensor(shape: keepDims ? [image.batch, 1, 1, c] : [image.batch, c], values: y)
        case .flatten:
            guard let batch = x.shape.first else {
                throw EngineError.inputShape(layer: layer, expected: "[N, …]", actual: x.shape)
            }
            return FloatTensor(shape: [batch, batch == 0 ? 0 : x.count / batch], values: x.values)
        case .reshape(let target):
            guard let batch = x.shape.first else {
                throw EngineError.inputShape(layer: layer, expected: "[N, …]", actual: x.shape)
            }
            var shape = target
            let known = target.filter { $0 != -1 }.reduce(1, *)
            let perSample = batch == 0 ? 0 : x.count / batch
            if let unknown = target.firstIndex(of: -1), known > 0, perSample % known == 0 {
                shape[unknown] = perSample / known
            }
            guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == perSample else {
                throw EngineError.inputShape(
                    layer: layer, expected: "\(perSample) values per sample to fit \(Shape.describe(target))",
                    actual: x.shape)
            }
            return FloatTensor(shape: [batch] + shape, values: x.values)
        case .add, .multiply:
            var y = x
            let isAdd = op == .add
            for other in inputs.dropFirst() {
                if other.shape == y.shape {
                    combine(&y.values, other.values, add: isAdd)
                } else {
                    y = try broadcast(y, other, layer: layer, isAdd ? (+) : (*))
                }
            }
            return y
        case .concatenate(let axis):
            return try concatenate(inputs, axis: axis, layer: layer)
        case .relu(let maxValue, let slope, let threshold):
            var y = x.values
            for i in y.indices {
                let value = y[i]
                var out = threshold != 0 ? (value > threshold ? value : 0) : max(value, 0)
                if let maxValue { out = min(max(out, 0), maxValue) }
                if slope != 0 { out -= slope * max(-value + threshold, 0) }
                y[i] = out
            }
            return FloatTensor(shape: x.shape, values: y)
        case .softmax(let axis):
            return try softmax(x, axis: axis, layer: layer)
        case .rescaling(let scale, let offset):
            return FloatTensor(shape: x.shape, values: x.values.map { $0 * scale + offset })
        case .dense, .batchNormalization, .activation, .dropout, .conv2D, .depthwiseConv2D, .separableConv2D:
            preconditionFailure("layer '\(layer)': \(op.typeName) has parameters and is not a shape op")
        }
    }

    static func zeroPad(_ x: FloatTensor, top: Int, bottom: Int, left: Int, right: Int, layer: String) throws
        -> FloatTensor
    {
        let image = try ImageShape(x, layer: layer)
        let height = image.height + top + bottom
        let width = image.width + left + right
        let c = image.channels
        var y = [Float](repeating: 0, count: image.batch * height * width * c)
        for b in 0..<image.batch {
            for iy in 0..<image.height {
                let source = (b * image.height + iy) * image.width * c
                let target = ((b * height + iy + top) * width + left) * c
                for i in 0..<(image.width * c) { y[target + i] = x.values[source + i] }
            }
        }
        return FloatTensor(shape: [image.batch, height, width, c], values: y)
    }

    /// `y[i] += b[i]` or `y[i] *= b[i]` for equal shapes.
    static func combine(_ y: inout [Float], _ b: [Float], add: Bool) {
        precondition(y.count == b.count, "combine: \(y.count) and \(b.count) values")
        y.withUnsafeMutableBufferPointer { y in
            b.withUnsafeBufferPointer { b in
                if add {
                    for i in 0..<y.count { y[i] += b[i] }
                } else {
                    for i in 0..<y.count { y[i] *= b[i] }
                }
            }
        }
    }

    /// `a op b` with NumPy broadcasting (shapes aligned at the last axis, size-1 axes stretched).
    static func broadcast(_ a: FloatTensor, _ b: FloatTensor, layer: String, _ op: (Float, Float) -> Float) throws
        -> FloatTensor
    {
        if a.shape == b.shape {
            var y = a.values
            for i in y.indices { y[i] = op(y[i], b.values[i]) }
            return FloatTensor(shape: a.shape, values: y)
        }
        let rank = max(a.shape.count, b.shape.count)
        let sa = [Int](repeating: 1, count: rank - a.shape.count) + a.shape
        let sb = [Int](repeating: 1, count: rank - b.shape.count) + b.shape
        var shape: [Int] = []
        for (p, q) in zip(sa, sb) {
            guard p == q || p == 1 || q == 1 else {
                throw EngineError.inputShape(
                    layer: layer, expected: "a shape broadcastable with \(Shape.describe(a.shape))", actual: b.shape)
            }
            shape.append(p == 1 ? q : p)
        }
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

    static func concatenate(_ inputs: [FloatTensor], axis: Int, layer: String) throws -> FloatTensor {
        guard let first = inputs.first else { throw EngineError.missingValue(layer: layer, input: Model.inputName) }
        let rank = first.shape.count
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else {
            throw EngineError.inputShape(
                layer: layer, expected: "a rank above \(axis) for axis \(axis)", actual: first.shape)
        }
        for input in inputs {
            var p = input.shape
            var q = first.shape
            guard p.count == rank else {
                throw EngineError.inputShape(layer: layer, expected: "rank \(rank) like the first input", actual: p)
            }
            p[a] = 0
            q[a] = 0
            guard p == q else {
                throw EngineError.inputShape(
                    layer: layer, expected: "\(Shape.describe(first.shape)) except on axis \(axis)",
                    actual: input.shape)
            }
        }
        let outer = first.shape[..<a].reduce(1, *)
        let inner = first.shape[(a + 1)...].reduce(1, *)
        var shape = first.shape
        shape[a] = inputs.map { $0.shape[a] }.reduce(0, +)
        var y: [Float] = []
        y.reserveCapacity(shape.reduce(1, *))
        for o in 0..<outer {
            for input in inputs {
                let block = input.shape[a] * inner
                y.append(contentsOf: input.values[(o * block)..<((o + 1) * block)])
            }
        }
        return FloatTensor(shape: shape, values: y)
    }

    static func softmax(_ x: FloatTensor, axis: Int, layer: String) throws -> FloatTensor {
        let rank = x.shape.count
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else {
            throw EngineError.inputShape(
                layer: layer, expected: "a rank above \(axis) for axis \(axis)", actual: x.shape)
        }
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
}
