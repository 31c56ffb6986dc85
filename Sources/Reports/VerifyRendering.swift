import Foundation
import TFParityKit
import ParityModel
import SafeTensors
import TensorCore

extension Rendering {
    static let verifyHeader = [
        "layer", "stage", "recorded tensor", "count", "mismatches", "max abs err", "max rel err", "err/allowed",
        "result", "diagnosis",
    ]

    static func cells(_ r: StageResult) -> [String] {
        [
            r.layer, r.stage.rawValue, r.tensor, String(r.comparison.count), String(r.comparison.mismatches),
            scientific(r.comparison.maxAbsError), scientific(r.comparison.maxRelError), ratios(r.comparison),
            r.passed ? "ok" : "FAIL", r.diagnosis?.id ?? "",
        ]
    }

    /// How close the check came to the rule's allowance: the largest and the median ratio of error to what is
    /// allowed at that element (`0.31 / 0.002`: the worst element used 31 % of its allowance).
    static func ratios(_ c: Comparison) -> String {
        func short(_ value: Double) -> String {
            if value == 0 { return "0" }
            if !value.isFinite { return "inf" }
            return value >= 0.01 && value < 1000 ? String(format: "%.3g", value) : String(format: "%.1e", value)
        }
        return "\(short(c.maxToleranceRatio)) / \(short(c.medianToleranceRatio))"
    }

    /// The rule that judged, in words.
    public static func ruleDescription(_ report: VerifyReport) -> String {
        switch report.rule {
        case .auto:
            return "tolerance auto: |actual - expected| <= the float32 rounding bound at each element "
                + "(sqrt(2) * \(scientific(Double(RoundingBound.lambda))) * sqrt(n) * u * sum |a*b| per dot product, "
                + "propagated through the layers; u = 2^-24) + \(scientific(Double(RoundingBound.absoluteFloor)))"
        case .fixed:
            return "tolerance fixed: |actual - expected| <= \(scientific(report.tolerance.atol)) + "
                + "\(scientific(report.tolerance.rtol)) * |expected|"
        }
    }

    /// One sentence on a failing check: how many values differ and the first of them.
    static func failureSummary(_ failure: StageResult) -> String {
        let c = failure.comparison
        var out = "\(failure.layer) \(failure.stage.rawValue): \(c.mismatches) of \(c.count) values differ"
        if let first = c.firstMismatch {
            out +=
                " (first at \(multiIndex(first.index, shape: failure.shape)): computed \(String(format: "%.8g", first.actual)),"
                + " recorded \(String(format: "%.8g", first.expected)))"
        }
        if c.nonFinite > 0 { out += "; \(c.nonFinite) NaN or infinite" }
        return out
    }

    static let noPortingMistakeExplains =
        "no known porting mistake (kernel flipped, transposed or reshaped, padding split, pooling count, flatten "
        + "order, missing bias, activation, input scale or channel order) explains these values: the layers between "
        + "the nearest recorded tensor and this one compute something other than TensorFlow did."

    static let noConventionExplains =
        "no known convention (epsilon placement or value, batch statistics, std for variance, missing gamma or beta) "
        + "explains these values."

    /// The parity table and, for each failure, its first differing value and diagnosis.
    public static func text(_ report: VerifyReport, style: TextStyle = .plain) -> String {
        var out = style.paint("tfparity verify", .bold) + ": \(report.model) against \(report.recording)\n"
        out += ruleDescription(report) + "\n"
        out += "err/allowed: the largest / median ratio of |error| to what the rule allows there (above 1 fails)\n\n"
        out +=
            table(verifyHeader, report.results.map(cells), rightAligned: [3, 4, 5, 6, 7]) { row, column, padded in
                guard column == 8 || column == 9 else { return padded }
                return style.paint(padded, report.results[row].passed ? .green : .red)
            } + "\n"
        let failures = report.results.filter { !$0.passed }
        for failure in failures {
            out += "\n" + failureSummary(failure) + "\n"
            if let diagnosis = failure.diagnosis {
                out += "  " + style.paint("diagnosis \(diagnosis.id)", .yellow) + ": \(diagnosis.detail)\n"
            } else if failure.stage == .postBN {
                out += "  " + noConventionExplains + "\n"
            } else if failure.stage != .endToEnd {
                out += "  " + noPortingMistakeExplains + "\n"
            }
        }
        let loose = report.results.filter { $0.comparison.uninformative > 0 }
        if !loose.isEmpty {
            let count = loose.map(\.comparison.uninformative).reduce(0, +)
            out +=
                "\nnote: in \(loose.count) checks (first: \(loose[0].layer) \(loose[0].stage.rawValue)) the rounding bound "
                + "propagated this far allows an error as large as the tensor's mean magnitude at \(count) elements: those elements "
                + "say nothing; the local checks judge those layers\n"
        }
        if !report.ignoredKeys.isEmpty {
            out += "\nnot compared (no such layer or key kind): " + report.ignoredKeys.joined(separator: ", ") + "\n"
        }
        if let folding = report.folding { out += "\n" + foldingSummary(folding, foldedKeys: report.foldedKeys) }
        let verdict = report.passed ? style.paint("PASSED", .green) : style.paint("FAILED", .red)
        out += "\n\(verdict): \(report.results.count) checks, \(failures.count) failed\n"
        return out
    }

