import Foundation
import ParityModel
import SafeTensors
import TFParityKit
import TensorCore

extension Rendering {
    static let summaryHeader = ["", "min", "p25", "median", "p75", "max", "mean"]

    static func summaryRows(_ bn: BatchNormSummary) -> [[String]] {
        [
            ("moving_mean", bn.mean), ("moving_variance", bn.variance), ("gamma", bn.gamma), ("beta", bn.beta),
            ("scale", bn.scale), ("offset", bn.offset),
        ].map { name, summary in
            [name]
                + (summary.map { [$0.min, $0.p25, $0.median, $0.p75, $0.max, $0.mean].map(scientific) }
                    ?? Array(repeating: "-", count: 6))
        }
    }

    static func layerRows(_ report: InspectReport) -> [[String]] {
        report.layers.map { layer in
            [
                layer.name, layer.type,
                layer.parameters.map { "\($0.name) \(Shape.describe($0.shape))" }.joined(separator: ", "),
                String(layer.parameterCount),
            ]
        }
    }

    static func channelCounts(_ bn: BatchNormSummary) -> String {
        "variance < epsilon: \(bn.varianceBelowEpsilon) of \(bn.channels) channels; dead (|gamma| < 1e-6): "
            + "\(bn.deadChannels); negative variance: \(bn.negativeVariance); NaN/Inf values: \(bn.nonFinite)"
    }

    public static func text(_ report: InspectReport, style: TextStyle = .plain) -> String {
        var out = style.paint(report.file, .bold) + " (\(report.kind))\n"
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
                    report.tensors.map { [$0.name, $0.dtype.numpyName, Shape.describe($0.shape)] }) + "\n"
        }
        if !report.layers.isEmpty {
            out += "\n" + table(["layer", "type", "parameters", "count"], layerRows(report), rightAligned: [3]) + "\n"
            out += "total parameters: \(report.layers.map(\.parameterCount).reduce(0, +))\n"
        }
        if !report.graphOps.isEmpty {
            let rows = report.graphOps.map { [$0.layer, $0.ops.joined(separator: ", ")] }
            out += "\n" + table(["layer", "from the graph's ops"], rows) + "\n"
        }
        for bn in report.batchNorms {
            out +=
                "\n" + style.paint("batchnorm \(bn.name)", .bold)
                + ": \(bn.channels) channels, epsilon \(BatchNormDiagnosis.format(bn.epsilon)), axis \(bn.axis)\n"
            out += table(summaryHeader, summaryRows(bn), rightAligned: [1, 2, 3, 4, 5, 6], indent: "  ") + "\n"
            out += "  " + channelCounts(bn) + "\n"
        }
        if !report.warnings.isEmpty {
            out += "\n" + style.paint("warnings:", .yellow) + "\n" + report.warnings.map { "- \($0)\n" }.joined()
        }
        return out
    }

    public static func markdown(_ report: InspectReport) -> String {
        var out = "### tfparity inspect: `\(report.file)` (\(report.kind))\n"
        if let p = report.provenance {
            out +=
                "\nConverted from `\(p.source)` (\(p.sourceKind), sha256 `\(p.sha256.prefix(12))…`) by tfparity \(p.toolVersion).\n"
        }
        if !report.tensors.isEmpty {
            out +=
                "\n"
                + markdownTable(
                    ["tensor", "dtype", "shape"],
                    report.tensors.map { ["`\($0.name)`", $0.dtype.numpyName, Shape.describe($0.shape)] }) + "\n"
        }
        if !report.layers.isEmpty {
            out +=
                "\n" + markdownTable(["layer", "type", "parameters", "count"], layerRows(report), rightAligned: [3])
                + "\n"
        }
        for bn in report.batchNorms {
            out +=
                "\n#### batchnorm `\(bn.name)`: \(bn.channels) channels, epsilon \(BatchNormDiagnosis.format(bn.epsilon))\n\n"
            out += markdownTable(summaryHeader, summaryRows(bn), rightAligned: [1, 2, 3, 4, 5, 6]) + "\n\n"
            out += channelCounts(bn) + "\n"
        }
        if !report.warnings.isEmpty {
            out += "\n**Warnings**\n\n" + report.warnings.map { "- \($0)\n" }.joined()
        }
        return out
    }

    public static func json(_ report: InspectReport) -> String {
        func summary(_ s: Summary?) -> JSONValue {
            guard let s else { return .null }
            return .object([
                ("min", .double(s.min)), ("p25", .double(s.p25)), ("median", .double(s.median)),
                ("p75", .double(s.p75)),
                ("max", .double(s.max)), ("mean", .double(s.mean)),
            ])
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
                        ("source_kind", .string(p.sourceKind)), ("spec", p.spec.map(JSONValue.string) ?? .null),
                        ("tool_version", .string(p.toolVersion)),
                    ])
                ))
        }
        members.append(
            (
                "layers",
                .array(
                    report.layers.map { layer in
                        var fields: [(String, JSONValue)] = [
                            ("name", .string(layer.name)), ("type", .string(layer.type)),
                            ("inputs", .array(layer.inputs.map(JSONValue.string))),
                            ("parameters", .array(layer.parameters.map { tensorInfo($0.name, $0.dtype, $0.shape) })),
                            ("parameter_count", .int(layer.parameterCount)),
                        ]
                        // A layer read from a TensorFlow graph: the graph ops it came from.
                        if let ops = report.graphOps.first(where: { $0.layer == layer.name })?.ops {
                            fields.append(("graph_ops", .array(ops.map(JSONValue.string))))
                        }
                        return .object(fields)
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
                            ("beta", summary(bn.beta)), ("scale", summary(bn.scale)), ("offset", summary(bn.offset)),
                            ("variance_below_epsilon", .int(bn.varianceBelowEpsilon)),
                            ("dead_channels", .int(bn.deadChannels)),
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
}
