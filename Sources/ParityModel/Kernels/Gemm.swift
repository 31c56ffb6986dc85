import Foundation

/// A matmul's right operand `w[inner, columns]` (row-major), packed once into the panels `Gemm` reads.
///
/// Layout: the inner axis is cut into blocks of `Gemm.kc`; within a block starting at `p0` (of length `kcb`),
/// column panel `j` (columns `j * nr ..< j * nr + nr`, zero-padded past `columns`) is `kcb × nr` contiguous floats
/// at `p0 * paddedColumns + j * kcb * nr`, row `p` of the panel at `+ p * nr`.
///
/// For a `MatrixProduct` with a kernel of its own, the matrix is kept as given (row-major) for that kernel.
struct PackedMatrix: Sendable {
    let inner: Int
    let columns: Int
    let paddedColumns: Int
    /// `Gemm`'s panels; the plain matrix for a tuned kernel; empty where the tuned kernel's own form replaces it
    /// (`MatrixOperand.replacesPlainMatrix`).
    let values: [Float]
    /// The kernel this matrix was prepared for; nil: `values` are `Gemm`'s panels.
    let accelerated: MatrixProduct.Kernel?
    /// The tuned kernel's own form of the matrix, where it keeps one (`MatrixProduct.Operand`).
    let operand: (any MatrixOperand)?

    init(_ w: [Float], inner: Int, columns: Int, product: MatrixProduct) {
        precondition(w.count == inner * columns, "packed matrix: \(w.count) values for [\(inner), \(columns)]")
        if let kernel = product.kernel {
            self.inner = inner
            self.columns = columns
            paddedColumns = columns
            accelerated = kernel
            let operand = product.operand.map { $0(w, inner, columns) }
            self.operand = operand
            values = operand?.replacesPlainMatrix == true ? [] : w
            return
        }
        accelerated = nil
        operand = nil
        let nr = Gemm.nr
        self.inner = inner
        self.columns = columns
        let paddedColumns = (columns + nr - 1) / nr * nr
        self.paddedColumns = paddedColumns
        var packed = [Float](repeating: 0, count: inner * paddedColumns)
        let panels = paddedColumns / nr
        packed.withUnsafeMutableBufferPointer { packed in
            w.withUnsafeBufferPointer { w in
                for p0 in stride(from: 0, to: inner, by: Gemm.kc) {
                    let kcb = min(Gemm.kc, inner - p0)
                    for j in 0..<panels {
                        let panel = p0 * paddedColumns + j * kcb * nr
                        let width = min(nr, columns - j * nr)
                        for p in 0..<kcb {
                            let source = (p0 + p) * columns + j * nr
                            let target = panel + p * nr
                            for jj in 0..<width { packed[target + jj] = w[source + jj] }
                        }
                    }
                }
            }
        }
        values = packed
    }
}

/// A right operand `w[inner, columns]` a tuned kernel keeps in a form of its own (packed once, when the kernel first
/// needs it, rather than at every product), multiplied by any number of rows.
public protocol MatrixOperand: AnyObject, Sendable {
    /// `y[rows, columns] = x[rows, inner] · w`, all row-major float32; `y` need not be initialised. Which kernel
    /// computes it (and so the summation order) depends only on the product's shape.
    func multiply(rows: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>)

    /// Whether this operand's own form is all that is kept of the matrix (no second copy of the weights): the plain
    /// matrix is then rebuilt from it by `unpacked()` where something needs it (a rounding bound's `|W|`).
    var replacesPlainMatrix: Bool { get }

    /// The matrix as given, `[inner, columns]` row-major, rebuilt from this operand's form (where
    /// `replacesPlainMatrix`).
    func unpacked() -> [Float]
}

/// What a layer does to its product's rows `[first, first + count)` once they are final (its bias, activation and
/// fused epilogue), in place on `y`, the whole product's output; it must touch only those rows.
public typealias RowFinisher = @Sendable (_ y: UnsafeMutablePointer<Float>, _ first: Int, _ count: Int) -> Void

/// An operation on each output of a product's column `c` that a product's kernel may apply in its registers, before
/// it stores the output, instead of in a pass over the stored rows: the same arithmetic as the layer's own code
/// (`Kernels.addBias`, `Kernels.scaleAndShift`, `Kernels.clamp`), element for element.
public enum ColumnStep: Sendable {
    /// `v + bias[c]`.
    case add([Float])
    /// `v * scale[c] + offset[c]`, the product rounded, then the sum.
    case scaleAndShift(scale: [Float], offset: [Float])
    /// `0 >= v ? 0 : v`, then `maximum < v ? maximum : v` when there is a maximum (ReLU, ReLU6).
    case clamp(maximum: Float?)

