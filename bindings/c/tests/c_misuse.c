/*
 * c_misuse — every function of flowgen.h called wrongly: NULL handles and out-pointers, zero sizes,
 * size overflow, shape mismatch, short buffers, size queries, NaN/inf inputs, bad class ids, unknown
 * enums, wrong struct_size, missing/unwritable/corrupt/truncated files, cancelling callbacks,
 * diverging training. Each check asserts the exact status and a non-empty fg_last_error(); failing
 * calls must leave *out == NULL and leave the handle untouched (bit-identical predictions, same step).
 * A crash or hang prints the section it happened in.
 */
#define _XOPEN_SOURCE 700
#include "fg_test.h"

#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Status for array descriptions too large to exist (n_rows * n_cols or n_rows * output_dim overflows
 * size_t, or its byte count does): FG_ERR_OUT_OF_MEMORY, "a requested size is too large to
 * allocate", since inputs are copied and outputs sized from these products. The per-function
 * "Errors:" lists in flowgen.h do not mention it yet (reported). */
#define FG_EXPECTED_OVERFLOW_STATUS FG_ERR_OUT_OF_MEMORY

static char temp_dir[256];
static fg_mlp *const SENTINEL = (fg_mlp *)(uintptr_t)0x5eed;

static void temp_path(char *out, size_t size, const char *name) {
    int n = snprintf(out, size, "%s/%s", temp_dir, name);
    if (n < 0 || (size_t)n >= size) {
        fprintf(stderr, "temp_path: path too long for its buffer\n");
        exit(2);
    }
}

static int file_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Number of directory entries whose name contains `needle` (temporary files left behind). */
static int count_entries_containing(const char *dir, const char *needle) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        if (strstr(entry->d_name, needle)) count++;
    }
    closedir(d);
    return count;
}

static int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(size > 0 ? (size_t)size : 1);
    if (data && fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return data;
}

/* ------------------------------------------------------------------------------------------------
 * A handle with a remembered state: after every failing call it must predict bit-identically and
 * keep its step count.
 * ---------------------------------------------------------------------------------------------- */
enum { PROBE_ROWS = 5, MAX_COLS = 4, MAX_OUT = 3 };

typedef struct {
    fg_mlp *mlp;
    size_t in, out;
    float probe[PROBE_ROWS * MAX_COLS];
    float reference[PROBE_ROWS * MAX_OUT];
    uint64_t step;
} fixture;

static void fixture_snapshot(fixture *f) {
    size_t written = 0;
    f->in = fg_mlp_input_dim(f->mlp);
    f->out = fg_mlp_output_dim(f->mlp);
    for (size_t i = 0; i < PROBE_ROWS * MAX_COLS; i++) f->probe[i] = 0.37f * (float)i - 1.1f;
    EXPECT_OK(fg_mlp_predict(f->mlp, f->probe, PROBE_ROWS, f->in, f->reference, PROBE_ROWS * MAX_OUT, &written));
    f->step = fg_mlp_step(f->mlp);
}

static void fixture_check_intact(const char *file, int line, fixture *f) {
    float now[PROBE_ROWS * MAX_OUT];
    size_t written = 0;
    fg_status s = fg_mlp_predict(f->mlp, f->probe, PROBE_ROWS, f->in, now, PROBE_ROWS * MAX_OUT, &written);
    fg_test_checks++;
    if (s != FG_OK || written != PROBE_ROWS * f->out || !fg_test_same_bits(now, f->reference, written) ||
        fg_mlp_step(f->mlp) != f->step) {
        fprintf(stderr, "%s:%d: [%s] FAILED: handle changed or unusable after a failed call (predict %s)\n",
                file, line, fg_test_section, fg_status_str(s));
        fg_test_failures++;
    }
}

/* A failing call on a handle: exact status, a message, and the handle is unchanged. */
#define EXPECT_FAIL_INTACT(f, expected, call)                               \
    do {                                                                    \
        EXPECT_STATUS(expected, call);                                      \
        fixture_check_intact(__FILE__, __LINE__, (f));                      \
    } while (0)

static int create_fixture(fixture *f, const uint32_t *sizes, size_t n, uint32_t task, uint64_t seed) {
    memset(f, 0, sizeof *f);
    fg_mlp_params p = fg_mlp_default_params();
    p.task = task;
    p.seed = seed;
    p.learning_rate = 1e-2f;
    if (!EXPECT_OK(fg_mlp_create(sizes, n, &p, &f->mlp))) return 0;
    fixture_snapshot(f);
    return 1;
}

/* ------------------------------------------------------------------------------------------------ */

static void test_library_functions(void) {
    SECTION("fg_last_error / fg_status_str / fg_version_* / fg_blas_core_name");
    CHECK(fg_last_error() != NULL);
    static const fg_status unknown[] = {-1, 16, 255, 1000, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *name = fg_status_str(unknown[i]);
        CHECKF(name && strcmp(name, "FG_ERR_UNKNOWN_STATUS") == 0, "fg_status_str(%d)", (int)unknown[i]);
    }
    for (fg_status s = 0; s <= FG_ERR_INTERNAL; s++) {
        const char *name = fg_status_str(s);
        CHECK(name && strncmp(name, "FG_", 3) == 0 && strcmp(name, "FG_ERR_UNKNOWN_STATUS") != 0);
    }
    CHECK(fg_version_string() && strlen(fg_version_string()) >= 5);
    CHECK(fg_version_number() == FLOWGEN_VERSION_NUMBER);
    CHECK(fg_blas_core_name() && fg_blas_core_name()[0]);

    SECTION("fg_set_num_threads / fg_get_num_threads");
    int32_t original = fg_get_num_threads();
    CHECK(original >= 1 && original <= 1024);
    static const int32_t bad[] = {0, -1, -1024, 1025, 4096, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_set_num_threads(bad[i]));
        CHECKF(fg_get_num_threads() == original, "fg_set_num_threads(%d) changed the count to %d",
               (int)bad[i], (int)fg_get_num_threads());
    }
    EXPECT_OK(fg_set_num_threads(1));
    CHECK(fg_get_num_threads() == 1);
    EXPECT_OK(fg_set_num_threads(1024)); /* upper bound is accepted (BLAS may cap it) */
    CHECK(fg_get_num_threads() >= 1 && fg_get_num_threads() <= 1024);
    EXPECT_OK(fg_set_num_threads(original));
    CHECK(fg_get_num_threads() == original);

    SECTION("fg_mlp_default_params");
    fg_mlp_params p = fg_mlp_default_params();
    CHECK(p.struct_size == sizeof(fg_mlp_params));

    SECTION("getters and fg_mlp_free accept NULL");
    CHECK(fg_mlp_input_dim(NULL) == 0);
    CHECK(fg_mlp_output_dim(NULL) == 0);
    CHECK(fg_mlp_parameter_count(NULL) == 0);
    CHECK(fg_mlp_step(NULL) == 0);
    fg_mlp_free(NULL);
}

/* fg_last_error is thread-local: errors on one thread are invisible on another. */
typedef struct {
    char before[256];
    char after[256];
    fg_status status;
} thread_probe;

static void *probe_thread(void *arg) {
    thread_probe *probe = arg;
    const char *e = fg_last_error();
    snprintf(probe->before, sizeof probe->before, "%s", e ? e : "<NULL>");
    probe->status = fg_mlp_load(NULL, NULL);
    e = fg_last_error();
    snprintf(probe->after, sizeof probe->after, "%s", e ? e : "<NULL>");
    return NULL;
}

static void test_last_error_thread_local(void) {
    SECTION("fg_last_error is thread-local");
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_set_num_threads(0));
    char mine[4096];
    snprintf(mine, sizeof mine, "%s", fg_test_last_message);
    thread_probe probe;
    memset(&probe, 0, sizeof probe);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, probe_thread, &probe) == 0);
    pthread_join(thread, NULL);
    CHECKF(strcmp(probe.before, "") == 0, "new thread sees \"%s\"", probe.before);
    CHECK(probe.status == FG_ERR_NULL_ARGUMENT);
    CHECK(probe.after[0] != '\0' && strcmp(probe.after, "<NULL>") != 0);
    const char *e = fg_last_error();
    CHECKF(e && strcmp(e, mine) == 0, "main thread message changed to \"%s\"", e ? e : "<NULL>");
}

/* ------------------------------------------------------------------------------------------------ */

