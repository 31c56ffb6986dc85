import TensorCore

/// Caps on an architecture document (a Keras config's JSON, a spec's YAML or JSON), checked by one linear scan of
/// its bytes before any parser builds a structure from it: a hostile document's cost is then the scan, not the
/// gigabytes and minutes a parser and the layer graph built from it would take.
struct DocumentLimits: Sendable {
    /// Bytes of the document.
    var maximumBytes: Int
    /// Layers it may list.
    var maximumLayers: Int
    /// Nested JSON objects and arrays (a parser recurses once per level).
    var maximumDepth: Int
    /// JSON objects and arrays in all, or for YAML the separators (newlines and commas) that bound its nodes.
    var maximumNodes: Int

    /// Far beyond any real model: ResNet152's Keras 3 config is about 0.6 MB, with 500-odd layers.
    static let kerasConfig = DocumentLimits(
        maximumBytes: 16 << 20, maximumLayers: 100_000, maximumDepth: 256, maximumNodes: 2_000_000)
    static let spec = DocumentLimits(
        maximumBytes: 16 << 20, maximumLayers: 100_000, maximumDepth: 256, maximumNodes: 2_000_000)

    /// Checks a Keras config's JSON: its size, its nesting, its objects and arrays, and its layers (objects directly
    /// inside an array under the key `layers`, or under a top-level `config`, as Keras 2 before 2.3 wrote a
    /// Sequential). Strings are skipped as JSON defines them, so brackets inside names do not count.
    /// - Throws: `FileError` naming `path`.
    func checkJSON(_ bytes: [UInt8], path: String) throws(FileError) {
        func refuse(_ reason: String) -> FileError { FileError(path: path, reason: "the Keras model config \(reason)") }
        guard bytes.count <= maximumBytes else {
            throw refuse("is \(bytes.count) bytes, more than the \(maximumBytes) allowed")
        }
        // One frame per open container: whether it is an array of layers.
        var frames: [Bool] = []
        var layers = 0
        var nodes = 0
        var pendingKey: ArraySlice<UInt8>?
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let start = index + 1
                index += 1
                while index < count && bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                let string = bytes[start..<min(index, count)]
                // A string followed by ':' is a key.
                var after = index + 1
                while after < count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[after]) { after += 1 }
                pendingKey = after < count && bytes[after] == UInt8(ascii: ":") ? string : nil
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                nodes += 1
                guard nodes <= maximumNodes else {
                    throw refuse("holds more than \(maximumNodes) JSON objects and arrays")
                }
                guard frames.count < maximumDepth else { throw refuse("nests deeper than \(maximumDepth) levels") }
                if byte == UInt8(ascii: "{"), frames.last == true {
                    layers += 1
                    guard layers <= maximumLayers else {
                        throw refuse(
                            "lists more than \(maximumLayers) layers (tfparity reads at most \(maximumLayers))")
                    }
                }
                let key = pendingKey.map { Array($0) }
                frames.append(
                    byte == UInt8(ascii: "[")
                        && (key == Array("layers".utf8) || (key == Array("config".utf8) && frames.count == 1)))
                pendingKey = nil
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !frames.isEmpty { frames.removeLast() }
                pendingKey = nil
            default:
                break
            }
            index += 1
        }
    }

    /// Checks a spec's text before YAML composes it: its size, the layers it lists (its `type` keys, in any of YAML's
    /// or JSON's spellings), and its separators (newlines and commas), which bound the nodes a YAML parser builds
    /// (aliases included: each `*alias` needs one).
    /// - Throws: `SpecError` naming `path`.
    func checkSpec(_ text: String, path: String) throws(SpecError) {
        func refuse(_ reason: String) -> SpecError { SpecError(path: path, member: nil, reason: reason) }
        guard text.utf8.count <= maximumBytes else {
            throw refuse("is \(text.utf8.count) bytes, more than the \(maximumBytes) allowed for a spec")
        }
        let bytes = Array(text.utf8)
        let count = bytes.count
        func isNameByte(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == 0x5F
                || byte == 0x2D
        }
        var layers = 0
        var separators = 0
        for index in 0..<count {
            let byte = bytes[index]
            if byte == 0x0A || byte == UInt8(ascii: ",") {
                separators += 1
                guard separators <= maximumNodes else {
                    throw refuse(
                        "has more than \(maximumNodes) lines and entries (a spec lists at most \(maximumLayers) layers)"
                    )
                }
            }
            // `type` as a whole word, then an optional closing quote, blanks, and ':' (`type:`, `"type": `).
            guard byte == UInt8(ascii: "t"), index + 4 <= count, bytes[index..<(index + 4)].elementsEqual("type".utf8),
                index == 0 || !isNameByte(bytes[index - 1])
            else { continue }
            var next = index + 4
            if next < count, bytes[next] == UInt8(ascii: "\"") || bytes[next] == UInt8(ascii: "'") { next += 1 }
            while next < count, bytes[next] == 0x20 || bytes[next] == 0x09 { next += 1 }
            guard next < count, bytes[next] == UInt8(ascii: ":") else { continue }
            layers += 1
            guard layers <= maximumLayers else {
                throw refuse("lists more than \(maximumLayers) layers (tfparity reads at most \(maximumLayers))")
            }
        }
    }
}
