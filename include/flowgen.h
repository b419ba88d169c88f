/*
 * flowgen.h — the C ABI of libflowgen.so: generative flows and graph learning for native code.
 *
 * Conventions (see docs/ARCHITECTURE.md):
 *  - Every function returns fg_status (FG_OK == 0) except pure getters, fg_*_free,
 *    fg_*_default_params, fg_version_*, fg_status_str and fg_last_error.
 *  - On failure, fg_last_error() describes the problem. The message is thread-local, never NULL,
 *    owned by the library and valid until the next flowgen call on the same thread.
 *  - Handles: fg_<obj>_create / fg_<obj>_load write *out; the caller owns it and releases it with
 *    fg_<obj>_free (NULL is accepted). On failure *out is set to NULL.
 *  - Options structs start with uint32_t struct_size (set it to sizeof the struct, or start from
 *    fg_<obj>_default_params()); passing NULL means defaults. Fields are only ever appended.
 *  - Buffers belong to the caller. Outputs are (float *dst, size_t dst_len, size_t *out_len):
 *    dst == NULL asks for the needed length in *out_len; a short dst gives FG_ERR_BUFFER_TOO_SMALL
 *    with the needed length in *out_len. Inputs are copied. Arrays are row-major float32.
 *  - Threads: one thread per handle at a time; distinct handles are independent.
 *    No global random state: every stochastic object carries its own seeded generator.
 *  - No input can crash the host: arguments are validated and errors are reported as statuses.
 */
#ifndef FLOWGEN_H
#define FLOWGEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLOWGEN_VERSION_MAJOR 0
#define FLOWGEN_VERSION_MINOR 1
#define FLOWGEN_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH, as returned by fg_version_number(). */
#define FLOWGEN_VERSION_NUMBER (FLOWGEN_VERSION_MAJOR * 10000 + FLOWGEN_VERSION_MINOR * 100 + FLOWGEN_VERSION_PATCH)

/* ------------------------------------------------------------------------------------------------
 * Status codes. Values are pinned forever; new codes are only appended.
 * ---------------------------------------------------------------------------------------------- */
typedef int32_t fg_status;
#define FG_OK                     0  /* success */
#define FG_ERR_NULL_ARGUMENT      1  /* a required pointer argument was NULL */
#define FG_ERR_INVALID_ARGUMENT   2  /* an argument is outside its documented domain */
#define FG_ERR_SHAPE_MISMATCH     3  /* array sizes or dimensions do not agree */
#define FG_ERR_BUFFER_TOO_SMALL   4  /* output buffer too short; *out_len holds the needed length */
#define FG_ERR_NON_FINITE         5  /* an input contained NaN or +-inf */
#define FG_ERR_OUT_OF_RANGE       6  /* an index or label is outside its valid range */
#define FG_ERR_UNKNOWN_ENUM       7  /* an enum-valued field holds an unknown value */
#define FG_ERR_STRUCT_SIZE        8  /* params.struct_size is not one this library understands */
#define FG_ERR_IO                 9  /* a file could not be opened, read, written or renamed */
#define FG_ERR_CORRUPT_FILE      10  /* a file is truncated, malformed or of the wrong kind */
#define FG_ERR_CALLBACK          11  /* a user callback reported failure */
#define FG_ERR_CANCELLED         12  /* a progress callback asked to stop; work so far is kept */
#define FG_ERR_OUT_OF_MEMORY     13  /* a requested size is too large to allocate */
#define FG_ERR_NUMERICAL         14  /* the computation produced NaN/inf (e.g. diverging training) */
#define FG_ERR_INTERNAL          15  /* a bug in flowgen; please report it with fg_last_error() */

/** Message describing the last failure on the calling thread ("" if none). Never NULL; owned by the
 *  library; valid until the next flowgen call on this thread. */
const char *fg_last_error(void);

/** Static English name of a status code, e.g. "FG_ERR_SHAPE_MISMATCH"; unknown codes give
 *  "FG_ERR_UNKNOWN_STATUS". Never NULL; never freed. */
const char *fg_status_str(fg_status status);

/** Library version as "MAJOR.MINOR.PATCH". Static; never NULL. */
const char *fg_version_string(void);

