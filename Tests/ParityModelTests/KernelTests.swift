import ParityModel
import TensorCore
import TestSupport
import Testing

/// The blocked float32 kernels against plain float64 references, on shapes that hit every edge of the blocking:
/// row and column counts that are not multiples of the register tile, inner sizes past one `kc` block, products large
/// enough to be split over the cores, channel counts with a SIMD tail.
@Suite struct KernelTests {
    /// Deterministic values in [-1, 1) (a linear congruential generator; no global state).
    /// A batch norm's four parameters for `channels` channels, seeded from `seed` on (mean, variance > 0.5, gamma,
    /// beta), named `<layer>/moving_mean` and so on.
    static func batchNormParameters(_ layer: String, channels: Int, seed: UInt64) -> [String: Tensor] {
        [
            "\(layer)/moving_mean": Tensor(shape: [channels], floats: values(channels, seed: seed)),
            "\(layer)/moving_variance": Tensor(
                shape: [channels], floats: values(channels, seed: seed + 1).map { $0 * $0 + 0.5 }),
            "\(layer)/gamma": Tensor(shape: [channels], floats: values(channels, seed: seed + 2).map { $0 * 4 }),
            "\(layer)/beta": Tensor(shape: [channels], floats: values(channels, seed: seed + 3)),
        ]
    }

    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }

    struct ProductCase: Sendable, CustomTestStringConvertible {
        var rows: Int
        var inner: Int
        var columns: Int
        var testDescription: String { "[\(rows), \(inner)] · [\(inner), \(columns)]" }
    }

    @Test(arguments: [
        ProductCase(rows: 1, inner: 1, columns: 1),
        ProductCase(rows: 5, inner: 3, columns: 7),
        ProductCase(rows: 13, inner: 300, columns: 17),
        ProductCase(rows: 97, inner: 520, columns: 9),
        ProductCase(rows: 200, inner: 64, columns: 300),
        ProductCase(rows: 2, inner: 2048, columns: 1000),
    ])
    func denseMatchesFloat64Reference(_ c: ProductCase) throws {
        let x = Self.values(c.rows * c.inner, seed: 1)
        let w = Self.values(c.inner * c.columns, seed: 2)
        let model = Model(
            layers: [Layer(name: "d", op: Dense(activation: .linear), inputs: [Model.inputName])],
            parameters: ["d/kernel": Tensor(shape: [c.inner, c.columns], floats: w)])
        let y = try Engine(model: model, matrixProduct: .portable).run(
            FloatTensor(shape: [c.rows, c.inner], values: x))
        var expected = [Float](repeating: 0, count: c.rows * c.columns)
        var bound = [Double](repeating: 0, count: c.rows * c.columns)
        for i in 0..<c.rows {
            for j in 0..<c.columns {
                var sum = 0.0
                var magnitude = 0.0
                for k in 0..<c.inner {
                    let term = Double(x[i * c.inner + k]) * Double(w[k * c.columns + j])
                    sum += term
                    magnitude += abs(term)
                }
                expected[i * c.columns + j] = Float(sum)
                bound[i * c.columns + j] = magnitude
            }
        }
        #expect(y.shape == [c.rows, c.columns])
        // A float32 sum of n terms is within n · ulp/2 · Σ|terms| of the exact value.
        let allowed = Double(c.inner) * Double(Float.ulpOfOne)
        let worst =
            zip(zip(y.values, expected), bound).map { pair, magnitude in
                abs(Double(pair.0) - Double(pair.1)) / max(magnitude, 1e-30)
            }.max() ?? 0
        #expect(worst <= allowed, "relative error \(worst) above \(allowed)")
    }

    /// A pass keeping some values gives exactly what the full trace gives for them.
    @Test func traceKeepingGivesTheTracedValues() throws {
        let channels = 12
        let geometry = Convolution2D(kernelSize: [3, 3], padding: .same)
        let model = Model(
            layers: [
                Layer(name: "conv", op: Conv2D(geometry), inputs: [Model.inputName]),
                Layer(name: "relu", op: ReLU(maxValue: 6), inputs: ["conv"]),
                Layer(name: "dw", op: DepthwiseConv2D(geometry), inputs: ["relu"]),
                Layer(name: "sum", op: Add(), inputs: ["dw", "relu"]),
                Layer(
                    name: "pool", op: MaxPooling2D(Pooling2D(poolSize: [2, 2], strides: [2, 2], padding: .valid)),
                    inputs: ["sum"]),
            ],
            parameters: [
                "conv/kernel": Tensor(shape: [3, 3, 3, channels], floats: Self.values(9 * 3 * channels, seed: 5)),
                "dw/depthwise_kernel": Tensor(shape: [3, 3, channels, 1], floats: Self.values(9 * channels, seed: 6)),
            ])
        let engine = try Engine(model: model, matrixProduct: .portable)
        let inputs = [Model.inputName: FloatTensor(shape: [2, 6, 5, 3], values: Self.values(180, seed: 7))]
        let all = try engine.trace(inputs: inputs)
        let kept = try engine.trace(inputs: inputs, keeping: ["conv", "pool"])
        #expect(Set(kept.keys) == ["conv", "pool"])
        // The same arithmetic in the same order: bit-exact.
        #expect(kept["conv"] == all["conv"])
        #expect(kept["pool"] == all["pool"])
    }

    /// Layers applied in place on a value no one else reads (batch normalisation, ReLU, an activation after a
    /// convolution) give exactly what the trace, which keeps every value, gives.
    @Test func inPlaceLayersGiveTheTracedValues() throws {
        let channels = 20
        let model = Model(
            layers: [
                Layer(name: "conv", op: Conv2D(Convolution2D(kernelSize: [1, 1])), inputs: [Model.inputName]),
                Layer(name: "bn", op: BatchNormalization(epsilon: 1e-3), inputs: ["conv"]),
                Layer(name: "relu6", op: ReLU(maxValue: 6), inputs: ["bn"]),
                Layer(name: "swish", op: ActivationLayer(.swish), inputs: ["relu6"]),
            ],
            parameters: [
                "conv/kernel": Tensor(shape: [1, 1, 3, channels], floats: Self.values(3 * channels, seed: 8))
            ].merging(Self.batchNormParameters("bn", channels: channels, seed: 9)) { $1 })
        let engine = try Engine(model: model, matrixProduct: .portable)
        let input = FloatTensor(shape: [2, 4, 3, 3], values: Self.values(72, seed: 13).map { $0 * 8 })
        let all = try engine.trace(input)
        // The same arithmetic in the same order: bit-exact.
        #expect(try engine.run(input) == all["swish"])
        #expect(try engine.output(of: "relu6", given: [Model.inputName: input]) == all["relu6"])
        let kept = try engine.trace(inputs: [Model.inputName: input], keeping: ["bn", "swish"])
        #expect(kept["bn"] == all["bn"])
        #expect(kept["swish"] == all["swish"])
        // `run` follows a plan made at its first call for a shape: the same values at the next call, and for
        // another shape (its own plan), and an input that does not fit is refused as before.
        #expect(try engine.run(input) == all["swish"])
        let other = FloatTensor(shape: [1, 5, 2, 3], values: Self.values(30, seed: 14).map { $0 * 8 })
        #expect(try engine.run(other) == engine.trace(other)["swish"])
        #expect(try engine.run(input) == all["swish"])
        #expect(throws: EngineError.self) {
            try engine.run(FloatTensor(shape: [1, 2, 2, 4], values: [Float](repeating: 1, count: 16)))
        }
    }

    /// Layers `run` fuses into a depthwise convolution's rows (batch normalisation, ReLU6, swish), stopping at a value
    /// two layers read, and a zero padding it leaves to the `VALID` depthwise convolution after it, give exactly what
    /// the trace gives, for channels that fill SIMD blocks and leave a tail.
    @Test(arguments: [37, 64])
    func epilogueFusedIntoDepthwiseGivesTheTracedValues(channels: Int) throws {
        let geometry = Convolution2D(kernelSize: [3, 3], strides: [2, 2], padding: .same)
        let model = Model(
            layers: [
                Layer(name: "dw", op: DepthwiseConv2D(geometry), inputs: [Model.inputName]),
                Layer(name: "bn", op: BatchNormalization(epsilon: 1e-3), inputs: ["dw"]),
                Layer(name: "relu6", op: ReLU(maxValue: 6), inputs: ["bn"]),
                Layer(name: "swish", op: ActivationLayer(.swish), inputs: ["relu6"]),
                Layer(name: "pad", op: ZeroPadding2D(top: 1, bottom: 2, left: 0, right: 1), inputs: ["swish"]),
                Layer(
                    name: "dw2", op: DepthwiseConv2D(Convolution2D(kernelSize: [3, 3], strides: [2, 2])),
                    inputs: ["pad"]),
                Layer(name: "relu", op: ReLU(), inputs: ["dw2"]),
                Layer(name: "sum", op: Add(), inputs: ["relu", "dw2"]),
            ],
            parameters: [
                "dw/depthwise_kernel": Tensor(shape: [3, 3, channels, 1], floats: Self.values(9 * channels, seed: 15)),
                "dw2/depthwise_kernel": Tensor(
                    shape: [3, 3, channels, 1], floats: Self.values(9 * channels, seed: 16)),
            ].merging(Self.batchNormParameters("bn", channels: channels, seed: 17)) { $1 })
        let engine = try Engine(model: model, matrixProduct: .portable)
        let count = 2 * 9 * 7 * channels
        let input = FloatTensor(shape: [2, 9, 7, channels], values: Self.values(count, seed: 21).map { $0 * 8 })
        let all = try engine.trace(input)
        // The same arithmetic in the same order: bit-exact.
        #expect(try engine.run(input) == all["sum"])
        #expect(try engine.run(input) == all["sum"])
    }

    @Test(arguments: [(1, 19), (2, 19), (1, 64), (1, 43)])
    func depthwiseMatchesFloat64Reference(multiplier: Int, channels: Int) throws {
        let (batch, height, width) = (2, 9, 7)
        let geometry = Convolution2D(kernelSize: [3, 3], strides: [2, 1], padding: .same)
        let x = Self.values(batch * height * width * channels, seed: 3)
        let k = Self.values(9 * channels * multiplier, seed: 4)
        let model = Model(
            layers: [
                Layer(
                    name: "dw", op: DepthwiseConv2D(geometry, depthMultiplier: multiplier, activation: .linear),
                    inputs: [Model.inputName])
            ],
            parameters: ["dw/depthwise_kernel": Tensor(shape: [3, 3, channels, multiplier], floats: k)])
        let y = try Engine(model: model, matrixProduct: .portable).run(
            FloatTensor(shape: [batch, height, width, channels], values: x))
        // SAME with stride 2 on 9 rows: 5 output rows, one row of padding split 0 before (odd goes after)… computed
        // here the way TensorFlow defines it.
        let (outHeight, outWidth) = ((height + 1) / 2, width)
        let padTop = max((outHeight - 1) * 2 + 3 - height, 0) / 2
        let padLeft = max((outWidth - 1) + 3 - width, 0) / 2
        let outChannels = channels * multiplier
        var expected = [Float](repeating: 0, count: batch * outHeight * outWidth * outChannels)
        for b in 0..<batch {
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    for ci in 0..<channels {
                        for m in 0..<multiplier {
                            var sum = 0.0
                            for ky in 0..<3 {
                                for kx in 0..<3 {
                                    let (iy, ix) = (oy * 2 - padTop + ky, ox - padLeft + kx)
                                    guard iy >= 0, iy < height, ix >= 0, ix < width else { continue }
                                    sum +=
                                        Double(x[((b * height + iy) * width + ix) * channels + ci])
                                        * Double(k[((ky * 3 + kx) * channels + ci) * multiplier + m])
                                }
                            }
                            expected[((b * outHeight + oy) * outWidth + ox) * outChannels + ci * multiplier + m] =
                                Float(sum)
                        }
                    }
                }
            }
        }
        #expect(y.shape == [batch, outHeight, outWidth, outChannels])
        expectClose(y.values, expected, atol: 1e-6, rtol: 1e-5)
    }
}

