import SafeTensors

/// libFuzzer entry point: validates the input as a safetensors file and reads every tensor.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? SafeTensorsFile(bytes: bytes, path: "fuzz.safetensors") else { return 0 }
    for name in file.names {
        _ = try? file.tensor(named: name)
    }
    return 0
}