/** Library version as MAJOR * 10000 + MINOR * 100 + PATCH (compare with FLOWGEN_VERSION_NUMBER). */
uint32_t fg_version_number(void);

/** Sets the number of threads the BLAS backend may use (global, process-wide).
 *  Returns FG_ERR_INVALID_ARGUMENT unless 1 <= num_threads <= 1024. */
fg_status fg_set_num_threads(int32_t num_threads);

/** Number of threads the BLAS backend currently uses. */
int32_t fg_get_num_threads(void);

/** Name of the BLAS kernel set in use (OpenBLAS core name, e.g. "Haswell"). Static; never NULL. */
const char *fg_blas_core_name(void);

/* ------------------------------------------------------------------------------------------------
 * Shared enums (uint32_t fields in params structs).
 * ---------------------------------------------------------------------------------------------- */
#define FG_ACT_RELU        0  /* max(0, x) */
#define FG_ACT_LEAKY_RELU  1  /* x if x > 0 else 0.01 x */
#define FG_ACT_TANH        2
#define FG_ACT_SIGMOID     3
#define FG_ACT_ELU         4  /* alpha = 1 */
#define FG_ACT_SELU        5  /* Klambauer et al. 2017 constants */
#define FG_ACT_GELU        6  /* exact (erf) form */
#define FG_ACT_SILU        7  /* x * sigmoid(x) */
#define FG_ACT_SOFTPLUS    8  /* log(1 + e^x) */

#define FG_TASK_REGRESSION      0  /* mean squared error on float targets [n_rows, output_dim] */
#define FG_TASK_CLASSIFICATION  1  /* softmax cross-entropy on class ids [n_rows] */

#define FG_OPTIM_ADAM   0
#define FG_OPTIM_ADAMW  1  /* decoupled weight decay */
#define FG_OPTIM_SGD    2  /* with momentum 0.9 */

/** Progress callback: called during long work with the step just finished (1-based), the total
 *  number of steps and the latest loss. Return 0 to continue, non-zero to stop (the call then
 *  returns FG_ERR_CANCELLED and keeps the work done so far). */
typedef int32_t (*fg_progress_fn)(uint64_t step, uint64_t total, float loss, void *user_data);

/* ------------------------------------------------------------------------------------------------
 * fg_mlp — a general-purpose multilayer perceptron trained with Adam/AdamW/SGD.
 * ---------------------------------------------------------------------------------------------- */
typedef struct fg_mlp fg_mlp;

/** Options of fg_mlp_create. Start from fg_mlp_default_params(). */
typedef struct fg_mlp_params {
    uint32_t struct_size;     /* sizeof(fg_mlp_params) of the caller's header */
    uint32_t activation;      /* FG_ACT_* after every hidden layer (default FG_ACT_RELU) */
    uint32_t task;            /* FG_TASK_* (default FG_TASK_REGRESSION) */
    uint32_t optimizer;       /* FG_OPTIM_* (default FG_OPTIM_ADAM) */
    uint64_t seed;            /* initialisation and mini-batch sampling seed (default 0) */
    float learning_rate;      /* > 0, finite (default 1e-3) */
    float weight_decay;       /* >= 0 (default 0) */
    float grad_clip_norm;     /* global-norm clipping threshold; 0 = off (default 0) */
    uint32_t batch_size;      /* rows per step, sampled without replacement each step; 0 = all rows (default 0) */
} fg_mlp_params;

/** Default options (struct_size filled in). */
fg_mlp_params fg_mlp_default_params(void);

/** Creates an MLP with layer widths layer_sizes[0] (input) … layer_sizes[n_sizes-1] (output);
 *  n_sizes >= 2, every width in 1 … 1<<20. Weights use Kaiming-uniform initialisation (PyTorch's
 *  nn.Linear default) from params->seed. params may be NULL (defaults).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT, FG_ERR_UNKNOWN_ENUM, FG_ERR_STRUCT_SIZE. */
fg_status fg_mlp_create(const uint32_t *layer_sizes, size_t n_sizes, const fg_mlp_params *params,
                        fg_mlp **out);

/** Releases an MLP. NULL is accepted. */
void fg_mlp_free(fg_mlp *mlp);

