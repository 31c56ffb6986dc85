import Foundation
import ParityModel
import SafeTensors
import TensorCore

/// Output formats of `verify` and `inspect`.
public enum OutputFormat: String, Sendable, CaseIterable {
    case text
    case json
}

/// Turning reports into the text users read and the JSON their tools parse. Returns strings; the CLI prints them.
public enum Rendering {
    /// `1.23e-05`: errors in scientific notation with three significant digits.
    static func scientific(_ value: Double) -> String {
        value.isFinite ? String(format: "%.2e", value) : "\(value)"
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }

    /// Lays out rows as columns; `rightAligned` marks numeric columns.
    static func table(_ header: [String], _ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { pad($1, widths[$0], right: rightAligned.contains($0)) }.joined(separator: "  ")
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    /// The C-order coordinates of flat index `index` in `shape`: `[3, 1]`.
    static func multiIndex(_ index: Int, shape: [Int]) -> String {
        var rest = index
        var coordinates = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            coordinates[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return Shape.describe(coordinates)
    }

    // MARK: verify

    public static func text(_ report: VerifyReport) -> String {
        var out = "tfparity verify: \(report.model) against \(report.recording)\n"
        out +=
            "tolerance: |actual - expected| <= \(scientific(report.tolerance.atol)) + \(scientific(report.tolerance.rtol)) * |expected|\n\n"
        let rows = report.results.map { r in
            [
                r.layer, r.stage.rawValue, r.tensor, String(r.comparison.count), String(r.comparison.mismatches),
                scientific(r.comparison.maxAbsError), scientific(r.comparison.maxRelError),
                r.passed ? "ok" : "FAIL", r.diagnosis?.id ?? "",
            ]
        }
        out +=
            table(
                [
                    "layer", "stage", "recorded tensor", "count", "mismatches", "max abs err", "max rel err", "result",
                    "diagnosis",
                ],
                rows, rightAligned: [3, 4, 5, 6]) + "\n"
        let failures = report.results.filter { !$0.passed }
        for failure in failures {
            let c = failure.comparison
            out += "\n\(failure.layer) \(failure.stage.rawValue): \(c.mismatches) of \(c.count) values differ"
            if let first = c.firstMismatch {
                out +=
                    " (first at \(multiIndex(first.index, shape: failure.shape)): computed \(String(format: "%.8g", first.actual)),"
                    + " recorded \(String(format: "%.8g", first.expected)))"
            }
            if c.nonFinite > 0 { out += "; \(c.nonFinite) NaN or infinite" }
            out += "\n"
            if let diagnosis = failure.diagnosis {
                out += "  diagnosis \(diagnosis.id): \(diagnosis.detail)\n"
            } else if failure.stage == .postBN {
                out +=
                    "  no known convention (epsilon placement or value, batch statistics, std for variance, "
                    + "missing gamma or beta) explains these values.\n"
            }
        }
        if !report.ignoredKeys.isEmpty {
            out += "\nnot compared (no such layer or key kind): " + report.ignoredKeys.joined(separator: ", ") + "\n"
        }
        let failed = failures.count
        out += "\n" + (report.passed ? "PASSED" : "FAILED") + ": \(report.results.count) checks, \(failed) failed\n"
        return out
    }

    public static func json(_ report: VerifyReport) -> String {
        let layers: [JSONValue] = report.results.map { r in
            var diagnosis: JSONValue = .null
            if let d = r.diagnosis {
                var members: [(String, JSONValue)] = [("id", .string(d.id)), ("detail", .string(d.detail))]
                if let epsilon = d.epsilon { members.append(("epsilon", .double(epsilon))) }
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
                .object([("atol", .double(report.tolerance.atol)), ("rtol", .double(report.tolerance.rtol))])
            ),
            ("layers", .array(layers)),
            ("ignored_keys", .array(report.ignoredKeys.map(JSONValue.string))),
            (
                "timings",
                .object(report.timings.map { ("\($0.name)_ms", .double(($0.milliseconds * 1000).rounded() / 1000)) })
            ),
        ])
        return serialize(document)
    }

    // MARK: inspect

    public static func text(_ report: InspectReport) -> String {
        var out = "\(report.file) (\(report.kind))\n"
        if let p = report.provenance {
            out +=
                "converted from \(p.source) (\(p.sourceKind), sha256 \(p.sha256.prefix(12))…)"
                + (p.spec.map { " with spec \($0)" } ?? "") + " by tfparity \(p.toolVersion)\n"
        }
        if !report.tensors.isEmpty {
            out +=
                "\n"
                + table(
                    ["tensor", "dtype", "shape"],
                    report.tensors.map { [$0.name, $0.dtype.numpyName, Shape.describe($0.shape)] })
                + "\n"
        }
        if !report.layers.isEmpty {
            let rows = report.layers.map { layer in
                [
                    layer.name, layer.type,
                    layer.parameters.map { "\($0.name) \(Shape.describe($0.shape))" }.joined(separator: ", "),
                    String(layer.parameterCount),
                ]
            }
            out += "\n" + table(["layer", "type", "parameters", "count"], rows, rightAligned: [3]) + "\n"
            out += "total parameters: \(report.layers.map(\.parameterCount).reduce(0, +))\n"
        }
        for bn in report.batchNorms {
            out +=
                "\nbatchnorm \(bn.name): \(bn.channels) channels, epsilon \(BatchNormDiagnosis.format(bn.epsilon)), axis \(bn.axis)\n"
            let rows = [
                ("moving_mean", bn.mean), ("moving_variance", bn.variance), ("gamma", bn.gamma), ("beta", bn.beta),
            ]
            .map { name, summary in
                [name]
                    + (summary.map { [scientific($0.min), scientific($0.max), scientific($0.mean)] } ?? ["-", "-", "-"])
            }
            out +=
                table(["", "min", "max", "mean"], rows, rightAligned: [1, 2, 3]).split(separator: "\n")
                .map { "  " + $0 }.joined(separator: "\n") + "\n"
            out += "  channels with variance < epsilon: \(bn.varianceBelowEpsilon) of \(bn.channels)\n"
        }
        if !report.warnings.isEmpty {
            out += "\nwarnings:\n" + report.warnings.map { "- \($0)\n" }.joined()
        }
        return out
    }

    public static func json(_ report: InspectReport) -> String {
        func summary(_ s: Summary?) -> JSONValue {
            guard let s else { return .null }
            return .object([("min", .double(s.min)), ("max", .double(s.max)), ("mean", .double(s.mean))])
        }
        func tensorInfo(_ name: String, _ dtype: DType, _ shape: [Int]) -> JSONValue {
            .object([
                ("name", .string(name)), ("dtype", .string(dtype.rawValue)),
                ("shape", .array(shape.map(JSONValue.int))),
            ])
        }
        var members: [(String, JSONValue)] = [("file", .string(report.file)), ("kind", .string(report.kind))]
        if let p = report.provenance {
            members.append(
                (
                    "provenance",
                    .object([
                        ("source", .string(p.source)), ("sha256", .string(p.sha256)),
                        ("source_kind", .string(p.sourceKind)),
                        ("spec", p.spec.map(JSONValue.string) ?? .null), ("tool_version", .string(p.toolVersion)),
                    ])
                ))
        }
        members.append(
            (
                "layers",
                .array(
                    report.layers.map { layer in
                        .object([
                            ("name", .string(layer.name)), ("type", .string(layer.type)),
                            ("inputs", .array(layer.inputs.map(JSONValue.string))),
                            ("parameters", .array(layer.parameters.map { tensorInfo($0.name, $0.dtype, $0.shape) })),
                            ("parameter_count", .int(layer.parameterCount)),
                        ])
                    })
            ))
        members.append(
            (
                "batchnorm",
                .array(
                    report.batchNorms.map { bn in
                        .object([
                            ("name", .string(bn.name)), ("epsilon", .double(bn.epsilon)), ("axis", .int(bn.axis)),
                            ("channels", .int(bn.channels)), ("moving_mean", summary(bn.mean)),
                            ("moving_variance", summary(bn.variance)), ("gamma", summary(bn.gamma)),
                            ("beta", summary(bn.beta)),
                            ("variance_below_epsilon", .int(bn.varianceBelowEpsilon)),
                            ("negative_variance", .int(bn.negativeVariance)), ("non_finite", .int(bn.nonFinite)),
                        ])
                    })
            ))
        if !report.tensors.isEmpty {
            members.append(("tensors", .array(report.tensors.map { tensorInfo($0.name, $0.dtype, $0.shape) })))
        }
        members.append(("warnings", .array(report.warnings.map(JSONValue.string))))
        return serialize(.object(members))
    }

    // MARK: convert

    public static func text(_ result: ConvertResult) -> String {
        "wrote \(result.output): \(result.layerCount) layers, \(result.tensorCount) tensors, "
            + "\(result.parameterCount) parameters (\(result.byteCount) bytes); source kind: \(result.sourceKind.rawValue)\n"
    }

    /// Compact JSON; NaN and infinities, which JSON cannot hold, become null.
    static func serialize(_ value: JSONValue) -> String {
        (try? sanitized(value).serialized()) ?? "null"
    }

    private static func sanitized(_ value: JSONValue) -> JSONValue {
        switch value {
        case .double(let d) where !d.isFinite: .null
        case .array(let items): .array(items.map(sanitized))
        case .object(let members): .object(members.map { ($0.0, sanitized($0.1)) })
        default: value
        }
    }
}
