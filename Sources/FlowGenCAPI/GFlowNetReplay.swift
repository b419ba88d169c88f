import CFlowGenABI
import FlowGen

// Replay buffers (fg_gfn_set_replay) and truncated rollouts (fg_gfn_set_max_rollout_steps) from C.

let knownReplayParamsSizes = [MemoryLayout<fg_gfn_replay_params>.size]

@_cdecl("fg_gfn_replay_default_params")
public func fg_gfn_replay_default_params() -> fg_gfn_replay_params {
    var p = fg_gfn_replay_params()
    p.struct_size = UInt32(MemoryLayout<fg_gfn_replay_params>.size)
    p.kind = UInt32(FG_GFN_REPLAY_TRAJECTORY)
    p.capacity = 0
    p.ratio = 0.5
    return p
}

@_cdecl("fg_gfn_set_replay")
public func fg_gfn_set_replay(_ gfn: OpaquePointer?, _ replay: UnsafePointer<fg_gfn_replay_params>?) -> fg_status {
    gfnCall("fg_gfn_set_replay") {
        let trainer = try gfnHandle(gfn)
        guard let replay else { trainer.replay = nil; return }
        let p = replay.pointee
        try checkStructSize(p.struct_size, known: knownReplayParamsSizes, name: "replay")
        guard let kind = ReplayKind(rawValue: p.kind) else {
            throw CAPIError(status: FG_ERR_UNKNOWN_ENUM, message: "replay.kind = \(p.kind) is not an FG_GFN_REPLAY_* value")
        }
        guard p.capacity > 0 else { trainer.replay = nil; return }
        guard p.capacity <= 1 << 24 else { throw CAPIError.invalid("replay.capacity must be in 0…2^24, got \(p.capacity)") }
        let config = ReplayConfiguration(kind: kind, capacity: Int(p.capacity), ratio: p.ratio)
        if let problem = config.problem { throw CAPIError.invalid("replay: \(problem)") }
        guard trainer.configuration.maxRolloutSteps == 0 else {
            throw CAPIError.invalid("replay cannot be combined with truncated rollouts (fg_gfn_set_max_rollout_steps); set them to 0 first")
        }
        trainer.replay = ReplayBuffer(config)
    }
}

@_cdecl("fg_gfn_replay_count")
public func fg_gfn_replay_count(_ gfn: OpaquePointer?) -> Int { (try? gfnHandle(gfn))?.replay?.count ?? 0 }

@_cdecl("fg_gfn_set_max_rollout_steps")
public func fg_gfn_set_max_rollout_steps(_ gfn: OpaquePointer?, _ k: UInt64) -> fg_status {
    gfnCall("fg_gfn_set_max_rollout_steps") {
        let trainer = try gfnHandle(gfn)
        guard k <= 1 << 20 else { throw CAPIError.invalid("k must be in 0…2^20, got \(k)") }
        try trainer.setMaxRolloutSteps(Int(k))
    }
}

@_cdecl("fg_gfn_max_rollout_steps")
public func fg_gfn_max_rollout_steps(_ gfn: OpaquePointer?) -> UInt64 {
    UInt64((try? gfnHandle(gfn))?.configuration.maxRolloutSteps ?? 0)
}
