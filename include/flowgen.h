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
 *  At most 2^30 parameters in total. Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT,
 *  FG_ERR_UNKNOWN_ENUM, FG_ERR_STRUCT_SIZE, FG_ERR_OUT_OF_MEMORY (too many parameters). */
fg_status fg_mlp_create(const uint32_t *layer_sizes, size_t n_sizes, const fg_mlp_params *params,
                        fg_mlp **out);

/** Releases an MLP. NULL is accepted. */
void fg_mlp_free(fg_mlp *mlp);

/** Trains for `steps` optimizer steps on x [n_rows, n_cols] (n_cols == input width).
 *  Regression: y holds n_rows * output_dim floats. Classification: y holds n_rows class ids stored as
 *  floats with integral values in 0 … output_dim-1. Inputs are copied; all values must be finite.
 *  progress may be NULL. *out_loss (optional, may be NULL) receives the loss of the last step.
 *  Calling fit again continues training (optimizer state and step count are kept).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_SHAPE_MISMATCH (n_cols or y_len wrong), FG_ERR_NON_FINITE,
 *  FG_ERR_OUT_OF_RANGE, FG_ERR_INVALID_ARGUMENT (steps == 0 or n_rows == 0), FG_ERR_OUT_OF_MEMORY
 *  (n_rows too large), FG_ERR_CANCELLED, FG_ERR_NUMERICAL. */
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
 *  Either output pointer may be NULL. Errors as fg_mlp_fit (except the training ones). */
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
 *  complete new one. Paths are UTF-8. Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (empty or
 *  non-UTF-8 path), FG_ERR_IO. */
fg_status fg_mlp_save(const fg_mlp *mlp, const char *path);

/** Loads an MLP saved by fg_mlp_save; a loaded model continues training exactly as the saved one
 *  would have. Every header field is checked; only regular files are read. Errors: FG_ERR_NULL_ARGUMENT,
 *  FG_ERR_INVALID_ARGUMENT (empty or non-UTF-8 path), FG_ERR_IO, FG_ERR_CORRUPT_FILE. */
fg_status fg_mlp_load(const char *path, fg_mlp **out);

/* ================================================================================================
 * GFlowNets (fg_gfn_*)
 * ============================================================================================== */
/* A GFlowNet learns a policy that builds an object x step by step and samples it with probability
 * R(x)/Z. A fg_gfn holds the environment, the policy network (one MLP trunk with P_F, P_B and log F
 * heads), log Z, the Adam optimizer (separate log Z learning rate), the sampling generator and the
 * training counters. Built-in environment: HyperGrid exactly as torchgfn's gym/hypergrid.py defines it
 * (increments masked at the edge, exit always allowed, K-hot encoding), with its reward or a user log
 * reward callback (fg_gfn_create_with_reward); bit sequences, Ising spins and set generation
 * (fg_gfn_create_env). Exact metrics use dynamic programming over the DAG. */
typedef struct fg_gfn fg_gfn;

/* Environments (fg_gfn_params.env). */
#define FG_GFN_ENV_HYPERGRID  0  /* states {0..height-1}^ndim, s0 = 0; action a < ndim increments x_a; exit = ndim */
#define FG_GFN_ENV_BITSEQ     1  /* n-bit strings built left to right from k-bit words (state: n/k words, -1 = unset;
                                    action w < 2^k appends word w; exit = 2^k, only when full);
                                    log R = -beta * (Hamming distance to the nearest of the seeded mode strings) */
#define FG_GFN_ENV_ISING      2  /* spins x in {-1 unset, 0, 1}^D, s0 all -1; action i < D sets x_i = 0, D <= i < 2D sets
                                    x_(i-D) = 1; exit = 2D, only when all set; log R = J * sum_<ij> s_i s_j, s = 2x - 1,
                                    over all pairs (ising_dims 0) or the edges of a periodic ring (1) or torus (2) */
#define FG_GFN_ENV_SET        3  /* sets of set_size of n_items items (state: n_items flags); action i adds item i;
                                    exit = n_items, only when full; log R = -sum_(i in x) e_i, seeded energies
                                    e_i in beta * {0, 1/4, 1/2, 3/4, 1} */

/* Objectives (fg_gfn_params.loss). */
#define FG_GFN_LOSS_TB     0  /* trajectory balance (Malkin et al. 2022) */
#define FG_GFN_LOSS_DB     1  /* detailed balance */
#define FG_GFN_LOSS_SUBTB  2  /* sub-trajectory balance, geometric weighting within trajectories (lambda) */
#define FG_GFN_LOSS_FM     3  /* flow matching (Bengio et al. 2021) on the visited states' edges */
#define FG_GFN_LOSS_ZVAR   4  /* log-partition variance (VarGrad); no log Z parameter */
#define FG_GFN_LOSS_MODDB  5  /* modified detailed balance (every state terminates: HyperGrid); no F or Z */
#define FG_GFN_LOSS_FLDB   6  /* forward-looking DB, F(s) = F~(s) exp(-E(s)) (Pan et al. 2023): BITSEQ, ISING, SET */
#define FG_GFN_LOSS_FLSUBTB 7 /* forward-looking SubTB (lambda): BITSEQ, ISING, SET */

/** Options of fg_gfn_create. Start from fg_gfn_default_params(). */
typedef struct fg_gfn_params {
    uint32_t struct_size;       /* sizeof(fg_gfn_params) of the caller's header */
    uint32_t env;               /* FG_GFN_ENV_* (default FG_GFN_ENV_HYPERGRID) */
    uint32_t ndim;              /* grid dimensions D >= 1, with height^ndim <= 2^62 (default 2) */
    uint32_t height;            /* grid side H, 2 ... 65536, ndim * height <= 2^20 (default 8) */
    double r0, r1, r2;          /* HyperGrid reward R0 > 0, R1 >= 0, R2 >= 0, finite (default 0.1, 0.5, 2.0):
                                   R(x) = R0 + R1 prod_d 1[0.25 < a_d] + R2 prod_d 1[0.3 < a_d < 0.4],
                                   a_d = |x_d / (H - 1) - 0.5| */
    uint32_t loss;              /* FG_GFN_LOSS_* (default FG_GFN_LOSS_TB) */
    float lambda;               /* SubTB lambda in (0, 1] (default 0.9) */
    uint32_t batch_size;        /* trajectories per optimizer step, 1 ... 2^20 (default 16) */
    uint32_t hidden_width;      /* units per hidden layer, 1 ... 16384 (default 256) */
    uint32_t hidden_layers;     /* hidden layers, 1 ... 64 (default 2); ReLU */
    float learning_rate;        /* Adam learning rate of the network, finite > 0 (default 1e-3) */
    float log_z_learning_rate;  /* Adam learning rate of log Z, finite > 0 (default 0.1) */
    float epsilon;              /* epsilon-uniform exploration while training, in [0, 1] (default 0) */
    float temperature;          /* sampling temperature while training, finite > 0 (default 1); losses always
                                   use the unperturbed policy's log-probabilities */
    uint32_t uniform_pb;        /* non-zero: uniform backward policy instead of a learned P_B (default 0) */
    uint64_t seed;              /* initialisation and training-sample seed (default 0) */
} fg_gfn_params;

/** Exact quality metrics of a fg_gfn (environments with at most 2^24 states), filled by fg_gfn_evaluate. */
typedef struct fg_gfn_metrics {
    uint32_t struct_size;       /* set to sizeof(fg_gfn_metrics) before calling fg_gfn_evaluate */
    uint32_t reserved;          /* 0 */
    double l1;                  /* sum over states |P_T(x) - R(x)/Z|, P_T exact (dynamic programming) */
    double tv;                  /* total variation, l1 / 2 */
    double jsd;                 /* Jensen-Shannon divergence (natural log) between P_T and R/Z */
    double log_z;               /* the model's log Z (TB: parameter; DB/SubTB: log F(s0); FM: log sum_a F(s0,a);
                                   ZVar: -mean zeta of the last batch; FLDB/FLSUBTB: log F~(s0) + log R(s0);
                                   MODDB: log R(s0) - log P_F(exit | s0)) */
    double log_z_true;          /* log sum_x R(x) */
    uint64_t modes_found;       /* distinct maximum-reward cells among all training samples so far */
    uint64_t n_modes;           /* number of maximum-reward cells */
    uint64_t trajectories;      /* training trajectories sampled so far */
    /* Added after the first layout (callers with the older, shorter struct_size get the fields above): */
    uint64_t mode_regions_found; /* distinct mode regions holding a found mode cell (HyperGrid: corners;
                                    BITSEQ: mode strings; ISING/SET: each mode cell is a region) */
    uint64_t n_mode_regions;    /* number of mode regions */
    double log_corr;            /* Pearson correlation of log P_T(x) (floored at 1e-300) with log R(x) over the
                                   terminating states (NaN when either is constant) */
} fg_gfn_metrics;

/** Parameters of the BITSEQ, ISING and SET environments (fg_gfn_create_env). Start from
 *  fg_gfn_default_env_params(). Only the fields of the chosen environment are read and validated. */
typedef struct fg_gfn_env_params {
    uint32_t struct_size;       /* sizeof(fg_gfn_env_params) of the caller's header */
    uint32_t seq_len;           /* BITSEQ: bits n, 1 ... 4096 (default 12) */
    uint32_t word_size;         /* BITSEQ: bits per word k, 1 ... 8, must divide seq_len (default 4) */
    uint32_t n_modes;           /* BITSEQ: mode strings wanted, 1 ... 4096 (default 8; fewer when n is short) */
    uint32_t mode_threshold;    /* BITSEQ: strings within this many bits of a mode are mode cells, <= n (default 0) */
    uint32_t ising_side;        /* ISING: lattice side L, 2 ... 1024 (complete), 4096 (ring) or 64 (torus) (default 3) */
    uint32_t ising_dims;        /* ISING: 0 (complete graph of L spins, torchgfn's all-ones J with J = 2 alpha),
                                   1 (ring of L spins) or 2 (L x L torus) (default 2) */
    uint32_t n_items;           /* SET: items N, 1 ... 4096 (default 12) */
    uint32_t set_size;          /* SET: items per set k, 1 ... N (default 6) */
    uint32_t reserved;          /* 0 */
    double beta;                /* BITSEQ / SET: reward scale, finite >= 0 (default 1) */
    double coupling;            /* ISING: coupling J, finite (default 0.5; > 0 ferromagnetic) */
    uint64_t env_seed;          /* BITSEQ / SET: seed of the mode strings / energies (default 0) */
} fg_gfn_env_params;

/** Default options (struct_size filled in): HyperGrid 2 x 8 with R = (0.1, 0.5, 2), TB, batch 16, MLP
 *  2 x 256, lr 1e-3, log Z lr 0.1, lambda 0.9, no exploration, learned P_B, seed 0. */
fg_gfn_params fg_gfn_default_params(void);

/** Creates a GFlowNet. params may be NULL (defaults). The caller owns *out (fg_gfn_free).
 *  Errors: FG_ERR_NULL_ARGUMENT (out), FG_ERR_STRUCT_SIZE, FG_ERR_UNKNOWN_ENUM (env, loss),
 *  FG_ERR_INVALID_ARGUMENT (any field outside its documented range, non-finite or non-positive
 *  rewards); *out is NULL on failure. */
fg_status fg_gfn_create(const fg_gfn_params *params, fg_gfn **out);

