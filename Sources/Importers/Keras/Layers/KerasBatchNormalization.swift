import Foundation
import ParityModel

/// `BatchNormalization` at inference over one axis; renorm and virtual batches are refused. Its variables come in
/// Keras order: gamma (with `scale`), beta (with `center`), moving mean, moving variance.
enum KerasBatchNormalization: KerasLayerMapping {
    static let classNames = ["BatchNormalization"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let axis = try layer.axis(default: -1)
        if layer.flag("renorm", default: false) { throw layer.fail("BatchNormalization with renorm is not supported") }
        if let size = layer.config["virtual_batch_size"], !(size is NSNull) {
            throw layer.fail("BatchNormalization with virtual_batch_size is not supported")
        }
        // Keras 2's fused kernel (4-D input) uses the configured epsilon unchanged in TF 2.21: no 1.001e-5 floor.
        let epsilon = layer.number("epsilon") ?? 1e-3
        let variables =
            (layer.flag("scale", default: true) ? ["gamma"] : [])
            + (layer.flag("center", default: true) ? ["beta"] : [])
            + ["moving_mean", "moving_variance"]
        return KerasMapped(BatchNormalization(epsilon: epsilon, axis: axis), variables: variables)
    }
}
