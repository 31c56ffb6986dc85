import CVectorMath
import ParityModel

/// One instance of CVectorMath's register-tiled product (gemm.h): its panel width, its tile height and its functions.
/// Every instance gives the same bits for the same product (each output one chain of fused multiply-adds in order).
struct TunedKernel: @unchecked Sendable {
    typealias Pack = @convention(c) (UnsafePointer<Float>?, Int, Int, UnsafeMutablePointer<Float>?) -> Void
    typealias Gemm =
        @convention(c) (
            UnsafePointer<Float>?, Int, Int, Int, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Int,
            UnsafePointer<tfparity_gemm_step>?, Int
        ) -> Void

    let name: String
    let panelWidth: Int
    let tileRows: Int
    let pack: Pack
    let gemm: Gemm

    /// AVX2 with FMA: panels of 16 columns, tiles of 6 rows.
    static let avx2 = TunedKernel(
        name: "avx2", panelWidth: tfparity_gemm_panel_width_avx2(), tileRows: tfparity_gemm_tile_rows_avx2(),
        pack: tfparity_gemm_pack_avx2, gemm: tfparity_gemm_avx2)
    /// AVX-512F: panels of 32 columns, tiles of 12 rows.
    static let avx512 = TunedKernel(
        name: "avx512", panelWidth: tfparity_gemm_panel_width_avx512(), tileRows: tfparity_gemm_tile_rows_avx512(),
        pack: tfparity_gemm_pack_avx512, gemm: tfparity_gemm_avx512)

    /// The instances this CPU runs, narrowest first.
    static let available: [TunedKernel] =
        (tfparity_has_avx2_fma() != 0 ? [avx2] : []) + (tfparity_has_avx512() != 0 ? [avx512] : [])
}

/// The matrix product of one of CVectorMath's tuned kernels (`TunedKernel`): each weight matrix packed once, when its
/// layer is prepared, into panels of the kernel's width, and only that form kept (the bound's `|W|` is rebuilt from
/// it).
///
/// AVX-512 against OpenBLAS 0.3.21 (Debian's; `cblas_sgemm` repacks the weights at every product) on one core of this
/// Sapphire Rapids machine, for the shapes of keras.applications models at 64×64: 1×1 convolutions of 512–2048 rows
/// 1.1–1.7× faster, products of 8 rows (late layers) 2.3–3.7×, a dense layer of 2 rows 2.4×, large products
/// (ResNet50 at 224×224) 0.8–1.2×. AVX2 against the same OpenBLAS on one core of an AMD EPYC (Zen 3, whose AVX2
/// OpenBLAS's kernels run near its peak of two 8-lane FMAs a cycle): products of 32–512 rows over 256–1024 inner
/// positions 1.1–1.3× faster, the small inner axes of 4096 rows (16, 27 positions) 1.6×, 8 rows 1.6×, a dense layer
/// of 2 rows 3.7×. Each output is one chain of fused multiply-adds over the inner axis in order, so
/// how a product is split over the cores never changes a value. A convolution's patches are gathered by the product
/// itself, a block of rows at a time on the core that multiplies them (`multiply(rows:source:scratch:into:finishing:)`).
final class TunedOperand: RowFinishingOperand, @unchecked Sendable {
    private let inner: Int
    private let columns: Int
    private let panels: Int
    private let width: Int
    private let kernel: TunedKernel
    /// `panels · inner · width` floats, written once by `init`, then only read.
    private let storage: UnsafeMutablePointer<Float>

    /// The tile height of the kernel: row parts start on a multiple of it.
    private var tileRows: Int { kernel.tileRows }

    init(_ w: [Float], inner: Int, columns: Int, kernel: TunedKernel) {
        (self.inner, self.columns, self.kernel) = (inner, columns, kernel)
        width = kernel.panelWidth
        panels = (columns + width - 1) / width
        let count = max(panels * inner * width, 1)
        storage = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
        w.withUnsafeBufferPointer { w in
            guard let base = w.baseAddress else { return }
            kernel.pack(base, inner, columns, storage)
        }
    }

    deinit { storage.deallocate() }

    var replacesPlainMatrix: Bool { true }

