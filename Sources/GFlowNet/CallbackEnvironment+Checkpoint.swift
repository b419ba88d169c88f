import FlowTensor

/// A user (callback) environment cannot be written to a file; its checkpoint records the environment's
/// shape ("flowgen.env" = "user", state_dim, n_actions, encoding_dim, max_length, n_states, s0) and loading
/// takes the same callbacks again, checked against that shape.
extension CallbackEnvironment {
    static let checkpointKind = "user"

    /// The environment's shape as checkpoint metadata fields (without the "flowgen." prefix).
    var checkpointFields: [String: String] {
        ["env": Self.checkpointKind, "state_dim": String(stateDimension), "n_actions": String(actionCount),
         "encoding_dim": String(encodingDimension), "max_length": String(maxTrajectoryLength),
         "n_states": String(enumeratedStateCount ?? 0), "s0": initialState.map(String.init).joined(separator: ",")]
    }

    /// How this environment's shape differs from the checkpoint's, or nil when it matches.
    func checkpointMismatch(_ fields: CheckpointMetadata) -> String? {
        for (key, value) in checkpointFields where key != "env" {
            let saved = (try? fields.string(key)) ?? "(missing)"
            if saved != value { return "\(key) is \(value), the checkpoint has \(saved)" }
        }
        return nil
    }
}
