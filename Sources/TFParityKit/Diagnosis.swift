import Foundation
import ParityModel

/// The convention that explains a failing `post_bn` stage.
public struct Diagnosis: Sendable, Equatable {
    /// One of the contract's ids: `eps-outside-sqrt`, `eps-mismatch`, `batch-statistics`, `std-as-variance`,
    /// `no-gamma`, `no-beta`, or a porting mistake's (`PortingVariants.all`, `layout-nchw`).
    public var id: String
    /// What the recording was made with and what to change, in words.
    public var detail: String
    /// The epsilon that explains the recording, for the epsilon findings.
    public var epsilon: Double?
    /// The largest error between the recording and this convention's values.
    public var residual: Double
    /// The layer the mistake was made at, when it is not the checked layer itself (a convolution before the batch
    /// norm whose `pre_bn` failed) or was found by the porting diagnosis.
    public var layer: String? = nil
}

/// Fits the recorded values of a batch-norm layer against the conventions users get wrong.
///
/// Each candidate recomputes `post_bn` from the recorded `pre_bn` and the layer's parameters under one mistaken
/// convention; the candidate that reproduces the recording within (a loosened) tolerance, with the smallest residual,
/// is the finding. Epsilons are fitted from the data itself and snapped to the values frameworks use.
public enum BatchNormDiagnosis {
    /// The batch-norm parameters, as float32 arrays of `channels` values.
    public struct Parameters: Sendable {
        public var mean: [Float]
        public var variance: [Float]
        public var gamma: [Float]?
        public var beta: [Float]?
        public var epsilon: Double

        public init(mean: [Float], variance: [Float], gamma: [Float]?, beta: [Float]?, epsilon: Double) {
            self.mean = mean
            self.variance = variance
            self.gamma = gamma
            self.beta = beta
            self.epsilon = epsilon
        }
    }

    /// Epsilons seen in the wild: Keras (1e-3), PyTorch and TF1 contrib (1e-5), TF's fused kernel clamp (1.001e-5)…
    static let knownEpsilons: [Double] = [1e-3, 1e-5, 1.001e-5, 1e-4, 1e-6, 1e-2, 2e-5, 1e-7, 1e-8, 1e-12, 0.1, 0]

