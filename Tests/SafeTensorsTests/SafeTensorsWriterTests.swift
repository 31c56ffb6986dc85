import Foundation
import TensorCore
import TestSupport
import Testing

@testable import SafeTensors

/// `count` elements of `dtype` with every byte different, so a misplaced byte is caught.
func patternTensor(_ dtype: DType, shape: [Int], seed: UInt8 = 0) -> Tensor {
    let byteCount = (Shape.elementCount(shape) ?? 0) * dtype.byteSize
    let bytes = (0..<byteCount).map { i -> UInt8 in
        // BOOL must hold 0 or 1 for numpy to accept it.
        dtype == .bool ? UInt8(i % 2) : UInt8(truncatingIfNeeded: i &* 37 &+ Int(seed))
    }
    return Tensor(dtype: dtype, shape: shape, bytes: bytes)
}

/// The names of the files in `directory`.
func directoryListing(_ directory: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
}

struct SafeTensorsWriterTests {
    @Test(arguments: DType.allCases)
    func roundTripsEveryDTypeBitExactly(_ dtype: DType) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("\(dtype.rawValue).safetensors").path
        let tensors: [(name: String, tensor: Tensor)] = [
            ("layer0/kernel", patternTensor(dtype, shape: [3, 5], seed: 1)),
            ("layer0/bias", patternTensor(dtype, shape: [5], seed: 2)),
            ("scalar", patternTensor(dtype, shape: [], seed: 3)),
            ("empty", patternTensor(dtype, shape: [0, 4])),
        ]
        let metadata = ["tfparity": #"{"format_version":1,"note":"café 𝄞"}"#, "dtype": dtype.rawValue]

        try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)

        let file = try SafeTensorsFile(path: path)
        #expect(file.metadata == metadata)
        #expect(file.names == tensors.map(\.name))
        for (name, tensor) in tensors {
            #expect(try file.tensor(named: name) == tensor, "\(name)")
        }
        #expect(try directoryListing(directory) == ["\(dtype.rawValue).safetensors"])
    }

    @Test func writesAllDTypesTogetherInTheGivenOrder() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("all.safetensors").path
        // Odd sizes between 8-byte types: offsets need not be aligned beyond what the header padding gives.
        let tensors = DType.allCases.enumerated().map { i, dtype in
            (name: "t\(i)/\(dtype.numpyName)", tensor: patternTensor(dtype, shape: [i + 1], seed: UInt8(i)))
        }
        try SafeTensorsWriter.write(tensors, metadata: [:], to: path)
        let file = try SafeTensorsFile(path: path)
        #expect(file.names == tensors.map(\.name))
        #expect(file.metadata == [:])
        for (name, tensor) in tensors {
            #expect(try file.tensor(named: name) == tensor, "\(name)")
        }
        // Written bytes are exactly what serialize() gives.
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == SafeTensorsWriter.serialize(tensors))
    }

    @Test func padsTheHeaderWithSpacesToEightBytes() throws {
        for nameLength in 1...9 {
            let name = String(repeating: "n", count: nameLength)
            let bytes = try SafeTensorsWriter.serialize(
                [(name, patternTensor(.float32, shape: [2]))], metadata: ["k": "v"])
            let length = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.1) << (8 * $1.0) }
            #expect(length % 8 == 0)
            #expect(bytes.count == 8 + length + 8)
            let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
            let trimmed = header.replacingOccurrences(of: " ", with: "")
            #expect(header.hasPrefix(trimmed))
            #expect(header.count - trimmed.count < 8)
            #expect(
                trimmed == #"{"__metadata__":{"k":"v"},"\#(name)":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#)
        }
    }

    @Test func sortsMetadataKeysForReproducibleFiles() throws {
        let tensors = [(name: "a", tensor: patternTensor(.uint8, shape: [1]))]
        let metadata = ["zeta": "1", "alpha": "2", "mid": "3", "beta": "4"]
        let bytes = try SafeTensorsWriter.serialize(tensors, metadata: metadata)
        #expect(String(decoding: bytes, as: UTF8.self).contains(#"{"alpha":"2","beta":"4","mid":"3","zeta":"1"}"#))
        #expect(try SafeTensorsWriter.serialize(tensors, metadata: metadata) == bytes)
    }

    @Test func replacesAnExistingFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("model.safetensors").path
        try SafeTensorsWriter.write([("old", patternTensor(.float32, shape: [4]))], to: path)
        let replacement = patternTensor(.float64, shape: [2, 2], seed: 9)
        try SafeTensorsWriter.write([("new", replacement)], metadata: ["v": "2"], to: path)
        let file = try SafeTensorsFile(path: path)
        #expect(file.names == ["new"])
        #expect(try file.tensor(named: "new") == replacement)
        #expect(try directoryListing(directory) == ["model.safetensors"])
    }

    enum Failure: String, CaseIterable, Sendable {
        case duplicateName, reservedName, destinationIsDirectory, missingDirectory
    }

    @Test(arguments: Failure.allCases)
    func failureLeavesNoTemporaryFileAndTheDestinationUntouched(_ failure: Failure) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let existing = directory.appendingPathComponent("model.safetensors")
        let original = try SafeTensorsWriter.serialize(
            [("keep", patternTensor(.int32, shape: [3]))], metadata: ["m": "1"])
        try Data(original).write(to: existing)
        let good = patternTensor(.float32, shape: [2])

        let path: String
        var tensors: [(name: String, tensor: Tensor)] = [("a", good), ("b", good)]
        let expected: SafeTensorsError?
        switch failure {
        case .duplicateName:
            path = existing.path
            tensors.append(("a", good))
            expected = .duplicateTensorName(path: path, tensor: "a")
        case .reservedName:
            path = existing.path
            tensors.append(("__metadata__", good))
            expected = .reservedTensorName(path: path, tensor: "__metadata__")
        case .destinationIsDirectory:
            // Fails at the rename, after the temporary file was written and verified.
            let blocker = directory.appendingPathComponent("blocker.safetensors")
            try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: false)
            try Data([1]).write(to: blocker.appendingPathComponent("inside"))
            path = blocker.path
            expected = nil
        case .missingDirectory:
            path = directory.appendingPathComponent("missing/model.safetensors").path
            expected = nil
        }

        do {
            try SafeTensorsWriter.write(tensors, metadata: ["m": "2"], to: path)
            Issue.record("write succeeded")
        } catch {
            #expect(error.path == path)
            if let expected {
                #expect(error == expected)
            } else {
                guard case .writeFailed = error else {
                    Issue.record("expected writeFailed, got \(error)")
                    return
                }
            }
        }

        #expect(try [UInt8](Data(contentsOf: existing)) == original)
        let listing = try directoryListing(directory)
        #expect(!listing.contains { $0.contains(".tmp") }, "\(listing)")
        if failure == .destinationIsDirectory {
            #expect(listing == ["blocker.safetensors", "model.safetensors"])
            #expect(try directoryListing(URL(fileURLWithPath: path)) == ["inside"])
        } else {
            #expect(listing == ["model.safetensors"])
        }
    }
}
