import Foundation
import TensorCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The files one command reads and the files it writes, checked before it starts: an output must not name an input
/// (or another output), and must be a regular file or not exist yet; an input must not be a FIFO, a device or a
/// socket.
///
/// Two paths name the same file when `stat` gives the same device and inode (hard links, `./x` and `x`, links to
/// it), or, for a file that does not exist yet, when they are the same path once the links of their directories are
/// resolved. A checkpoint prefix (`model.ckpt`) stands for its `.index`, `.data-…` and `.meta` files, and an output
/// inside an input directory may not replace a file already there.
public struct CommandPaths: Sendable {
    /// An input: how the user gave it (`the source`, `--spec`) and the path.
    public struct Input: Sendable {
        public var role: String
        public var path: String
    }

    /// An output: its flag (`-o`, `--junit`) and the path.
    public struct Output: Sendable {
        public var flag: String
        public var path: String
    }

    public var inputs: [Input]
    public var outputs: [Output]

    /// Paths given as nil (an option not used) are left out.
    public init(inputs: [(role: String, path: String?)], outputs: [(flag: String, path: String?)]) {
        self.inputs = inputs.compactMap { item in item.path.map { Input(role: item.role, path: $0) } }
        self.outputs = outputs.compactMap { item in item.path.map { Output(flag: item.flag, path: $0) } }
    }

    /// What is wrong with the outputs, as a usage error to show the user, or nil: an output that names an input or
    /// another output, or that exists and is not a regular file (a directory, a device, a FIFO, a socket: tfparity
    /// writes a new file beside the destination and renames it into place, which would replace the node).
    public func outputProblem() -> String? {
        let inputFiles = inputs.flatMap { input in Self.files(of: input.path).map { (input, $0) } }
        var earlier: [(Output, FileName)] = []
        for output in outputs {
            let quoted = "\(output.flag) '\(ErrorText.escaped(output.path))'"
            if let kind = FileIO.kind(of: output.path), kind != .regular {
                return "\(quoted) is \(kind.description); an output must be a regular file or a new path"
            }
            let name = FileName(output.path)
            for (input, file) in inputFiles where name.isSame(as: file) || name.isInside(directory: file) {
                let what = input.path == file.path ? "" : " ('\(ErrorText.escaped(file.path))')"
                let relation = name.isSame(as: file) ? "names" : "is a file inside"
                return "\(quoted) \(relation) the input \(input.role) '\(ErrorText.escaped(input.path))'\(what); "
                    + "tfparity never writes over its inputs"
            }
            if let (other, _) = earlier.first(where: { name.isSame(as: $0.1) }) {
                return "\(quoted) and \(other.flag) '\(ErrorText.escaped(other.path))' name the same file"
            }
            earlier.append((output, name))
        }
        return nil
    }

    /// Refuses an input that exists and is neither a regular file nor a directory, before any reader opens it.
    /// - Throws: `FileError` naming the input.
    public func checkInputs() throws(FileError) {
        for input in inputs {
            if let kind = FileIO.kind(of: input.path), kind != .regular, kind != .directory {
                throw FileError(path: input.path, reason: "is \(kind.description), not a regular file")
            }
        }
    }

    /// The files `path` stands for: itself, and for a checkpoint prefix the files of its bundle.
    private static func files(of path: String) -> [FileName] {
        var names = [FileName(path)]
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var base = url.lastPathComponent
        for suffix in [".index", ".meta"] where base.hasSuffix(suffix) { base = String(base.dropLast(suffix.count)) }
        if let range = base.range(of: ".data-", options: .backwards) { base = String(base[..<range.lowerBound]) }
        guard FileManager.default.fileExists(atPath: directory + "/" + base + ".index") else { return names }
        let siblings = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for sibling in siblings
        where sibling == base + ".index" || sibling == base + ".meta" || sibling.hasPrefix(base + ".data-") {
            names.append(FileName(directory + "/" + sibling))
        }
        return names
    }
}

/// A path and what it resolves to, for telling whether two paths name one file.
private struct FileName {
    let path: String
    /// Device and inode, when something exists there.
    let identity: (device: UInt64, inode: UInt64)?
    let isDirectory: Bool
    /// The absolute path with every link resolved (the directory's, when the file does not exist yet).
    let resolved: String

    init(_ path: String) {
        self.path = path
        var status = stat()
        if stat(path, &status) == 0 {
            identity = (UInt64(status.st_dev), UInt64(status.st_ino))
            isDirectory = FileKind(mode: status.st_mode) == .directory
        } else {
            identity = nil
            isDirectory = false
        }
        resolved = Self.resolve(path)
    }

    func isSame(as other: FileName) -> Bool {
        if let identity, let theirs = other.identity {
            return identity == theirs
        }
        return resolved == other.resolved
    }

    /// Whether this path lies inside `directory` and already exists there (replacing it would change the input).
    func isInside(directory: FileName) -> Bool {
        guard directory.isDirectory, identity != nil else { return false }
        return resolved.hasPrefix(directory.resolved.hasSuffix("/") ? directory.resolved : directory.resolved + "/")
    }

    /// `realpath` of the path, or of its directory joined with its last component when the path does not exist.
    private static func resolve(_ path: String) -> String {
        if let full = realPath(path) { return full }
        let url = URL(fileURLWithPath: path)
        let directory = realPath(url.deletingLastPathComponent().path) ?? url.deletingLastPathComponent().path
        return (directory.hasSuffix("/") ? directory : directory + "/") + url.lastPathComponent
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
