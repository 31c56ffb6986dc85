import Foundation
import TFCheckpoint

#if canImport(Glibc)
    import Glibc
#endif

/// The TF1 seed checkpoint's data shard, written once beside every fuzzed index so entries can point into it.
private let fixtureShard: Data = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let shard = root.appendingPathComponent("Fixtures/checkpoints/tf1/model.ckpt.data-00000-of-00001")
    return FileManager.default.contents(atPath: shard.path) ?? Data()
}()

/// A directory of this process's own, holding `fuzz.ckpt.data-00000-of-00001`.
private let workDirectory: String = {
    let directory = NSTemporaryDirectory() + "tfparity-fuzz-ckpt-\(getpid())"
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    FileManager.default.createFile(
        atPath: directory + "/fuzz.ckpt.data-00000-of-00001", contents: fixtureShard)
    return directory
}()

/// libFuzzer entry point: the input is a bundle's `.index` file (the TensorBundle reader has no in-memory API);
/// every entry it lists is read from the fixture's data shard.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let indexPath = workDirectory + "/fuzz.ckpt.index"
    guard FileManager.default.createFile(atPath: indexPath, contents: Data(bytes: data, count: size)) else {
        return 0
    }
    guard let bundle = try? TensorBundle(path: workDirectory + "/fuzz.ckpt") else { return 0 }
    for entry in bundle.entries {
        _ = try? bundle.tensor(named: entry.name)
    }
    return 0
}
