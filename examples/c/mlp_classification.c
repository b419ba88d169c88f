/*
 * mlp_classification — two interleaving half-moons classified by a small MLP through the flowgen
 * C API. Generates noisy data with a tiny LCG, trains a 2-32-32-2 ReLU network with softmax
 * cross-entropy (AdamW), and prints the accuracy on training and held-out points, both from
 * fg_mlp_evaluate and from the arg-max of the logits returned by fg_mlp_predict.
 *
 * Exit status 0 when every call succeeded and the test accuracy is at least 95%.
 */
#include <flowgen.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define N_TRAIN 600
#define N_TEST 200
#define N_CLASSES 2
#define STEPS 600

#define TRY(call)                                                                        \
    do {                                                                                 \
        fg_status status_ = (call);                                                      \
        if (status_ != FG_OK) {                                                          \
            fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #call,     \
                    fg_status_str(status_), fg_last_error());                            \
            fg_mlp_free(model);                                                          \
            return 1;                                                                    \
        }                                                                                \
    } while (0)

static uint64_t rng_state = 77;
static float uniform(float low, float high) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return low + (high - low) * (float)(uint32_t)(rng_state >> 40) * (1.0f / 16777216.0f);
}

/* x [n, 2]; y [n] holds the class ids 0 (upper moon) and 1 (lower moon) as floats. */
static void make_moons(float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int label = (int)(i % 2);
        float angle = uniform(0.0f, 3.14159265f);
        x[2 * i] = (label == 0 ? cosf(angle) : 1.0f - cosf(angle)) + uniform(-0.15f, 0.15f);
        x[2 * i + 1] = (label == 0 ? sinf(angle) : 0.5f - sinf(angle)) + uniform(-0.15f, 0.15f);
        y[i] = (float)label;
    }
}

int main(void) {
    static float x_train[N_TRAIN * 2], y_train[N_TRAIN], x_test[N_TEST * 2], y_test[N_TEST];
    static float logits[N_TEST * N_CLASSES];
    fg_mlp *model = NULL;
    make_moons(x_train, y_train, N_TRAIN);
    make_moons(x_test, y_test, N_TEST);

    fg_mlp_params params = fg_mlp_default_params();
    params.task = FG_TASK_CLASSIFICATION;
    params.activation = FG_ACT_RELU;
    params.optimizer = FG_OPTIM_ADAMW;
    params.learning_rate = 1e-2f;
    params.weight_decay = 1e-4f;
    params.seed = 3;
    const uint32_t layers[] = {2, 32, 32, N_CLASSES};
    TRY(fg_mlp_create(layers, sizeof layers / sizeof layers[0], &params, &model));

    float loss = 0.0f, train_acc = 0.0f, test_acc = 0.0f;
    TRY(fg_mlp_evaluate(model, x_test, N_TEST, 2, y_test, N_TEST, &loss, &test_acc));
    printf("before training: test cross-entropy %.4f, accuracy %.3f\n", (double)loss, (double)test_acc);

    TRY(fg_mlp_fit(model, x_train, N_TRAIN, 2, y_train, N_TRAIN, STEPS, NULL, NULL, &loss));
    printf("after %d steps: last training loss %.4f\n", STEPS, (double)loss);
    TRY(fg_mlp_evaluate(model, x_train, N_TRAIN, 2, y_train, N_TRAIN, &loss, &train_acc));
    TRY(fg_mlp_evaluate(model, x_test, N_TEST, 2, y_test, N_TEST, &loss, &test_acc));
    printf("train accuracy %.3f, test accuracy %.3f (test cross-entropy %.4f)\n", (double)train_acc,
           (double)test_acc, (double)loss);

    /* The same accuracy from the raw logits. */
    size_t written = 0, correct = 0;
    TRY(fg_mlp_predict(model, x_test, N_TEST, 2, logits, N_TEST * N_CLASSES, &written));
    for (size_t i = 0; i < N_TEST; i++) {
        size_t best = 0;
        for (size_t c = 1; c < N_CLASSES; c++) {
            if (logits[i * N_CLASSES + c] > logits[i * N_CLASSES + best]) best = c;
        }
        correct += best == (size_t)y_test[i];
    }
    double argmax_acc = (double)correct / N_TEST;
    printf("arg-max of predicted logits: accuracy %.3f\n", argmax_acc);
    fg_mlp_free(model);

    int ok = test_acc >= 0.95f && fabs(argmax_acc - (double)test_acc) < 1e-6;
    printf("%s\n", ok ? "OK" : "FAILED (accuracy below 0.95 or inconsistent)");
    return ok ? 0 : 1;
}
