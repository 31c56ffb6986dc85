import ParityModel
import TensorCore

/// `flatten-order`: a channels-first (NCHW) flatten before a Dense, as a PyTorch port's `x.flatten(1)` gives, where
/// TensorFlow flattens NHWC: the Dense's kernel rows meet the features in another order.
struct FlattenOrder: PortingVariant {
    let id = "flatten-order"

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        if layer.op is Flatten, let image = layer.inputs.first.flatMap(context.shape(of:)), image.count == 4,
            image[1] * image[2] > 1, image[3] > 1
        {
            return [
                .operation(
                    layer, ChannelsFirstFlatten(),
                    detail: "the recording flattened the \(image[1])×\(image[2])×\(image[3]) input channels-first "
                        + "(NCHW, as PyTorch's x.flatten(1)); TensorFlow flattens NHWC, (height, width, channel) order, "
                        + "which the next Dense's kernel rows follow. Permute to NHWC before flattening "
                        + "(x.permute(0, 2, 3, 1).flatten(1)).")
            ]
        }
        guard layer.op is Dense, let flatten = layer.inputs.first.flatMap(context.producer(of:)),
            flatten.op is Flatten, let image = flatten.inputs.first.flatMap(context.shape(of:)), image.count == 4,
            let kernel = context.parameter(layer, "kernel"), kernel.rank == 2
        else { return [] }
        let (height, width, channels) = (image[1], image[2], image[3])
        guard height * width > 1, channels > 1, kernel.shape[0] == height * width * channels else { return [] }
        // Feature (h, w, c) met the kernel row c·H·W + h·W + w: as a kernel on NHWC features, that row moves to
        // (h·W + w)·C + c.
        let values = kernel.floatValues()
        let columns = kernel.shape[1]
        var permuted = values
        for h in 0..<height {
            for w in 0..<width {
                for c in 0..<channels {
                    let source = (c * height * width + h * width + w) * columns
                    let target = ((h * width + w) * channels + c) * columns
                    permuted[target..<target + columns] = values[source..<source + columns]
                }
            }
        }
        return [
            .parameters(
                layer, [context.parameterKey(layer, "kernel"): Tensor(shape: kernel.shape, floats: permuted)],
                detail: "the recording flattened the \(height)×\(width)×\(channels) input of '\(flatten.name)' "
                    + "channels-first (NCHW, as PyTorch's x.flatten(1)) before this Dense; TensorFlow flattens NHWC, so "
                    + "the kernel's rows follow (height, width, channel). Permute to NHWC before flattening "
                    + "(x.permute(0, 2, 3, 1).flatten(1)), or reorder the kernel's rows.")
        ]
    }
}
