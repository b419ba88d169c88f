"""ctypes signatures of the graph learning (fg_graph_*, fg_linkpred_*) functions of include/flowgen.h: name -> (restype, argtypes).
Merged into flowgen._lib.SIGNATURES."""
SIGNATURES = {}
