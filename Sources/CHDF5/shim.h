#ifndef TFPARITY_CHDF5_SHIM_H
#define TFPARITY_CHDF5_SHIM_H
#include <dlfcn.h>
// Debian keeps the serial build's headers in a directory of their own (pkg-config's include path, which this target
// no longer asks for); they include each other by quoted name, so naming the directory here is enough.
#if __has_include(<hdf5/serial/hdf5.h>)
#include <hdf5/serial/hdf5.h>
#else
#include <hdf5.h>
#endif
#include <pthread.h>
#include <stdio.h>

// libhdf5 is opened on first use (dlopen) rather than linked: Debian's brings some thirty libraries with it (libcurl,
// GnuTLS, Kerberos, LDAP, for its S3 driver) whose loading cost every start of the tool about 7 ms of CPU, HDF5 file
// or not. The functions HDF5Kit calls are members of one table, filled once from the library (`tfp_hdf5`); the
// library's global ids, which the constant macros below read, are reached through it too.

// Every libhdf5 function HDF5Kit calls, and every global id its constants read: one list, expanded into the table's
// members and into their lookups.
#define TFP_HDF5_TABLE(FUNCTION, GLOBAL) \
    FUNCTION(H5open) \
    FUNCTION(H5get_libversion) \
    FUNCTION(H5free_memory) \
    FUNCTION(H5Aclose) \
    FUNCTION(H5Aexists) \
    FUNCTION(H5Aget_space) \
    FUNCTION(H5Aget_type) \
    FUNCTION(H5Aiterate2) \
    FUNCTION(H5Aopen) \
    FUNCTION(H5Aread) \
    FUNCTION(H5Dclose) \
    FUNCTION(H5Dget_create_plist) \
    FUNCTION(H5Dget_offset) \
    FUNCTION(H5Dget_space) \
    FUNCTION(H5Dget_storage_size) \
    FUNCTION(H5Dget_type) \
    FUNCTION(H5Dread) \
    FUNCTION(H5Dvlen_reclaim) \
    FUNCTION(H5Eclear2) \
    FUNCTION(H5Eget_msg) \
    FUNCTION(H5Eset_auto2) \
    FUNCTION(H5Ewalk2) \
    FUNCTION(H5Fclose) \
    FUNCTION(H5Fget_filesize) \
    FUNCTION(H5Fis_hdf5) \
    FUNCTION(H5Fopen) \
    FUNCTION(H5Gclose) \
    FUNCTION(H5Iget_type) \
    FUNCTION(H5Lexists) \
    FUNCTION(H5Lget_info) \
    FUNCTION(H5Lget_val) \
    FUNCTION(H5Literate) \
    FUNCTION(H5Lunpack_elink_val) \
    FUNCTION(H5Oclose) \
    FUNCTION(H5Oexists_by_name) \
    FUNCTION(H5Oget_info_by_name2) \
    FUNCTION(H5Oopen) \
    FUNCTION(H5PLset_loading_state) \
    FUNCTION(H5Pclose) \
    FUNCTION(H5Pcreate) \
    FUNCTION(H5Pget_external_count) \
    FUNCTION(H5Pget_layout) \
    FUNCTION(H5Pget_nfilters) \
    FUNCTION(H5Pset_elink_cb) \
    FUNCTION(H5Sclose) \
    FUNCTION(H5Sget_simple_extent_dims) \
    FUNCTION(H5Sget_simple_extent_ndims) \
    FUNCTION(H5Sget_simple_extent_npoints) \
    FUNCTION(H5Sget_simple_extent_type) \
    FUNCTION(H5Tclose) \
    FUNCTION(H5Tcopy) \
    FUNCTION(H5Tequal) \
    FUNCTION(H5Tget_class) \
    FUNCTION(H5Tget_cset) \
    FUNCTION(H5Tget_ebias) \
    FUNCTION(H5Tget_fields) \
    FUNCTION(H5Tget_member_name) \
    FUNCTION(H5Tget_member_value) \
    FUNCTION(H5Tget_native_type) \
    FUNCTION(H5Tget_nmembers) \
    FUNCTION(H5Tget_sign) \
    FUNCTION(H5Tget_size) \
    FUNCTION(H5Tget_strpad) \
    FUNCTION(H5Tis_variable_str) \
    FUNCTION(H5Tset_cset) \
    FUNCTION(H5Tset_ebias) \
    FUNCTION(H5Tset_fields) \
    FUNCTION(H5Tset_size) \
    GLOBAL(H5P_CLS_FILE_ACCESS_ID_g) \
    GLOBAL(H5P_CLS_FILE_CREATE_ID_g) \
    GLOBAL(H5P_CLS_DATASET_CREATE_ID_g) \
    GLOBAL(H5P_CLS_DATASET_ACCESS_ID_g) \
    GLOBAL(H5P_CLS_DATASET_XFER_ID_g) \
    GLOBAL(H5P_CLS_LINK_ACCESS_ID_g) \
    GLOBAL(H5P_CLS_GROUP_ACCESS_ID_g) \
    GLOBAL(H5T_NATIVE_SCHAR_g) \
    GLOBAL(H5T_NATIVE_UCHAR_g) \
    GLOBAL(H5T_NATIVE_INT8_g) \
    GLOBAL(H5T_NATIVE_UINT8_g) \
    GLOBAL(H5T_NATIVE_INT16_g) \
    GLOBAL(H5T_NATIVE_UINT16_g) \
    GLOBAL(H5T_NATIVE_INT32_g) \
    GLOBAL(H5T_NATIVE_UINT32_g) \
    GLOBAL(H5T_NATIVE_INT64_g) \
    GLOBAL(H5T_NATIVE_UINT64_g) \
    GLOBAL(H5T_NATIVE_FLOAT_g) \
    GLOBAL(H5T_NATIVE_DOUBLE_g) \
    GLOBAL(H5T_NATIVE_HBOOL_g) \
    GLOBAL(H5T_IEEE_F32LE_g) \
    GLOBAL(H5T_IEEE_F64LE_g) \
    GLOBAL(H5T_IEEE_F32BE_g) \
    GLOBAL(H5T_IEEE_F64BE_g) \
    GLOBAL(H5T_STD_I8LE_g) \
    GLOBAL(H5T_STD_U8LE_g) \
    GLOBAL(H5T_STD_I16LE_g) \
    GLOBAL(H5T_STD_U16LE_g) \
    GLOBAL(H5T_STD_I32LE_g) \
    GLOBAL(H5T_STD_U32LE_g) \
    GLOBAL(H5T_STD_I64LE_g) \
    GLOBAL(H5T_STD_U64LE_g) \
    GLOBAL(H5T_C_S1_g)

