import Foundation
import TFParityKit
import SafeTensors
import TensorCore

extension Rendering {
    // MARK: inspect on a checkpoint

    public static func text(_ report: CheckpointReport) -> String {
        let parameters = report.variables.filter { $0.note == nil }.count
        var out = "\(report.file) (\(report.kind)): \(report.variables.count) entries, \(parameters) model parameters, "
        out += "\(report.shardCount) data shard\(report.shardCount == 1 ? "" : "s")\n\n"
        out +=
            table(
                ["variable", "dtype", "shape", "note"],
                report.variables.map { [$0.name, $0.dtype, Shape.describe($0.shape), $0.note ?? ""] }) + "\n"
        if !report.batchNorms.isEmpty {
            out += "\nbatch-norm parameters by layer:\n"
            for group in report.batchNorms {
                out += "  \(group.name)" + (group.channels.map { ": \($0) channels" } ?? "") + "\n"
                let rows = [
                    ("gamma", group.gamma), ("beta", group.beta), ("moving_mean", group.movingMean),
                    ("moving_variance", group.movingVariance),
                ]
                for (parameter, name) in rows {
                    out += "    " + pad(parameter, 16) + (name ?? "-") + "\n"
                }
            }
        }
        if !report.warnings.isEmpty {
            out += "\nwarnings:\n" + report.warnings.map { "- \($0)\n" }.joined()
        }
        return out
    }

    public static func json(_ report: CheckpointReport) -> String {
        func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        let variables: [JSONValue] = report.variables.map { variable in
            .object([
                ("name", .string(variable.name)), ("dtype", .string(variable.dtype)),
                ("shape", .array(variable.shape.map(JSONValue.int))), ("note", optional(variable.note)),
            ])
        }
        let groups: [JSONValue] = report.batchNorms.map { group in
            .object([
                ("name", .string(group.name)), ("channels", group.channels.map(JSONValue.int) ?? .null),
                ("gamma", optional(group.gamma)), ("beta", optional(group.beta)),
                ("moving_mean", optional(group.movingMean)), ("moving_variance", optional(group.movingVariance)),
            ])
        }
        return serialize(
            .object([
                ("file", .string(report.file)), ("kind", .string(report.kind)), ("prefix", .string(report.prefix)),
                ("shards", .int(report.shardCount)), ("variables", .array(variables)),
                ("batchnorm_groups", .array(groups)), ("warnings", .array(report.warnings.map(JSONValue.string))),
            ]))
    }
}
