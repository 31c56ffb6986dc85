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
        // The AVX-512 kernel's tiles of 12 rows and panels of 32 columns with tails, inner blocks of 1024, and the
        // splits over the cores by rows (many rows) and by panels (few).
        Case(rows: 13, inner: 1025, columns: 33), Case(rows: 300, inner: 27, columns: 95),
        Case(rows: 2, inner: 1280, columns: 1000), Case(rows: 25, inner: 2100, columns: 31),
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
        // The command line's product (CVectorMath's widest kernel where the CPU runs one; else the plain loop below
        // `smallProduct` multiply-adds, OpenBLAS above), and each of CVectorMath's kernels the CPU runs.
        for product in [openBLAS, Acceleration.fastestProduct()] + Acceleration.tunedProducts {
            let engine = try Engine(model: model, matrixProduct: product)
            // Twice: the first product of few rows packs the weights, the second reads them packed.
            for _ in 0..<2 {
                let blas = try engine.run(input)
                #expect(blas.shape == portable.shape)
                // Both sum in float32 in different orders: |error| grows like sqrt(inner) ulps of the terms.
                expectClose(blas.values, portable.values, atol: 1e-5 * Double(c.inner).squareRoot(), rtol: 1e-5)
            }
            // The rounding bound reads |W| back from the product's own form of the weights (the AVX-512 kernel keeps
            // only its packed panels): the same bound as the portable kernel's, whose panels are read back too.
            let layer = model.layers[0]
            let bounded = try engine.applyWithBound(layer, to: [input])
            let reference = try Engine(model: model, matrixProduct: .portable).applyWithBound(layer, to: [input])
            #expect(bounded.bound.count == reference.bound.count)
            expectClose(bounded.bound, reference.bound, atol: 1e-6, rtol: 1e-3)
        }
    }
}

/// CVectorMath's products (`Acceleration.tunedProducts`: AVX2, and AVX-512 where the CPU has it; each test runs for
/// each) finish each part of a convolution's product on the core that computed it (its bias, its activation, and the
/// batch normalisation and ReLU6 the engine fused after it): `run` (fused) gives every value `trace` (each layer on
/// its own, the whole output finished after) gives, bit for bit.
@Suite struct FusedProductTests {
    /// The names of the tuned products this CPU runs: the second argument of each test.
    static let kernels = Acceleration.tunedProducts.map(\.name)

    static func tuned(_ name: String) throws -> MatrixProduct {
        try #require(Acceleration.tunedProducts.first { $0.name == name })
    }

    @Test func thisCPURunsATunedProduct() {
        // The machines this project runs on have AVX2 and FMA at least (so the tests below run at least once);
        // elsewhere OpenBLAS and the portable kernel are all there is.
        #if arch(x86_64)
            #expect(!Self.kernels.isEmpty)
        #endif
        #expect(Acceleration.tunedProduct()?.name == Self.kernels.last)
        #expect(Acceleration.fastestProduct().name == Self.kernels.last ?? Acceleration.fastestProduct().name)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var kernel: Int
        var rows: Int
        var inChannels: Int
        var outChannels: Int
        var testDescription: String { "\(kernel)x\(kernel), \(rows) rows, \(inChannels) -> \(outChannels)" }
    }

