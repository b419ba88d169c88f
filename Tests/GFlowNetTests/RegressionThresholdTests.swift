import XCTest
import FlowGen

/// torchgfn's own regression threshold (tutorials/examples/test_scripts.py `test_hypergrid_tb`), reduced
/// to its 2-D case: TB, batch 128, MLP 2×256, lr 1e-3, log Z lr 0.1, R0 = 0.1, 32,000 trajectories
/// (250 steps): sum-L1 ≤ 0.012. flowgen's L1 is exact (torchgfn estimates it from 200k samples, whose
/// noise floor is ≈ 0.0115). Measured exact L1 with seeds 1, 2, 3: 0.0043, 0.0052, 0.0065
/// with 1 BLAS thread (bench/gfn_thresholds.sh, which also runs the 4-D case); this test measured 0.0035
/// with the default thread count (BLAS summation order differs). About 3–5 s in a release build.
final class RegressionThresholdTests: XCTestCase {
    func testTorchgfnThresholdOnTwoDimensionalGrid() throws {
        #if DEBUG
        throw XCTSkip("sized for release builds (swift test -c release)")
        #endif
        var c = GFlowNetTrainer.Configuration()
        c.batchSize = 128; c.hiddenWidth = 256; c.hiddenLayers = 2
        c.learningRate = 1e-3; c.logZLearningRate = 0.1; c.seed = 1
        let trainer = GFlowNetTrainer(environment: HyperGrid(ndim: 2, height: 8, r0: 0.1), configuration: c)
        try trainer.train(trajectories: 32_000)
        let m = try trainer.metrics()
        print("torchgfn threshold, 2-D H8: exact l1 \(m.l1), log Z \(m.logZ) vs \(m.logZTrue)")
        XCTAssertLessThanOrEqual(m.l1, 0.012)
        XCTAssertEqual(trainer.step, 250)
    }
}
