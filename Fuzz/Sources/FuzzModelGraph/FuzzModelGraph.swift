import Foundation
import ParityModel
import TensorCore

/// One seed model's parameter shapes (`<layer>/<param>` → shape), from `Fuzz/seeds/model-graph-parameters.json`
/// (written by `Scripts/fuzz_seeds.sh` beside the seeds), with deterministic float32 values of those shapes.
private struct ParameterTable {
    var shapes: [String: [Int]]
    var tensors: [String: Tensor]
    /// The layer names, as UTF-8: how an input is matched to its table.
    var layers: [[UInt8]]
}

private let tables: [ParameterTable] = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let path = root.appendingPathComponent("seeds/model-graph-parameters.json").path
    guard let data = FileManager.default.contents(atPath: path),
        let models = try? JSONDecoder().decode([String: [String: [Int]]].self, from: data)
    else { fatalError("cannot read \(path): run Scripts/fuzz_seeds.sh") }
    return models.keys.sorted().map { model in
        let shapes = models[model] ?? [:]
        let tensors = shapes.mapValues { shape in
            Tensor(shape: shape, floats: deterministicValues(count: shape.reduce(1, *)))
        }
        let layers = Set(shapes.keys.map { name in String(name[..<(name.lastIndex(of: "/") ?? name.endIndex)]) })
        return ParameterTable(
            shapes: shapes, tensors: tensors, layers: layers.sorted().map { Array($0.utf8) })
    }
}()

/// Values in [-1, 1) from a fixed SplitMix64 stream (positive ones for variances would not matter: the engine
/// computes whatever it is given).
private func deterministicValues(count: Int) -> [Float] {
    var state: UInt64 = 0x7466_7061_7269_7479
    return (0..<count).map { _ in
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(Double(z >> 11) / Double(1 << 53) * 2 - 1)
    }
}

/// The table whose layer names the input mentions most (ties: the first), so each seed meets its own shapes.
private func table(for bytes: [UInt8]) -> ParameterTable {
    // Every JSON string of the input, in one pass (a substring search per layer name costs more than the run).
    var strings: Set<ArraySlice<UInt8>> = []
    var index = 0
    while index < bytes.count {
        guard bytes[index] == UInt8(ascii: "\"") else {
            index += 1
            continue
        }
        let start = index + 1
        index = start
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
        }
        strings.insert(bytes[start..<min(index, bytes.count)])
        index += 1
    }
    var best = tables[0]
    var bestScore = -1
    for table in tables {
        let score = table.layers.count { strings.contains($0[...]) }
        if score > bestScore { (best, bestScore) = (table, score) }
    }
    return best
}

/// The largest value any layer may hold, and the multiply-adds the whole run may take, before it is skipped: a
/// model the fuzzer makes may be valid and merely large, which is not what this target looks for.
private let elementCap = 1 << 14
private let workCap = 1 << 20

/// Input shapes tried, in order, with `channels` in the last axis: the first the whole graph accepts is run (a
/// flatten before a dense layer accepts one image size only).
private func candidateInputs(channels: Int) -> [[Int]] {
    [[2, channels], [2, 3, channels]] + [4, 6, 8, 10, 12, 16, 20, 24, 28, 32].map { [1, $0, $0, channels] }
}

/// The channels the model's first layer expects, read from its parameter shapes (3 when none says).
private func inputChannels(_ model: Model, _ shapes: [String: [Int]]) -> Int {
    guard let first = model.layers.first(where: { layer in layer.inputs.contains { model.inputNames.contains($0) } })
    else { return 3 }
    for parameter in first.op.parameters {
        guard let shape = shapes["\(first.name)/\(parameter.name)"] else { continue }
        switch shape.count {
        case 1: return shape[0]
        case 2: return shape[0]
        case 4: return shape[2]
        default: continue
        }
    }
    return 3
}

/// libFuzzer entry point: the input is the `tfparity` metadata JSON of a model file. It is decoded and checked as
/// `ModelFile.read` does (`ModelFile.decodeGraph`), with parameter shapes from the seed models' table; a graph that
/// checks is run by the portable engine on a small deterministic input, so the kernels' preconditions meet whatever
/// attributes the checks let through. Throwing is fine; trapping is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelGraph(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let parameters = table(for: bytes)
    let json = String(decoding: bytes, as: UTF8.self)
    guard
        var model = try? ModelFile.decodeGraph(
            json: json, path: "fuzz.safetensors", parameterShape: { parameters.shapes[$0] })
    else { return 0 }
    model.parameters = parameters.tensors
    guard let engine = try? Engine(model: model, matrixProduct: .portable) else { return 0 }

    let channels = inputChannels(model, parameters.shapes)
    for shape in candidateInputs(channels: channels) {
        let inputs = Dictionary(model.inputNames.map { ($0, ValueShape(concrete: shape)) }) { first, _ in first }
        guard
            let shapes = try? LayerGraph.check(model.layers, inputs: inputs, parameterShape: { parameters.shapes[$0] })
        else { continue }
        guard fitsCaps(model, shapes, inputShape: shape, parameters.shapes) else { return 0 }
        let input = FloatTensor(shape: shape, values: deterministicValues(count: shape.reduce(1, *)))
        let given = Dictionary(model.inputNames.map { ($0, input) }) { first, _ in first }
        // Every layer no other layer reads: together they need the whole graph.
        let consumed = Set(model.layers.flatMap(\.inputs))
        for layer in model.layers where !consumed.contains(layer.name) {
            _ = try? engine.output(of: layer.name, given: given)
        }
        return 0
    }
    return 0
}

/// True when every value is within `elementCap` and the run's multiply-adds (each output element times its layer's
/// parameter elements per output channel) within `workCap`.
private func fitsCaps(_ model: Model, _ shapes: [String: ValueShape], inputShape: [Int], _ parameters: [String: [Int]])
    -> Bool
{
    guard inputShape.reduce(1, *) <= elementCap else { return false }
    var work = 0
    for layer in model.layers {
        guard let dims = shapes[layer.name]?.concrete, let elements = Checked.product(dims), elements <= elementCap
        else { return false }
        var perElement = 1
        for parameter in layer.op.parameters {
            guard let shape = parameters["\(layer.name)/\(parameter.name)"], let count = Checked.product(shape)
            else { continue }
            perElement = max(perElement, count / max(dims.last ?? 1, 1))
        }
        let (product, overflow) = elements.multipliedReportingOverflow(by: perElement)
        guard !overflow else { return false }
        work += product
        guard work <= workCap else { return false }
    }
    return true
}
