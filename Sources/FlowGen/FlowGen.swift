// Umbrella module for Swift users: `import FlowGen` brings in every flowgen module.
@_exported import FlowTensor
@_exported import FlowAutodiff
@_exported import FlowNN
@_exported import FlowOptim
