import XCTest
import FlowGen
import _FlowGenTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// BitSequence, Ising and set generation: DAG consistency, hand-computed rewards and partition
/// functions, modes and mode regions.
final class EnvironmentZooTests: XCTestCase {
    /// Every valid forward move leads to a later state in the enumeration whose backward mask holds the
    /// move and whose backward step returns the parent; stateIndex inverts allStates.
    func assertConsistentDAG(_ env: DiscreteEnvironment, file: StaticString = #filePath, line: UInt = #line) {
        guard let n = env.enumeratedStateCount else { return XCTFail("not enumerable", file: file, line: line) }
        let dim = env.stateDimension, a = env.actionCount
        let all = env.allStates()
        XCTAssertEqual(env.stateIndex(all, count: n), Array(0..<n), file: file, line: line)
        XCTAssertEqual(env.stateIndex(env.initialState, count: 1), [0], file: file, line: line)
        XCTAssertEqual(env.backwardMask(env.initialState, count: 1), [Bool](repeating: false, count: a - 1), file: file, line: line)
        let mask = env.forwardMask(all, count: n)
        for i in 0..<n {
            let s = Array(all[(i * dim)..<((i + 1) * dim)])
            for action in 0..<(a - 1) where mask[i * a + action] {
                let child = env.step(s, actions: [action], count: 1)
                XCTAssertGreaterThan(env.stateIndex(child, count: 1)[0], i, file: file, line: line)
                XCTAssertTrue(env.backwardMask(child, count: 1)[action], file: file, line: line)
                XCTAssertEqual(env.backwardStep(child, actions: [action], count: 1), s, file: file, line: line)
            }
        }
    }

    func testBitSequenceStructureAndRewards() throws {
        let env = BitSequence(length: 4, wordSize: 2, modeBits: [[0, 0, 1, 1], [1, 1, 1, 1]], beta: 0.5)
        XCTAssertEqual(env.enumeratedStateCount, 1 + 4 + 16)
        XCTAssertEqual(env.actionCount, 5)
        assertConsistentDAG(env)
        // Exit only when both words are written.
        XCTAssertEqual(env.forwardMask([1, -1], count: 1), [true, true, true, true, false])
        XCTAssertEqual(env.forwardMask([1, 2], count: 1), [false, false, false, false, true])
        // 0110 vs 0011 → 2 bits, vs 1111 → 2 bits: log R = −1. Prefix 01 vs 00 → 1 bit: −0.5.
        XCTAssertEqual(try env.logReward([1, 2], count: 1), [-1.0])
        XCTAssertEqual(env.intermediateLogReward([1, -1], count: 1), [-0.5])
        XCTAssertEqual(env.isMode([0, 3, 3, 3, 1, 2], count: 3), [true, true, false])
        XCTAssertEqual(env.modeRegion([0, 3, 3, 3, 1, 2], count: 3), [0, 1, -1])
        // Z = Σ_x e^{−d/2}: 16 strings; distances to {0011, 1111} computed by brute force below.
        var z = 0.0
        for x in 0..<16 {
            let d = Swift.min((x ^ 0b0011).nonzeroBitCount, (x ^ 0b1111).nonzeroBitCount)
            z += exp(-0.5 * Double(d))
        }
        let dag = try EnumeratedDAG(env)
        let (p, logZ) = try targetDistribution(env, dag: dag)
        XCTAssertEqual(logZ, log(z), accuracy: 1e-12)
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(p.prefix(5).reduce(0, +), 0)   // partial strings are not objects
        // Seeded modes tile the motifs: 16 bits → words of the 8-bit motifs, reproducible.
        let seeded = BitSequence(length: 16, wordSize: 4, modeCount: 10, seed: 3)
        XCTAssertEqual(seeded.modes.count, 10)
        XCTAssertEqual(seeded.modes, BitSequence(length: 16, wordSize: 4, modeCount: 10, seed: 3).modes)
        for mu in seeded.modes {
            for half in 0..<2 {
                XCTAssertTrue(BitSequence.motifs.contains(UInt8(mu[2 * half] << 4 | mu[2 * half + 1])))
            }
        }
        XCTAssertNotNil(BitSequence.problem(length: 10, wordSize: 4, modeCount: 1, beta: 1, modeThreshold: 0))
        XCTAssertNotNil(BitSequence.problem(length: 8, wordSize: 4, modeCount: 1, beta: .nan, modeThreshold: 0))
        XCTAssertNil(BitSequence.problem(length: 8, wordSize: 4, modeCount: 1, beta: 1, modeThreshold: 0))
    }

