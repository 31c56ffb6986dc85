import Foundation
import ParityModel
import TensorCore

/// Reads one call of a TF operation layer (tf_keras' TFOpLambda and SlicingOpLambda, Keras 3's `keras.src.ops`
/// layers) by the function's own parameter names, refusing what tfparity does not compute: a keyword it does not
/// know, a tensor where it needs a constant, a non-scalar constant.
struct KerasCallArguments {
    var layer: KerasLayer
    /// The function as the user wrote it (`tf.math.multiply`, `keras.ops.add`), for messages.
    var function: String
    /// The function's parameters in order (`["x", "y"]`); `name` is accepted everywhere and ignored.
    var parameters: [String]

    init(_ layer: KerasLayer, function: String, parameters: [String]) throws {
        self.layer = layer
        self.function = function
        self.parameters = parameters
        let call = layer.call
        guard call.positional.count <= parameters.count else {
            throw layer.fail(
                "\(function) is called with \(call.positional.count) positional arguments, it takes "
                    + "\(parameters.count)")
        }
        for key in call.keyword.keys.sorted() where !parameters.contains(key) && key != "name" {
            throw layer.fail("\(function) keyword argument '\(key)' is not supported")
        }
    }

    /// The argument for parameter `name`, positional or keyword; nil when absent or null.
    func value(_ name: String) -> Any? {
        guard let position = parameters.firstIndex(of: name) else { preconditionFailure("unknown parameter \(name)") }
        let value = layer.call.argument(position, name)
        return value is NSNull ? nil : value
    }

    func fail(_ reason: String) -> FileError { layer.fail("\(function): \(reason)") }

    /// One operand of an arithmetic function: a tensor (its position in the call's tensors) or a scalar constant.
    enum Operand {
        case tensor(Int)
        case constant(Float)
    }

    func operand(_ name: String) throws -> Operand {
        switch value(name) {
        case let tensor as KerasTensorArgument: return .tensor(tensor.position)
        case let value?:
            guard let number = ImportersJSON.number(value), Float(number).isFinite else {
                throw fail("argument '\(name)' must be a tensor or a finite scalar, found \(describe(value))")
            }
            return .constant(Float(number))
        case nil: throw fail("argument '\(name)' is missing")
        }
    }

    /// The tensor argument `name`.
    func tensor(_ name: String) throws -> Int {
        guard let tensor = value(name) as? KerasTensorArgument else {
            throw fail("argument '\(name)' must be a layer's output, found \(describe(value(name) as Any))")
        }
        return tensor.position
    }

    /// An integer constant.
    func integer(_ name: String) throws -> Int? {
        guard let value = value(name) else { return nil }
        guard let integer = ImportersJSON.integer(value) else {
            throw fail("argument '\(name)' must be an integer, found \(describe(value))")
        }
        return integer
    }

    /// A list of integers, or one integer as a list of one; nil when absent.
    func integers(_ name: String) throws -> [Int]? {
        guard let value = value(name) else { return nil }
        if let single = ImportersJSON.integer(value) { return [single] }
        guard let list = value as? [Any], list.count <= 64 else {
            throw fail("argument '\(name)' must be an integer or a list of integers, found \(describe(value))")
        }
        return try list.map { item in
            guard let integer = ImportersJSON.integer(item) else {
                throw fail("argument '\(name)' must be a list of integers, found \(describe(value))")
            }
            return integer
        }
    }

    func flag(_ name: String, default fallback: Bool) throws -> Bool {
        guard let value = value(name) else { return fallback }
        guard let flag = value as? Bool else { throw fail("argument '\(name)' must be true or false") }
        return flag
    }

    /// `f(x, y)` of two tensors, or of a tensor and a constant on either side.
    func binary(_ function: Elementwise.Function, _ x: String, _ y: String) throws -> KerasMapped {
        switch (try operand(x), try operand(y)) {
        case (.tensor(let a), .tensor(let b)):
            // The merge layers already compute the two-tensor sum and product.
            if function == .add { return KerasMapped(Add(), inputs: [a, b]) }
            if function == .multiply { return KerasMapped(Multiply(), inputs: [a, b]) }
            return KerasMapped(Elementwise(function), inputs: [a, b])
        case (.tensor(let a), .constant(let c)):
            return KerasMapped(Elementwise(function, constant: c), inputs: [a])
        case (.constant(let c), .tensor(let b)):
            return KerasMapped(Elementwise(function, constant: c, constantFirst: true), inputs: [b])
        case (.constant, .constant):
            throw fail("both operands are constants; the layer reads no tensor")
        }
    }

    /// A JSON value in a message, shortened.
    func describe(_ value: Any) -> String {
        if value is KerasTensorArgument { return "a tensor" }
        if value is NSNull { return "null" }
        let text = "\(value)".replacingOccurrences(of: "\n", with: " ")
        return text.count > 60 ? String(text.prefix(57)) + "..." : text
    }
}
