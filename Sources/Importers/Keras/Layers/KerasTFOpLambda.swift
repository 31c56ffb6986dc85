import Foundation
import ParityModel

/// tf_keras' `TFOpLambda` and `SlicingOpLambda`: a TensorFlow function called on Keras tensors in a functional model
/// (`x + y`, `tf.math.multiply(x, 0.5)`, `x[:, 1:5]`), named by the config's `function` (`math.multiply`). Each
/// function maps to the operation that computes it; any other is refused, naming it.
enum KerasTFOpLambda: KerasLayerMapping {
    static let classNames = ["TFOpLambda", "SlicingOpLambda"]

    /// TF function → its parameters and the mapping.
    private static let functions:
        [String: (parameters: [String], map: @Sendable (KerasCallArguments) throws -> KerasMapped)] = [
            "__operators__.add": (["x", "y"], { try $0.binary(.add, "x", "y") }),
            "math.add": (["x", "y"], { try $0.binary(.add, "x", "y") }),
            "math.subtract": (["x", "y"], { try $0.binary(.subtract, "x", "y") }),
            "math.multiply": (["x", "y"], { try $0.binary(.multiply, "x", "y") }),
            "math.truediv": (["x", "y"], { try $0.binary(.divide, "x", "y") }),
            "math.divide": (["x", "y"], { try $0.binary(.divide, "x", "y") }),
            "math.maximum": (["x", "y"], { try $0.binary(.maximum, "x", "y") }),
            "math.minimum": (["x", "y"], { try $0.binary(.minimum, "x", "y") }),
            "nn.relu": (["features"], { try activation($0, .relu, "features") }),
            "nn.relu6": (["features"], { try activation($0, .relu6, "features") }),
            "math.sigmoid": (["x"], { try activation($0, .sigmoid, "x") }),
            "nn.sigmoid": (["x"], { try activation($0, .sigmoid, "x") }),
            "math.tanh": (["x"], { try activation($0, .tanh, "x") }),
            "nn.tanh": (["x"], { try activation($0, .tanh, "x") }),
            "math.reduce_mean": (["input_tensor", "axis", "keepdims"], reduceMean),
            "transpose": (["a", "perm", "conjugate"], transpose),
            "compat.v1.transpose": (["a", "perm", "conjugate"], transpose),
            "reshape": (["tensor", "shape"], reshape),
            "concat": (["values", "axis"], concat),
            "__operators__.getitem": (["tensor", "slice_spec", "var"], slice),
        ]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        guard let function = layer.config["function"] as? String else {
            throw layer.fail("the \(layer.className) layer names no 'function'")
        }
        guard let known = functions[function] else {
            throw layer.fail(
                "unsupported TensorFlow function 'tf.\(function)' (\(layer.className) layer '\(layer.entry.name)'): "
                    + "tfparity converts " + functions.keys.sorted().map { "tf.\($0)" }.joined(separator: ", "))
        }
        return try known.map(KerasCallArguments(layer, function: "tf.\(function)", parameters: known.parameters))
    }

    private static func activation(_ call: KerasCallArguments, _ activation: Activation, _ name: String) throws
        -> KerasMapped
    {
        KerasMapped(ActivationLayer(activation), inputs: [try call.tensor(name)])
    }

    private static func reduceMean(_ call: KerasCallArguments) throws -> KerasMapped {
        let x = try call.tensor("input_tensor")
        return KerasMapped(
            ReduceMean(axes: try call.integers("axis"), keepdims: try call.flag("keepdims", default: false)),
            inputs: [x])
    }

    private static func transpose(_ call: KerasCallArguments) throws -> KerasMapped {
        let x = try call.tensor("a")
        guard !(try call.flag("conjugate", default: false)) else { throw call.fail("conjugate=True is not supported") }
        guard let perm = try call.integers("perm") else {
            throw call.fail("a transpose without 'perm' (all axes reversed) is not supported; give perm")
        }
        return KerasMapped(Transpose(perm: perm), inputs: [x])
    }

    private static func reshape(_ call: KerasCallArguments) throws -> KerasMapped {
        let x = try call.tensor("tensor")
        guard let shape = try call.integers("shape"), call.value("shape") is [Any] else {
            throw call.fail("argument 'shape' must be a list of integers")
        }
        guard shape.first == -1 else {
            throw call.fail(
                "shape \(shape) does not keep the batch axis (its first entry must be -1); tfparity reshapes each "
                    + "sample")
        }
        return KerasMapped(Reshape(targetShape: Array(shape.dropFirst())), inputs: [x])
    }

    private static func concat(_ call: KerasCallArguments) throws -> KerasMapped {
        let values = call.value("values")
        let list = values as? [Any] ?? [values as Any]
        let inputs = try list.map { item in
            guard let tensor = item as? KerasTensorArgument else {
                throw call.fail("every value joined must be a layer's output, found \(call.describe(item))")
            }
            return tensor.position
        }
        guard let axis = try call.integer("axis") else { throw call.fail("argument 'axis' is missing") }
        return KerasMapped(Concatenate(axis: axis), inputs: inputs)
    }

    /// `x[spec]`: `slice_spec` is one entry or a list, each `{"start", "stop", "step"}` or an integer index.
    private static func slice(_ call: KerasCallArguments) throws -> KerasMapped {
        let x = try call.tensor("tensor")
        guard call.value("var") == nil else { throw call.fail("argument 'var' is not supported") }
        guard let spec = call.value("slice_spec") else { throw call.fail("argument 'slice_spec' is missing") }
        let entries = spec as? [Any] ?? [spec]
        let axes = try entries.map { entry -> StridedSlice.Axis in
            if let index = ImportersJSON.integer(entry), !(entry is Bool) { return StridedSlice.Axis(index: index) }
            guard let range = entry as? [String: Any], Set(range.keys).isSubset(of: ["start", "stop", "step"]) else {
                throw call.fail(
                    "slice entry \(call.describe(entry)) is not supported (ranges and integer indices are; an "
                        + "ellipsis, a new axis or a tensor index are not)")
            }
            func bound(_ key: String) throws -> Int? {
                guard let value = range[key], !(value is NSNull) else { return nil }
                guard let integer = ImportersJSON.integer(value) else {
                    throw call.fail("slice \(key) \(call.describe(value)) must be an integer")
                }
                return integer
            }
            return StridedSlice.Axis(start: try bound("start"), stop: try bound("stop"), step: try bound("step") ?? 1)
        }
        return KerasMapped(StridedSlice(axes: axes), inputs: [x])
    }
}
