/*
 * c_smoke — the whole fg_mlp life cycle through the C ABI, with stated numeric thresholds:
 * versions, status names, thread settings, default params, create/fit/predict/evaluate on a
 * regression and a classification problem, every activation and optimizer, determinism, save/load
 * (bit-identical predictions and identical continued training), and independent handles on threads.
 * Also run by c_without_swift with the Swift toolchain hidden, so it stays fast (a few seconds).
 */
#define _XOPEN_SOURCE 700
#include "fg_test.h"

#include <pthread.h>
#include <sys/stat.h>

#define N_REG 256
#define N_CLS 400

/* Thresholds (MSE on y = sin(x0) + x1^2, whose variance is about 0.5; accuracy on two moons). */
#define REG_STEPS 400
#define REG_FINAL_LOSS_MAX 0.02f
#define CLS_STEPS 400
#define CLS_ACCURACY_MIN 0.97f

static char temp_dir[256];

static void temp_path(char *out, size_t size, const char *name) {
    int n = snprintf(out, size, "%s/%s", temp_dir, name);
    if (n < 0 || (size_t)n >= size) {
        fprintf(stderr, "temp_path: path too long for its buffer\n");
        exit(2);
    }
}

/* --------------------------------------------------------------------------------------------- */

static void test_versions_and_status_names(void) {
    SECTION("versions and status names");
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", FLOWGEN_VERSION_MAJOR, FLOWGEN_VERSION_MINOR,
             FLOWGEN_VERSION_PATCH);
    const char *version = fg_version_string();
    CHECK(version != NULL);
    if (version) CHECKF(strcmp(version, expected) == 0, "library %s, header %s", version, expected);
    CHECKF(fg_version_number() == FLOWGEN_VERSION_NUMBER, "library %u, header %d",
           (unsigned)fg_version_number(), FLOWGEN_VERSION_NUMBER);
    const char *core = fg_blas_core_name();
    CHECK(core != NULL && core[0] != '\0');
    CHECK(fg_last_error() != NULL);
    printf("flowgen %s, BLAS core %s, %d BLAS threads\n", version ? version : "?", core ? core : "?",
           (int)fg_get_num_threads());

    static const char *const names[] = {
        "FG_OK", "FG_ERR_NULL_ARGUMENT", "FG_ERR_INVALID_ARGUMENT", "FG_ERR_SHAPE_MISMATCH",
        "FG_ERR_BUFFER_TOO_SMALL", "FG_ERR_NON_FINITE", "FG_ERR_OUT_OF_RANGE", "FG_ERR_UNKNOWN_ENUM",
        "FG_ERR_STRUCT_SIZE", "FG_ERR_IO", "FG_ERR_CORRUPT_FILE", "FG_ERR_CALLBACK",
        "FG_ERR_CANCELLED", "FG_ERR_OUT_OF_MEMORY", "FG_ERR_NUMERICAL", "FG_ERR_INTERNAL"};
    for (int code = 0; code < (int)(sizeof names / sizeof names[0]); code++) {
        const char *name = fg_status_str(code);
        CHECKF(name != NULL && strcmp(name, names[code]) == 0, "fg_status_str(%d) = \"%s\"", code,
               name ? name : "(null)");
    }
    static const fg_status unknown[] = {-1, 16, 100, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *name = fg_status_str(unknown[i]);
        CHECKF(name != NULL && strcmp(name, "FG_ERR_UNKNOWN_STATUS") == 0, "fg_status_str(%d) = \"%s\"",
               (int)unknown[i], name ? name : "(null)");
    }
}

