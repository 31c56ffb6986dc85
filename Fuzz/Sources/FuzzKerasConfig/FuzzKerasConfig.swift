import Foundation
import ParityModel
import TensorCore

// The Keras importer's config reader and builder are internal to Importers (the public way in is a Keras file on
// disk); the fuzz build is a debug build, whose modules are compiled for testing.
@testable import Importers

/// Weights described from the config alone: each variable a layer's mapping names gets the shape Keras would give
/// it (`units`, `filters`, `kernel_size`, `depth_multiplier`, and the channels flowing in, worked out layer by layer
/// with `LayerGraph.check` as the builder asks), so the plan meets real-looking parameter shapes without a weights
/// file. Nothing is ever read: `load` is never called by a plan that is only checked.
final class DescribedWeights: KerasWeightStore {
    let path: String
    let config: KerasConfig
    /// Each layer's output shape as far as known, by config name (InputLayers included).
    private var shapes: [String: ValueShape] = [:]
    private let entries: [String: KerasConfig.LayerEntry]
    private let inputLayers: Set<String>

    init(config: KerasConfig) {
        path = config.path
        self.config = config
        entries = Dictionary(config.layers.map { ($0.name, $0) }) { first, _ in first }
        inputLayers = Set(config.layers.filter { $0.className == "InputLayer" }.map(\.name))
        for name in inputLayers {
            shapes[name] = Self.declaredInput(entries[name]?.config ?? [:])
        }
    }

    /// An InputLayer's `batch_shape` (Keras 3) or `batch_input_shape` (Keras 2), batch unknown.
    static func declaredInput(_ config: [String: Any]) -> ValueShape {
        guard let list = (config["batch_shape"] ?? config["batch_input_shape"]) as? [Any], !list.isEmpty else {
            return .unknown
        }
        return ValueShape([nil] + list.dropFirst().map { ImportersJSON.integer($0).map { max($0, 0) } })
    }

    /// `layerPath` ends in the layer's own name; a layer inside a nested model is described only when the config's
    /// top-level list names it too (the shapes flowing inside a nested model are not worked out).
    func variables(ofLayer layerPath: [String]) throws -> [(name: String, tensor: PendingTensor)] {
        guard let name = layerPath.last, let entry = entries[name] else { return [] }
        let layer = KerasLayer(entry: entry, path: path, isKeras2: config.isKeras2)
        guard let mapped = try? KerasLayerRegistry.mapping(forClass: entry.className)?.map(layer) else { return [] }
        let inputs = entry.inbound.map { inputLayers.contains($0) ? Model.inputName : $0 }
        let inputShapes = entry.inbound.map { shapes[$0] ?? .unknown }
        let first = inputShapes.first ?? .unknown
        let channels = max(first.lastDimension ?? 3, 1)
        let described = Dictionary(
            mapped.variables.map { ($0, Self.shape(of: $0, layer: layer, channels: channels, input: first)) }
        ) { first, _ in first }
        // This layer's output, for the layers after it: the check the plan gets, one layer at a time.
        let named = Dictionary(zip(inputs, inputShapes).map { ($0, $1) }) { first, _ in first }
        let output = try? LayerGraph.check([Layer(name: name, op: mapped.op, inputs: inputs)], inputs: named) {
            described[String($0.dropFirst(name.count + 1))]
        }
        shapes[name] = output?[name] ?? .unknown
        return mapped.variables.map { variable in
            let shape = described[variable] ?? [1]
            return (
                variable,
                PendingTensor(dtype: .float32, shape: shape) {
                    preconditionFailure("the fuzz target only plans: '\(name)/\(variable)' was read")
                }
            )
        }
    }

    /// The shape Keras gives variable `variable` of `layer` for an input of `channels` channels.
    static func shape(of variable: String, layer: KerasLayer, channels: Int, input: ValueShape) -> [Int] {
        func positive(_ key: String, _ fallback: Int) -> Int {
            guard let value = layer.integer(key) else { return fallback }
            // An HDF5 dataset's dimensions are unsigned: a negative one is not a shape a weights file can hold.
            return value >= 0 ? value : fallback
        }
        let kernel = ((try? layer.pair("kernel_size", default: [1, 1])) ?? [1, 1]).map { max($0, 0) }
        let multiplier = positive("depth_multiplier", 1)
        let (depthwise, overflow) = channels.multipliedReportingOverflow(by: multiplier)
        let separated = overflow ? Int.max : depthwise
        switch (layer.className, variable) {
        case ("Dense", "kernel"): return [channels, positive("units", 1)]
        case ("Dense", "bias"): return [positive("units", 1)]
        case (_, "kernel"): return kernel + [channels, positive("filters", 1)]
        case (_, "depthwise_kernel"): return kernel + [channels, multiplier]
        case (_, "pointwise_kernel"): return [1, 1, separated, positive("filters", 1)]
        case ("DepthwiseConv2D", "bias"): return [separated]
        case (_, "bias"): return [positive("filters", 1)]
        default:
            // Batch normalisation's vectors: the size of the normalised axis.
            let axis = (try? layer.axis(default: -1)) ?? -1
            if let rank = input.rank, let dimension = input.dims[safe: axis < 0 ? axis + rank : axis] ?? nil {
                return [dimension]
            }
            return [channels]
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

/// libFuzzer entry point: the input is a Keras model config (`config.json` of a `.keras`, the `model_config`
/// attribute of an `.h5`). It is parsed (`KerasConfig.parse`), built into a plan by the Keras builder over weights
/// described from the config, and checked as `ModelImporters.plan` checks every plan (`ModelPlan.checkShapes`).
/// Throwing is fine; trapping is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKerasConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Keras 3 writes each layer's `module`; Keras 2 does not (the flag changes only `hard_sigmoid`).
    let isKeras2 = !bytes.contains(Array("\"module\"".utf8))
    guard let config = try? KerasConfig.parse(bytes, path: "fuzz.keras", isKeras2: isKeras2) else { return 0 }
    // The group names Keras3Weights falls back on for files without names.
    for layer in config.layers { _ = KerasNaming.snakeCase(layer.className) }
    let store = DescribedWeights(config: config)
    guard let plan = try? KerasModelBuilder(config: config, store: store, path: "fuzz.keras").plan() else { return 0 }
    _ = try? plan.checkShapes()
    return 0
}