/** Default environment parameters (struct_size filled in): see fg_gfn_env_params. */
fg_gfn_env_params fg_gfn_default_env_params(void);

/** Creates a GFlowNet on the environment params->env with its parameters from env_params (NULL:
 *  defaults; ignored for FG_GFN_ENV_HYPERGRID, which reads params). fg_gfn_create(params, out) is
 *  fg_gfn_create_env(params, NULL, out). Exact metrics need at most 2^24 states (BITSEQ: sum over
 *  l <= n/k of 2^(k l); ISING: 3^D; SET: 2^N with N <= 20). fg_gfn_save stores the environment itself
 *  (mode strings, couplings, energies), so fg_gfn_load needs no env_params.
 *  Errors: as fg_gfn_create; FG_ERR_STRUCT_SIZE (env_params), FG_ERR_INVALID_ARGUMENT (an env field
 *  out of range, k not dividing n, set_size > n_items, a loss the environment does not support:
 *  FLDB/FLSUBTB on HYPERGRID, MODDB on BITSEQ/ISING/SET), FG_ERR_NON_FINITE (NaN/inf beta or coupling). */
fg_status fg_gfn_create_env(const fg_gfn_params *params, const fg_gfn_env_params *env_params, fg_gfn **out);

/** Releases a GFlowNet. NULL is accepted. */
void fg_gfn_free(fg_gfn *gfn);

/** Trains on n_trajectories new trajectories: ceil(n_trajectories / batch_size) optimizer steps.
 *  progress (may be NULL) is called after each step with (step, total steps, loss); non-zero stops
 *  training with FG_ERR_CANCELLED (the steps done are kept). *out_loss (may be NULL) receives the last
 *  loss. A step that fails (non-finite loss) is not applied: the GFlowNet is unchanged and usable.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (n_trajectories == 0 or > 2^40),
 *  FG_ERR_CANCELLED, FG_ERR_NUMERICAL. */
fg_status fg_gfn_train(fg_gfn *gfn, uint64_t n_trajectories, fg_progress_fn progress, void *user_data,
                       float *out_loss);

/** Samples k terminal objects from the learned policy (no exploration) with a generator seeded by seed
 *  (the training generator is untouched) into dst_states [k, state_dim] (int32, row-major; HyperGrid:
 *  coordinates). dst_states == NULL asks for the length (k * state_dim) in *out_len.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (k == 0 or k > 2^24),
 *  FG_ERR_BUFFER_TOO_SMALL (needed length in *out_len). */
fg_status fg_gfn_sample(fg_gfn *gfn, size_t k, uint64_t seed, int32_t *dst_states, size_t dst_len,
                        size_t *out_len);

/** Writes the exact terminating distribution P_T of the current policy over all states (computed by
 *  dynamic programming over the DAG) into dst [state_count]; state i is the HyperGrid cell with
 *  x_d = (i / H^d) mod H. dst == NULL asks for the length in *out_len.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_BUFFER_TOO_SMALL, FG_ERR_INVALID_ARGUMENT (more than 2^24
 *  states). */
fg_status fg_gfn_exact_distribution(fg_gfn *gfn, float *dst, size_t dst_len, size_t *out_len);

/** Writes the target distribution R(x)/Z over all states (same order and errors as
 *  fg_gfn_exact_distribution). */
fg_status fg_gfn_target_distribution(fg_gfn *gfn, float *dst, size_t dst_len, size_t *out_len);

/** Fills *out with exact metrics (set out->struct_size = sizeof(fg_gfn_metrics) first; the older
 *  layout without mode_regions_found, n_mode_regions and log_corr is accepted and filled up to its
 *  size). Computes the exact P_T by dynamic programming (one batched forward pass over all states).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_STRUCT_SIZE, FG_ERR_INVALID_ARGUMENT (more than 2^24 states). */
fg_status fg_gfn_evaluate(fg_gfn *gfn, fg_gfn_metrics *out);

/** Entries per state (HyperGrid: ndim); 0 for NULL. */
size_t fg_gfn_state_dim(const fg_gfn *gfn);
/** Number of enumerable states (HyperGrid: height^ndim), 0 when above 2^24 or for NULL. */
size_t fg_gfn_state_count(const fg_gfn *gfn);
/** Optimizer steps taken so far (0 for NULL). */
uint64_t fg_gfn_step(const fg_gfn *gfn);

/** Saves everything needed to resume bit-for-bit as a safetensors file: tensors
 *  "estimator.layers.<i>.weight" [out, in] / ".bias" [out], "log_z" [1], optimizer slots
 *  "optimizer.g<group>.p<param>.s<slot>", and metadata "flowgen.kind" ("gfn"), "flowgen.format",
 *  the environment, options (floats as IEEE-754 bit patterns), step, trajectories, modes found and the
 *  generator state. Written to a temporary file and renamed.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (empty path), FG_ERR_IO. */
fg_status fg_gfn_save(const fg_gfn *gfn, const char *path);

/** Loads a GFlowNet saved by fg_gfn_save; it continues training exactly as the saved one would have.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_IO, FG_ERR_CORRUPT_FILE; *out is NULL on failure. */
fg_status fg_gfn_load(const char *path, fg_gfn **out);

/* Reward-only user environments: a built-in structure (HyperGrid, bit sequences, Ising spins or sets,
 * chosen by params->env) with the terminal log reward computed by the caller. */

/** User log reward: writes log R(x) for n_states states (states [n_states, state_dim], int32,
 *  row-major, in the structure's state layout: HyperGrid coordinates, bit-sequence words, Ising spins
 *  {0, 1}, set membership flags; see FG_GFN_ENV_*) into out_log_rewards [n_states]. Every value must be finite
 *  (R > 0). Return 0 on success; non-zero aborts the flowgen call that invoked the callback with
 *  FG_ERR_CALLBACK (the GFlowNet is left unchanged), and the message set with
 *  fg_gfn_set_callback_error (if any) reaches fg_last_error(). The pointers are valid only during the
 *  call. Called on the thread that called the flowgen function, batched (e.g. batch_size states per
 *  training step; all states at once for exact metrics). */
typedef int32_t (*fg_gfn_log_reward_fn)(const int32_t *states, size_t n_states, size_t state_dim,
                                        double *out_log_rewards, void *user_data);

/** Like fg_gfn_create (the structure is params->env with default env params; HyperGrid r0/r1/r2 are
 *  validated but unused) with the terminal log reward given by log_reward. user_data is borrowed until
 *  fg_gfn_free. Modes are the states whose log reward is within 1e-9 of the maximum. The callback gives
 *  no intermediate rewards, so FLDB/FLSUBTB are refused.
 *  Errors: as fg_gfn_create, FG_ERR_NULL_ARGUMENT when log_reward is NULL, FG_ERR_INVALID_ARGUMENT
 *  (FLDB/FLSUBTB, or a loss the structure does not support). */
fg_status fg_gfn_create_with_reward(const fg_gfn_params *params, fg_gfn_log_reward_fn log_reward,
                                    void *user_data, fg_gfn **out);

/** fg_gfn_create_with_reward with the structure's env_params (NULL = defaults), as fg_gfn_create_env.
 *  The structure's own reward parameters (beta, coupling, modes) are validated but unused.
 *  Errors: as fg_gfn_create_with_reward and fg_gfn_create_env. */
fg_status fg_gfn_create_env_with_reward(const fg_gfn_params *params, const fg_gfn_env_params *env_params,
                                        fg_gfn_log_reward_fn log_reward, void *user_data, fg_gfn **out);

/** Loads a checkpoint saved from a fg_gfn_create_with_reward GFlowNet, with its reward function
 *  (fg_gfn_load refuses such files with FG_ERR_INVALID_ARGUMENT, and this function refuses
 *  built-in-reward files). Errors: as fg_gfn_load, FG_ERR_INVALID_ARGUMENT. */
fg_status fg_gfn_load_with_reward(const char *path, fg_gfn_log_reward_fn log_reward, void *user_data,
                                  fg_gfn **out);

/** From inside a failing callback: sets the message reported by fg_last_error() once the flowgen call
 *  returns FG_ERR_CALLBACK (copied; NULL clears it). Returns FG_OK. */
fg_status fg_gfn_set_callback_error(const char *message);
/* ---- GFlowNet API extensions (external policies, user environments, replay) ---------------- */

/* External-policy mode: the GFlowNet objectives evaluated on log-probabilities computed by any
 * outside model (e.g. a PyTorch policy), with their gradients with respect to those arrays.
 *
 * Layout: every per-step array is time-major [T, B] (row-major, entry (t, b) at t * B + b). Trajectory
 * b has lengths[b] = n transitions s_0 -> ... -> s_{n-1} = x -> s_f, the last being exit:
 *   log_pf[t, b] = log P_F(s_{t+1} | s_t) for t < n (t = n - 1: the exit probability);
 *   log_pb[t, b] = log P_B(s_t | s_{t+1}) for t < n - 1 (the exit transition has no P_B);
 *   log_f[t, b]  = log F(s_t) for t < n (DB and SubTB only);
 *   energies[t, b] = E(s_t) for t < n (optional, DB and SubTB only): forward-looking
 *                  reparameterisation (Pan et al. 2023) log F(s_t) = log_f[t, b] - E(s_t), i.e. log_f
 *                  holds log F~(s_t); the sink keeps F(s_f) = R(x), so with E(x) = -log R(x) the exit
 *                  residual drives F~(x) to 1 (FL-DB with FG_GFN_LOSS_DB, FL-SubTB with
 *                  FG_GFN_LOSS_SUBTB);
 *   log_r[b]     = log R(x_b).
 * Incomplete trajectories (complete[b] == 0; DB and SubTB, typically forward-looking): lengths[b] = n
 * <= T - 1 ordinary transitions s_0 -> ... -> s_n without exit; log_pf[t], log_pb[t] for t < n and
 * log_f[t], energies[t] for t <= n; log_r[b] is ignored; the residuals are those of the
 * sub-trajectories between the n + 1 states (no sink), SubTB weights normalised within the trajectory.
 * Entries outside these ranges are ignored (they may hold anything, NaN included) and receive
 * gradient 0. Residuals and weights are exactly those of fg_gfn_train's objectives (squared penalty):
 * TB mean_b (log Z + sum log P_F - log R - sum log P_B)^2; DB mean over transitions; SubTB with the
 * geometric-within weighting; ZVar (VarGrad) without log Z. */

/** Input of fg_gfn_external_loss. Start from fg_gfn_external_default_batch(). Pointers are borrowed
 *  for the duration of the call only. */
typedef struct fg_gfn_external_batch {
    uint32_t struct_size;       /* sizeof(fg_gfn_external_batch) of the caller's header */
    uint32_t loss;              /* FG_GFN_LOSS_TB, _DB, _SUBTB or _ZVAR (default TB); FM is refused */
    uint64_t max_length;        /* T >= 1, rows of every [T, B] array; T * B <= 2^30 */
    uint64_t batch_size;        /* B >= 1 trajectories; SubTB needs (T + 1)^2 * B <= 2^27 */
    const float *log_pf;        /* [T, B], required */
    const float *log_pb;        /* [T, B], required (pass zeros for a uniform P_B you do not model) */
    const float *log_f;         /* [T, B]: required by DB and SubTB, must be NULL for TB and ZVar */
    const float *energies;      /* [T, B] or NULL: forward-looking DB / SubTB (see above) */
    const float *log_r;         /* [B], finite, required */
    const uint32_t *lengths;    /* [B], each in 1 ... T, required */
    float log_z;                /* TB: log Z (finite; default 0) */
    float lambda;               /* SubTB lambda in (0, 1] (default 0.9) */
    const uint8_t *complete;    /* [B] or NULL (all complete): 0 marks an incomplete trajectory (DB and SubTB
                                   only; see above) */
} fg_gfn_external_batch;

