import CVectorMath
import Foundation
import ParityModel

#if canImport(Glibc)
    import Glibc
#endif

/// The CLI's tuned matrix product behind the engine's `MatrixProduct` seam: on a CPU with AVX2 and FMA (or AVX-512),
/// CVectorMath's kernel over weights packed once (`TunedOperand`); elsewhere OpenBLAS's `cblas_sgemm`. The
/// runtime library never links either; the portable kernel stays the fallback and the reference the tests hold them to.
///
/// OpenBLAS is loaded with `dlopen` by `useOpenBLAS()`, not linked, and single-threaded: its own worker threads spin
/// (`sched_yield`) for a while after every product, which cost `convert` and `inspect` CPU time for products they
/// never compute and, in `verify`, took a core from the engine's own parallel layers (a quarter of a ResNet50 verify's
/// samples were those spins). Large products are instead split by rows over the cores with `Parallel.run`, the pool the
/// rest of the engine uses. Where `libopenblas.so.0` is missing the portable kernel is used.
///
/// Loading OpenBLAS costs about 25 ms (its constructor probes the CPU and sets up its buffers), as long as a small
/// model's whole verify: `fastestProduct()` loads it at the first product large enough to pay for it and computes
/// smaller ones with a plain loop (`smallProduct`), so the seed MLP never loads it. Products of few rows multiply a
/// weight matrix packed once into OpenBLAS's panels (`OpenBLASOperand`). Which kernel computes a product depends only
/// on the product's shape.
public enum Acceleration {
    /// `cblas_sgemm` with Debian's 32-bit `blasint` (libopenblas0, not the ILP64 build).
    fileprivate typealias SGemm =
        @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?,
            Int32, Float, UnsafeMutablePointer<Float>?, Int32
        ) -> Void

    // CBLAS_ORDER and CBLAS_TRANSPOSE values from cblas.h.
    private static let rowMajor: Int32 = 101
    private static let noTranspose: Int32 = 111

    /// OpenBLAS's `cblas_sgemm`, loaded once (Swift runs a static's initialiser once, thread-safely).
    fileprivate static let openBLAS: SGemm? = {
        // Read by OpenBLAS's constructor when the library loads: no worker threads of its own.
        setenv("OPENBLAS_NUM_THREADS", "1", 1)
        for name in ["libopenblas.so.0", "libopenblas.so"] {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL), let symbol = dlsym(handle, "cblas_sgemm") else {
                continue
            }
            return unsafeBitCast(symbol, to: SGemm.self)
        }
        return nil
    }()

    /// Products of fewer multiply-adds than this are neither split over the cores nor worth loading OpenBLAS for
    /// (the threshold is the portable kernel's for splitting).
    public static let smallProduct = 1 << 18
    /// Products of fewer multiply-adds than this run on one thread: OpenBLAS packs its operands again in each part.
    /// With Dispatch, whose wake-up cost tens of microseconds, splitting paid only above about 2^21; the engine's
    /// `WorkerPool`, whose worker watches for the next loop, makes it pay from about 2^18 (`tfparity __time-forward`
    /// at 64×64: EfficientNetB0 9.0 → 7.3 ms, MobileNetV2 4.7 → 3.8 ms on a quiet moment of a shared machine).
    static let splitProduct = 1 << 18

    /// OpenBLAS's product, loading the library now; nil where `libopenblas.so.0` is missing.
    public static func openBLASProduct() -> MatrixProduct? {
        guard let sgemm = openBLAS else { return nil }
        return MatrixProduct(
            name: "openblas",
            kernel: { rows, inner, columns, x, w, y in multiply(sgemm, rows, inner, columns, x, w, y) },
            operand: { w, inner, columns in
                OpenBLASOperand(w, inner: inner, columns: columns, smallProduct: 0)
            },
            vectorKernels: vectorKernels)
    }

    /// The widest of CVectorMath's kernels this CPU runs (`VectorKernels`: the portable values, bit for bit), else the
    /// portable code. AVX2's swish was 2.3–2.9 → 0.8–1.6 ns an element against SSE; AVX-512 doubles the lanes again.
    public static let vectorKernels: VectorKernels = availableVectorKernels.last ?? .portable

    /// Each width of CVectorMath's kernels this CPU runs, narrowest first: AVX2, then AVX-512 (tests hold every one to
    /// the portable code).
    public static let availableVectorKernels: [VectorKernels] = {
        var kernels: [VectorKernels] = []
        if tfparity_has_avx2() != 0 {
            kernels.append(
                cKernels(
                    "avx2", tfparity_sigmoid_avx2, tfparity_swish_avx2, tfparity_clamp_avx2,
                    tfparity_scale_and_shift_avx2, tfparity_depthwise_pixel_avx2, tfparity_depthwise_row_avx2))
        }
        if tfparity_has_avx512() != 0 {
            kernels.append(
                cKernels(
                    "avx512", tfparity_sigmoid_avx512, tfparity_swish_avx512, tfparity_clamp_avx512,
                    tfparity_scale_and_shift_avx512, tfparity_depthwise_pixel_avx512, tfparity_depthwise_row_avx512))
        }
        return kernels
    }()

    /// One width of CVectorMath's kernels behind the engine's `VectorKernels` seam.
    private static func cKernels(
        _ name: String, _ sigmoid: @escaping @convention(c) (UnsafeMutablePointer<Float>?, Int) -> Void,
        _ swish: @escaping @convention(c) (UnsafeMutablePointer<Float>?, Int) -> Void,
        _ clamp:
            @escaping @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Int32, Float)
            -> Void,
        _ scaleAndShift:
            @escaping @convention(c) (
                UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, UnsafePointer<Float>?, UnsafePointer<Float>?,
                Int
            ) -> Void,
        _ depthwisePixel:
            @escaping @convention(c) (
                UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, Int, Int, Int, Int, Int,
                Int,
                Int, Int
            ) -> Void,
        _ depthwiseRow:
            @escaping @convention(c) (
                UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, Int, Int, Int, Int, Int,
                Int, Int, Int, Int
            ) -> Void
    ) -> VectorKernels {
        VectorKernels(
            name: name, sigmoid: { y, count in sigmoid(y, count) }, swish: { y, count in swish(y, count) },
            clamp: { x, y, count, maximum in clamp(x, y, count, maximum == nil ? 0 : 1, maximum ?? 0) },
            scaleAndShift: { x, y, count, scale, offset, channels in scaleAndShift(x, y, count, scale, offset, channels)
            },
            depthwisePixel: { target, origin, kernel, channels, kw, rowStep, columnStep, rows, columns in
                depthwisePixel(
                    target, origin, kernel, channels, kw, rowStep, columnStep, rows.lowerBound, rows.upperBound,
                    columns.lowerBound, columns.upperBound)
            },
            depthwiseRow: { target, origin, kernel, channels, kw, rowStep, columnStep, rows, pixels, input, output in
                depthwiseRow(
                    target, origin, kernel, channels, kw, rowStep, columnStep, rows.lowerBound, rows.upperBound, pixels,
                    input, output)
            })
    }

    /// `y = x · w` by OpenBLAS, split by rows over the cores when large.
    fileprivate static func multiply(
        _ sgemm: SGemm, _ rows: Int, _ inner: Int, _ columns: Int, _ x: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>
    ) {
        let parts = rows * inner * columns < splitProduct ? 1 : max(1, min(Parallel.cores, rows / 16))
        let operands = Operands(x: x, w: w, y: y)
        let multiply: @Sendable (Int) -> Void = { part in
            let start = rows * part / parts
            let end = rows * (part + 1) / parts
            sgemm(
                rowMajor, noTranspose, noTranspose, Int32(end - start), Int32(columns), Int32(inner), 1,
                operands.x + start * inner, Int32(inner), operands.w, Int32(columns), 0,
                operands.y + start * columns, Int32(columns))
        }
        if parts == 1 {
            multiply(0)
        } else {
            Parallel.run(parts, multiply)
        }
    }

    /// The command line's product: a plain loop for products under `smallProduct` multiply-adds, OpenBLAS (loaded at
    /// the first larger product) for the others; the portable kernel where `libopenblas.so.0` is not installed (the
    /// plain loop for every product should it be installed but fail to load).
    ///
    /// The plain loop sums each output over `inner` in order, in float32, as a reference GEMM does.
    ///
    /// On a CPU with AVX2 and FMA every product with weights is CVectorMath's widest kernel instead (`TunedOperand`):
    /// faster than OpenBLAS on almost every shape the engine computes, and nothing to load (AVX2 on an AMD EPYC, one
    /// core: `TunedProduct.swift`; the forward pass of 6 keras.applications models at 64×64 in 0.93x OpenBLAS's time,
    /// geometric mean).
    public static func fastestProduct() -> MatrixProduct {
        if let tuned = tunedProduct() { return tuned }
        guard dlopenable else { return .portable }
        return MatrixProduct(
            name: "openblas",
            kernel: { rows, inner, columns, x, w, y in fastestMultiply(rows, inner, columns, x, w, y) },
            operand: { w, inner, columns in
                OpenBLASOperand(w, inner: inner, columns: columns, smallProduct: smallProduct)
            },
            vectorKernels: vectorKernels)
    }

    /// CVectorMath's widest product (`TunedOperand`) this CPU runs; nil where it runs none.
    public static func tunedProduct() -> MatrixProduct? { tunedProducts.last }

    /// Each of CVectorMath's products (`TunedOperand`) this CPU runs, narrowest first: AVX2 with FMA, then AVX-512
    /// (tests hold every one to the portable kernel).
    public static let tunedProducts: [MatrixProduct] = TunedKernel.available.map { kernel in
        MatrixProduct(
            name: kernel.name,
            kernel: { rows, inner, columns, x, w, y in fastestMultiply(rows, inner, columns, x, w, y) },
            operand: { w, inner, columns in TunedOperand(w, inner: inner, columns: columns, kernel: kernel) },
            vectorKernels: vectorKernels)
    }

    /// `fastestProduct`'s kernel for a plain matrix.
    fileprivate static func fastestMultiply(
        _ rows: Int, _ inner: Int, _ columns: Int, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
        _ y: UnsafeMutablePointer<Float>
    ) {
        // Shapes are the engine's own, checked when the model was: their product does not overflow.
        if rows * inner * columns >= smallProduct, let sgemm = openBLAS {
            multiply(sgemm, rows, inner, columns, x, w, y)
        } else {
            smallMultiply(rows, inner, columns, x, w, y)
        }
    }

    /// Whether `libopenblas.so.0` is installed in one of the loader's default directories: known without loading it
    /// (which runs its constructor).
    private static let dlopenable: Bool = {
        ["libopenblas.so.0", "libopenblas.so"].contains { name in
            [
                "/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/", "/lib/aarch64-linux-gnu/",
                "/usr/lib/aarch64-linux-gnu/", "/usr/lib/", "/usr/local/lib/",
            ]
            .contains { FileManager.default.isReadableFile(atPath: $0 + name) }
        }
    }()

    /// `y = x · w` for a small product: for each row, `y[i, :] = Σₖ x[i, k] · w[k, :]` with `k` in order.
    fileprivate static func smallMultiply(
        _ rows: Int, _ inner: Int, _ columns: Int, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
        _ y: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<rows {
            let out = y + i * columns
            out.initialize(repeating: 0, count: columns)
            for k in 0..<inner {
                let a = x[i * inner + k]
                let row = w + k * columns
                for j in 0..<columns { out[j] += a * row[j] }
            }
        }
    }

    /// One product's operands, shared by its row blocks: each reads `x` and `w` and writes only its own rows of `y`,
    /// inside the buffers' lifetime (`Parallel.run` returns when every block is done).
    fileprivate struct Operands: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let w: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
    }

    /// OpenBLAS's own packing routines and inner kernel for the core it selected (`openblas_get_corename`): the
    /// pieces `cblas_sgemm` is made of (its level-3 driver, `driver/level3/level3.c`), exported by the library as
    /// `sgemm_itcopy_<CORE>`, `sgemm_oncopy_<CORE>` and `sgemm_kernel_<CORE>`. With them a weight matrix is packed
    /// once instead of at every product. Nil where the library lacks them (then `cblas_sgemm` computes everything).
    fileprivate struct OpenBLASKernels: @unchecked Sendable {
        /// `copy(k, n, a, lda, packed)`: a column-major `a` block of `k` × `n` (for `itcopy` the left operand's
        /// `n` rows by `k` inner positions, for `oncopy` the right operand's `k` × `n`) into the kernel's panels.
        typealias Copy =
            @convention(c) (Int, Int, UnsafePointer<Float>?, Int, UnsafeMutablePointer<Float>?) -> Int32
        /// `kernel(m, n, k, alpha, packedA, packedB, c, ldc)`: `c += alpha · A · B` for packed blocks, column-major
        /// `c`.
        typealias Kernel =
            @convention(c) (
                Int, Int, Int, Float, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int
            ) -> Int32
        typealias CoreName = @convention(c) () -> UnsafePointer<CChar>?

        let packLeft: Copy
        let packRight: Copy
        let kernel: Kernel
    }

    fileprivate static let openBLASKernels: OpenBLASKernels? = {
        guard openBLAS != nil else { return nil }
        for name in ["libopenblas.so.0", "libopenblas.so"] {
            // The handle `openBLAS` opened: dlopen of a loaded library returns it (no second constructor run).
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD),
                let coreSymbol = dlsym(handle, "openblas_get_corename"),
                let corePointer = unsafeBitCast(coreSymbol, to: OpenBLASKernels.CoreName.self)()
            else { continue }
            let core = String(cString: corePointer).uppercased()
            guard let itcopy = dlsym(handle, "sgemm_itcopy_\(core)"),
                let oncopy = dlsym(handle, "sgemm_oncopy_\(core)"),
                let kernel = dlsym(handle, "sgemm_kernel_\(core)")
            else { return nil }
            return OpenBLASKernels(
                packLeft: unsafeBitCast(itcopy, to: OpenBLASKernels.Copy.self),
                packRight: unsafeBitCast(oncopy, to: OpenBLASKernels.Copy.self),
                kernel: unsafeBitCast(kernel, to: OpenBLASKernels.Kernel.self))
        }
        return nil
    }()
}

