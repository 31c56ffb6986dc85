import Foundation

/// One entry of `Fixtures/diagnosis/manifest.json`, written by Scripts/make_fixtures.py: a recording and the
/// diagnosis it must get.
public struct ManifestEntry: Decodable, Sendable, CustomStringConvertible {
    public var recording: String
    /// The fixture network (`seed`, `tiny_variance`) whose model the recording belongs to.
    public var model: String
    /// The BN layer whose `post_bn` carries the mistake; nil for a passing recording.
    public var layer: String?
    public var expectedID: String?
    public var epsilon: Double?
    /// Every BN layer whose `post_bn` must fail in local checks.
    public var affectedLayers: [String]
    public var description: String { recording }

    enum CodingKeys: String, CodingKey {
        case recording, model, layer, epsilon
        case expectedID = "expected_id"
        case affectedLayers = "affected_layers"
    }

    /// Every entry of the manifest (empty when it cannot be read; a test checks it is not).
    public static func load() -> [ManifestEntry] {
        guard let data = try? Data(contentsOf: fixture("diagnosis/manifest.json")),
            let entries = try? JSONDecoder().decode([ManifestEntry].self, from: data)
        else { return [] }
        return entries
    }
}