/** Default input (struct_size filled, loss TB, lambda 0.9, log_z 0, every pointer NULL, sizes 0). */
fg_gfn_external_batch fg_gfn_external_default_batch(void);

/** Evaluates the loss of batch and, for every non-NULL gradient buffer, its gradient with respect to
 *  that array ([T, B], same layout; 0 at ignored entries): grad_log_pf, grad_log_pb, grad_log_f (DB,
 *  SubTB; with energies: the gradient with respect to log F~). Each non-NULL buffer must hold grad_len
 *  >= T * B floats. *out_grad_log_z (may be NULL) receives d loss / d log Z (TB; 0 otherwise).
 *  *out_loss (required) receives the loss. Deterministic; no state is kept.
 *  Errors: FG_ERR_NULL_ARGUMENT (batch, out_loss, a required array), FG_ERR_STRUCT_SIZE,
 *  FG_ERR_UNKNOWN_ENUM (loss), FG_ERR_INVALID_ARGUMENT (FM, T or B zero, a length outside 1 ... T,
 *  lambda outside (0, 1], log_f given for TB/ZVar or energies without log_f),
 *  FG_ERR_NON_FINITE (NaN/inf inside a trajectory, in log_r or log_z), FG_ERR_BUFFER_TOO_SMALL
 *  (grad_len < T * B with a gradient buffer), FG_ERR_OUT_OF_MEMORY (T * B or SubTB size too large). */
fg_status fg_gfn_external_loss(const fg_gfn_external_batch *batch, float *out_loss, float *grad_log_pf,
                               float *grad_log_pb, float *grad_log_f, size_t grad_len,
                               float *out_grad_log_z);
/* User environments: a complete environment implemented by the caller through batched callbacks.
 * States are int32 vectors of state_dim entries passed as row-major arrays [n_states, state_dim].
 * There are n_actions forward actions; the last (n_actions - 1) is exit, which ends the trajectory
 * and makes the current state the terminal object x. Backward action a (0 ... n_actions - 2) undoes
 * forward action a. The transitions must form a DAG (no cycles); max_length bounds every trajectory.
 * Every callback returns 0 on success; non-zero aborts the flowgen call that invoked it with
 * FG_ERR_CALLBACK and the message set with fg_gfn_set_callback_error (if any); the GFlowNet is then
 * unchanged (no optimizer step, generator and counters restored) and usable. Callbacks run on the
 * calling thread, batched over all trajectories of a step; pointers are valid during the call only.
 * flowgen validates what they return: a state whose forward mask allows nothing, a transition taken
 * whose child's backward mask does not allow the same action or whose backward_step does not give the
 * parent back ("masks disagree with step"), a non-finite encoding, or a non-finite log reward abort the
 * call (FG_ERR_CALLBACK with the reason; FG_ERR_NON_FINITE for log rewards). */

/** Masks: writes [n_states, width] bytes (1 = allowed, 0 = not) to out_mask; width = n_actions for
 *  forward masks (exit last), n_actions - 1 for backward masks (the parents; all 0 at s0). */
typedef int32_t (*fg_gfn_env_mask_fn)(const int32_t *states, size_t n_states, uint8_t *out_mask, void *user_data);

/** Transitions: applies action actions[i] (a valid non-exit action of state i) to each state and
 *  writes the results [n_states, state_dim] to out_states (step: children; backward_step: parents). */
typedef int32_t (*fg_gfn_env_step_fn)(const int32_t *states, const int32_t *actions, size_t n_states,
                                      int32_t *out_states, void *user_data);

/** Policy input: writes [n_states, encoding_dim] finite floats to out (e.g. one-hot codes). */
typedef int32_t (*fg_gfn_env_encode_fn)(const int32_t *states, size_t n_states, float *out, void *user_data);

/** Enumeration: writes all n_states states [n_states, state_dim] to out_states, in a topological order
 *  of the DAG (every state after all its parents); state i of this list is state i of
 *  fg_gfn_exact_distribution / fg_gfn_target_distribution. */
typedef int32_t (*fg_gfn_env_all_states_fn)(int32_t *out_states, void *user_data);

/** A user environment for fg_gfn_create_with_env (copied at creation; user_data is borrowed until
 *  fg_gfn_free). Start from fg_gfn_env_default(). */
typedef struct fg_gfn_env {
    uint32_t struct_size;        /* sizeof(fg_gfn_env) of the caller's header */
    uint32_t state_dim;          /* entries per state, 1 ... 65536 */
    uint32_t n_actions;          /* forward actions including exit (the last), 2 ... 65536 */
    uint32_t encoding_dim;       /* floats per encoded state (policy input width), 1 ... 2^20 */
    uint32_t max_length;         /* most transitions of one trajectory, exit included, 1 ... 2^20 */
    uint32_t reserved;           /* 0 */
    const int32_t *initial_state;        /* s0 [state_dim], copied; required */
    uint64_t n_states;                   /* number of states when enumerable (1 ... 2^24; exact
                                            metrics and distributions), 0 when not */
    fg_gfn_env_mask_fn forward_mask;     /* required */
    fg_gfn_env_mask_fn backward_mask;    /* required */
    fg_gfn_env_step_fn step;             /* required */
    fg_gfn_env_step_fn backward_step;    /* required */
    fg_gfn_log_reward_fn log_reward;     /* log R(x) of terminal states, finite; required */
    fg_gfn_env_encode_fn encode;         /* required */
    fg_gfn_env_all_states_fn all_states; /* required when n_states > 0, else ignored */
    void *user_data;                     /* passed to every callback */
} fg_gfn_env;

/** An empty fg_gfn_env (struct_size set, everything else 0/NULL). */
fg_gfn_env fg_gfn_env_default(void);

/** Creates a GFlowNet on a user environment. params gives the objective and training options
 *  (params->env, ndim, height, r0, r1, r2 are ignored but must hold valid values, as the defaults
 *  do; params may be NULL). With n_states > 0 the enumeration is read and checked at once (distinct
 *  states, s0 listed, every transition leads to a listed state later in the list). fg_gfn_save
 *  records the environment's shape only; load such files with fg_gfn_load_with_env. The caller owns
 *  *out (fg_gfn_free).
 *  Errors: as fg_gfn_create; FG_ERR_NULL_ARGUMENT (env, a required callback or initial_state),
 *  FG_ERR_STRUCT_SIZE, FG_ERR_INVALID_ARGUMENT (a size outside its range, a bad enumeration),
 *  FG_ERR_CALLBACK (a callback failed during the checks); *out is NULL on failure. */
fg_status fg_gfn_create_with_env(const fg_gfn_params *params, const fg_gfn_env *env, fg_gfn **out);

/** Loads a checkpoint that fg_gfn_save wrote for a GFlowNet on a user environment, with the same
 *  callbacks again: env must have the saved shape (state_dim, n_actions, encoding_dim, max_length,
 *  n_states, initial_state); its enumeration is re-checked as by fg_gfn_create_with_env, and replayed
 *  trajectories or rollouts in flight are re-walked through its callbacks. The caller owns *out.
 *  Errors: as fg_gfn_load; FG_ERR_NULL_ARGUMENT (env or a required callback), FG_ERR_STRUCT_SIZE,
 *  FG_ERR_INVALID_ARGUMENT (a shape that differs from the checkpoint's, or a file of a built-in
 *  environment: use fg_gfn_load), FG_ERR_CALLBACK; *out is NULL on failure. */
fg_status fg_gfn_load_with_env(const char *path, const fg_gfn_env *env, fg_gfn **out);
/* Replay buffers. */
#define FG_GFN_REPLAY_TRAJECTORY   0  /* whole trajectories, drawn uniformly, FIFO when full */
#define FG_GFN_REPLAY_BACKWARD     1  /* terminal states, re-expanded into trajectories with the current
                                         P_B (backward sampling) each time they are replayed */
#define FG_GFN_REPLAY_PRIORITIZED  2  /* whole trajectories drawn with probability proportional to R(x);
                                         when full, a better trajectory replaces the lowest-reward one */

/** Replay options of fg_gfn_set_replay. */
typedef struct fg_gfn_replay_params {
    uint32_t struct_size;       /* sizeof(fg_gfn_replay_params) */
    uint32_t kind;              /* FG_GFN_REPLAY_* (default TRAJECTORY) */
    uint64_t capacity;          /* stored items, 1 ... 2^24; 0 turns replay off (default 0) */
    float ratio;                /* fraction of each batch replayed, in [0, 1) (default 0.5): a batch holds
                                   round(ratio * batch_size) replayed trajectories (as many as stored) and
                                   fresh ones for the rest; the fresh ones are then stored */
    uint32_t reserved;          /* 0 */
} fg_gfn_replay_params;

/** Default replay options (struct_size set, replay off: capacity 0, kind TRAJECTORY, ratio 0.5). */
fg_gfn_replay_params fg_gfn_replay_default_params(void);

/** Sets (replacing any previous buffer, which is emptied) or, with capacity 0 or replay NULL, removes
 *  the replay buffer used by fg_gfn_train. Losses on replayed trajectories always use the current
 *  policy's log-probabilities (recomputed each step). fg_gfn_save keeps the buffer, its options and
 *  contents (each item as its action path from s0, checked step by step when loaded), so a loaded
 *  trainer continues exactly as the saved one would have. Errors: FG_ERR_NULL_ARGUMENT (gfn), FG_ERR_STRUCT_SIZE, FG_ERR_UNKNOWN_ENUM (kind),
 *  FG_ERR_INVALID_ARGUMENT (capacity > 2^24, ratio outside [0, 1), or a buffer requested while truncated
 *  rollouts are on: see fg_gfn_set_max_rollout_steps). */
fg_status fg_gfn_set_replay(fg_gfn *gfn, const fg_gfn_replay_params *replay);

/** Truncated rollouts (incomplete trajectories, Pan et al. 2023): with k > 0 every training step of
 *  fg_gfn_train advances the batch's rollouts in lockstep by at most k transitions (exit included).
 *  Rollouts that exit are complete trajectories; the others are incomplete (no terminal reward, their
 *  last state only starts sub-trajectories) and are continued by the next step, so a training batch
 *  may never hold a whole trajectory. fg_gfn_train's n_trajectories then counts completed
 *  trajectories. k = 0 (the default) trains on whole trajectories and drops rollouts in flight. Saved
 *  by fg_gfn_save (with the rollouts in flight; older checkpoints load with k = 0).
 *  Errors: FG_ERR_NULL_ARGUMENT (gfn), FG_ERR_INVALID_ARGUMENT (k > 2^20; k > 0 with a loss other than
 *  FG_GFN_LOSS_FLDB / FG_GFN_LOSS_FLSUBTB, or with a replay buffer set); the
 *  GFlowNet is unchanged on error. */
fg_status fg_gfn_set_max_rollout_steps(fg_gfn *gfn, uint64_t k);

