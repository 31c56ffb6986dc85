import Foundation
import Importers
import Reports
import TFParityKit
import TestSupport
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Collects the element tree of an XML document, so tests can check it against the JUnit schema's structure.
final class XMLTree: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var children: [Int] = []
        var text = ""
    }
    var elements: [Element] = []
    private var stack: [Int] = []
    var error: Error?

    static func parse(_ text: String) -> XMLTree {
        let tree = XMLTree()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = tree
        if !parser.parse() { tree.error = tree.error ?? parser.parserError ?? CocoaError(.coderReadCorrupt) }
        if !tree.stack.isEmpty { tree.error = tree.error ?? CocoaError(.coderReadCorrupt) }
        return tree
    }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        elements.append(Element(name: name, attributes: attributes))
        if let parent = stack.last { elements[parent].children.append(elements.count - 1) }
        stack.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let current = stack.last { elements[current].text += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        // A closing tag that does not match the open element is malformed, whatever the parser makes of it.
        if let current = stack.last, elements[current].name != name { error = error ?? CocoaError(.coderReadCorrupt) }
        if !stack.isEmpty { stack.removeLast() }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        error = error ?? parseError
    }

    func children(of index: Int, named name: String) -> [Element] {
        elements[index].children.map { elements[$0] }.filter { $0.name == name }
    }
}

@Suite struct ReportTests {
    static func report(_ recording: String, endToEnd: Bool = false) throws -> VerifyReport {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = try convertFixtureModel("seed", into: dir)
        return try Verifier.verify(
            model: model, recording: fixture(recording).path, options: VerifyOptions(endToEnd: endToEnd))
    }