/// A weight matrix for OpenBLAS: products of few rows (`fewRows` or fewer, as a late layer at 64×64 or a dense layer
/// computes) multiply it packed once into OpenBLAS's panels (made at the first such product), where `cblas_sgemm`
/// would copy the whole matrix again at every call for a handful of rows (a quarter of MobileNetV2's and a third of
/// ConvNeXtTiny's forward pass was that copy); other products go to `cblas_sgemm` with the plain matrix, which is all
/// a model run on large images ever packs (the packed copy costs a second copy of the matrix in memory).
///
/// The packed path is OpenBLAS's own level-3 loop with the left operand's packing hoisted out: in OpenBLAS's
/// column-major terms `yᵀ = wᵀ · xᵀ`, `wᵀ` is packed in blocks of `blockInner` inner positions by column blocks,
/// `xᵀ` per product, and each block product goes to the core's kernel. Each output sums its inner blocks in order,
/// whatever the split of column blocks over the cores.
final class OpenBLASOperand: MatrixOperand, @unchecked Sendable {
    /// Products of at most this many rows use the packed matrix (at 8 rows it took a third to a half of
    /// `cblas_sgemm`'s time, at 64 rows 0.83×, at 128 0.89×, at 256 and more about the same). Xception's middle flow at
    /// 96×96 multiplies 72 rows; ResNet50's last stage at 224×224, batch 2, 98 rows, so a verify there packs nothing
    /// (its peak memory stays under issue 5's 256 MiB).
    static let fewRows = 96
    /// The inner positions of one packed block (its panel fits the core's L2 cache with room for the rows).
    static let blockInner = 384
    /// The widest column block.
    static let blockColumns = 384