/** The rollout limit set by fg_gfn_set_max_rollout_steps (0 = whole trajectories; 0 for NULL). */
uint64_t fg_gfn_max_rollout_steps(const fg_gfn *gfn);

/** Items currently stored in the replay buffer (0 without one or for NULL). */
size_t fg_gfn_replay_count(const fg_gfn *gfn);
/* Conditional GFlowNets: one policy samples x with probability R(x | c)/Z(c) for any condition
 * vector c (condition_dim floats), on the HyperGrid of params or on a user environment. The policy
 * input is the environment's encoding followed by c; log Z(c)
 * is a small MLP of c (condition_dim -> 32 ReLU -> 1, trained with params->log_z_learning_rate).
 * Objectives TB (conditional log Z), DB, SubTB (the log F head sees c) and ZVar; FM is refused. */
typedef struct fg_gfn_cond fg_gfn_cond;

/** Conditional log reward: writes log R(x_i | c_i) for n_states HyperGrid cells states [n_states,
 *  state_dim] with their conditions [n_states, condition_dim] into out_log_rewards [n_states]; values
 *  must be finite. Return 0 on success; non-zero aborts the call with FG_ERR_CALLBACK (message from
 *  fg_gfn_set_callback_error) and leaves the GFlowNet unchanged. */
typedef int32_t (*fg_gfn_cond_log_reward_fn)(const int32_t *states, const float *conditions, size_t n_states,
                                             size_t state_dim, size_t condition_dim, double *out_log_rewards,
                                             void *user_data);

/** Creates a conditional GFlowNet on the HyperGrid of params (ndim, height; r0/r1/r2 validated but
 *  unused) with condition_dim (1 ... 4096) condition entries and the reward log_reward (user_data
 *  borrowed until fg_gfn_cond_free). The caller owns *out. Errors: as fg_gfn_create,
 *  FG_ERR_NULL_ARGUMENT (log_reward, out), FG_ERR_INVALID_ARGUMENT (condition_dim, loss FM). */
fg_status fg_gfn_cond_create(const fg_gfn_params *params, uint32_t condition_dim, fg_gfn_cond_log_reward_fn log_reward,
                             void *user_data, fg_gfn_cond **out);

/** Like fg_gfn_cond_create on a user environment (fg_gfn_env, see fg_gfn_create_with_env; its
 *  log_reward may be NULL and is not used): the policy input is env's encoding followed by c; states
 *  passed to log_reward are env states [n_states, env->state_dim]; distributions follow env's
 *  all_states order. Errors: as fg_gfn_cond_create and fg_gfn_create_with_env. */
fg_status fg_gfn_cond_create_with_env(const fg_gfn_params *params, const fg_gfn_env *env, uint32_t condition_dim,
                                      fg_gfn_cond_log_reward_fn log_reward, void *user_data, fg_gfn_cond **out);

/** Releases a conditional GFlowNet. NULL is accepted. */
void fg_gfn_cond_free(fg_gfn_cond *gfn);

/** Trains on n_trajectories trajectories (ceil(n / batch_size) steps); each trajectory's condition is
 *  drawn uniformly from conditions [n_conditions, condition_dim] (finite). progress and out_loss as in
 *  fg_gfn_train; a failing step changes nothing. Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT
 *  (n_conditions or n_trajectories zero or too large), FG_ERR_NON_FINITE, FG_ERR_CALLBACK,
 *  FG_ERR_CANCELLED, FG_ERR_NUMERICAL. */
fg_status fg_gfn_cond_train(fg_gfn_cond *gfn, const float *conditions, size_t n_conditions, uint64_t n_trajectories,
                            fg_progress_fn progress, void *user_data, float *out_loss);

/** Samples k (1 ... 2^24) terminal cells given condition [condition_dim] into dst_states [k, state_dim]
 *  (size query with dst_states NULL, as fg_gfn_sample). Errors: FG_ERR_NULL_ARGUMENT,
 *  FG_ERR_INVALID_ARGUMENT, FG_ERR_NON_FINITE, FG_ERR_BUFFER_TOO_SMALL, FG_ERR_CALLBACK. */
fg_status fg_gfn_cond_sample(fg_gfn_cond *gfn, const float *condition, size_t k, uint64_t seed, int32_t *dst_states,
                             size_t dst_len, size_t *out_len);

/** Exact P_T(x | c) over all cells (order of fg_gfn_exact_distribution) into dst [state_count]
 *  (size query with dst NULL). Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_NON_FINITE, FG_ERR_BUFFER_TOO_SMALL,
 *  FG_ERR_INVALID_ARGUMENT (more than 2^24 states). */
fg_status fg_gfn_cond_exact_distribution(fg_gfn_cond *gfn, const float *condition, float *dst, size_t dst_len,
                                         size_t *out_len);

/** R(x | c)/Z(c) over all cells (same order and errors as fg_gfn_cond_exact_distribution, plus
 *  FG_ERR_CALLBACK). */
fg_status fg_gfn_cond_target_distribution(fg_gfn_cond *gfn, const float *condition, float *dst, size_t dst_len,
                                          size_t *out_len);

/** The learned log Z(c) into *out_log_z and (when out_log_z_true is not NULL; needs at most 2^24 states)
 *  the true log sum_x R(x | c). Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_NON_FINITE, FG_ERR_CALLBACK,
 *  FG_ERR_INVALID_ARGUMENT. */
fg_status fg_gfn_cond_log_z(fg_gfn_cond *gfn, const float *condition, float *out_log_z, double *out_log_z_true);

/** Writes the conditional GFlowNet (policy, log Z(c) network, optimizer state, counters, generator
 *  state, environment and options; not the reward function) to path atomically (safetensors, F32).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (empty path), FG_ERR_IO. */
fg_status fg_gfn_cond_save(fg_gfn_cond *gfn, const char *path);

/** Loads a file written by fg_gfn_cond_save for a conditional GFlowNet on the HyperGrid, with the
 *  reward callback (and user_data) to use from now on, which must be the one it was trained with for
 *  training to continue as it would have. The caller owns *out (fg_gfn_cond_free). Errors:
 *  FG_ERR_NULL_ARGUMENT, FG_ERR_IO, FG_ERR_CORRUPT_FILE (not such a file, or any field invalid),
 *  FG_ERR_INVALID_ARGUMENT (the file holds a user environment: use fg_gfn_cond_load_with_env);
 *  *out is NULL on failure. */
fg_status fg_gfn_cond_load(const char *path, fg_gfn_cond_log_reward_fn log_reward, void *user_data, fg_gfn_cond **out);

/** Like fg_gfn_cond_load for a conditional GFlowNet trained on a user environment, given that
 *  environment again (same shape: state_dim, n_actions, encoding_dim, max_length, n_states,
 *  initial_state; log_reward of env is not used). Errors: as fg_gfn_cond_load and
 *  fg_gfn_load_with_env. */
fg_status fg_gfn_cond_load_with_env(const char *path, const fg_gfn_env *env, fg_gfn_cond_log_reward_fn log_reward,
                                    void *user_data, fg_gfn_cond **out);

/** Entries of each condition vector, and of each state, of a conditional GFlowNet (0 for NULL). */
size_t fg_gfn_cond_condition_dim(const fg_gfn_cond *gfn);
size_t fg_gfn_cond_state_dim(const fg_gfn_cond *gfn);
/* ---- (end of GFlowNet API extensions) ---- */
/* (end of GFlowNet section) */

/* ================================================================================================
 * Continuous flow matching (fg_fm_*)
 *
 * A velocity MLP v(x, t) (input [x, t], widths [dim+1, hidden x layers, dim]; class-conditional models
 * append a one-hot class code, all zeros = "no label") trained by conditional flow matching (Lipman et
 * al. 2023; Tong et al. 2024) and sampled by integrating dx/dt = v from t = 0 (source) to t = 1 (data).
 * Time convention: t = 0 source, t = 1 data.
 * ============================================================================================== */
typedef struct fg_fm fg_fm;

/* Training methods (fg_fm_params.method). x0 = source, x1 = data, eps ~ N(0, I), t ~ U(0, 1). */
#define FG_FM_METHOD_ICFM   0  /* x_t = t x1 + (1-t) x0 + sigma eps, u = x1 - x0, independent pairs */
#define FG_FM_METHOD_OTCFM  1  /* as ICFM on exact minibatch optimal-transport pairs (squared Euclidean) */
#define FG_FM_METHOD_FM     2  /* Lipman: x_t = t x1 + (1-(1-sigma)t) x0, u = x1 - (1-sigma) x0; N(0,I) source */
#define FG_FM_METHOD_SBCFM  3  /* Brownian bridge noise sigma sqrt(t(1-t)), entropic OT pairs (eps = 2 sigma^2); sigma > 0 */
#define FG_FM_METHOD_VP     4  /* x_t = sin(pi t/2) x1 + cos(pi t/2) x0 + sigma eps, independent pairs */
#define FG_FM_METHOD_VP_BETA 5 /* score-SDE VP path, linear beta in diffusion time s = 1 - t:
                                  T(s) = beta_min s + s^2 (beta_max - beta_min)/2, alpha_t = exp(-T/2),
                                  sigma_t = sqrt(1 - exp(-T)), x_t = alpha_t x1 + sigma_t x0 + sigma eps;
                                  N(0, I) source, independent pairs */

/* Classifier-free guidance conventions of fg_fm_sample_guided (v_c: conditional, v_u: no label). */
#define FG_FM_GUIDANCE_INTERPOLATE 0  /* v = v_u + w (v_c - v_u): w = 1 conditional, w = 0 unconditional */
#define FG_FM_GUIDANCE_SCALED      1  /* v = (1 + w) v_c - w v_u: w = 0 conditional (= INTERPOLATE with 1 + w) */

/* ODE solvers (fg_fm_solver_params.solver). Every one advances the whole batch, one model call per stage. */
#define FG_FM_SOLVER_EULER     0  /* 1 evaluation per step */
#define FG_FM_SOLVER_MIDPOINT  1  /* 2 per step */
#define FG_FM_SOLVER_HEUN      2  /* explicit trapezoid, 2 per step */
#define FG_FM_SOLVER_RK4       3  /* Runge-Kutta 3/8 rule (torchdiffeq "rk4"), 4 per step */
#define FG_FM_SOLVER_DOPRI5    4  /* adaptive Dormand-Prince 5(4), torchdiffeq's error norm and step control */

/* Divergence estimators of fg_fm_log_likelihood. */
#define FG_FM_DIV_EXACT        0  /* exact Jacobian trace: dim reverse passes per evaluation (dim <= 64) */
#define FG_FM_DIV_HUTCHINSON   1  /* Rademacher probes drawn once per call from `seed`, n_probes averaged */

/** Options of fg_fm_create. Start from fg_fm_default_params(). Defaults follow the [SF]^2M 2-D
 *  protocol (3 x 64 SELU MLP, AdamW lr 1e-3, weight decay 1e-5, sigma 0.1). */
