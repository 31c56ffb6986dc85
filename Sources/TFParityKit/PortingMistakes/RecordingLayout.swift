import ParityModel
import TensorCore

/// How a recording lays out its 4-D tensors: TensorFlow's NHWC, or channels-first NCHW (PyTorch's).
public enum RecordingLayout: String, Sendable, CaseIterable {
    case nhwc
    case nchw
}

extension Recording {
    /// The recording as `verify` compares it under `layout`: for `nchw`, every 4-D tensor transposed from
    /// `[N, C, H, W]` to `[N, H, W, C]`.
    public func inLayout(_ layout: RecordingLayout) -> Recording {
        guard layout == .nchw else { return self }
        var copy = self
        copy.values = values.mapValues { $0.shape.count == 4 ? AxisPermutation.channelsLast($0) : $0 }
        return copy
    }
}

/// Finds a channels-first recording before it is compared: `layout-nchw`.
enum ChannelsFirstDetection {
    /// Throws, naming the first such tensor, when the recording's 4-D tensors are the model's NHWC values laid out
    /// NCHW (the input, or a recorded layer value).
    /// - Parameter parameterShape: the shape of parameter `<layer>/<param>` of the model.
    static func requireChannelsLast(
        _ recording: RecordedTensors, model: Model, parameterShape: (String) -> [Int]?
    ) throws {
        var inputs: [String: [Int]] = [:]
        var inputKeys: [String: String] = [:]
        for name in model.inputNames {
            let key = model.inputNames.count == 1 ? Model.inputName : "\(Model.inputName)/\(name)"
            guard let shape = recording.shapes[key] ?? recording.shapes[name] else { return }
            inputs[name] = shape
            inputKeys[name] = key
        }
        func shapes(_ inputs: [String: [Int]]) -> [String: [Int]]? {
            let checked = try? LayerGraph.check(
                model.layers, inputs: inputs.mapValues { ValueShape(concrete: $0) },
                parameterShape: parameterShape)
            return checked?.compactMapValues(\.concrete)
        }
        guard let modelShapes = shapes(inputs) else {
            // The input does not fit the model; transposed to NHWC it does: a channels-first input.
            let transposed = inputs.mapValues { $0.count == 4 ? [$0[0], $0[2], $0[3], $0[1]] : $0 }
            guard shapes(transposed) != nil,
                let (name, shape) = inputs.first(where: { $0.value.count == 4 && transposed[$0.key] != $0.value })
            else { return }
            throw channelsFirst(
                recording, key: inputKeys[name] ?? name, recorded: shape, model: transposed[name] ?? shape)
        }
        for key in recording.shapes.keys.sorted() {
            guard let recorded = recording.shapes[key], recorded.count == 4,
                let expected = modelShape(of: key, model: model, shapes: modelShapes, inputs: inputs),
                expected.count == 4, recorded != expected,
                recorded == [expected[0], expected[3], expected[1], expected[2]]
            else { continue }
            throw channelsFirst(recording, key: key, recorded: recorded, model: expected)
        }
    }

    /// The shape the model computes for recording key `key`, when it names one of its values.
    private static func modelShape(of key: String, model: Model, shapes: [String: [Int]], inputs: [String: [Int]])
        -> [Int]?
    {
        if key == "output" { return model.outputLayer.flatMap { shapes[$0.name] } }
        guard let slash = key.lastIndex(of: "/") else { return nil }
        let name = String(key[..<slash])
        switch key[key.index(after: slash)...] {
        case "output", "post_bn": return shapes[name]
        case "pre_bn":
            guard let source = model.layer(named: name)?.inputs.first else { return nil }
            return shapes[source] ?? inputs[source]
        default: return nil
        }
    }

    private static func channelsFirst(_ recording: RecordedTensors, key: String, recorded: [Int], model: [Int]) -> FileError {
        FileError(
            path: recording.path, member: key,
            reason: "recorded shape \(Shape.describe(recorded)) is the model's \(Shape.describe(model)) channels-first "
                + "(layout-nchw): the recording was written NCHW (PyTorch's layout), TensorFlow computes NHWC. "
                + "Rerun with --layout nchw to transpose every 4-D recorded tensor to NHWC before comparing")
    }
}
