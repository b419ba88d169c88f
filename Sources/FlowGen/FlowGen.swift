// Umbrella module for Swift users: `import FlowGen` brings in every flowgen module.
@_exported import FlowTensor
@_exported import FlowAutodiff
@_exported import FlowNN
@_exported import FlowOptim
@_exported import GFlowNet
@_exported import FlowMatching
@_exported import FlowGraph