#define TFP_HDF5_DECLARE_FUNCTION(name) __typeof__(&name) _Nonnull name;
#define TFP_HDF5_DECLARE_GLOBAL(name) hid_t *_Nonnull name;

/// The libhdf5 functions HDF5Kit calls, and the global ids its constants read.
struct tfp_hdf5_functions {
    TFP_HDF5_TABLE(TFP_HDF5_DECLARE_FUNCTION, TFP_HDF5_DECLARE_GLOBAL)
};

/// What loading the library gave: the table, or why there is none.
struct tfp_hdf5_state {
    pthread_once_t once;
    int loaded;
    struct tfp_hdf5_functions functions;
    char failure[512];
};

static inline struct tfp_hdf5_state *tfp_hdf5_state(void) {
    static struct tfp_hdf5_state state = {PTHREAD_ONCE_INIT, 0};
    return &state;
}

/// Opens the libhdf5 this package was built against (its major and minor version must be the header's: the table's
/// types are the header's), looks up every function and global, and initialises the library (`H5open`).
static inline void tfp_hdf5_load(void) {
    struct tfp_hdf5_state *state = tfp_hdf5_state();
    static const char *const names[] = {
        "libhdf5_serial.so.103", "libhdf5.so.103", "libhdf5_serial.so", "libhdf5.so", "libhdf5.dylib",
    };
    void *library = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && library == NULL; i++) {
        // Lazy binding, as the linker's would have been: each of its thirty libraries' functions is bound when
        // called, not all at once (1 ms of the 8 ms dlopen takes).
        library = dlopen(names[i], RTLD_LAZY | RTLD_LOCAL);
    }
    if (library == NULL) {
        snprintf(state->failure, sizeof state->failure, "libhdf5 cannot be loaded: %s", dlerror());
        return;
    }
    struct tfp_hdf5_functions *f = &state->functions;
