import Foundation
import TFParityKit

extension Rendering {
    static let htmlStyle = """
        body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#212121;padding:0 1em}
        h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #e0e0e0;padding-bottom:.2em}
        table{border-collapse:collapse;font-size:.9em}td,th{padding:.25em .7em;border-bottom:1px solid #eee;text-align:left}
        td.num{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#2e7d32;font-weight:bold}
        .fail{color:#c62828;font-weight:bold}.verdict{font-size:1.3em;padding:.4em .8em;display:inline-block;border-radius:4px}
        .verdict.ok{background:#e8f5e9}.verdict.fail{background:#ffebee}.diagnosis{background:#fff8e1;border-left:4px solid #f9a825;padding:.6em 1em;margin:.6em 0}
        .charts{display:flex;flex-wrap:wrap;gap:1em}code{background:#f5f5f5;padding:0 .2em}.muted{color:#757575}
        """

    static func html(title: String, body: String) -> String {
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>\(SVGChart.escape(title))</title>"
            + "<style>\(htmlStyle)</style></head><body>\n\(body)\n</body></html>\n"
    }

    static func htmlTable(
        _ header: [String], _ rows: [[String]], numeric: Set<Int> = [], classes: [Int: [Int: String]] = [:]
    )
        -> String
    {
        var out =
            "<table><thead><tr>" + header.map { "<th>\(SVGChart.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for (r, row) in rows.enumerated() {
            out += "<tr>"
            for (c, cell) in row.enumerated() {
                var cls: [String] = numeric.contains(c) ? ["num"] : []
                if let extra = classes[r]?[c], !extra.isEmpty { cls.append(extra) }
                out +=
                    "<td\(cls.isEmpty ? "" : " class=\"\(cls.joined(separator: " "))\"")>\(SVGChart.escape(cell))</td>"
            }
            out += "</tr>"
        }
        return out + "</tbody></table>"
    }

    /// `layer0/bn · post_bn`; an output check is named by its recorded tensor (`layer2/output`, `output`).
    static func checkLabel(_ r: StageResult) -> String {
        r.stage == .output ? r.tensor : "\(r.layer) · \(r.stage.rawValue)"
    }

    /// Per-channel plots of one batch-norm layer: statistics, effective scale, and (when verified) the error.
    static func batchNormCharts(_ bn: BatchNormSummary, channelErrors: [Double]? = nil) -> String {
        let belowEpsilon = Set(bn.perChannel.variance.enumerated().filter { Double($0.1) < bn.epsilon }.map(\.0))
        var charts: [String] = []
        if let channelErrors {
            let failing = Set(channelErrors.enumerated().filter { !($0.1 <= 1e-5) }.map(\.0))
            charts.append(
                SVGChart.barChart(
                    title: "max |error| per channel (log)", values: channelErrors, highlight: failing, logScale: true))
        }
        charts.append(
            SVGChart.barChart(
                title: "moving_variance (log; red: below epsilon)", values: bn.perChannel.variance.map(Double.init),
                highlight: belowEpsilon, logScale: true))
        charts.append(SVGChart.barChart(title: "moving_mean", values: bn.perChannel.mean.map(Double.init)))
        if let gamma = bn.perChannel.gamma {
            let dead = Set(gamma.enumerated().filter { abs($0.1) < 1e-6 }.map(\.0))
            charts.append(
                SVGChart.barChart(
                    title: "gamma (red: dead, |gamma| < 1e-6)", values: gamma.map(Double.init), highlight: dead))
        }
        if let beta = bn.perChannel.beta {
            charts.append(SVGChart.barChart(title: "beta", values: beta.map(Double.init)))
        }
        charts.append(
            SVGChart.barChart(
                title: "effective scale gamma/sqrt(var+eps) (log)", values: bn.perChannel.scale.map { Double(abs($0)) },
                highlight: belowEpsilon, logScale: true))
        return "<div class=\"charts\">" + charts.joined() + "</div>"
    }

    /// A self-contained HTML parity report: inline SVG, no network, no JavaScript.
    ///
    /// - Parameter layer: the BN layer whose per-channel plots to show; by default the worst failing BN layer, or the
    ///   BN layer with the most channels below epsilon when everything passes.
    public static func html(_ report: VerifyReport, layer chosen: String? = nil) -> String {
        let failures = report.results.filter { !$0.passed }
        var body = "<h1>tfparity parity report</h1>"
        body +=
            "<p><span class=\"verdict \(report.passed ? "ok" : "fail")\">\(report.passed ? "PASSED" : "FAILED")</span> "
        body += "\(report.results.count) checks, \(failures.count) failed</p>"
        body +=
            "<p>Model <code>\(SVGChart.escape(report.model))</code> against recording <code>\(SVGChart.escape(report.recording))</code>. "
        body +=
            "\(SVGChart.escape(ruleDescription(report))).</p>"

        if let first = report.firstDivergence {
            body += "<h2>First divergence</h2><p class=\"fail\">\(SVGChart.escape(failureSummary(first)))</p>"
        }
        let localFailures = failures.filter { $0.stage != .endToEnd }
        let endToEndFailures = failures.filter { $0.stage == .endToEnd }
        if !failures.isEmpty {
            body += "<h2>Diagnosis</h2>"
            for failure in localFailures {
                body +=
                    "<div class=\"diagnosis\"><strong>\(SVGChart.escape("\(failure.layer) \(failure.stage.rawValue)"))</strong>: "
                if let d = failure.diagnosis {
                    body += "<code>\(SVGChart.escape(d.id))</code> — \(SVGChart.escape(d.detail))"
                } else if failure.stage == .postBN {
                    body += SVGChart.escape(noConventionExplains)
                } else {
                    body += SVGChart.escape(failureSummary(failure) + ". " + noPortingMistakeExplains)
                }
                body += "</div>"
            }
            if !endToEndFailures.isEmpty {
                let names = endToEndFailures.map(\.tensor).joined(separator: ", ")
                body +=
                    "<div class=\"diagnosis\"><strong>end to end</strong>: \(endToEndFailures.count) recorded tensors differ "
                body += "when the whole model runs from <code>input</code>: \(SVGChart.escape(names)). "
                body +=
                    localFailures.isEmpty
                    ? "Every local check passes, so the differences accumulate across layers: compare the tolerance with the model's depth."
                    : "Errors propagate downstream from the first divergence."
                body += "</div>"
            }
        }

        body += "<h2>Error against tolerance, per check</h2>"
        body +=
            "<p class=\"muted\">Each dot is a check's largest error divided by what the tolerance allows at that element; above 1 fails.</p>"
        body += SVGChart.dotPlot(
            rows: report.results.map {
                (checkLabel($0), $0.comparison.maxToleranceRatio, $0.passed)
            },
            threshold: 1, thresholdLabel: "tolerance",
            axisLabel: report.rule == .auto
                ? "max |error| / (rounding bound + floor), log scale" : "max |error| / (atol + rtol·|expected|), log scale")

        let depth = Dictionary(report.layerOrder.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let endToEnd = report.results.filter { $0.stage == .endToEnd }
        let alongDepth = endToEnd.isEmpty ? report.results : endToEnd
        body += "<h2>Error against depth\(endToEnd.isEmpty ? " (local checks)" : " (end to end)")</h2>"
        body += SVGChart.depthPlot(
            points: alongDepth.compactMap { r in
                depth[r.layer].map {
                    (x: $0, value: r.comparison.maxAbsError, passed: r.passed, label: "\(r.layer) \(r.tensor)")
                }
            },
            xCount: report.layerOrder.count,
            marked: report.firstDivergence.flatMap { first in
                depth[first.layer].map { ($0, "first divergence: \(first.layer)") }
            },
            allowances: alongDepth.compactMap { r in
                depth[r.layer].map { (x: $0, value: r.comparison.maxAllowance) }
            },
            allowanceLabel: report.rule == .auto
                ? "largest float32 rounding bound in the check" : "largest atol + rtol·|expected| in the check",
            yLabel: "max |error| (log)")

        body += "<h2>Checks</h2>"
        body += htmlTable(
            verifyHeader, report.results.map(cells), numeric: [3, 4, 5, 6],
            classes: Dictionary(
                uniqueKeysWithValues: report.results.enumerated().map { ($0, [7: $1.passed ? "ok" : "fail"]) }))

        let worst = failures.filter { $0.perChannelMaxAbsError != nil }.max {
            $0.comparison.maxToleranceRatio < $1.comparison.maxToleranceRatio
        }
        let shown =
            chosen ?? worst?.layer ?? report.batchNorms.max { $0.varianceBelowEpsilon < $1.varianceBelowEpsilon }?.name
        if let shown, let bn = report.batchNorms.first(where: { $0.name == shown }) {
            let errors = report.results.first { $0.layer == shown && $0.perChannelMaxAbsError != nil }?
                .perChannelMaxAbsError
            body += "<h2>Batch-norm layer <code>\(SVGChart.escape(shown))</code>, per channel</h2>"
            body +=
                "<p>\(SVGChart.escape("\(bn.channels) channels, epsilon \(BatchNormDiagnosis.format(bn.epsilon)); " + channelCounts(bn)))</p>"
            body += batchNormCharts(bn, channelErrors: errors)
        }
        return html(title: "tfparity parity report", body: body)
    }

    /// A self-contained HTML statistics report for `inspect`.
    public static func html(_ report: InspectReport, layer chosen: String? = nil) -> String {
        var body =
            "<h1>tfparity layer statistics</h1><p><code>\(SVGChart.escape(report.file))</code> (\(SVGChart.escape(report.kind)))</p>"
        if let p = report.provenance {
            body +=
                "<p class=\"muted\">\(SVGChart.escape("converted from \(p.source) (\(p.sourceKind), sha256 \(p.sha256)) by tfparity \(p.toolVersion)"))</p>"
        }
        if !report.warnings.isEmpty {
            body +=
                "<h2>Warnings</h2>"
                + report.warnings.map { "<div class=\"diagnosis\">\(SVGChart.escape($0))</div>" }.joined()
        }
        if !report.layers.isEmpty {
            body +=
                "<h2>Layers</h2>"
                + htmlTable(["layer", "type", "parameters", "count"], layerRows(report), numeric: [3])
        }
        if !report.tensors.isEmpty {
            body +=
                "<h2>Tensors</h2>"
                + htmlTable(
                    ["tensor", "dtype", "shape"], report.tensors.map { [$0.name, $0.dtype.numpyName, "\($0.shape)"] })
        }
        let shown = chosen.map { name in report.batchNorms.filter { $0.name == name } } ?? report.batchNorms
        for bn in shown {
            body += "<h2>Batch-norm layer <code>\(SVGChart.escape(bn.name))</code></h2>"
            body +=
                "<p>\(SVGChart.escape("\(bn.channels) channels, epsilon \(BatchNormDiagnosis.format(bn.epsilon)), axis \(bn.axis); " + channelCounts(bn)))</p>"
            body += htmlTable(summaryHeader, summaryRows(bn), numeric: [1, 2, 3, 4, 5, 6])
            body += batchNormCharts(bn)
        }
        return html(title: "tfparity layer statistics", body: body)
    }
}