    /// The JUnit XML follows the common schema: testsuites > testsuite > testcase, counts that add up, and each failure
    /// carrying a message with the errors and the diagnosis.
    @Test(arguments: [
        "seed/recording.npz", "diagnosis/eps-outside-sqrt.npz", "diagnosis/batch-statistics-all-layers.npz",
    ])
    func junitFollowsTheSchema(_ recording: String) throws {
        let report = try Self.report(recording, endToEnd: true)
        let tree = XMLTree.parse(Rendering.junit(report))
        #expect(tree.error == nil)
        let root = try #require(tree.elements.first)
        #expect(root.name == "testsuites")
        let suites = tree.children(of: 0, named: "testsuite")
        #expect(suites.count == 1)
        let suiteIndex = try #require(tree.elements.firstIndex { $0.name == "testsuite" })
        let cases = tree.children(of: suiteIndex, named: "testcase")
        #expect(cases.count == report.results.count)
        #expect(suites[0].attributes["tests"] == String(report.results.count))
        let failing = report.results.filter { !$0.passed }
        #expect(suites[0].attributes["failures"] == String(failing.count))
        for attribute in ["name", "errors", "skipped", "time"] { #expect(suites[0].attributes[attribute] != nil) }
        for testCase in cases {
            #expect(testCase.attributes["name"] != nil && testCase.attributes["classname"] != nil)
        }
        let failures = tree.elements.filter { $0.name == "failure" }
        #expect(failures.count == failing.count)
        for (failure, result) in zip(failures, failing) {
            let message = try #require(failure.attributes["message"])
            #expect(message.contains("values differ"))
            if let id = result.diagnosis?.id { #expect(message.contains(id)) }
        }
    }

    /// The HTML report stands alone: inline SVG, no scripts, nothing fetched; a failing one shows its diagnosis.
    @Test(arguments: [
        ("seed/recording.npz", nil), ("diagnosis/no-gamma.npz", "no-gamma"),
        ("diagnosis/batch-statistics.npz", "batch-statistics"),
    ])
    func htmlIsSelfContained(_ recording: String, _ diagnosis: String?) throws {
        let report = try Self.report(recording, endToEnd: true)
        let html = Rendering.html(report)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<svg"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("@import"))
        #expect(html.contains(report.passed ? "PASSED" : "FAILED"))
        if let diagnosis {
            #expect(html.contains("first divergence: layer0/bn"))
            #expect(html.contains(diagnosis))
        }
        let tree = XMLTree.parse(html.replacingOccurrences(of: "<!DOCTYPE html>\n", with: ""))
        #expect(tree.error == nil, "the report is well-formed markup")
    }

    /// The error-against-depth plot draws what the rule allowed beside the errors: a dashed polyline with a point per
    /// end-to-end check, each at or above that check's largest error (every check passes on the seed).
    @Test func depthPlotDrawsTheBound() throws {
        let report = try Self.report("seed/recording.npz", endToEnd: true)
        let html = Rendering.html(report)
        #expect(html.contains("largest float32 rounding bound in the check"))
        let endToEnd = report.results.filter { $0.stage == .endToEnd }
        #expect(!endToEnd.isEmpty)
        for result in endToEnd {
            #expect(result.comparison.maxAllowance > 0, "\(result.tensor)")
            #expect(result.comparison.maxAllowance >= result.comparison.maxAbsError, "\(result.tensor)")
        }
        let tree = XMLTree.parse(html.replacingOccurrences(of: "<!DOCTYPE html>\n", with: ""))
        let dashed = tree.elements.filter { $0.name == "polyline" && $0.attributes["stroke-dasharray"] != nil }
        #expect(dashed.count == 1)
    }

    @Test func xmlCheckerRejectsMalformedMarkup() {
        #expect(XMLTree.parse("<a><b></a>").error != nil)
        #expect(XMLTree.parse("<a><b/></a>").error == nil)
    }

    @Test func githubAnnotationsOnePerFailure() throws {
        let report = try Self.report("diagnosis/no-beta.npz")
        let lines = Rendering.githubAnnotations(report).split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines[0].hasPrefix("::error file="))
        #expect(lines[0].contains("diagnosis no-beta"))
    }

    @Test func markdownHasATableAndTheDiagnosis() throws {
        let markdown = Rendering.markdown(try Self.report("diagnosis/eps-mismatch.npz"))
        #expect(markdown.contains("| layer | stage |"))
        #expect(markdown.contains("`eps-mismatch`"))
    }

    struct StyleCase: Sendable, CustomTestStringConvertible {
        var terminal: Bool
        var environment: [String: String]
        var color: Bool
        var testDescription: String { "terminal \(terminal) \(environment)" }
    }

    @Test(arguments: [
        StyleCase(terminal: true, environment: [:], color: true),
        StyleCase(terminal: false, environment: [:], color: false),
        StyleCase(terminal: true, environment: ["NO_COLOR": "1"], color: false),
        StyleCase(terminal: true, environment: ["NO_COLOR": ""], color: true),
        StyleCase(terminal: true, environment: ["TERM": "dumb"], color: false),
    ])
    func colourOnlyOnATerminalWithoutNoColor(_ c: StyleCase) throws {
        let style = TextStyle.forTerminal(c.terminal, environment: c.environment)
        #expect(style.color == c.color)
        let text = Rendering.text(try Self.report("diagnosis/no-beta.npz"), style: style)
        #expect(text.contains("\u{1B}[") == c.color)
    }

    @Test func inspectReportsQuantilesAndEffectiveScale() throws {
        let report = try Inspector.inspect(path: fixture("seed/params.npz").path, spec: fixture("seed/spec.yaml").path)
        let bn = try #require(report.batchNorms.first)
        let variance = try #require(bn.variance)
        #expect(variance.min <= variance.p25 && variance.p25 <= variance.median)
        #expect(variance.median <= variance.p75 && variance.p75 <= variance.max)
        #expect(bn.varianceBelowEpsilon == 3)
        #expect(bn.deadChannels == 0)
        // scale = gamma / sqrt(variance + epsilon), channel by channel.
        let gamma = try #require(bn.perChannel.gamma)
        let expected = zip(gamma, bn.perChannel.variance).map { Double($0) / (Double($1) + 1e-3).squareRoot() }
        expectClose(bn.perChannel.scale.map(Double.init), expected, atol: 0, rtol: 1e-6)
        let json = Rendering.json(report)
        for key in ["\"p25\"", "\"median\"", "\"scale\"", "\"offset\"", "\"dead_channels\""] {
            #expect(json.contains(key))
        }
    }
}