typedef struct fg_fm_params {
    uint32_t struct_size;     /* sizeof(fg_fm_params) of the caller's header */
    uint32_t dim;             /* data dimension, 1 ... 65536 (default 2) */
    uint32_t method;          /* FG_FM_METHOD_* (default FG_FM_METHOD_OTCFM) */
    uint32_t activation;      /* FG_ACT_* after every hidden layer (default FG_ACT_SELU) */
    uint32_t hidden_width;    /* 1 ... 65536 (default 64) */
    uint32_t hidden_layers;   /* 1 ... 64; at most 2^28 weights in all (default 3) */
    uint32_t batch_size;      /* rows per step, 1 ... 2^20; OT methods <= 4096 (default 256) */
    float sigma;              /* path noise / sigma_min, finite, >= 0 (FM: < 1; SB-CFM: > 0) (default 0.1) */
    uint64_t seed;            /* initialisation, minibatch, time and noise seed (default 0) */
    float learning_rate;      /* AdamW, finite, > 0 (default 1e-3) */
    float weight_decay;       /* AdamW decoupled decay, finite, >= 0 (default 1e-5) */
    float grad_clip_norm;     /* global-norm clipping threshold; 0 = off (default 0) */
    /* Added in layout 2 (a caller built with the older header passes the smaller struct_size and gets
     * the defaults below). */
    uint32_t num_classes;     /* 0 = unconditional; else the model input gets a one-hot class code and
                                 training needs labels (fg_fm_fit_labeled); OTCFM then pairs only within
                                 classes; not with SBCFM; 0 ... 65536 (default 0) */
    float label_dropout;      /* probability that a training label is replaced by "no label", in [0, 1]
                                 (trains the unconditional branch for guidance) (default 0.1) */
    float beta_min;           /* FG_FM_METHOD_VP_BETA schedule, 0 <= beta_min < beta_max <= 1000 */
    float beta_max;           /* (defaults 0.1 and 20, as score SDEs) */
} fg_fm_params;

/** Options of the ODE solve in fg_fm_sample, fg_fm_transport and fg_fm_log_likelihood (NULL =
 *  defaults). Start from fg_fm_default_solver_params(). */
typedef struct fg_fm_solver_params {
    uint32_t struct_size;     /* sizeof(fg_fm_solver_params) of the caller's header */
    uint32_t solver;          /* FG_FM_SOLVER_* (default FG_FM_SOLVER_EULER) */
    uint32_t steps;           /* fixed-step solvers: equal steps over [0, 1], 1 ... 10^6 (default 100) */
    uint32_t max_num_steps;   /* dopri5: limit on attempted steps, >= 1 (default 10000) */
    float rtol;               /* dopri5 relative tolerance, finite, >= 0 (default 1e-5) */
    float atol;               /* dopri5 absolute tolerance, finite, >= 0, rtol + atol > 0 (default 1e-5) */
    float first_step;         /* dopri5 initial step; 0 = automatic (torchdiffeq's rule) (default 0) */
    float min_step;           /* dopri5: a smaller step is an underflow error; 0 = only exact underflow (default 0) */
    /* Added later (callers built against the older header pass the smaller struct_size: equal steps). */
    const double *time_grid;  /* fixed-step solvers: step between these times instead of `steps` equal ones;
                                 time_grid_len finite, strictly increasing times from 0 to 1 (e.g. from
                                 fg_fm_step_schedule); solves from 1 to 0 walk it backwards. Read during
                                 the call only; NULL = equal steps (default NULL) */
    uint32_t time_grid_len;   /* entries of time_grid, 2 ... 10^6 + 1 when time_grid is set (default 0) */
} fg_fm_solver_params;

/** Default training options (struct_size filled in). */
fg_fm_params fg_fm_default_params(void);

/** Default solver options (struct_size filled in): Euler, 100 steps, rtol = atol = 1e-5. */
fg_fm_solver_params fg_fm_default_solver_params(void);

/** Creates an untrained flow matcher. params may be NULL (defaults, dim 2).
 *  Errors: FG_ERR_NULL_ARGUMENT (out), FG_ERR_INVALID_ARGUMENT (a field out of its range, e.g.
 *  sigma < 0), FG_ERR_UNKNOWN_ENUM, FG_ERR_STRUCT_SIZE, FG_ERR_OUT_OF_MEMORY (more than 2^28
 *  weights). */
fg_status fg_fm_create(const fg_fm_params *params, fg_fm **out);

/** Releases a flow matcher. NULL is accepted. */
void fg_fm_free(fg_fm *fm);

/** Trains for `steps` AdamW steps towards data [n_rows, dim] (copied; finite) from a N(0, I) source.
 *  Each step draws min(batch_size, n_rows) distinct data rows and as many source points. progress may
 *  be NULL; *out_loss (optional) receives the last step's loss. Calling again continues training.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (steps == 0, n_rows == 0),
 *  FG_ERR_SHAPE_MISMATCH (dim differs from the model's), FG_ERR_NON_FINITE, FG_ERR_OUT_OF_MEMORY,
 *  FG_ERR_CANCELLED (work so far kept), FG_ERR_NUMERICAL (the diverging step is not applied). */
fg_status fg_fm_fit(fg_fm *fm, const float *data, size_t n_rows, size_t dim, uint32_t steps,
                    fg_progress_fn progress, void *user_data, float *out_loss);

/** As fg_fm_fit but the source is an empirical distribution: source [n_source, dim] and target
 *  [n_target, dim] (both copied, finite); each step draws min(batch_size, n_source, n_target) rows of
 *  each. Afterwards fg_fm_log_likelihood is refused (its density assumes a N(0, I) source); use
 *  fg_fm_transport to push source points. Errors as fg_fm_fit. */
fg_status fg_fm_fit_pairs(fg_fm *fm, const float *source, size_t n_source, const float *target,
                          size_t n_target, size_t dim, uint32_t steps, fg_progress_fn progress,
                          void *user_data, float *out_loss);

/** BOSS's Bellman step schedule for Euler sampling (Nguyen et al., ICLR 2024, phase 1): n_calibration
 *  source points x0 ~ N(0, I) from `seed` are integrated by Euler on fine_steps equal steps (the reference);
 *  a coarse step from fine time t_i to t_j costs the mean squared distance between x_i + (t_j - t_i) v(x_i, t_i)
 *  and x_j; dynamic programming picks the `steps`-step grid on the fine times with the least total cost.
 *  Writes the steps + 1 times (0 first, 1 last) to times[times_len >= steps + 1]; *out_cost (optional) gets
 *  that cost and *out_uniform_cost (optional) the cost of equal steps (NaN unless fine_steps is a multiple
 *  of steps). Pass the times as fg_fm_solver_params.time_grid with FG_FM_SOLVER_EULER. Costs fine_steps
 *  velocity evaluations over the calibration batch (typical: fine_steps 100, n_calibration 256).
 *  Errors: FG_ERR_NULL_ARGUMENT (fm, times), FG_ERR_INVALID_ARGUMENT (steps == 0, steps > fine_steps,
 *  fine_steps > 1000, n_calibration == 0 or n_calibration x dim > 16384), FG_ERR_BUFFER_TOO_SMALL
 *  (times_len), FG_ERR_NUMERICAL (a non-finite state). */
fg_status fg_fm_step_schedule(fg_fm *fm, uint32_t steps, uint32_t fine_steps, size_t n_calibration, uint64_t seed,
                              double *times, size_t times_len, double *out_cost, double *out_uniform_cost);

/** BOSS's second phase ("straightening", Nguyen et al., ICLR 2024): fine-tunes the field so that Euler on
 *  the schedule times[n_times] (finite, strictly increasing, 0 first, 1 last; e.g. from fg_fm_step_schedule)
 *  reproduces the current model's own trajectories. n_trajectories points x0 ~ N(0, I) from `seed` are
 *  integrated once by the current, frozen weights (Euler on fine_steps equal steps plus the schedule times);
 *  each of `steps` AdamW steps then regresses v(x_k, t_k) onto (x_{k+1} - x_k) / (t_{k+1} - t_k) for
 *  batch_size random (trajectory, interval) pairs (mean squared error). Training state (step count, AdamW
 *  moments) continues as after fg_fm_fit. Unconditional models trained from the N(0, I) source only. Call it
 *  once with all the steps needed: a second call takes the straightened weights as its new reference.
 *  progress may be NULL; *out_loss (optional) receives the last loss.
 *  Errors: FG_ERR_NULL_ARGUMENT (fm, times), FG_ERR_INVALID_ARGUMENT (times, steps == 0, fine_steps outside
 *  1 ... 1000, n_trajectories == 0 or too large for the grid, a class-conditional or pairs-trained model),
 *  FG_ERR_CANCELLED, FG_ERR_NUMERICAL. */
fg_status fg_fm_straighten(fg_fm *fm, const double *times, size_t n_times, uint32_t steps, size_t n_trajectories,
                           uint32_t fine_steps, uint64_t seed, fg_progress_fn progress, void *user_data, float *out_loss);

/** Draws n samples: x0 ~ N(0, I) from `seed`, integrated from t = 0 to 1, written to dst [n, dim].
 *  dst == NULL asks for the length (n * dim) in *out_len. *out_nfe (optional) receives the number of
 *  velocity evaluations (each over the whole batch). solver may be NULL (Euler, 100 steps).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (n == 0, bad solver field),
 *  FG_ERR_UNKNOWN_ENUM, FG_ERR_STRUCT_SIZE, FG_ERR_BUFFER_TOO_SMALL, FG_ERR_OUT_OF_MEMORY,
 *  FG_ERR_NUMERICAL (non-finite state, step-size underflow or max_num_steps reached; dst untouched). */
fg_status fg_fm_sample(fg_fm *fm, size_t n, uint64_t seed, const fg_fm_solver_params *solver,
                       float *dst, size_t dst_len, size_t *out_len, uint32_t *out_nfe);

/** Integrates given points x [n_rows, dim] (copied, finite) through the flow: from t = 0 to 1
 *  (reverse == 0: source -> data) or from t = 1 to 0 (reverse != 0: data -> source); writes
 *  dst [n_rows, dim]. Buffer convention, *out_nfe and errors as fg_fm_sample, plus
 *  FG_ERR_SHAPE_MISMATCH and FG_ERR_NON_FINITE. */
fg_status fg_fm_transport(fg_fm *fm, const float *x, size_t n_rows, size_t dim, uint32_t reverse,
                          const fg_fm_solver_params *solver, float *dst, size_t dst_len,
                          size_t *out_len, uint32_t *out_nfe);

/** Log-density log p_1(x) (natural log) of each row of x [n_rows, dim] under the model with its N(0, I)
 *  source, by the instantaneous change of variables integrated from t = 1 to 0; writes dst [n_rows].
 *  divergence is FG_FM_DIV_EXACT (dim <= 64) or FG_FM_DIV_HUTCHINSON with n_probes in 1 ... 1024 probes
 *  drawn from `seed` (n_probes is ignored for EXACT). dopri5 is recommended (solver NULL = Euler 100).
 *  Errors as fg_fm_transport, plus FG_ERR_UNKNOWN_ENUM (divergence) and FG_ERR_INVALID_ARGUMENT (exact
 *  with dim > 64, a model trained with fg_fm_fit_pairs). */
fg_status fg_fm_log_likelihood(fg_fm *fm, const float *x, size_t n_rows, size_t dim,
                               const fg_fm_solver_params *solver, uint32_t divergence,
                               uint32_t n_probes, uint64_t seed, float *dst, size_t dst_len,
                               size_t *out_len, uint32_t *out_nfe);