    @Test(
        arguments: [
            // Many rows (split by runs of row tiles), few rows (by panels), one part (under the split's threshold).
            Case(kernel: 1, rows: 400, inChannels: 24, outChannels: 144),
            Case(kernel: 3, rows: 333, inChannels: 5, outChannels: 37),
            Case(kernel: 1, rows: 2, inChannels: 300, outChannels: 1000),
            Case(kernel: 1, rows: 3, inChannels: 7, outChannels: 9),
        ], kernels)
    func fusedConvolutionMatchesTheUnfusedLayers(_ c: Case, _ kernel: String) throws {
        let tuned = try Self.tuned(kernel)
        let n = c.outChannels
        let parameters = [
            "conv/kernel": Tensor(
                shape: [c.kernel, c.kernel, c.inChannels, n],
                floats: AcceleratedKernelTests.values(c.kernel * c.kernel * c.inChannels * n, seed: 21)),
            "conv/bias": Tensor(shape: [n], floats: AcceleratedKernelTests.values(n, seed: 22)),
            "bn/moving_mean": Tensor(shape: [n], floats: AcceleratedKernelTests.values(n, seed: 23)),
            "bn/moving_variance": Tensor(shape: [n], floats: AcceleratedKernelTests.values(n, seed: 24).map(abs)),
            "bn/gamma": Tensor(shape: [n], floats: AcceleratedKernelTests.values(n, seed: 25)),
            "bn/beta": Tensor(shape: [n], floats: AcceleratedKernelTests.values(n, seed: 26)),
        ]
        let geometry = Convolution2D(
            kernelSize: [c.kernel, c.kernel], strides: [1, 1], padding: .same, dilation: [1, 1])
        let model = Model(
            layers: [
                Layer(name: "conv", op: Conv2D(geometry, activation: .relu), inputs: [Model.inputName]),
                Layer(name: "bn", op: BatchNormalization(epsilon: 1e-3), inputs: ["conv"]),
                Layer(name: "relu", op: ReLU(maxValue: 6), inputs: ["bn"]),
            ], parameters: parameters)
        let input = FloatTensor(
            shape: [1, c.rows, 1, c.inChannels],
            values: AcceleratedKernelTests.values(c.rows * c.inChannels, seed: 27))
        let engine = try Engine(model: model, matrixProduct: tuned)
        let fused = try engine.run(input)
        let unfused = try #require(try engine.trace(input)["relu"])
        #expect(fused.shape == unfused.shape)
        let differing = zip(fused.values, unfused.values).filter { $0.bitPattern != $1.bitPattern }
        #expect(differing.isEmpty, "\(differing.count) values differ, first \(differing.prefix(3))")
    }
}

extension FusedProductTests {
    struct StepCase: Sendable, CustomTestStringConvertible {
        var kernel: Int
        var pixels: Int
        var inChannels: Int
        var outChannels: Int
        /// The layers after the convolution (`relu6`, `swish`: an activation layer; `bn`: a batch normalisation).
        var after: [String]
        var bias = true
        var testDescription: String {
            "\(kernel)x\(kernel), \(pixels) px, \(inChannels) -> \(outChannels), then \(after)"
        }
    }

    /// The tuned product applies a layer's bias, ReLU/ReLU6 and the batch norms and clamps fused after it to each
    /// output in its registers (`ColumnStep`), and what cannot be (swish) to the stored rows after: the same bits as
    /// the portable engine's passes over the stored output, when the products themselves are exact (small integers
    /// times sixteenths, so every summation order gives the same sums) and the input holds NaN and -0. Row-split,
    /// panel-split and unsplit products, a partial panel (37 columns), two inner blocks (1100 positions), patches
    /// gathered (3×3), and a step left to the stored rows.
    @Test(
        arguments: [
            StepCase(kernel: 1, pixels: 400, inChannels: 24, outChannels: 144, after: ["bn", "relu6"]),
            StepCase(kernel: 3, pixels: 900, inChannels: 5, outChannels: 37, after: ["bn", "relu"]),
            StepCase(kernel: 1, pixels: 4, inChannels: 300, outChannels: 1000, after: ["bn"]),
            StepCase(kernel: 1, pixels: 30, inChannels: 1100, outChannels: 70, after: ["relu6"], bias: false),
            StepCase(kernel: 1, pixels: 3, inChannels: 7, outChannels: 9, after: ["bn", "relu6", "bn"]),
            StepCase(kernel: 3, pixels: 256, inChannels: 16, outChannels: 40, after: ["bn", "swish"], bias: false),
            StepCase(kernel: 1, pixels: 256, inChannels: 16, outChannels: 40, after: ["swish", "bn"]),
        ], kernels)
    func finishingStepsInRegistersMatchThePortablePasses(_ c: StepCase, _ kernel: String) throws {
        let tuned = try Self.tuned(kernel)
        let n = c.outChannels
        let sixteenths = AcceleratedKernelTests.values(c.kernel * c.kernel * c.inChannels * n, seed: 41)
            .map { ($0 * 2).rounded() / 16 }
        var parameters = ["conv/kernel": Tensor(shape: [c.kernel, c.kernel, c.inChannels, n], floats: sixteenths)]
        if c.bias { parameters["conv/bias"] = Tensor(shape: [n], floats: AcceleratedKernelTests.values(n, seed: 42)) }
        var layers = [
            Layer(
                name: "conv",
                op: Conv2D(
                    Convolution2D(kernelSize: [c.kernel, c.kernel], padding: .same),
                    activation: c.bias ? .relu : .linear),
                inputs: [Model.inputName])
        ]
        for (index, kind) in c.after.enumerated() {
            let name = "\(kind)\(index)"
            let op: any LayerOperation =
                switch kind {
                case "bn":
                    BatchNormalization(epsilon: 1e-3)
                case "relu6":
                    ReLU(maxValue: 6)
                case "relu":
                    ActivationLayer(.relu)
                default:
                    ActivationLayer(.swish)
                }
            if kind == "bn" {
                let seed = UInt32(50 + 4 * index)
                parameters["\(name)/moving_mean"] = Tensor(
                    shape: [n], floats: AcceleratedKernelTests.values(n, seed: seed))
                parameters["\(name)/moving_variance"] = Tensor(
                    shape: [n], floats: AcceleratedKernelTests.values(n, seed: seed + 1).map(abs))
                parameters["\(name)/gamma"] = Tensor(
                    shape: [n], floats: AcceleratedKernelTests.values(n, seed: seed + 2))
                parameters["\(name)/beta"] = Tensor(
                    shape: [n], floats: AcceleratedKernelTests.values(n, seed: seed + 3))
            }
            layers.append(Layer(name: name, op: op, inputs: [layers[layers.count - 1].name]))
        }
        let model = Model(layers: layers, parameters: parameters)
        let side = Int(Double(c.pixels).squareRoot())
        let shape = side * side == c.pixels ? [1, side, side, c.inChannels] : [1, c.pixels, 1, c.inChannels]
        var values = AcceleratedKernelTests.values(c.pixels * c.inChannels, seed: 43).map { $0.rounded() / 2 }
        values[1] = -0.0
        values[c.inChannels * (c.pixels / 2)] = .nan
        let input = FloatTensor(shape: shape, values: values)
        let registers = try Engine(model: model, matrixProduct: tuned).run(input)
        let passes = try Engine(model: model, matrixProduct: .portable).run(input)
        #expect(registers.shape == passes.shape)
        #expect(registers.values.contains { $0.isNaN })
        let differing = zip(registers.values, passes.values).filter {
            $0.bitPattern != $1.bitPattern && !($0.isNaN && $1.isNaN)
        }
        #expect(differing.count == 0, "\(differing.count) values differ, first \(differing.prefix(3))")
    }
}

