import Foundation
import ParityModel

/// `Normalization(axis, mean, variance, invert)`: the statistics are the config's constants when it has them (no
/// variables), else the adapted variables mean, variance and count (count kept, not used).
enum KerasNormalization: KerasLayerMapping {
    static let classNames = ["Normalization"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let axis = try layer.axes(default: [-1])
        let invert = layer.flag("invert", default: false)
        let mean = layer.config["mean"].flatMap { $0 is NSNull ? nil : $0 }
        let variance = layer.config["variance"].flatMap { $0 is NSNull ? nil : $0 }
        guard let mean, let variance else {
            guard mean == nil, variance == nil else {
                throw layer.fail("Normalization with only one of mean and variance in its config is not supported")
            }
            return KerasMapped(Normalization(axis: axis, invert: invert), variables: ["mean", "variance", "count"])
        }
        guard let (meanValues, meanShape) = flatten(mean), let (varianceValues, varianceShape) = flatten(variance),
            meanShape == varianceShape
        else {
            throw layer.fail(
                "Normalization constants must be numbers or nested lists of numbers of one shape for mean and "
                    + "variance (others are not supported)")
        }
        let op = Normalization(
            axis: axis, invert: invert, mean: meanValues.map { Float($0) }, variance: varianceValues.map { Float($0) },
            constantShape: meanShape)
        return KerasMapped(op)
    }

    /// A number or a rectangular nested list of numbers, flattened in C order, with its shape.
    static func flatten(_ value: Any) -> ([Double], [Int])? {
        if let number = ImportersJSON.number(value) { return ([number], []) }
        guard let list = value as? [Any], !list.isEmpty else { return nil }
        var values: [Double] = []
        var shape: [Int]?
        for item in list {
            guard let (inner, innerShape) = flatten(item), shape == nil || shape == innerShape else { return nil }
            shape = innerShape
            values += inner
        }
        return (values, [list.count] + (shape ?? []))
    }
}
