#ifndef TFPARITY_CLIBCRYPTO_SHIM_H
#define TFPARITY_CLIBCRYPTO_SHIM_H
// OpenSSL's digests, for the SHA-256 of a source in a model's provenance: its SHA-NI and AVX2 code hashes at
// memory speed, where portable code manages a fifth of that.
#include <openssl/evp.h>
#endif