static void test_create(void) {
    SECTION("fg_mlp_create");
    const uint32_t good[] = {3, 4, 2};
    fg_mlp *m = SENTINEL;

    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_mlp_create(good, 3, NULL, NULL));
    m = SENTINEL;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_mlp_create(NULL, 3, NULL, &m));
    CHECK(m == NULL);

    /* zero / too few sizes */
    for (size_t n = 0; n < 2; n++) {
        m = SENTINEL;
        EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_mlp_create(good, n, NULL, &m));
        CHECK(m == NULL);
    }
    /* widths outside 1 ... 1<<20 (in any position) */
    const uint32_t bad_widths[] = {0, (1u << 20) + 1, UINT32_MAX};
    for (size_t w = 0; w < 3; w++) {
        for (size_t pos = 0; pos < 3; pos++) {
            uint32_t sizes[3] = {3, 4, 2};
            sizes[pos] = bad_widths[w];
            m = SENTINEL;
            EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_mlp_create(sizes, 3, NULL, &m));
            CHECK(m == NULL);
        }
    }
    /* every width within range but far too many parameters to allocate (2^41 floats and more) */
    {
        const uint32_t huge[] = {1u << 20, 1u << 20, 1u << 20, 1u << 20};
        m = SENTINEL;
        EXPECT_STATUS(FG_ERR_OUT_OF_MEMORY, fg_mlp_create(huge, 4, NULL, &m));
        CHECK(m == NULL);
    }

    /* struct_size: too small, too large, zero */
    struct {
        fg_mlp_params p;
        unsigned char newer_fields[64];
    } big;
    memset(&big, 0, sizeof big);
    big.p = fg_mlp_default_params();
    const uint32_t bad_sizes[] = {0, 4, sizeof(fg_mlp_params) - 4, sizeof(fg_mlp_params) - 1,
                                  sizeof(fg_mlp_params) + 1, sizeof(fg_mlp_params) + 8,
                                  sizeof(fg_mlp_params) + 64, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        big.p.struct_size = bad_sizes[i];
        m = SENTINEL;
        EXPECT_STATUS(FG_ERR_STRUCT_SIZE, fg_mlp_create(good, 3, &big.p, &m));
        CHECKF(m == NULL, "struct_size %u", (unsigned)bad_sizes[i]);
    }

    /* unknown enum values */
    struct {
        size_t field; /* 0 activation, 1 task, 2 optimizer */
        uint32_t value;
    } enums[] = {{0, 9}, {0, 100}, {0, UINT32_MAX}, {1, 2}, {1, UINT32_MAX}, {2, 3}, {2, UINT32_MAX}};
    for (size_t i = 0; i < sizeof enums / sizeof enums[0]; i++) {
        fg_mlp_params p = fg_mlp_default_params();
        if (enums[i].field == 0) p.activation = enums[i].value;
        if (enums[i].field == 1) p.task = enums[i].value;
        if (enums[i].field == 2) p.optimizer = enums[i].value;
        m = SENTINEL;
        EXPECT_STATUS(FG_ERR_UNKNOWN_ENUM, fg_mlp_create(good, 3, &p, &m));
        CHECKF(m == NULL, "enum case %zu", i);
    }

    /* float options outside their domain */
    const float bad_lr[] = {0.0f, -0.0f, -1e-3f, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_lr / sizeof bad_lr[0]; i++) {
        fg_mlp_params p = fg_mlp_default_params();
        p.learning_rate = bad_lr[i];
        m = SENTINEL;
        EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_mlp_create(good, 3, &p, &m));
        CHECKF(m == NULL, "learning_rate %g", (double)bad_lr[i]);
    }
    const float bad_nonneg[] = {-1e-6f, -1.0f, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad_nonneg / sizeof bad_nonneg[0]; i++) {
        fg_mlp_params p = fg_mlp_default_params();
        p.weight_decay = bad_nonneg[i];
        m = SENTINEL;
        EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_mlp_create(good, 3, &p, &m));
        CHECKF(m == NULL, "weight_decay %g", (double)bad_nonneg[i]);
        p = fg_mlp_default_params();
        p.grad_clip_norm = bad_nonneg[i];
        m = SENTINEL;
        EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_mlp_create(good, 3, &p, &m));
        CHECKF(m == NULL, "grad_clip_norm %g", (double)bad_nonneg[i]);
    }

    /* the valid forms still work: NULL params, defaults, struct_size exactly sizeof */
    m = SENTINEL;
    EXPECT_OK(fg_mlp_create(good, 3, NULL, &m));
    CHECK(m != NULL && m != SENTINEL);
    if (m != SENTINEL) fg_mlp_free(m);
    fg_mlp_params p = fg_mlp_default_params();
    m = NULL;
    EXPECT_OK(fg_mlp_create(good, 3, &p, &m));
    CHECK(m != NULL && fg_mlp_input_dim(m) == 3 && fg_mlp_output_dim(m) == 2);
    fg_mlp_free(m);
}

/* ------------------------------------------------------------------------------------------------ */

static int32_t cancel_after(uint64_t step, uint64_t total, float loss, void *user_data) {
    (void)total;
    (void)loss;
    uint64_t *limit = user_data;
    return step >= *limit ? 1 : 0;
}

static int32_t cancel_negative(uint64_t step, uint64_t total, float loss, void *user_data) {
    (void)step;
    (void)total;
    (void)loss;
    (void)user_data;
    return -1;
}

enum { ROWS = 6 };

/* Shared by fit and evaluate: the same argument validation. `which` 0 = fit, 1 = evaluate. */
static fg_status call_fit_or_eval(int which, fg_mlp *m, const float *x, size_t n_rows, size_t n_cols,
                                  const float *y, size_t y_len) {
    float loss = 0.0f, accuracy = 0.0f;
    if (which == 0) return fg_mlp_fit(m, x, n_rows, n_cols, y, y_len, 3, NULL, NULL, &loss);
    return fg_mlp_evaluate(m, x, n_rows, n_cols, y, y_len, &loss, &accuracy);
}

