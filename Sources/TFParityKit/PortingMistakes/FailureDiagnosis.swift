import ParityModel

extension Verifier {
    /// Refits every failing local check against the known porting mistakes (`PortingDiagnosis`); checks that pass
    /// cost nothing (not even the model's parameters, read again only when a check failed). A `post_bn` finding of
    /// the batch-norm fit competes with them.
    static func diagnoseFailures(
        _ results: inout [StageResult], context: CheckContext, plan: RecordingPlan, recording: RecordedTensors,
        options: VerifyOptions
    ) throws {
        let failing = results.indices.filter { !results[$0].passed && results[$0].stage != .endToEnd }
        guard !failing.isEmpty else { return }
        let engine = try context.fullEngine()
        let model = engine.model
        for index in failing {
            let result = results[index]
            guard let layer = model.layer(named: result.layer), let expected = try recording.value(result.tensor)
            else { continue }
            let target: String
            var known: [String: FloatTensor] = [:]
            switch result.stage {
            case .preBN:
                guard let source = layer.inputs.first, !model.inputNames.contains(source) else { continue }
                target = source
            case .postBN:
                target = layer.name
            case .output, .endToEnd:
                target = layer.name
            }
            if result.stage == .postBN, let preKey = plan.preBN[layer.name], let pre = try recording.value(preKey),
                let source = layer.inputs.first
            {
                known = [source: pre]
            } else {
                for (name, key) in plan.knownKeys(reaching: target, in: model) {
                    known[name] = try recording.value(key)
                }
            }
            results[index].diagnosis = PortingDiagnosis.diagnose(
                target: target, known: known, expected: expected, engine: engine,
                judge: { Comparison(actual: $0.values, expected: expected.values, tolerance: options.tolerance) },
                incumbent: result.diagnosis)
        }
    }
}
