#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on stderr (redrawn in place on a terminal, a line every 10% otherwise).
struct ProgressBar {
    let label: String
    let total: Int
    private var lastPercent = -1
    private let interactive = isatty(2) != 0

    init(_ label: String, total: Int) {
        self.label = label
        self.total = Swift.max(total, 1)
    }

    mutating func update(_ done: Int, detail: String = "") {
        let percent = Swift.min(100, done * 100 / total)
        guard percent != lastPercent else { return }
        if !interactive && percent % 10 != 0 && done != total { return }
        lastPercent = percent
        let width = 30, filled = percent * width / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = "\(label) [\(bar)] \(percent)% \(detail)"
        fputs(interactive ? "\r\(line)" : "\(line)\n", stderr)
        if interactive && done >= total { fputs("\n", stderr) }
    }
}

/// Monotonic wall-clock seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