static void test_fit_and_evaluate_arguments(int which) {
    const char *name = which == 0 ? "fg_mlp_fit" : "fg_mlp_evaluate";
    char section[128];
    snprintf(section, sizeof section, "%s: regression arguments", name);
    SECTION(section);

    /* regression 4 -> 8 -> 2: x [ROWS, 4], y [ROWS, 2] */
    const uint32_t sizes[] = {4, 8, 2};
    fixture f;
    if (!create_fixture(&f, sizes, 3, FG_TASK_REGRESSION, 1)) return;
    float x[ROWS * 4], y[ROWS * 2];
    for (size_t i = 0; i < ROWS * 4; i++) x[i] = 0.1f * (float)i;
    for (size_t i = 0; i < ROWS * 2; i++) y[i] = 0.05f * (float)i;

    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, call_fit_or_eval(which, NULL, x, ROWS, 4, y, ROWS * 2));
    EXPECT_FAIL_INTACT(&f, FG_ERR_NULL_ARGUMENT, call_fit_or_eval(which, f.mlp, NULL, ROWS, 4, y, ROWS * 2));
    EXPECT_FAIL_INTACT(&f, FG_ERR_NULL_ARGUMENT, call_fit_or_eval(which, f.mlp, x, ROWS, 4, NULL, ROWS * 2));
    /* zero sizes */
    EXPECT_FAIL_INTACT(&f, FG_ERR_INVALID_ARGUMENT, call_fit_or_eval(which, f.mlp, x, 0, 4, y, 0));
    if (which == 0) {
        EXPECT_FAIL_INTACT(&f, FG_ERR_INVALID_ARGUMENT,
                           fg_mlp_fit(f.mlp, x, ROWS, 4, y, ROWS * 2, 0, NULL, NULL, NULL));
    }
    /* shape mismatch */
    const size_t bad_cols[] = {0, 3, 5, 8};
    for (size_t i = 0; i < 4; i++) {
        EXPECT_FAIL_INTACT(&f, FG_ERR_SHAPE_MISMATCH,
                           call_fit_or_eval(which, f.mlp, x, ROWS / 2, bad_cols[i], y, ROWS));
    }
    const size_t bad_y_len[] = {0, 1, ROWS, ROWS * 2 - 1, ROWS * 2 + 1, ROWS * 4, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad_y_len / sizeof bad_y_len[0]; i++) {
        EXPECT_FAIL_INTACT(&f, FG_ERR_SHAPE_MISMATCH,
                           call_fit_or_eval(which, f.mlp, x, ROWS, 4, y, bad_y_len[i]));
    }
    /* size overflow: n_rows * n_cols does not fit in size_t (y_len = n_rows * 2 does) */
    EXPECT_FAIL_INTACT(&f, FG_EXPECTED_OVERFLOW_STATUS,
                       call_fit_or_eval(which, f.mlp, x, SIZE_MAX / 2, 4, y, (SIZE_MAX / 2) * 2));
    /* wrapping products that equal the real buffer lengths: (2^63 + 1) * 4 == 4, (2^63 + 1) * 2 == 2 */
    {
        size_t n = SIZE_MAX / 2 + 2;
        EXPECT_FAIL_INTACT(&f, FG_EXPECTED_OVERFLOW_STATUS, call_fit_or_eval(which, f.mlp, x, n, 4, y, n * 2));
    }
    /* element counts fit in size_t but byte counts do not */
    {
        size_t n = SIZE_MAX / 8;
        EXPECT_FAIL_INTACT(&f, FG_EXPECTED_OVERFLOW_STATUS, call_fit_or_eval(which, f.mlp, x, n, 4, y, n * 2));
    }
    /* non-finite inputs, first and last element */
    const float non_finite[] = {NAN, -NAN, INFINITY, -INFINITY};
    for (size_t k = 0; k < 4; k++) {
        size_t positions[] = {0, ROWS * 4 - 1};
        for (size_t j = 0; j < 2; j++) {
            float saved = x[positions[j]];
            x[positions[j]] = non_finite[k];
            EXPECT_FAIL_INTACT(&f, FG_ERR_NON_FINITE, call_fit_or_eval(which, f.mlp, x, ROWS, 4, y, ROWS * 2));
            x[positions[j]] = saved;
        }
        size_t y_positions[] = {0, ROWS * 2 - 1};
        for (size_t j = 0; j < 2; j++) {
            float saved = y[y_positions[j]];
            y[y_positions[j]] = non_finite[k];
            EXPECT_FAIL_INTACT(&f, FG_ERR_NON_FINITE, call_fit_or_eval(which, f.mlp, x, ROWS, 4, y, ROWS * 2));
            y[y_positions[j]] = saved;
        }
    }
    /* the fixture still trains / evaluates with good arguments */
    EXPECT_OK(call_fit_or_eval(which, f.mlp, x, ROWS, 4, y, ROWS * 2));
    if (which == 1) {
        float loss = -1.0f, accuracy = 0.0f;
        EXPECT_OK(fg_mlp_evaluate(f.mlp, x, ROWS, 4, y, ROWS * 2, &loss, &accuracy));
        CHECK(isfinite(loss) && loss >= 0.0f && isnan(accuracy));
        EXPECT_OK(fg_mlp_evaluate(f.mlp, x, ROWS, 4, y, ROWS * 2, NULL, NULL));
    }
    fg_mlp_free(f.mlp);

    snprintf(section, sizeof section, "%s: class ids", name);
    SECTION(section);
    /* classification 2 -> 8 -> 3: x [ROWS, 2], y [ROWS] with ids 0, 1, 2 */
    const uint32_t cls_sizes[] = {2, 8, 3};
    if (!create_fixture(&f, cls_sizes, 3, FG_TASK_CLASSIFICATION, 2)) return;
    float labels[ROWS] = {0, 1, 2, 2, 1, 0};
    EXPECT_OK(call_fit_or_eval(which, f.mlp, x, ROWS, 2, labels, ROWS));
    fixture_snapshot(&f);
    EXPECT_FAIL_INTACT(&f, FG_ERR_SHAPE_MISMATCH, call_fit_or_eval(which, f.mlp, x, ROWS, 2, labels, ROWS * 3));
    EXPECT_FAIL_INTACT(&f, FG_ERR_SHAPE_MISMATCH, call_fit_or_eval(which, f.mlp, x, ROWS, 2, labels, ROWS - 1));
    const float out_of_range[] = {-1.0f, 3.0f, 4.0f, 0.5f, 2.5f, -0.5f, 1.0001f, 1e30f, -1e30f,
                                  3e9f, -3e9f, 9.3e18f, 1.8e19f, FLT_MAX, -FLT_MAX, 1e-30f};
    for (size_t k = 0; k < sizeof out_of_range / sizeof out_of_range[0]; k++) {
        for (size_t pos = 0; pos < ROWS; pos += ROWS - 1) {
            float saved = labels[pos];
            labels[pos] = out_of_range[k];
            EXPECT_FAIL_INTACT(&f, FG_ERR_OUT_OF_RANGE, call_fit_or_eval(which, f.mlp, x, ROWS, 2, labels, ROWS));
            labels[pos] = saved;
        }
    }
    for (size_t k = 0; k < 4; k++) {
        float saved = labels[3];
        labels[3] = non_finite[k];
        EXPECT_FAIL_INTACT(&f, FG_ERR_NON_FINITE, call_fit_or_eval(which, f.mlp, x, ROWS, 2, labels, ROWS));
        labels[3] = saved;
    }
    if (which == 1) {
        float loss = -1.0f, accuracy = -1.0f;
        EXPECT_OK(fg_mlp_evaluate(f.mlp, x, ROWS, 2, labels, ROWS, &loss, &accuracy));
        CHECK(isfinite(loss) && loss >= 0.0f && accuracy >= 0.0f && accuracy <= 1.0f);
    }
    fg_mlp_free(f.mlp);
}

static void test_fit_callbacks_and_divergence(void) {
    SECTION("fg_mlp_fit: progress callback cancels");
    const uint32_t sizes[] = {4, 8, 2};
    fixture f;
    if (!create_fixture(&f, sizes, 3, FG_TASK_REGRESSION, 3)) return;
    float x[ROWS * 4], y[ROWS * 2];
    for (size_t i = 0; i < ROWS * 4; i++) x[i] = 0.1f * (float)i;
    for (size_t i = 0; i < ROWS * 2; i++) y[i] = 0.05f * (float)i;

    /* cancel after 3 steps of UINT32_MAX: returns promptly, keeps the 3 steps */
    uint64_t limit = 3;
    float loss = -1.0f;
    EXPECT_STATUS(FG_ERR_CANCELLED, fg_mlp_fit(f.mlp, x, ROWS, 4, y, ROWS * 2, UINT32_MAX, cancel_after, &limit, &loss));
    CHECKF(fg_mlp_step(f.mlp) == 3, "step after cancel = %llu", (unsigned long long)fg_mlp_step(f.mlp));
    /* any non-zero return value cancels, here at the first step */
    EXPECT_STATUS(FG_ERR_CANCELLED, fg_mlp_fit(f.mlp, x, ROWS, 4, y, ROWS * 2, 10, cancel_negative, NULL, NULL));
    CHECKF(fg_mlp_step(f.mlp) == 4, "step after second cancel = %llu", (unsigned long long)fg_mlp_step(f.mlp));
    /* the model is still usable: predict, evaluate, continue training, save */
    fixture_snapshot(&f);
    fixture_check_intact(__FILE__, __LINE__, &f);
    EXPECT_OK(fg_mlp_evaluate(f.mlp, x, ROWS, 4, y, ROWS * 2, &loss, NULL));
    EXPECT_OK(fg_mlp_fit(f.mlp, x, ROWS, 4, y, ROWS * 2, 2, NULL, NULL, &loss));
    CHECK(fg_mlp_step(f.mlp) == 6);
    fg_mlp_free(f.mlp);

    SECTION("fg_mlp_fit: diverging training gives FG_ERR_NUMERICAL");
    if (!create_fixture(&f, sizes, 3, FG_TASK_REGRESSION, 4)) return;
    float huge_y[ROWS * 2];
    for (size_t i = 0; i < ROWS * 2; i++) huge_y[i] = 1e30f; /* finite, but the squared error is inf */
    EXPECT_STATUS(FG_ERR_NUMERICAL, fg_mlp_fit(f.mlp, x, ROWS, 4, huge_y, ROWS * 2, 5, NULL, NULL, NULL));
    float out[PROBE_ROWS * MAX_OUT];
    size_t written = 0;
    EXPECT_OK(fg_mlp_predict(f.mlp, f.probe, PROBE_ROWS, 4, out, PROBE_ROWS * MAX_OUT, &written));
    fg_mlp_free(f.mlp);
}

/* ------------------------------------------------------------------------------------------------ */

