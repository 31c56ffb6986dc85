import ONNXExport
import TFParityKit

extension Rendering {
    public static func text(_ result: ExportResult) -> String {
        var out = "wrote \(result.output): \(result.tensorCount) tensors (\(result.byteCount) bytes of data)\n"
        if !result.widened.isEmpty {
            out += "bfloat16 written as float32 (numpy has no bfloat16): \(result.widened.joined(separator: ", "))\n"
        }
        return out
    }

    public static func text(_ result: ONNXFileExportResult) -> String {
        let layout = result.layout.rawValue.uppercased()
        let shape = { (dims: [String]) in
            "[" + dims.joined(separator: ", ") + "]" + (dims.count == 4 ? " (\(layout))" : "")
        }
        var out = "wrote \(result.output): ONNX opset \(result.opset), \(result.nodeCount) nodes, "
        out += "\(result.initializerCount) initializers (\(result.write.modelBytes) bytes)\n"
        if let data = result.write.externalDataPath {
            out += "initializers over 1 KiB in external data \(data) (\(result.write.externalDataBytes) bytes)\n"
        }
        for input in result.inputs { out += "  input  '\(input.name)' \(shape(input.dims))\n" }
        for output in result.outputs { out += "  output '\(output.name)' \(shape(output.dims))\n" }
        if result.autoPadded {
            out += "SAME padding as auto_pad=SAME_UPPER: the input's height and width are unknown "
            out += "(give --recording or --input-shape for explicit pads)\n"
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
