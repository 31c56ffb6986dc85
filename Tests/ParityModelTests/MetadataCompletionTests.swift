import Foundation
import Testing

@testable import ParityModel

/// The model file's metadata is encoded once while converting: the source's digest, known only at the end, is put in
/// place of the placeholder in the JSON already made, and must give exactly what encoding anew gives.
@Suite struct MetadataCompletionTests {
    static let placeholder = String(repeating: "0", count: 64)
    static let digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    static let layers = [
        Layer(name: "dense", op: Dense(activation: .relu), inputs: [Model.inputName]),
        // A name holding what the replaced text looks like: inside a JSON string its quotes are escaped.
        Layer(name: "\"sha256\":\"\(placeholder)\"", op: ActivationLayer(.linear), inputs: ["dense"]),
    ]

    static func provenance(sha256: String, graphSHA256: String? = nil, spec: String? = "spec.yaml") -> Provenance {
        var provenance = Provenance(
            source: "model.h5", sha256: sha256, sourceKind: "keras3-h5", spec: spec, toolVersion: "0.1.0")
        if let graphSHA256 {
            var graph = GraphProvenance(file: "frozen.pb", inputs: ["x:0"], outputs: ["y:0"], feeds: [])
            graph.sha256 = graphSHA256
            provenance.graph = graph
        }
        return provenance
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var planned: Provenance
        var completed: Provenance
        /// Whether the digest is replaced in place (else the caller must encode anew).
        var replaced: Bool
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(
            label: "the digest alone", planned: provenance(sha256: placeholder),
            completed: provenance(sha256: digest), replaced: true),
        Case(
            label: "beside a graph's digest", planned: provenance(sha256: placeholder, graphSHA256: digest),
            completed: provenance(sha256: digest, graphSHA256: digest), replaced: true),
        Case(
            label: "a graph digest equal to the placeholder: found twice",
            planned: provenance(sha256: placeholder, graphSHA256: placeholder),
            completed: provenance(sha256: digest, graphSHA256: placeholder), replaced: false),
        Case(
            label: "another field changed too", planned: provenance(sha256: placeholder),
            completed: provenance(sha256: digest, spec: "other.yaml"), replaced: false),
        Case(
            label: "a digest not of 64 hex digits", planned: provenance(sha256: placeholder),
            completed: provenance(sha256: String(repeating: "\"", count: 64)), replaced: false),
    ]

    @Test(arguments: cases)
    func completedMetadataIsWhatEncodingAnewGives(_ example: Case) throws {
        let planned = try ModelFile.metadataJSON(layers: Self.layers, provenance: example.planned)
        let anew = try ModelFile.metadataJSON(layers: Self.layers, provenance: example.completed)
        let completed = ModelFile.completedDigest(in: planned, from: example.planned, to: example.completed)
        if example.replaced {
            #expect(completed == anew)
        } else {
            #expect(completed == nil)
        }
    }
}