    /// Whether each of the step's vectors holds a value for each of `columns` columns.
    public func fits(columns: Int) -> Bool {
        switch self {
        case .add(let bias): bias.count == columns
        case .scaleAndShift(let scale, let offset): scale.count == columns && offset.count == columns
        case .clamp: true
        }
    }
}

/// How a layer finishes its product's rows: `all` does everything (bias, activation, fused epilogue) on rows already
/// stored; a kernel may instead apply `steps` to each output in its registers and then `rest` (when there is more) to
/// the stored rows, with the same values. A kernel takes the steps only when each fits its columns
/// (`ColumnStep.fits`), and runs `all` otherwise.
public struct RowFinishing: Sendable {
    /// The first operations of `all`, each on one element of a known column.
    public let steps: [ColumnStep]
    /// What `all` does after `steps`; nil when nothing.
    public let rest: RowFinisher?
    /// Every operation, on stored rows.
    public let all: RowFinisher

    public init(steps: [ColumnStep], rest: RowFinisher?, all: @escaping RowFinisher) {
        (self.steps, self.rest, self.all) = (steps, rest, all)
    }

    /// Nothing to do.
    public static let none = RowFinishing(steps: [], rest: nil, all: { _, _, _ in })
}

/// An operand whose kernel computes a product in parts of whole rows and finishes each part (`RowFinishing`) on the
/// core that computed it, while the part is in that core's cache; other products are finished after, in runs over the
/// cores (`Kernels.matmul(_:rows:_:finishing:)`).
public protocol RowFinishingOperand: MatrixOperand {
    /// `multiply(rows:_:into:)`, every row of `y` then finished by `finish` once.
    func multiply(
        rows: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, finishing finish: RowFinishing)

    /// The floats of scratch memory `multiply(rows:source:scratch:into:finishing:)` needs for `rows` rows.
    func scratchCount(rows: Int) -> Int

    /// `multiply(rows:_:into:finishing:)` of a left operand `source` writes on demand (a convolution's patches): runs
    /// of its rows into `scratch` (`scratchCount(rows:)` floats), each multiplied while it is in the cache. The same
    /// values as the product of the whole operand gathered first.
    func multiply(
        rows: Int, source: RowSource, scratch: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>,
        finishing finish: RowFinishing)
}

/// Writes rows `[first, first + count)` of a product's left operand, `inner` floats each, one after another at
/// `into`; called from any core, for disjoint runs of rows.
public typealias RowSource = @Sendable (_ first: Int, _ count: Int, _ into: UnsafeMutablePointer<Float>) -> Void

extension MatrixOperand {
    public var replacesPlainMatrix: Bool { false }
    public func unpacked() -> [Float] { [] }
}

extension PackedMatrix {
    /// The matrix as it was given, `[inner, columns]` row-major.
    var plainValues: [Float] {
        if let operand, operand.replacesPlainMatrix { return operand.unpacked() }
        guard accelerated == nil else { return values }
        // `Gemm`'s panels back to rows.
        let nr = Gemm.nr
        var w = [Float](repeating: 0, count: inner * columns)
        for p0 in stride(from: 0, to: inner, by: Gemm.kc) {
            let kcb = min(Gemm.kc, inner - p0)
            for j in 0..<(paddedColumns / nr) {
                let panel = p0 * paddedColumns + j * kcb * nr
                for p in 0..<kcb {
                    for jj in 0..<min(nr, columns - j * nr) {
                        w[(p0 + p) * columns + j * nr + jj] = values[panel + p * nr + jj]
                    }
                }
            }
        }
        return w
    }
}

/// Which matrix product an engine computes with: the portable `Gemm`, or a tuned kernel supplied from above the
/// runtime (the `tfparity` CLI passes OpenBLAS's). Passed to `Engine` explicitly, so what decides the summation order
/// is visible where the engine is made; nothing global changes it.
public struct MatrixProduct: Sendable {
    /// `y[rows, columns] = x[rows, inner] · w[inner, columns]`, all row-major float32; `y` need not be initialised.
    public typealias Kernel =
        @Sendable (
            _ rows: Int, _ inner: Int, _ columns: Int, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
            _ y: UnsafeMutablePointer<Float>
        ) -> Void

