import ParityModel
import TensorCore

/// Names the porting mistake behind a failing check: re-runs the layers the check re-ran with each known mistake made
/// at one of them, and reports the one that reproduces the recording.
///
/// A mistake explains the recording when its values are within the check's tolerance (loosened tenfold: the
/// re-implementation rounds in its own order), its largest error is the smallest of all mistakes, and it is clearly
/// better than the runner-up: the runner-up's largest error is at least `separation` times larger. Otherwise nothing
/// is named.
public enum PortingDiagnosis {
    /// Re-runs through more layers than this are not refitted: each candidate re-runs all of them.
    public static let maximumSpan = 32
    /// How far past the check's tolerance a mistake's values may be and still explain the recording.
    public static let looseness = 10.0
    /// How much smaller the winner's largest error must be than the runner-up's.
    public static let separation = 10.0

    /// One mistake tried at one layer, and how close it came.
    struct Fit {
        var id: String
        var layer: String
        var detail: String
        var residual: Double
        var fits: Bool
        var incumbent: Diagnosis?
    }

    /// The mistake that explains why layer `target`, computed from `known`, does not give `expected`.
    ///
    /// - Parameters:
    ///   - known: values by layer (or model input) name the re-run starts from, as `Engine.output(of:given:)` takes
    ///     them; `target`'s own entry is ignored.
    ///   - judge: the check's comparison of computed values with `expected`.
    ///   - incumbent: a finding made another way (the batch-norm fit of a `post_bn` check), which competes with the
    ///     variants on its residual.
    public static func diagnose(
        target: String, known: [String: FloatTensor], expected: FloatTensor, engine: Engine,
        judge: (FloatTensor) -> Comparison, incumbent: Diagnosis? = nil,
        variants: [any PortingVariant] = PortingVariants.all
    ) -> Diagnosis? {
        let model = engine.model
        var givens = known
        givens[target] = nil
        guard let span = span(to: target, in: model, given: givens), span.count <= maximumSpan else {
            return incumbent
        }
        let spanNames = Set(span.map(\.name))
        var entering: [String: FloatTensor] = [:]
        for name in span.flatMap(\.inputs) where !spanNames.contains(name) {
            guard let value = givens[name] else { return incumbent }
            entering[name] = value
        }
        guard
            let checked = try? LayerGraph.check(
                span, inputs: entering.mapValues { ValueShape(concrete: $0.shape) },
                parameterShape: { model.parameters[$0]?.shape })
        else { return incumbent }
        var shapes = checked.compactMapValues(\.concrete)
        for (name, value) in entering { shapes[name] = value.shape }
        let context = VariantContext(
            model: model, shapes: shapes, known: entering, engine: engine, target: target, expected: expected)

        // The layers as they are compete too: a mistake must explain the recording clearly better than no mistake
        // (a check that fails by rounding is not blamed on a bias that hardly matters at its magnitudes).
        guard let unchanged = context.run(span, inputs: entering), unchanged.shape == expected.shape else {
            return incumbent
        }
        var fits = [Fit(id: "", layer: target, detail: "", residual: residual(judge(unchanged)), fits: false)]
        if let incumbent {
            fits.append(
                Fit(
                    id: incumbent.id, layer: incumbent.layer ?? target, detail: incumbent.detail,
                    residual: incumbent.residual, fits: true, incumbent: incumbent))
        }
        for (position, layer) in span.enumerated() {
            for variant in variants {
                for candidate in variant.candidates(for: layer, in: context) {
                    var layers = span
                    layers.replaceSubrange(position...position, with: candidate.layers)
                    var feed = entering
                    for (name, value) in candidate.inputs { feed[name] = value }
                    guard let actual = context.run(layers, parameters: candidate.parameters, inputs: feed),
                        actual.shape == expected.shape
                    else { continue }
                    let comparison = judge(actual)
                    fits.append(
                        Fit(
                            id: variant.id, layer: layer.name, detail: "layer '\(layer.name)': " + candidate.detail,
                            residual: residual(comparison),
                            fits: comparison.nonFinite == 0 && comparison.maxToleranceRatio <= looseness))
                }
            }
        }
        return choose(fits)
    }

    /// The largest error, infinite when a value is not finite.
    static func residual(_ comparison: Comparison) -> Double {
        comparison.nonFinite > 0 ? .infinity : comparison.maxAbsError
    }

    /// The best fit of each id (the unchanged layers' under the empty id), the winner when it fits and stands clear of the runner-up.
    static func choose(_ fits: [Fit]) -> Diagnosis? {
        var best: [String: Fit] = [:]
        for fit in fits where fit.residual < (best[fit.id]?.residual ?? .infinity) || best[fit.id] == nil {
            best[fit.id] = fit
        }
        let ranked = best.values.sorted { $0.residual < $1.residual }
        guard let winner = ranked.first, winner.fits else { return nil }
        if ranked.count > 1 {
            let runnerUp = ranked[1].residual
            guard runnerUp > 0, runnerUp >= separation * winner.residual else { return nil }
        }
        if let incumbent = winner.incumbent { return incumbent }
        return Diagnosis(
            id: winner.id, detail: winner.detail, epsilon: nil, residual: winner.residual, layer: winner.layer)
    }

    /// The layers `Engine.output(of: target, given:)` computes, in model order; nil when one is missing.
    static func span(to target: String, in model: Model, given known: [String: FloatTensor]) -> [Layer]? {
        var index: [String: Int] = [:]
        for (i, layer) in model.layers.enumerated() where index[layer.name] == nil { index[layer.name] = i }
        guard let targetIndex = index[target] else { return nil }
        var needed: Set<Int> = [targetIndex]
        var stack = [targetIndex]
        while let i = stack.popLast() {
            for input in model.layers[i].inputs where known[input] == nil {
                guard let upstream = index[input] else { return nil }
                if needed.insert(upstream).inserted { stack.append(upstream) }
            }
        }
        return needed.sorted().map { model.layers[$0] }
    }
}
