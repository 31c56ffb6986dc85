import NumPyFormat

/// libFuzzer entry point: opens the input as an `.npz` archive and decodes every member.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPZ(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let archive = try? NPZArchive(bytes: bytes, path: "fuzz.npz") else { return 0 }
    for name in archive.names {
        _ = try? archive.tensor(named: name)
    }
    return 0
}
