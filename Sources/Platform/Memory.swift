#if os(Linux)
    /// glibc's `int mallopt(int param, int value)` (malloc.h, which the Glibc module does not export).
    @_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
    // malloc.h's parameter numbers.
    private let M_TRIM_THRESHOLD: Int32 = -1
    private let M_MMAP_THRESHOLD: Int32 = -3
#endif

/// How the process's allocator keeps memory it was given back.
public enum Memory {
    /// glibc's malloc hands every block over `M_MMAP_THRESHOLD` (dynamic, from 128 KiB) to its own `mmap`, and gives
    /// freed memory at the top of the heap back past `M_TRIM_THRESHOLD`; the engine frees and allocates tensors of the
    /// same few megabytes layer after layer, so each one was fresh pages from the kernel, zeroed (a quarter of a
    /// ResNet50 verify's samples were page faults and `clear_page`). Blocks up to 32 MiB (the largest threshold glibc
    /// takes) now come from the heap, and up to 256 MiB of freed heap is kept for the next layer: the peak stays what
    /// the live tensors need, since freed blocks are reused before the heap grows. Results do not depend on it.
    public static func keepFreedMemory() {
        #if os(Linux)
            _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
            _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
        #endif
    }
}
