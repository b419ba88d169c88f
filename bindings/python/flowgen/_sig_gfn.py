"""ctypes signatures of the GFlowNet (fg_gfn_*) functions of include/flowgen.h: name -> (restype, argtypes).
Merged into flowgen._lib.SIGNATURES."""
SIGNATURES = {}