/// Grouped convolution's three kernels (depthwise for one input channel per group, direct for small groups, one
/// matmul per group for large ones) against an ungrouped convolution with the block-diagonal kernel.
@Suite struct GroupedConvolutionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var groups: Int
        var groupChannels: Int
        var groupOutputs: Int
        var strides = [1, 1]
        var testDescription: String { "\(groups) groups of \(groupChannels) → \(groupOutputs), strides \(strides)" }
    }

    @Test(arguments: [
        Case(groups: 5, groupChannels: 1, groupOutputs: 2),
        Case(groups: 3, groupChannels: 8, groupOutputs: 8, strides: [2, 2]),
        Case(groups: 4, groupChannels: 8, groupOutputs: 11),
        Case(groups: 2, groupChannels: 40, groupOutputs: 48),
    ])
    func matchesTheBlockDiagonalConvolution(_ c: Case) throws {
        let (inChannels, outChannels) = (c.groups * c.groupChannels, c.groups * c.groupOutputs)
        let grouped = KernelTests.values(9 * c.groupChannels * outChannels, seed: 3)
        var full = [Float](repeating: 0, count: 9 * inChannels * outChannels)
        for t in 0..<9 {
            for ci in 0..<c.groupChannels {
                for o in 0..<outChannels {
                    let g = o / c.groupOutputs
                    full[(t * inChannels + g * c.groupChannels + ci) * outChannels + o] =
                        grouped[(t * c.groupChannels + ci) * outChannels + o]
                }
            }
        }
        let geometry = Convolution2D(kernelSize: [3, 3], strides: c.strides, padding: .same)
        func run(_ op: Conv2D, _ kernel: [Float], _ shape: [Int]) throws -> FloatTensor {
            let model = Model(
                layers: [Layer(name: "c", op: op, inputs: [Model.inputName])],
                parameters: ["c/kernel": Tensor(shape: shape, floats: kernel)])
            let x = FloatTensor(shape: [2, 9, 7, inChannels], values: KernelTests.values(2 * 63 * inChannels, seed: 4))
            return try Engine(model: model, matrixProduct: .portable).run(x)
        }
        let y = try run(Conv2D(geometry, groups: c.groups), grouped, [3, 3, c.groupChannels, outChannels])
        let reference = try run(Conv2D(geometry), full, [3, 3, inChannels, outChannels])
        #expect(y.shape == reference.shape)
        expectClose(y.values, reference.values, atol: 1e-5, rtol: 1e-5)
    }
}
