/*
 * mlp_regression — fit y = sin(x0) + x1^2 with a small MLP through the flowgen C API.
 *
 * Generates training and test data with a tiny LCG, trains a 2-64-64-1 tanh network with Adam,
 * prints the loss before and after, predicts on held-out points, then saves the model, loads it back
 * and checks that the loaded model's predictions are bit-identical.
 *
 *   mlp_regression [checkpoint-path]      (default: ./mlp_regression.safetensors, removed at the end)
 *
 * Exit status 0 when every call succeeded and the checks passed.
 */
#include <flowgen.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_TRAIN 512
#define N_TEST 128
#define STEPS 800

/* Prints the failing call with its status and message and leaves main with status 1. */
#define TRY(call)                                                                        \
    do {                                                                                 \
        fg_status status_ = (call);                                                      \
        if (status_ != FG_OK) {                                                          \
            fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #call,     \
                    fg_status_str(status_), fg_last_error());                            \
            goto fail;                                                                   \
        }                                                                                \
    } while (0)

/* 64-bit LCG (Knuth's MMIX constants); uniform floats in [low, high). */
static uint64_t rng_state = 2024;
static float uniform(float low, float high) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return low + (high - low) * (float)(uint32_t)(rng_state >> 40) * (1.0f / 16777216.0f);
}

static void make_data(float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        x[2 * i] = uniform(-2.0f, 2.0f);
        x[2 * i + 1] = uniform(-1.0f, 1.0f);
        y[i] = sinf(x[2 * i]) + x[2 * i + 1] * x[2 * i + 1];
    }
}

static int32_t print_progress(uint64_t step, uint64_t total, float loss, void *user_data) {
    (void)user_data;
    if (step % 200 == 0 || step == total) {
        printf("  step %4llu/%llu  loss %.5f\n", (unsigned long long)step, (unsigned long long)total,
               (double)loss);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "mlp_regression.safetensors";
    static float x_train[N_TRAIN * 2], y_train[N_TRAIN], x_test[N_TEST * 2], y_test[N_TEST];
    static float pred[N_TEST], pred_loaded[N_TEST];
    fg_mlp *model = NULL, *loaded = NULL;
    int ok = 1;

    make_data(x_train, y_train, N_TRAIN);
    make_data(x_test, y_test, N_TEST);
    printf("flowgen %s (BLAS core %s)\n", fg_version_string(), fg_blas_core_name());

    fg_mlp_params params = fg_mlp_default_params();
    params.activation = FG_ACT_TANH;
    params.optimizer = FG_OPTIM_ADAM;
    params.learning_rate = 5e-3f;
    params.batch_size = 128;
    params.seed = 7;
    const uint32_t layers[] = {2, 64, 64, 1};
    TRY(fg_mlp_create(layers, sizeof layers / sizeof layers[0], &params, &model));
    printf("MLP 2-64-64-1 (tanh), %zu parameters\n", fg_mlp_parameter_count(model));

    float train_before = 0.0f, test_before = 0.0f, train_after = 0.0f, test_after = 0.0f, last = 0.0f;
    TRY(fg_mlp_evaluate(model, x_train, N_TRAIN, 2, y_train, N_TRAIN, &train_before, NULL));
    TRY(fg_mlp_evaluate(model, x_test, N_TEST, 2, y_test, N_TEST, &test_before, NULL));
    printf("before training: train MSE %.5f, test MSE %.5f\n", (double)train_before, (double)test_before);

    TRY(fg_mlp_fit(model, x_train, N_TRAIN, 2, y_train, N_TRAIN, STEPS, print_progress, NULL, &last));
    TRY(fg_mlp_evaluate(model, x_train, N_TRAIN, 2, y_train, N_TRAIN, &train_after, NULL));
    TRY(fg_mlp_evaluate(model, x_test, N_TEST, 2, y_test, N_TEST, &test_after, NULL));
    printf("after %llu steps: train MSE %.5f, test MSE %.5f\n", (unsigned long long)fg_mlp_step(model),
           (double)train_after, (double)test_after);
    if (!(test_after < 0.05f && test_after < 0.1f * test_before)) {
        fprintf(stderr, "test MSE did not drop enough (%.5f -> %.5f)\n", (double)test_before, (double)test_after);
        ok = 0;
    }

    /* Size query, then the prediction itself. */
    size_t needed = 0, written = 0;
    TRY(fg_mlp_predict(model, x_test, N_TEST, 2, NULL, 0, &needed));
    if (needed != N_TEST) {
        fprintf(stderr, "size query gave %zu, expected %d\n", needed, N_TEST);
        ok = 0;
    }
    TRY(fg_mlp_predict(model, x_test, N_TEST, 2, pred, N_TEST, &written));
    printf("     x0       x1    target  predicted\n");
    for (size_t i = 0; i < 5; i++) {
        printf("%8.3f %8.3f %8.4f %9.4f\n", (double)x_test[2 * i], (double)x_test[2 * i + 1],
               (double)y_test[i], (double)pred[i]);
    }

    TRY(fg_mlp_save(model, path));
    TRY(fg_mlp_load(path, &loaded));
    TRY(fg_mlp_predict(loaded, x_test, N_TEST, 2, pred_loaded, N_TEST, &written));
    if (memcmp(pred, pred_loaded, sizeof pred) != 0 || fg_mlp_step(loaded) != fg_mlp_step(model)) {
        fprintf(stderr, "the reloaded model differs from the saved one\n");
        ok = 0;
    } else {
        printf("saved to %s and reloaded: predictions bit-identical\n", path);
    }

    remove(path);
    fg_mlp_free(loaded);
    fg_mlp_free(model);
    printf("%s\n", ok ? "OK" : "FAILED");
    return ok ? 0 : 1;

fail:
    remove(path);
    fg_mlp_free(loaded);
    fg_mlp_free(model);
    return 1;
}
