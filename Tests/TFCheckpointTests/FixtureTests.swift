import Foundation
import TensorCore
import TestSupport
import Testing

@testable import TFCheckpoint

/// `Fixtures/checkpoints/<case>/expected.json`: every entry as `tf.train.load_checkpoint(...).get_tensor` read it.
struct ExpectedBundle: Decodable {
    struct Entry: Decodable {
        var dtype: String
        var shape: [Int]
        /// Little-endian bytes in hex; absent for string tensors.
        var bytes: String?
    }
    var prefix: String
    var tensors: [String: Entry]

    static func load(_ folder: String) throws -> ExpectedBundle {
        try JSONDecoder().decode(
            ExpectedBundle.self, from: Data(contentsOf: fixture("checkpoints/\(folder)/expected.json")))
    }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var out = ""
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xf)])
    }
    return out
}

@Suite struct FixtureTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var folder: String
        /// What the user passes: a prefix, an index path or a SavedModel directory.
        var path: String
        var testDescription: String { folder }
    }

    static let cases = [
        Case(folder: "tf1", path: "checkpoints/tf1/model.ckpt"),
        Case(folder: "tf2", path: "checkpoints/tf2/model.ckpt.index"),
        Case(folder: "saved_model", path: "checkpoints/saved_model"),
        Case(folder: "dtypes", path: "checkpoints/dtypes/dtypes.ckpt"),
        Case(folder: "sharded", path: "checkpoints/sharded/model.ckpt"),
    ]

    /// Every entry's name, dtype and shape, and every tensor's bytes, equal what TensorFlow read.
    @Test(arguments: cases)
    func everyTensorEqualsTensorFlow(_ testCase: Case) throws {
        let expected = try ExpectedBundle.load(testCase.folder)
        let bundle = try TensorBundle(path: fixture(testCase.path).path)
        #expect(bundle.entries.map(\.name) == expected.tensors.keys.sorted())
        for entry in bundle.entries {
            let want = try #require(expected.tensors[entry.name])
            #expect(entry.dtypeName == want.dtype, "\(entry.name)")
            #expect(entry.shape == want.shape, "\(entry.name)")
            guard let bytes = want.bytes else {
                #expect(entry.kind == .string, "\(entry.name)")
                #expect(throws: CheckpointError.stringTensor(path: bundle.indexPath, tensor: entry.name)) {
                    try bundle.tensor(named: entry.name)
                }
                continue
            }
            let tensor = try bundle.tensor(named: entry.name)
            #expect(tensor.dtype.numpyName == want.dtype)
            #expect(tensor.shape == want.shape)
            #expect(hex(tensor.bytes) == bytes, "\(entry.name)")
        }
    }

    @Test func dtypesFixtureCoversEveryType() throws {
        let bundle = try TensorBundle(path: fixture("checkpoints/dtypes/dtypes.ckpt").path)
        let read = Set(bundle.entries.compactMap(\.dtype))
        #expect(read == Set(DType.allCases))
        #expect(bundle.entries.first { $0.name == "strings" }?.kind == .string)
        #expect(try bundle.tensor(named: "scalar").doubleValues() == [2.5])
        #expect(try bundle.tensor(named: "empty").shape == [0, 3])
    }

    /// The index holds several data blocks; every one is walked.
    @Test func multiBlockIndex() throws {
        struct Many: Decodable {
            var count: Int
            var dataBlocks: Int
            var namePattern: String
            var bytes: String
            enum CodingKeys: String, CodingKey {
                case count, bytes
                case dataBlocks = "data_blocks"
                case namePattern = "name_pattern"
            }
        }
        let expected = try JSONDecoder().decode(
            Many.self, from: Data(contentsOf: fixture("checkpoints/many/expected.json")))
        #expect(expected.dataBlocks >= 2)
        let bundle = try TensorBundle(path: fixture("checkpoints/many/many.ckpt").path)
        #expect(bundle.entries.count == expected.count)
        var all: [UInt8] = []
        for i in 0..<expected.count {
            let name = expected.namePattern.replacingOccurrences(of: "{i}", with: String(i))
            let tensor = try bundle.tensor(named: name)
            #expect(tensor.shape == [])
            all += tensor.bytes
        }
        #expect(hex(all) == expected.bytes)

        let data = try [UInt8](Data(contentsOf: fixture("checkpoints/many/many.ckpt.index")))
        let index = CheckpointIndex(path: "many.ckpt.index", bytes: data)
        let handles = try CheckpointIndex.parseBlock(try index.block(at: index.footer().index), path: "", what: "")
        #expect(handles.count == expected.dataBlocks)
    }

    @Test func shardedCheckpointHasSeveralShards() throws {
        let bundle = try TensorBundle(path: fixture("checkpoints/sharded/model.ckpt").path)
        #expect(bundle.dataPaths.count == 6)
        #expect(bundle.dataPaths.last?.hasSuffix("model.ckpt.data-00005-of-00006") == true)
    }

    @Test func partitionedVariableIsRefusedByName() throws {
        let bundle = try TensorBundle(path: fixture("checkpoints/partitioned/part.ckpt").path)
        #expect(bundle.entries.map(\.name) == ["part/bias", "part/kernel"])
        #expect(bundle.entries.last?.kind == .partitioned(slices: 2))
        #expect(bundle.entries.last?.shape == [4, 3])
        #expect(throws: CheckpointError.partitioned(path: bundle.indexPath, tensor: "part/kernel", slices: 2)) {
            try bundle.tensor(named: "part/kernel")
        }
        #expect(try bundle.tensor(named: "part/bias").floatValues() == [1, 1, 1])
    }

    @Test(arguments: [
        "checkpoints/tf1/model.ckpt", "checkpoints/tf1/model.ckpt.index",
        "checkpoints/tf1/model.ckpt.data-00000-of-00001",
    ])
    func acceptsPrefixIndexOrDataPath(_ path: String) throws {
        let bundle = try TensorBundle(path: fixture(path).path)
        #expect(bundle.prefix == fixture("checkpoints/tf1/model.ckpt").path)
    }

    @Test func savedModelDirectoryResolvesToVariables() throws {
        let bundle = try TensorBundle(path: fixture("checkpoints/saved_model").path + "/")
        #expect(bundle.prefix.hasSuffix("saved_model/variables/variables"))
    }

    @Test func missingCheckpoint() {
        let path = fixture("checkpoints/tf1/nothing.ckpt").path
        #expect(throws: CheckpointError.notFound(path: path)) { try TensorBundle(path: path) }
    }
}