    /// The finding for a layer whose `post_bn` does not match, or nil when no convention explains it.
    ///
    /// - Parameters:
    ///   - x: the recorded `pre_bn` values; `y`: the recorded `post_bn` values (same count).
    ///   - inner: the number of elements after the channel axis (1 for channels-last).
    public static func diagnose(
        x: [Float], y: [Float], parameters p: Parameters, inner: Int, tolerance: Tolerance
    ) -> Diagnosis? {
        let channels = p.mean.count
        guard channels > 0, x.count == y.count, !x.isEmpty else { return nil }
        // Float32 rounding in numpy or another framework's kernels adds error the contract's tolerance does not
        // allow for; a convention explains the recording when it lands within ten times that tolerance.
        let loose = Tolerance(atol: tolerance.atol * 10, rtol: tolerance.rtol * 10)
        let ones = [Double](repeating: 1, count: channels)
        let zeros = [Double](repeating: 0, count: channels)
        let mean = p.mean.map(Double.init)
        let variance = p.variance.map(Double.init)
        let gamma = p.gamma.map { $0.map(Double.init) } ?? ones
        let beta = p.beta.map { $0.map(Double.init) } ?? zeros
        func channel(_ i: Int) -> Int { (i / inner) % channels }

        /// The largest error, or nil when an element falls outside the loose tolerance.
        func residual(_ predict: (Int, Int) -> Double) -> Double? {
            var worst = 0.0
            for i in 0..<x.count {
                let predicted = predict(i, channel(i))
                let expected = Double(y[i])
                guard loose.accepts(predicted, expected) else { return nil }
                worst = max(worst, abs(predicted - expected))
            }
            return worst
        }
        func insideSqrt(_ epsilon: Double, variance v: [Double], mean m: [Double], gamma g: [Double], beta b: [Double])
            -> (Int, Int) -> Double
        {
            { i, c in g[c] * (Double(x[i]) - m[c]) / (v[c] + epsilon).squareRoot() + b[c] }
        }
        func outsideSqrt(_ epsilon: Double) -> (Int, Int) -> Double {
            { i, c in
                epsilonOutsideSqrt(
                    Double(x[i]), mean: mean[c], variance: variance[c], gamma: gamma[c], beta: beta[c], epsilon: epsilon
                )
            }
        }

        var findings: [Diagnosis] = []
        func consider(_ id: String, _ epsilon: Double?, _ detail: String, _ predict: (Int, Int) -> Double) {
            if let r = residual(predict) {
                findings.append(Diagnosis(id: id, detail: detail, epsilon: epsilon, residual: r))
            }
        }
        let layerEpsilon = p.epsilon
        let eps = format(layerEpsilon)

        // Epsilon outside the root, with the layer's epsilon or a fitted one.
        let outsideFits = fitEpsilon(x: x, y: y, mean: mean, gamma: gamma, beta: beta, channel: channel) { scale, c in
            1 / scale - variance[c].squareRoot()
        }
        for candidate in epsilonCandidates(layerEpsilon: layerEpsilon, fitted: outsideFits)
        where candidate == layerEpsilon || knownEpsilons.contains(candidate) {
            let named = candidate == layerEpsilon ? "" : " (with epsilon \(format(candidate)), not the model's \(eps))"
            consider(
                "eps-outside-sqrt", candidate,
                "the recording was computed with epsilon outside the square root\(named): "
                    + "gamma * (x - mean) / (sqrt(variance) + epsilon) + beta. TensorFlow computes "
                    + "gamma * (x - mean) / sqrt(variance + epsilon) + beta: move epsilon inside the root.",
                outsideSqrt(candidate))
        }
        // Another epsilon inside the root.
        let insideFits = fitEpsilon(x: x, y: y, mean: mean, gamma: gamma, beta: beta, channel: channel) { scale, c in
            1 / (scale * scale) - variance[c]
        }
        // Only epsilons frameworks use are findings: a fitted value between them (0.001000000233 against the model's
        // 0.001) is rounding or something else, and saying "use epsilon 0.001000000233" would be a confident guess.
        for candidate in epsilonCandidates(layerEpsilon: layerEpsilon, fitted: insideFits)
        where candidate != layerEpsilon && knownEpsilons.contains(candidate) {
            consider(
                "eps-mismatch", candidate,
                "the recording matches epsilon = \(format(candidate)), not the model's \(eps)\(epsilonHint(candidate)). "
                    + "Use the epsilon the network was trained and recorded with (the BN layer's epsilon) in the spec.",
                insideSqrt(candidate, variance: variance, mean: mean, gamma: gamma, beta: beta))
        }
        // The batch's own statistics (training mode).
        var batchMean = [Double](repeating: 0, count: channels)
        var batchSquares = [Double](repeating: 0, count: channels)
        var perChannel = [Double](repeating: 0, count: channels)
        for i in 0..<x.count {
            batchMean[channel(i)] += Double(x[i])
            perChannel[channel(i)] += 1
        }
        for c in 0..<channels { batchMean[c] /= max(perChannel[c], 1) }
        for i in 0..<x.count {
            let d = Double(x[i]) - batchMean[channel(i)]
            batchSquares[channel(i)] += d * d
        }
        let batchVariance = (0..<channels).map { batchSquares[$0] / max(perChannel[$0], 1) }
        consider(
            "batch-statistics", nil,
            "the recording was normalised with the batch's own mean and variance (training mode), "
                + "not the moving averages. Record in inference mode: model(x, training=False), or the phase flag off.",
            insideSqrt(layerEpsilon, variance: batchVariance, mean: batchMean, gamma: gamma, beta: beta))
        // A standard deviation where a variance belongs, or the reverse.
        consider(
            "std-as-variance", nil,
            "the recording used the standard deviation sqrt(variance) where the variance belongs. "
                + "Pass the moving variance itself, not its square root.",
            insideSqrt(
                layerEpsilon, variance: variance.map { max($0, 0).squareRoot() }, mean: mean, gamma: gamma, beta: beta))
        consider(
            "std-as-variance", nil,
            "the recording squared the moving variance, as if it were a standard deviation. "
                + "Pass the moving variance itself.",
            insideSqrt(layerEpsilon, variance: variance.map { $0 * $0 }, mean: mean, gamma: gamma, beta: beta))
        if p.gamma != nil {
            consider(
                "no-gamma", nil,
                "the recording did not apply gamma (the scale). Multiply by gamma, or check the layer's scale=True/False "
                    + "matches the network's.",
                insideSqrt(layerEpsilon, variance: variance, mean: mean, gamma: ones, beta: beta))
        }
        if p.beta != nil {
            consider(
                "no-beta", nil,
                "the recording did not add beta (the offset). Add beta, or check the layer's center=True/False "
                    + "matches the network's.",
                insideSqrt(layerEpsilon, variance: variance, mean: mean, gamma: gamma, beta: zeros))
        }
        // Float16 or bfloat16 arithmetic where the model computes in float32: the input, the result (and so the
        // per-element product) rounded to the smaller precision.
        for precision in [Precision.float16, .bfloat16] {
            let name = precision == .float16 ? "float16" : "bfloat16"
            consider(
                "reduced-precision", nil,
                "the recording was computed in \(name) (mixed precision), where the model computes in float32. "
                    + "Record with the model's own dtype policy, or convert the model trained under it.",
                { i, c in
                    let xr = Double(precision.rounded(x[i]))
                    let inv = gamma[c] / (variance[c] + layerEpsilon).squareRoot()
                    return Double(precision.rounded(Float(xr * inv + (beta[c] - mean[c] * inv))))
                })
        }
        // A finding must explain the recording clearly better than TensorFlow's own formula does: otherwise what
        // differs is rounding, and no convention is to blame.
        var correct = 0.0
        for i in 0..<x.count {
            let c = channel(i)
            correct = max(correct, abs(insideSqrt(layerEpsilon, variance: variance, mean: mean, gamma: gamma, beta: beta)(i, c) - Double(y[i])))
        }
        return findings.filter { $0.residual < 0.5 * correct }.min { $0.residual < $1.residual }
    }

