import FlowTensor

extension FlowMatcher {
    /// Training-free guidance of sampling by a differentiable cost L on the endpoint (FlowChef-style, Patel et
    /// al. 2024): the solver integrates ṽ(x, t) = v(x, t) − `scale`·∇L(x̂₁), where x̂₁ = x + (1 − t)·v(x, t) is the
    /// endpoint the straight conditional paths (I-CFM, OT-CFM; FM approximately) predict, and the gradient with
    /// respect to x̂₁ is applied to x without the Jacobian of x̂₁ (no backpropagation through the network).
    /// `costGradient(x̂₁)` returns ∇L [n, dim] for x̂₁ [n, dim]. scale 0 is plain sampling. Unconditional models,
    /// N(0, I) source from `seed`. Errors: `ODEError` from the solve (a fixed-step method or dopri5), and
    /// whatever `costGradient` throws.
    public func sampleGuidedByCost(_ n: Int, seed: UInt64, scale: Float, costGradient: (Tensor) throws -> Tensor,
                                   method: ODEMethod, options: ODEOptions = ODEOptions()) throws -> ODESolution {
        precondition(configuration.numClasses == 0, "cost guidance needs an unconditional model")
        var g = RandomGenerator(seed: seed)
        let m = model, d = dim
        return try odeSolve({ x, t in
            let v = m.velocity(x, t: t)
            if scale == 0 { return v }
            let endpoint = Tensor(uninitialized: x.shape)
            let px = x.storage.pointer, pv = v.storage.pointer, pe = endpoint.storage.pointer
            let remaining = Float(1 - t)
            for i in 0..<x.count { pe[i] = px[i] + remaining * pv[i] }
            let grad = try costGradient(endpoint)
            guard grad.shape == [x.shape[0], d] else {
                throw ODEError.invalidArgument("the cost gradient has shape \(grad.shape), expected [\(x.shape[0]), \(d)]")
            }
            let pg = grad.storage.pointer
            for i in 0..<x.count { pv[i] -= scale * pg[i] }
            return withExtendedLifetime((x, endpoint, grad)) { v }
        }, x0: g.normal([n, d]), from: 0, to: 1, method: method, options: options)
    }
}
