import ParityModel

/// keras.applications' ConvNeXt `LayerScale`: `x * gamma`; its one variable (`variable` in Keras 3, `gamma` in
/// tf_keras) is the model's `gamma`.
enum KerasLayerScale: KerasLayerMapping {
    static let classNames = ["LayerScale"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped { KerasMapped(LayerScale(), variables: ["gamma"]) }
}
