import ParityModel

/// `input-scale`: the first layer fed differently scaled input: 0–255 where the model takes [0, 1] or the reverse,
/// [-1, 1], caffe's mean subtraction (BGR, ImageNet means), torch's per-channel normalisation.
struct InputScale: PortingVariant {
    let id = "input-scale"

    /// One preprocessing: `x' = x[channels] · scale + offset` per channel (`reverse`: BGR ↔ RGB first).
    struct Preprocessing {
        var what: String
        var scale: [Double]
        var offset: [Double]
        var reverse = false
    }

    static let caffeMeans = [103.939, 116.779, 123.68]
    static let torchMeans = [0.485, 0.456, 0.406]
    static let torchDeviations = [0.229, 0.224, 0.225]

    static func preprocessings(channels: Int) -> [Preprocessing] {
        func uniform(_ what: String, _ scale: Double, _ offset: Double) -> Preprocessing {
            Preprocessing(what: what, scale: [scale], offset: [offset])
        }
        var all = [
            uniform("multiplied by 255 (0–255 pixels where the model takes [0, 1])", 255, 0),
            uniform("divided by 255 ([0, 1] where the model takes 0–255)", 1 / 255, 0),
            uniform("mapped from [0, 1] to [-1, 1] (x·2 − 1)", 2, -1),
            uniform("mapped from [-1, 1] to [0, 1] ((x + 1)/2)", 0.5, 0.5),
            uniform("mapped from 0–255 to [-1, 1] (x/127.5 − 1)", 1 / 127.5, -1),
            uniform("mapped from [-1, 1] to 0–255 ((x + 1)·127.5)", 127.5, 127.5),
        ]
        if channels == 3 {
            all.append(
                Preprocessing(
                    what:
                        "caffe-preprocessed (RGB→BGR, ImageNet means [103.939, 116.779, 123.68] subtracted) where the "
                        + "model takes RGB 0–255",
                    scale: [1, 1, 1], offset: caffeMeans.map { -$0 }, reverse: true))
            all.append(
                Preprocessing(
                    what: "as raw RGB 0–255 where the model takes caffe-preprocessed input (BGR, ImageNet means "
                        + "subtracted)",
                    scale: [1, 1, 1], offset: caffeMeans.reversed(), reverse: true))
            all.append(
                Preprocessing(
                    what: "torch-normalised ((x − [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]) where the model "
                        + "takes [0, 1]",
                    scale: torchDeviations.map { 1 / $0 }, offset: zip(torchMeans, torchDeviations).map { -$0 / $1 }))
        }
        return all
    }

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        layer.inputs.filter(context.isModelInput).flatMap { name -> [VariantCandidate] in
            guard let x = context.value(of: name), x.shape.count >= 2 else { return [] }
            return Self.preprocessings(channels: x.lastDimension).map { p in
                .input(
                    layer, name, Self.apply(p, to: x),
                    detail: "the recording fed '\(name)' \(p.what): scale \(Self.list(p.scale)), offset "
                        + "\(Self.list(p.offset))\(p.reverse ? " after reversing the channels" : "") relative to the "
                        + "recorded input. TensorFlow was fed the recorded input; preprocess exactly as for the model "
                        + "(keras.applications' preprocess_input for its networks).")
            }
        }
    }

    static func apply(_ p: Preprocessing, to x: FloatTensor) -> FloatTensor {
        let source = p.reverse ? InputChannelOrder.reversingChannels(x) : x
        let c = x.lastDimension
        var values = source.values
        for i in values.indices {
            let k = p.scale.count == 1 ? 0 : i % c
            values[i] = Float(Double(source.values[i]) * p.scale[k] + p.offset[k])
        }
        return FloatTensor(shape: x.shape, values: values)
    }

    private static func list(_ values: [Double]) -> String {
        let text = values.map { BatchNormDiagnosis.format($0) }
        return text.count == 1 ? text[0] : "[" + text.joined(separator: ", ") + "]"
    }
}
