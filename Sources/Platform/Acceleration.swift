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

    /// OpenBLAS's product, loading the library on first use; nil where `libopenblas.so.0` is missing. Commands that
    /// run a model ask for it; `convert` and `inspect` never load the library.
    public static func openBLASProduct() -> MatrixProduct? {
        guard let sgemm = openBLAS else { return nil }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return MatrixProduct(name: "openblas") { rows, inner, columns, x, w, y in
            // Small products are not worth a second thread (the threshold is the portable kernel's).
            let parts = rows * inner * columns < 1 << 18 ? 1 : max(1, min(cores, rows / 16))
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
    }

    /// OpenBLAS's product where it loads, else the portable kernel.
    public static func fastestProduct() -> MatrixProduct { openBLASProduct() ?? .portable }

    /// One product's operands, shared by its row blocks: each reads `x` and `w` and writes only its own rows of `y`,
    /// inside the buffers' lifetime (`concurrentPerform` returns when every block is done).
    private struct Operands: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let w: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
    }

}
