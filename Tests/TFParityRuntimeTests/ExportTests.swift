import Foundation
import NumPyFormat
import ParityModel
import TFParityKit
import TensorCore
import TestSupport
import Testing

@Suite struct ExportTests {
    /// Every parameter comes back from the NPZ under its model name, bit for bit, in model order.
    @Test(arguments: [FixtureModel.seed, FixtureModel.cnn])
    func roundTrip(_ fixture: FixtureModel) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let modelPath = try fixture.convert(into: directory)
        let npz = directory.appendingPathComponent("params.npz").path
        let result = try Exporter.export(model: modelPath, npz: npz)
        let model = try ModelFile.read(path: modelPath)
        let archive = try NPZArchive(path: npz)
        #expect(archive.names == model.orderedParameterNames)
        #expect(result.tensorCount == model.parameters.count)
        for name in archive.names {
            #expect(try archive.tensor(named: name) == model.parameters[name], "\(name)")
        }
    }

    /// Every dtype numpy has, scalars and empty arrays, with and without ZIP64 records.
    @Test(arguments: [false, true])
    func everyDType(forceZip64: Bool) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        var arrays: [(name: String, tensor: Tensor)] = []
        for dtype in DType.allCases where dtype != .bfloat16 {
            let count = 6
            let bytes = (0..<(count * dtype.byteSize)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 1) }
            let safe = dtype == .bool ? bytes.map { $0 & 1 } : bytes
            arrays.append(("\(dtype.numpyName)/values", Tensor(dtype: dtype, shape: [2, 3], bytes: safe)))
        }
        arrays.append(("scalar", Tensor(shape: [], floats: [2.5])))
        arrays.append(("empty", Tensor(shape: [0, 4], floats: [])))
        arrays.append(
            ("long/" + String(repeating: "n", count: 200), Tensor(shape: [70], doubles: (0..<70).map(Double.init))))
        let path = directory.appendingPathComponent("all.npz").path
        try NPZWriter.write(arrays, to: path, forceZip64: forceZip64)
        let archive = try NPZArchive(path: path)
        #expect(archive.names == arrays.map(\.name))
        for (name, tensor) in arrays {
            #expect(try archive.tensor(named: name) == tensor, "\(name)")
        }
    }

    @Test func npyHeaderIsPaddedTo64Bytes() {
        for shape in [[], [3], [2, 3], [1, 2, 3, 4]] {
            let tensor = Tensor(shape: shape, floats: [Float](repeating: 0, count: shape.reduce(1, *)))
            let header = NPZWriter.npyHeader(tensor)
            #expect(header.count % 64 == 0)
            #expect(header.last == UInt8(ascii: "\n"))
            #expect(Array(header[6..<8]) == [1, 0])
        }
    }

    @Test func refusesWhatNumpyCannotHold() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("x.npz").path
        let bf16 = Tensor(dtype: .bfloat16, shape: [1], bytes: [0, 0x3f])
        #expect(throws: NPYError.self) { try NPZWriter.write([("w", bf16)], to: path) }
        let one = Tensor(shape: [1], floats: [1])
        #expect(throws: NPYError.duplicateMember(path: path, name: "w.npy")) {
            try NPZWriter.write([("w", one), ("w", one)], to: path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        // A failed write leaves nothing beside the destination.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    /// A Python with numpy: the one Scripts/test.sh makes for the safetensors cross-check, or the fixture venv.
    static let pythonWithNumpy = [
        repositoryRoot.appendingPathComponent(".build/venv-check/bin/python").path, "/work/venv-tf/bin/python",
    ]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// numpy reads the archive (Scripts/test.sh provides the Python; elsewhere the test is reported as skipped).
    @Test(.enabled(if: pythonWithNumpy != nil, "needs a Python with numpy (Scripts/test.sh makes one)"))
    func numpyReadsIt() throws {
        let python = try #require(Self.pythonWithNumpy)
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("p.npz").path
        try NPZWriter.write(
            [("layer0/kernel", Tensor(shape: [2, 2], floats: [1, 2, 3, 4])), ("b", Tensor(shape: [], doubles: [7]))],
            to: path, forceZip64: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            "-c",
            "import numpy, sys; z = numpy.load(sys.argv[1]); "
                + "assert z['layer0/kernel'].tolist() == [[1, 2], [3, 4]] and z['layer0/kernel'].dtype == numpy.float32; "
                + "assert z['b'].shape == () and float(z['b']) == 7.0",
            path,
        ]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