static void test_threads_setting(void) {
    SECTION("fg_set_num_threads / fg_get_num_threads");
    int32_t original = fg_get_num_threads();
    CHECKF(original >= 1, "fg_get_num_threads() = %d", (int)original);
    EXPECT_OK(fg_set_num_threads(1));
    CHECKF(fg_get_num_threads() == 1, "got %d", (int)fg_get_num_threads());
    EXPECT_OK(fg_set_num_threads(2));
    CHECKF(fg_get_num_threads() == 2, "got %d", (int)fg_get_num_threads());
    EXPECT_OK(fg_set_num_threads(original));
    CHECKF(fg_get_num_threads() == original, "got %d, want %d", (int)fg_get_num_threads(), (int)original);
}

static void test_default_params(void) {
    SECTION("fg_mlp_default_params");
    fg_mlp_params p = fg_mlp_default_params();
    CHECK(p.struct_size == sizeof(fg_mlp_params));
    CHECK(p.activation == FG_ACT_RELU);
    CHECK(p.task == FG_TASK_REGRESSION);
    CHECK(p.optimizer == FG_OPTIM_ADAM);
    CHECK(p.seed == 0);
    CHECK(p.learning_rate == 1e-3f);
    CHECK(p.weight_decay == 0.0f);
    CHECK(p.grad_clip_norm == 0.0f);
    CHECK(p.batch_size == 0);
}

/* --------------------------------------------------------------------------------------------- */

typedef struct {
    uint64_t calls;
    uint64_t last_step;
    uint64_t total;
    int monotonic;
    int finite;
} progress_log;

static int32_t record_progress(uint64_t step, uint64_t total, float loss, void *user_data) {
    progress_log *log = user_data;
    if (step <= log->last_step || step < 1 || step > total) log->monotonic = 0;
    if (!isfinite(loss)) log->finite = 0;
    log->calls++;
    log->last_step = step;
    log->total = total;
    return 0;
}

