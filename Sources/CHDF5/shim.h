#ifndef TFPARITY_CHDF5_SHIM_H
#define TFPARITY_CHDF5_SHIM_H
#include <hdf5.h>
// Filled in by the HDF5 wrapper work: HDF5's macros exposed as typed static inline functions.
static inline hid_t tfp_H5P_DEFAULT(void) { return H5P_DEFAULT; }
#endif