    /// The hand-written formula that puts epsilon outside the root: `gamma * (x - mean) / (sqrt(variance) + epsilon) + beta`.
    public static func epsilonOutsideSqrt(
        _ x: Double, mean: Double, variance: Double, gamma: Double, beta: Double, epsilon: Double
    ) -> Double {
        gamma * (x - mean) / (variance.squareRoot() + epsilon) + beta
    }

    /// Per-element scale `(y - beta) / (gamma * (x - mean))` turned into an epsilon by `solve`, median over the elements
    /// where `x - mean` is large enough to carry information.
    private static func fitEpsilon(
        x: [Float], y: [Float], mean: [Double], gamma: [Double], beta: [Double], channel: (Int) -> Int,
        solve: (Double, Int) -> Double
    ) -> Double? {
        var estimates: [Double] = []
        estimates.reserveCapacity(x.count)
        for i in 0..<x.count {
            let c = channel(i)
            let centred = Double(x[i]) - mean[c]
            let denominator = gamma[c] * centred
            guard abs(denominator) > 1e-6, abs(centred) > 1e-4 * (abs(mean[c]) + 1e-3) else { continue }
            let scale = (Double(y[i]) - beta[c]) / denominator
            guard scale > 0, scale.isFinite else { continue }
            let epsilon = solve(scale, c)
            if epsilon.isFinite { estimates.append(epsilon) }
        }
        guard !estimates.isEmpty else { return nil }
        estimates.sort()
        return estimates[estimates.count / 2]
    }

    /// The layer's epsilon, the known epsilons near the fitted one, and the fitted one itself.
    private static func epsilonCandidates(layerEpsilon: Double, fitted: Double?) -> [Double] {
        var candidates = [layerEpsilon]
        if let fitted, fitted > -1e-9 {
            let near = knownEpsilons.filter { known in
                known == 0 ? abs(fitted) < 1e-9 : abs(fitted - known) <= 0.2 * known
            }
            candidates += near.sorted { abs($0 - fitted) < abs($1 - fitted) }
            candidates.append(max(fitted, 0))
        }
        var seen: Set<Double> = []
        return candidates.filter { seen.insert($0).inserted }
    }

    private static func epsilonHint(_ epsilon: Double) -> String {
        switch epsilon {
        case 1.001e-5: " — TensorFlow's fused batch-norm kernel raises any epsilon below 1.001e-5 to 1.001e-5"
        case 1e-5: " — PyTorch's default, and tf.compat.v1.layers' fused default"
        case 1e-3: " — Keras' default"
        default: ""
        }
    }

    /// `0.001`, `1e-05`, `1.001e-05`: how Python prints these values, so users recognise them.
    public static func format(_ value: Double) -> String {
        if value == 0 { return "0" }
        if value >= 1e-4 && value < 1e6 {
            var text = String(format: "%.10g", value)
            if !text.contains(".") && !text.contains("e") { text += ".0" }
            return text
        }
        let formatted = String(format: "%.10g", value)  // e.g. 1.001e-05
        return formatted
    }
}
