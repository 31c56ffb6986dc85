import Foundation
import ParityModel
import TensorCore

/// How one Keras layer class becomes a tfparity operation: one type per class (or per family of aliases) in
/// `Layers/`, listed by `KerasLayerRegistry`. Adding a Keras class is its file plus a line in the registry.
protocol KerasLayerMapping: Sendable {
    /// The class names Keras 2 and Keras 3 write for it (`MaxPooling2D`, `MaxPool2D`).
    static var classNames: [String] { get }
    /// The operation for `layer` and the model names of its variables, in the layer's variable order (the order
    /// the weight files list them in).
    static func map(_ layer: KerasLayer) throws -> KerasMapped
}

/// A mapped Keras layer.
struct KerasMapped {
    var op: any LayerOperation
    var variables: [String]
    /// The call's tensors the operation reads, as positions in `KerasCall.tensors`, when not all of them in order (a
    /// TF function called as `f(1.0, x)` reads only `x`).
    var inputs: [Int]?

    init(_ op: any LayerOperation, variables: [String] = [], inputs: [Int]? = nil) {
        self.op = op
        self.variables = variables
        self.inputs = inputs
    }
}

/// Every Keras class tfparity converts, by class name.
enum KerasLayerRegistry {
    static let mappings: [any KerasLayerMapping.Type] = [
        KerasDense.self, KerasConv2D.self, KerasDepthwiseConv2D.self, KerasSeparableConv2D.self,
        KerasBatchNormalization.self, KerasActivation.self, KerasReLU.self, KerasLeakyReLU.self, KerasELU.self,
        KerasSoftmax.self, KerasDropout.self, KerasZeroPadding2D.self, KerasCropping2D.self, KerasMaxPooling2D.self,
        KerasAveragePooling2D.self, KerasGlobalAveragePooling2D.self, KerasGlobalMaxPooling2D.self, KerasFlatten.self,
        KerasReshape.self, KerasAdd.self, KerasMultiply.self, KerasConcatenate.self, KerasRescaling.self,
        KerasTFOpLambda.self,
        KerasNormalization.self, KerasLayerNormalization.self, KerasGroupNormalization.self, KerasConv1D.self,
        KerasDepthwiseConv1D.self, KerasSeparableConv1D.self, KerasConv2DTranspose.self, KerasUpSampling2D.self,
        KerasPermute.self, KerasSubtract.self, KerasAverage.self, KerasMaximum.self, KerasMinimum.self,
        KerasCustomScaleLayer.self, KerasLayerScale.self, KerasStochasticDepth.self,
    ]

    private static let byClass: [String: any KerasLayerMapping.Type] = Dictionary(
        mappings.flatMap { mapping in mapping.classNames.map { ($0, mapping) } },
        uniquingKeysWith: { first, _ in first })

    static func mapping(forClass className: String) -> (any KerasLayerMapping.Type)? { byClass[className] }

    /// Why a class without a mapping is refused.
    static func refusal(forClass className: String, layer: String) -> String {
        if ["Sequential", "Functional", "Model"].contains(className) {
            return "a nested \(className) model inside the model is not supported; save the inner model's layers in "
                + "one Functional model"
        }
        if className == "Lambda" {
            return "unsupported layer class 'Lambda' (layer '\(layer)'): a Lambda layer runs arbitrary Python, which "
                + "tfparity never runs"
        }
        return "unsupported layer class '\(className)' (layer '\(layer)'): tfparity converts "
            + byClass.keys.sorted().joined(separator: ", ") + "; it never guesses what another layer computes"
    }
}

/// One Keras layer's config, with the readers its mapping needs. Every number goes through checked conversion
/// (`Int(exactly:)`); ranges are the operation's to check (`LayerOperation.validate`).
struct KerasLayer {
    var entry: KerasConfig.LayerEntry
    /// The config's file, for errors.
    var path: String
    var isKeras2: Bool

    var config: [String: Any] { entry.config }
    var className: String { entry.className }
    /// The call's arguments (what a TF operation layer computes on).
    var call: KerasCall { entry.call }

    func fail(_ reason: String) -> FileError { FileError(path: path, member: entry.name, reason: reason) }

    func integer(_ key: String) -> Int? { ImportersJSON.integer(config[key]) }
    func number(_ key: String) -> Double? { ImportersJSON.number(config[key]) }
    func flag(_ key: String, default value: Bool) -> Bool { config[key] as? Bool ?? value }

