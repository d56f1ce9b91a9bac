import Foundation

/// Bar charts drawn on the server as inline SVG (no script, no external assets): completed jobs
/// in green, jobs that reached the dead-letter inbox in red, stacked per time bucket.
enum SVGChart {
    static func bars(_ series: TimeSeries, title: String, width: Int = 360, height: Int = 96) -> String {
        let count = series.completed.count
        let totals = (0..<count).map { series.completed[$0] + series.failed[$0] }
        let peak = max(totals.max() ?? 0, 1)
        let top = 14.0, bottom = 16.0
        let plot = Double(height) - top - bottom
        let slot = Double(width) / Double(max(count, 1))
        let barWidth = max(slot - 2, 1)
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(escape(title))\">"
        out += "<title>\(escape(title))</title>"
        out += "<line x1=\"0\" y1=\"\(fmt(top + plot))\" x2=\"\(width)\" y2=\"\(fmt(top + plot))\" class=\"axis\"/>"
        for index in 0..<count {
            let x = Double(index) * slot + 1
            let completedHeight = plot * Double(series.completed[index]) / Double(peak)
            let failedHeight = plot * Double(series.failed[index]) / Double(peak)
            let bucketStart = series.start.addingTimeInterval(Double(index) * series.bucket)
            let label = "\(Format.time(bucketStart)): \(series.completed[index]) completed, \(series.failed[index]) dead"
            if completedHeight > 0 {
                out += "<rect class=\"ok\" x=\"\(fmt(x))\" y=\"\(fmt(top + plot - completedHeight))\" width=\"\(fmt(barWidth))\" height=\"\(fmt(completedHeight))\"><title>\(escape(label))</title></rect>"
            }
            if failedHeight > 0 {
                out += "<rect class=\"bad\" x=\"\(fmt(x))\" y=\"\(fmt(top + plot - completedHeight - failedHeight))\" width=\"\(fmt(barWidth))\" height=\"\(fmt(failedHeight))\"><title>\(escape(label))</title></rect>"
            }
        }
        out += "<text x=\"0\" y=\"10\" class=\"label\">max \(peak) per \(bucketName(series.bucket))</text>"
        out += "<text x=\"0\" y=\"\(height - 3)\" class=\"label\">\(escape(shortTime(series.start)))</text>"
        out += "<text x=\"\(width)\" y=\"\(height - 3)\" class=\"label\" text-anchor=\"end\">now</text>"
        out += "</svg>"
        return out
    }

    private static func bucketName(_ seconds: TimeInterval) -> String {
        seconds >= 3600 ? "\(Int(seconds / 3600)) h" : "\(Int(seconds / 60)) min"
    }

    private static func shortTime(_ date: Date) -> String { String(Format.time(date).dropFirst(11).prefix(5)) }

    private static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    /// Escapes text for SVG/XML content and attributes.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
