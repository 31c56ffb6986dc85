import Foundation
import ParityModel

/// Keras 3's operation layers: `keras.ops.add(x, 3.0)` on symbolic tensors is saved as a layer of class `Add` from
/// module `keras.src.ops.numpy`, its operands in the call's `args`. The arithmetic ones map to `Elementwise` (or, for
/// two tensors, `Add` and `Multiply`); any other is refused, naming it.
enum KerasOperationLayers {
    private static let binary: [String: Elementwise.Function] = [
        "Add": .add, "Subtract": .subtract, "Multiply": .multiply, "Divide": .divide, "TrueDivide": .divide,
        "Maximum": .maximum, "Minimum": .minimum,
    ]

    static func map(_ layer: KerasLayer, module: String) throws -> KerasMapped {
        let qualified = "\(module).\(layer.className)"
        guard module == "keras.src.ops.numpy", let function = binary[layer.className] else {
            throw layer.fail(
                "unsupported Keras operation '\(qualified)' (layer '\(layer.entry.name)'): tfparity converts "
                    + binary.keys.sorted().map { "keras.src.ops.numpy.\($0)" }.joined(separator: ", "))
        }
        let call = try KerasCallArguments(layer, function: qualified, parameters: ["x1", "x2"])
        return try call.binary(function, "x1", "x2")
    }
}
