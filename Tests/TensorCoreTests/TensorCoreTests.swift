import TensorCore
import TestSupport
import Testing

@Suite struct ShapeTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var shape: [Int]
        var count: Int?
        var testDescription: String { Shape.describe(shape) }
    }

    @Test(arguments: [
        Case(shape: [], count: 1),
        Case(shape: [0], count: 0),
        Case(shape: [2, 3, 4], count: 24),
        Case(shape: [-1, 3], count: nil),
        Case(shape: [Int.max, 2], count: nil),
        Case(shape: [1 << 32, 1 << 32], count: nil),
    ])
    func elementCount(_ c: Case) {
        #expect(Shape.elementCount(c.shape) == c.count)
    }
}

@Suite struct ByteReaderTests {
    @Test func readsBothEndians() throws {
        var r = ByteReader([0x01, 0x02, 0x03, 0x04, 0x05])
        #expect(try r.readLittleEndian(UInt16.self) == 0x0201)
        #expect(try r.readBigEndian(UInt16.self) == 0x0304)
        #expect(r.remaining == 1)
        #expect(throws: TruncatedData.self) { try r.readLittleEndian(UInt32.self) }
        #expect(r.remaining == 1)
    }

    @Test func varints() throws {
        var r = ByteReader([0x96, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
        #expect(try r.readVarint() == 150)
        #expect(throws: VarintOverflow.self) { try r.readVarint() }
    }
}

@Suite struct TensorTests {
    @Test func halfPrecisionKnownValues() {
        // Bit patterns from numpy: np.array([1, -2, 65504, 2**-24, inf], np.float16).view(np.uint16)
        let bits: [UInt16] = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00]
        let expected: [Float] = [1, -2, 65504, 0x1p-24, .infinity]
        #expect(bits.map(HalfPrecision.float(fromHalfBits:)) == expected)
    }

    @Test func fortranToC() {
        // np.arange(6).reshape(2, 3) stored in Fortran order is [0, 3, 1, 4, 2, 5].
        let fortran: [UInt8] = [0, 3, 1, 4, 2, 5]
        #expect(MemoryOrder.fortranToC(fortran, shape: [2, 3], width: 1) == [0, 1, 2, 3, 4, 5])
    }

    @Test func float32RoundTripIsBitExact() {
        let values: [Float] = [-0.077417567, .pi, -0.0, .leastNonzeroMagnitude]
        #expect(Tensor(shape: [4], floats: values).floatValues().map(\.bitPattern) == values.map(\.bitPattern))
    }
}
