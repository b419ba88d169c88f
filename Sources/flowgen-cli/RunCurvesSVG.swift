#if canImport(Glibc)
import Glibc
#endif
import FlowGen

/// One panel of `runCurvesSVG`: a caption and one curve per run (a value per epoch or step, the first first).
struct CurvePanel {
    var caption: String
    var runs: [[Double]]
    /// Plot log10 of the values (losses).
    var logScale = false
}

/// An SVG of per-epoch curves, the panels side by side, one line per run (colours cycle), each panel with
/// its value range and epoch count: what a person reads off a multi-run training log at a glance.
func runCurvesSVG(title: String, panels: [CurvePanel], xLabel: String = "epochs") -> String {
    let panelWidth = 440.0, panelHeight = 260.0, left = 30.0, top = 60.0, gap = 40.0
    let width = left + Double(panels.count) * (panelWidth + gap)
    let colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\(q(width)) height=\(q(top + panelHeight + 40)) font-family=\"sans-serif\" font-size=\"13\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    s += "<text x=\(q(left)) y=\"22\" font-size=\"15\">\(escapeXML(title))</text>\n"
    for (p, panel) in panels.enumerated() {
        let x0 = left + Double(p) * (panelWidth + gap)
        let curves = panel.runs.map { run in run.map { panel.logScale ? log10(Swift.max($0, 1e-12)) : $0 } }
        let values = curves.flatMap { $0 }.filter(\.isFinite)
        let epochs = curves.map(\.count).max() ?? 0
        let lo = values.min() ?? 0, hi = Swift.max(values.max() ?? 1, lo + 1e-9)
        s += "<text x=\(q(x0)) y=\(q(top - 10))>\(escapeXML(panel.caption))\(panel.logScale ? " (log scale)" : "")</text>\n"
        s += "<rect x=\(q(x0)) y=\(q(top)) width=\(q(panelWidth)) height=\(q(panelHeight)) fill=\"none\" stroke=\"#888\"/>\n"
        for (r, curve) in curves.enumerated() {
            var path = ""
            for (e, v) in curve.enumerated() where v.isFinite {
                let px = x0 + panelWidth * (epochs > 1 ? Double(e) / Double(epochs - 1) : 0.5)
                let py = top + panelHeight * (1 - (v - lo) / (hi - lo))
                path += (path.isEmpty ? "M" : "L") + "\(format3("", px)),\(format3("", py)) "
            }
            guard !path.isEmpty else { continue }
            let marker = curve.count == 1 ? "<circle cx=\(q(x0 + panelWidth / 2)) cy=\(q(top + panelHeight * (1 - (curve[0] - lo) / (hi - lo)))) r=\"3\" fill=\"\(colors[r % colors.count])\"/>\n" : ""
            s += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(colors[r % colors.count])\" stroke-width=\"1.5\"/>\n" + marker
        }
        let label = { (v: Double) in significant3(panel.logScale ? pow(10, v) : v) }
        s += "<text x=\(q(x0 + 4)) y=\(q(top + 14))>\(label(hi))</text>\n"
        s += "<text x=\(q(x0 + 4)) y=\(q(top + panelHeight - 4))>\(label(lo))</text>\n"
        s += "<text x=\(q(x0 + panelWidth - 150)) y=\(q(top + panelHeight + 18))>\(xLabel) 1 … \(epochs)\(curves.count == 1 ? "" : ", \(curves.count) runs")</text>\n"
    }
    return s + "</svg>\n"
}

/// Writes `svg` to `path` atomically and says so on stderr.
func writeRunCurves(_ path: String, title: String, panels: [CurvePanel], xLabel: String = "epochs") throws {
    try writeFileAtomically(path, bytes: Array(runCurvesSVG(title: title, panels: panels, xLabel: xLabel).utf8))
    fputsErr("wrote \(path)\n")
}

/// `v` with three significant digits (6.02e-05, 0.0215, 89.7, 1.23e+04).
func significant3(_ v: Double) -> String {
    guard v.isFinite, v != 0 else { return "\(v)" }
    var buffer = [CChar](repeating: 0, count: 32)
    _ = withVaList([v]) { vsnprintf(&buffer, buffer.count, "%.3g", $0) }
    return String(cString: buffer)
}
