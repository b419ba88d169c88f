import XCTest
import FlowGen
import FlowGenCAPI
import CFlowGenABI
#if canImport(Glibc)
import Glibc
#endif

/// The MLP behind fg_mlp_* from Swift, and the C entry points called directly.
final class SupervisedMLPTests: XCTestCase {
    /// y = sin(3a) + b² on a 16×16 grid of [-1, 1]².
    func regressionData() -> (Tensor, Tensor) {
        var xs: [Float] = [], ys: [Float] = []
        for i in 0..<256 {
            let a = Float(i % 16) / 7.5 - 1, b = Float(i / 16) / 7.5 - 1
            xs += [a, b]; ys.append(sin(3 * a) + b * b)
        }
        return (Tensor(shape: [256, 2], scalars: xs), Tensor(shape: [256, 1], scalars: ys))
    }

    func testRegressionTrainsToKnownLoss() throws {
        let (x, y) = regressionData()
        var c = SupervisedMLP.Configuration(widths: [2, 64, 64, 1])
        c.activation = .tanh; c.learningRate = 3e-3
        let model = SupervisedMLP(c)
        let before = model.evaluate(x: x, y: y).loss
        let after = try model.fit(x: x, y: y, steps: 1500)
        XCTAssertGreaterThan(before, 0.3)
        XCTAssertLessThan(after, 2e-3, "MSE after 1500 Adam steps")
        XCTAssertEqual(model.step, 1500)
    }

    func testClassificationLearnsSeparableClasses() throws {
        // Two Gaussian blobs at (±1, 0): a linear boundary; accuracy must reach 100 %.
        var rng = RandomGenerator(seed: 3)
        var xs: [Float] = [], ys: [Float] = []
        for i in 0..<200 {
            let label = i % 2
            xs += [(label == 0 ? -1 : 1) + 0.2 * rng.nextNormal(), 0.2 * rng.nextNormal()]
            ys.append(Float(label))
        }
        var c = SupervisedMLP.Configuration(widths: [2, 16, 2])
        c.task = .classification; c.learningRate = 1e-2
        let model = SupervisedMLP(c)
        let x = Tensor(shape: [200, 2], scalars: xs), y = Tensor(shape: [200], scalars: ys)
        try model.fit(x: x, y: y, steps: 300)
        let (loss, accuracy) = model.evaluate(x: x, y: y)
        XCTAssertEqual(accuracy, 1, accuracy: 1e-6)
        XCTAssertLessThan(loss, 0.05)
    }

    func testCheckpointResumeIsBitExactWithMiniBatches() throws {
        let (x, y) = regressionData()
        var c = SupervisedMLP.Configuration(widths: [2, 16, 1])
        c.batchSize = 32; c.seed = 9; c.optimizer = .adamW; c.weightDecay = 0.01
        let straight = SupervisedMLP(c)
        try straight.fit(x: x, y: y, steps: 40)
        let first = SupervisedMLP(c)
        try first.fit(x: x, y: y, steps: 15)
        let path = "/tmp/flowgen-xctest-\(getpid()).safetensors"
        defer { unlink(path) }
        try first.save(to: path)
        let resumed = try SupervisedMLP.load(from: path)
        try resumed.fit(x: x, y: y, steps: 25)
        XCTAssertEqual(resumed.step, 40)
        XCTAssertEqual(resumed.predict(x).scalars, straight.predict(x).scalars)
    }

    /// Same seed, same thread count → bit-identical (tested elsewhere). Across BLAS thread counts OpenBLAS
    /// may sum in another order, so results agree to rounding only (shapes large enough to be split).
    func testTrainingAgreesAcrossBLASThreadCounts() throws {
        var rng = RandomGenerator(seed: 5)
        let x = rng.normal([512, 64]), y = rng.normal([512, 8])
        var c = SupervisedMLP.Configuration(widths: [64, 256, 256, 8])
        c.batchSize = 256
        let saved = BLAS.threadCount
        defer { BLAS.setThreadCount(saved) }
        var results: [[Float]] = []
        for threads in [1, 2] {
            BLAS.setThreadCount(threads)
            let model = SupervisedMLP(c)
            try model.fit(x: x, y: y, steps: 5)
            results.append(model.predict(x).scalars)
        }
        var worst: Float = 0
        for (a, b) in zip(results[0], results[1]) { worst = max(worst, abs(a - b) / max(abs(a), 1e-2)) }
        XCTAssertLessThan(worst, 1e-3, "1- and 2-thread training differ by more than rounding")
    }

