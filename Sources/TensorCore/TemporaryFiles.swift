import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Temporary output files in flight, so an interrupted run (SIGINT, SIGTERM) can remove them before it exits.
///
/// Writers register a temporary file when they create it and unregister it once it is renamed into place or removed.
public enum TemporaryFiles {
    private static let paths = Mutex<Set<String>>([])

    public static func register(_ path: String) {
        paths.withLock { _ = $0.insert(path) }
    }

    public static func unregister(_ path: String) {
        paths.withLock { _ = $0.remove(path) }
    }

    /// Unlinks every registered file; called on the way out of an interrupted run.
    public static func removeAll() {
        let pending = paths.withLock { paths in
            defer { paths.removeAll() }
            return paths
        }
        for path in pending { unlink(path) }
    }
}
