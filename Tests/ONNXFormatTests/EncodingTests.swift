import Foundation
import ProtobufWire
import TensorCore
import TestSupport
import Testing

@testable import ONNXFormat

/// One message and the file of `Fixtures/onnx/messages/` onnx's own protobuf serialised it to
/// (Scripts/fixtures/onnx_messages.py builds the same message under the same name).
struct MessageCase: CustomStringConvertible, Sendable {
    var name: String
    var encode: @Sendable () -> [UInt8]
    var description: String { name }

    init(_ name: String, _ message: some ProtobufMessage & Sendable) {
        self.name = name
        encode = { message.serializedBytes() }
    }

    init(_ name: String, writing body: @escaping @Sendable (inout ProtobufWriter) -> Void) {
        self.name = name
        encode = {
            var writer = ProtobufWriter()
            body(&writer)
            return writer.bytes
        }
    }
}

private func floats(_ values: [Float]) -> [UInt8] { Tensor(shape: [values.count], floats: values).bytes }

@Suite struct EncodingTests {
    static let messages: [MessageCase] = [
        MessageCase(
            "tensor_float_raw",
            ONNXTensor(name: "dense/kernel", shape: [2, 3], floats: [0.5, -1.25, 3, 1e-7, -0.0, 65504])),
        MessageCase("tensor_int64_scalar", ONNXTensor(name: "shape", shape: [], int64s: [-7])),
        MessageCase("tensor_empty", ONNXTensor(name: "empty", shape: [0, 3], floats: [])),
        MessageCase(
            "tensor_external",
            {
                var tensor = ONNXTensor(
                    name: "conv1/kernel", shape: [8, 4, 3, 3], floats: Array(repeating: 0, count: 288))
                tensor.contents = .external(ONNXExternalData(location: "model.onnx.data", offset: 65536, length: 1152))
                return tensor
            }()),
        // TensorProto written field by field: dims = 1, data_type = 2, float_data = 4 (packed), int64_data = 7
        // (packed), name = 8.
        MessageCase("tensor_float_data") { writer in
            writer.writeInt64(1, 3)
            writer.writeInt64(2, 1)
            writer.writePackedFloats(4, [1.5, -2, 0])
            writer.writeString(8, "f")
        },
        MessageCase("tensor_int64_data") { writer in
            writer.writeInt64(1, 4)
            writer.writeInt64(2, 7)
            writer.writePackedInt64s(7, [0, -1, 300, 1 << 40])
            writer.writeString(8, "i")
        },
        MessageCase("attribute_float", ONNXAttribute.float("epsilon", 0.001)),
        MessageCase("attribute_int", ONNXAttribute.int("axis", -1)),
        MessageCase("attribute_string", ONNXAttribute.string("auto_pad", "NOTSET")),
        MessageCase("attribute_floats", ONNXAttribute.floats("scales", [0.5, -1, 3e38])),
        MessageCase("attribute_ints", ONNXAttribute.ints("pads", [0, -1, 300, 1 << 33])),
        MessageCase("attribute_strings", ONNXAttribute.strings("names", ["a", "b\u{e9}"])),
        MessageCase(
            "attribute_tensor", ONNXAttribute.tensor("value", ONNXTensor(name: "", shape: [2], floats: [1, 2]))),
        MessageCase("value_info_nchw", ONNXValueInfo(name: "image", shape: ["N", 3, 224, 224])),
        MessageCase("value_info_scalar", ONNXValueInfo(name: "count", elementType: .int64, shape: [])),
        MessageCase("value_info_unknown_rank", ONNXValueInfo(name: "any", shape: nil)),
        MessageCase("value_info_unknown_dim", ONNXValueInfo(name: "rows", shape: [.unknown, 4])),
        MessageCase(
            "node_conv",
            ONNXNode(
                opType: "Conv", inputs: ["x", "conv1/kernel", "conv1/bias"], outputs: ["conv1"], name: "conv1/Conv",
                attributes: [
                    .ints("dilations", [1, 1]), .int("group", 1), .ints("kernel_shape", [3, 3]),
                    .ints("pads", [0, 1, 1, 1]), .ints("strides", [2, 2]),
                ])),
        MessageCase(
            "node_domain", ONNXNode(opType: "Foo", inputs: ["x", ""], outputs: ["y", "z"], domain: "com.example")),
        MessageCase("opset", ONNXOperatorSet(version: 28)),
        MessageCase("entry", ONNXStringEntry(key: "source", value: "caf\u{e9}.keras")),
    ]

    @Test(arguments: messages)
    func encodesAsOnnxDoes(_ message: MessageCase) throws {
        let expected = try [UInt8](Data(contentsOf: fixture("onnx/messages/\(message.name).pb")))
        let actual = message.encode()
        #expect(actual == expected, "\(hex(actual))\n  expected \(hex(expected))")
    }