/** Trains for `steps` optimizer steps on x [n_rows, n_cols] (n_cols == input width).
 *  Regression: y holds n_rows * output_dim floats. Classification: y holds n_rows class ids stored as
 *  floats with integral values in 0 … output_dim-1. Inputs are copied; all values must be finite.
 *  progress may be NULL. *out_loss (optional, may be NULL) receives the loss of the last step.
 *  Calling fit again continues training (optimizer state and step count are kept).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_SHAPE_MISMATCH, FG_ERR_NON_FINITE, FG_ERR_OUT_OF_RANGE,
 *  FG_ERR_INVALID_ARGUMENT (steps == 0 or n_rows == 0), FG_ERR_CANCELLED, FG_ERR_NUMERICAL. */
fg_status fg_mlp_fit(fg_mlp *mlp, const float *x, size_t n_rows, size_t n_cols,
                     const float *y, size_t y_len, uint32_t steps,
                     fg_progress_fn progress, void *user_data, float *out_loss);

/** Writes the network outputs for x [n_rows, n_cols] into dst [n_rows, output_dim] (raw outputs:
 *  logits for classification). dst == NULL asks for the length (n_rows * output_dim) in *out_len.
 *  out_len may be NULL when dst is given.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (n_rows == 0), FG_ERR_SHAPE_MISMATCH,
 *  FG_ERR_NON_FINITE, FG_ERR_BUFFER_TOO_SMALL, FG_ERR_OUT_OF_MEMORY (sizes too large). */
fg_status fg_mlp_predict(const fg_mlp *mlp, const float *x, size_t n_rows, size_t n_cols,
                         float *dst, size_t dst_len, size_t *out_len);

/** Mean loss of the model on (x, y) (same layout as fg_mlp_fit) and, for classification, the
 *  fraction of rows whose arg-max output equals the label (regression: *out_accuracy = NAN).
 *  Either output pointer may be NULL. Errors as fg_mlp_fit. */
fg_status fg_mlp_evaluate(const fg_mlp *mlp, const float *x, size_t n_rows, size_t n_cols,
                          const float *y, size_t y_len, float *out_loss, float *out_accuracy);

/** Input width (0 for NULL). */
size_t fg_mlp_input_dim(const fg_mlp *mlp);
/** Output width (0 for NULL). */
size_t fg_mlp_output_dim(const fg_mlp *mlp);
/** Number of trainable scalars (0 for NULL). */
size_t fg_mlp_parameter_count(const fg_mlp *mlp);
/** Optimizer steps taken so far (0 for NULL). */
uint64_t fg_mlp_step(const fg_mlp *mlp);

/** Saves weights, options, optimizer state, step count and random state as a safetensors file:
 *  tensors "layers.<i>.weight" [out, in] and "layers.<i>.bias" [out] (y = x W^T + b), optimizer slots
 *  "optimizer.g<group>.p<param>.s<slot>", and string metadata "flowgen.kind" ("mlp"), "flowgen.format",
 *  "flowgen.widths" ("2,64,1"), "flowgen.activation" (e.g. "relu"), "flowgen.task", "flowgen.optimizer",
 *  "flowgen.seed", "flowgen.step", "flowgen.rng" and the float options as IEEE-754 bit patterns.
 *  The file is written to "<path>.tmp-<pid>" and renamed, so `path` is either the old file or the
 *  complete new one. Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (empty path), FG_ERR_IO. */
fg_status fg_mlp_save(const fg_mlp *mlp, const char *path);

/** Loads an MLP saved by fg_mlp_save; a loaded model continues training exactly as the saved one
 *  would have. Every header field is checked. Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_IO,
 *  FG_ERR_CORRUPT_FILE. */
fg_status fg_mlp_load(const char *path, fg_mlp **out);

/* ================================================================================================
 * GFlowNets (fg_gfn_*)
 * ============================================================================================== */
/* (end of GFlowNet section) */

/* ================================================================================================
 * Continuous flow matching (fg_fm_*)
 * ============================================================================================== */
/* (end of flow-matching section) */

/* ================================================================================================
 * Graph learning (fg_graph_*, fg_linkpred_*, fg_nodeclass_*)
 * ============================================================================================== */
/* (end of graph section) */

#ifdef __cplusplus
}
#endif
#endif /* FLOWGEN_H */