    private let w: [Float]
    private let inner: Int
    private let columns: Int
    /// Products under this many multiply-adds take the plain loop (`Acceleration.fastestProduct`'s rule).
    private let smallProduct: Int
    private let lock = NSLock()
    /// The packed blocks, made under `lock` at the first product of few rows, then only read.
    private var packed: PackedBlocks?

    init(_ w: [Float], inner: Int, columns: Int, smallProduct: Int) {
        (self.w, self.inner, self.columns, self.smallProduct) = (w, inner, columns, smallProduct)
    }

    func multiply(rows: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let work = rows * inner * columns
        guard work >= smallProduct, rows <= Self.fewRows, let kernels = Acceleration.openBLASKernels else {
            w.withUnsafeBufferPointer { w in
                guard let base = w.baseAddress else { return }
                if smallProduct > 0 {
                    Acceleration.fastestMultiply(rows, inner, columns, x, base, y)
                } else if let sgemm = Acceleration.openBLAS {
                    Acceleration.multiply(sgemm, rows, inner, columns, x, base, y)
                }
            }
            return
        }
        let blocks = packedBlocks(kernels)
        blocks.multiply(rows: rows, x, into: y, parts: work < Acceleration.splitProduct ? 1 : Parallel.cores)
    }

    private func packedBlocks(_ kernels: Acceleration.OpenBLASKernels) -> PackedBlocks {
        lock.lock()
        defer { lock.unlock() }
        if let packed { return packed }
        let made = PackedBlocks(w, inner: inner, columns: columns, kernels: kernels)
        packed = made
        return made
    }
}

