import ParityModel

/// `GroupNormalization(groups, axis, epsilon, center, scale)` over the channels-last axis: variables gamma (with
/// `scale`), beta (with `center`).
enum KerasGroupNormalization: KerasLayerMapping {
    static let classNames = ["GroupNormalization"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let op = GroupNormalization(
            groups: layer.integer("groups") ?? 32, axis: try layer.axis(default: -1),
            epsilon: layer.number("epsilon") ?? 1e-3)
        let variables =
            (layer.flag("scale", default: true) ? ["gamma"] : [])
            + (layer.flag("center", default: true) ? ["beta"] : [])
        return KerasMapped(op, variables: variables)
    }
}
