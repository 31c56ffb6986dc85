#ifndef TFPARITY_CLIBCRYPTO_SHIM_H
#define TFPARITY_CLIBCRYPTO_SHIM_H
// OpenSSL's digests, for the SHA-256 of a source in a model's provenance: its SHA-NI and AVX2 code hashes at
// memory speed, where portable code manages a fifth of that.
//
// libcrypto is opened when a digest is first made (dlopen), not linked: only convert hashes, and loading it cost every
// start of the tool 1.3 ms of CPU. The functions the digest calls are members of one table, filled once.
#include <dlfcn.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stddef.h>

#define TFP_CRYPTO_TABLE(FUNCTION)                                                                                     \
    FUNCTION(EVP_MD_CTX_new)                                                                                           \
    FUNCTION(EVP_MD_CTX_free)                                                                                          \
    FUNCTION(EVP_sha256)                                                                                               \
    FUNCTION(EVP_DigestInit_ex)                                                                                        \
    FUNCTION(EVP_DigestUpdate)                                                                                         \
    FUNCTION(EVP_DigestFinal_ex)

#define TFP_CRYPTO_DECLARE(name) __typeof__(&name) _Nonnull name;

/// The libcrypto functions the digest calls.
struct tfp_crypto_functions {
    TFP_CRYPTO_TABLE(TFP_CRYPTO_DECLARE)
};

struct tfp_crypto_state {
    pthread_once_t once;
    int loaded;
    struct tfp_crypto_functions functions;
};

static inline struct tfp_crypto_state *tfp_crypto_state(void) {
    static struct tfp_crypto_state state = {PTHREAD_ONCE_INIT, 0};
    return &state;
}

/// Opens the libcrypto of the major version the headers are (its soname carries it) and looks every function up.
static inline void tfp_crypto_load(void) {
    struct tfp_crypto_state *state = tfp_crypto_state();
    static const char *const names[] = {"libcrypto.so.3", "libcrypto.so", "libcrypto.3.dylib"};
    void *library = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && library == NULL; i++) {
        library = dlopen(names[i], RTLD_LAZY | RTLD_LOCAL);
    }
    if (library == NULL) return;
    struct tfp_crypto_functions *f = &state->functions;
#define TFP_CRYPTO_LOOKUP(name)                                                                                        \
    if ((*(void **)&f->name = dlsym(library, #name)) == NULL) return;
    TFP_CRYPTO_TABLE(TFP_CRYPTO_LOOKUP)
#undef TFP_CRYPTO_LOOKUP
    state->loaded = 1;
}

/// The table of libcrypto's functions, loading the library on the first call (once per copy of this function: a
/// header's static functions exist once per object file that uses them); NULL when it cannot be loaded.
static inline const struct tfp_crypto_functions *tfp_crypto(void) {
    struct tfp_crypto_state *state = tfp_crypto_state();
    pthread_once(&state->once, tfp_crypto_load);
    return state->loaded ? &state->functions : NULL;
}

#endif