/// `wᵀ` in OpenBLAS's packed panels, block by block.
private final class PackedBlocks: @unchecked Sendable {
    let inner: Int
    let columns: Int
    let kernels: Acceleration.OpenBLASKernels
    /// The inner blocks' starts (every `blockInner`) and the column blocks' starts (equal widths, a multiple of 16).
    let innerStarts: [Int]
    let columnStarts: [Int]
    /// Block (inner block `i`, column block `j`) at `storage + offsets[i * columnBlocks + j]`.
    let offsets: [Int]
    let storage: UnsafeMutablePointer<Float>

    /// Room past each packed block, in floats, in case a core's copy routine or kernel reads a panel's padding.
    static let slack = 64

    init(_ w: [Float], inner: Int, columns: Int, kernels: Acceleration.OpenBLASKernels) {
        (self.inner, self.columns, self.kernels) = (inner, columns, kernels)
        innerStarts = Array(stride(from: 0, to: inner, by: OpenBLASOperand.blockInner))
        let columnBlocks = (columns + OpenBLASOperand.blockColumns - 1) / OpenBLASOperand.blockColumns
        let width = ((columns + columnBlocks - 1) / columnBlocks + 15) / 16 * 16
        columnStarts = Array(stride(from: 0, to: columns, by: width))
        var offsets: [Int] = []
        var total = 0
        for i in innerStarts.indices {
            for j in columnStarts.indices {
                offsets.append(total)
                // Each block starts on a 64-byte boundary.
                total +=
                    (Self.extent(innerStarts, i, inner) * Self.extent(columnStarts, j, columns) + Self.slack + 15)
                    / 16 * 16
            }
        }
        self.offsets = offsets
        storage = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1) * 4, alignment: 4096)
            .bindMemory(to: Float.self, capacity: max(total, 1))
        w.withUnsafeBufferPointer { w in
            guard let base = w.baseAddress else { return }
            for i in innerStarts.indices {
                for j in columnStarts.indices {
                    // wᵀ is column-major [columns, inner] with leading dimension `columns`: w itself.
                    _ = kernels.packLeft(
                        Self.extent(innerStarts, i, inner), Self.extent(columnStarts, j, columns),
                        base + columnStarts[j] + innerStarts[i] * columns, columns,
                        storage + offsets[i * columnStarts.count + j])
                }
            }
        }
    }

    deinit { storage.deallocate() }

    /// The length of block `index` of `starts`, the last one ending at `end`.
    private static func extent(_ starts: [Int], _ index: Int, _ end: Int) -> Int {
        (index + 1 < starts.count ? starts[index + 1] : end) - starts[index]
    }

    /// `y = x · w`, the column blocks split in `parts` runs over the cores.
    func multiply(rows: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, parts: Int) {
        y.initialize(repeating: 0, count: rows * columns)
        // xᵀ (column-major [inner, rows], leading dimension `inner`: x itself) packed per inner block, once for every
        // column block.
        let stride = (rows + Self.slack) * OpenBLASOperand.blockInner
        let packedRows = UnsafeMutableRawPointer.allocate(byteCount: innerStarts.count * stride * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: innerStarts.count * stride)
        defer { packedRows.deallocate() }
        for i in innerStarts.indices {
            _ = kernels.packRight(
                Self.extent(innerStarts, i, inner), rows, x + innerStarts[i], inner, packedRows + i * stride)
        }
        let buffers = Buffers(x: packedRows, y: y)
        let blocks = columnStarts.count
        let parts = min(parts, blocks)
        let run: @Sendable (Int) -> Void = { part in
            for j in (blocks * part / parts)..<(blocks * (part + 1) / parts) {
                let width = Self.extent(self.columnStarts, j, self.columns)
                for i in self.innerStarts.indices {
                    _ = self.kernels.kernel(
                        width, rows, Self.extent(self.innerStarts, i, self.inner), 1,
                        self.storage + self.offsets[i * blocks + j], buffers.x + i * stride,
                        buffers.y + self.columnStarts[j], self.columns)
                }
            }
        }
        if parts <= 1 {
            run(0)
        } else {
            Parallel.run(parts, run)
        }
    }

    /// The packed rows and the product, shared by the column runs: each writes only its own columns of `y`.
    private struct Buffers: @unchecked Sendable {
        let x: UnsafeMutablePointer<Float>
        let y: UnsafeMutablePointer<Float>
    }
}