    public static func markdown(_ report: VerifyReport) -> String {
        var out = "### tfparity verify: \(report.passed ? "passed" : "FAILED")\n\n"
        out += "`\(report.model)` against `\(report.recording)`; \(ruleDescription(report))\n\n"
        out +=
            markdownTable(
                verifyHeader,
                report.results.map { r in cells(r).enumerated().map { $0 == 8 ? (r.passed ? "✅ ok" : "❌ FAIL") : $1 } },
                rightAligned: [3, 4, 5, 6, 7]) + "\n"
        for failure in report.results where !failure.passed {
            out += "\n- **\(failure.layer) \(failure.stage.rawValue)**: " + failureSummary(failure)
            if let d = failure.diagnosis { out += ". Diagnosis `\(d.id)`: \(d.detail)" }
            out += "\n"
        }
        return out
    }

    public static func json(_ report: VerifyReport) -> String {
        let layers: [JSONValue] = report.results.map { r in
            var diagnosis: JSONValue = .null
            if let d = r.diagnosis {
                var members: [(String, JSONValue)] = [("id", .string(d.id)), ("detail", .string(d.detail))]
                if let epsilon = d.epsilon { members.append(("epsilon", .double(epsilon))) }
                if let layer = d.layer { members.append(("layer", .string(layer))) }
                diagnosis = .object(members)
            }
            return .object([
                ("name", .string(r.layer)),
                ("stage", .string(r.stage.rawValue)),
                ("tensor", .string(r.tensor)),
                ("count", .int(r.comparison.count)),
                ("mismatches", .int(r.comparison.mismatches)),
                ("non_finite", .int(r.comparison.nonFinite)),
                ("max_abs_error", .double(r.comparison.maxAbsError)),
                ("max_rel_error", .double(r.comparison.maxRelError)),
                ("max_error_ratio", .double(r.comparison.maxToleranceRatio)),
                ("median_error_ratio", .double(r.comparison.medianToleranceRatio)),
                ("uninformative", .int(r.comparison.uninformative)),
                ("passed", .bool(r.passed)),
                ("diagnosis", diagnosis),
            ])
        }
        let document: JSONValue = .object([
            ("passed", .bool(report.passed)),
            ("model", .string(report.model)),
            ("recording", .string(report.recording)),
            (
                "tolerance",
                .object(
                    [
                        ("rule", .string(report.rule.rawValue)), ("atol", .double(report.tolerance.atol)),
                        ("rtol", .double(report.tolerance.rtol)),
                    ]
                        + (report.rule == .auto
                            ? [
                                ("unit_roundoff", .double(Double(Precision.float32.unitRoundoff))),
                                ("lambda", .double(Double(RoundingBound.lambda))),
                                ("absolute_floor", .double(Double(RoundingBound.absoluteFloor))),
                            ] : []))
            ),
            ("layers", .array(layers)),
            ("ignored_keys", .array(report.ignoredKeys.map(JSONValue.string))),
            ("folded_keys", .array(report.foldedKeys.map(JSONValue.string))),
            ("folding", report.folding.map(foldingJSON) ?? .null),
            (
                "timings",
                .object(report.timings.map { ("\($0.name)_ms", .double(($0.milliseconds * 1000).rounded() / 1000)) })
            ),
        ])
        return serialize(document)
    }

