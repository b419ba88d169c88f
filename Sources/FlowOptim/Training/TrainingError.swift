/// Why a training loop stopped early; shared by every trainer built on FlowOptim (the C layer maps
/// `.cancelled` to FG_ERR_CANCELLED and `.numerical` to FG_ERR_NUMERICAL in one place).
public enum TrainingError: Error, CustomStringConvertible {
    /// The progress callback asked to stop after `step`; the steps before are kept.
    case cancelled(step: Int)
    /// The loss of `step` was not finite; that update was not applied.
    case numerical(step: Int, loss: Float)

    public var description: String {
        switch self {
        case .cancelled(let s): return "training stopped by the progress callback after step \(s)"
        case .numerical(let s, let l): return "loss became \(l) at step \(s); the step was not applied (lower the learning rate?)"
        }
    }
}
