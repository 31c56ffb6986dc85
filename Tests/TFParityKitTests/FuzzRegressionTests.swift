import Foundation
import TestSupport
import Testing

@testable import Importers

/// Every input a fuzzer once crashed on (`Fuzz/regressions/<target>/`) is now refused without trapping.
@Suite struct FuzzRegressionTests {
    static let specInputs: [String] = {
        let directory = repositoryRoot.appendingPathComponent("Fuzz/regressions/spec").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            .map { directory + "/" + $0 }
    }()

    @Test(arguments: specInputs)
    func specParserDoesNotTrap(_ path: String) throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: SpecError.self) { try Spec.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.yaml") }
    }

    @Test func nonScalarMappingKeyIsAnError() {
        #expect(throws: SpecError.self) { try Spec.parse("layers:\n  - {[a]: b}\n", path: "k.yaml") }
        #expect(throws: SpecError.self) { try Spec.parse("? [a]\n: b\n", path: "k.yaml") }
    }
}
