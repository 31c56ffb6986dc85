import CLibcrypto

/// SHA-256 through OpenSSL's EVP interface (`EVP_DigestInit_ex`, `EVP_DigestUpdate`, `EVP_DigestFinal_ex`), for the
/// provenance digest of a source file; libcrypto is opened on the first digest (`tfp_crypto` in the shim). One owner of
/// the `EVP_MD_CTX`, freed in `deinit`.
final class SHA256 {
    private let crypto: tfp_crypto_functions
    private let context: OpaquePointer

    init() {
        // A missing libcrypto, allocation failure or a missing SHA-256 in it is an environment bug, not bad input.
        guard let crypto = tfp_crypto()?.pointee else { preconditionFailure("libcrypto (OpenSSL 3) cannot be loaded") }
        guard let context = crypto.EVP_MD_CTX_new(), crypto.EVP_DigestInit_ex(context, crypto.EVP_sha256(), nil) == 1
        else {
            preconditionFailure("OpenSSL cannot start a SHA-256 digest")
        }
        self.crypto = crypto
        self.context = context
    }

    deinit { crypto.EVP_MD_CTX_free(context) }

    func update(_ raw: UnsafeRawBufferPointer) {
        precondition(crypto.EVP_DigestUpdate(context, raw.baseAddress, raw.count) == 1, "EVP_DigestUpdate failed")
    }

    func update<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            precondition(
                crypto.EVP_DigestUpdate(context, buffer.baseAddress, buffer.count) == 1, "EVP_DigestUpdate failed")
        }
        if done == nil { update(Array(bytes)) }
    }

    /// The hex digest; the hasher must not be used afterwards.
    func finalize() -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        precondition(crypto.EVP_DigestFinal_ex(context, &digest, &length) == 1, "EVP_DigestFinal_ex failed")
        return digest.prefix(Int(length)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
