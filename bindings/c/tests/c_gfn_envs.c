/* C tests of the GFlowNet environment zoo (fg_gfn_create_env, fg_gfn_env_params, the MODDB / FLDB /
 * FLSUBTB losses and the extended fg_gfn_metrics): every environment trains and evaluates from C, the
 * older metrics layout is filled only up to its size, and bad parameters get a status, never a crash. */
#define _XOPEN_SOURCE 700
#include "fg_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SENTINEL ((fg_gfn *)(uintptr_t)0x1)

static int32_t zero_reward(const int32_t *states, size_t n, size_t dim, double *out, void *user_data) {
    (void)states; (void)dim; (void)user_data;
    for (size_t i = 0; i < n; i++) out[i] = 0;
    return 0;
}

static fg_gfn_params small_params(uint32_t env, uint32_t loss) {
    fg_gfn_params p = fg_gfn_default_params();
    p.env = env;
    p.loss = loss;
    p.hidden_width = 32;
    p.seed = 3;
    return p;
}

static void expect_create_fails(const char *file, int line, fg_status expected, const fg_gfn_params *p,
                                const fg_gfn_env_params *e) {
    fg_gfn *g = SENTINEL;
    fg_status s = fg_gfn_create_env(p, e, &g);
    fg_test_checks++;
    if (s != expected || g != NULL) {
        fg_test_failures++;
        printf("%s:%d: fg_gfn_create_env returned %d (expected %d), handle %p: %s\n", file, line, (int)s,
               (int)expected, (void *)g, fg_last_error());
        if (s == FG_OK && g != NULL && g != SENTINEL) fg_gfn_free(g);
    }
}
#define EXPECT_CREATE_FAILS(expected, p, e) expect_create_fails(__FILE__, __LINE__, expected, p, e)