    /// An integer or a pair of integers (`3`, `[3, 3]`); `value` when absent or null.
    func pair(_ key: String, default value: [Int]? = nil) throws -> [Int] {
        if let single = integer(key) { return [single, single] }
        if let list = config[key] as? [Any], list.count == 2, let a = ImportersJSON.integer(list[0]),
            let b = ImportersJSON.integer(list[1])
        {
            return [a, b]
        }
        if let value, config[key] == nil || config[key] is NSNull { return value }
        throw fail("\(className) '\(key)' must be an integer or a pair of integers")
    }

    /// A list of integers; nil when `key` is not a list, `fail(notIntegers)` thrown when an element is not an integer.
    func integerList(_ key: String, notIntegers: String) throws -> [Int]? {
        guard let list = config[key] as? [Any] else { return nil }
        let values = list.compactMap(ImportersJSON.integer)
        guard values.count == list.count else { throw fail(notIntegers) }
        return values
    }

    /// A pair of (before, after) amounts per spatial axis, as ZeroPadding2D and Cropping2D take them: `1`,
    /// `[1, 2]` (symmetric per axis) or `[[1, 2], [3, 4]]`.
    func edgeAmounts(_ key: String) throws -> EdgeAmounts {
        let raw = config[key]
        if let all = ImportersJSON.integer(raw) { return EdgeAmounts(top: all, bottom: all, left: all, right: all) }
        if let list = raw as? [Any], list.count == 2 {
            if let h = ImportersJSON.integer(list[0]), let w = ImportersJSON.integer(list[1]) {
                return EdgeAmounts(top: h, bottom: h, left: w, right: w)
            }
            if let h = list[0] as? [Any], let w = list[1] as? [Any], h.count == 2, w.count == 2 {
                let values = (h + w).compactMap(ImportersJSON.integer)
                if values.count == 4 {
                    return EdgeAmounts(top: values[0], bottom: values[1], left: values[2], right: values[3])
                }
            }
        }
        throw fail("\(className) '\(key)' must be an integer, a pair, or a pair of pairs")
    }

    func padding() throws -> Padding {
        let text = (config["padding"] as? String)?.lowercased() ?? "valid"
        guard let padding = Padding(rawValue: text) else {
            throw fail("\(className) padding '\(text)' is not supported (valid or same)")
        }
        return padding
    }

    /// The activation named by `key`; with `fused`, one a layer applies after its own computation (not `glu`, which
    /// halves the last axis). A Python function (a lambda, `gelu` with `approximate=True`) is refused by name.
    func activation(_ key: String = "activation", fused: Bool = true) throws -> Activation {
        var name = "linear"
        if let text = config[key] as? String {
            name = text
        } else if let object = config[key] as? [String: Any] {
            guard let named = (object["config"] as? String) ?? (object["class_name"] as? String) else {
                throw fail(
                    "a Python function as the activation of the \(className) layer is not supported: tfparity "
                        + "never runs Python; use a named activation")
            }
            name = named
        }
        if name == "hard_sigmoid", isKeras2 { return .hardSigmoidKeras2 }
        // Names only tfparity's model file uses are not Keras names.
        let keras = !["hard_sigmoid_keras2", "gelu_approximate"].contains(name)
        guard keras, let activation = Activation(name: name, alpha: name == "leaky_relu" ? 0.2 : nil) else {
            throw fail(
                "activation '\(name)' of the \(className) layer is not supported (known: "
                    + Activation.names.joined(separator: ", ") + ")")
        }
        if fused, !activation.preservesShape {
            throw fail(
                "activation '\(name)' of the \(className) layer is not supported there: it halves the last axis, "
                    + "only an Activation layer applies it")
        }
        return activation
    }

    /// `["bias"]` when the layer has one (`use_bias`, default true).
    var bias: [String] { flag("use_bias", default: true) ? ["bias"] : [] }

    func checkChannelsLast() throws {
        if let format = config["data_format"] as? String, format != "channels_last" {
            throw fail(
                "data_format '\(format)' of the \(className) layer is not supported: tfparity computes "
                    + "channels_last (NHWC) only")
        }
    }

    /// The 2-D window of a convolution layer; `groups` other than 1 is refused unless the caller reads it
    /// (`allowingGroups`).
    func convolution(allowingGroups: Bool = false) throws -> Convolution2D {
        try checkChannelsLast()
        if !allowingGroups, let groups = integer("groups"), groups != 1 {
            throw fail("grouped convolution (groups \(groups)) is not supported")
        }
        return Convolution2D(
            kernelSize: try pair("kernel_size"), strides: try pair("strides", default: [1, 1]),
            padding: try padding(), dilation: try pair("dilation_rate", default: [1, 1]))
    }