    func testNonFiniteLossStopsBeforeTheUpdate() throws {
        let (x, _) = regressionData()
        let huge = Tensor(shape: [256, 1], repeating: 3e38)
        let model = SupervisedMLP(SupervisedMLP.Configuration(widths: [2, 4, 1]))
        let before = model.predict(x).scalars
        XCTAssertThrowsError(try model.fit(x: x, y: huge, steps: 1))
        XCTAssertEqual(model.predict(x).scalars, before, "weights must be untouched")
        XCTAssertEqual(model.step, 0)
    }

    func testCEntryPointsValidateArguments() {
        var out: OpaquePointer? = OpaquePointer(bitPattern: 0x1)
        XCTAssertEqual(FlowGenCAPI.fg_mlp_create(nil, 2, nil, &out), FG_ERR_NULL_ARGUMENT)
        XCTAssertNil(out)
        XCTAssertFalse(String(cString: FlowGenCAPI.fg_last_error()).isEmpty)
        var sizes: [UInt32] = [3, 0, 1]
        XCTAssertEqual(FlowGenCAPI.fg_mlp_create(&sizes, 3, nil, &out), FG_ERR_INVALID_ARGUMENT)
        XCTAssertTrue(String(cString: FlowGenCAPI.fg_last_error()).contains("layer_sizes[1]"))
        sizes = [3, 4, 1]
        var params = FlowGenCAPI.fg_mlp_default_params()
        params.activation = 99
        XCTAssertEqual(FlowGenCAPI.fg_mlp_create(&sizes, 3, &params, &out), FG_ERR_UNKNOWN_ENUM)
        params = FlowGenCAPI.fg_mlp_default_params()
        params.struct_size += 8
        XCTAssertEqual(FlowGenCAPI.fg_mlp_create(&sizes, 3, &params, &out), FG_ERR_STRUCT_SIZE)
        XCTAssertEqual(FlowGenCAPI.fg_mlp_create(&sizes, 3, nil, &out), FG_OK)
        defer { FlowGenCAPI.fg_mlp_free(out) }
        var x: [Float] = [1, 2, .nan]
        var dst = [Float](repeating: 0, count: 1)
        var len = 0
        XCTAssertEqual(FlowGenCAPI.fg_mlp_predict(out, &x, 1, 3, &dst, 1, &len), FG_ERR_NON_FINITE)
        x[2] = 0
        XCTAssertEqual(FlowGenCAPI.fg_mlp_predict(out, &x, 1, 3, nil, 0, &len), FG_OK)
        XCTAssertEqual(len, 1)
        XCTAssertEqual(FlowGenCAPI.fg_mlp_predict(out, &x, 1, 3, &dst, 1, &len), FG_OK)
        XCTAssertEqual(FlowGenCAPI.fg_mlp_predict(out, &x, Int.max, 3, &dst, 1, &len), FG_ERR_OUT_OF_MEMORY)
        var loaded: OpaquePointer? = nil
        XCTAssertEqual(FlowGenCAPI.fg_mlp_load("/nonexistent/model.safetensors", &loaded), FG_ERR_IO)
        XCTAssertNil(loaded)
        XCTAssertEqual(String(cString: FlowGenCAPI.fg_status_str(FG_ERR_IO)), "FG_ERR_IO")
        XCTAssertEqual(String(cString: FlowGenCAPI.fg_status_str(-7)), "FG_ERR_UNKNOWN_STATUS")
    }
}
