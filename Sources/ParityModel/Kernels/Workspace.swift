/// Scratch memory a forward pass lends its kernels (a convolution's gathered patches), allocated once and reused by
/// every layer after, so a pass does not fault in fresh pages for each layer's temporaries.
///
/// One per pass, used by one layer at a time: what `floats` returns is valid until the next call. Never shared
/// between threads (a kernel's own worker tasks only write into the buffer it was lent).
public final class Workspace {
    private var buffer: UnsafeMutablePointer<Float>?
    private var capacity = 0

    public init() {}

    deinit { buffer?.deallocate() }

    /// `count` floats, uninitialised (a previous layer's values): the caller writes every element it reads.
    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        if let buffer, count <= capacity { return buffer }
        buffer?.deallocate()
        let size = Swift.max(count, 1)
        let fresh = UnsafeMutablePointer<Float>.allocate(capacity: size)
        buffer = fresh
        capacity = size
        return fresh
    }
}