/// `Fixtures/checkpoints/corrupt/manifest.json`: each damaged copy and the file (and tensor) its error names.
struct CorruptCase: Decodable, Sendable, CustomTestStringConvertible {
    var `case`: String
    var prefix: String
    var file: String
    /// nil: no tensor is involved; "any": some tensor must be named; otherwise that tensor.
    var tensor: String?
    var testDescription: String { self.case }

    static func load() -> [CorruptCase] {
        guard let data = try? Data(contentsOf: fixture("checkpoints/corrupt/manifest.json")) else { return [] }
        return (try? JSONDecoder().decode([CorruptCase].self, from: data)) ?? []
    }
}

@Suite struct CorruptFixtureTests {
    @Test func manifestIsNotEmpty() {
        #expect(CorruptCase.load().count == 4)
    }

    /// Opening and reading every tensor fails with an error naming the damaged file (and tensor).
    @Test(arguments: CorruptCase.load())
    func corruptCopyIsRefused(_ corrupt: CorruptCase) throws {
        let prefix = fixture("checkpoints/corrupt/" + corrupt.prefix).path
        var caught: CheckpointError?
        do {
            let bundle = try TensorBundle(path: prefix)
            for entry in bundle.entries where entry.dtype != nil { _ = try bundle.tensor(named: entry.name) }
        } catch let error as CheckpointError {
            caught = error
        }
        let error = try #require(caught)
        #expect(error.path == fixture("checkpoints/corrupt/" + corrupt.file).path, "\(error)")
        switch corrupt.tensor {
        case nil: #expect(error.member == nil, "\(error)")
        case "any": #expect(error.member != nil, "\(error)")
        case let tensor?: #expect(error.member == tensor, "\(error)")
        }
    }
}
