import ProtobufWire
import TensorCore

/// TensorFlow's `DataType` enum (tensorflow/core/framework/types.proto), as far as a bundle needs it.
enum TensorFlowDType {
    /// The element type tfparity reads for a `DataType` number, or nil for strings and exotic types.
    static func dtype(_ code: Int) -> DType? { DType(tensorFlowCode: code) }

    static let string = 7

    /// The name `tf.as_dtype(code).name` gives, for listings and messages.
    static func name(_ code: Int) -> String {
        if let dtype = dtype(code) { return dtype.numpyName }
        let names: [Int: String] = [
            7: "string", 8: "complex64", 11: "qint8", 12: "quint8", 13: "qint32", 15: "qint16", 16: "quint16",
            18: "complex128", 20: "resource", 21: "variant", 24: "float8_e5m2", 25: "float8_e4m3fn", 26: "int4",
            27: "uint4",
        ]
        return names[code] ?? "DataType \(code)"
    }
}

/// `BundleHeaderProto` (tensorflow/core/protobuf/tensor_bundle.proto), stored under the empty key.
struct BundleHeaderRecord: Equatable {
    var numShards: Int = 0
    /// 0 little-endian, 1 big-endian.
    var endianness: UInt64 = 0
    /// `VersionDef`: producer, min_consumer, bad_consumers.
    var producer: Int64 = 0
    var minConsumer: Int64 = 0
    var badConsumers: [Int64] = []

    static func parse(_ bytes: ArraySlice<UInt8>) throws -> BundleHeaderRecord {
        var header = BundleHeaderRecord()
        var reader = ProtobufReader(bytes)
        while let (number, wireType) = try reader.nextField() {
            switch number {
            case 1:
                try ProtobufReader.expect(.varint, wireType, field: 1, "num_shards")
                let value = try reader.int64()
                guard value >= 0, value <= Int64(Int32.max) else {
                    throw ProtobufReader.Malformed(reason: "num_shards is \(value)")
                }
                header.numShards = Int(value)
            case 2:
                try ProtobufReader.expect(.varint, wireType, field: 2, "endianness")
                header.endianness = try reader.varint()
            case 3:
                try ProtobufReader.expect(.lengthDelimited, wireType, field: 3, "version")
                var version = ProtobufReader(try reader.lengthDelimited())
                while let (field, type) = try version.nextField() {
                    switch (field, type) {
                    case (1, .varint): header.producer = try version.int64()
                    case (2, .varint): header.minConsumer = try version.int64()
                    case (3, .varint): header.badConsumers.append(try version.int64())
                    case (3, .lengthDelimited):
                        var packed = ProtobufReader(try version.lengthDelimited())
                        while !packed.isAtEnd { header.badConsumers.append(try packed.int64()) }
                    default: try version.skip(type)
                    }
                }
            default:
                try reader.skip(wireType)
            }
        }
        return header
    }
}

/// `BundleEntryProto`: where one tensor's bytes are and what they must hash to.
struct BundleEntryRecord: Equatable {
    var dtype: Int = 0
    var shape: [Int] = []
    var unknownRank = false
    var shardID: Int = 0
    var offset: Int64 = 0
    var size: Int64 = 0
    var maskedCRC32C: UInt32 = 0
    var hasCRC32C = false
    var sliceCount = 0

    static func parse(_ bytes: ArraySlice<UInt8>) throws -> BundleEntryRecord {
        var entry = BundleEntryRecord()
        var reader = ProtobufReader(bytes)
        while let (number, wireType) = try reader.nextField() {
            switch number {
            case 1:
                try ProtobufReader.expect(.varint, wireType, field: 1, "dtype")
                let code = try reader.int64()
                guard code >= 0, code < 1000 else { throw ProtobufReader.Malformed(reason: "dtype is \(code)") }
                entry.dtype = Int(code)
            case 2:
                try ProtobufReader.expect(.lengthDelimited, wireType, field: 2, "shape")
                try parseShape(try reader.lengthDelimited(), into: &entry)
            case 3:
                try ProtobufReader.expect(.varint, wireType, field: 3, "shard_id")
                let value = try reader.int64()
                guard value >= 0, value <= Int64(Int32.max) else {
                    throw ProtobufReader.Malformed(reason: "shard_id is \(value)")
                }
                entry.shardID = Int(value)
            case 4:
                try ProtobufReader.expect(.varint, wireType, field: 4, "offset")
                entry.offset = try reader.int64()
            case 5:
                try ProtobufReader.expect(.varint, wireType, field: 5, "size")
                entry.size = try reader.int64()
            case 6:
                try ProtobufReader.expect(.fixed32, wireType, field: 6, "crc32c")
                entry.maskedCRC32C = try reader.fixed32()
                entry.hasCRC32C = true
            case 7:
                try ProtobufReader.expect(.lengthDelimited, wireType, field: 7, "slices")
                _ = try reader.lengthDelimited()
                entry.sliceCount += 1
            default:
                try reader.skip(wireType)
            }
        }
        return entry
    }

    /// `TensorShapeProto`: repeated `Dim { int64 size = 1; string name = 2; }` at 2, `unknown_rank` at 3.
    private static func parseShape(_ bytes: ArraySlice<UInt8>, into entry: inout BundleEntryRecord) throws {
        var reader = ProtobufReader(bytes)
        while let (number, wireType) = try reader.nextField() {
            switch number {
            case 2:
                try ProtobufReader.expect(.lengthDelimited, wireType, field: 2, "shape.dim")
                var dim = ProtobufReader(try reader.lengthDelimited())
                var size: Int64 = 0
                while let (field, type) = try dim.nextField() {
                    if field == 1 {
                        try ProtobufReader.expect(.varint, type, field: 1, "shape.dim.size")
                        size = try dim.int64()
                    } else {
                        try dim.skip(type)
                    }
                }
                guard size >= 0, size <= Int64(Int.max) else {
                    throw ProtobufReader.Malformed(reason: "dimension \(entry.shape.count) has size \(size)")
                }
                entry.shape.append(Int(size))
            case 3:
                try ProtobufReader.expect(.varint, wireType, field: 3, "shape.unknown_rank")
                entry.unknownRank = try reader.varint() != 0
            default:
                try reader.skip(wireType)
            }
        }
    }
}
