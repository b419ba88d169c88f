import CFlowGenABI
import FlowGen

// Replay buffers from C (fg_gfn_set_replay).

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
        trainer.replay = ReplayBuffer(config)
    }
}

@_cdecl("fg_gfn_replay_count")
public func fg_gfn_replay_count(_ gfn: OpaquePointer?) -> Int { (try? gfnHandle(gfn))?.replay?.count ?? 0 }