extension FusedProductTests {
    /// A convolution whose window covers its whole image ([n, k, k, c], `VALID`) has one patch per image, the image
    /// itself: the product that gathers its patch rows as it goes (in blocks per core, 48 rows of 576 here, several
    /// to a part) holds the same bits as the dense layer's product of the same rows read in place, bias and
    /// activation included. Few images (one part) and one image each take the product's other paths.
    @Test(arguments: [(700, 64, 40), (37, 5, 300), (3, 7, 9)], FusedProductTests.kernels)
    func gatheredPatchesMatchTheRowsReadInPlace(_ shape: (images: Int, channels: Int, columns: Int), _ kernel: String)
        throws
    {
        let tuned = try FusedProductTests.tuned(kernel)
        let (n, c, out) = shape
        let inner = 3 * 3 * c
        let kernel = AcceleratedKernelTests.values(inner * out, seed: 31)
        let bias = Tensor(shape: [out], floats: AcceleratedKernelTests.values(out, seed: 32))
        let convolution = Model(
            layers: [
                Layer(
                    name: "conv", op: Conv2D(Convolution2D(kernelSize: [3, 3]), activation: .relu),
                    inputs: [Model.inputName])
            ],
            parameters: ["conv/kernel": Tensor(shape: [3, 3, c, out], floats: kernel), "conv/bias": bias])
        let dense = Model(
            layers: [Layer(name: "d", op: Dense(activation: .relu), inputs: [Model.inputName])],
            parameters: ["d/kernel": Tensor(shape: [inner, out], floats: kernel), "d/bias": bias])
        let values = AcceleratedKernelTests.values(n * inner, seed: 33)
        let gathered = try Engine(model: convolution, matrixProduct: tuned).run(
            FloatTensor(shape: [n, 3, 3, c], values: values))
        let inPlace = try Engine(model: dense, matrixProduct: tuned).run(
            FloatTensor(shape: [n, inner], values: values))
        #expect(gathered.shape == [n, 1, 1, out])
        let differing = zip(gathered.values, inPlace.values).filter { $0.bitPattern != $1.bitPattern }
        #expect(gathered.values.count == inPlace.values.count)
        #expect(differing.isEmpty, "\(differing.count) values differ, first \(differing.prefix(3))")
    }
}