static void test_predict(void) {
    SECTION("fg_mlp_predict");
    const uint32_t sizes[] = {4, 8, 3};
    fixture f;
    if (!create_fixture(&f, sizes, 3, FG_TASK_REGRESSION, 5)) return;
    float x[ROWS * 4];
    for (size_t i = 0; i < ROWS * 4; i++) x[i] = 0.2f * (float)i - 1.0f;
    float dst[ROWS * 3 + 8];
    size_t out_len = 12345;

    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_mlp_predict(NULL, x, ROWS, 4, dst, ROWS * 3, &out_len));
    EXPECT_FAIL_INTACT(&f, FG_ERR_NULL_ARGUMENT, fg_mlp_predict(f.mlp, NULL, ROWS, 4, dst, ROWS * 3, &out_len));
    EXPECT_FAIL_INTACT(&f, FG_ERR_NULL_ARGUMENT, fg_mlp_predict(f.mlp, x, ROWS, 4, NULL, 0, NULL));

    /* size query */
    out_len = 12345;
    EXPECT_OK(fg_mlp_predict(f.mlp, x, ROWS, 4, NULL, 0, &out_len));
    CHECKF(out_len == ROWS * 3, "size query gave %zu", out_len);
    out_len = 12345;
    EXPECT_OK(fg_mlp_predict(f.mlp, x, ROWS, 4, NULL, 999, &out_len));
    CHECKF(out_len == ROWS * 3, "size query (dst_len ignored) gave %zu", out_len);

    /* buffer too small: the needed length comes back, the buffer tail is never written */
    const size_t short_lens[] = {0, 1, ROWS * 3 - 1};
    for (size_t i = 0; i < 3; i++) {
        out_len = 12345;
        EXPECT_FAIL_INTACT(&f, FG_ERR_BUFFER_TOO_SMALL, fg_mlp_predict(f.mlp, x, ROWS, 4, dst, short_lens[i], &out_len));
        CHECKF(out_len == ROWS * 3, "needed length %zu for dst_len %zu", out_len, short_lens[i]);
    }
    /* a larger buffer is fine; nothing after out_len is touched */
    for (size_t i = 0; i < sizeof dst / sizeof dst[0]; i++) dst[i] = -777.0f;
    out_len = 0;
    EXPECT_OK(fg_mlp_predict(f.mlp, x, ROWS, 4, dst, sizeof dst / sizeof dst[0], &out_len));
    CHECK(out_len == ROWS * 3);
    for (size_t i = ROWS * 3; i < sizeof dst / sizeof dst[0]; i++) CHECK(dst[i] == -777.0f);

    /* shape mismatch and zero sizes */
    const size_t bad_cols[] = {0, 1, 3, 5, 12};
    for (size_t i = 0; i < 5; i++) {
        EXPECT_FAIL_INTACT(&f, FG_ERR_SHAPE_MISMATCH, fg_mlp_predict(f.mlp, x, 2, bad_cols[i], dst, ROWS * 3, &out_len));
    }
    EXPECT_FAIL_INTACT(&f, FG_ERR_INVALID_ARGUMENT, fg_mlp_predict(f.mlp, x, 0, 4, dst, ROWS * 3, &out_len));
    EXPECT_FAIL_INTACT(&f, FG_ERR_INVALID_ARGUMENT, fg_mlp_predict(f.mlp, x, 0, 4, NULL, 0, &out_len));

    /* size overflow, also for size queries */
    EXPECT_FAIL_INTACT(&f, FG_EXPECTED_OVERFLOW_STATUS, fg_mlp_predict(f.mlp, x, SIZE_MAX / 2, 4, dst, ROWS * 3, &out_len));
    EXPECT_FAIL_INTACT(&f, FG_EXPECTED_OVERFLOW_STATUS, fg_mlp_predict(f.mlp, x, SIZE_MAX / 2, 4, NULL, 0, &out_len));
    EXPECT_FAIL_INTACT(&f, FG_EXPECTED_OVERFLOW_STATUS, fg_mlp_predict(f.mlp, x, SIZE_MAX / 2 + 2, 4, dst, ROWS * 3, &out_len));
    EXPECT_FAIL_INTACT(&f, FG_EXPECTED_OVERFLOW_STATUS, fg_mlp_predict(f.mlp, x, SIZE_MAX / 8, 4, NULL, 0, &out_len));
    /* n_rows * n_cols fits but n_rows * output_dim (3) does not */
    {
        const uint32_t narrow[] = {1, 4, 3};
        fixture g;
        if (create_fixture(&g, narrow, 3, FG_TASK_REGRESSION, 6)) {
            size_t n = SIZE_MAX / 3 + 2;
            EXPECT_FAIL_INTACT(&g, FG_EXPECTED_OVERFLOW_STATUS, fg_mlp_predict(g.mlp, x, n, 1, NULL, 0, &out_len));
            EXPECT_FAIL_INTACT(&g, FG_EXPECTED_OVERFLOW_STATUS, fg_mlp_predict(g.mlp, x, n, 1, dst, ROWS * 3, &out_len));
            fg_mlp_free(g.mlp);
        }
    }

    /* non-finite inputs */
    const float non_finite[] = {NAN, -NAN, INFINITY, -INFINITY};
    for (size_t k = 0; k < 4; k++) {
        const size_t positions[] = {0, 7, ROWS * 4 - 1};
        for (size_t j = 0; j < 3; j++) {
            float saved = x[positions[j]];
            x[positions[j]] = non_finite[k];
            EXPECT_FAIL_INTACT(&f, FG_ERR_NON_FINITE, fg_mlp_predict(f.mlp, x, ROWS, 4, dst, ROWS * 3, &out_len));
            x[positions[j]] = saved;
        }
    }
    fg_mlp_free(f.mlp);
}

/* ------------------------------------------------------------------------------------------------ */

static void test_save(void) {
    SECTION("fg_mlp_save");
    const uint32_t sizes[] = {4, 8, 2};
    fixture f;
    if (!create_fixture(&f, sizes, 3, FG_TASK_REGRESSION, 7)) return;
    char path[4096 + 64], dir[512];

    temp_path(path, sizeof path, "a.safetensors");
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_mlp_save(NULL, path));
    CHECK(!file_exists(path));
    EXPECT_FAIL_INTACT(&f, FG_ERR_NULL_ARGUMENT, fg_mlp_save(f.mlp, NULL));

    /* a folder that does not exist: FG_ERR_IO and nothing is created */
    temp_path(dir, sizeof dir, "no-such-dir");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    EXPECT_FAIL_INTACT(&f, FG_ERR_IO, fg_mlp_save(f.mlp, path));
    CHECK(!file_exists(dir) && !file_exists(path));
    EXPECT_FAIL_INTACT(&f, FG_ERR_IO, fg_mlp_save(f.mlp, "/nonexistent-flowgen-dir/sub/model.safetensors"));
    CHECK(!file_exists("/nonexistent-flowgen-dir"));

    /* a parent that is a regular file */
    temp_path(path, sizeof path, "plain-file");
    CHECK(write_file(path, "x", 1));
    strcat(path, "/model.safetensors");
    EXPECT_FAIL_INTACT(&f, FG_ERR_IO, fg_mlp_save(f.mlp, path));

    /* the target is an existing folder: the rename fails and the temporary file is removed */
    temp_path(dir, sizeof dir, "occupied");
    CHECK(mkdir(dir, 0700) == 0);
    temp_path(path, sizeof path, "occupied/keep");
    CHECK(write_file(path, "keep", 4));
    EXPECT_FAIL_INTACT(&f, FG_ERR_IO, fg_mlp_save(f.mlp, dir));
    struct stat st;
    CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    CHECKF(count_entries_containing(temp_dir, ".tmp") == 0, "a temporary file was left in %s", temp_dir);

    /* empty and over-long paths */
    EXPECT_FAIL_INTACT(&f, FG_ERR_INVALID_ARGUMENT, fg_mlp_save(f.mlp, ""));
    {
        size_t base = strlen(temp_dir);
        memcpy(path, temp_dir, base);
        path[base] = '/';
        memset(path + base + 1, 'a', 4096);
        path[base + 1 + 4096] = '\0';
        EXPECT_FAIL_INTACT(&f, FG_ERR_IO, fg_mlp_save(f.mlp, path));
    }

    /* overwriting an existing checkpoint works; the folder then holds only the expected files */
    temp_path(path, sizeof path, "a.safetensors");
    EXPECT_OK(fg_mlp_save(f.mlp, path));
    EXPECT_OK(fg_mlp_save(f.mlp, path));
    CHECK(file_exists(path));
    CHECKF(count_entries_containing(temp_dir, ".tmp") == 0, "a temporary file was left in %s", temp_dir);
    remove(path);

    /* paths are UTF-8 text (flowgen.h): a non-UTF-8 name is refused rather than transcoded */
    temp_path(path, sizeof path, "model-\xff\xfe-\xc3.safetensors");
    EXPECT_FAIL_INTACT(&f, FG_ERR_INVALID_ARGUMENT, fg_mlp_save(f.mlp, path));
    fg_mlp *loaded = SENTINEL;
    CHECK(fg_mlp_load(path, &loaded) == FG_ERR_INVALID_ARGUMENT && loaded == NULL);
    CHECKF(count_entries_containing(temp_dir, "model-") == 0, "a file with a transcoded name was created");
    fg_mlp_free(f.mlp);
}

/* ------------------------------------------------------------------------------------------------ */

static uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Loads `path`; requires `expected` and *out == NULL on failure. Returns the handle on success. */
static fg_mlp *load_expect(const char *file, int line, const char *path, fg_status expected, const char *what) {
    fg_mlp *m = SENTINEL;
    fg_status got = fg_mlp_load(path, &m);
    char expr[512];
    snprintf(expr, sizeof expr, "fg_mlp_load(%s)", what);
    fg_test_expect_status(file, line, expr, expected, got);
    if (got != FG_OK) {
        fg_test_checks++;
        if (m != NULL) {
            fprintf(stderr, "%s:%d: [%s] FAILED: %s left *out != NULL\n", file, line, fg_test_section, expr);
            fg_test_failures++;
        }
        return NULL;
    }
    return m == SENTINEL ? NULL : m;
}