    /// What the product is called in reports (`portable`, `openblas`).
    public let name: String
    /// Makes a kernel's own form of a right operand `w[inner, columns]` (nil: `kernel` is given `w` as it is).
    public typealias Operand = @Sendable (_ w: [Float], _ inner: Int, _ columns: Int) -> any MatrixOperand

    /// nil: the portable `Gemm`.
    let kernel: Kernel?
    /// nil: every product goes to `kernel` with the plain matrix.
    let operand: Operand?
    /// Wider implementations of the element-by-element kernels, with the very values of the portable ones, that the
    /// machine's kernels come with (the layers prepared with this product use them).
    public let vectorKernels: VectorKernels

    /// The portable blocked SIMD kernel in Swift (`Gemm`): the runtime library's, and the reference tests hold tuned
    /// kernels to.
    public static let portable = MatrixProduct(name: "portable", kernel: nil, operand: nil, vectorKernels: .portable)

    /// A tuned kernel, named for reports.
    public init(name: String, kernel: @escaping Kernel) {
        self.init(name: name, kernel: Optional(kernel), operand: nil, vectorKernels: .portable)
    }

    /// A tuned kernel that keeps each right operand in a form of its own, made once by `operand` when a layer is
    /// prepared (its products then go to that form's `multiply`); `kernel` computes products with plain matrices.
    public init(
        name: String, kernel: @escaping Kernel, operand: @escaping Operand, vectorKernels: VectorKernels = .portable
    ) {
        self.init(name: name, kernel: Optional(kernel), operand: operand, vectorKernels: vectorKernels)
    }

    /// This product with other element-by-element kernels (the same values: `VectorKernels`).
    public func with(_ vectorKernels: VectorKernels) -> MatrixProduct {
        MatrixProduct(name: name, kernel: kernel, operand: operand, vectorKernels: vectorKernels)
    }

    private init(name: String, kernel: Kernel?, operand: Operand?, vectorKernels: VectorKernels) {
        self.name = name
        self.kernel = kernel
        self.operand = operand
        self.vectorKernels = vectorKernels
    }
}

/// Wider implementations of the portable SIMD8 kernels that the element-by-element layers spend their time in (SIMD8
/// compiles to two SSE instructions at the baseline x86-64 target): the sigmoid and swish of `VectorMath` (swish was
/// 40 % of EfficientNetB0's forward pass in SSE), the clamp of ReLU and ReLU6, batch normalisation's scale and shift,
/// and the depthwise convolution's pixel. The CLI passes AVX2 or AVX-512 ones where the CPU has them. Each must give
/// every element exactly the portable value (the same operations per lane in the same order; tests hold them bit for
/// bit), so which one runs changes the time, never a number. A nil kernel is computed by the portable code.
public struct VectorKernels: Sendable {
    /// `y[i] = f(y[i])` for the `count` elements at `y`, in place.
    public typealias Map = @Sendable (_ y: UnsafeMutablePointer<Float>, _ count: Int) -> Void
    /// `y[i] = min(max(x[i], 0), maximum)` (`max(x[i], 0)` without a maximum), as `Kernels.clamp`; `y` may be `x`.
    public typealias Clamp =
        @Sendable (_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int, _ maximum: Float?) -> Void
    /// For each whole row of `channels` of the `count` elements: `y[c] = x[c] · scale[c] + offset[c]` (a product
    /// rounded, then a sum), as `Kernels.scaleAndShift`; `y` may be `x`.
    public typealias ScaleAndShift =
        @Sendable (
            _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int, _ scale: UnsafePointer<Float>,
            _ offset: UnsafePointer<Float>, _ channels: Int
        ) -> Void
    /// One output pixel of a depthwise convolution with multiplier 1, as `ImageKernels`' `depthwisePixel`:
    /// `target[ci] = Σ origin[ky·rowStep + kx·columnStep + ci] · kernel[(ky·kw + kx)·channels + ci]` over the taps of
    /// `rows` × `columns`, summed from 0 in `(ky, kx)` order.
    public typealias DepthwisePixel =
        @Sendable (
            _ target: UnsafeMutablePointer<Float>, _ origin: UnsafePointer<Float>, _ kernel: UnsafePointer<Float>,
            _ channels: Int, _ kw: Int, _ rowStep: Int, _ columnStep: Int, _ rows: Range<Int>, _ columns: Range<Int>
        ) -> Void