static void test_regression(void) {
    SECTION("regression: create / fit / predict / evaluate");
    static float x[N_REG * 2], y[N_REG], pred[N_REG], pred_again[N_REG];
    fg_test_regression_data(1, N_REG, x, y);

    fg_mlp_params p = fg_mlp_default_params();
    p.activation = FG_ACT_TANH;
    p.learning_rate = 1e-2f;
    p.seed = 42;
    const uint32_t sizes[] = {2, 32, 32, 1};
    fg_mlp *m = NULL;
    REQUIRE_OK(fg_mlp_create(sizes, 4, &p, &m));
    CHECK(m != NULL);
    CHECK(fg_mlp_input_dim(m) == 2);
    CHECK(fg_mlp_output_dim(m) == 1);
    CHECKF(fg_mlp_parameter_count(m) == 2 * 32 + 32 + 32 * 32 + 32 + 32 + 1, "got %zu",
           fg_mlp_parameter_count(m));
    CHECK(fg_mlp_step(m) == 0);

    float loss_before = -1.0f, accuracy = 0.0f;
    EXPECT_OK(fg_mlp_evaluate(m, x, N_REG, 2, y, N_REG, &loss_before, &accuracy));
    CHECK(isfinite(loss_before) && loss_before > 0.0f);
    CHECK(isnan(accuracy));

    progress_log log = {0, 0, 0, 1, 1};
    float last_loss = -1.0f;
    EXPECT_OK(fg_mlp_fit(m, x, N_REG, 2, y, N_REG, REG_STEPS, record_progress, &log, &last_loss));
    CHECK(fg_mlp_step(m) == REG_STEPS);
    CHECKF(log.calls >= 1 && log.monotonic && log.finite && log.total == REG_STEPS &&
               log.last_step == REG_STEPS,
           "progress: %llu calls, last step %llu, total %llu, monotonic %d, finite %d",
           (unsigned long long)log.calls, (unsigned long long)log.last_step,
           (unsigned long long)log.total, log.monotonic, log.finite);
    CHECK(isfinite(last_loss));

    float loss_after = -1.0f;
    accuracy = 0.0f;
    EXPECT_OK(fg_mlp_evaluate(m, x, N_REG, 2, y, N_REG, &loss_after, &accuracy));
    printf("regression MSE: %.5f before, %.5f after %d steps (last step %.5f); threshold %.3f\n",
           (double)loss_before, (double)loss_after, REG_STEPS, (double)last_loss,
           (double)REG_FINAL_LOSS_MAX);
    CHECKF(loss_after < REG_FINAL_LOSS_MAX, "MSE %.5f", (double)loss_after);
    CHECKF(loss_after < 0.1f * loss_before, "MSE %.5f vs %.5f", (double)loss_after, (double)loss_before);
    CHECK(isnan(accuracy));
    /* evaluate with both outputs NULL is allowed */
    EXPECT_OK(fg_mlp_evaluate(m, x, N_REG, 2, y, N_REG, NULL, NULL));

    size_t needed = 0;
    EXPECT_OK(fg_mlp_predict(m, x, N_REG, 2, NULL, 0, &needed));
    CHECK(needed == N_REG);
    size_t written = 0;
    EXPECT_OK(fg_mlp_predict(m, x, N_REG, 2, pred, N_REG, &written));
    CHECK(written == N_REG);
    double mse = 0.0;
    for (size_t i = 0; i < N_REG; i++) mse += ((double)pred[i] - y[i]) * ((double)pred[i] - y[i]);
    mse /= N_REG;
    CHECKF(fabs(mse - loss_after) <= 1e-4 * mse + 1e-7, "MSE from predict %.7f vs evaluate %.7f", mse,
           (double)loss_after);
    /* predict is a pure function of the weights */
    EXPECT_OK(fg_mlp_predict(m, x, N_REG, 2, pred_again, N_REG, &written));
    CHECK(fg_test_same_bits(pred, pred_again, N_REG));
    /* predicting row by row gives the rows of the batch prediction (to rounding) */
    for (size_t i = 0; i < 8; i++) {
        float one = 0.0f;
        EXPECT_OK(fg_mlp_predict(m, x + 2 * i, 1, 2, &one, 1, &written));
        CHECKF(fabsf(one - pred[i]) <= 1e-5f * (1.0f + fabsf(pred[i])), "row %zu: %g vs %g", i,
               (double)one, (double)pred[i]);
    }

    /* same seed, same data, same calls -> bit-identical model */
    fg_mlp *twin = NULL;
    EXPECT_OK(fg_mlp_create(sizes, 4, &p, &twin));
    if (twin) {
        EXPECT_OK(fg_mlp_fit(twin, x, N_REG, 2, y, N_REG, REG_STEPS, NULL, NULL, NULL));
        EXPECT_OK(fg_mlp_predict(twin, x, N_REG, 2, pred_again, N_REG, &written));
        CHECKF(fg_test_same_bits(pred, pred_again, N_REG), "two identically seeded fits differ");
    }
    fg_mlp_free(twin);

    /* a different seed gives a different initialisation */
    p.seed = 43;
    fg_mlp *other = NULL;
    EXPECT_OK(fg_mlp_create(sizes, 4, &p, &other));
    float pred_other[N_REG];
    if (other) {
        EXPECT_OK(fg_mlp_predict(other, x, N_REG, 2, pred_other, N_REG, &written));
        fg_mlp *fresh42 = NULL;
        p.seed = 42;
        EXPECT_OK(fg_mlp_create(sizes, 4, &p, &fresh42));
        if (fresh42) {
            EXPECT_OK(fg_mlp_predict(fresh42, x, N_REG, 2, pred_again, N_REG, &written));
            CHECK(!fg_test_same_bits(pred_other, pred_again, N_REG));
        }
        fg_mlp_free(fresh42);
    }
    fg_mlp_free(other);

    SECTION("regression: save / load");
    char path[512];
    temp_path(path, sizeof path, "regression.safetensors");
    EXPECT_OK(fg_mlp_save(m, path));
    fg_mlp *loaded = NULL;
    EXPECT_OK(fg_mlp_load(path, &loaded));
    if (loaded) {
        CHECK(fg_mlp_input_dim(loaded) == 2);
        CHECK(fg_mlp_output_dim(loaded) == 1);
        CHECK(fg_mlp_parameter_count(loaded) == fg_mlp_parameter_count(m));
        CHECK(fg_mlp_step(loaded) == REG_STEPS);
        EXPECT_OK(fg_mlp_predict(loaded, x, N_REG, 2, pred_again, N_REG, &written));
        CHECKF(fg_test_same_bits(pred, pred_again, N_REG), "predictions after load are not bit-identical");
        float loaded_loss = -1.0f;
        EXPECT_OK(fg_mlp_evaluate(loaded, x, N_REG, 2, y, N_REG, &loaded_loss, NULL));
        CHECK(memcmp(&loaded_loss, &loss_after, sizeof loss_after) == 0);
    }
    fg_mlp_free(loaded);

    /* the file is safetensors: 8-byte little-endian header length, then a JSON object */
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f) {
        unsigned char len_bytes[8];
        CHECK(fread(len_bytes, 1, 8, f) == 8);
        uint64_t header_len = 0;
        for (int i = 7; i >= 0; i--) header_len = header_len << 8 | len_bytes[i];
        CHECKF(header_len > 2 && header_len < 1000000, "header length %llu", (unsigned long long)header_len);
        if (header_len > 2 && header_len < 1000000) {
            char *header = calloc(1, (size_t)header_len + 1);
            CHECK(fread(header, 1, (size_t)header_len, f) == header_len);
            CHECK(header[0] == '{');
            CHECK(strstr(header, "\"layers.0.weight\"") != NULL);
            CHECK(strstr(header, "\"layers.2.bias\"") != NULL);
            CHECK(strstr(header, "\"__metadata__\"") != NULL);
            free(header);
        }
        fclose(f);
    }
    /* only the checkpoint is left in the folder (no temporary file) */
    remove(path);
    CHECK(rmdir(temp_dir) == 0);
    CHECK(mkdir(temp_dir, 0700) == 0);
    fg_mlp_free(m);
}

