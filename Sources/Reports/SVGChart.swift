import Foundation

/// Small, dependency-free SVG charts for the HTML reports: everything inline, readable without JavaScript.
struct SVGChart {
    static let pass = "#2e7d32"
    static let fail = "#c62828"
    static let accent = "#1565c0"
    static let muted = "#9e9e9e"

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func number(_ value: Double) -> String { String(format: "%.1f", value) }

    /// The opening `<svg>` tag of a chart `width` × `height` pixels.
    static func svgStart(width: Double, height: Double) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(number(width))\" height=\"\(number(height))\" role=\"img\">"
    }

    /// An SVG `<line>` from (`x1`, `y1`) to (`x2`, `y2`); `attributes` (`stroke-width="2"`) follow the stroke.
    static func line(
        _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, _ attributes: String = ""
    ) -> String {
        "<line x1=\"\(number(x1))\" y1=\"\(number(y1))\" x2=\"\(number(x2))\" y2=\"\(number(y2))\" stroke=\"\(stroke)\""
            + (attributes.isEmpty ? "" : " " + attributes) + "/>"
    }

    /// An SVG `<text>` at (`x`, `y`) of font size `size`, with `attributes` (`text-anchor="end"`); `content` is
    /// SVG text, already escaped.
    static func text(_ x: Double, _ y: Double, size: Int, _ attributes: String, _ content: String) -> String {
        "<text x=\"\(number(x))\" y=\"\(number(y))\" font-size=\"\(size)\" \(attributes)>\(content)</text>"
    }

    /// A log10 axis over the positive finite values given, widened to whole decades and to include `include`.
    struct LogScale {
        var lowDecade: Double
        var highDecade: Double

        init(_ values: [Double], include: [Double] = []) {
            let positive = (values + include).filter { $0 > 0 && $0.isFinite }
            let low = positive.min().map { log10($0).rounded(.down) } ?? -8
            let high = positive.max().map { log10($0).rounded(.up) } ?? 0
            lowDecade = low
            highDecade = max(high, low + 1)
        }

        /// The fraction 0…1 along the axis; zero and negatives sit at 0, infinities and NaN at 1.
        func fraction(_ value: Double) -> Double {
            guard value.isFinite else { return 1 }
            guard value > 0 else { return 0 }
            return min(max((log10(value) - lowDecade) / (highDecade - lowDecade), 0), 1)
        }

        var decades: [Double] { stride(from: lowDecade, through: highDecade, by: 1).map { $0 } }
    }

    /// One row per item: a dot at its value on a log axis, coloured pass/fail, with a vertical line at `threshold`.
    static func dotPlot(
        rows: [(label: String, value: Double, passed: Bool)], threshold: Double, thresholdLabel: String,
        axisLabel: String
    ) -> String {
        let left = 260.0
        let width = 820.0
        let plotWidth = width - left - 30
        let rowHeight = 18.0
        let top = 24.0
        let height = top + rowHeight * Double(rows.count) + 44
        let scale = LogScale(rows.map(\.value), include: [threshold])
        func x(_ v: Double) -> Double { left + scale.fraction(v) * plotWidth }
        var svg = svgStart(width: width, height: height)
        svg += "<title>\(escape(axisLabel))</title>"
        for decade in scale.decades {
            let px = x(pow(10, decade))
            svg += line(px, top - 6, px, height - 36, stroke: "#e0e0e0")
            svg += text(px, height - 22, size: 11, "text-anchor=\"middle\"", "1e\(Int(decade))")
        }
        let tx = x(threshold)
        svg += line(tx, top - 10, tx, height - 36, stroke: fail, "stroke-dasharray=\"4 3\"")
        // Near the right edge the label goes left of the line, so it is not cut off.
        let labelOnLeft = tx > width - 90
        svg += "<text x=\"\(number(labelOnLeft ? tx - 4 : tx + 4))\" y=\"\(number(top - 12))\" font-size=\"11\" "
        svg += "text-anchor=\"\(labelOnLeft ? "end" : "start")\" fill=\"\(fail)\">\(escape(thresholdLabel))</text>"
        for (i, row) in rows.enumerated() {
            let y = top + rowHeight * (Double(i) + 0.5)
            svg += text(left - 8, y + 4, size: 12, "text-anchor=\"end\"", escape(row.label))
            svg += line(left, y, x(row.value), y, stroke: "#eeeeee", "stroke-width=\"6\"")
            svg +=
                "<circle cx=\"\(number(x(row.value)))\" cy=\"\(number(y))\" r=\"5\" fill=\"\(row.passed ? pass : fail)\">"
            svg += "<title>\(escape(row.label)): \(escape(Rendering.scientific(row.value)))</title></circle>"
        }
        svg += text(left + plotWidth / 2, height - 6, size: 12, "text-anchor=\"middle\"", escape(axisLabel))
        return svg + "</svg>"
    }

    /// Values against position (depth) on a log y axis, with an optional marked position, and beside them what the
    /// rule allowed at each position (`allowances`, a dashed line in the failure colour).
    static func depthPlot(
        points: [(x: Int, value: Double, passed: Bool, label: String)], xCount: Int, marked: (x: Int, label: String)?,
        allowances: [(x: Int, value: Double)], allowanceLabel: String, yLabel: String
    ) -> String {
        let width = 820.0
        let height = 300.0
        let left = 70.0
        let right = 20.0
        let top = 30.0
        let bottom = 50.0
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let scale = LogScale(points.map(\.value) + allowances.map(\.value), include: [])
        func px(_ i: Int) -> Double { left + (xCount <= 1 ? 0.5 : Double(i) / Double(xCount - 1)) * plotWidth }
        func py(_ v: Double) -> Double { top + (1 - scale.fraction(v)) * plotHeight }
        var svg = svgStart(width: width, height: height)
        svg += "<title>\(escape(yLabel)) against depth</title>"
        for decade in scale.decades {
            let y = py(pow(10, decade))
            svg += line(left, y, width - right, y, stroke: "#e0e0e0")
            svg += text(left - 6, y + 4, size: 11, "text-anchor=\"end\"", "1e\(Int(decade))")
        }
        let bound = allowances.sorted { $0.x < $1.x }.filter { $0.value > 0 && $0.value.isFinite }
        if !bound.isEmpty {
            let path = bound.map { "\(number(px($0.x))),\(number(py($0.value)))" }.joined(separator: " ")
            svg +=
                "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(fail)\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\"><title>\(escape(allowanceLabel))</title></polyline>"
            svg += text(width - right, top - 12, size: 11, "text-anchor=\"end\" fill=\"\(fail)\"", "- - \(escape(allowanceLabel))")
        }
        if let marked {
            let x = px(marked.x)
            svg += line(x, top - 8, x, top + plotHeight, stroke: fail, "stroke-width=\"2\"")
            svg += text(min(x + 4, width - 200), top - 12, size: 12, "fill=\"\(fail)\"", escape(marked.label))
        }
        let sorted = points.sorted { $0.x < $1.x }
        if sorted.count > 1 {
            let path = sorted.map { "\(number(px($0.x))),\(number(py($0.value)))" }.joined(separator: " ")
            svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(accent)\" stroke-width=\"1.5\"/>"
        }
        for point in sorted {
            svg +=
                "<circle cx=\"\(number(px(point.x)))\" cy=\"\(number(py(point.value)))\" r=\"4\" fill=\"\(point.passed ? pass : fail)\">"
            svg += "<title>\(escape(point.label)): \(escape(Rendering.scientific(point.value)))</title></circle>"
        }
        svg += text(left + plotWidth / 2, height - 12, size: 12, "text-anchor=\"middle\"", "depth (layer index)")
        svg +=
            "<text x=\"14\" y=\"\(number(top + plotHeight / 2))\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(number(top + plotHeight / 2)))\">\(escape(yLabel))</text>"
        return svg + "</svg>"
    }

    /// One bar per channel; `highlight` channels are drawn in the failure colour. Linear scale through zero, or log.
    static func barChart(title: String, values: [Double], highlight: Set<Int> = [], logScale: Bool = false) -> String {
        let width = 400.0
        let height = 150.0
        let left = 56.0
        let top = 22.0
        let bottom = 20.0
        let plotWidth = width - left - 10
        let plotHeight = height - top - bottom
        let finite = values.filter(\.isFinite)
        var svg = svgStart(width: width, height: height)
        svg += "<text x=\"\(number(left))\" y=\"14\" font-size=\"12\" font-weight=\"bold\">\(escape(title))</text>"
        guard !values.isEmpty else { return svg + "</svg>" }
        let barWidth = plotWidth / Double(values.count)
        func color(_ i: Int) -> String { highlight.contains(i) ? fail : accent }
        if logScale {
            let scale = LogScale(finite)
            for decade in [scale.lowDecade, scale.highDecade] {
                let y = top + (1 - scale.fraction(pow(10, decade))) * plotHeight
                svg += text(left - 4, y + 4, size: 10, "text-anchor=\"end\"", "1e\(Int(decade))")
            }
            for (i, v) in values.enumerated() {
                let h = scale.fraction(v) * plotHeight
                svg +=
                    "<rect x=\"\(number(left + Double(i) * barWidth))\" y=\"\(number(top + plotHeight - h))\" width=\"\(number(max(barWidth - 1, 0.5)))\" height=\"\(number(h))\" fill=\"\(color(i))\"><title>channel \(i): \(escape(Rendering.scientific(v)))</title></rect>"
            }
        } else {
            let low = min(finite.min() ?? 0, 0)
            let high = max(finite.max() ?? 0, 0)
            let span = high - low > 0 ? high - low : 1
            func y(_ v: Double) -> Double { top + (high - v) / span * plotHeight }
            svg += line(left, y(0), width - 10, y(0), stroke: muted)
            svg += text(left - 4, y(high) + 4, size: 10, "text-anchor=\"end\"", escape(Rendering.scientific(high)))
            svg += text(left - 4, y(low) + 4, size: 10, "text-anchor=\"end\"", escape(Rendering.scientific(low)))
            for (i, v) in values.enumerated() where v.isFinite {
                let y0 = y(max(v, 0))
                let h = abs(y(v) - y(0))
                svg +=
                    "<rect x=\"\(number(left + Double(i) * barWidth))\" y=\"\(number(y0))\" width=\"\(number(max(barWidth - 1, 0.5)))\" height=\"\(number(max(h, 0.5)))\" fill=\"\(color(i))\"><title>channel \(i): \(escape(Rendering.scientific(v)))</title></rect>"
            }
        }
        svg += text(left + plotWidth / 2, height - 4, size: 10, "text-anchor=\"middle\"", "channel")
        return svg + "</svg>"
    }
}
