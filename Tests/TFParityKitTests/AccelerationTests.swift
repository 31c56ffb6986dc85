import Importers
import ParityModel
import Platform
import Reports
import TFParityKit
import TensorCore
import TestSupport
import Testing

/// OpenBLAS (the CLI's matrix product) against the engine's portable kernel, on shapes that cross every blocking
/// boundary of the portable one.
@Suite(.serialized) struct AccelerationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var rows: Int
        var inner: Int
        var columns: Int
        var testDescription: String { "[\(rows), \(inner)] · [\(inner), \(columns)]" }
    }

    @Test(arguments: [
        Case(rows: 1, inner: 1, columns: 1), Case(rows: 7, inner: 13, columns: 9),
        Case(rows: 32, inner: 90, columns: 91),
        Case(rows: 97, inner: 300, columns: 257),
        Case(rows: 200, inner: 600, columns: 64),
        // OpenBLAS's packed weights (96 rows or fewer): inner and column blocks with tails, split over the cores.
        Case(rows: 8, inner: 800, columns: 1000), Case(rows: 96, inner: 385, columns: 97),
        Case(rows: 97, inner: 385, columns: 97), Case(rows: 3, inner: 2000, columns: 17),
    ])
    func openBLASMatchesThePortableKernel(_ c: Case) throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        let kernel = (0..<(c.inner * c.columns)).map { _ in next() }
        let input = FloatTensor(shape: [c.rows, c.inner], values: (0..<(c.rows * c.inner)).map { _ in next() })
        let model = Model(
            layers: [Layer(name: "d", op: Dense(activation: .linear), inputs: [Model.inputName])],
            parameters: ["d/kernel": Tensor(shape: [c.inner, c.columns], floats: kernel)])

        let portable = try Engine(model: model, matrixProduct: .portable).run(input)
        // Scripts/test.sh installs libopenblas-dev: a machine without it fails here rather than comparing nothing.
        let openBLAS = try #require(Acceleration.openBLASProduct(), "libopenblas.so.0 could not be loaded")
        // The command line's product: the plain loop below `smallProduct` multiply-adds, OpenBLAS above.
        for product in [openBLAS, Acceleration.fastestProduct()] {
            let engine = try Engine(model: model, matrixProduct: product)
            // Twice: the first product of few rows packs the weights, the second reads them packed.
            for _ in 0..<2 {
                let blas = try engine.run(input)
                #expect(blas.shape == portable.shape)
                // Both sum in float32 in different orders: |error| grows like sqrt(inner) ulps of the terms.
                expectClose(blas.values, portable.values, atol: 1e-5 * Double(c.inner).squareRoot(), rtol: 1e-5)
            }
        }
    }
}

/// The CLI's wider sigmoid and swish (CVectorMath's AVX2, where the CPU has it) against the portable SIMD8 code: the
/// same bits for every value of a sweep over float32 (every 4099th bit pattern: both signs, subnormals, the
/// saturating tails, infinities and NaNs), in rows whose length leaves a tail of a partial vector.
@Suite struct AcceleratedActivationTests {
    @Test(arguments: [Activation.sigmoid, .swish])
    func acceleratedActivationMatchesThePortableOneBitForBit(_ activation: Activation) throws {
        let values = stride(from: UInt64(0), to: 1 << 32, by: 4099).map { Float(bitPattern: UInt32($0)) }
        let columns = 1021
        let rows = values.count / columns
        let input = FloatTensor(shape: [rows, columns], values: Array(values.prefix(rows * columns)))
        let model = Model(
            layers: [Layer(name: "a", op: ActivationLayer(activation), inputs: [Model.inputName])], parameters: [:])

        let portable = try Engine(model: model, matrixProduct: .portable).run(input)
        let accelerated = try Engine(model: model, matrixProduct: Acceleration.fastestProduct()).run(input)
        #expect(accelerated.shape == portable.shape)
        let differing = zip(accelerated.values, portable.values).filter { $0.bitPattern != $1.bitPattern }
        #expect(differing.isEmpty, "\(differing.count) values differ, first \(differing.prefix(3))")
    }
}
