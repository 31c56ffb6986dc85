import ParityModel

#if canImport(Glibc)
    import Glibc
#endif

/// The CLI's tuned matrix product: OpenBLAS's `cblas_sgemm` (AVX2/AVX-512 kernels, both cores) behind the engine's
/// `MatrixProduct` seam. The runtime library never links it; the portable kernel stays the fallback and the reference
/// the tests hold OpenBLAS to.
///
/// OpenBLAS is loaded with `dlopen` by `useOpenBLAS()`, not linked: its library constructor starts a worker thread
/// per core that spins for a while waiting for work, which would cost every `convert` and `inspect` CPU time for
/// products they never compute. Where `libopenblas.so.0` is missing the portable kernel is used.
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
        for name in ["libopenblas.so.0", "libopenblas.so"] {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL), let symbol = dlsym(handle, "cblas_sgemm") else {
                continue
            }
            return unsafeBitCast(symbol, to: SGemm.self)
        }
        return nil
    }()

    /// Loads OpenBLAS and installs it as the engine's matrix product; returns false (the portable kernel stays) where
    /// `libopenblas.so.0` is missing. Call before the models that should use it are loaded: commands that run a
    /// model call it, `convert` and `inspect` never load the library.
    @discardableResult
    public static func useOpenBLAS() -> Bool {
        guard let sgemm = openBLAS else { return false }
        MatrixProduct.accelerated = { rows, inner, columns, x, w, y in
            sgemm(
                rowMajor, noTranspose, noTranspose, Int32(rows), Int32(columns), Int32(inner), 1, x, Int32(inner), w,
                Int32(columns), 0, y, Int32(columns))
        }
        return true
    }

    /// Back to the portable kernel (for tests that compare the two).
    public static func usePortableKernel() {
        MatrixProduct.accelerated = nil
    }
}