/* fg_mlp_load(path) in a child process with at most `extra_mib` MiB more address space than this
 * process and `seconds` of wall time, so that a loader reading an endless device cannot exhaust the
 * machine: the child reports the status and message through a pipe. */
static void load_isolated_expect(const char *file, int line, const char *path, fg_status expected,
                                 size_t extra_mib, unsigned seconds) {
    char expr[512];
    snprintf(expr, sizeof expr, "fg_mlp_load(\"%s\") [child: +%zu MiB address space, %u s]", path, extra_mib, seconds);
    long pages = 0;
    FILE *statm = fopen("/proc/self/statm", "r");
    if (!statm || fscanf(statm, "%ld", &pages) != 1) pages = 0;
    if (statm) fclose(statm);
    int fds[2];
    if (pipe(fds) != 0) {
        perror("pipe");
        fg_test_failures++;
        return;
    }
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        signal(SIGALRM, SIG_DFL);
        signal(SIGSEGV, SIG_DFL);
        signal(SIGILL, SIG_DFL);
        signal(SIGTRAP, SIG_DFL);
        signal(SIGABRT, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        struct rlimit limit;
        limit.rlim_cur = limit.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (rlim_t)extra_mib * 1048576u;
        setrlimit(RLIMIT_AS, &limit);
        alarm(seconds);
        fg_mlp *m = SENTINEL;
        int32_t status = fg_mlp_load(path, &m);
        const char *message = fg_last_error();
        int32_t out_null = m == NULL;
        if (write(fds[1], &status, sizeof status) < 0 || write(fds[1], &out_null, sizeof out_null) < 0 ||
            write(fds[1], message ? message : "<NULL>", strlen(message ? message : "<NULL>")) < 0) {
            _exit(3);
        }
        _exit(0);
    }
    close(fds[1]);
    char buffer[4096 + 8];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buffer - 1 && (n = read(fds[0], buffer + got, sizeof buffer - 1 - got)) > 0) got += (size_t)n;
    buffer[got] = '\0';
    close(fds[0]);
    int wstatus = 0;
    waitpid(child, &wstatus, 0);
    fg_test_checks++;
    if (child < 0 || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0 || got < 8) {
        int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
        fprintf(stderr, "%s:%d: [%s] FAILED: %s: the child %s%d%s\n", file, line, fg_test_section, expr,
                sig ? "was killed by signal " : "exited with status ", sig ? sig : WEXITSTATUS(wstatus),
                sig == SIGALRM ? " (did not return in time)"
                : sig ? " (crashed; e.g. an allocation beyond the address-space limit trapped)" : "");
        fg_test_failures++;
        return;
    }
    int32_t status, out_null;
    memcpy(&status, buffer, 4);
    memcpy(&out_null, buffer + 4, 4);
    const char *message = buffer + 8;
    if (status != expected) {
        fprintf(stderr, "%s:%d: [%s] FAILED: %s\n    expected %s (%d), got %s (%d); fg_last_error: \"%s\"\n",
                file, line, fg_test_section, expr, fg_status_str(expected), (int)expected,
                fg_status_str(status), (int)status, message);
        fg_test_failures++;
    } else if (expected != FG_OK && message[0] == '\0') {
        fprintf(stderr, "%s:%d: [%s] FAILED: %s: empty fg_last_error()\n", file, line, fg_test_section, expr);
        fg_test_failures++;
    }
    fg_test_checks++;
    if (!out_null) {
        fprintf(stderr, "%s:%d: [%s] FAILED: %s left *out != NULL\n", file, line, fg_test_section, expr);
        fg_test_failures++;
    }
}

#define LOAD_EXPECT(path, expected, what) load_expect(__FILE__, __LINE__, (path), (expected), (what))

static void write_and_expect_corrupt(const char *file, int line, const char *path, const unsigned char *data,
                                     size_t len, const char *what) {
    if (!write_file(path, data, len)) {
        fprintf(stderr, "could not write %s\n", path);
        fg_test_failures++;
        return;
    }
    fg_mlp *m = load_expect(file, line, path, FG_ERR_CORRUPT_FILE, what);
    fg_mlp_free(m);
}

#define EXPECT_CORRUPT(path, data, len, what) write_and_expect_corrupt(__FILE__, __LINE__, (path), (data), (len), (what))

