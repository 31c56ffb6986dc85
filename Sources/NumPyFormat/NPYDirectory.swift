import Foundation
import TensorCore

/// A directory of `.npy` files, searched recursively, read as one set of named arrays.
///
/// `dump/layer0/W.npy` is named `layer0/W`: the path relative to the directory, `/`-separated, without `.npy`.
public struct NPYDirectory: Sendable {
    /// The directory as the user named it.
    public let path: String
    /// Every `.npy` file's name, sorted.
    public let names: [String]

    /// Lists the `.npy` files under `path`; files are read only by `tensor(named:)`.
    ///
    /// - Throws: `NPYError.unreadable` when `path` is not a readable directory.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw NPYError.unreadable(path: path, detail: "no such directory")
        }
        guard isDirectory.boolValue else {
            throw NPYError.unreadable(path: path, detail: "not a directory")
        }
        guard let enumerator = FileManager.default.enumerator(atPath: path) else {
            throw NPYError.unreadable(path: path, detail: "cannot list the directory")
        }
        var names: [String] = []
        while let relative = enumerator.nextObject() as? String {
            guard relative.hasSuffix(".npy") else { continue }
            var isSubdirectory: ObjCBool = false
            let full = Self.join(path, relative)
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isSubdirectory),
                !isSubdirectory.boolValue
            else { continue }
            names.append(String(relative.dropLast(4)))
        }
        self.path = path
        self.names = names.sorted()
    }

    /// True when the directory holds `name`, given with or without its `.npy` suffix.
    public func contains(_ name: String) -> Bool {
        names.contains(Self.key(for: name))
    }

    /// Reads the array `name` (with or without `.npy`).
    ///
    /// - Throws: `NPYError.memberNotFound` naming the directory, or the file's own `NPYError` naming the file.
    public func tensor(named name: String) throws -> Tensor {
        let key = Self.key(for: name)
        guard names.contains(key) else { throw NPYError.memberNotFound(path: path, name: name) }
        return try NPYFile.read(path: Self.join(path, key + ".npy"))
    }

    private static func key(for name: String) -> String {
        name.hasSuffix(".npy") ? String(name.dropLast(4)) : name
    }

    private static func join(_ directory: String, _ relative: String) -> String {
        directory.hasSuffix("/") ? directory + relative : directory + "/" + relative
    }
}