/// The CLI's wider element-by-element kernels (CVectorMath's AVX2 and AVX-512, each width the CPU runs) against the
/// portable SIMD8 code: the same bits for every value. The activations over a sweep of float32 (every 4099th bit
/// pattern: both signs, zeros, subnormals, the saturating tails, infinities and NaNs) in rows whose length leaves a tail
/// of a partial vector; batch normalisation and depthwise convolutions (alone, and with a batch normalisation and a
/// ReLU6 fused after them, as MobileNet's blocks run) over channel counts that leave every kind of tail.
@Suite struct AcceleratedKernelTests {
    static let sweep = stride(from: UInt64(0), to: 1 << 32, by: 4099).map { Float(bitPattern: UInt32($0)) }

    static var widths: [VectorKernels] { Acceleration.availableVectorKernels }

    /// The engine's output for `input` with the portable kernels and with `kernels`, bit for bit.
    static func expectSameBits(_ model: Model, _ input: FloatTensor, _ kernels: VectorKernels) throws {
        let portable = try Engine(model: model, matrixProduct: .portable).run(input)
        let accelerated = try Engine(model: model, matrixProduct: MatrixProduct.portable.with(kernels)).run(input)
        #expect(accelerated.shape == portable.shape)
        let differing = zip(accelerated.values, portable.values).filter { $0.bitPattern != $1.bitPattern }
        #expect(differing.isEmpty, "\(kernels.name): \(differing.count) values differ, first \(differing.prefix(3))")
    }

    /// Values spread over a few orders of magnitude, both signs, from a fixed linear congruential sequence.
    static func values(_ count: Int, seed: UInt32) -> [Float] {
        var state = seed &* 2_654_435_761 &+ 1
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return (Float(state >> 8) / Float(1 << 24) - 0.5) * 8
        }
    }

    @Test func thisCPUHasAWideKernel() {
        // The machines this project runs on have AVX2 at least; elsewhere the portable code is all there is.
        #if arch(x86_64)
            #expect(!Self.widths.isEmpty)
        #endif
        #expect(Acceleration.vectorKernels.name == (Self.widths.last?.name ?? "portable"))
    }

    @Test(
        arguments: [
            ActivationLayer(.sigmoid), ActivationLayer(.swish), ActivationLayer(.relu), ActivationLayer(.relu6),
        ] as [any LayerOperation] + [ReLU(), ReLU(maxValue: 6), ReLU(maxValue: 3.5)] as [any LayerOperation])
    func elementwiseLayerMatchesThePortableOneBitForBit(_ op: any LayerOperation) throws {
        let columns = 1021
        let rows = Self.sweep.count / columns
        let input = FloatTensor(shape: [rows, columns], values: Array(Self.sweep.prefix(rows * columns)))
        let model = Model(layers: [Layer(name: "a", op: op, inputs: [Model.inputName])], parameters: [:])
        for kernels in Self.widths { try Self.expectSameBits(model, input, kernels) }
    }

    @Test(arguments: [1, 3, 8, 16, 17, 45, 64, 100])
    func batchNormalizationMatchesThePortableOneBitForBit(_ channels: Int) throws {
        let rows = 1021
        var x = Self.values(rows * channels, seed: 1)
        // Special values among the ordinary ones.
        for (i, special) in [Float.nan, .infinity, -.infinity, -0, 0, .leastNonzeroMagnitude].enumerated() {
            x[(i * 97) % x.count] = special
        }
        let model = Model(
            layers: [Layer(name: "bn", op: BatchNormalization(epsilon: 1e-3), inputs: [Model.inputName])],
            parameters: [
                "bn/moving_mean": Tensor(shape: [channels], floats: Self.values(channels, seed: 2)),
                "bn/moving_variance": Tensor(shape: [channels], floats: Self.values(channels, seed: 3).map(abs)),
                "bn/gamma": Tensor(shape: [channels], floats: Self.values(channels, seed: 4)),
                "bn/beta": Tensor(shape: [channels], floats: Self.values(channels, seed: 5)),
            ])
        for kernels in Self.widths {
            try Self.expectSameBits(model, FloatTensor(shape: [rows, channels], values: x), kernels)
        }
    }

    struct DepthwiseCase: Sendable, CustomTestStringConvertible {
        var kernel: Int
        var stride: Int
        var padding: Padding
        var channels: Int
        var dilation = 1
        var testDescription: String {
            "\(kernel)x\(kernel) stride \(stride) \(padding) dilation \(dilation), \(channels) channels"
        }
    }

    @Test(arguments: [
        DepthwiseCase(kernel: 3, stride: 1, padding: .same, channels: 32),
        DepthwiseCase(kernel: 3, stride: 2, padding: .same, channels: 96),
        DepthwiseCase(kernel: 3, stride: 2, padding: .valid, channels: 144),
        DepthwiseCase(kernel: 3, stride: 1, padding: .same, channels: 5),
        DepthwiseCase(kernel: 5, stride: 1, padding: .same, channels: 40),
        DepthwiseCase(kernel: 5, stride: 2, padding: .same, channels: 67),
        DepthwiseCase(kernel: 7, stride: 1, padding: .same, channels: 24),
        DepthwiseCase(kernel: 3, stride: 1, padding: .same, channels: 17, dilation: 2),
    ])
    func depthwiseConvolutionMatchesThePortableOneBitForBit(_ c: DepthwiseCase) throws {
        let geometry = Convolution2D(
            kernelSize: [c.kernel, c.kernel], strides: [c.stride, c.stride], padding: c.padding,
            dilation: [c.dilation, c.dilation])
        let n = c.channels
        let parameters = [
            "dw/depthwise_kernel": Tensor(
                shape: [c.kernel, c.kernel, n, 1], floats: Self.values(c.kernel * c.kernel * n, seed: 6)),
            "bn/moving_mean": Tensor(shape: [n], floats: Self.values(n, seed: 7)),
            "bn/moving_variance": Tensor(shape: [n], floats: Self.values(n, seed: 8).map(abs)),
            "bn/gamma": Tensor(shape: [n], floats: Self.values(n, seed: 9)),
            "bn/beta": Tensor(shape: [n], floats: Self.values(n, seed: 10)),
        ]
        let input = FloatTensor(shape: [2, 11, 9, n], values: Self.values(2 * 11 * 9 * n, seed: 11))
        let alone = Model(
            layers: [
                Layer(
                    name: "dw", op: DepthwiseConv2D(geometry, depthMultiplier: 1, activation: .linear),
                    inputs: [Model.inputName])
            ], parameters: parameters)
        let block = Model(
            layers: alone.layers + [
                Layer(name: "bn", op: BatchNormalization(epsilon: 1e-3), inputs: ["dw"]),
                Layer(name: "relu", op: ReLU(maxValue: 6), inputs: ["bn"]),
            ], parameters: parameters)
        for kernels in Self.widths {
            try Self.expectSameBits(alone, input, kernels)
            try Self.expectSameBits(block, input, kernels)
        }
    }
}