static void test_load(void) {
    SECTION("fg_mlp_load: arguments and unreadable files");
    const uint32_t sizes[] = {4, 8, 2};
    fixture f;
    if (!create_fixture(&f, sizes, 3, FG_TASK_REGRESSION, 8)) return;
    float x[ROWS * 4], y[ROWS * 2];
    for (size_t i = 0; i < ROWS * 4; i++) x[i] = 0.1f * (float)i;
    for (size_t i = 0; i < ROWS * 2; i++) y[i] = 0.05f * (float)i;
    EXPECT_OK(fg_mlp_fit(f.mlp, x, ROWS, 4, y, ROWS * 2, 3, NULL, NULL, NULL)); /* optimizer state exists */
    fixture_snapshot(&f);

    char good[512], path[512], text[256];
    temp_path(good, sizeof good, "good.safetensors");
    temp_path(path, sizeof path, "bad.safetensors");
    REQUIRE_OK(fg_mlp_save(f.mlp, good));

    fg_mlp *m = SENTINEL;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_mlp_load(NULL, &m));
    CHECK(m == NULL);
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_mlp_load(good, NULL));

    temp_path(text, sizeof text, "missing.safetensors");
    LOAD_EXPECT(text, FG_ERR_IO, "missing file");
    LOAD_EXPECT("", FG_ERR_INVALID_ARGUMENT, "empty path");
    LOAD_EXPECT(temp_dir, FG_ERR_IO, "a directory");
    LOAD_EXPECT("/nonexistent-flowgen-dir/model.safetensors", FG_ERR_IO, "missing folder");
    fixture_check_intact(__FILE__, __LINE__, &f);

    SECTION("fg_mlp_load: garbage, empty and special files");
    EXPECT_CORRUPT(path, (const unsigned char *)"", 0, "empty file");
    const char *garbage = "this is not a safetensors file, just some text that goes on and on.";
    EXPECT_CORRUPT(path, (const unsigned char *)garbage, strlen(garbage), "text file");
    {
        unsigned char noise[4096];
        uint64_t state = 99;
        for (size_t i = 0; i < sizeof noise; i++) noise[i] = (unsigned char)(fg_test_uniform(&state, 0, 256));
        EXPECT_CORRUPT(path, noise, sizeof noise, "random bytes");
        put_le64(noise, 64); /* plausible header length, garbage JSON */
        EXPECT_CORRUPT(path, noise, sizeof noise, "random JSON bytes");
    }
    /* endless devices: only regular files are read (flowgen.h), so they fail at once */
    load_isolated_expect(__FILE__, __LINE__, "/dev/zero", FG_ERR_IO, 1024, 20);
    load_isolated_expect(__FILE__, __LINE__, "/dev/urandom", FG_ERR_IO, 1024, 20);
    LOAD_EXPECT("/dev/null", FG_ERR_IO, "/dev/null");

    /* valid safetensors files that are not flowgen checkpoints */
    {
        const char *jsons[] = {
            "{}",
            "{\"__metadata__\":{}}",
            "{\"__metadata__\":{\"flowgen.config\":\"not json\"}}",
            "{\"__metadata__\":{\"flowgen.config\":\"{}\"}}",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
            "[]", "null", "{\"__metadata__\":", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000000000],"
            "\"data_offsets\":[0,4000000000000]}}",
        };
        for (size_t i = 0; i < sizeof jsons / sizeof jsons[0]; i++) {
            unsigned char buf[512];
            size_t len = strlen(jsons[i]);
            put_le64(buf, len);
            memcpy(buf + 8, jsons[i], len);
            memset(buf + 8 + len, 0, 4);
            snprintf(text, sizeof text, "header %s", jsons[i]);
            EXPECT_CORRUPT(path, buf, 8 + len + 4, text);
        }
    }

    size_t size = 0;
    unsigned char *data = read_file(good, &size);
    CHECK(data != NULL && size > 8);
    if (!data || size <= 8) return;
    uint64_t header_len = le64(data);
    CHECK(header_len > 2 && 8 + header_len <= size);
    if (!(header_len > 2 && 8 + header_len <= size)) return;
    unsigned char *copy = malloc(size + 64);

    SECTION("fg_mlp_save: file layout documented in flowgen.h");
    {
        char *json = calloc(1, (size_t)header_len + 1);
        memcpy(json, data + 8, (size_t)header_len);
        CHECK(json[0] == '{');
        CHECK(strstr(json, "\"layers.0.weight\":{\"dtype\":\"F32\",\"shape\":[8,4]") != NULL);
        CHECK(strstr(json, "\"layers.1.bias\":{\"dtype\":\"F32\",\"shape\":[2]") != NULL);
        CHECK(strstr(json, "\"__metadata__\"") != NULL);
        CHECKF(strstr(json, "\"flowgen.kind\":\"mlp\"") != NULL, "flowgen.h names the metadata key \"flowgen.kind\"");
        CHECKF((8 + header_len) % 8 == 0, "tensor data starts at byte %llu, not 8-byte aligned",
               (unsigned long long)(8 + header_len));
        free(json);
    }

    SECTION("fg_mlp_load: every truncation of a real checkpoint");
    for (size_t len = 0; len < size; len++) {
        snprintf(text, sizeof text, "checkpoint truncated to %zu of %zu bytes", len, size);
        EXPECT_CORRUPT(path, data, len, text);
    }
    /* trailing bytes after the last tensor */
    memcpy(copy, data, size);
    memset(copy + size, 0, 64);
    EXPECT_CORRUPT(path, copy, size + 1, "checkpoint + 1 trailing byte");
    EXPECT_CORRUPT(path, copy, size + 64, "checkpoint + 64 trailing bytes");

    SECTION("fg_mlp_load: header-length field");
    const uint64_t bad_lengths[] = {0, 1, 2, header_len - 1, header_len + 1, header_len + 8, size - 8, size,
                                    size + 1, 1ull << 32, 1ull << 40, 1ull << 63, UINT64_MAX, UINT64_MAX - 7};
    for (size_t i = 0; i < sizeof bad_lengths / sizeof bad_lengths[0]; i++) {
        memcpy(copy, data, size);
        put_le64(copy, bad_lengths[i]);
        snprintf(text, sizeof text, "header length %llu (real %llu, file %zu)",
                 (unsigned long long)bad_lengths[i], (unsigned long long)header_len, size);
        EXPECT_CORRUPT(path, copy, size, text);
    }
    /* every single-bit flip of the length field */
    for (int bit = 0; bit < 64; bit++) {
        memcpy(copy, data, size);
        put_le64(copy, header_len ^ (1ull << bit));
        snprintf(text, sizeof text, "header length with bit %d flipped", bit);
        EXPECT_CORRUPT(path, copy, size, text);
    }

    SECTION("fg_mlp_load: dtype changed");
    {
        /* same-length replacements of the first "F32", so the JSON stays valid */
        const char *dtypes[] = {"\"F64\"", "\"F16\"", "\"I32\"", "\"XYZ\"", "\"f32\"", "\"U8\" "};
        size_t at = 0;
        for (size_t i = 8; i + 5 <= 8 + header_len && at == 0; i++) {
            if (memcmp(data + i, "\"F32\"", 5) == 0) at = i;
        }
        CHECK(at != 0);
        for (size_t d = 0; at != 0 && d < sizeof dtypes / sizeof dtypes[0]; d++) {
            memcpy(copy, data, size);
            memcpy(copy + at, dtypes[d], 5);
            snprintf(text, sizeof text, "first tensor dtype \"F32\" -> %s", dtypes[d]);
            EXPECT_CORRUPT(path, copy, size, text);
        }
    }

    SECTION("fg_mlp_load: byte changes in the JSON header never crash");
    {
        const unsigned char replacements[] = {'0', '9', '"', '{', ' ', '-', 0x00, 0xff};
        size_t accepted = 0, rejected = 0;
        for (size_t i = 8; i < 8 + header_len; i++) {
            for (size_t r = 0; r < sizeof replacements; r++) {
                if (data[i] == replacements[r]) continue;
                memcpy(copy, data, size);
                copy[i] = replacements[r];
                if (!write_file(path, copy, size)) continue;
                fg_mlp *loaded = SENTINEL;
                fg_status s = fg_mlp_load(path, &loaded);
                fg_test_capture_error();
                fg_test_checks++;
                if (s == FG_OK) {
                    accepted++;
                    size_t in = fg_mlp_input_dim(loaded), out = fg_mlp_output_dim(loaded), written = 0;
                    float probe[64] = {0}, result[64];
                    fg_status ps = (in >= 1 && in <= 64 && out >= 1 && out <= 64)
                                       ? fg_mlp_predict(loaded, probe, 1, in, result, 64, &written)
                                       : FG_ERR_INTERNAL;
                    if (ps != FG_OK) {
                        fprintf(stderr, "%s:%d: [%s] FAILED: byte %zu -> 0x%02x loaded (in %zu, out %zu) "
                                "but predict gave %s\n", __FILE__, __LINE__, fg_test_section, i,
                                replacements[r], in, out, fg_status_str(ps));
                        fg_test_failures++;
                    }
                    fg_mlp_free(loaded);
                } else if (s != FG_ERR_CORRUPT_FILE || loaded != NULL || fg_test_last_message[0] == '\0') {
                    fprintf(stderr, "%s:%d: [%s] FAILED: byte %zu -> 0x%02x: %s, *out %s, message \"%s\"\n",
                            __FILE__, __LINE__, fg_test_section, i, replacements[r], fg_status_str(s),
                            loaded ? "not NULL" : "NULL", fg_test_last_message);
                    fg_test_failures++;
                } else {
                    rejected++;
                }
            }
        }
        printf("header byte changes: %zu loaded, %zu rejected as FG_ERR_CORRUPT_FILE\n", accepted, rejected);
    }

    SECTION("fg_mlp_load: the good file still loads");
    m = LOAD_EXPECT(good, FG_OK, "the good checkpoint");
    if (m) {
        fixture g = f;
        g.mlp = m;
        fixture_check_intact(__FILE__, __LINE__, &g);
        fg_mlp_free(m);
    }
    fixture_check_intact(__FILE__, __LINE__, &f);
    remove(good);
    remove(path);
    free(copy);
    free(data);
    fg_mlp_free(f.mlp);
}

/* ------------------------------------------------------------------------------------------------ */

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *entry;
    char child[1024];
    while ((entry = readdir(d)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        snprintf(child, sizeof child, "%s/%s", dir, entry->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
            remove_tree(child);
        } else {
            unlink(child);
        }
    }
    closedir(d);
    rmdir(dir);
}

/* ---- flow matching: params layouts, labelled training and guidance, .npy and sampler data sources ---- */

typedef struct {
    int calls;
    int fail_at;     /* call number that fails (0 = never) */
    int write_nan;   /* fill NaN instead of data */
} fm_sampler_state;

static int32_t fm_sampler(float *batch, size_t n_rows, size_t dim, void *user_data, char *message, size_t message_len) {
    fm_sampler_state *st = (fm_sampler_state *)user_data;
    st->calls++;
    if (st->fail_at && st->calls == st->fail_at) {
        snprintf(message, message_len, "disk gone at call %d", st->calls);
        return 7;
    }
    for (size_t i = 0; i < n_rows; i++) {
        for (size_t j = 0; j < dim; j++) {
            double u = (double)((i * 2654435761u + j * 40503u + (size_t)st->calls * 97u) % 1000u) / 1000.0;
            batch[i * dim + j] = st->write_nan ? NAN : (float)(3.0 * (u - 0.5) + (j == 0 ? 2.0 : 0.0));
        }
    }
    return 0;
}

/* Gradient of L(x) = |x - (5, 0)|^2 / 2; fails (with a message) when *user_data is non-zero. */
static int32_t fm_cost_gradient(const float *x1, size_t n_rows, size_t dim, float *grad, void *user_data,
                                char *message, size_t message_len) {
    if (user_data && *(int *)user_data) {
        snprintf(message, message_len + 1, "cost server unreachable");
        return 7;
    }
    for (size_t i = 0; i < n_rows * dim; i++) grad[i] = x1[i] - (i % dim == 0 ? 5.0f : 0.0f);
    return 0;
}

static void fm_samples(fg_fm *fm, float *out, size_t n) {
    fg_fm_solver_params sp = fg_fm_default_solver_params();
    sp.steps = 10;
    size_t len = 0;
    uint32_t nfe = 0;
    EXPECT_OK(fg_fm_sample(fm, n, 3, &sp, out, n * 2, &len, &nfe));
}

