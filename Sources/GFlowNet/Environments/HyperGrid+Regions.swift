extension HyperGrid {
    /// Mode regions of HyperGrid are its corners: a mode cell belongs to region Σ_d [x_d > (H−1)/2]·2^d
    /// (the reward's mode cells form one block near each of the 2^D corners); −1 for other cells.
    public func modeRegion(_ states: [Int32], count: Int) -> [Int] {
        let modes = isMode(states, count: count)
        return (0..<count).map { i in
            guard modes[i] else { return -1 }
            var region = 0
            for d in 0..<ndim where 2 * Int(states[i * ndim + d]) > height - 1 { region |= 1 << Swift.min(d, 62) }
            return region
        }
    }
}
