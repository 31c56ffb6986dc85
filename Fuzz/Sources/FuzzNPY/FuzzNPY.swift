import NumPyFormat

/// libFuzzer entry point: decodes the input as one `.npy` file. Throwing is fine; trapping is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? NPYFile.decode(bytes, path: "fuzz.npy", member: nil)
    return 0
}
