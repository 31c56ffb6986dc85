import Foundation
import ParityModel
import TensorCore

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
            let fitted = Self.fit(layer, input: name, x, in: context)
            let fittedText =
                fitted.map {
                    "; fitted from the recording: scale \(Self.number($0.scale)), offset \(Self.number($0.offset))"
                } ?? ""
            var all = Self.preprocessings(channels: x.lastDimension)
            if let fitted,
                !all.contains(where: {
                    $0.scale.count == 1 && Self.close($0.scale[0], fitted.scale)
                        && Self.close($0.offset[0], fitted.offset)
                })
            {
                all.append(
                    Preprocessing(
                        what: "scaled as x·\(Self.number(fitted.scale)) + \(Self.number(fitted.offset))",
                        scale: [fitted.scale], offset: [fitted.offset]))
            }
            return all.map { p in
                .input(
                    layer, name, Self.apply(p, to: x),
                    detail: "the recording fed '\(name)' \(p.what): scale \(Self.list(p.scale)), offset "
                        + "\(Self.list(p.offset))\(p.reverse ? " after reversing the channels" : "") relative to the "
                        + "recorded input\(p.reverse ? "" : fittedText). TensorFlow was fed the recorded input; preprocess exactly as for the model "
                        + "(keras.applications' preprocess_input for its networks).")
            }
        }
    }

    /// The scale and offset `x' = scale·x + offset` that best explain the recorded output of an affine first layer
    /// (a convolution or Dense, linear or relu), by least squares over `layer(x') = scale·W(x) + offset·W(1) + bias`;
    /// nil for other layers, or when the layer is not the checked one.
    static func fit(_ layer: Layer, input name: String, _ x: FloatTensor, in context: VariantContext)
        -> (scale: Double, offset: Double)?
    {
        guard layer.name == context.target, let op = layer.op as? any ActivatedOperation,
            op.activation == .linear || op.activation == .relu,
            layer.op.parameters.contains(where: { $0.name == "bias" })
        else { return nil }
        let linear = Layer(name: layer.name, op: op.replacingActivation(.linear), inputs: layer.inputs)
        let bias = [context.parameterKey(layer, "bias"): Tensor?.none]
        func run(_ value: [Float], withBias: Bool) -> [Float]? {
            var inputs = context.known
            inputs[name] = FloatTensor(shape: x.shape, values: value)
            return context.run([linear], parameters: withBias ? [:] : bias, inputs: inputs)?.values
        }
        guard let u = run(x.values, withBias: false),
            let v = run([Float](repeating: 1, count: x.count), withBias: false),
            let z = run([Float](repeating: 0, count: x.count), withBias: true), u.count == context.expected.count
        else { return nil }
        let y = context.expected.values
        var (uu, uv, vv, ur, vr) = (0.0, 0.0, 0.0, 0.0, 0.0)
        for i in y.indices where op.activation == .linear || y[i] > 0 {
            let (a, b, r) = (Double(u[i]), Double(v[i]), Double(y[i]) - Double(z[i]))
            uu += a * a
            uv += a * b
            vv += b * b
            ur += a * r
            vr += b * r
        }
        let determinant = uu * vv - uv * uv
        guard determinant > 1e-12 * max(uu * vv, 1e-30) else { return nil }
        let scale = (ur * vv - vr * uv) / determinant
        let offset = (vr * uu - ur * uv) / determinant
        guard scale.isFinite, offset.isFinite, !(close(scale, 1) && close(offset, 0)) else { return nil }
        return (scale, offset)
    }

    private static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-3 * max(abs(b), 1e-2) }

    /// Four significant digits, as a person writes the value.
    private static func number(_ value: Double) -> String {
        abs(value) < 5e-5 ? "0" : String(format: "%.4g", value)
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
