import ParityModel

extension Verifier {
    /// Refits every failing local check against the known porting mistakes (`PortingDiagnosis`); checks that pass
    /// cost nothing. A `post_bn` finding of the batch-norm fit competes with them.
    static func diagnoseFailures(
        _ results: inout [StageResult], engine: Engine, plan: RecordingPlan, recording: Recording,
        options: VerifyOptions
    ) {
        let model = engine.model
        for index in results.indices where !results[index].passed && results[index].stage != .endToEnd {
            let result = results[index]
            guard let layer = model.layer(named: result.layer), let expected = recording.values[result.tensor] else {
                continue
            }
            var known = plan.known
            let target: String
            switch result.stage {
            case .preBN:
                guard let source = layer.inputs.first, !model.inputNames.contains(source) else { continue }
                target = source
            case .postBN:
                target = layer.name
                if let preKey = plan.preBN[layer.name], let pre = recording.values[preKey],
                    let source = layer.inputs.first
                {
                    known = [source: pre]
                }
            case .output, .endToEnd:
                target = layer.name
            }
            results[index].diagnosis = PortingDiagnosis.diagnose(
                target: target, known: known, expected: expected, engine: engine,
                judge: { Comparison(actual: $0.values, expected: expected.values, tolerance: options.tolerance) },
                incumbent: result.diagnosis)
        }
    }
}