    func unpacked() -> [Float] {
        var w = [Float](repeating: 0, count: inner * columns)
        for j in 0..<panels {
            let panel = storage + j * inner * width
            let count = min(width, columns - j * width)
            for p in 0..<inner {
                for c in 0..<count { w[p * columns + j * width + c] = panel[p * width + c] }
            }
        }
        return w
    }

    func multiply(rows: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        multiply(rows: rows, x, into: y, finishing: .none)
    }

    /// How a product of `rows` rows is split over the cores: not at all (too little work), by runs of row tiles
    /// (each run then finished at once, on its core), or, for fewer rows than columns, by runs of panels (the rows
    /// finished once all are done). Each run of rows reads every panel once, each run of panels every row once: the
    /// split reads again the smaller operand (Xception's middle flow at 96×96, 72 rows by 728 columns, lost 1.5× split
    /// by rows).
    private enum Split {
        case none
        case rows(parts: Int)
        case panels(parts: Int)
    }

    private func split(rows: Int) -> Split {
        // Shapes are the engine's own, checked when the model was: their product does not overflow.
        let work = rows * inner * columns
        let tiles = (rows + tileRows - 1) / tileRows
        guard work >= Acceleration.splitProduct, Parallel.cores > 1, tiles * panels > 1 else { return .none }
        if tiles >= 2 * Parallel.cores && (rows >= columns || panels < 2) {
            // Several runs for each core, so that a core slowed by another process leaves less waiting.
            return .rows(parts: min(tiles, 4 * Parallel.cores))
        }
        return .panels(parts: min(panels, 2 * Parallel.cores))
    }

    /// The first row and the end of part `part` of `parts` runs of whole row tiles.
    private func partRows(_ part: Int, of parts: Int, rows: Int) -> (first: Int, end: Int) {
        let tiles = (rows + tileRows - 1) / tileRows
        return (tiles * part / parts * tileRows, min(rows, tiles * (part + 1) / parts * tileRows))
    }

    /// The rows a part of a gathered product split in `parts` gathers at a time: whole tiles of about 128 KB of the
    /// left operand, which stay in the core's L2 cache from the gathering to the product, and no more than the
    /// largest part has.
    private func gatheredRows(_ rows: Int, parts: Int) -> Int {
        let tiles = (rows + tileRows - 1) / tileRows
        let largestPart = (tiles + parts - 1) / parts
        return min(largestPart, max(1, (1 << 15) / max(inner, 1) / tileRows)) * tileRows
    }

    /// The kernel's form of `finish.steps`, over a copy of their vectors this object owns, and what is left to do
    /// on the stored rows: `finish.rest`, or `finish.all` where the kernel takes no steps.
    private final class Steps: @unchecked Sendable {
        private var steps: [tfparity_gemm_step] = []
        private var values: UnsafeMutableBufferPointer<Float>?
        let rest: RowFinisher?

        private let kernel: TunedKernel

        init(_ finish: RowFinishing, columns: Int, kernel: TunedKernel) {
            self.kernel = kernel
            guard !finish.steps.isEmpty, finish.steps.allSatisfy({ $0.fits(columns: columns) }) else {
                rest = finish.all
                return
            }
            rest = finish.rest
            let vectors = finish.steps.flatMap { step -> [[Float]] in
                switch step {
                case .add(let bias): [bias]
                case .scaleAndShift(let scale, let offset): [scale, offset]
                case .clamp: []
                }
            }
            let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(vectors.count * columns, 1))
            self.values = values
            var next = 0
            // The next vector's copy in `values`.
            func copy() -> UnsafePointer<Float> {
                let target = values.baseAddress! + next * columns
                vectors[next].withUnsafeBufferPointer { target.initialize(from: $0.baseAddress!, count: columns) }
                next += 1
                return UnsafePointer(target)
            }
            for step in finish.steps {
                switch step {
                case .add:
                    steps.append(
                        tfparity_gemm_step(
                            kind: Int32(TFPARITY_GEMM_ADD.rawValue), bounded: 0, maximum: 0, a: copy(), b: nil))
                case .scaleAndShift:
                    let scale = copy()
                    steps.append(
                        tfparity_gemm_step(
                            kind: Int32(TFPARITY_GEMM_SCALE_SHIFT.rawValue), bounded: 0, maximum: 0, a: scale,
                            b: copy()))
                case .clamp(let maximum):
                    steps.append(
                        tfparity_gemm_step(
                            kind: Int32(TFPARITY_GEMM_CLAMP.rawValue), bounded: maximum == nil ? 0 : 1,
                            maximum: maximum ?? 0, a: nil, b: nil))
                }
            }
        }

