import Foundation
import NumPyFormat
import ParityModel
import TFParityKit
import TensorCore
import TestSupport
import Testing

/// The bench's forward timing (`tfparity __time-forward`) runs the converted model on a `.npy` batch as many times as
/// asked, and refuses a batch that does not fit the model with an error naming the batch's file.
@Suite struct ForwardTimingTests {
    /// The seed's recorded input (a [32, 8] batch) as `.npy` in `directory`, optionally reshaped.
    static func seedInput(in directory: URL, shape: [Int]? = nil) throws -> String {
        let recorded = try NPZArchive(path: fixture("seed/recording.npz").path).tensor(named: "input")
        let tensor = Tensor(dtype: recorded.dtype, shape: shape ?? recorded.shape, bytes: recorded.bytes)
        let path = directory.appendingPathComponent("input.npy").path
        let bytes = Data(NPZWriter.npyHeader(tensor) + tensor.bytes)
        #expect(FileManager.default.createFile(atPath: path, contents: bytes))
        return path
    }

    @Test func timesEveryCall() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let model = try RoundingVerdictTests.seedModel(in: directory)
        let timing = try ForwardTiming.measure(
            model: model, input: try Self.seedInput(in: directory), calls: 3, matrixProduct: .portable)
        #expect(timing.calls == 3)
        for value in [timing.firstMilliseconds, timing.secondMilliseconds, timing.medianMilliseconds] {
            #expect(value > 0 && value.isFinite)
        }
    }

    @Test func aBatchThatDoesNotFitIsAnErrorNamingIt() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let model = try RoundingVerdictTests.seedModel(in: directory)
        let input = try Self.seedInput(in: directory, shape: [64, 4])
        #expect {
            _ = try ForwardTiming.measure(model: model, input: input, calls: 1, matrixProduct: .portable)
        } throws: { error in
            (error as? FileError)?.path == input
        }
    }
}