    func testIsingStructureAndPartitionFunction() throws {
        let env = IsingModel(latticeSide: 3, dimensions: 1, coupling: 1)
        XCTAssertEqual(env.enumeratedStateCount, 27)
        XCTAssertEqual(env.actionCount, 7)
        assertConsistentDAG(env)
        XCTAssertEqual(try env.logReward([1, 1, 1, 0, 0, 0, 1, 0, 0], count: 3), [3, 3, -1])
        XCTAssertEqual(env.intermediateLogReward([1, 1, -1, 1, 0, -1], count: 2), [1, -1])
        // Z = 2e³ + 6e⁻¹ (aligned states vs one odd spin out).
        let (p, logZ) = try targetDistribution(env, dag: try EnumeratedDAG(env))
        XCTAssertEqual(logZ, log(2 * exp(3.0) + 6 * exp(-1.0)), accuracy: 1e-12)
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12)
        let dag = try EnumeratedDAG(env)
        XCTAssertEqual(env.isMode(dag.states, count: 27).filter { $0 }.count, 2)
        // 2-D torus 3×3: 18 couplings; the ground states have log R = 18.
        let torus = IsingModel(latticeSide: 3, dimensions: 2, coupling: 0.5)
        XCTAssertEqual(torus.couplings.count, 18)
        XCTAssertEqual(torus.maximumLogReward(), 9)
        assertConsistentDAG(IsingModel(latticeSide: 2, dimensions: 2, coupling: -1))
        XCTAssertNotNil(IsingModel.latticeProblem(side: 3, dimensions: 2, coupling: .nan))
        XCTAssertNotNil(IsingModel.latticeProblem(side: 1, dimensions: 1, coupling: 1))
        XCTAssertNotNil(IsingModel.latticeProblem(side: 3, dimensions: 3, coupling: 1))
        // Complete graph on 4 spins: 6 pairs; all aligned gives 6J, one flipped spin 0.
        let complete = IsingModel(latticeSide: 4, dimensions: 0, coupling: 0.5)
        XCTAssertEqual(complete.couplings.count, 6)
        XCTAssertEqual(try complete.logReward([1, 1, 1, 1, 1, 0, 1, 1], count: 2), [3, 0])
    }

    func testSetGenerationStructureAndPartitionFunction() throws {
        let energies = [0, 0.5, 1, 0.25]
        let env = SetGeneration(energies: energies, setSize: 2)
        XCTAssertEqual(env.enumeratedStateCount, 16)
        assertConsistentDAG(env)
        XCTAssertEqual(env.forwardMask([1, 0, 0, 0], count: 1), [false, true, true, true, false])
        XCTAssertEqual(env.forwardMask([1, 0, 0, 1], count: 1), [false, false, false, false, true])
        XCTAssertEqual(env.intermediateLogReward([0, 1, 1, 0], count: 1), [-1.5])
        var z = 0.0
        for i in 0..<4 { for j in (i + 1)..<4 { z += exp(-(energies[i] + energies[j])) } }
        let dag = try EnumeratedDAG(env)
        let (p, logZ) = try targetDistribution(env, dag: dag)
        XCTAssertEqual(logZ, log(z), accuracy: 1e-12)
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(p[0b0111], 0)
        XCTAssertEqual(env.isMode(dag.states, count: 16).enumerated().filter { $0.element }.map(\.offset), [0b1001])
        let seeded = SetGeneration(itemCount: 12, setSize: 4, beta: 2, seed: 5)
        XCTAssertTrue(seeded.energies.allSatisfy { [0, 0.5, 1, 1.5, 2].contains($0) })
        XCTAssertEqual(seeded.energies, SetGeneration(itemCount: 12, setSize: 4, beta: 2, seed: 5).energies)
        XCTAssertNotNil(SetGeneration.problem(itemCount: 4, setSize: 5, beta: 1))
        XCTAssertNotNil(SetGeneration.problem(itemCount: 0, setSize: 0, beta: 1))
    }

    /// HyperGrid mode regions are its corners: 2-D H8 has 4 mode cells in 4 regions, 2-D H64
    /// 144 cells (36 per corner) in 4 regions.
    func testHyperGridModeRegions() throws {
        for (h, cells) in [(8, 4), (64, 144)] {
            let env = HyperGrid(ndim: 2, height: h)
            let dag = try EnumeratedDAG(env)
            let regions = env.modeRegion(dag.states, count: dag.stateCount)
            XCTAssertEqual(regions.filter { $0 >= 0 }.count, cells)
            XCTAssertEqual(Set(regions.filter { $0 >= 0 }), [0, 1, 2, 3])
        }
    }

    func testObjectiveCompatibility() {
        var c = GFlowNetTrainer.Configuration()
        c.objective = .forwardLookingDetailedBalance
        XCTAssertNotNil(GFlowNetTrainer.compatibilityProblem(environment: HyperGrid(ndim: 2, height: 4), configuration: c))
        XCTAssertNil(GFlowNetTrainer.compatibilityProblem(environment: SetGeneration(itemCount: 5, setSize: 2), configuration: c))
        c.objective = .modifiedDetailedBalance
        XCTAssertNil(GFlowNetTrainer.compatibilityProblem(environment: HyperGrid(ndim: 2, height: 4), configuration: c))
        XCTAssertNotNil(GFlowNetTrainer.compatibilityProblem(environment: IsingModel(latticeSide: 3, dimensions: 1, coupling: 1),
                                                             configuration: c))
        XCTAssertEqual(GFlowNetObjective(name: "flsubtb"), .forwardLookingSubTrajectoryBalance)
        XCTAssertEqual(GFlowNetObjective.modifiedDetailedBalance.name, "moddb")
    }
}
