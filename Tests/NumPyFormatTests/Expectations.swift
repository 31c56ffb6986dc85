import Foundation
import TensorCore
import TestSupport
import Testing

/// `Fixtures/readers/npy/expected.json`, written by `Scripts/fixtures/numpy_readers.py` from numpy's own values.
struct Expectations: Decodable, Sendable {
    struct Array: Decodable, Sendable, CustomTestStringConvertible {
        /// The fixture file (`f4_be.npy`) or the member name (`layer0/W`).
        var name: String
        var dtype: String
        var descr: String
        var shape: [Int]
        /// C order: floats as hex bit patterns, integers in decimal, booleans as `true`/`false`.
        var values: [String]
        var fortranOrder: Bool?
        var version: [Int]?

        enum CodingKeys: String, CodingKey {
            case name, file, dtype, descr, shape, values
            case fortranOrder = "fortran_order"
            case version
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name =
                try container.decodeIfPresent(String.self, forKey: .file)
                ?? container.decode(String.self, forKey: .name)
            dtype = try container.decode(String.self, forKey: .dtype)
            descr = try container.decode(String.self, forKey: .descr)
            shape = try container.decode([Int].self, forKey: .shape)
            values = try container.decode([String].self, forKey: .values)
            fortranOrder = try container.decodeIfPresent(Bool.self, forKey: .fortranOrder)
            version = try container.decodeIfPresent([Int].self, forKey: .version)
        }

        var testDescription: String { name }
    }

    struct Archive: Decodable, Sendable, CustomTestStringConvertible {
        var file: String
        var members: [Array]
        var testDescription: String { file }
    }

    struct Directory: Decodable, Sendable {
        var path: String
        var members: [Array]
    }

    var numpy: String
    var npy: [Array]
    var npz: [Archive]
    var directory: Directory

    static let directoryURL = fixture("readers/npy")

    static func load() throws -> Expectations {
        let data = try Data(contentsOf: directoryURL.appendingPathComponent("expected.json"))
        return try JSONDecoder().decode(Expectations.self, from: data)
    }

    /// Loaded once for `@Test(arguments:)`; empty if unreadable, which `expectedJSONCoversEveryFixture` reports.
    static let shared: Expectations? = try? load()

    static func path(_ name: String) -> String {
        directoryURL.appendingPathComponent(name).path
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directoryURL.appendingPathComponent(name)))
    }
}

/// Checks dtype, shape and every element of `tensor` against numpy's expectation, exactly.
func expectMatches(
    _ tensor: Tensor, _ expected: Expectations.Array, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(tensor.dtype.rawValue == expected.dtype, sourceLocation: sourceLocation)
    #expect(tensor.shape == expected.shape, sourceLocation: sourceLocation)
    #expect(elementStrings(tensor) == expected.values, sourceLocation: sourceLocation)
}

/// Each element in expected.json's notation, read from the tensor's little-endian bytes.
func elementStrings(_ tensor: Tensor) -> [String] {
    let width = tensor.dtype.byteSize
    return (0..<tensor.elementCount).map { index in
        var bits: UInt64 = 0
        for byte in (0..<width).reversed() {
            bits = bits << 8 | UInt64(tensor.bytes[index * width + byte])
        }
        switch tensor.dtype {
        case .float16, .bfloat16, .float32, .float64:
            let digits = String(bits, radix: 16)
            return "0x" + String(repeating: "0", count: 2 * width - digits.count) + digits
        case .int8, .int16, .int32, .int64:
            let shift = UInt64(64 - 8 * width)
            return String(Int64(bitPattern: bits << shift) >> shift)
        case .uint8, .uint16, .uint32, .uint64:
            return String(bits)
        case .bool:
            return bits == 0 ? "false" : (bits == 1 ? "true" : "invalid bool \(bits)")
        }
    }
}