    /// An integer or a list of one (`3`, `[3]`); `value` when absent or null.
    func single(_ key: String, default value: Int? = nil) throws -> Int {
        if let single = integer(key) { return single }
        if let list = config[key] as? [Any], list.count == 1, let a = ImportersJSON.integer(list[0]) { return a }
        if let value, config[key] == nil || config[key] is NSNull { return value }
        throw fail("\(className) '\(key)' must be an integer or a list of one integer")
    }

    /// The 1-D window of a convolution layer (valid, same or causal); `groups` other than 1 is refused unless the
    /// caller reads it.
    func convolution1D(allowingGroups: Bool = false) throws -> Convolution1D {
        try checkChannelsLast()
        if !allowingGroups, let groups = integer("groups"), groups != 1 {
            throw fail("grouped convolution (groups \(groups)) is not supported")
        }
        let text = (config["padding"] as? String)?.lowercased() ?? "valid"
        guard let padding = Padding1D(rawValue: text) else {
            throw fail("\(className) padding '\(text)' is not supported (valid, same or causal)")
        }
        return Convolution1D(
            kernelSize: try single("kernel_size"), stride: try single("strides", default: 1), padding: padding,
            dilation: try single("dilation_rate", default: 1))
    }

    /// A grouped convolution (`Conv1D`, `Conv2D`): the window, the activation and `groups` (default 1); variables
    /// `kernel`, then the bias.
    func groupedConvolution<Operation: GroupedConvolutionOperation>(_: Operation.Type) throws -> KerasMapped
    where Operation.Geometry: KerasConvolutionGeometry {
        let op = Operation(
            try Operation.Geometry(self, allowingGroups: true), activation: try activation(),
            groups: integer("groups") ?? 1)
        return KerasMapped(op, variables: ["kernel"] + bias)
    }

    /// A depthwise or separable convolution (1-D or 2-D): the window, `depth_multiplier` (default 1) and the
    /// activation; variables `kernels` in the layer's order, then the bias.
    func depthwiseConvolution<Operation: DepthwiseConvolutionOperation>(_: Operation.Type, kernels: [String]) throws
        -> KerasMapped
    where Operation.Geometry: KerasConvolutionGeometry {
        let op = Operation(
            try Operation.Geometry(self, allowingGroups: false), depthMultiplier: integer("depth_multiplier") ?? 1,
            activation: try activation())
        return KerasMapped(op, variables: kernels + bias)
    }

    /// A list of axes (`-1`, `[1, 2, 3]`; null or `[]`: none), `value` when absent.
    func axes(default value: [Int]) throws -> [Int] {
        guard let raw = config["axis"] else { return value }
        if raw is NSNull { return [] }
        if let single = ImportersJSON.integer(raw) { return [single] }
        if let list = raw as? [Any] {
            let axes = list.compactMap(ImportersJSON.integer)
            if axes.count == list.count { return axes }
        }
        throw fail("\(className) 'axis' must be an integer or a list of integers")
    }

    /// A single axis (`-1`, `[3]`), `value` when absent.
    func axis(default value: Int) throws -> Int {
        if let single = integer("axis") { return single }
        if let list = config["axis"] as? [Any], list.count == 1, let single = ImportersJSON.integer(list[0]) {
            return single
        }
        if config["axis"] == nil { return value }
        if let list = config["axis"] as? [Any], list.count > 1 {
            throw fail("\(className) over several axes (\(list)) is not supported")
        }
        throw fail("\(className) axis \(config["axis"] ?? ""): is not an integer axis")
    }
}

/// A convolution window read from a Keras layer's config, so that one mapping reads the 1-D and the 2-D forms.
protocol KerasConvolutionGeometry {
    init(_ layer: KerasLayer, allowingGroups: Bool) throws
}

extension Convolution2D: KerasConvolutionGeometry {
    init(_ layer: KerasLayer, allowingGroups: Bool) throws {
        self = try layer.convolution(allowingGroups: allowingGroups)
    }
}

extension Convolution1D: KerasConvolutionGeometry {
    init(_ layer: KerasLayer, allowingGroups: Bool) throws {
        self = try layer.convolution1D(allowingGroups: allowingGroups)
    }
}