/* Training continues identically after save/load (optimizer state, step and RNG state restored),
 * with mini-batches so that the sampling generator matters. */
static void test_resume_training(void) {
    SECTION("save / load resumes training exactly");
    static float x[N_REG * 2], y[N_REG], a[N_REG], b[N_REG];
    fg_test_regression_data(2, N_REG, x, y);
    const uint32_t sizes[] = {2, 16, 1};
    const uint32_t optimizers[] = {FG_OPTIM_ADAM, FG_OPTIM_ADAMW, FG_OPTIM_SGD};
    for (size_t k = 0; k < 3; k++) {
        fg_mlp_params p = fg_mlp_default_params();
        p.optimizer = optimizers[k];
        p.seed = 7 + k;
        p.batch_size = 32;
        p.learning_rate = 5e-3f;
        p.weight_decay = optimizers[k] == FG_OPTIM_ADAMW ? 1e-2f : 0.0f;
        p.grad_clip_norm = 1.0f;
        fg_mlp *m = NULL, *copy = NULL;
        REQUIRE_OK(fg_mlp_create(sizes, 3, &p, &m));
        EXPECT_OK(fg_mlp_fit(m, x, N_REG, 2, y, N_REG, 25, NULL, NULL, NULL));
        char path[512];
        temp_path(path, sizeof path, "resume.safetensors");
        EXPECT_OK(fg_mlp_save(m, path));
        EXPECT_OK(fg_mlp_load(path, &copy));
        remove(path);
        if (!copy) {
            fg_mlp_free(m);
            return;
        }
        float loss_a = 0.0f, loss_b = 1.0f;
        EXPECT_OK(fg_mlp_fit(m, x, N_REG, 2, y, N_REG, 30, NULL, NULL, &loss_a));
        EXPECT_OK(fg_mlp_fit(copy, x, N_REG, 2, y, N_REG, 30, NULL, NULL, &loss_b));
        CHECK(fg_mlp_step(m) == 55 && fg_mlp_step(copy) == 55);
        size_t written = 0;
        EXPECT_OK(fg_mlp_predict(m, x, N_REG, 2, a, N_REG, &written));
        EXPECT_OK(fg_mlp_predict(copy, x, N_REG, 2, b, N_REG, &written));
        CHECKF(memcmp(&loss_a, &loss_b, sizeof loss_a) == 0 && fg_test_same_bits(a, b, N_REG),
               "optimizer %u: loaded model trains differently (last loss %.9g vs %.9g)",
               (unsigned)optimizers[k], (double)loss_a, (double)loss_b);
        fg_mlp_free(m);
        fg_mlp_free(copy);
    }
}

