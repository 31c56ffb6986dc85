#ifndef TFPARITY_CHDF5_SHIM_H
#define TFPARITY_CHDF5_SHIM_H
#include <hdf5.h>

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
