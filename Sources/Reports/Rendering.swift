import Foundation
import TFParityKit
import SafeTensors
import TensorCore

/// Output formats of `verify` and `inspect`.
public enum OutputFormat: String, Sendable, CaseIterable {
    case text
    case json
    /// GitHub-flavoured markdown, for pasting into a pull request.
    case markdown
}

/// How text output may be decorated: colour only on a terminal, and never when `NO_COLOR` is set.
public struct TextStyle: Sendable {
    public var color: Bool

    public static let plain = TextStyle(color: false)

    public init(color: Bool) { self.color = color }

    /// Colour when `isTerminal` and the environment has no `NO_COLOR` (https://no-color.org).
    public static func forTerminal(_ isTerminal: Bool, environment: [String: String]) -> TextStyle {
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        return TextStyle(color: isTerminal && !noColor && environment["TERM"] != "dumb")
    }

    enum Color: String {
        case red = "31"
        case green = "32"
        case yellow = "33"
        case bold = "1"
        case dim = "2"
    }

    func paint(_ text: String, _ color: Color) -> String {
        self.color && !text.isEmpty ? "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m" : text
    }
}

/// Turning reports into the text users read and the JSON, markdown, XML and HTML their tools read.
/// Returns strings; the CLI prints or writes them.
public enum Rendering {
    /// `1.23e-05`: errors in scientific notation with three significant digits.
    static func scientific(_ value: Double) -> String {
        value.isFinite ? String(format: "%.2e", value) : "\(value)"
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }

    /// Lays out rows as aligned columns; `rightAligned` marks numeric columns; `decorate` may colour a padded cell.
    static func table(
        _ header: [String], _ rows: [[String]], rightAligned: Set<Int> = [], indent: String = "",
        decorate: (_ row: Int, _ column: Int, _ padded: String) -> String = { $2 }
    ) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String], _ row: Int) -> String {
            let text = cells.enumerated().map { column, cell in
                let padded = pad(cell, widths[column], right: rightAligned.contains(column))
                return row < 0 ? padded : decorate(row, column, padded)
            }.joined(separator: "  ")
            // Trailing blanks trimmed by hand: a regular expression costs a verify of a small model 7 % of its CPU.
            var trimmed = Substring(text)
            while trimmed.last?.isWhitespace == true { trimmed.removeLast() }
            return indent + trimmed
        }
        return ([line(header, -1)] + rows.enumerated().map { line($1, $0) }).joined(separator: "\n")
    }

    /// A GitHub-flavoured markdown table; `|` in cells is escaped.
    static func markdownTable(_ header: [String], _ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        func escape(_ cell: String) -> String { cell.replacingOccurrences(of: "|", with: "\\|") }
        let rule = header.indices.map { rightAligned.contains($0) ? "---:" : "---" }
        return ([header, rule] + rows).map { "| " + $0.map(escape).joined(separator: " | ") + " |" }
            .joined(separator: "\n")
    }

    /// The C-order coordinates of flat index `index` in `shape`: `[3, 1]`.
    static func multiIndex(_ index: Int, shape: [Int]) -> String {
        var rest = index
        var coordinates = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            coordinates[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return Shape.describe(coordinates)
    }

    // MARK: convert

    public static func text(_ result: ConvertResult) -> String {
        "wrote \(result.output): \(result.layerCount) layers, \(result.tensorCount) tensors, "
            + "\(result.parameterCount) parameters (\(result.byteCount) bytes); source kind: \(result.sourceKind.rawValue)\n"
    }

    /// Compact JSON; NaN and infinities, which JSON cannot hold, become null.
    static func serialize(_ value: JSONValue) -> String {
        (try? sanitized(value).serialized()) ?? "null"
    }

    private static func sanitized(_ value: JSONValue) -> JSONValue {
        switch value {
        case .double(let d) where !d.isFinite: .null
        case .array(let items): .array(items.map(sanitized))
        case .object(let members): .object(members.map { ($0.0, sanitized($0.1)) })
        default: value
        }
    }
}

/// A report `verify` or `inspect` produces, renderable in every output format.
public protocol RenderableReport {
    /// The report as text (styled), JSON or markdown.
    func rendered(as format: OutputFormat, style: TextStyle) -> String
    /// The self-contained HTML page, with per-channel plots of `layer` (or a layer chosen for the reader).
    func html(layer: String?) -> String
}

extension VerifyReport: RenderableReport {
    public func rendered(as format: OutputFormat, style: TextStyle) -> String {
        switch format {
        case .text: Rendering.text(self, style: style)
        case .markdown: Rendering.markdown(self)
        case .json: Rendering.json(self)
        }
    }

    public func html(layer: String?) -> String { Rendering.html(self, layer: layer) }
}

extension InspectReport: RenderableReport {
    public func rendered(as format: OutputFormat, style: TextStyle) -> String {
        if let checkpoint {
            switch format {
            case .text: return Rendering.text(checkpoint)
            case .markdown: return "```\n" + Rendering.text(checkpoint) + "```\n"
            case .json: return Rendering.json(checkpoint)
            }
        }
        switch format {
        case .text: return Rendering.text(self, style: style)
        case .markdown: return Rendering.markdown(self)
        case .json: return Rendering.json(self)
        }
    }

    public func html(layer: String?) -> String { Rendering.html(self, layer: layer) }
}
