import FlowTensor
import FlowAutodiff

/// Jumping-knowledge aggregation of per-layer node states (Xu et al. 2018; PyG's `JumpingKnowledge`):
/// the encoder keeps every layer's output and combines them before a final linear map to the output width.
/// - `last`: the last layer's states [n, d] (a plain stack plus the final linear map).
/// - `concat`: all layers side by side [n, L·d].
/// - `max`: element-wise maximum over layers [n, d] (gradient to the arg-max layer).
public enum JumpingKnowledge: String, Sendable, CaseIterable {
    case last, concat, max

    /// Width of the combined state for `layers` layers of width `width`.
    public func outputWidth(layers: Int, width: Int) -> Int { self == .concat ? layers * width : width }

    /// Combines per-layer states, each [n, d].
    public func callAsFunction(_ states: [Variable]) -> Variable {
        precondition(!states.isEmpty, "JumpingKnowledge needs at least one layer")
        switch self {
        case .last: return states[states.count - 1]
        case .concat: return states.count == 1 ? states[0] : Variable.concat(states, axis: 1)
        case .max: return states.count == 1 ? states[0] : Variable.stack(states, axis: 0).max(axis: 0)
        }
    }
}
