// GFlowNet: placeholder until its first file lands.