extension FusedProductTests {
    /// gemm.h's promise, which makes every instance give the same bits: each output is one chain of fused
    /// multiply-adds over the inner axis in order, from zero. Computed here with `addingProduct` (one rounding per
    /// step), the chain must match the tuned product bit for bit, on products with a partial tile of rows, a partial
    /// panel, two inner blocks (1100 positions), and split by rows or by panels over the cores.
    @Test(
        arguments: [(1, 1, 1), (7, 5, 37), (13, 1100, 33), (200, 300, 70), (3, 700, 1000)], FusedProductTests.kernels)
    func everyOutputIsOneFusedChainInOrder(_ shape: (rows: Int, inner: Int, columns: Int), _ kernel: String) throws {
        let tuned = try FusedProductTests.tuned(kernel)
        let (rows, inner, columns) = shape
        let x = AcceleratedKernelTests.values(rows * inner, seed: 51)
        let w = AcceleratedKernelTests.values(inner * columns, seed: 52)
        let model = Model(
            layers: [Layer(name: "d", op: Dense(activation: .linear), inputs: [Model.inputName])],
            parameters: ["d/kernel": Tensor(shape: [inner, columns], floats: w)])
        let y = try Engine(model: model, matrixProduct: tuned).run(FloatTensor(shape: [rows, inner], values: x))
        var chain = [Float](repeating: 0, count: rows * columns)
        for i in 0..<rows {
            for j in 0..<columns {
                var sum: Float = 0
                for k in 0..<inner { sum = sum.addingProduct(x[i * inner + k], w[k * columns + j]) }
                chain[i * columns + j] = sum
            }
        }
        #expect(y.shape == [rows, columns])
        let differing = chain.indices.filter { y.values[$0].bitPattern != chain[$0].bitPattern }
        #expect(differing.isEmpty, "\(differing.count) of \(chain.count) differ, first at \(differing.prefix(3))")
    }
}