    /// `DepthwisePixel` for `pixels` output pixels of one row whose windows take every column of the kernel
    /// (`kx` in `0..<kw`), pixel `p` reading from `origin + p · inputStep` and writing `target + p · outputStep`: the
    /// same value for each, several pixels computed at once.
    public typealias DepthwiseRow =
        @Sendable (
            _ target: UnsafeMutablePointer<Float>, _ origin: UnsafePointer<Float>, _ kernel: UnsafePointer<Float>,
            _ channels: Int, _ kw: Int, _ rowStep: Int, _ columnStep: Int, _ rows: Range<Int>, _ pixels: Int,
            _ inputStep: Int, _ outputStep: Int
        ) -> Void

    /// What the kernels are called in reports and tests (`portable`, `avx2`, `avx512`).
    public let name: String
    let sigmoid: Map?
    let swish: Map?
    let clamp: Clamp?
    let scaleAndShift: ScaleAndShift?
    let depthwisePixel: DepthwisePixel?
    let depthwiseRow: DepthwiseRow?

    /// The portable SIMD8 code for every kernel.
    public static let portable = VectorKernels()

    private init() {
        (name, sigmoid, swish, clamp, scaleAndShift) = ("portable", nil, nil, nil, nil)
        (depthwisePixel, depthwiseRow) = (nil, nil)
    }

    public init(
        name: String, sigmoid: @escaping Map, swish: @escaping Map, clamp: @escaping Clamp,
        scaleAndShift: @escaping ScaleAndShift, depthwisePixel: @escaping DepthwisePixel,
        depthwiseRow: @escaping DepthwiseRow
    ) {
        (self.name, self.sigmoid, self.swish) = (name, sigmoid, swish)
        (self.clamp, self.scaleAndShift) = (clamp, scaleAndShift)
        (self.depthwisePixel, self.depthwiseRow) = (depthwisePixel, depthwiseRow)
    }

    /// The wider implementation of the elementwise `activation`; nil where the portable one computes it.
    func map(for activation: Activation) -> Map? {
        switch activation {
        case .sigmoid: sigmoid
        case .swish: swish
        case .relu, .relu6:
            clamp.map { clamp in
                let maximum: Float? = activation == .relu6 ? 6 : nil
                return { y, count in clamp(y, y, count, maximum) }
            }
        default: nil
        }
    }
}

/// The operands of one product, shared by the tile tasks: each reads `x` and `w` and writes only its own tile of `y`,
/// inside the buffers' lifetime (`Parallel.run` returns when every task is done).
private struct GemmOperands: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let w: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
}

/// A blocked float32 matrix product in portable Swift SIMD, as GotoBLAS/Eigen organise it: the right operand packed
/// in `kc × nr` panels, the left packed per tile in `mr`-row micro-panels, an `mr × nr` register tile of
/// `SIMD8<Float>` accumulators, tiles spread over all cores.
///
/// Each output is summed in float32 in a fixed order (`kc`-long runs, the runs added in order), whatever the tiling
/// across threads, so results do not depend on the number of cores.
enum Gemm {
    static let mr = 6
    static let nr = 8
    static let kc = 256
    static let mc = 96
    static let nc = 256

    /// `y[rows, columns] = x[rows, inner] · w` for row-major `x` and `y`.
    static func multiply(_ x: UnsafePointer<Float>, rows: Int, _ w: PackedMatrix, into y: UnsafeMutablePointer<Float>) {
        let (inner, columns) = (w.inner, w.columns)
        if let operand = w.operand {
            if rows > 0, columns > 0, inner > 0 {
                operand.multiply(rows: rows, x, into: y)
            } else {
                y.initialize(repeating: 0, count: rows * columns)
            }
            return
        }
        if let kernel = w.accelerated {
            w.values.withUnsafeBufferPointer { values in
                if let base = values.baseAddress, rows > 0, columns > 0, inner > 0 {
                    kernel(rows, inner, columns, x, base, y)
                } else {
                    y.initialize(repeating: 0, count: rows * columns)
                }
            }
            return
        }
        y.initialize(repeating: 0, count: rows * columns)
        guard rows > 0, columns > 0, inner > 0 else { return }
        let rowTiles = (rows + mc - 1) / mc
        let columnTiles = (columns + nc - 1) / nc
        let tiles = rowTiles * columnTiles
        let work = rows * inner * columns
        w.values.withUnsafeBufferPointer { packed in
            guard let packedBase = packed.baseAddress else { return }
            let operands = GemmOperands(x: x, w: packedBase, y: y)
            let runTile: @Sendable (Int) -> Void = { tile in
                let rowStart = (tile / columnTiles) * mc
                let columnStart = (tile % columnTiles) * nc
                computeTile(
                    operands, rows: rowStart..<min(rowStart + mc, rows),
                    columns: columnStart..<min(columnStart + nc, columns), inner: inner, columnCount: columns,
                    paddedColumns: w.paddedColumns)
            }
            if tiles == 1 || work < 1 << 18 {
                for tile in 0..<tiles { runTile(tile) }
            } else {
                Parallel.run(tiles, runTile)
            }
        }
    }