        deinit { values?.deallocate() }

        /// The kernel's product of the panels `panels` with these steps.
        func gemm(
            _ x: UnsafePointer<Float>, rows: Int, inner: Int, columns: Int, packed: UnsafePointer<Float>,
            into y: UnsafeMutablePointer<Float>, panels: Range<Int>
        ) {
            steps.withUnsafeBufferPointer { steps in
                kernel.gemm(
                    x, rows, inner, columns, packed, y, panels.lowerBound, panels.upperBound, steps.baseAddress,
                    steps.count)
            }
        }
    }

    func multiply(
        rows: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, finishing finish: RowFinishing
    ) {
        let operands = Operands(x: x, y: y, packed: UnsafePointer(storage))
        let (inner, columns, panels) = (self.inner, self.columns, self.panels)
        let steps = Steps(finish, columns: columns, kernel: kernel)
        switch split(rows: rows) {
        case .none:
            steps.gemm(x, rows: rows, inner: inner, columns: columns, packed: storage, into: y, panels: 0..<panels)
            steps.rest?(y, 0, rows)
        case .rows(let parts):
            Parallel.run(parts) { part in
                let (first, end) = self.partRows(part, of: parts, rows: rows)
                guard first < end else { return }
                steps.gemm(
                    operands.x + first * inner, rows: end - first, inner: inner, columns: columns,
                    packed: operands.packed, into: operands.y + first * columns, panels: 0..<panels)
                steps.rest?(operands.y, first, end - first)
            }
        case .panels(let parts):
            Parallel.run(parts) { part in
                steps.gemm(
                    operands.x, rows: rows, inner: inner, columns: columns, packed: operands.packed, into: operands.y,
                    panels: (panels * part / parts)..<(panels * (part + 1) / parts))
            }
            // The rows finished in runs over the cores as well, once every panel is done.
            if let rest = steps.rest { Parallel.finish(rows: rows, columns: columns, of: y, rest) }
        }
    }

    func scratchCount(rows: Int) -> Int {
        guard case .rows(let parts) = split(rows: rows) else { return max(rows * inner, 1) }
        return max(parts * gatheredRows(rows, parts: parts) * inner, 1)
    }

    /// Split by rows, each part gathers its rows a block at a time into its own part of `scratch` and multiplies
    /// the block at once; otherwise (little work, or fewer rows than columns, where gathering costs little beside
    /// the product) every row is gathered first, then multiplied as `multiply(rows:_:into:finishing:)` does.
    func multiply(
        rows: Int, source: RowSource, scratch: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>,
        finishing finish: RowFinishing
    ) {
        guard case .rows(let parts) = split(rows: rows) else {
            source(0, rows, scratch)
            multiply(rows: rows, scratch, into: y, finishing: finish)
            return
        }
        let (inner, columns, panels) = (self.inner, self.columns, self.panels)
        let steps = Steps(finish, columns: columns, kernel: kernel)
        let block = gatheredRows(rows, parts: parts)
        let operands = GatheredOperands(scratch: scratch, y: y, packed: UnsafePointer(storage))
        Parallel.run(parts) { part in
            let (first, end) = self.partRows(part, of: parts, rows: rows)
            let buffer = operands.scratch + part * block * inner
            for row in stride(from: first, to: end, by: block) {
                let count = min(block, end - row)
                source(row, count, buffer)
                steps.gemm(
                    buffer, rows: count, inner: inner, columns: columns, packed: operands.packed,
                    into: operands.y + row * columns, panels: 0..<panels)
                steps.rest?(operands.y, row, count)
            }
        }
    }

    /// One product's operands, shared by its parts: each reads `x` and the packed weights and writes only its own
    /// rows or panels of `y`, inside the buffers' lifetime (`Parallel.run` returns when every part is done).
    private struct Operands: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let packed: UnsafePointer<Float>
    }

    /// A gathered product's operands: each part writes only its own block of `scratch` and its own rows of `y`.
    private struct GatheredOperands: @unchecked Sendable {
        let scratch: UnsafeMutablePointer<Float>
        let y: UnsafeMutablePointer<Float>
        let packed: UnsafePointer<Float>
    }
}