static void test_defaults_and_training(void) {
    SECTION("fg_gfn_create_env: every environment trains and evaluates");
    fg_gfn_env_params e = fg_gfn_default_env_params();
    CHECK(e.struct_size == sizeof(fg_gfn_env_params));
    CHECK(e.seq_len == 12 && e.word_size == 4 && e.ising_dims == 2 && e.n_items == 12 && e.set_size == 6);
    e.seq_len = 6; e.word_size = 2; e.n_modes = 4; e.mode_threshold = 1;
    e.ising_side = 4; e.ising_dims = 1;
    e.n_items = 8; e.set_size = 4; e.beta = 2;
    const uint32_t envs[] = {FG_GFN_ENV_BITSEQ, FG_GFN_ENV_ISING, FG_GFN_ENV_SET, FG_GFN_ENV_HYPERGRID};
    const uint32_t losses[] = {FG_GFN_LOSS_FLDB, FG_GFN_LOSS_FLSUBTB, FG_GFN_LOSS_TB, FG_GFN_LOSS_MODDB};
    const size_t states[] = {1 + 4 + 16 + 64, 81, 256, 64};
    for (int i = 0; i < 4; i++) {
        fg_gfn_params p = small_params(envs[i], losses[i]);
        fg_gfn *g = NULL;
        REQUIRE_OK(fg_gfn_create_env(&p, &e, &g));
        CHECK(fg_gfn_state_count(g) == states[i]);
        float loss = NAN;
        EXPECT_OK(fg_gfn_train(g, 320, NULL, NULL, &loss));
        CHECK(isfinite(loss));
        fg_gfn_metrics m;
        memset(&m, 0, sizeof m);
        m.struct_size = sizeof m;
        EXPECT_OK(fg_gfn_evaluate(g, &m));
        CHECKF(isfinite(m.l1) && m.l1 >= 0 && m.l1 <= 2, "env %u: l1 %g", envs[i], m.l1);
        CHECKF(isfinite(m.log_corr) && m.log_corr > -1.0001 && m.log_corr < 1.0001, "env %u: log_corr %g", envs[i], m.log_corr);
        CHECK(m.n_mode_regions >= 1 && m.mode_regions_found <= m.n_mode_regions);
        CHECK(m.trajectories == 320);
        /* The first (72-byte) layout: filled up to its size, nothing after it touched. */
        unsigned char old[sizeof(fg_gfn_metrics) + 8];
        memset(old, 0xAB, sizeof old);
        uint32_t old_size = 72;
        memcpy(old, &old_size, sizeof old_size);
        EXPECT_OK(fg_gfn_evaluate(g, (fg_gfn_metrics *)(void *)old));
        double l1_old;
        memcpy(&l1_old, old + 8, sizeof l1_old);
        CHECK(l1_old == m.l1);
        for (size_t k = 72; k < sizeof old; k++) CHECKF(old[k] == 0xAB, "byte %zu written", k);
        int32_t sample[4 * 16];
        size_t written = 0;
        EXPECT_OK(fg_gfn_sample(g, 4, 1, sample, 64, &written));
        CHECK(written == 4 * fg_gfn_state_dim(g));
        fg_gfn_free(g);
    }
    /* fg_gfn_create on a zoo environment uses the default environment parameters. */
    fg_gfn_params p = small_params(FG_GFN_ENV_SET, FG_GFN_LOSS_FLDB);
    fg_gfn *g = NULL;
    REQUIRE_OK(fg_gfn_create(&p, &g));
    CHECK(fg_gfn_state_count(g) == 4096);
    CHECK(fg_gfn_state_dim(g) == 12);
    /* Save and load: the loaded GFlowNet continues exactly like the original. */
    char path[512];
    snprintf(path, sizeof path, "%s/fg_gfn_envs_%d.safetensors", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    CHECK(fg_gfn_save(g, "/nonexistent-dir/never.safetensors") == FG_ERR_IO);
    EXPECT_OK(fg_gfn_train(g, 32, NULL, NULL, NULL));
    REQUIRE_OK(fg_gfn_save(g, path));
    fg_gfn *h = NULL;
    REQUIRE_OK(fg_gfn_load(path, &h));
    remove(path);
    CHECK(fg_gfn_state_count(h) == 4096 && fg_gfn_step(h) == fg_gfn_step(g));
    float lg = NAN, lh = NAN;
    EXPECT_OK(fg_gfn_train(g, 48, NULL, NULL, &lg));
    EXPECT_OK(fg_gfn_train(h, 48, NULL, NULL, &lh));
    CHECKF(lg == lh, "losses after resume differ: %g vs %g", lg, lh);
    fg_gfn_free(h);
    fg_gfn_free(g);
}

static void test_bad_env_params(void) {
    SECTION("fg_gfn_create_env: invalid environment parameters");
    fg_gfn_params bits = small_params(FG_GFN_ENV_BITSEQ, FG_GFN_LOSS_TB);
    fg_gfn_params ising = small_params(FG_GFN_ENV_ISING, FG_GFN_LOSS_TB);
    fg_gfn_params set = small_params(FG_GFN_ENV_SET, FG_GFN_LOSS_TB);
    fg_gfn_env_params e;

    fg_gfn *g = SENTINEL;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_create_env(&bits, NULL, NULL));
    e = fg_gfn_default_env_params(); e.struct_size = 8;
    EXPECT_CREATE_FAILS(FG_ERR_STRUCT_SIZE, &bits, &e);
    e = fg_gfn_default_env_params(); e.seq_len = 0;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &bits, &e);
    e = fg_gfn_default_env_params(); e.word_size = 0;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &bits, &e);
    e = fg_gfn_default_env_params(); e.word_size = 5;   /* does not divide 12 */
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &bits, &e);
    e = fg_gfn_default_env_params(); e.word_size = 9; e.seq_len = 18;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &bits, &e);
    e = fg_gfn_default_env_params(); e.n_modes = 0;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &bits, &e);
    e = fg_gfn_default_env_params(); e.mode_threshold = 13;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &bits, &e);
    e = fg_gfn_default_env_params(); e.beta = NAN;
    EXPECT_CREATE_FAILS(FG_ERR_NON_FINITE, &bits, &e);
    e = fg_gfn_default_env_params(); e.beta = -1;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &bits, &e);
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &set, &e);
    e = fg_gfn_default_env_params(); e.beta = INFINITY;
    EXPECT_CREATE_FAILS(FG_ERR_NON_FINITE, &set, &e);
    e = fg_gfn_default_env_params(); e.coupling = NAN;
    EXPECT_CREATE_FAILS(FG_ERR_NON_FINITE, &ising, &e);
    e = fg_gfn_default_env_params(); e.ising_dims = 3;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &ising, &e);
    e = fg_gfn_default_env_params(); e.ising_dims = 0; e.ising_side = 1025;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &ising, &e);
    e = fg_gfn_default_env_params(); e.ising_dims = 0; e.ising_side = 5;   /* complete graph */
    g = NULL;
    EXPECT_OK(fg_gfn_create_env(&ising, &e, &g));
    CHECK(fg_gfn_state_count(g) == 243);
    fg_gfn_free(g);
    e = fg_gfn_default_env_params(); e.ising_side = 1;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &ising, &e);
    e = fg_gfn_default_env_params(); e.ising_side = 65;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &ising, &e);
    e = fg_gfn_default_env_params(); e.n_items = 0;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &set, &e);
    e = fg_gfn_default_env_params(); e.set_size = 0;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &set, &e);
    e = fg_gfn_default_env_params(); e.set_size = 13;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &set, &e);
    /* The fields of other environments are not read. */
    e = fg_gfn_default_env_params(); e.coupling = NAN; e.ising_dims = 7;
    g = NULL;
    EXPECT_OK(fg_gfn_create_env(&set, &e, &g));
    fg_gfn_free(g);

    SECTION("fg_gfn_create_env: environment, loss and their combination");
    fg_gfn_params p = small_params(4, FG_GFN_LOSS_TB);
    EXPECT_CREATE_FAILS(FG_ERR_UNKNOWN_ENUM, &p, NULL);
    p = small_params(FG_GFN_ENV_SET, 8);
    EXPECT_CREATE_FAILS(FG_ERR_UNKNOWN_ENUM, &p, NULL);
    p = small_params(FG_GFN_ENV_HYPERGRID, FG_GFN_LOSS_FLDB);
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &p, NULL);
    p = small_params(FG_GFN_ENV_HYPERGRID, FG_GFN_LOSS_FLSUBTB);
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &p, NULL);
    p = small_params(FG_GFN_ENV_SET, FG_GFN_LOSS_MODDB);
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &p, NULL);
    p = small_params(FG_GFN_ENV_ISING, FG_GFN_LOSS_FLSUBTB);
    p.lambda = 0;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &p, NULL);
    p.lambda = 1.5f;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &p, NULL);
    p = small_params(FG_GFN_ENV_BITSEQ, FG_GFN_LOSS_TB);
    p.batch_size = 0;
    EXPECT_CREATE_FAILS(FG_ERR_INVALID_ARGUMENT, &p, NULL);
    /* Reward-only structures: no intermediate rewards, so the forward-looking losses are refused. */
    p = small_params(FG_GFN_ENV_SET, FG_GFN_LOSS_FLDB);
    g = SENTINEL;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_create_with_reward(&p, zero_reward, NULL, &g));
    CHECK(g == NULL);
    g = SENTINEL;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_create_env_with_reward(&p, NULL, NULL, NULL, &g));
    CHECK(g == NULL);
    fg_gfn_env_params bad = fg_gfn_default_env_params();
    bad.struct_size = 3;
    p = small_params(FG_GFN_ENV_SET, FG_GFN_LOSS_TB);
    g = SENTINEL;
    EXPECT_STATUS(FG_ERR_STRUCT_SIZE, fg_gfn_create_env_with_reward(&p, &bad, zero_reward, NULL, &g));
    CHECK(g == NULL);
}

