import FlowTensor
import FlowAutodiff

/// Anything holding trainable parameters. Names are flattened paths (`layers.0.weight`) so that a
/// checkpoint maps one-to-one to the parameters.
public protocol Module: AnyObject {
    /// Every trainable parameter with its flattened name, in a stable order.
    func namedParameters() -> [(name: String, parameter: Variable)]
}

extension Module {
    /// The parameters in `namedParameters()` order.
    public var parameters: [Variable] { namedParameters().map(\.parameter) }

    /// Total number of trainable scalars.
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.parameter.value.count } }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Name → value copies of all parameters.
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        namedParameters().map { ($0.name, $0.parameter.value.copy()) }
    }

    /// Loads values by name. Throws `ModuleError` naming the first missing or mis-shaped parameter;
    /// on error nothing has been changed.
    public func loadStateDict(_ state: [(name: String, tensor: Tensor)]) throws {
        var byName: [String: Tensor] = [:]
        for (name, t) in state { byName[name] = t }
        let named = namedParameters()
        for (name, p) in named {
            guard let t = byName[name] else { throw ModuleError.missingParameter(name) }
            guard t.shape == p.value.shape else {
                throw ModuleError.shapeMismatch(name: name, expected: p.value.shape, found: t.shape)
            }
        }
        for (name, p) in named { p.assign(byName[name]!.copy()) }
    }
}

/// Errors raised when loading parameters.
public enum ModuleError: Error, CustomStringConvertible {
    case missingParameter(String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .missingParameter(let n): return "parameter '\(n)' is missing"
        case .shapeMismatch(let n, let e, let f): return "parameter '\(n)' has shape \(f), expected \(e)"
        }
    }
}

/// Prefixes child parameter names: `scoped("layers.0", child)`.
public func scoped(_ prefix: String, _ child: Module) -> [(name: String, parameter: Variable)] {
    child.namedParameters().map { ("\(prefix).\($0.name)", $0.parameter) }
}
