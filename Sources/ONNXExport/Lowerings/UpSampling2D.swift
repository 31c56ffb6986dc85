import ONNXFormat
import ParityModel

/// `UpSampling2D`: ONNX `Resize` of the NCHW value by `scales = [1, 1, sh, sw]`. Nearest is
/// `asymmetric` coordinates with `floor` (output pixel `o` reads `o / s`: each pixel repeated, as the engine's
/// `repeatPixels`); bilinear is `linear` with `half_pixel` coordinates, TensorFlow's `ResizeBilinear(half_pixel_centers)`
/// (`(o + 0.5) / s − 0.5`, clamped to the image, in both).
struct UpSampling2DLowering: ONNXLowering {
    static func lower(_ op: UpSampling2D, in context: inout LoweringContext) -> LoweredValue {
        let x = context.inputNCHW(0)
        // Before opset 13 `roi` is not optional: an empty one.
        let roi = context.opset >= 13 ? "" : context.weight("roi", shape: [0], [])
        let scales = context.weight("scales", shape: [4], [1, 1, Float(op.size[0]), Float(op.size[1])])
        let attributes: [ONNXAttribute] =
            switch op.interpolation {
            case .nearest:
                [
                    .string("mode", "nearest"), .string("coordinate_transformation_mode", "asymmetric"),
                    .string("nearest_mode", "floor"),
                ]
            case .bilinear: [.string("mode", "linear"), .string("coordinate_transformation_mode", "half_pixel")]
            }
        return LoweredValue(name: context.node("Resize", [x, roi, scales], attributes), channelsFirst: true)
    }
}
