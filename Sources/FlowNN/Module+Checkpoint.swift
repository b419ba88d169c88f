import FlowTensor

extension SafeTensorsFile {
    /// Throws `FlowIOError.corrupt` naming the first tensor not stored as F32 (flowgen checkpoints hold F32 only).
    public func requireFloat32() throws {
        for (name, dtype) in storedDTypes where dtype != "F32" {
            throw FlowIOError.corrupt("checkpoint tensor '\(name)' is stored as \(dtype); flowgen checkpoints hold F32 only")
        }
    }

    /// The tensors whose names start with `prefix`, with the prefix removed.
    public func tensors(prefixed prefix: String) -> [(name: String, tensor: Tensor)] {
        tensors.filter { $0.name.hasPrefix(prefix) }.map { (String($0.name.dropFirst(prefix.count)), $0.tensor) }
    }
}

extension Module {
    /// Loads the parameters from checkpoint tensors (names as `namedParameters()`), checking every one is
    /// finite and present with the right shape; a problem is `FlowIOError.corrupt` naming `what` and the
    /// tensor, and leaves the parameters unchanged.
    public func loadCheckpointWeights(_ state: [(name: String, tensor: Tensor)], what: String = "weights") throws {
        for (name, t) in state where !t.isFinite { throw FlowIOError.corrupt("checkpoint \(what): '\(name)' contains NaN or inf") }
        do { try loadStateDict(state) } catch { throw FlowIOError.corrupt("checkpoint \(what): \(error)") }
    }
}
