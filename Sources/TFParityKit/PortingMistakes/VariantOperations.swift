import ParityModel

// What the variants need to know about operations, as protocols the operation types adopt here: a variant asks
// `layer.op as? SpatialKernelOperation` rather than switching over layer kinds.

/// An operation with spatial kernels `[kh, kw, …]` slid over its input as a cross-correlation.
protocol SpatialKernelOperation: LayerOperation {
    /// The parameters that are spatial kernels.
    var spatialKernels: [String] { get }
}

/// An operation whose window is a `Convolution2D` (its padding can be changed).
protocol WindowedConvolutionOperation: LayerOperation {
    var geometry: Convolution2D { get }
    func replacingGeometry(_ geometry: Convolution2D) -> any LayerOperation
}

/// An operation that ends in an activation (fused, as Keras' `activation=` argument, or on its own).
protocol ActivatedOperation: LayerOperation {
    var activation: Activation { get }
    func replacingActivation(_ activation: Activation) -> any LayerOperation
}

extension Conv2D: SpatialKernelOperation, WindowedConvolutionOperation, ActivatedOperation {
    var spatialKernels: [String] { ["kernel"] }
    func replacingGeometry(_ geometry: Convolution2D) -> any LayerOperation {
        Conv2D(geometry, activation: activation)
    }
    func replacingActivation(_ activation: Activation) -> any LayerOperation {
        Conv2D(geometry, activation: activation)
    }
}

extension DepthwiseConv2D: SpatialKernelOperation, WindowedConvolutionOperation, ActivatedOperation {
    var spatialKernels: [String] { ["depthwise_kernel"] }
}

extension SeparableConv2D: SpatialKernelOperation, WindowedConvolutionOperation, ActivatedOperation {
    var spatialKernels: [String] { ["depthwise_kernel"] }
}

extension DepthwiseConvolutionOperation where Geometry == Convolution2D {
    func replacingGeometry(_ geometry: Convolution2D) -> any LayerOperation {
        Self(geometry, depthMultiplier: depthMultiplier, activation: activation)
    }
    func replacingActivation(_ activation: Activation) -> any LayerOperation {
        Self(geometry, depthMultiplier: depthMultiplier, activation: activation)
    }
}

extension Dense: ActivatedOperation {
    func replacingActivation(_ activation: Activation) -> any LayerOperation { Dense(activation: activation) }
}

extension ActivationLayer: ActivatedOperation {
    func replacingActivation(_ activation: Activation) -> any LayerOperation { ActivationLayer(activation) }
}
