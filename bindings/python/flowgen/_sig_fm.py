"""ctypes signatures of the flow matching (fg_fm_*) functions of include/flowgen.h: name -> (restype, argtypes).
Merged into flowgen._lib.SIGNATURES."""
SIGNATURES = {}
