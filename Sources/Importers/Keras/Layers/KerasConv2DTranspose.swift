import Foundation
import ParityModel

/// `Conv2DTranspose` (`Convolution2DTranspose`, `Deconvolution2D` in Keras 2) over channels_last input: kernel
/// `[kh, kw, filters, in]`, `output_padding` null or per axis.
enum KerasConv2DTranspose: KerasLayerMapping {
    static let classNames = ["Conv2DTranspose", "Convolution2DTranspose", "Deconvolution2D", "Deconv2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let padding = layer.config["output_padding"]
        let outputPadding = padding == nil || padding is NSNull ? nil : try layer.pair("output_padding")
        let op = Conv2DTranspose(
            try layer.convolution(), outputPadding: outputPadding, activation: try layer.activation())
        return KerasMapped(op, variables: ["kernel"] + layer.bias)
    }
}
