import COpenBLAS
import ParityModel

/// The CLI's tuned matrix product: OpenBLAS's `cblas_sgemm` (AVX2/AVX-512 kernels, both cores) behind the engine's
/// `MatrixProduct` seam. The runtime library never links it; the portable kernel stays the fallback and the reference
/// the tests hold OpenBLAS to.
public enum Acceleration {
    /// Installs OpenBLAS as the engine's matrix product. Call once at startup, before any model is loaded.
    public static func useOpenBLAS() {
        MatrixProduct.accelerated = { rows, inner, columns, x, w, y in
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(columns), Int32(inner), 1, x,
                Int32(inner), w, Int32(columns), 0, y, Int32(columns))
        }
    }

    /// Back to the portable kernel (for tests that compare the two).
    public static func usePortableKernel() {
        MatrixProduct.accelerated = nil
    }
}
