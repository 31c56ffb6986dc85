import Foundation
import ParityModel
import TensorCore
import TestSupport
import Testing

/// The operations TF function layers map to (`Elementwise`, `ReduceMean`, `Transpose`, `StridedSlice`) and the engine's
/// several-input and declared-output forms. Expected values from numpy 2 (float32) on `x = arange(24).reshape(2, 3,
/// 4)`.
@Suite struct TFOperationTests {
    static let x = FloatTensor(shape: [2, 3, 4], values: (0..<24).map(Float.init))

    static func run(_ op: any LayerOperation, _ inputs: [FloatTensor]) throws -> FloatTensor {
        let names = inputs.count == 1 ? [Model.inputName] : inputs.indices.map { "input/\($0)" }
        let layer = Layer(name: "op", op: op, inputs: names)
        var model = Model(layers: [layer], parameters: [:])
        model.inputNames = names
        return try Engine(model: model, matrixProduct: .portable).apply(layer, to: inputs)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var op: any LayerOperation
        var shape: [Int]
        var expected: [Float]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "x[:, ::-2, 1:3]",
            op: StridedSlice(axes: [
                StridedSlice.Axis(), StridedSlice.Axis(step: -2), StridedSlice.Axis(start: 1, stop: 3),
            ]), shape: [2, 2, 2],
            expected: [9, 10, 1, 2, 21, 22, 13, 14]),
        Case(
            name: "x[1, -2:]", op: StridedSlice(axes: [StridedSlice.Axis(index: 1), StridedSlice.Axis(start: -2)]),
            shape: [2, 4],
            expected: [16, 17, 18, 19, 20, 21, 22, 23]),
        Case(
            name: "x[:, 5:]", op: StridedSlice(axes: [StridedSlice.Axis(), StridedSlice.Axis(start: 5)]),
            shape: [2, 0, 4], expected: []),
        Case(
            name: "transpose(x, [2, 0, 1])", op: Transpose(perm: [2, 0, 1]), shape: [4, 2, 3],
            expected: [0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23]),
        Case(
            name: "reduce_mean(x, [0, 2], keepdims)", op: ReduceMean(axes: [0, 2], keepdims: true), shape: [1, 3, 1],
            expected: [7.5, 11.5, 15.5]),
        Case(
            name: "reduce_mean(x, -1)", op: ReduceMean(axes: [-1]), shape: [2, 3],
            expected: [1.5, 5.5, 9.5, 13.5, 17.5, 21.5]),
        Case(name: "reduce_mean(x)", op: ReduceMean(axes: nil), shape: [], expected: [11.5]),
    ]

    @Test(arguments: cases)
    func computesWhatNumPyDoes(_ c: Case) throws {
        let y = try Self.run(c.op, [Self.x])
        #expect(y.shape == c.shape)
        expectClose(y.values, c.expected, atol: 0, rtol: 0)
    }

    @Test func elementwiseWithAConstantOnEitherSide() throws {
        let x = FloatTensor(shape: [1, 2], values: [1, 7])
        // float32 division, as TensorFlow's RealDiv: 1/3 and 7/3 rounded once.
        expectClose(
            try Self.run(Elementwise(.divide, constant: 3), [x]).values, [0.33333334, 2.3333333], atol: 0, rtol: 0)
        expectClose(
            try Self.run(Elementwise(.subtract, constant: 1, constantFirst: true), [x]).values, [0, -6], atol: 0,
            rtol: 0)
        expectClose(try Self.run(Elementwise(.maximum, constant: 2), [x]).values, [2, 7], atol: 0, rtol: 0)
        let column = FloatTensor(shape: [2, 1], values: [10, 20])
        let y = try Self.run(Elementwise(.subtract), [x, column])
        #expect(y.shape == [2, 2])
        expectClose(y.values, [-9, -3, -19, -13], atol: 0, rtol: 0)
    }

    @Test func badAttributesAreRefused() {
        let layers: [any LayerOperation] = [
            Transpose(perm: [0, 0, 1]), StridedSlice(axes: [StridedSlice.Axis(step: 0)]), ReduceMean(axes: [1, 1]),
            Elementwise(.add, constant: .infinity),
        ]
        for op in layers {
            #expect(throws: EngineError.self) { try Self.run(op, [Self.x]) }
        }
        // A constant form takes one input; the two-tensor form two.
        #expect(throws: EngineError.self) { try Self.run(Elementwise(.add), [Self.x]) }
        // An index out of range.
        #expect(throws: EngineError.self) { try Self.run(StridedSlice(axes: [StridedSlice.Axis(index: 2)]), [Self.x]) }
    }

    @Test func severalInputsAndDeclaredOutputsRunAndRoundTrip() throws {
        let layers = [
            Layer(name: "sum", op: Add(), inputs: ["input/a", "input/b"]),
            Layer(name: "half", op: Elementwise(.multiply, constant: 0.5), inputs: ["sum"]),
            Layer(name: "aux", op: Elementwise(.subtract), inputs: ["input/a", "input/b"]),
        ]
        var model = Model(layers: layers, parameters: [:])
        model.inputNames = ["input/a", "input/b"]
        model.declaredOutputs = ["half", "aux"]
        let a = FloatTensor(shape: [1, 2], values: [1, 2])
        let b = FloatTensor(shape: [1, 2], values: [3, 5])
        let engine = try Engine(model: model, matrixProduct: .portable)
        let outputs = try engine.run(inputs: ["input/a": a, "input/b": b])
        expectClose(outputs[0].values, [2, 3.5], atol: 0, rtol: 0)
        expectClose(outputs[1].values, [-2, -3], atol: 0, rtol: 0)
        #expect(throws: EngineError.missingValue(layer: "sum", input: "input/b")) {
            try engine.run(inputs: ["input/a": a])
        }

        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("m.safetensors").path
        try ModelFile.write(model, to: path)
        let read = try ModelFile.read(path: path)
        #expect(read.inputNames == model.inputNames)
        #expect(read.outputNames == ["half", "aux"])
        #expect(read.outputLayer?.name == "half")
        #expect(read.layers == model.layers)

        model.declaredOutputs = ["nowhere"]
        #expect(throws: EngineError.outputs("'nowhere' is not a layer of the model")) {
            try Engine(model: model, matrixProduct: .portable)
        }
    }
}