    /// JUnit XML: one test suite, one test case per layer and stage, failures carrying the errors and the diagnosis.
    public static func junit(_ report: VerifyReport) -> String {
        func escape(_ text: String) -> String {
            var out = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&quot;"
                case "'": out += "&apos;"
                case "\n", "\t": out.unicodeScalars.append(scalar)
                // XML 1.0 forbids other control characters, even escaped.
                case _ where scalar.value < 0x20: out += " "
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out
        }
        let failures = report.results.filter { !$0.passed }.count
        let seconds = report.timings.map(\.milliseconds).reduce(0, +) / 1000
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out +=
            "<testsuites name=\"tfparity verify\" tests=\"\(report.results.count)\" failures=\"\(failures)\" errors=\"0\""
        out += " time=\"\(String(format: "%.3f", seconds))\">\n"
        out +=
            "  <testsuite name=\"\(escape(report.recording))\" tests=\"\(report.results.count)\" failures=\"\(failures)\""
        out += " errors=\"0\" skipped=\"0\" time=\"\(String(format: "%.3f", seconds))\">\n"
        out += "    <properties>\n"
        out += "      <property name=\"model\" value=\"\(escape(report.model))\"/>\n"
        out += "      <property name=\"tolerance\" value=\"\(report.rule.rawValue)\"/>\n"
        out += "      <property name=\"atol\" value=\"\(report.tolerance.atol)\"/>\n"
        out += "      <property name=\"rtol\" value=\"\(report.tolerance.rtol)\"/>\n"
        out += "    </properties>\n"
        for r in report.results {
            let name = "\(r.layer) \(r.stage.rawValue) (\(r.tensor))"
            out +=
                "    <testcase classname=\"tfparity.\(escape(r.stage.rawValue))\" name=\"\(escape(name))\" time=\"0\""
            if r.passed {
                out += "/>\n"
                continue
            }
            var message = failureSummary(r)
            message +=
                "; max abs error \(scientific(r.comparison.maxAbsError)), max rel error \(scientific(r.comparison.maxRelError))"
                + ", error/allowed max / median \(ratios(r.comparison))"
            if let d = r.diagnosis { message += "; diagnosis \(d.id)" }
            out +=
                ">\n      <failure message=\"\(escape(message))\" type=\"\(escape(r.diagnosis?.id ?? "parity-mismatch"))\">"
            out += escape(message + (r.diagnosis.map { "\n\($0.detail)" } ?? ""))
            out += "</failure>\n    </testcase>\n"
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }

    /// GitHub Actions workflow commands: one `::error` line per failing check.
    public static func githubAnnotations(_ report: VerifyReport) -> String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
                .replacingOccurrences(of: "\n", with: "%0A")
        }
        func property(_ text: String) -> String {
            escape(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
        }
        return report.results.filter { !$0.passed }.map { r in
            var message = failureSummary(r)
            if let d = r.diagnosis { message += "\ndiagnosis \(d.id): \(d.detail)" }
            return
                "::error file=\(property(report.recording)),title=\(property("tfparity \(r.layer) \(r.stage.rawValue)"))::"
                + escape(message)
        }.joined(separator: "\n")
    }
}

extension Rendering {
    /// What folding removed, which recorded keys were therefore not compared, and what folding cost.
    static func foldingSummary(_ folding: FoldingRecord, foldedKeys: [String]) -> String {
        var out =
            "folded model: " + folding.folded.map { "\($0.bn) into \($0.into)" }.joined(separator: ", ") + "\n"
        if !foldedKeys.isEmpty {
            out += "not compared (folded): " + foldedKeys.joined(separator: ", ") + "\n"
        }
        if let difference = folding.maxAbsDifference {
            out += "folding cost: max |folded - unfolded| = \(scientific(difference))"
            out += folding.probe.map { " on \($0) (measured by tfparity fold)" } ?? ""
            out += "\n"
        }
        return out
    }

    static func foldingJSON(_ folding: FoldingRecord) -> JSONValue {
        .object([
            ("folded", .array(folding.folded.map { .object([("bn", .string($0.bn)), ("into", .string($0.into))]) })),
            ("max_abs_difference", folding.maxAbsDifference.map(JSONValue.double) ?? .null),
            ("probe", folding.probe.map(JSONValue.string) ?? .null),
        ])
    }
}