/* log R of a set = number of chosen items among the first four (flags layout, see FG_GFN_ENV_SET). */
static int32_t first_items_reward(const int32_t *states, size_t n, size_t dim, double *out, void *user_data) {
    (void)user_data;
    for (size_t i = 0; i < n; i++) {
        double r = 0;
        for (size_t j = 0; j < dim && j < 4; j++) r += states[i * dim + j] != 0;
        out[i] = r;
    }
    return 0;
}

static void test_reward_only_set(void) {
    SECTION("reward-only set structure: trained P_T matches the user reward");
    fg_gfn_params p = small_params(FG_GFN_ENV_SET, FG_GFN_LOSS_TB);
    fg_gfn_env_params e = fg_gfn_default_env_params();
    e.n_items = 8;
    e.set_size = 4;
    fg_gfn *g = NULL;
    REQUIRE_OK(fg_gfn_create_env_with_reward(&p, &e, first_items_reward, NULL, &g));
    fg_gfn_metrics before;
    memset(&before, 0, sizeof before);
    before.struct_size = sizeof before;
    REQUIRE_OK(fg_gfn_evaluate(g, &before));
    /* Z = sum over 4-subsets of e^(items among the first four) = sum_k C(4,k) C(4,4-k) e^k. */
    double z = 1 + 16 * exp(1.0) + 36 * exp(2.0) + 16 * exp(3.0) + exp(4.0);
    CHECK(fabs(before.log_z_true - log(z)) < 1e-9);
    REQUIRE_OK(fg_gfn_train(g, 6000, NULL, NULL, NULL));
    fg_gfn_metrics after;
    memset(&after, 0, sizeof after);
    after.struct_size = sizeof after;
    REQUIRE_OK(fg_gfn_evaluate(g, &after));
    CHECK(after.l1 < 0.1 && after.l1 < before.l1 / 3);
    CHECK(after.n_modes == 1);
    fg_gfn_free(g);
}

