import TFParityKit

extension Rendering {
    public static func text(_ result: ExportResult) -> String {
        var out = "wrote \(result.output): \(result.tensorCount) tensors (\(result.byteCount) bytes of data)\n"
        if !result.widened.isEmpty {
            out += "bfloat16 written as float32 (numpy has no bfloat16): \(result.widened.joined(separator: ", "))\n"
        }
        return out
    }

    public static func text(_ result: FoldResult) -> String {
        var out = "wrote \(result.output): \(result.layersAfter) layers (was \(result.layersBefore)), "
        out += "\(result.folded.count) batch norm\(result.folded.count == 1 ? "" : "s") folded\n"
        for item in result.folded { out += "  folded \(item.bn) into \(item.into)\n" }
        for item in result.kept { out += "  kept \(item.bn): \(item.reason)\n" }
        if let cost = result.cost {
            out +=
                "folding cost on \(cost.probe): max |folded - unfolded| = \(scientific(cost.maxAbsDifference)), "
                + "max relative \(scientific(cost.maxRelDifference))\n"
        } else if let note = result.costNote {
            out += "folding cost \(note)\n"
        }
        return out
    }
}