/** 2-Wasserstein distance between two equal-size point sets a [n_a, dim] and b [n_b, dim] with
 *  uniform weights, solved exactly (Hungarian / Jonker-Volgenant assignment, O(n^3), Double
 *  arithmetic; n_a == n_b <= 5000). Writes *out. Errors: FG_ERR_NULL_ARGUMENT,
 *  FG_ERR_INVALID_ARGUMENT (empty, or n > 5000), FG_ERR_SHAPE_MISMATCH (n_a != n_b),
 *  FG_ERR_NON_FINITE, FG_ERR_OUT_OF_MEMORY. */
fg_status fg_fm_w2(const float *a, size_t n_a, const float *b, size_t n_b, size_t dim, float *out);

/** As fg_fm_fit for a class-conditional model (params.num_classes > 0): labels [n_rows] (int32, each in
 *  0 ... num_classes - 1) are the classes of the data rows; each training label is dropped with
 *  probability label_dropout. Errors as fg_fm_fit, plus FG_ERR_NULL_ARGUMENT (labels),
 *  FG_ERR_INVALID_ARGUMENT (a label out of range, or an unconditional model). */
fg_status fg_fm_fit_labeled(fg_fm *fm, const float *data, const int32_t *labels, size_t n_rows, size_t dim,
                            uint32_t steps, fg_progress_fn progress, void *user_data, float *out_loss);

/** As fg_fm_fit with the data read from a .npy file (little-endian float32 or float64, C order, shape
 *  [n_rows, dim] with dim equal to the model's; read and checked completely before training).
 *  Errors as fg_fm_fit, plus FG_ERR_IO (unreadable file), FG_ERR_CORRUPT_FILE (not such an array). */
fg_status fg_fm_fit_npy(fg_fm *fm, const char *path, uint32_t steps, fg_progress_fn progress,
                        void *user_data, float *out_loss);

/** User data source for fg_fm_fit_sampler: fills batch [n_rows, dim] (row-major floats, n_rows =
 *  params.batch_size) with fresh target samples and returns 0. A non-zero return aborts training; the
 *  callback may write a NUL-terminated reason into message (capacity message_len bytes, pre-zeroed).
 *  Pointers are valid only during the call, which happens on the caller's thread once per step. */
typedef int32_t (*fg_fm_sampler_fn)(float *batch, size_t n_rows, size_t dim, void *user_data,
                                    char *message, size_t message_len);

/** Trains an unconditional model for `steps` steps on target batches produced by sampler (N(0, I)
 *  source). If the sampler fails (non-zero return: FG_ERR_CALLBACK with its message) or returns
 *  non-finite values (FG_ERR_NON_FINITE), every change made by this call is undone: weights,
 *  optimizer state, step count and random state are as before the call. user_data is passed through.
 *  Other errors as fg_fm_fit (FG_ERR_CANCELLED keeps the steps done). */
fg_status fg_fm_fit_sampler(fg_fm *fm, fg_fm_sampler_fn sampler, void *sampler_data, uint32_t steps,
                            fg_progress_fn progress, void *user_data, float *out_loss);

/** Gradient of a caller's cost L at endpoint estimates for fg_fm_sample_cost_guided: writes dL/dx [n_rows, dim]
 *  into grad for the points x1 [n_rows, dim]. Returns 0 on success; non-zero stops the solve (FG_ERR_CALLBACK,
 *  with the optional NUL-terminated text written to message[message_len + 1]). */
typedef int32_t (*fg_fm_cost_gradient_fn)(const float *x1, size_t n_rows, size_t dim, float *grad, void *user_data,
                                          char *message, size_t message_len);

/** Training-free guidance by a differentiable cost (FlowChef-style): n samples from N(0, I) (seed) integrated
 *  with v(x, t) - scale * dL/dx1(x1_hat), x1_hat = x + (1 - t) v(x, t) (the endpoint the straight I-CFM/OT-CFM
 *  paths predict; the gradient at x1_hat is applied to x, no backpropagation through the network). gradient
 *  is called once per velocity evaluation (scale == 0: never; plain sampling). Unconditional models only.
 *  Buffers, *out_nfe and errors as fg_fm_sample, plus FG_ERR_NULL_ARGUMENT (gradient), FG_ERR_INVALID_ARGUMENT
 *  (scale not finite, class-conditional model), FG_ERR_CALLBACK (the callback failed; dst untouched),
 *  FG_ERR_NUMERICAL (non-finite state, e.g. from a non-finite gradient). */
fg_status fg_fm_sample_cost_guided(fg_fm *fm, size_t n, uint64_t seed, float scale, fg_fm_cost_gradient_fn gradient,
                                   void *user_data, const fg_fm_solver_params *solver, float *dst, size_t dst_len,
                                   size_t *out_len, uint32_t *out_nfe);

/** Class-conditional sampling: n samples from N(0, I) (seed) integrated with the field of labels[i]
 *  (int32, -1 = no label, else 0 ... num_classes - 1) for row i; with guidance != 1 (INTERPOLATE) or
 *  != 0 (SCALED) classifier-free guidance mixes the conditional and unconditional fields of labelled
 *  rows by `convention` (FG_FM_GUIDANCE_*; guidance finite, |guidance| <= 1000). Buffers, *out_nfe and
 *  errors as fg_fm_sample, plus FG_ERR_NULL_ARGUMENT (labels), FG_ERR_INVALID_ARGUMENT (label out of
 *  range, unconditional model, bad guidance), FG_ERR_UNKNOWN_ENUM (convention). */
fg_status fg_fm_sample_guided(fg_fm *fm, size_t n, const int32_t *labels, float guidance, uint32_t convention,
                              uint64_t seed, const fg_fm_solver_params *solver, float *dst, size_t dst_len,
                              size_t *out_len, uint32_t *out_nfe);

/** Number of classes of a conditional model (0 for unconditional models and NULL). */
size_t fg_fm_num_classes(const fg_fm *fm);

/** Data dimension (0 for NULL). */
size_t fg_fm_dim(const fg_fm *fm);
/** Optimizer steps taken so far (0 for NULL). */
uint64_t fg_fm_step(const fg_fm *fm);

/** Saves weights, options, AdamW state, step and random state as a safetensors file: tensors
 *  "layers.<i>.weight" [out, in] / "layers.<i>.bias" (input [x, t]), "optimizer.g0.p<i>.s<j>", and
 *  string metadata "flowgen.kind" ("flow_matcher"), "flowgen.format", "flowgen.dim",
 *  "flowgen.method" ("icfm", "otcfm", "fm", "sbcfm", "vp", "vp-beta"), "flowgen.activation", float
 *  options as IEEE-754 bit patterns, "flowgen.step", "flowgen.rng", "flowgen.num_classes" (the input is
 *  then [x, t, one-hot class]), "flowgen.label_dropout", "flowgen.beta_min", "flowgen.beta_max". Written to a temporary file and renamed.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (empty path), FG_ERR_IO. */
fg_status fg_fm_save(const fg_fm *fm, const char *path);

/** Loads a flow matcher saved by fg_fm_save (samples and further training are identical to the saved
 *  one's). Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_IO, FG_ERR_CORRUPT_FILE. */
fg_status fg_fm_load(const char *path, fg_fm **out);

/* Masked autoregressive flows (fg_maf_*): densities with an exact likelihood. */

/** A masked autoregressive flow (Papamakarios et al., NeurIPS 2017): `blocks` MADE layers (Germain et al.
 *  2015), each u_i = (h_i - mu_i(h_<i)) exp(-alpha_i(h_<i)) followed by reversing the dimensions, onto a
 *  N(0, I) base; log p(x) = log N(u) - sum alpha (exact). One thread at a time. */
typedef struct fg_maf fg_maf;

/** Options of fg_maf_create. Start from fg_maf_default_params(). */
typedef struct fg_maf_params {
    uint32_t struct_size;     /* sizeof(fg_maf_params) of the caller's header */
    uint32_t dim;             /* data dimension, 1 ... 4096 (default 2) */
    uint32_t blocks;          /* MADE blocks, 1 ... 64 (default 5) */
    uint32_t hidden_width;    /* 1 ... 65536; at most 2^28 weights in all (default 64) */
    uint32_t hidden_layers;   /* ReLU hidden layers per MADE, 1 ... 16 (default 2) */
    uint32_t batch_size;      /* rows per Adam step, 1 ... 2^20 (default 256) */
    uint64_t seed;            /* initialisation and minibatch seed (default 0) */
    float learning_rate;      /* Adam, finite, > 0 (default 1e-3) */
    float log_scale_bound;    /* alpha = b tanh(raw / b), b in (0, 30] (default 8) */
} fg_maf_params;

/** Default options (struct_size filled in). */
fg_maf_params fg_maf_default_params(void);

/** Creates an untrained flow. params may be NULL (defaults, dim 2).
 *  Errors: FG_ERR_NULL_ARGUMENT (out), FG_ERR_STRUCT_SIZE, FG_ERR_INVALID_ARGUMENT (a field out of range),
 *  FG_ERR_OUT_OF_MEMORY (more than 2^28 weights). On failure *out = NULL. */
fg_status fg_maf_create(const fg_maf_params *params, fg_maf **out);

/** Releases a flow. NULL is accepted. */
void fg_maf_free(fg_maf *maf);

/** Trains `steps` Adam steps on the mean negative log-likelihood of batch_size distinct rows of data
 *  [n_rows, dim] (copied; finite) per step. progress may be NULL; *out_loss (optional) gets the last loss
 *  (nats per point). Calling again continues training.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (steps == 0, n_rows == 0), FG_ERR_SHAPE_MISMATCH
 *  (dim), FG_ERR_NON_FINITE, FG_ERR_CANCELLED (steps so far kept), FG_ERR_NUMERICAL (the diverging step
 *  is not applied). */
fg_status fg_maf_fit(fg_maf *maf, const float *data, size_t n_rows, size_t dim, uint32_t steps,
                     fg_progress_fn progress, void *user_data, float *out_loss);

/** Exact log-density log p(x) (natural log) of each row of x [n_rows, dim] (finite) into dst [n_rows]
 *  (dst == NULL asks for the length in *out_len).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (n_rows == 0), FG_ERR_SHAPE_MISMATCH,
 *  FG_ERR_NON_FINITE, FG_ERR_BUFFER_TOO_SMALL. */
fg_status fg_maf_log_prob(fg_maf *maf, const float *x, size_t n_rows, size_t dim, float *dst, size_t dst_len,
                          size_t *out_len);

/** Draws n samples into dst [n, dim]: z ~ N(0, I) from `seed`, inverted block by block (dim MADE passes per
 *  block). dst == NULL asks for the length (n * dim) in *out_len.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (n == 0 or too large for one pass),
 *  FG_ERR_OUT_OF_MEMORY (n * dim too large), FG_ERR_BUFFER_TOO_SMALL. */
fg_status fg_maf_sample(fg_maf *maf, size_t n, uint64_t seed, float *dst, size_t dst_len, size_t *out_len);

/** Data dimension (0 for NULL). */
size_t fg_maf_dim(const fg_maf *maf);
/** Adam steps taken so far (0 for NULL). */
uint64_t fg_maf_step(const fg_maf *maf);

/** Saves weights ("blocks.<b>.layers.<l>.weight" [out, in] / ".bias", unmasked), Adam state
 *  ("optimizer.g0.p<i>.s<j>"), options (metadata "flowgen.kind" = "maf", floats as IEEE-754 bit patterns),
 *  step and generator state as a safetensors file, written to a temporary file and renamed.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (empty path), FG_ERR_IO. */