static void test_flow_matching_extensions(void) {
    SECTION("fm params layouts");
    fg_fm_params p = fg_fm_default_params();
    CHECK(p.struct_size == sizeof(fg_fm_params));
    CHECK(p.num_classes == 0 && p.label_dropout > 0.09f && p.beta_max == 20.0f);
    fg_fm *fm = NULL;
    /* A caller built against the first layout (ending at grad_clip_norm) is accepted. */
    fg_fm_params old = fg_fm_default_params();
    old.num_classes = 99; /* beyond the old layout: must be ignored */
    old.struct_size = (uint32_t)((offsetof(fg_fm_params, num_classes) + 7) / 8 * 8);
    EXPECT_OK(fg_fm_create(&old, &fm));
    CHECK(fm != NULL && fg_fm_num_classes(fm) == 0);
    fg_fm_free(fm);
    fm = NULL;
    old.struct_size = (uint32_t)offsetof(fg_fm_params, num_classes) + 8;
    EXPECT_STATUS(FG_ERR_STRUCT_SIZE, fg_fm_create(&old, &fm));
    CHECK(fm == NULL);
    p.num_classes = 2;
    p.method = FG_FM_METHOD_SBCFM;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_create(&p, &fm));
    p.method = FG_FM_METHOD_OTCFM;
    p.label_dropout = 1.5f;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_create(&p, &fm));
    p.label_dropout = 0.1f;
    p.beta_min = 30.0f;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_create(&p, &fm));
    p.beta_min = 0.1f;

    SECTION("fm labelled training and guided sampling");
    p.hidden_width = 16;
    p.hidden_layers = 2;
    p.batch_size = 32;
    REQUIRE_OK(fg_fm_create(&p, &fm));
    CHECK(fg_fm_num_classes(fm) == 2);
    enum { N = 64 };
    float data[N * 2];
    int32_t labels[N];
    for (int i = 0; i < N; i++) {
        labels[i] = i % 2;
        data[2 * i] = (labels[i] ? 3.0f : -3.0f) + 0.01f * (float)(i % 7);
        data[2 * i + 1] = 0.02f * (float)(i % 5);
    }
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_fit(fm, data, N, 2, 2, NULL, NULL, NULL));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_fm_fit_labeled(fm, data, NULL, N, 2, 2, NULL, NULL, NULL));
    labels[5] = 2;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_fit_labeled(fm, data, labels, N, 2, 2, NULL, NULL, NULL));
    labels[5] = 1;
    CHECK(fg_fm_step(fm) == 0);
    EXPECT_OK(fg_fm_fit_labeled(fm, data, labels, N, 2, 3, NULL, NULL, NULL));
    CHECK(fg_fm_step(fm) == 3);
    float out[8 * 2];
    int32_t want[8] = {0, 1, -1, 0, 1, 1, 0, -1};
    size_t len = 0;
    uint32_t nfe = 0;
    EXPECT_OK(fg_fm_sample_guided(fm, 8, want, 2.0f, FG_FM_GUIDANCE_INTERPOLATE, 1, NULL, out, 16, &len, &nfe));
    CHECK(len == 16 && nfe == 100);
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_fm_sample_guided(fm, 8, NULL, 2.0f, 0, 1, NULL, out, 16, &len, &nfe));
    EXPECT_STATUS(FG_ERR_UNKNOWN_ENUM, fg_fm_sample_guided(fm, 8, want, 2.0f, 7, 1, NULL, out, 16, &len, &nfe));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_sample_guided(fm, 8, want, NAN, 0, 1, NULL, out, 16, &len, &nfe));
    want[3] = 2;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_sample_guided(fm, 8, want, 2.0f, 1, 1, NULL, out, 16, &len, &nfe));
    want[3] = -2;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_sample_guided(fm, 8, want, 2.0f, 1, 1, NULL, out, 16, &len, &nfe));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_fm_sample_guided(NULL, 8, want, 2.0f, 1, 1, NULL, out, 16, &len, &nfe));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_fit_pairs(fm, data, N, data, N, 2, 1, NULL, NULL, NULL));
    fm_sampler_state st0 = {0, 0, 0};
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_fit_sampler(fm, fm_sampler, &st0, 2, NULL, NULL, NULL));
    CHECK(fg_fm_step(fm) == 3);
    fg_fm_free(fm);
    fm = NULL;

    SECTION("fm sampler callback");
    p = fg_fm_default_params();
    p.hidden_width = 16;
    p.hidden_layers = 2;
    p.batch_size = 16;
    p.method = FG_FM_METHOD_ICFM;
    REQUIRE_OK(fg_fm_create(&p, &fm));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_fm_fit_sampler(fm, NULL, NULL, 2, NULL, NULL, NULL));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_fit_sampler(fm, fm_sampler, &st0, 0, NULL, NULL, NULL));
    fm_sampler_state ok = {0, 0, 0};
    float loss = NAN;
    EXPECT_OK(fg_fm_fit_sampler(fm, fm_sampler, &ok, 4, NULL, NULL, &loss));
    CHECK(ok.calls == 4 && fg_fm_step(fm) == 4 && isfinite(loss));
    float before[20 * 2], after[20 * 2];
    fm_samples(fm, before, 20);
    fm_sampler_state failing = {0, 3, 0};
    EXPECT_STATUS(FG_ERR_CALLBACK, fg_fm_fit_sampler(fm, fm_sampler, &failing, 10, NULL, NULL, NULL));
    CHECKF(strstr(fg_last_error(), "disk gone at call 3") != NULL, "message: %s", fg_last_error());
    CHECK(failing.calls == 3 && fg_fm_step(fm) == 4);
    fm_samples(fm, after, 20);
    CHECK(memcmp(before, after, sizeof before) == 0);
    fm_sampler_state nan_state = {0, 0, 1};
    EXPECT_STATUS(FG_ERR_NON_FINITE, fg_fm_fit_sampler(fm, fm_sampler, &nan_state, 5, NULL, NULL, NULL));
    CHECK(fg_fm_step(fm) == 4);
    fm_samples(fm, after, 20);
    CHECK(memcmp(before, after, sizeof before) == 0);
    /* The same training continues identically after the undone attempts. */
    fm_sampler_state more = {4, 0, 0};
    EXPECT_OK(fg_fm_fit_sampler(fm, fm_sampler, &more, 2, NULL, NULL, NULL));
    CHECK(fg_fm_step(fm) == 6);

    SECTION("fm .npy data");
    char path[512];
    temp_path(path, sizeof path, "fm_missing.npy");
    EXPECT_STATUS(FG_ERR_IO, fg_fm_fit_npy(fm, path, 2, NULL, NULL, NULL));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_fm_fit_npy(fm, NULL, 2, NULL, NULL, NULL));
    temp_path(path, sizeof path, "fm_garbage.npy");
    CHECK(write_file(path, "not a numpy file at all", 23));
    EXPECT_STATUS(FG_ERR_CORRUPT_FILE, fg_fm_fit_npy(fm, path, 2, NULL, NULL, NULL));
    /* A valid [4, 2] float32 array (NPY 1.0 header padded to 128 bytes). */
    unsigned char npy[128 + 32];
    memset(npy, ' ', 128);
    memcpy(npy, "\x93NUMPY\x01\x00\x76\x00", 10);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }";
    memcpy(npy + 10, dict, strlen(dict));
    npy[127] = '\n';
    float values[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(npy + 128, values, sizeof values);
    temp_path(path, sizeof path, "fm_ok.npy");
    CHECK(write_file(path, npy, sizeof npy));
    EXPECT_OK(fg_fm_fit_npy(fm, path, 2, NULL, NULL, NULL));
    CHECK(fg_fm_step(fm) == 8);
    values[3] = NAN;
    memcpy(npy + 128, values, sizeof values);
    CHECK(write_file(path, npy, sizeof npy));
    EXPECT_STATUS(FG_ERR_NON_FINITE, fg_fm_fit_npy(fm, path, 2, NULL, NULL, NULL));
    CHECK(fg_fm_step(fm) == 8);

    SECTION("fm Bellman step schedule and time grids");
    double times[5] = {0}, cost = NAN, uniform = NAN;
    EXPECT_OK(fg_fm_step_schedule(fm, 4, 100, 64, 1, times, 5, &cost, &uniform));
    CHECK(times[0] == 0 && times[4] == 1);
    for (int i = 0; i < 4; i++) CHECKF(times[i] < times[i + 1], "times[%d] = %f, times[%d] = %f", i, times[i], i + 1, times[i + 1]);
    CHECKF(isfinite(cost) && cost <= uniform + 1e-9, "cost %f, equal steps %f", cost, uniform);
    EXPECT_OK(fg_fm_step_schedule(fm, 3, 100, 64, 1, times, 5, NULL, &uniform));
    CHECK(isnan(uniform)); /* 3 does not divide 100 */
    EXPECT_STATUS(FG_ERR_BUFFER_TOO_SMALL, fg_fm_step_schedule(fm, 4, 100, 64, 1, times, 4, NULL, NULL));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_fm_step_schedule(fm, 4, 100, 64, 1, NULL, 5, NULL, NULL));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_fm_step_schedule(NULL, 4, 100, 64, 1, times, 5, NULL, NULL));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_step_schedule(fm, 0, 100, 64, 1, times, 5, NULL, NULL));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_step_schedule(fm, 4, 3, 64, 1, times, 5, NULL, NULL));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_step_schedule(fm, 4, 100000, 64, 1, times, 5, NULL, NULL));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_step_schedule(fm, 4, 100, 0, 1, times, 5, NULL, NULL));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_step_schedule(fm, 4, 100, SIZE_MAX, 1, times, 5, NULL, NULL));
    EXPECT_OK(fg_fm_step_schedule(fm, 4, 100, 64, 1, times, 5, NULL, NULL));
    fg_fm_solver_params sp = fg_fm_default_solver_params();
    CHECK(sp.time_grid == NULL && sp.time_grid_len == 0);
    sp.time_grid = times;
    sp.time_grid_len = 5;
    float grid_out[16 * 2], equal_out[16 * 2];
    size_t grid_len = 0;
    uint32_t grid_nfe = 0;
    EXPECT_OK(fg_fm_sample(fm, 16, 2, &sp, grid_out, 32, &grid_len, &grid_nfe));
    CHECK(grid_len == 32 && grid_nfe == 4);
    sp.solver = FG_FM_SOLVER_HEUN;
    EXPECT_OK(fg_fm_sample(fm, 16, 2, &sp, equal_out, 32, &grid_len, &grid_nfe));
    CHECK(grid_nfe == 8);
    sp.solver = FG_FM_SOLVER_DOPRI5;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_sample(fm, 16, 2, &sp, grid_out, 32, &grid_len, &grid_nfe));
    sp.solver = FG_FM_SOLVER_EULER;
    double bad[4][3] = {{0, 0.5, 0.9}, {0.1, 0.5, 1}, {0, 0.5, 0.5}, {0, NAN, 1}};
    for (int i = 0; i < 4; i++) {
        sp.time_grid = bad[i];
        sp.time_grid_len = 3;
        EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_sample(fm, 16, 2, &sp, grid_out, 32, &grid_len, &grid_nfe));
    }
    sp.time_grid_len = 1;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_sample(fm, 16, 2, &sp, grid_out, 32, &grid_len, &grid_nfe));
    sp.time_grid = NULL;
    sp.time_grid_len = 3;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_fm_sample(fm, 16, 2, &sp, grid_out, 32, &grid_len, &grid_nfe));
    /* Equal steps given as a grid are the equal-step solve; the older struct size means equal steps. */
    double equal[5] = {0, 0.25, 0.5, 0.75, 1};
    sp.time_grid = equal;
    sp.time_grid_len = 5;
    EXPECT_OK(fg_fm_sample(fm, 16, 2, &sp, grid_out, 32, &grid_len, &grid_nfe));
    fg_fm_solver_params older = fg_fm_default_solver_params();
    older.steps = 4;
    older.struct_size = (uint32_t)((offsetof(fg_fm_solver_params, time_grid) + 7) / 8 * 8);
    older.time_grid = bad[3]; /* beyond the older struct: must not be read */
    older.time_grid_len = 3;
    EXPECT_OK(fg_fm_sample(fm, 16, 2, &older, equal_out, 32, &grid_len, &grid_nfe));
    CHECK(grid_nfe == 4 && memcmp(grid_out, equal_out, sizeof grid_out) == 0);
    fg_fm_free(fm);

    SECTION("fm cost-guided sampling");
    float pts_for_cost[8 * 2] = {5, 0, -5, 0, 0, 5, 0, -5, 3.5f, 3.5f, -3.5f, 3.5f, 3.5f, -3.5f, -3.5f, -3.5f};
    p = fg_fm_default_params();
    p.hidden_width = 16;
    p.hidden_layers = 2;
    p.method = FG_FM_METHOD_ICFM;
    REQUIRE_OK(fg_fm_create(&p, &fm));
    EXPECT_OK(fg_fm_fit(fm, pts_for_cost, 8, 2, 5, NULL, NULL, NULL));
    float guided_out[8 * 2], plain_out[8 * 2];
    size_t guided_len = 0;
    uint32_t guided_nfe = 0;
    int fail = 0;
    fg_fm_solver_params cost_sp = fg_fm_default_solver_params();
    cost_sp.steps = 10;
    EXPECT_OK(fg_fm_sample(fm, 8, 4, &cost_sp, plain_out, 16, &guided_len, &guided_nfe));
    EXPECT_OK(fg_fm_sample_cost_guided(fm, 8, 4, 0.0f, fm_cost_gradient, &fail, &cost_sp, guided_out, 16, &guided_len, &guided_nfe));
    CHECK(memcmp(plain_out, guided_out, sizeof plain_out) == 0 && guided_nfe == 10);
    EXPECT_OK(fg_fm_sample_cost_guided(fm, 8, 4, 1.0f, fm_cost_gradient, &fail, &cost_sp, guided_out, 16, &guided_len, &guided_nfe));
    CHECK(memcmp(plain_out, guided_out, sizeof plain_out) != 0);
    fail = 1;
    memcpy(guided_out, plain_out, sizeof plain_out);
    EXPECT_STATUS(FG_ERR_CALLBACK, fg_fm_sample_cost_guided(fm, 8, 4, 1.0f, fm_cost_gradient, &fail, &cost_sp, guided_out, 16, &guided_len, &guided_nfe));
    CHECKF(strstr(fg_last_error(), "cost server unreachable") != NULL, "message: %s", fg_last_error());
    CHECK(memcmp(plain_out, guided_out, sizeof plain_out) == 0); /* dst untouched */
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_fm_sample_cost_guided(fm, 8, 4, 1.0f, NULL, NULL, &cost_sp, guided_out, 16, &guided_len, &guided_nfe));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_fm_sample_cost_guided(fm, 8, 4, NAN, fm_cost_gradient, NULL, &cost_sp, guided_out, 16, &guided_len, &guided_nfe));
    fg_fm_free(fm);

    SECTION("masked autoregressive flow");
    fg_maf_params mp = fg_maf_default_params();
    CHECK(mp.struct_size == sizeof(fg_maf_params) && mp.dim == 2);
    mp.hidden_width = 16;
    mp.blocks = 2;
    fg_maf *maf = NULL;
    REQUIRE_OK(fg_maf_create(&mp, &maf));
    float pts[16 * 2];
    for (int i = 0; i < 16; i++) {
        pts[2 * i] = (float)(i % 4) - 1.5f;
        pts[2 * i + 1] = 0.5f * (float)(i / 4) - 0.75f;
    }
    float before_loss = NAN, after_loss = NAN;
    EXPECT_OK(fg_maf_fit(maf, pts, 16, 2, 1, NULL, NULL, &before_loss));
    EXPECT_OK(fg_maf_fit(maf, pts, 16, 2, 200, NULL, NULL, &after_loss));
    CHECKF(after_loss < before_loss && fg_maf_step(maf) == 201, "NLL %f -> %f", before_loss, after_loss);
    float logp[16], logp2[16], drawn[8 * 2];
    size_t maf_len = 0;
    EXPECT_OK(fg_maf_log_prob(maf, pts, 16, 2, NULL, 0, &maf_len));
    CHECK(maf_len == 16);
    EXPECT_OK(fg_maf_log_prob(maf, pts, 16, 2, logp, 16, &maf_len));
    EXPECT_OK(fg_maf_sample(maf, 8, 5, drawn, 16, &maf_len));
    CHECK(maf_len == 16 && isfinite(drawn[0]) && isfinite(drawn[15]));
    EXPECT_STATUS(FG_ERR_SHAPE_MISMATCH, fg_maf_log_prob(maf, pts, 8, 4, logp, 16, &maf_len));
    temp_path(path, sizeof path, "maf.safetensors");
    EXPECT_OK(fg_maf_save(maf, path));
    fg_maf *copy = NULL;
    REQUIRE_OK(fg_maf_load(path, &copy));
    EXPECT_OK(fg_maf_log_prob(copy, pts, 16, 2, logp2, 16, &maf_len));
    CHECK(memcmp(logp, logp2, sizeof logp) == 0 && fg_maf_dim(copy) == 2 && fg_maf_step(copy) == 201);
    fg_maf_free(copy);
    fg_maf_free(maf);
    fg_maf_free(NULL);
}

int main(void) {
    fg_test_install_handlers();
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(temp_dir, sizeof temp_dir, "%s/fg_c_misuse_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(temp_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_library_functions();
    test_last_error_thread_local();
    test_create();
    test_fit_and_evaluate_arguments(0);
    test_fit_and_evaluate_arguments(1);
    test_fit_callbacks_and_divergence();
    test_predict();
    test_save();
    test_load();
    test_flow_matching_extensions();
    remove_tree(temp_dir);
    return fg_test_finish("c_misuse");
}
