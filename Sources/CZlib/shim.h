#ifndef TFPARITY_CZLIB_SHIM_H
#define TFPARITY_CZLIB_SHIM_H
#include <zlib.h>

/// `inflateInit2` is a macro; Swift sees this function instead.
static inline int tfp_inflateInit2(z_stream *strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
#endif