#define TFP_HDF5_LOOKUP(name)                                                                                   \
    if ((*(void **)&f->name = dlsym(library, #name)) == NULL) {                                                         \
        snprintf(state->failure, sizeof state->failure, "libhdf5 has no '%s'", #name);                                 \
        return;                                                                                                         \
    }
    TFP_HDF5_TABLE(TFP_HDF5_LOOKUP, TFP_HDF5_LOOKUP)
#undef TFP_HDF5_LOOKUP
    unsigned major = 0, minor = 0, release = 0;
    if (f->H5get_libversion(&major, &minor, &release) < 0 || major != H5_VERS_MAJOR || minor != H5_VERS_MINOR) {
        snprintf(state->failure, sizeof state->failure, "libhdf5 %u.%u.%u is not the %d.%d this tool was built for",
                 major, minor, release, H5_VERS_MAJOR, H5_VERS_MINOR);
        return;
    }
    if (f->H5open() < 0) {
        snprintf(state->failure, sizeof state->failure, "libhdf5 cannot be initialised (H5open)");
        return;
    }
    state->loaded = 1;
}

/// The table of libhdf5's functions, loading the library on the first call (once per process); NULL when it cannot
/// be loaded (`tfp_hdf5_failure` says why).
static inline const struct tfp_hdf5_functions *tfp_hdf5(void) {
    struct tfp_hdf5_state *state = tfp_hdf5_state();
    pthread_once(&state->once, tfp_hdf5_load);
    return state->loaded ? &state->functions : NULL;
}

/// Why `tfp_hdf5` returned NULL.
static inline const char *tfp_hdf5_failure(void) {
    (void)tfp_hdf5();
    return tfp_hdf5_state()->failure;
}


// The constant macros call H5open() (and H5check_version) before reading a global id: the table's loading did both,
// so they expand to the global alone, read through the table. (A header's static functions exist once per object file
// that uses them, each copy with its own state, so these ask `tfp_hdf5` rather than assume another copy loaded it: the
// library is opened once; each copy looks its symbols up once. HDF5Kit checks the library loads before it reaches
// them.)
#undef H5OPEN
#define H5OPEN
#undef H5CHECK
#define H5CHECK
#define H5P_CLS_FILE_ACCESS_ID_g (*tfp_hdf5()->H5P_CLS_FILE_ACCESS_ID_g)
#define H5P_CLS_FILE_CREATE_ID_g (*tfp_hdf5()->H5P_CLS_FILE_CREATE_ID_g)
#define H5P_CLS_DATASET_CREATE_ID_g (*tfp_hdf5()->H5P_CLS_DATASET_CREATE_ID_g)
#define H5P_CLS_DATASET_ACCESS_ID_g (*tfp_hdf5()->H5P_CLS_DATASET_ACCESS_ID_g)
#define H5P_CLS_DATASET_XFER_ID_g (*tfp_hdf5()->H5P_CLS_DATASET_XFER_ID_g)
#define H5P_CLS_LINK_ACCESS_ID_g (*tfp_hdf5()->H5P_CLS_LINK_ACCESS_ID_g)
#define H5P_CLS_GROUP_ACCESS_ID_g (*tfp_hdf5()->H5P_CLS_GROUP_ACCESS_ID_g)
#define H5T_NATIVE_SCHAR_g (*tfp_hdf5()->H5T_NATIVE_SCHAR_g)
#define H5T_NATIVE_UCHAR_g (*tfp_hdf5()->H5T_NATIVE_UCHAR_g)
#define H5T_NATIVE_INT8_g (*tfp_hdf5()->H5T_NATIVE_INT8_g)
#define H5T_NATIVE_UINT8_g (*tfp_hdf5()->H5T_NATIVE_UINT8_g)
#define H5T_NATIVE_INT16_g (*tfp_hdf5()->H5T_NATIVE_INT16_g)
#define H5T_NATIVE_UINT16_g (*tfp_hdf5()->H5T_NATIVE_UINT16_g)
#define H5T_NATIVE_INT32_g (*tfp_hdf5()->H5T_NATIVE_INT32_g)
#define H5T_NATIVE_UINT32_g (*tfp_hdf5()->H5T_NATIVE_UINT32_g)
#define H5T_NATIVE_INT64_g (*tfp_hdf5()->H5T_NATIVE_INT64_g)
#define H5T_NATIVE_UINT64_g (*tfp_hdf5()->H5T_NATIVE_UINT64_g)
#define H5T_NATIVE_FLOAT_g (*tfp_hdf5()->H5T_NATIVE_FLOAT_g)
#define H5T_NATIVE_DOUBLE_g (*tfp_hdf5()->H5T_NATIVE_DOUBLE_g)
#define H5T_NATIVE_HBOOL_g (*tfp_hdf5()->H5T_NATIVE_HBOOL_g)
#define H5T_IEEE_F32LE_g (*tfp_hdf5()->H5T_IEEE_F32LE_g)
#define H5T_IEEE_F64LE_g (*tfp_hdf5()->H5T_IEEE_F64LE_g)
#define H5T_IEEE_F32BE_g (*tfp_hdf5()->H5T_IEEE_F32BE_g)
#define H5T_IEEE_F64BE_g (*tfp_hdf5()->H5T_IEEE_F64BE_g)
#define H5T_STD_I8LE_g (*tfp_hdf5()->H5T_STD_I8LE_g)
#define H5T_STD_U8LE_g (*tfp_hdf5()->H5T_STD_U8LE_g)
#define H5T_STD_I16LE_g (*tfp_hdf5()->H5T_STD_I16LE_g)
#define H5T_STD_U16LE_g (*tfp_hdf5()->H5T_STD_U16LE_g)
#define H5T_STD_I32LE_g (*tfp_hdf5()->H5T_STD_I32LE_g)
#define H5T_STD_U32LE_g (*tfp_hdf5()->H5T_STD_U32LE_g)
#define H5T_STD_I64LE_g (*tfp_hdf5()->H5T_STD_I64LE_g)
#define H5T_STD_U64LE_g (*tfp_hdf5()->H5T_STD_U64LE_g)
#define H5T_C_S1_g (*tfp_hdf5()->H5T_C_S1_g)

// HDF5's constants are macros that Swift cannot import: most expand to a global id behind a call to
// H5open(), which initialises the library on first use. Each is exposed here as a typed function, so
// the HDF5Kit wrapper reads them as ordinary calls and never names a macro.

// Property lists and their classes.
static inline hid_t tfp_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t tfp_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t tfp_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t tfp_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t tfp_H5P_DATASET_ACCESS(void) { return H5P_DATASET_ACCESS; }
static inline hid_t tfp_H5P_DATASET_XFER(void) { return H5P_DATASET_XFER; }
static inline hid_t tfp_H5P_LINK_ACCESS(void) { return H5P_LINK_ACCESS; }
static inline hid_t tfp_H5P_GROUP_ACCESS(void) { return H5P_GROUP_ACCESS; }

// File access flags.
static inline unsigned tfp_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned tfp_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline unsigned tfp_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned tfp_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }

// Dataspace selection and the default error stack.
static inline hid_t tfp_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t tfp_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline size_t tfp_H5T_VARIABLE(void) { return H5T_VARIABLE; }

// Native (host byte order) memory types.
static inline hid_t tfp_H5T_NATIVE_CHAR(void) { return H5T_NATIVE_CHAR; }
static inline hid_t tfp_H5T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
static inline hid_t tfp_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t tfp_H5T_NATIVE_INT16(void) { return H5T_NATIVE_INT16; }
static inline hid_t tfp_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t tfp_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t tfp_H5T_NATIVE_UINT32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t tfp_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t tfp_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t tfp_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t tfp_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t tfp_H5T_NATIVE_HBOOL(void) { return H5T_NATIVE_HBOOL; }

// Fixed-layout standard types. HDF5 1.10 has no native half-precision type; float16 and bfloat16
// memory types are derived from IEEE_F32LE by the wrapper.
static inline hid_t tfp_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t tfp_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t tfp_H5T_IEEE_F32BE(void) { return H5T_IEEE_F32BE; }
static inline hid_t tfp_H5T_IEEE_F64BE(void) { return H5T_IEEE_F64BE; }
static inline hid_t tfp_H5T_STD_I8LE(void) { return H5T_STD_I8LE; }
static inline hid_t tfp_H5T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hid_t tfp_H5T_STD_I16LE(void) { return H5T_STD_I16LE; }
static inline hid_t tfp_H5T_STD_U16LE(void) { return H5T_STD_U16LE; }
static inline hid_t tfp_H5T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t tfp_H5T_STD_U32LE(void) { return H5T_STD_U32LE; }
static inline hid_t tfp_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t tfp_H5T_STD_U64LE(void) { return H5T_STD_U64LE; }
static inline hid_t tfp_H5T_C_S1(void) { return H5T_C_S1; }

#endif
