import Importers
import ParityModel

/// libFuzzer entry point: parses the input as a YAML/JSON spec, then checks its layers as the spec importer wires
/// them (`inputs`, else the previous layer) with no parameter present: a spec that parses must then be refused by
/// `LayerGraph.check` (a missing parameter, an attribute out of range) or pass it, never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpec(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let spec = try? Spec.parse(text, path: "fuzz.yaml") else { return 0 }
    var layers: [Layer] = []
    var previous = Model.inputName
    for entry in spec.layers {
        layers.append(Layer(name: entry.name, op: entry.op, inputs: entry.inputs ?? [previous]))
        previous = entry.name
    }
    do {
        _ = try LayerGraph.check(layers) { _ in nil }
        // Passing with no parameters at all is right only for a graph of parameterless layers.
        precondition(
            !layers.contains { $0.op.parameters.contains(where: \.isRequired) },
            "a layer with a required parameter passed the check without it")
    } catch {
        // Expected: every parameter is missing.
    }
    return 0
}
