import Foundation
import TFCheckpoint

#if canImport(Glibc)
    import Glibc
#endif

/// A directory of this process's own, holding `fuzz.ckpt.data-00000-of-00001`: the TF1 seed checkpoint's data shard,
/// written once so every fuzzed index's entries can point into it.
///
/// The shard's bytes are not kept in a global: LeakSanitizer did not find the reference a global `Data` holds
/// (packed into the payload of its representation enum, it seems), so it reported the shard as leaked at every exit,
/// and every run ended with a "crash" of the empty input.
private let workDirectory: String = {
    let directory = NSTemporaryDirectory() + "tfparity-fuzz-ckpt-\(getpid())"
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let shard = root.appendingPathComponent("Fixtures/checkpoints/tf1/model.ckpt.data-00000-of-00001")
    FileManager.default.createFile(
        atPath: directory + "/fuzz.ckpt.data-00000-of-00001",
        contents: FileManager.default.contents(atPath: shard.path))
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