static void test_bad_metrics_size(void) {
    SECTION("fg_gfn_evaluate: metrics struct sizes");
    fg_gfn_params p = small_params(FG_GFN_ENV_ISING, FG_GFN_LOSS_TB);
    fg_gfn *g = NULL;
    REQUIRE_OK(fg_gfn_create(&p, &g));
    fg_gfn_metrics m;
    memset(&m, 0, sizeof m);
    m.struct_size = 80;
    EXPECT_STATUS(FG_ERR_STRUCT_SIZE, fg_gfn_evaluate(g, &m));
    m.struct_size = sizeof m + 8;
    EXPECT_STATUS(FG_ERR_STRUCT_SIZE, fg_gfn_evaluate(g, &m));
    fg_gfn_free(g);
}

static void test_truncated_rollouts(void) {
    SECTION("fg_gfn_set_max_rollout_steps: FL-DB learns the set task from rollouts of <= 2 transitions");
    fg_gfn_params p = small_params(FG_GFN_ENV_SET, FG_GFN_LOSS_FLDB);
    p.seed = 1;
    fg_gfn_env_params e = fg_gfn_default_env_params();
    e.n_items = 8;
    e.set_size = 4;
    fg_gfn *g = NULL;
    REQUIRE_OK(fg_gfn_create_env(&p, &e, &g));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_set_max_rollout_steps(NULL, 2));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_set_max_rollout_steps(g, (uint64_t)1 << 21));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_set_max_rollout_steps(g, UINT64_MAX));
    CHECK(fg_gfn_max_rollout_steps(g) == 0);
    CHECK(fg_gfn_max_rollout_steps(NULL) == 0);
    EXPECT_OK(fg_gfn_set_max_rollout_steps(g, 2));
    CHECK(fg_gfn_max_rollout_steps(g) == 2);
    /* Replay stores whole trajectories: refused while truncation is on. */
    fg_gfn_replay_params r = fg_gfn_replay_default_params();
    r.capacity = 100;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_set_replay(g, &r));
    CHECK(fg_gfn_replay_count(g) == 0);
    fg_gfn_metrics m;
    memset(&m, 0, sizeof m);
    m.struct_size = sizeof m;
    REQUIRE_OK(fg_gfn_train(g, 4000, NULL, NULL, NULL));
    REQUIRE_OK(fg_gfn_evaluate(g, &m));
    /* Every set trajectory has 5 transitions: K = 2 needs 3 steps per trajectory. */
    CHECKF(m.trajectories >= 4000 && fg_gfn_step(g) >= 3 * 4000 / 16, "trajectories %llu steps %llu",
           (unsigned long long)m.trajectories, (unsigned long long)fg_gfn_step(g));
    CHECKF(m.l1 < 0.1, "l1 %g", m.l1);
    /* Save/load keeps K. */
    char path[] = "/tmp/flowgen-c-trunc-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    REQUIRE_OK(fg_gfn_save(g, path));
    fg_gfn *loaded = NULL;
    REQUIRE_OK(fg_gfn_load(path, &loaded));
    CHECK(fg_gfn_max_rollout_steps(loaded) == 2);
    fg_gfn_free(loaded);
    unlink(path);
    EXPECT_OK(fg_gfn_set_max_rollout_steps(g, 0));
    EXPECT_OK(fg_gfn_set_replay(g, &r));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_set_max_rollout_steps(g, 2));
    CHECK(fg_gfn_max_rollout_steps(g) == 0);
    fg_gfn_free(g);

    /* TB needs whole trajectories: refused, the GFlowNet unchanged. */
    fg_gfn_params tbp = small_params(FG_GFN_ENV_SET, FG_GFN_LOSS_TB);
    REQUIRE_OK(fg_gfn_create_env(&tbp, &e, &g));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_set_max_rollout_steps(g, 2));
    CHECK(strstr(fg_last_error(), "incomplete") != NULL);
    CHECK(fg_gfn_max_rollout_steps(g) == 0);
    REQUIRE_OK(fg_gfn_train(g, 32, NULL, NULL, NULL));
    CHECK(fg_gfn_step(g) == 2);
    fg_gfn_free(g);
}

int main(void) {
    fg_test_install_handlers();
    setvbuf(stdout, NULL, _IONBF, 0);
    test_defaults_and_training();
    test_bad_env_params();
    test_bad_metrics_size();
    test_reward_only_set();
    test_truncated_rollouts();
    return fg_test_finish("c_gfn_envs");
}