fg_status fg_maf_save(const fg_maf *maf, const char *path);

/** Loads a flow saved by fg_maf_save (densities, samples and further training are identical).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (path), FG_ERR_IO, FG_ERR_CORRUPT_FILE. */
fg_status fg_maf_load(const char *path, fg_maf **out);
/* (end of flow-matching section) */

/* ================================================================================================
 * Graph learning (fg_graph_*, fg_linkpred_*, fg_nodeclass_*)
 * ============================================================================================== */

/** Element type of a caller's node-id array. */
#define FG_INDEX_INT32  0  /* int32_t */
#define FG_INDEX_INT64  1  /* int64_t */

/** An immutable undirected graph with optional node features [n_nodes, n_features] (float32), class
 *  labels and a public node split. Edges are stored once per unordered pair: self loops are dropped and
 *  duplicate or reversed copies merged. Node ids are 0-based. Safe to share between threads (read-only). */
typedef struct fg_graph fg_graph;

/** Loads a graph from a directory in the planetoid layout (edges.csv [header "src,dst" optional],
 *  features.npy, labels.npy, train_idx.npy, val_idx.npy, test_idx.npy) or the compact layout of the
 *  bundled data/cora (edges.npy [m, 2] integer, features as CSR index arrays features_indptr.npy,
 *  features_indices.npy, features_shape.npy). Only the edges are required.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (empty path), FG_ERR_IO (missing/unreadable
 *  files), FG_ERR_CORRUPT_FILE (bad .npy, malformed CSV line — the message names the line number —,
 *  label/feature row-count mismatch), FG_ERR_OUT_OF_RANGE (node id or split id out of range, negative
 *  label), FG_ERR_NON_FINITE (NaN/inf features); FG_ERR_INVALID_ARGUMENT also for more than 2^27 nodes.
 *  On failure *out = NULL. */
fg_status fg_graph_load(const char *directory, fg_graph **out);

/** Creates a graph from caller arrays (all copied).
 *  edges: n_edges (u, v) pairs, row-major [n_edges, 2], element type index_type (FG_INDEX_*); every id
 *  in 0 … n_nodes-1 (else FG_ERR_OUT_OF_RANGE naming the edge). n_edges may be 0 (edges may then be NULL).
 *  features: NULL for none, else [feature_rows, n_features] finite floats with feature_rows == n_nodes.
 *  labels: NULL for none, else n_labels == n_nodes class ids >= 0.
 *  1 <= n_nodes <= 2^27 (larger: FG_ERR_OUT_OF_MEMORY).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT, FG_ERR_UNKNOWN_ENUM (index_type),
 *  FG_ERR_OUT_OF_RANGE, FG_ERR_SHAPE_MISMATCH (row counts), FG_ERR_NON_FINITE, FG_ERR_OUT_OF_MEMORY. */
fg_status fg_graph_create(size_t n_nodes, const void *edges, size_t n_edges, uint32_t index_type,
                          const float *features, size_t feature_rows, size_t n_features,
                          const int32_t *labels, size_t n_labels, fg_graph **out);

/** Releases a graph. NULL is accepted. Models created from it keep their own reference. */
void fg_graph_free(fg_graph *graph);

/** Number of nodes (0 for NULL). */
size_t fg_graph_num_nodes(const fg_graph *graph);

/** Number of undirected edges after dropping self loops and duplicates (0 for NULL). */
size_t fg_graph_num_edges(const fg_graph *graph);

/** Number of feature columns (0 without features or for NULL). */
size_t fg_graph_num_features(const fg_graph *graph);

/** Number of classes, max label + 1 (0 without labels or for NULL). */
size_t fg_graph_num_classes(const fg_graph *graph);

/** Copies the undirected edges as int64 pairs [num_edges, 2] with u < v, sorted, into dst
 *  (2 * num_edges values; size query with dst == NULL).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_BUFFER_TOO_SMALL (needed length in *out_len). */
fg_status fg_graph_edges(const fg_graph *graph, int64_t *dst, size_t dst_len, size_t *out_len);

/** The virtual-node transform (PyG's transforms.VirtualNode, undirected): a new graph (*out, release with
 *  fg_graph_free) with node n_nodes appended and linked to every node; its feature row is zero, its label 0,
 *  and it is in no split (the public split is kept). graph is unchanged.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_OUT_OF_MEMORY (graph too large). On failure *out = NULL. */
fg_status fg_graph_add_virtual_node(const fg_graph *graph, fg_graph **out);

/** Link-prediction models (fg_linkpred_params.model). */
#define FG_LINKPRED_CN   0  /* common neighbours |N(u) ∩ N(v)| (no training) */
#define FG_LINKPRED_AA   1  /* Adamic–Adar */
#define FG_LINKPRED_RA   2  /* resource allocation */
#define FG_LINKPRED_GAE  3  /* GCN encoder + dot-product decoder (Kipf & Welling 2016) */
#define FG_LINKPRED_NCN  4  /* neural common neighbours (Wang et al. 2023), target-link removal */
#define FG_LINKPRED_NCNC 5  /* NCN with soft common-neighbour completion by a no-gradient inner NCN */
#define FG_LINKPRED_NBFNET 6 /* neural Bellman-Ford network (Zhu et al. 2021) with the authors' Cora recipe:
                               indicator boundary, DistMult with one relation over the edges plus self
                               loops, PNA aggregation, shortcut, layer norm, MLP head, pairs scored from
                               both ends (symmetric), one random strict non-edge negative per positive;
                               no node features. hidden = state width (paper 32), layers = NBF layers
                               (paper 6), batch_size = training positives per step (0 or above 64 = 64;
                               each costs up to 4 Bellman-Ford runs, done in passes of at most 64 runs),
                               learning_rate 0 = 5e-3. Memory grows as n_nodes x 64 x hidden x layers,
                               time as 4 x n_train_edges x n_nodes x hidden^2 x layers per epoch. */

/** A link predictor bound to one graph. One thread at a time. */
typedef struct fg_linkpred fg_linkpred;

/** Options of fg_linkpred_create. Start from fg_linkpred_default_params(). */
typedef struct fg_linkpred_params {
    uint32_t struct_size;         /* sizeof(fg_linkpred_params) of the caller's header */
    uint32_t model;               /* FG_LINKPRED_* (default FG_LINKPRED_CN) */
    uint32_t hidden;              /* embedding width of GAE/NCN/NCNC, 1 … 4096 (default 256) */
    uint32_t layers;              /* GCN layers of the encoder, 1 … 16; 0 = model default (GAE 2, NCN/NCNC 1) */
    float learning_rate;          /* Adam step size, > 0; 0 = model default (GAE 0.01, NCN/NCNC 0.0043 with
                                     the predictor at 0.0024, NCN's Cora setting) (default 0) */
    float dropout;                /* GAE: between encoder layers; NCN/NCNC: the encoder's tail dropout;
                                     in [0, 1) (default 0.3) */
    uint32_t epochs;              /* training epochs of GAE/NCN/NCNC (default 100) */
    uint32_t batch_size;          /* training positives per step; 0 = all (default 1152) */
    uint64_t seed;                /* initialisation, batching and negative-sampling seed (default 0) */
    uint32_t hits_k;              /* K of Hits@K for model selection and the report, >= 1 (default 100) */
    uint32_t target_link_removal; /* NCN/NCNC: non-zero removes each batch's positives while training (default 1) */
    float input_dropout;          /* dropout on the input features, in [0, 1); negative = model default
                                     (GAE 0, NCN/NCNC 0.7) (default -1) */
    /* NCN/NCNC settings (added later: callers built against the older, shorter struct keep the defaults).
       The names in brackets are the NCN authors' command-line options. */
    float hidden_dropout;         /* dropout after the input linear map [gnndp], in [0, 1); negative = 0.05 (default -1) */
    float predictor_dropout;      /* dropout inside the score head [predp], in [0, 1); negative = 0.05 (default -1) */
    float predictor_edge_dropout; /* adjacency entries dropped before common neighbours are taken while training
                                     [preedp], in [0, 1); negative = 0.4 (default -1) */
    float predictor_learning_rate;/* Adam step of the score head [prelr], > 0; 0 = 0.0024 (default 0) */
    uint32_t custom_completion;   /* NCNC: non-zero uses completion[] below (default 0: s 4.3, o 2.8, alpha 1, pt 0.75) */
    float completion[4];          /* NCNC recalibration s, o, alpha, pt [probscale, proboffset, alpha, pt]:
                                     p' = alpha pt q / (pt q + 1 - q), q = sigmoid(s (p - o)); finite, alpha >= 0,
                                     pt in (0, 1] */
    uint32_t train_candidates;    /* NCNC: completion candidates per pair and side while training [trndeg]; 0 = all */
    uint32_t test_candidates;     /* NCNC: the same while evaluating [tstdeg]; 0 = all (default 0) */
    /* Added later (callers built against an older, shorter struct get the NCN protocol). */
    uint32_t split_protocol;      /* FG_LINKPRED_SPLIT_* : the split and model-selection metric of fg_linkpred_fit
                                     (default FG_LINKPRED_SPLIT_NCN) */
} fg_linkpred_params;

/** Split protocols of fg_linkpred_fit (fg_linkpred_params.split_protocol). */
#define FG_LINKPRED_SPLIT_NCN    0  /* the NCN protocol: 70/10/20, selection by validation Hits@K */
#define FG_LINKPRED_SPLIT_RANDOM 1  /* NBFNet's homogeneous-graph protocol: 85/5/10 (validation and test
                                       negatives: as many uniform non-edges of the full graph as positives),
                                       selection by validation AUROC */

/** Default options (struct_size filled in). */
fg_linkpred_params fg_linkpred_default_params(void);

/** Result of one fg_linkpred_fit run. Set struct_size = sizeof(fg_linkpred_report) before the call. */
typedef struct fg_linkpred_report {
    uint32_t struct_size;   /* sizeof(fg_linkpred_report) of the caller's header */
    uint32_t best_epoch;    /* 1-based epoch with the best validation Hits@K (0 for heuristics) */
    double val_hits;        /* validation Hits@K at that epoch, in [0, 1] */
    double test_hits;       /* test Hits@K (strict OGB rule) at that epoch, in [0, 1] */
    double test_mrr;        /* test mean reciprocal rank of positives among all test negatives */
    double test_auroc;      /* test AUROC */
    double epoch_seconds;   /* mean wall-clock seconds per training epoch (0 for heuristics) */
    double test_ap;         /* test average precision (added later: written only when struct_size covers it) */
    double val_auroc;       /* validation AUROC at that epoch (added later, likewise) */
} fg_linkpred_report;

/** Creates a link predictor on `graph` (the predictor keeps its own reference; the graph may be freed).
 *  GAE, NCN and NCNC need node features; NBFNet uses none (training keeps about 90 bytes per element of
 *  n_nodes x min(4 x batch_size, 64) x hidden x layers, which must stay at most 2^25, about 3 GB, else
 *  FG_ERR_OUT_OF_MEMORY; with the default hidden 256 Cora exceeds it: use the paper's 32). NCN/NCNC use the
 *  NCN authors' Cora setting (dropouts 0.7 input, 0.05 hidden, 0.3 tail, 0.05 head, 0.4 adjacency entries;
 *  NCNC recalibration s 4.3, o 2.8, alpha 1, pt 0.75; all completion candidates). params may be NULL (defaults).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_STRUCT_SIZE, FG_ERR_UNKNOWN_ENUM (model, split_protocol),
 *  FG_ERR_INVALID_ARGUMENT (out-of-range field, no features for GAE/NCN), FG_ERR_OUT_OF_MEMORY (n_nodes or
 *  n_features times hidden above 2^31). On failure *out = NULL. */
