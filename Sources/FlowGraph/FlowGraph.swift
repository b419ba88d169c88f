// FlowGraph: placeholder until its first file lands.
