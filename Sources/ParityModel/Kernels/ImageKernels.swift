import Foundation
import TensorCore

/// The sizes of an NHWC input the operation has already checked.
struct ImageShape {
    var batch: Int
    var height: Int
    var width: Int
    var channels: Int

    init(_ shape: [Int]) {
        precondition(shape.count == 4, "image kernels take NHWC values, got \(shape)")
        (batch, height, width, channels) = (shape[0], shape[1], shape[2], shape[3])
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
    /// The window's placement on both axes; `outputShape` checked the window fits.
    private static func axes(_ image: ImageShape, kernel: [Int], strides: [Int], dilation: [Int], padding: Padding)
        -> (WindowAxis, WindowAxis)
    {
        guard
            let rows = WindowAxis(
                input: image.height, kernel: kernel[0], stride: strides[0], dilation: dilation[0], padding: padding),
            let columns = WindowAxis(
                input: image.width, kernel: kernel[1], stride: strides[1], dilation: dilation[1], padding: padding)
        else { preconditionFailure("a window checked to fit does not fit \(image)") }
        return (rows, columns)
    }

    /// `conv2d(x, kernel)` with `kernel [kh, kw, in / groups, out]` packed per group (`kernels[g]` the
    /// `[kh·kw·in/groups, out/groups]` matrix of group `g`'s output channels): per group, the patches of its input
    /// channels gathered row by row (im2col), then one matmul. TensorFlow's grouped convolution: output channel `o`
    /// reads input channels `g·in/groups ..< (g+1)·in/groups` for `g = o / (out / groups)`.
    static func conv2D(
        _ input: FloatTensor, kernels: [PackedMatrix], kernelShape: [Int], geometry: Convolution2D, outputShape: [Int]
    ) -> FloatTensor {
        let (x, image) = (input.values, ImageShape(input.shape))
        let (kh, kw, groupChannels, outChannels) = (kernelShape[0], kernelShape[1], kernelShape[2], kernelShape[3])
        let groups = kernels.count
        let (rows, columns) = axes(
            image, kernel: [kh, kw], strides: geometry.strides, dilation: geometry.dilation,
            padding: geometry.padding)
        let pixels = image.batch * rows.output * columns.output
        let shape = [image.batch, rows.output, columns.output, outChannels]
        if groups == 1, kh == 1, kw == 1, geometry.strides == [1, 1], rows.padBefore == 0, columns.padBefore == 0 {
            let y = Kernels.matmul(x, rows: pixels, kernels[0])
            return FloatTensor(shape: shape, values: y)
        }
        let patch = kh * kw * groupChannels
        var patches = [Float](repeating: 0, count: pixels * patch)
        if groups == 1 {
            gatherPatches(
                x, image, into: &patches, rows: rows, columns: columns, geometry: geometry, kernel: [kh, kw],
                channels: 0..<groupChannels)
            return FloatTensor(shape: shape, values: Kernels.matmul(patches, rows: pixels, kernels[0]))
        }
        let groupOutputs = outChannels / groups
        var y = [Float](repeating: 0, count: pixels * outChannels)
        for (g, kernel) in kernels.enumerated() {
            if g > 0 { patches.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
            gatherPatches(
                x, image, into: &patches, rows: rows, columns: columns, geometry: geometry, kernel: [kh, kw],
                channels: (g * groupChannels)..<((g + 1) * groupChannels))
            let part = Kernels.matmul(patches, rows: pixels, kernel)
            y.withUnsafeMutableBufferPointer { y in
                part.withUnsafeBufferPointer { part in
                    guard let target = y.baseAddress, let source = part.baseAddress else { return }
                    for pixel in 0..<pixels {
                        (target + pixel * outChannels + g * groupOutputs).update(
                            from: source + pixel * groupOutputs, count: groupOutputs)
                    }
                }
            }
        }
        return FloatTensor(shape: shape, values: y)
    }

    /// A grouped convolution with small groups (RegNet's, eight channels each) computed directly: per output pixel
    /// and group, the group's window gathered into a scratch row, then `window · kernel[g]` summed eight output
    /// channels at a time in `(ky, kx, c)` order. `kernel` holds the groups' `[kh·kw·in/groups, out/groups]` matrices
    /// one after another, row-major.
    static func groupedConv2D(
        _ input: FloatTensor, kernel: [Float], kernelShape: [Int], groups: Int, geometry: Convolution2D,
        outputShape: [Int]
    ) -> FloatTensor {
        let image = ImageShape(input.shape)
        let (kh, kw, groupChannels, outChannels) = (kernelShape[0], kernelShape[1], kernelShape[2], kernelShape[3])
        let groupOutputs = outChannels / groups
        let (rows, columns) = axes(
            image, kernel: [kh, kw], strides: geometry.strides, dilation: geometry.dilation,
            padding: geometry.padding)
        let inner = kh * kw * groupChannels
        let (sh, sw) = (geometry.strides[0], geometry.strides[1])
        let (dh, dw) = (geometry.dilation[0], geometry.dilation[1])
        let outputRows = image.batch * rows.output
        var y = [Float](repeating: 0, count: outputRows * columns.output * outChannels)
        input.values.withUnsafeBufferPointer { x in
            kernel.withUnsafeBufferPointer { k in
                y.withUnsafeMutableBufferPointer { y in
                    guard let xBase = x.baseAddress, let kBase = k.baseAddress, let yBase = y.baseAddress else {
                        return
                    }
                    let buffers = DepthwiseBuffers(x: xBase, k: kBase, y: yBase)
                    Parallel.forEach(outputRows, work: y.count * inner) { outputRow in
                        let (b, oy) = (outputRow / rows.output, outputRow % rows.output)
                        let window = UnsafeMutablePointer<Float>.allocate(capacity: inner)
                        defer { window.deallocate() }
                        for ox in 0..<columns.output {
                            let target = buffers.y + (outputRow * columns.output + ox) * outChannels
                            for g in 0..<groups {
                                window.initialize(repeating: 0, count: inner)
                                for ky in 0..<kh {
                                    let iy = oy * sh - rows.padBefore + ky * dh
                                    guard iy >= 0, iy < image.height else { continue }
                                    for kx in 0..<kw {
                                        let ix = ox * sw - columns.padBefore + kx * dw
                                        guard ix >= 0, ix < image.width else { continue }
                                        (window + (ky * kw + kx) * groupChannels).update(
                                            from: buffers.x + ((b * image.height + iy) * image.width + ix)
                                                * image.channels + g * groupChannels, count: groupChannels)
                                    }
                                }
                                let weights = buffers.k + g * inner * groupOutputs
                                let out = target + g * groupOutputs
                                var o = 0
                                while o + 8 <= groupOutputs {
                                    var sum = SIMD8<Float>()
                                    for p in 0..<inner {
                                        sum +=
                                            SIMD8(repeating: window[p])
                                            * UnsafeRawPointer(weights + p * groupOutputs + o).loadUnaligned(
                                                as: SIMD8<Float>.self)
                                    }
                                    UnsafeMutableRawPointer(out + o).storeBytes(of: sum, as: SIMD8<Float>.self)
                                    o += 8
                                }
                                while o < groupOutputs {
                                    var sum: Float = 0
                                    for p in 0..<inner { sum += window[p] * weights[p * groupOutputs + o] }
                                    out[o] = sum
                                    o += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        return FloatTensor(shape: outputShape, values: y)
    }

    /// Fills `patches` (zeroed, `[pixels, kh·kw·channels.count]`) with each output pixel's window over input
    /// channels `channels`, in `(ky, kx, c)` order; padded positions stay zero.
    private static func gatherPatches(
        _ x: [Float], _ image: ImageShape, into patches: inout [Float], rows: WindowAxis, columns: WindowAxis,
        geometry: Convolution2D, kernel: [Int], channels: Range<Int>
    ) {
        let (kh, kw, c) = (kernel[0], kernel[1], channels.count)
        let patch = kh * kw * c
        let (sh, sw) = (geometry.strides[0], geometry.strides[1])
        let (dh, dw) = (geometry.dilation[0], geometry.dilation[1])
        let outputRows = image.batch * rows.output
        let (firstChannel, inChannels) = (channels.lowerBound, image.channels)
        x.withUnsafeBufferPointer { x in
            patches.withUnsafeMutableBufferPointer { patches in
                guard let source = x.baseAddress, let target = patches.baseAddress else { return }
                let buffers = ImageBuffers(x: source, y: target)
                // One output row (all its columns) per iteration; iterations write disjoint patch rows.
                Parallel.forEach(outputRows, work: outputRows * columns.output * patch) { outputRow in
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
                                    from: buffers.x + ((b * image.height + iy) * image.width + ix) * inChannels
                                        + firstChannel, count: c)
                            }
                        }
                    }
                }
            }
        }
    }

    /// TensorFlow's `depthwise_conv2d`: output channel `c * multiplier + m` is input channel `c` convolved with
    /// `kernel[:, :, c, m]`.
    static func depthwiseConv2D(
        _ input: FloatTensor, kernel: [Float], kernelShape: [Int], geometry: Convolution2D, outputShape: [Int]
    ) -> FloatTensor {
        let (x, image) = (input.values, ImageShape(input.shape))
        let (kh, kw, c, multiplier) = (kernelShape[0], kernelShape[1], kernelShape[2], kernelShape[3])
        let (rows, columns) = axes(
            image, kernel: [kh, kw], strides: geometry.strides, dilation: geometry.dilation,
            padding: geometry.padding)
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
    static func pool2D(_ x: FloatTensor, _ pooling: Pooling2D, average: Bool, outputShape: [Int]) -> FloatTensor {
        let image = ImageShape(x.shape)
        let (rows, columns) = axes(
            image, kernel: pooling.poolSize, strides: pooling.strides, dilation: [1, 1], padding: pooling.padding)
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

extension ImageKernels {
    /// `[N, C]` (or `[N, 1, 1, C]` with `keepdims`) from an NHWC input.
    static func globalPoolShape(_ input: ValueShape, keepdims: Bool) throws(LayerProblem) -> ValueShape {
        let image = try ImageDims(input)
        return ValueShape(keepdims ? [image.batch, 1, 1, image.channels] : [image.batch, image.channels])
    }

    /// Mean or maximum over height and width, summed in float32 in pixel order.
    static func globalPool(_ x: FloatTensor, average: Bool, outputShape: [Int]) -> FloatTensor {
        let image = ImageShape(x.shape)
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
        return FloatTensor(shape: outputShape, values: y)
    }
}