fg_status fg_linkpred_create(const fg_graph *graph, const fg_linkpred_params *params, fg_linkpred **out);

/** Releases a link predictor. NULL is accepted. */
void fg_linkpred_free(fg_linkpred *lp);

/** One run of the split protocol (params.split_protocol) with split seed split_seed. NCN protocol: a random
 *  70/10/20 split of the undirected edges, model selection by validation Hits@K; FG_LINKPRED_SPLIT_RANDOM:
 *  85/5/10, selection by validation AUROC. Validation and test negatives are drawn uniformly from non-edges of
 *  the full graph (as many as the positives of each); message passing on the training edges only (a leakage
 *  check fails loudly with FG_ERR_INTERNAL); learned models are re-initialised from params.seed and trained
 *  params.epochs epochs with fresh negatives per step; the model is left at its best-validation epoch, and
 *  scoring afterwards uses the training graph. progress (may be NULL) is called per epoch (once for heuristics). report may be
 *  NULL. Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_STRUCT_SIZE (report), FG_ERR_INVALID_ARGUMENT (graph too
 *  small for a split, hits_k larger than the number of negatives), FG_ERR_CANCELLED, FG_ERR_NUMERICAL. */
fg_status fg_linkpred_fit(fg_linkpred *lp, uint64_t split_seed, fg_progress_fn progress, void *user_data,
                          fg_linkpred_report *report);

/** Scores node pairs [n_pairs, 2] (int64 ids) into dst (n_pairs floats; size query with dst == NULL):
 *  heuristic values, or logits for GAE/NCN/NCNC. Before any fit the full graph is used.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (n_pairs == 0), FG_ERR_OUT_OF_RANGE (node id),
 *  FG_ERR_BUFFER_TOO_SMALL, FG_ERR_OUT_OF_MEMORY. */
fg_status fg_linkpred_score(fg_linkpred *lp, const int64_t *pairs, size_t n_pairs,
                            float *dst, size_t dst_len, size_t *out_len);

/** Scores positive pairs [n_pos, 2] and negative pairs [n_neg, 2] and computes Hits@k (strict OGB rule: a
 *  positive is a hit only if its score is strictly greater than the k-th highest negative score), MRR
 *  (rank = 1 + #greater + #equal / 2 among all negatives) and AUROC (ties count one half). Output
 *  pointers may be NULL. Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (empty sets, k == 0,
 *  k > n_neg), FG_ERR_OUT_OF_RANGE (node id), FG_ERR_OUT_OF_MEMORY. */
fg_status fg_linkpred_evaluate(fg_linkpred *lp, const int64_t *positives, size_t n_pos,
                               const int64_t *negatives, size_t n_neg, uint32_t k,
                               double *out_hits, double *out_mrr, double *out_auroc);

/** Average precision of positive pairs [n_pos, 2] against negative pairs [n_neg, 2] (int64 ids), as
 *  scikit-learn's average_precision_score: the sum over distinct score thresholds t, from the highest
 *  down, of (recall_t - recall_previous) * precision_t, where tied scores enter together. In [0, 1].
 *  Errors: FG_ERR_NULL_ARGUMENT (lp, positives, negatives, out_ap), FG_ERR_INVALID_ARGUMENT (empty sets),
 *  FG_ERR_OUT_OF_RANGE (node id), FG_ERR_NON_FINITE (a score is NaN/inf), FG_ERR_OUT_OF_MEMORY. */
fg_status fg_linkpred_average_precision(fg_linkpred *lp, const int64_t *positives, size_t n_pos,
                                        const int64_t *negatives, size_t n_neg, double *out_ap);

/** Saves a link predictor (its learned parameters, options and the graph it scores on — after fit, the
 *  split's training graph) to a safetensors file at path (UTF-8), written atomically (temporary file +
 *  rename). Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (empty or non-UTF-8 path), FG_ERR_IO. */
fg_status fg_linkpred_save(const fg_linkpred *lp, const char *path);

/** Loads a link predictor saved by fg_linkpred_save, bound to `graph` (which must have the node and
 *  feature counts of the graph it was saved from; the predictor keeps its own reference). Scores of the
 *  loaded predictor equal the saved one's. Every tensor and option is validated.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (path), FG_ERR_IO (missing/unreadable file),
 *  FG_ERR_CORRUPT_FILE (not a link-predictor checkpoint, bad header, wrong shapes, NaN weights, node ids
 *  out of range, graph mismatch). On failure *out = NULL. */
fg_status fg_linkpred_load(const fg_graph *graph, const char *path, fg_linkpred **out);

/** Graph layer families (fg_nodeclass_params.model). */
#define FG_GNN_GCN   0  /* H' = Â H W, Â = D̃^-1/2 (A+I) D̃^-1/2 (Kipf & Welling 2017) */
#define FG_GNN_SAGE  1  /* mean aggregation + root weight (Hamilton et al. 2017) */
#define FG_GNN_GIN   2  /* MLP((1+eps) h_i + sum_j h_j), eps = 0 (Xu et al. 2019) */
#define FG_GNN_GAT   3  /* graph attention, PyG GATConv semantics (Velickovic et al. 2018): hidden layers of
                           `heads` heads x `hidden` (concatenated), output layer 1 head, LeakyReLU 0.2
                           attention, attention dropout = dropout, self loops, ELU; weight decay on every
                           layer. The paper's Cora setting: hidden 8, heads 8, dropout 0.6, learning_rate
                           0.005, weight_decay 5e-4 (set them; the defaults are GCN's). */

/** Jumping-knowledge modes (fg_nodeclass_params.jumping_knowledge): every graph layer is `hidden` wide, the
 *  per-layer states are combined and a final linear layer maps them to the classes (PyG BasicGNN(jk=...)). */
#define FG_JK_NONE   0  /* no jumping knowledge: the last graph layer outputs the classes */
#define FG_JK_LAST   1  /* the last layer's state */
#define FG_JK_CONCAT 2  /* all layers' states concatenated */
#define FG_JK_MAX    3  /* element-wise maximum over layers */

/** A node classifier bound to one graph with features and labels. One thread at a time. */
typedef struct fg_nodeclass fg_nodeclass;

/** Options of fg_nodeclass_create. Defaults reproduce Kipf & Welling's GCN on Cora. */
typedef struct fg_nodeclass_params {
    uint32_t struct_size;   /* sizeof(fg_nodeclass_params) of the caller's header */
    uint32_t model;         /* FG_GNN_* (default FG_GNN_GCN) */
    uint32_t hidden;        /* hidden width, 1 … 4096 (default 16) */
    uint32_t layers;        /* graph layers, 1 … 16 (default 2) */
    float learning_rate;    /* Adam step size, > 0 (default 0.01) */
    float weight_decay;     /* L2 on the first layer, >= 0 (default 5e-4) */
    float dropout;          /* on the input and between layers, in [0, 1) (default 0.5) */
    uint32_t epochs;        /* default number of epochs of fg_nodeclass_fit (default 200) */
    uint64_t seed;          /* initialisation and dropout seed (default 0) */
    uint32_t normalize_features; /* non-zero: rows of the features scaled to sum 1 (default 1) */
    /* Fields added after the first release; callers built with the older header (struct_size without them)
       get their defaults. */
    uint32_t heads;             /* FG_GNN_GAT: attention heads of the hidden layers, 0 … 64; 0 = 8 (default 0) */
    uint32_t virtual_node;      /* non-zero: MPNN + virtual node (Cai et al. 2023): between layers a virtual
                                   node's state MLP(vn + mean_i h_i) is updated and added to every node;
                                   needs layers >= 2 (default 0) */
    uint32_t jumping_knowledge; /* FG_JK_* (default FG_JK_NONE) */
} fg_nodeclass_params;

/** Default options (struct_size filled in). */
fg_nodeclass_params fg_nodeclass_default_params(void);

/** Creates a node classifier (keeps its own reference to graph). The graph needs features and labels.
 *  params->struct_size may be the current size or the size before `heads` was added (older headers).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_STRUCT_SIZE, FG_ERR_UNKNOWN_ENUM (model, jumping_knowledge),
 *  FG_ERR_INVALID_ARGUMENT, FG_ERR_OUT_OF_MEMORY (model too large). */
fg_status fg_nodeclass_create(const fg_graph *graph, const fg_nodeclass_params *params, fg_nodeclass **out);

/** Releases a node classifier. NULL is accepted. */
void fg_nodeclass_free(fg_nodeclass *nc);

/** Trains `epochs` full-batch epochs (0 = params.epochs) on the training nodes train_nodes[n_train]
 *  (int32 ids; NULL = the graph's public train split). *out_loss (may be NULL) gets the last loss.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (no training nodes), FG_ERR_OUT_OF_RANGE,
 *  FG_ERR_CANCELLED, FG_ERR_NUMERICAL. */
fg_status fg_nodeclass_fit(fg_nodeclass *nc, const int32_t *train_nodes, size_t n_train, uint32_t epochs,
                           fg_progress_fn progress, void *user_data, float *out_loss);

/** Accuracy in [0, 1] on nodes[n_nodes] (int32 ids; NULL = the graph's public test split).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (empty set), FG_ERR_OUT_OF_RANGE. */
fg_status fg_nodeclass_evaluate(fg_nodeclass *nc, const int32_t *nodes, size_t n_nodes, float *out_accuracy);

/** Class logits of every node [num_nodes, num_classes] into dst (size query with dst == NULL).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_BUFFER_TOO_SMALL. */
fg_status fg_nodeclass_predict(fg_nodeclass *nc, float *dst, size_t dst_len, size_t *out_len);

/** Saves a node classifier (its learned parameters, options and the epochs trained; not Adam's moments) to a
 *  safetensors file at path (UTF-8): tensors "encoder.*", metadata "flowgen.kind" ("nodeclass"),
 *  "flowgen.format", "flowgen.model", the options (floats as IEEE-754 bit patterns) and the node, feature
 *  and class counts. Written atomically (temporary file + rename).
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (empty or non-UTF-8 path), FG_ERR_IO. */
fg_status fg_nodeclass_save(const fg_nodeclass *nc, const char *path);

/** Loads a node classifier saved by fg_nodeclass_save, bound to `graph` (which must have the node, feature
 *  and class counts of the graph it was saved from; the classifier keeps its own reference). Its logits equal
 *  the saved one's; further fitting starts Adam afresh. Every tensor and option is validated.
 *  Errors: FG_ERR_NULL_ARGUMENT, FG_ERR_INVALID_ARGUMENT (path), FG_ERR_IO (missing/unreadable file),
 *  FG_ERR_CORRUPT_FILE (not a node-classifier checkpoint, bad header, wrong shapes, NaN weights, options out
 *  of range, graph mismatch). On failure *out = NULL. */
fg_status fg_nodeclass_load(const fg_graph *graph, const char *path, fg_nodeclass **out);

/* (end of graph section) */

#ifdef __cplusplus
}
#endif
#endif /* FLOWGEN_H */
