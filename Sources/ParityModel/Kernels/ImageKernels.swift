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

    /// The shape with `edges` of zeros around height and width (sizes the layer that pads has checked).
    func padded(_ edges: EdgeAmounts) -> ImageShape {
        var shape = self
        shape.height += edges.top + edges.bottom
        shape.width += edges.left + edges.right
        return shape
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

/// Splitting a loop over the cores: the engine's `WorkerPool`, which the CLI's matrix product shares.
public enum Parallel {
    /// The cores, read once: `activeProcessorCount` reads the cgroup's CPU quota from files on every call, which cost
    /// more than many small layers compute.
    public static let cores = ProcessInfo.processInfo.activeProcessorCount

    /// The least work (a rough count of multiply-adds) worth a second thread: below it, handing a loop to the
    /// watching worker and waiting for it costs more than the loop (2^18 with Dispatch's wake-up; 2^15 with the pool).
    static let minimumWork = 1 << 15

    /// Runs `body(i)` for every `i` in `0..<count`, on all cores when `work` (a rough count of operations) is large
    /// enough to pay for it. `body` must write only what iteration `i` owns.
    static func forEach(_ count: Int, work: Int, _ body: @Sendable (Int) -> Void) {
        guard count > 1, cores > 1, work >= minimumWork else {
            for i in 0..<count { body(i) }
            return
        }
        let chunks = min(count, cores * 4)
        run(chunks) { chunk in
            let start = chunk * count / chunks
            let end = (chunk + 1) * count / chunks
            for i in start..<end { body(i) }
        }
    }

    /// Runs `body(i)` for every `i` in `0..<iterations` on the caller and the pool's workers (on the caller alone
    /// when another loop holds the pool). `body` must write only what iteration `i` owns.
    public static func run(_ iterations: Int, _ body: @Sendable (Int) -> Void) {
        if iterations > 1, let pool = WorkerPool.shared, pool.run(iterations, body) { return }
        for i in 0..<iterations { body(i) }
    }

    /// `finish` over the `rows` rows (of `columns` values) of a product at `y`, in runs of rows over the cores when
    /// they hold `minimumWork` values or more.
    public static func finish(rows: Int, columns: Int, of y: UnsafeMutablePointer<Float>, _ finish: RowFinisher) {
        let runs = cores > 1 && rows * columns >= minimumWork ? min(rows, 4 * cores) : 1
        let target = RowsTarget(y: y)
        run(runs) { run in
            let first = rows * run / runs
            finish(target.y, first, rows * (run + 1) / runs - first)
        }
    }
}

/// The product whose disjoint runs of rows `Parallel.finish`'s iterations finish.
private struct RowsTarget: @unchecked Sendable {
    let y: UnsafeMutablePointer<Float>
}

/// One output pixel of a depthwise convolution with multiplier 1: `target[ci] = Σ source(ky, kx)[ci] · w(ky, kx)[ci]`
/// over the window's taps inside the image, summed from 0 in `(ky, kx)` order (TensorFlow's order, and the order of
/// a sum kept in memory), the partial sums of 32, then 8, channels held in registers across the taps. `origin` is
/// where tap (0, 0) would read (possibly outside the image; only taps in `rows` × `columns` are read).
@inline(__always)
private func depthwisePixel(
    _ target: UnsafeMutablePointer<Float>, _ origin: UnsafePointer<Float>, _ k: UnsafePointer<Float>, channels c: Int,
    kw: Int, rowStep: Int, columnStep: Int, rows: Range<Int>, columns: Range<Int>
) {
    typealias V = SIMD8<Float>
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    var ci = 0
    while ci + 32 <= c {
        var (a0, a1, a2, a3) = (V(), V(), V(), V())
        for ky in rows {
            for kx in columns {
                let s = origin + ky * rowStep + kx * columnStep + ci
                let w = k + (ky * kw + kx) * c + ci
                a0 = a0 + load(s) * load(w)
                a1 = a1 + load(s + 8) * load(w + 8)
                a2 = a2 + load(s + 16) * load(w + 16)
                a3 = a3 + load(s + 24) * load(w + 24)
            }
        }
        let t = UnsafeMutableRawPointer(target + ci)
        t.storeBytes(of: a0, as: V.self)
        t.storeBytes(of: a1, toByteOffset: 32, as: V.self)
        t.storeBytes(of: a2, toByteOffset: 64, as: V.self)
        t.storeBytes(of: a3, toByteOffset: 96, as: V.self)
        ci += 32
    }
    while ci + 8 <= c {
        var a = V()
        for ky in rows {
            for kx in columns {
                a = a + load(origin + ky * rowStep + kx * columnStep + ci) * load(k + (ky * kw + kx) * c + ci)
            }
        }
        UnsafeMutableRawPointer(target + ci).storeBytes(of: a, as: V.self)
        ci += 8
    }
    while ci < c {
        var a: Float = 0
        for ky in rows {
            for kx in columns { a = a + origin[ky * rowStep + kx * columnStep + ci] * k[(ky * kw + kx) * c + ci] }
        }
        target[ci] = a
        ci += 1
    }
}

/// One output pixel of a max or average pool over the window `rows` × `columns` of one image (`image` its first
/// element), channels eight at a time: the window's elements in row-major order, a max keeping the first of equal
/// values and taking any value it is not at least (NaN), an average dividing the sum by the window's real size.
@inline(__always)
private func poolPixel(
    _ image: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, channels c: Int, width: Int,
    rows: Range<Int>, columns: Range<Int>, average: Bool
) {
    typealias V = SIMD8<Float>
    let size = Float(rows.count * columns.count)
    var ci = 0
    // 32 channels at a time: four chains of compares (or sums) in flight instead of one; each lane the same operations
    // in the same order as below.
    func load(_ iy: Int, _ ix: Int, _ offset: Int) -> V {
        UnsafeRawPointer(image + (iy * width + ix) * c + offset).loadUnaligned(as: V.self)
    }
    while ci + 32 <= c {
        let start = V(repeating: average ? 0 : -Float.infinity)
        var (a0, a1, a2, a3) = (start, start, start, start)
        for iy in rows {
            for ix in columns {
                let (v0, v1, v2, v3) = (
                    load(iy, ix, ci), load(iy, ix, ci + 8), load(iy, ix, ci + 16), load(iy, ix, ci + 24)
                )
                if average {
                    a0 += v0
                    a1 += v1
                    a2 += v2
                    a3 += v3
                } else {
                    a0.replace(with: v0, where: .!(v0 .<= a0))
                    a1.replace(with: v1, where: .!(v1 .<= a1))
                    a2.replace(with: v2, where: .!(v2 .<= a2))
                    a3.replace(with: v3, where: .!(v3 .<= a3))
                }
            }
        }
        if average {
            let divisor = V(repeating: size)
            (a0, a1, a2, a3) = (a0 / divisor, a1 / divisor, a2 / divisor, a3 / divisor)
        }
        let out = UnsafeMutableRawPointer(target + ci)
        out.storeBytes(of: a0, as: V.self)
        out.storeBytes(of: a1, toByteOffset: 32, as: V.self)
        out.storeBytes(of: a2, toByteOffset: 64, as: V.self)
        out.storeBytes(of: a3, toByteOffset: 96, as: V.self)
        ci += 32
    }
    while ci + 8 <= c {
        var accumulator = V(repeating: average ? 0 : -Float.infinity)
        for iy in rows {
            for ix in columns {
                let value = UnsafeRawPointer(image + (iy * width + ix) * c + ci).loadUnaligned(as: V.self)
                if average {
                    accumulator += value
                } else {
                    accumulator.replace(with: value, where: .!(value .<= accumulator))
                }
            }
        }
        if average { accumulator /= V(repeating: size) }
        UnsafeMutableRawPointer(target + ci).storeBytes(of: accumulator, as: V.self)
        ci += 8
    }
    while ci < c {
        var accumulator: Float = average ? 0 : -Float.infinity
        for iy in rows {
            for ix in columns {
                let value = image[(iy * width + ix) * c + ci]
                if average {
                    accumulator += value
                } else if !(value <= accumulator) {
                    accumulator = value
                }
            }
        }
        target[ci] = average ? accumulator / size : accumulator
        ci += 1
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

    /// The rows and columns of `window` over `image`.
    private static func axes(_ image: ImageShape, _ window: Convolution2D) -> (WindowAxis, WindowAxis) {
        axes(
            image, kernel: window.kernelSize, strides: window.strides, dilation: window.dilation,
            padding: window.padding)
    }

    /// `conv2d(x, kernel)` with `kernel [kh, kw, in / groups, out]` packed per group (`kernels[g]` the
    /// `[kh·kw·in/groups, out/groups]` matrix of group `g`'s output channels): per group, the patches of its input
    /// channels gathered row by row (im2col), then one matmul. TensorFlow's grouped convolution: output channel `o`
    /// reads input channels `g·in/groups ..< (g+1)·in/groups` for `g = o / (out / groups)`.
    static func conv2D(
        _ input: FloatTensor, kernels: [PackedMatrix], kernelShape: [Int], geometry: Convolution2D, outputShape: [Int],
        workspace: Workspace = Workspace()
    ) -> FloatTensor {
        conv2D(
            input, kernels: kernels, kernelShape: kernelShape, geometry: geometry, outputShape: outputShape,
            workspace: workspace, finishing: nil)
    }

    /// `conv2D`, then `finish` (where given) over every output pixel: an ungrouped convolution's product part by part
    /// as it is computed (`Kernels.matmul(_:rows:_:finishing:)`), a grouped one's once its groups are in place.
    static func conv2D(
        _ input: FloatTensor, kernels: [PackedMatrix], kernelShape: [Int], geometry: Convolution2D, outputShape: [Int],
        workspace: Workspace, finishing finish: RowFinishing?
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
            // A 1×1 convolution is a product on the NHWC buffer itself: no patches.
            let y = x.withUnsafeBufferPointer { x in
                guard let base = x.baseAddress else { return [Float]() }
                guard let finish else { return Kernels.matmul(base, rows: pixels, kernels[0]) }
                return Kernels.matmul(base, rows: pixels, kernels[0], finishing: finish)
            }
            return FloatTensor(shape: shape, values: y)
        }
        if groups == 1, let operand = kernels[0].operand as? any RowFinishingOperand {
            // The product gathers its patch rows as it goes (an implicit im2col): a run of rows gathered into a
            // scratch block the size of a core's cache and multiplied at once, instead of every patch written out to
            // memory first and read back (Xception's first 3×3 convolution: 4.7 MB of patches).
            let y = x.withUnsafeBufferPointer { x in
                guard let base = x.baseAddress else { return [Float]() }
                let source = patchSource(
                    base, image, rows: rows, columns: columns, geometry: geometry, kernel: [kh, kw])
                let scratch = workspace.floats(operand.scratchCount(rows: pixels))
                return [Float](unsafeUninitializedCapacity: pixels * outChannels) { y, initialized in
                    if let yBase = y.baseAddress {
                        operand.multiply(
                            rows: pixels, source: source, scratch: scratch, into: yBase,
                            finishing: finish ?? .none)
                    }
                    initialized = pixels * outChannels
                }
            }
            return FloatTensor(shape: shape, values: y)
        }
        // The patches (im2col) live in the pass's workspace, reused by every convolution after this one; every
        // element is written by `gatherPatches`, so the buffer is never cleared.
        let patches = workspace.floats(pixels * kh * kw * groupChannels)
        if groups == 1 {
            gatherPatches(
                x, image, into: patches, rows: rows, columns: columns, geometry: geometry, kernel: [kh, kw],
                channels: 0..<groupChannels)
            let y =
                if let finish {
                    Kernels.matmul(UnsafePointer(patches), rows: pixels, kernels[0], finishing: finish)
                } else {
                    Kernels.matmul(UnsafePointer(patches), rows: pixels, kernels[0])
                }
            return FloatTensor(shape: shape, values: y)
        }
        let groupOutputs = outChannels / groups
        var y = [Float](repeating: 0, count: pixels * outChannels)
        for (g, kernel) in kernels.enumerated() {
            gatherPatches(
                x, image, into: patches, rows: rows, columns: columns, geometry: geometry, kernel: [kh, kw],
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
        if let finish {
            y.withUnsafeMutableBufferPointer { y in
                guard let base = y.baseAddress else { return }
                Parallel.finish(rows: pixels, columns: outChannels, of: base, finish.all)
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

    /// Fills `patches` (`[pixels, kh·kw·channels.count]`) with each output pixel's window over input channels
    /// `channels`, in `(ky, kx, c)` order; padded positions are written as zeros.
    private static func gatherPatches(
        _ x: [Float], _ image: ImageShape, into patches: UnsafeMutablePointer<Float>, rows: WindowAxis,
        columns: WindowAxis, geometry: Convolution2D, kernel: [Int], channels: Range<Int>
    ) {
        let window = PatchWindow(
            image: image, rows: rows, columns: columns, geometry: geometry, kernel: kernel, channels: channels)
        let outputRows = image.batch * rows.output
        x.withUnsafeBufferPointer { x in
            guard let source = x.baseAddress else { return }
            let buffers = ImageBuffers(x: source, y: patches)
            // One output row (all its columns) per iteration; iterations write disjoint patch rows.
            Parallel.forEach(outputRows, work: outputRows * columns.output * window.patch) { outputRow in
                let first = outputRow * columns.output
                window.gather(
                    buffers.x, pixels: first..<(first + columns.output), into: buffers.y + first * window.patch)
            }
        }
    }

    /// What `gatherPatches` gathers, as a `RowSource` over `x` (alive while the product that reads it runs): the
    /// product asks for runs of patch rows as it needs them, each then read from the cache it was written to.
    private static func patchSource(
        _ x: UnsafePointer<Float>, _ image: ImageShape, rows: WindowAxis, columns: WindowAxis,
        geometry: Convolution2D, kernel: [Int]
    ) -> RowSource {
        let window = PatchWindow(
            image: image, rows: rows, columns: columns, geometry: geometry, kernel: kernel,
            channels: 0..<image.channels)
        let input = InputPointer(x: x)
        return { first, count, into in window.gather(input.x, pixels: first..<(first + count), into: into) }
    }

    /// The input a `patchSource` reads, kept alive by its caller.
    private struct InputPointer: @unchecked Sendable {
        let x: UnsafePointer<Float>
    }

    /// One convolution's windows over an NHWC image: the patch of an output pixel is its window over `channels` in
    /// `(ky, kx, c)` order, zeros where the window lies outside the image.
    private struct PatchWindow: Sendable {
        let image: ImageShape
        let rows: WindowAxis
        let columns: WindowAxis
        let geometry: Convolution2D
        let (kh, kw): (Int, Int)
        let channels: Range<Int>
        var patch: Int { kh * kw * channels.count }

        init(
            image: ImageShape, rows: WindowAxis, columns: WindowAxis, geometry: Convolution2D, kernel: [Int],
            channels: Range<Int>
        ) {
            (self.image, self.rows, self.columns, self.geometry) = (image, rows, columns, geometry)
            (kh, kw, self.channels) = (kernel[0], kernel[1], channels)
        }

        /// The patches of output pixels `pixels` (numbered row-major over batch, rows and columns), one after
        /// another at `into`.
        func gather(_ x: UnsafePointer<Float>, pixels: Range<Int>, into: UnsafeMutablePointer<Float>) {
            let c = channels.count
            let patch = kh * kw * c
            let (sh, sw) = (geometry.strides[0], geometry.strides[1])
            let (dh, dw) = (geometry.dilation[0], geometry.dilation[1])
            let (firstChannel, inChannels) = (channels.lowerBound, image.channels)
            for pixel in pixels {
                let (outputRow, ox) = (pixel / columns.output, pixel % columns.output)
                let (b, oy) = (outputRow / rows.output, outputRow % rows.output)
                let base = into + (pixel - pixels.lowerBound) * patch
                for ky in 0..<kh {
                    let iy = oy * sh - rows.padBefore + ky * dh
                    guard iy >= 0, iy < image.height else {
                        (base + ky * kw * c).update(repeating: 0, count: kw * c)
                        continue
                    }
                    let first = ox * sw - columns.padBefore
                    if dw == 1, c == inChannels, first >= 0, first + kw <= image.width {
                        // The window's row inside the image, every channel: its kw·c values lie one after another
                        // in the input as in the patch (MobileNet's first convolution, of 3 channels, copied 12
                        // bytes a call otherwise).
                        (base + ky * kw * c).update(
                            from: x + ((b * image.height + iy) * image.width + first) * inChannels, count: kw * c)
                        continue
                    }
                    for kx in 0..<kw {
                        let ix = ox * sw - columns.padBefore + kx * dw
                        let target = base + (ky * kw + kx) * c
                        guard ix >= 0, ix < image.width else {
                            target.update(repeating: 0, count: c)
                            continue
                        }
                        target.update(
                            from: x + ((b * image.height + iy) * image.width + ix) * inChannels + firstChannel,
                            count: c)
                    }
                }
            }
        }
    }

    /// TensorFlow's `depthwise_conv2d`: output channel `c * multiplier + m` is input channel `c` convolved with
    /// `kernel[:, :, c, m]`.
    static func depthwiseConv2D(
        _ input: FloatTensor, kernel: [Float], kernelShape: [Int], geometry: Convolution2D, outputShape: [Int],
        padded edges: EdgeAmounts? = nil, epilogue: Epilogue = .none, kernels: VectorKernels = .portable
    ) -> FloatTensor {
        let (x, image) = (input.values, ImageShape(input.shape))
        let (kh, kw, c, multiplier) = (kernelShape[0], kernelShape[1], kernelShape[2], kernelShape[3])
        var (paddedRows, paddedColumns) = axes(
            edges.map { image.padded($0) } ?? image, kernel: [kh, kw], strides: geometry.strides,
            dilation: geometry.dilation, padding: geometry.padding)
        if let edges {
            // The window over the padded image, read from the unpadded one: the padding is before its first row and
            // column, and the taps on it are left out as taps outside a `SAME` window are.
            paddedRows.padBefore += edges.top
            paddedColumns.padBefore += edges.left
        }
        let (rows, columns) = (paddedRows, paddedColumns)
        let outChannels = c * multiplier
        let count = image.batch * rows.output * columns.output * outChannels
        let (sh, sw) = (geometry.strides[0], geometry.strides[1])
        let (dh, dw) = (geometry.dilation[0], geometry.dilation[1])
        // Summed in float32 over the window in (ky, kx) order, as TensorFlow's depthwise kernels do; eight channels
        // at a time. Iterations are output rows, each writing only its own row, every element of it (so the new
        // array is not zeroed first).
        let outputRows = image.batch * rows.output
        let y = [Float](unsafeUninitializedCapacity: count) { y, initialized in
            defer { initialized = count }
            x.withUnsafeBufferPointer { x in
                kernel.withUnsafeBufferPointer { k in
                    guard let xBase = x.baseAddress, let kBase = k.baseAddress, let yBase = y.baseAddress else {
                        return
                    }
                    let buffers = DepthwiseBuffers(x: xBase, k: kBase, y: yBase)
                    Parallel.forEach(outputRows, work: y.count * (kh * kw + epilogue.elementWork)) { outputRow in
                        let (b, oy) = (outputRow / rows.output, outputRow % rows.output)
                        let (x, k) = (buffers.x, buffers.k)
                        // The window's rows inside the image, the same for every pixel of this output row.
                        var kyRange = 0..<0
                        for ky in 0..<kh {
                            let iy = oy * sh - rows.padBefore + ky * dh
                            guard iy >= 0, iy < image.height else { continue }
                            kyRange = kyRange.isEmpty ? ky..<(ky + 1) : kyRange.lowerBound..<(ky + 1)
                        }
                        let rowBase = x + (b * image.height + oy * sh - rows.padBefore) * image.width * c
                        // The pixels whose windows take every column of the kernel: one call of the wide row
                        // kernel, where there is one, instead of one call a pixel.
                        var interior = 0..<0
                        if multiplier == 1, kernels.depthwiseRow != nil {
                            var first = 0
                            while first < columns.output && first * sw - columns.padBefore < 0 { first += 1 }
                            var end = first
                            while end < columns.output
                                && end * sw - columns.padBefore + (kw - 1) * dw < image.width
                            {
                                end += 1
                            }
                            interior = first..<end
                        }
                        if let row = kernels.depthwiseRow, !interior.isEmpty {
                            let ox = interior.lowerBound
                            row(
                                buffers.y + (outputRow * columns.output + ox) * outChannels,
                                rowBase + (ox * sw - columns.padBefore) * c, k, c, kw, dh * image.width * c, dw * c,
                                kyRange, interior.count, sw * c, outChannels)
                        }
                        for ox in 0..<columns.output where !interior.contains(ox) {
                            let target = buffers.y + (outputRow * columns.output + ox) * outChannels
                            var kxRange = 0..<0
                            for kx in 0..<kw {
                                let ix = ox * sw - columns.padBefore + kx * dw
                                guard ix >= 0, ix < image.width else { continue }
                                kxRange = kxRange.isEmpty ? kx..<(kx + 1) : kxRange.lowerBound..<(kx + 1)
                            }
                            let pixelBase = rowBase + (ox * sw - columns.padBefore) * c
                            if multiplier == 1 {
                                let (rowStep, columnStep) = (dh * image.width * c, dw * c)
                                if let wide = kernels.depthwisePixel {
                                    wide(target, pixelBase, k, c, kw, rowStep, columnStep, kyRange, kxRange)
                                } else {
                                    depthwisePixel(
                                        target, pixelBase, k, channels: c, kw: kw, rowStep: rowStep,
                                        columnStep: columnStep, rows: kyRange, columns: kxRange)
                                }
                                continue
                            }
                            target.initialize(repeating: 0, count: outChannels)
                            for ky in kyRange {
                                for kx in kxRange {
                                    let source = pixelBase + ky * dh * image.width * c + kx * dw * c
                                    let weights = k + (ky * kw + kx) * outChannels
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
                        // The layers fused after this one, on the row just written (still in cache).
                        let rowLength = columns.output * outChannels
                        epilogue.apply(
                            buffers.y + outputRow * rowLength, count: rowLength, channels: outChannels)
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
        let (rows, columns) = axes(image, pooling.window)
        let c = image.channels
        let count = image.batch * rows.output * columns.output * c
        let y = [Float](unsafeUninitializedCapacity: count) { y, initialized in
            x.values.withUnsafeBufferPointer { x in
                guard let source = x.baseAddress, let target = y.baseAddress else { return }
                let buffers = ImageBuffers(x: source, y: target)
                // One output row per iteration, each writing only its own pixels (Xception's four 3×3 poolings were
                // 4 % of its pass on one core).
                let window = pooling.poolSize[0] * pooling.poolSize[1]
                Parallel.forEach(image.batch * rows.output, work: count * window) { outputRow in
                    let (b, oy) = (outputRow / rows.output, outputRow % rows.output)
                    let y0 = max(oy * pooling.strides[0] - rows.padBefore, 0)
                    let y1 = max(min(oy * pooling.strides[0] - rows.padBefore + pooling.poolSize[0], image.height), y0)
                    for ox in 0..<columns.output {
                        let x0 = max(ox * pooling.strides[1] - columns.padBefore, 0)
                        let x1 = max(
                            min(ox * pooling.strides[1] - columns.padBefore + pooling.poolSize[1], image.width), x0)
                        poolPixel(
                            buffers.x + (b * image.height * image.width) * c,
                            into: buffers.y + (outputRow * columns.output + ox) * c, channels: c, width: image.width,
                            rows: y0..<y1, columns: x0..<x1, average: average)
                    }
                }
            }
            initialized = count
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
        x.values.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                guard let source = x.baseAddress, let target = y.baseAddress else { return }
                for b in 0..<image.batch {
                    let out = target + b * c
                    for p in 0..<area {
                        let row = source + (b * area + p) * c
                        var ci = 0
                        while ci + 8 <= c {
                            let value = Kernels.load(row + ci)
                            var accumulator = Kernels.load(out + ci)
                            if average {
                                accumulator += value
                            } else {
                                accumulator.replace(with: value, where: .!(value .<= accumulator))
                            }
                            UnsafeMutableRawPointer(out + ci).storeBytes(of: accumulator, as: SIMD8<Float>.self)
                            ci += 8
                        }
                        while ci < c {
                            let value = row[ci]
                            if average {
                                out[ci] += value
                            } else if !(value <= out[ci]) {
                                out[ci] = value
                            }
                            ci += 1
                        }
                    }
                }
            }
        }
        if average { for i in y.indices { y[i] /= Float(area) } }
        return FloatTensor(shape: outputShape, values: y)
    }
}