static void test_classification(void) {
    SECTION("classification: two moons");
    static float x[N_CLS * 2], y[N_CLS], logits[N_CLS * 2];
    fg_test_moons_data(3, N_CLS, 0.1f, x, y);
    fg_mlp_params p = fg_mlp_default_params();
    p.task = FG_TASK_CLASSIFICATION;
    p.learning_rate = 1e-2f;
    p.seed = 5;
    const uint32_t sizes[] = {2, 32, 32, 2};
    fg_mlp *m = NULL;
    REQUIRE_OK(fg_mlp_create(sizes, 4, &p, &m));
    float loss_before = 0.0f, acc_before = 0.0f, loss_after = 0.0f, acc_after = 0.0f;
    EXPECT_OK(fg_mlp_evaluate(m, x, N_CLS, 2, y, N_CLS, &loss_before, &acc_before));
    EXPECT_OK(fg_mlp_fit(m, x, N_CLS, 2, y, N_CLS, CLS_STEPS, NULL, NULL, NULL));
    EXPECT_OK(fg_mlp_evaluate(m, x, N_CLS, 2, y, N_CLS, &loss_after, &acc_after));
    printf("classification: cross-entropy %.4f -> %.4f, accuracy %.3f -> %.3f (threshold %.2f)\n",
           (double)loss_before, (double)loss_after, (double)acc_before, (double)acc_after,
           (double)CLS_ACCURACY_MIN);
    CHECK(loss_before > 0.0f && loss_after < loss_before);
    CHECK(acc_before >= 0.0f && acc_before <= 1.0f);
    CHECKF(acc_after >= CLS_ACCURACY_MIN, "accuracy %.3f", (double)acc_after);

    size_t written = 0;
    EXPECT_OK(fg_mlp_predict(m, x, N_CLS, 2, logits, N_CLS * 2, &written));
    CHECK(written == N_CLS * 2);
    size_t correct = 0;
    double cross_entropy = 0.0;
    for (size_t i = 0; i < N_CLS; i++) {
        double l0 = logits[2 * i], l1 = logits[2 * i + 1];
        int predicted = l1 > l0 ? 1 : 0;
        correct += predicted == (int)y[i];
        double top = l0 > l1 ? l0 : l1;
        double log_sum = top + log(exp(l0 - top) + exp(l1 - top));
        cross_entropy += log_sum - (y[i] == 0.0f ? l0 : l1);
    }
    cross_entropy /= N_CLS;
    CHECKF(fabs((double)correct / N_CLS - acc_after) < 1e-6, "accuracy from logits %.4f vs evaluate %.4f",
           (double)correct / N_CLS, (double)acc_after);
    CHECKF(fabs(cross_entropy - loss_after) <= 1e-4 * cross_entropy + 1e-6,
           "cross-entropy from logits %.6f vs evaluate %.6f", cross_entropy, (double)loss_after);
    fg_mlp_free(m);
}