    /// Every fixture message has a case here (a message the script adds is not silently untested).
    @Test func everyFixtureMessageIsCovered() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: fixture("onnx/messages").path)
        #expect(Set(files.map { String($0.dropLast(3)) }) == Set(Self.messages.map(\.name)))
    }

    @Test func wholeModelEncodesAsOnnxDoes() throws {
        var builder = ONNXGraphBuilder(name: "add_relu")
        let x = builder.addInput("x", shape: ["N", 4])
        let bias = builder.addInitializer("bias", shape: [4], floats: [0.5, -0.5, 1, -2])
        let sum = builder.addNode("Add", inputs: [x, bias], outputs: ["sum"], name: "add")
        builder.addNode("Relu", inputs: sum, outputs: ["y"], name: "relu")
        builder.addOutput("y", shape: ["N", 4])
        let model = builder.model(
            producerVersion: "0.1.0",
            metadata: [
                ONNXStringEntry(key: "source", value: "model.keras"),
                ONNXStringEntry(key: "tfparity.version", value: "0.1.0"),
            ])
        #expect(model.irVersion == 14 && model.opsetImports == [ONNXOperatorSet(version: 28)])
        let expected = try [UInt8](Data(contentsOf: fixture("onnx/model_add_relu.onnx")))
        #expect(model.serializedBytes() == expected)
    }

    struct VarintCase: Sendable, CustomStringConvertible {
        var value: UInt64
        var bytes: [UInt8]
        var description: String { "\(value)" }
    }

    static let varints: [VarintCase] = [
        VarintCase(value: 0, bytes: [0x00]),
        VarintCase(value: 1, bytes: [0x01]),
        VarintCase(value: 127, bytes: [0x7f]),
        VarintCase(value: 128, bytes: [0x80, 0x01]),
        VarintCase(value: 300, bytes: [0xac, 0x02]),
        VarintCase(value: 16_383, bytes: [0xff, 0x7f]),
        VarintCase(value: 16_384, bytes: [0x80, 0x80, 0x01]),
        VarintCase(value: UInt64(Int32.max), bytes: [0xff, 0xff, 0xff, 0xff, 0x07]),
        VarintCase(value: UInt64(bitPattern: -1), bytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ]

    @Test(arguments: varints)
    func varintRoundTrips(_ varint: VarintCase) throws {
        var writer = ProtobufWriter()
        writer.writeVarint(varint.value)
        #expect(writer.bytes == varint.bytes)
        #expect(ProtobufWriter.varintSize(varint.value) == varint.bytes.count)
        var reader = ProtobufReader(writer.bytes[...])
        #expect(try reader.varint() == varint.value)
    }

    /// Nested lengths and field sizes agree with what is written, and `ProtobufReader` reads it all back.
    @Test func nestedMessagesReadBack() throws {
        var inner = ProtobufWriter()
        inner.writeString(1, String(repeating: "x", count: 200))  // a two-byte length inside
        inner.writeFixed32(5, 0xdead_beef)
        inner.writeFixed64(6, 0x0123_4567_89ab_cdef)
        inner.writeDouble(7, -2.5)
        var outer = ProtobufWriter()
        outer.writeMessage(3, inner)
        outer.writeInt64(4, -2)
        #expect(
            outer.count == ProtobufWriter.lengthDelimitedFieldSize(3, length: inner.count)
                + ProtobufWriter.int64FieldSize(4, -2))

        var reader = ProtobufReader(outer.bytes[...])
        #expect(try reader.nextField()! == (3, .lengthDelimited))
        var nested = ProtobufReader(try reader.lengthDelimited())
        #expect(try nested.nextField()! == (1, .lengthDelimited))
        #expect(try nested.lengthDelimited().count == 200)
        #expect(try nested.nextField()! == (5, .fixed32))
        #expect(try nested.fixed32() == 0xdead_beef)
        #expect(try nested.nextField()! == (6, .fixed64))
        #expect(try nested.fixed64() == 0x0123_4567_89ab_cdef)
        #expect(try nested.nextField()! == (7, .fixed64))
        #expect(Double(bitPattern: try nested.fixed64()) == -2.5)
        #expect(nested.isAtEnd)
        #expect(try reader.nextField()! == (4, .varint))
        #expect(try reader.int64() == -2)
        #expect(reader.isAtEnd)
    }

    @Test func packedFieldsWriteNothingWhenEmpty() {
        var writer = ProtobufWriter()
        writer.writePackedFloats(4, [])
        writer.writePackedInt64s(7, [])
        writer.writePackedDoubles(10, [])
        #expect(writer.bytes.isEmpty)
        #expect(ProtobufWriter.packedFloatsFieldSize(4, []) == 0)
    }

    @Test func packedSizesMatchWhatIsWritten() {
        var writer = ProtobufWriter()
        writer.writePackedInt64s(7, [0, -1, 300, 1 << 40])
        writer.writePackedFloats(4, [1, 2, 3])
        writer.writePackedDoubles(10, [1, 2])
        #expect(
            writer.count
                == ProtobufWriter.packedInt64sFieldSize(7, [0, -1, 300, 1 << 40])
                + ProtobufWriter.packedFloatsFieldSize(4, [1, 2, 3])
                + ProtobufWriter.packedDoublesFieldSize(10, [1, 2]))
        // A packed float run is the key, the length and then the floats' bytes as they are.
        var run = ProtobufWriter()
        run.writePackedFloats(4, [1, 2, 3])
        #expect(run.bytes == [0x22, 12] + floats([1, 2, 3]))
    }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined(separator: " ") }
