#if canImport(Glibc)
import Glibc
#endif

/// Learning-rate multiplier by step (1-based step about to be taken).
public enum LearningRateSchedule: Sendable {
    /// Always 1.
    case constant
    /// Linear ramp from 1/warmup to 1 over `warmupSteps`, then 1.
    case linearWarmup(warmupSteps: Int)
    /// Optional linear warm-up, then cosine decay from 1 to `finalFactor` at `totalSteps`.
    case cosine(warmupSteps: Int, totalSteps: Int, finalFactor: Float)

    public func factor(step: Int) -> Float {
        switch self {
        case .constant:
            return 1
        case .linearWarmup(let warm):
            return warm > 0 && step < warm ? Float(step) / Float(warm) : 1
        case .cosine(let warm, let total, let final):
            if warm > 0 && step < warm { return Float(step) / Float(warm) }
            let span = Swift.max(total - warm, 1)
            let progress = Swift.min(Float(step - warm) / Float(span), 1)
            return final + (1 - final) * 0.5 * (1 + cosf(Float.pi * progress))
        }
    }
}
