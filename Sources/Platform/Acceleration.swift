import Foundation
import ParityModel

#if canImport(Glibc)
    import Glibc
#endif

/// The CLI's tuned matrix product: OpenBLAS's `cblas_sgemm` (AVX2/AVX-512 kernels, both cores) behind the engine's
/// `MatrixProduct` seam. The runtime library never links it; the portable kernel stays the fallback and the reference
/// the tests hold OpenBLAS to.
///
/// OpenBLAS is loaded with `dlopen` by `useOpenBLAS()`, not linked, and single-threaded: its own worker threads spin
/// (`sched_yield`) for a while after every product, which cost `convert` and `inspect` CPU time for products they
/// never compute and, in `verify`, took a core from the engine's own parallel layers (a quarter of a ResNet50 verify's
/// samples were those spins). Large products are instead split by rows over the cores with Dispatch, the pool the
/// rest of the engine uses. Where `libopenblas.so.0` is missing the portable kernel is used.
///
/// Loading OpenBLAS costs about 25 ms (its constructor probes the CPU and sets up its buffers), as long as a small
/// model's whole verify: `fastestProduct()` loads it at the first product large enough to pay for it and computes
/// smaller ones with a plain loop (`smallProduct`), so the seed MLP never loads it. Which kernel computes a product
/// depends only on the product's shape.
public enum Acceleration {
    /// `cblas_sgemm` with Debian's 32-bit `blasint` (libopenblas0, not the ILP64 build).
    private typealias SGemm =
        @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?,
            Int32, Float, UnsafeMutablePointer<Float>?, Int32
        ) -> Void

    // CBLAS_ORDER and CBLAS_TRANSPOSE values from cblas.h.
    private static let rowMajor: Int32 = 101
    private static let noTranspose: Int32 = 111

    /// OpenBLAS's `cblas_sgemm`, loaded once (Swift runs a static's initialiser once, thread-safely).
    private static let openBLAS: SGemm? = {
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

    /// The cores products are split over, read once (`activeProcessorCount` reads the cgroup files on every call).
    private static let cores = ProcessInfo.processInfo.activeProcessorCount

    /// Products of fewer multiply-adds than this are neither split over the cores nor worth loading OpenBLAS for
    /// (the threshold is the portable kernel's for splitting).
    public static let smallProduct = 1 << 18
    /// Products of fewer multiply-adds than this run on one thread: OpenBLAS packs its operands again in each part,
    /// and waking a second thread costs tens of microseconds here, so splitting paid only above about 2^21 (MobileNetV2
    /// at 64×64 forward 4.6 → 3.3–4.2 ms, DenseNet121 21–29 → 17 ms, ResNet50 unchanged, `tfparity __time-forward`).
    static let splitProduct = 1 << 21

    /// OpenBLAS's product, loading the library now; nil where `libopenblas.so.0` is missing.
    public static func openBLASProduct() -> MatrixProduct? {
        guard let sgemm = openBLAS else { return nil }
        return MatrixProduct(name: "openblas") { rows, inner, columns, x, w, y in
            multiply(sgemm, rows, inner, columns, x, w, y)
        }
    }

    /// `y = x · w` by OpenBLAS, split by rows over the cores when large.
    private static func multiply(
        _ sgemm: SGemm, _ rows: Int, _ inner: Int, _ columns: Int, _ x: UnsafePointer<Float>,
        _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>
    ) {
        let parts = rows * inner * columns < splitProduct ? 1 : max(1, min(cores, rows / 16))
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
            DispatchQueue.concurrentPerform(iterations: parts, execute: multiply)
        }
    }

    /// The command line's product: a plain loop for products under `smallProduct` multiply-adds, OpenBLAS (loaded at
    /// the first larger product) for the others; the portable kernel where `libopenblas.so.0` is not installed (the
    /// plain loop for every product should it be installed but fail to load).
    ///
    /// The plain loop sums each output over `inner` in order, in float32, as a reference GEMM does.
    public static func fastestProduct() -> MatrixProduct {
        guard dlopenable else { return .portable }
        return MatrixProduct(name: "openblas") { rows, inner, columns, x, w, y in
            // Shapes are the engine's own, checked when the model was: their product does not overflow.
            if rows * inner * columns >= smallProduct, let sgemm = openBLAS {
                multiply(sgemm, rows, inner, columns, x, w, y)
            } else {
                smallMultiply(rows, inner, columns, x, w, y)
            }
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
    private static func smallMultiply(
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
    /// inside the buffers' lifetime (`concurrentPerform` returns when every block is done).
    private struct Operands: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let w: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
    }

}
