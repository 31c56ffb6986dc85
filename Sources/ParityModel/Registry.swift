/// Every layer operation the engine runs, by its model-file `type`: adding an operation is its file plus a line here.
public enum LayerRegistry {
    public static let operations: [any LayerOperation.Type] = [
        Dense.self, BatchNormalization.self, ActivationLayer.self, Dropout.self, Conv2D.self, DepthwiseConv2D.self,
        SeparableConv2D.self, ZeroPadding2D.self, Cropping2D.self, MaxPooling2D.self, AveragePooling2D.self,
        GlobalAveragePooling2D.self, GlobalMaxPooling2D.self, Flatten.self, Reshape.self, Add.self, Multiply.self,
        IdentityLayer.self, Elementwise.self, ReduceMean.self, Transpose.self, StridedSlice.self,
        Concatenate.self, ReLU.self, Softmax.self, Rescaling.self, Normalization.self, LayerNormalization.self,
        GroupNormalization.self, Conv1D.self, DepthwiseConv1D.self, SeparableConv1D.self,
        Conv2DTranspose.self, UpSampling2D.self, Permute.self, Subtract.self, Average.self, Maximum.self, Minimum.self,
        CustomScale.self, LayerScale.self,
    ]

    private static let byName: [String: any LayerOperation.Type] = Dictionary(
        operations.map { ($0.typeName, $0) }, uniquingKeysWith: { first, _ in first })

    /// The operation whose model-file type is `typeName`.
    public static func operation(named typeName: String) -> (any LayerOperation.Type)? { byName[typeName] }

    /// Every type name, sorted (for messages).
    public static var typeNames: [String] { byName.keys.sorted() }
}
