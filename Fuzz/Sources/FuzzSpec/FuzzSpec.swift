import Importers

/// libFuzzer entry point: parses the input as a YAML/JSON spec.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpec(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? Spec.parse(text, path: "fuzz.yaml")
    return 0
}
