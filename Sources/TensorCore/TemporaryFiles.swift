import Foundation
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

    /// Removes temporary files an earlier run left when it was killed (SIGKILL cannot be caught): those named
    /// `prefix…` in `directory`, ours (mode 0600, our user), untouched for a minute, and unlocked — a live run holds an
    /// exclusive `flock` on each of its files.
    public static func removeAbandoned(prefix: String, in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            let candidate = directory + "/" + name
            var status = stat()
            guard lstat(candidate, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_mode & 0o777 == 0o600,
                status.st_uid == getuid(), time(nil) - status.st_mtim.tv_sec > 60
            else { continue }
            let descriptor = open(candidate, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            guard descriptor >= 0 else { continue }
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { unlink(candidate) }
            close(descriptor)
        }
    }
}
