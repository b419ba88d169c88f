import XCTest
import FlowGen

final class PathTests: XCTestCase {
    /// u_t must equal d x_t / dt for fixed (x0, x1, ε): compare with a central difference in t.
    func testTargetVelocityMatchesFiniteDifferenceOfXt() {
        let paths: [(String, ProbabilityPath)] = [
            ("icfm", ProbabilityPath(scheduler: CondOTScheduler(), noise: .constant(0.1))),
            ("fm", ProbabilityPath(scheduler: LipmanScheduler(sigmaMin: 0.1))),
            ("sbcfm", ProbabilityPath(scheduler: CondOTScheduler(), noise: .brownianBridge(0.5))),
            ("vp", ProbabilityPath(scheduler: TrigonometricVPScheduler(), noise: .constant(0.05))),
            ("poly3", ProbabilityPath(scheduler: PolynomialScheduler(exponent: 3))),
        ]
        var rng = RandomGenerator(seed: 1)
        let n = 16, d = 3
        let x0 = rng.normal([n, d]), x1 = rng.normal([n, d], mean: 2), eps = rng.normal([n, d])
        let times: [Float] = (0..<n).map { 0.05 + 0.9 * Float($0) / Float(n - 1) }
        let h: Float = 1e-3
        for (name, path) in paths {
            let (_, ut) = path.sample(x0: x0, x1: x1, t: times, eps: eps)
            let (xp, _) = path.sample(x0: x0, x1: x1, t: times.map { $0 + h }, eps: eps)
            let (xm, _) = path.sample(x0: x0, x1: x1, t: times.map { $0 - h }, eps: eps)
            for k in 0..<(n * d) {
                let fd = (xp[flat: k] - xm[flat: k]) / (2 * h)
                XCTAssertEqual(ut[flat: k], fd, accuracy: 2e-2 * max(1, abs(fd)), "\(name) element \(k)")
            }
        }
    }

    func testPredictionConversionsRoundTrip() {
        let schedulers: [any Scheduler] = [CondOTScheduler(), LipmanScheduler(sigmaMin: 0.05), TrigonometricVPScheduler(),
                                           PolynomialScheduler(exponent: 2)]
        let x0 = 0.7, x1 = -1.3
        for s in schedulers {
            for t in [0.1, 0.5, 0.9] {
                let c = s(t)
                let xt = c.alpha * x1 + c.sigma * x0, u = c.dAlpha * x1 + c.dSigma * x0
                let d = c.velocityToData, e = c.velocityToNoise
                XCTAssertEqual(d.xt * xt + d.velocity * u, x1, accuracy: 1e-9)
                XCTAssertEqual(e.xt * xt + e.velocity * u, x0, accuracy: 1e-9)
                XCTAssertEqual(c.dataToVelocity.xt * xt + c.dataToVelocity.data * x1, u, accuracy: 1e-9)
                XCTAssertEqual(c.noiseToVelocity.xt * xt + c.noiseToVelocity.noise * x0, u, accuracy: 1e-9)
            }
        }
    }

    func testSchedulerEndpoints() {
        let s = LipmanScheduler(sigmaMin: 0.1)
        XCTAssertEqual(s(0).sigma, 1); XCTAssertEqual(s(1).sigma, 0.1, accuracy: 1e-12); XCTAssertEqual(s(1).alpha, 1)
        let vp = TrigonometricVPScheduler()
        XCTAssertEqual(vp(0).alpha, 0, accuracy: 1e-12); XCTAssertEqual(vp(1).sigma, 0, accuracy: 1e-12)
        let bridge = NoiseSchedule.brownianBridge(1)
        XCTAssertEqual(bridge(0).gamma, 0); XCTAssertEqual(bridge(0.5).gamma, 0.5, accuracy: 1e-12)
    }

    /// E[u_t | x_t] for Gaussian endpoints: with x0 ~ N(0, 1), x1 = m (a point mass) and the CondOT
    /// path, x_t = t m + (1 − t) x0 and the marginal velocity is (m − x_t)/(1 − t) ... regression of u on
    /// x_t over many samples must recover slope −1/(1 − t) and intercept m/(1 − t).
    func testConditionalExpectationInClosedFormGaussianCase() {
        var rng = RandomGenerator(seed: 3)
        let n = 20000, m: Float = 2, t: Float = 0.4
        let x0 = rng.normal([n, 1]), x1 = Tensor(shape: [n, 1], repeating: m)
        let path = ProbabilityPath(scheduler: CondOTScheduler())
        let (xt, ut) = path.sample(x0: x0, x1: x1, t: [Float](repeating: t, count: n), eps: nil)
        var sx = 0.0, su = 0.0, sxx = 0.0, sxu = 0.0
        for i in 0..<n {
            let a = Double(xt[flat: i]), b = Double(ut[flat: i])
            sx += a; su += b; sxx += a * a; sxu += a * b
        }
        let slope = (sxu / Double(n) - sx * su / Double(n * n)) / (sxx / Double(n) - sx * sx / Double(n * n))
        let intercept = su / Double(n) - slope * sx / Double(n)
        XCTAssertEqual(slope, -1 / Double(1 - t), accuracy: 1e-3)
        XCTAssertEqual(intercept, Double(m) / Double(1 - t), accuracy: 1e-3)
    }
}