static void test_every_activation_and_optimizer(void) {
    SECTION("every activation and optimizer trains");
    static float x[N_REG * 2], y[N_REG];
    fg_test_regression_data(4, N_REG, x, y);
    const uint32_t sizes[] = {2, 16, 16, 1};
    for (uint32_t act = FG_ACT_RELU; act <= FG_ACT_SOFTPLUS; act++) {
        for (uint32_t opt = FG_OPTIM_ADAM; opt <= FG_OPTIM_SGD; opt++) {
            fg_mlp_params p = fg_mlp_default_params();
            p.activation = act;
            p.optimizer = opt;
            p.learning_rate = opt == FG_OPTIM_SGD ? 2e-2f : 1e-2f;
            p.weight_decay = opt == FG_OPTIM_ADAMW ? 1e-3f : 0.0f;
            p.seed = 100 + act;
            fg_mlp *m = NULL;
            EXPECT_OK(fg_mlp_create(sizes, 4, &p, &m));
            if (!m) continue;
            float before = 0.0f, after = 0.0f;
            EXPECT_OK(fg_mlp_evaluate(m, x, N_REG, 2, y, N_REG, &before, NULL));
            EXPECT_OK(fg_mlp_fit(m, x, N_REG, 2, y, N_REG, 150, NULL, NULL, NULL));
            EXPECT_OK(fg_mlp_evaluate(m, x, N_REG, 2, y, N_REG, &after, NULL));
            CHECKF(isfinite(after) && after < 0.5f * before, "activation %u optimizer %u: MSE %.4f -> %.4f",
                   (unsigned)act, (unsigned)opt, (double)before, (double)after);
            fg_mlp_free(m);
        }
    }
}

/* Distinct handles used from distinct threads at the same time give the results of sequential use. */
typedef struct {
    uint64_t seed;
    float x[N_REG * 2], y[N_REG], pred[N_REG];
    fg_status status;
} thread_job;

static void *run_job(void *arg) {
    thread_job *job = arg;
    fg_mlp_params p = fg_mlp_default_params();
    p.seed = job->seed;
    p.batch_size = 64;
    const uint32_t sizes[] = {2, 32, 1};
    fg_mlp *m = NULL;
    size_t written = 0;
    job->status = fg_mlp_create(sizes, 3, &p, &m);
    if (job->status == FG_OK) job->status = fg_mlp_fit(m, job->x, N_REG, 2, job->y, N_REG, 100, NULL, NULL, NULL);
    if (job->status == FG_OK) job->status = fg_mlp_predict(m, job->x, N_REG, 2, job->pred, N_REG, &written);
    fg_mlp_free(m);
    return NULL;
}

static void test_threads_independent(void) {
    SECTION("independent handles on concurrent threads");
    int32_t original = fg_get_num_threads();
    EXPECT_OK(fg_set_num_threads(1));
    static thread_job sequential[2], concurrent[2];
    for (int i = 0; i < 2; i++) {
        sequential[i].seed = concurrent[i].seed = 11 + (uint64_t)i;
        fg_test_regression_data(20 + (uint64_t)i, N_REG, sequential[i].x, sequential[i].y);
        memcpy(concurrent[i].x, sequential[i].x, sizeof sequential[i].x);
        memcpy(concurrent[i].y, sequential[i].y, sizeof sequential[i].y);
        run_job(&sequential[i]);
        CHECK(sequential[i].status == FG_OK);
    }
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&threads[i], NULL, run_job, &concurrent[i]) == 0);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    for (int i = 0; i < 2; i++) {
        CHECK(concurrent[i].status == FG_OK);
        CHECKF(fg_test_same_bits(sequential[i].pred, concurrent[i].pred, N_REG),
               "thread %d: concurrent result differs from sequential", i);
    }
    EXPECT_OK(fg_set_num_threads(original));
}

int main(void) {
    fg_test_install_handlers();
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(temp_dir, sizeof temp_dir, "%s/fg_c_smoke_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(temp_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_versions_and_status_names();
    test_threads_setting();
    test_default_params();
    test_regression();
    test_resume_training();
    test_classification();
    test_every_activation_and_optimizer();
    test_threads_independent();
    rmdir(temp_dir);
    return fg_test_finish("c_smoke");
}