    private static func computeTile(
        _ operands: GemmOperands, rows: Range<Int>, columns: Range<Int>, inner: Int, columnCount: Int,
        paddedColumns: Int
    ) {
        let microPanels = (rows.count + mr - 1) / mr
        let aPacked = UnsafeMutablePointer<Float>.allocate(capacity: microPanels * mr * kc)
        defer { aPacked.deallocate() }
        let firstPanel = columns.lowerBound / nr
        let lastPanel = (columns.upperBound + nr - 1) / nr
        for p0 in stride(from: 0, to: inner, by: kc) {
            let kcb = min(kc, inner - p0)
            packLeft(operands.x, rows: rows, inner: inner, p0: p0, kcb: kcb, into: aPacked)
            for j in firstPanel..<lastPanel {
                let panel = operands.w + p0 * paddedColumns + j * kcb * nr
                let column = j * nr
                let width = min(nr, columnCount - column)
                for micro in 0..<microPanels {
                    let row = rows.lowerBound + micro * mr
                    let height = min(mr, rows.upperBound - row)
                    microKernel(
                        kcb, aPacked + micro * mr * kcb, panel, operands.y + row * columnCount + column,
                        stride: columnCount, height: height, width: width)
                }
            }
        }
    }

    /// Copies `x[rows, p0 ..< p0 + kcb]` into `mr`-row micro-panels, `k`-major, zero-padding missing rows.
    private static func packLeft(
        _ x: UnsafePointer<Float>, rows: Range<Int>, inner: Int, p0: Int, kcb: Int, into a: UnsafeMutablePointer<Float>
    ) {
        var micro = 0
        for row in stride(from: rows.lowerBound, to: rows.upperBound, by: mr) {
            let panel = a + micro * mr * kcb
            let height = min(mr, rows.upperBound - row)
            for ii in 0..<mr {
                if ii < height {
                    let source = x + (row + ii) * inner + p0
                    for p in 0..<kcb { panel[p * mr + ii] = source[p] }
                } else {
                    for p in 0..<kcb { panel[p * mr + ii] = 0 }
                }
            }
            micro += 1
        }
    }

    /// `y[0 ..< height, 0 ..< width] += a · b` over `kcb` steps: `a` an `mr`-row micro-panel, `b` an `nr`-column panel.
    @inline(__always)
    private static func microKernel(
        _ kcb: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        stride: Int, height: Int, width: Int
    ) {
        var c0 = SIMD8<Float>()
        var c1 = SIMD8<Float>()
        var c2 = SIMD8<Float>()
        var c3 = SIMD8<Float>()
        var c4 = SIMD8<Float>()
        var c5 = SIMD8<Float>()
        var ap = a
        var bp = UnsafeRawPointer(b)
        for _ in 0..<kcb {
            let bv = bp.loadUnaligned(as: SIMD8<Float>.self)
            c0 += SIMD8(repeating: ap[0]) * bv
            c1 += SIMD8(repeating: ap[1]) * bv
            c2 += SIMD8(repeating: ap[2]) * bv
            c3 += SIMD8(repeating: ap[3]) * bv
            c4 += SIMD8(repeating: ap[4]) * bv
            c5 += SIMD8(repeating: ap[5]) * bv
            ap += 6
            bp += 32
        }
        if height == 6, width == 8 {
            func add(_ row: Int, _ c: SIMD8<Float>) {
                let target = UnsafeMutableRawPointer(y + row * stride)
                target.storeBytes(of: target.loadUnaligned(as: SIMD8<Float>.self) + c, as: SIMD8<Float>.self)
            }
            add(0, c0)
            add(1, c1)
            add(2, c2)
            add(3, c3)
            add(4, c4)
            add(5, c5)
            return
        }
        let tile = [c0, c1, c2, c3, c4, c5]
        for row in 0..<height {
            let target = y + row * stride
            for column in 0..<width { target[column] += tile[row][column] }
        }
    }
}
