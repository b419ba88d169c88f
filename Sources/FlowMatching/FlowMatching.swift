// FlowMatching: placeholder until its first file lands.
