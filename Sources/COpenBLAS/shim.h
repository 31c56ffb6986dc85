#ifndef TFPARITY_COPENBLAS_SHIM_H
#define TFPARITY_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS interface (Debian libopenblas-dev), used by the CLI's engine for matrix products.
#include <cblas.h>
#endif
