import Foundation
import HDF5Kit
import TestSupport
import Testing

/// Listing walks groups once each, relative to their parent, and stops at the depth cap.
@Suite struct DeepGroupTests {
    @Test func groupsNestedTwoThousandDeepAreRefusedQuickly() throws {
        // 2,000 nested groups `g/g/…/g/input` (Scripts/fixtures/corpus.py); a walk by full paths took minutes.
        let path = fixture("corpus/recording-deep-groups.h5").path
        let file = try HDF5File(path: path)
        let started = Date()
        let error = #expect(throws: HDF5Error.self) { _ = try file.datasetPaths() }
        #expect(Date().timeIntervalSince(started) < 2)
        let deepest = Array(repeating: "g", count: HDF5File.maximumGroupDepth + 1).joined(separator: "/")
        #expect(
            error == .operationFailed(path: path, object: deepest, detail: "groups nest more than 64 levels deep"))
    }
}
