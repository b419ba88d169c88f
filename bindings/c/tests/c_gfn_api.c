/*
 * c_gfn_api.c — GFlowNet API extensions from C: a user environment implementing HyperGrid through
 * fg_gfn_env callbacks reproduces the built-in HyperGrid bit-for-bit (same seed); failing and
 * inconsistent callbacks abort with FG_ERR_CALLBACK and leave the GFlowNet unchanged and usable;
 * external-policy losses (fg_gfn_external_loss) against hand values, and their misuse.
 */
#define _XOPEN_SOURCE 700
#include "fg_test.h"

/* ---- HyperGrid as a user environment (torchgfn's definition) ---- */
typedef struct {
    int ndim, height;
    int fail_in;          /* 0 none; 1 forward_mask, 2 step, 3 encode, 4 log_reward */
    int fail_after;       /* calls before failing */
    int calls;
    int bad_step;         /* step moves the wrong coordinate */
    int nan_reward;
    size_t list_limit;    /* all_states lists only this many states (0: all) */
} grid_t;

static int should_fail(grid_t *g, int which) {
    if (g->fail_in != which) return 0;
    if (++g->calls <= g->fail_after) return 0;
    fg_gfn_set_callback_error("synthetic failure");
    return 1;
}

static int32_t g_forward(const int32_t *s, size_t n, uint8_t *mask, void *ud) {
    grid_t *g = ud;
    if (should_fail(g, 1)) return 7;
    for (size_t i = 0; i < n; i++) {
        for (int d = 0; d < g->ndim; d++) mask[i * (g->ndim + 1) + d] = s[i * g->ndim + d] < g->height - 1;
        mask[i * (g->ndim + 1) + g->ndim] = 1;
    }
    return 0;
}

static int32_t g_backward(const int32_t *s, size_t n, uint8_t *mask, void *ud) {
    grid_t *g = ud;
    for (size_t i = 0; i < n * (size_t)g->ndim; i++) mask[i] = s[i] > 0;
    return 0;
}

static int32_t g_step(const int32_t *s, const int32_t *a, size_t n, int32_t *out, void *ud) {
    grid_t *g = ud;
    if (should_fail(g, 2)) return 3;
    memcpy(out, s, n * g->ndim * sizeof *s);
    for (size_t i = 0; i < n; i++) {
        int d = a[i];
        if (g->bad_step && d == 0 && g->ndim > 1) d = 1;
        out[i * g->ndim + d] += 1;
    }
    return 0;
}

static int32_t g_back_step(const int32_t *s, const int32_t *a, size_t n, int32_t *out, void *ud) {
    grid_t *g = ud;
    memcpy(out, s, n * g->ndim * sizeof *s);
    for (size_t i = 0; i < n; i++) out[i * g->ndim + a[i]] -= 1;
    return 0;
}

static double g_reward(const grid_t *g, const int32_t *x) {
    int outer = 1, band = 1;
    for (int d = 0; d < g->ndim; d++) {
        double ad = fabs((double)x[d] / (double)(g->height - 1) - 0.5);
        if (!(0.25 + 1e-12 < ad)) outer = 0;
        if (!(0.3 + 1e-12 < ad && ad < 0.4 - 1e-12)) band = 0;
    }
    return 0.1 + (outer ? 0.5 : 0) + (band ? 2.0 : 0);
}

static int32_t g_log_reward(const int32_t *s, size_t n, size_t dim, double *out, void *ud) {
    grid_t *g = ud;
    if (dim != (size_t)g->ndim) return 9;
    if (should_fail(g, 4)) return 4;
    for (size_t i = 0; i < n; i++) out[i] = g->nan_reward ? NAN : log(g_reward(g, s + i * dim));
    return 0;
}

static int32_t g_encode(const int32_t *s, size_t n, float *out, void *ud) {
    grid_t *g = ud;
    if (should_fail(g, 3)) return 5;
    size_t w = (size_t)g->ndim * g->height;
    memset(out, 0, n * w * sizeof *out);
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < g->ndim; d++) out[i * w + d * g->height + s[i * g->ndim + d]] = 1;
    return 0;
}

/* State i has x_d = (i / H^d) mod H: the built-in order (topological). */
static int32_t g_all(int32_t *out, void *ud) {
    grid_t *g = ud;
    size_t total = 1;
    for (int d = 0; d < g->ndim; d++) total *= (size_t)g->height;
    if (g->list_limit > 0 && g->list_limit < total) total = g->list_limit;
    for (size_t i = 0; i < total; i++) {
        size_t r = i;
        for (int d = 0; d < g->ndim; d++) { out[i * g->ndim + d] = (int32_t)(r % g->height); r /= g->height; }
    }
    return 0;
}

static const int32_t zeros[8] = {0};

static fg_gfn_env grid_env(grid_t *g) {
    fg_gfn_env e = fg_gfn_env_default();
    e.state_dim = (uint32_t)g->ndim;
    e.n_actions = (uint32_t)g->ndim + 1;
    e.encoding_dim = (uint32_t)(g->ndim * g->height);
    e.max_length = (uint32_t)(g->ndim * (g->height - 1) + 1);
    e.initial_state = zeros;
    e.n_states = 1;
    for (int d = 0; d < g->ndim; d++) e.n_states *= (uint64_t)g->height;
    e.forward_mask = g_forward;
    e.backward_mask = g_backward;
    e.step = g_step;
    e.backward_step = g_back_step;
    e.log_reward = g_log_reward;
    e.encode = g_encode;
    e.all_states = g_all;
    e.user_data = g;
    return e;
}

static fg_gfn_params small_params(uint32_t loss) {
    fg_gfn_params p = fg_gfn_default_params();
    p.ndim = 2;
    p.height = 8;
    p.hidden_width = 64;
    p.loss = loss;
    p.seed = 5;
    return p;
}

static void test_user_grid_matches_builtin(uint32_t loss) {
    SECTION(loss == FG_GFN_LOSS_TB ? "user HyperGrid == built-in (TB)" : "user HyperGrid == built-in (SubTB)");
    grid_t g = {2, 8, 0, 0, 0, 0, 0, 0};
    fg_gfn_env e = grid_env(&g);
    fg_gfn_params p = small_params(loss);
    fg_gfn *builtin = NULL, *user = NULL;
    REQUIRE_OK(fg_gfn_create(&p, &builtin));
    if (!EXPECT_OK(fg_gfn_create_with_env(&p, &e, &user))) { fg_gfn_free(builtin); return; }
    float lb = 0, lu = 0;
    EXPECT_OK(fg_gfn_train(builtin, 1600, NULL, NULL, &lb));
    EXPECT_OK(fg_gfn_train(user, 1600, NULL, NULL, &lu));
    CHECKF(lb == lu, "last loss %.9g vs %.9g", lb, lu);
    float pb[64], pu[64];
    size_t n = 0;
    EXPECT_OK(fg_gfn_exact_distribution(builtin, pb, 64, &n));
    EXPECT_OK(fg_gfn_exact_distribution(user, pu, 64, &n));
    CHECK(n == 64 && memcmp(pb, pu, sizeof pb) == 0);
    fg_gfn_metrics mb = {0}, mu = {0};
    mb.struct_size = mu.struct_size = sizeof(fg_gfn_metrics);
    EXPECT_OK(fg_gfn_evaluate(builtin, &mb));
    EXPECT_OK(fg_gfn_evaluate(user, &mu));
    CHECKF(mb.l1 == mu.l1 && mb.log_z_true == mu.log_z_true && mb.modes_found == mu.modes_found && mb.n_modes == 4,
           "l1 %g vs %g, modes %llu/%llu", mb.l1, mu.l1, (unsigned long long)mu.modes_found, (unsigned long long)mu.n_modes);
    CHECKF(fabs(mu.log_z_true - 3.1091) < 1e-4, "log Z true %g", mu.log_z_true);
    int32_t sb[40], su[40];
    EXPECT_OK(fg_gfn_sample(builtin, 20, 9, sb, 40, &n));
    EXPECT_OK(fg_gfn_sample(user, 20, 9, su, 40, &n));
    CHECK(memcmp(sb, su, sizeof sb) == 0);
    fg_gfn_free(builtin);
    fg_gfn_free(user);
}

static void test_failing_callbacks(void) {
    SECTION("failing callbacks leave the GFlowNet unchanged and usable");
    for (int which = 1; which <= 4; which++) {
        grid_t g = {2, 8, 0, 0, 0, 0, 0, 0};
        fg_gfn_env e = grid_env(&g);
        fg_gfn_params p = small_params(FG_GFN_LOSS_TB);
        fg_gfn *gfn = NULL;
        REQUIRE_OK(fg_gfn_create_with_env(&p, &e, &gfn));
        EXPECT_OK(fg_gfn_train(gfn, 32, NULL, NULL, NULL));
        float before[64], after[64];
        size_t n = 0;
        EXPECT_OK(fg_gfn_exact_distribution(gfn, before, 64, &n));
        g.fail_in = which;
        g.fail_after = 2;
        g.calls = 0;
        EXPECT_STATUS(FG_ERR_CALLBACK, fg_gfn_train(gfn, 64, NULL, NULL, NULL));
        CHECKF(strstr(fg_test_last_message, "synthetic failure") != NULL, "message: %s", fg_test_last_message);
        CHECK(fg_gfn_step(gfn) == 2 || which == 4);   /* a failure inside the 3rd step keeps 2 steps */
        uint64_t steps = fg_gfn_step(gfn);
        g.fail_in = 0;
        EXPECT_OK(fg_gfn_exact_distribution(gfn, after, 64, &n));
        if (steps == 2) CHECK(memcmp(before, after, sizeof before) == 0);
        EXPECT_OK(fg_gfn_train(gfn, 16, NULL, NULL, NULL));
        CHECK(fg_gfn_step(gfn) == steps + 1);
        /* Exact metrics and sampling fail cleanly, then work. */
        g.fail_in = which == 4 ? 4 : 1;
        g.fail_after = 0;
        g.calls = 0;
        fg_gfn_metrics m = {0};
        m.struct_size = sizeof m;
        EXPECT_STATUS(FG_ERR_CALLBACK, fg_gfn_evaluate(gfn, &m));
        int32_t s[8];
        if (which != 4) EXPECT_STATUS(FG_ERR_CALLBACK, fg_gfn_sample(gfn, 4, 1, s, 8, &n));
        g.fail_in = 0;
        EXPECT_OK(fg_gfn_evaluate(gfn, &m));
        CHECK(m.n_modes == 4);
        fg_gfn_free(gfn);
    }
}

static void test_env_misuse(void) {
    SECTION("fg_gfn_create_with_env misuse");
    grid_t g = {2, 4, 0, 0, 0, 0, 0, 0};
    fg_gfn_env e = grid_env(&g);
    fg_gfn_params p = small_params(FG_GFN_LOSS_TB);
    fg_gfn *gfn = (fg_gfn *)&g;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_create_with_env(&p, NULL, &gfn));
    CHECK(gfn == NULL);
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_create_with_env(&p, &e, NULL));
    fg_gfn_env bad = e;
    bad.struct_size = 4;
    EXPECT_STATUS(FG_ERR_STRUCT_SIZE, fg_gfn_create_with_env(&p, &bad, &gfn));
    bad = e; bad.step = NULL;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_create_with_env(&p, &bad, &gfn));
    bad = e; bad.initial_state = NULL;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_create_with_env(&p, &bad, &gfn));
    bad = e; bad.all_states = NULL;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_create_with_env(&p, &bad, &gfn));
    bad = e; bad.n_actions = 1;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_create_with_env(&p, &bad, &gfn));
    bad = e; bad.state_dim = 0;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_create_with_env(&p, &bad, &gfn));
    bad = e; bad.n_states = (1ull << 24) + 1;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_create_with_env(&p, &bad, &gfn));
    bad = e; bad.n_states = 15;  /* the list then misses the cell (3, 3), a child of the grid */
    g.list_limit = 15;
    EXPECT_STATUS(FG_ERR_CALLBACK, fg_gfn_create_with_env(&p, &bad, &gfn));
    CHECKF(strstr(fg_test_last_message, "not listed") != NULL, "message: %s", fg_test_last_message);
    g.list_limit = 0;
    fg_gfn_params bp = p;
    bp.batch_size = 0;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_create_with_env(&bp, &e, &gfn));
    /* Masks that disagree with step are found by the enumeration check. */
    g.bad_step = 1;
    EXPECT_STATUS(FG_ERR_CALLBACK, fg_gfn_create_with_env(&p, &e, &gfn));
    CHECKF(strstr(fg_test_last_message, "disagree") != NULL, "message: %s", fg_test_last_message);
    g.bad_step = 0;
    /* ... and during training when the environment is not enumerable. */
    fg_gfn_env lazy = e;
    lazy.n_states = 0;
    g.bad_step = 1;
    REQUIRE_OK(fg_gfn_create_with_env(&p, &lazy, &gfn));
    EXPECT_STATUS(FG_ERR_CALLBACK, fg_gfn_train(gfn, 16, NULL, NULL, NULL));
    CHECK(fg_gfn_step(gfn) == 0);
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_evaluate(gfn, &(fg_gfn_metrics){.struct_size = sizeof(fg_gfn_metrics)}));
    g.bad_step = 0;
    g.nan_reward = 1;
    EXPECT_STATUS(FG_ERR_NON_FINITE, fg_gfn_train(gfn, 16, NULL, NULL, NULL));
    g.nan_reward = 0;
    EXPECT_OK(fg_gfn_train(gfn, 16, NULL, NULL, NULL));
    CHECK(fg_gfn_step(gfn) == 1);
    fg_gfn_free(gfn);
}

static void test_external_loss(void) {
    SECTION("fg_gfn_external_loss values, gradients and misuse");
    /* T = 3, B = 2; trajectory 0 has 2 transitions, trajectory 1 has 3 (ObjectiveTests' batch). */
    const float pf[6] = {-0.5f, -1.0f, -0.2f, -0.7f, NAN, -0.3f};
    const float pb[6] = {-0.1f, -0.4f, NAN, -0.6f, NAN, NAN};
    const float lf[6] = {1.0f, 1.2f, 0.5f, 0.8f, NAN, 0.3f};
    const float lr[2] = {0.2f, -0.5f};
    const uint32_t len[2] = {2, 3};
    fg_gfn_external_batch b = fg_gfn_external_default_batch();
    b.max_length = 3;
    b.batch_size = 2;
    b.log_pf = pf; b.log_pb = pb; b.log_r = lr; b.lengths = len;
    b.log_z = 1.5f;
    float loss = 0, gz = 0, gpf[6], gpb[6], gf[6];
    EXPECT_OK(fg_gfn_external_loss(&b, &loss, gpf, gpb, NULL, 6, &gz));
    CHECKF(fabsf(loss - 0.745f) < 1e-6f, "TB loss %g", loss);       /* deltas 0.7, 1.0 */
    CHECKF(fabsf(gz - 1.7f) < 1e-5f, "d/dlogZ %g", gz);
    CHECKF(fabsf(gpf[0] - 0.7f) < 1e-6f && fabsf(gpf[5] - 1.0f) < 1e-6f && gpf[4] == 0, "grad log_pf %g %g %g", gpf[0], gpf[5], gpf[4]);
    CHECKF(fabsf(gpb[3] + 1.0f) < 1e-6f && gpb[2] == 0 && gpb[5] == 0, "grad log_pb %g %g", gpb[3], gpb[2]);
    b.loss = FG_GFN_LOSS_DB;
    b.log_f = lf;
    EXPECT_OK(fg_gfn_external_loss(&b, &loss, gpf, gpb, gf, 6, NULL));
    CHECKF(fabsf(loss - 0.094f) < 1e-6f, "DB loss %g", loss);
    /* Forward-looking with zero energies equals plain DB. */
    const float e0[6] = {0};
    b.energies = e0;
    float fl = 0;
    EXPECT_OK(fg_gfn_external_loss(&b, &fl, NULL, NULL, NULL, 0, NULL));
    CHECK(fl == loss);
    b.energies = NULL;
    /* Misuse. */
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_external_loss(NULL, &loss, NULL, NULL, NULL, 0, NULL));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_external_loss(&b, NULL, NULL, NULL, NULL, 0, NULL));
    EXPECT_STATUS(FG_ERR_BUFFER_TOO_SMALL, fg_gfn_external_loss(&b, &loss, gpf, NULL, NULL, 5, NULL));
    fg_gfn_external_batch bad = b;
    bad.batch_size = 0;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_external_loss(&bad, &loss, NULL, NULL, NULL, 0, NULL));
    bad = b; bad.loss = 42;
    EXPECT_STATUS(FG_ERR_UNKNOWN_ENUM, fg_gfn_external_loss(&bad, &loss, NULL, NULL, NULL, 0, NULL));
    bad = b; bad.loss = FG_GFN_LOSS_FM;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_external_loss(&bad, &loss, NULL, NULL, NULL, 0, NULL));
    bad = b; bad.log_f = NULL;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_external_loss(&bad, &loss, NULL, NULL, NULL, 0, NULL));
    bad = b; bad.max_length = UINT64_MAX;
    EXPECT_STATUS(FG_ERR_OUT_OF_MEMORY, fg_gfn_external_loss(&bad, &loss, NULL, NULL, NULL, 0, NULL));
    const uint32_t long_len[2] = {2, 4};
    bad = b; bad.lengths = long_len;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_external_loss(&bad, &loss, NULL, NULL, NULL, 0, NULL));
    const float nan_r[2] = {0.2f, NAN};
    bad = b; bad.log_r = nan_r;
    EXPECT_STATUS(FG_ERR_NON_FINITE, fg_gfn_external_loss(&bad, &loss, NULL, NULL, NULL, 0, NULL));
    const float nan_pf[6] = {NAN, -1.0f, -0.2f, -0.7f, 0, -0.3f};
    bad = b; bad.log_pf = nan_pf;
    EXPECT_STATUS(FG_ERR_NON_FINITE, fg_gfn_external_loss(&bad, &loss, NULL, NULL, NULL, 0, NULL));
    bad = b; bad.loss = FG_GFN_LOSS_SUBTB; bad.lambda = 0;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_external_loss(&bad, &loss, NULL, NULL, NULL, 0, NULL));
    bad = b; bad.struct_size = 3;
    EXPECT_STATUS(FG_ERR_STRUCT_SIZE, fg_gfn_external_loss(&bad, &loss, NULL, NULL, NULL, 0, NULL));
}

static void test_replay(void) {
    SECTION("fg_gfn_set_replay on a user environment, and misuse");
    grid_t g = {2, 8, 0, 0, 0, 0, 0, 0};
    fg_gfn_env e = grid_env(&g);
    fg_gfn_params p = small_params(FG_GFN_LOSS_TB);
    fg_gfn *gfn = NULL;
    REQUIRE_OK(fg_gfn_create_with_env(&p, &e, &gfn));
    fg_gfn_replay_params r = fg_gfn_replay_default_params();
    CHECK(r.capacity == 0 && r.ratio == 0.5f && r.kind == FG_GFN_REPLAY_TRAJECTORY);
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_set_replay(NULL, &r));
    r.capacity = 100;
    r.kind = 7;
    EXPECT_STATUS(FG_ERR_UNKNOWN_ENUM, fg_gfn_set_replay(gfn, &r));
    r.kind = FG_GFN_REPLAY_BACKWARD;
    r.ratio = 1.0f;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_set_replay(gfn, &r));
    r.ratio = 0.5f;
    r.struct_size = 1;
    EXPECT_STATUS(FG_ERR_STRUCT_SIZE, fg_gfn_set_replay(gfn, &r));
    r.struct_size = sizeof r;
    EXPECT_OK(fg_gfn_set_replay(gfn, &r));
    EXPECT_OK(fg_gfn_train(gfn, 320, NULL, NULL, NULL));
    CHECK(fg_gfn_replay_count(gfn) == 100);
    /* A failing callback during a replay step leaves the buffer and the GFlowNet as they were. */
    g.fail_in = 4;
    g.fail_after = 0;
    uint64_t steps = fg_gfn_step(gfn);
    EXPECT_STATUS(FG_ERR_CALLBACK, fg_gfn_train(gfn, 16, NULL, NULL, NULL));
    CHECK(fg_gfn_step(gfn) == steps && fg_gfn_replay_count(gfn) == 100);
    g.fail_in = 0;
    EXPECT_OK(fg_gfn_train(gfn, 16, NULL, NULL, NULL));
    EXPECT_OK(fg_gfn_set_replay(gfn, NULL));
    CHECK(fg_gfn_replay_count(gfn) == 0 && fg_gfn_replay_count(NULL) == 0);
    fg_gfn_free(gfn);
}

static void test_env_checkpoint(void) {
    SECTION("a GFlowNet on a user environment (with replay) saves and loads with the same callbacks");
    grid_t g = {2, 8, 0, 0, 0, 0, 0, 0};
    fg_gfn_env e = grid_env(&g);
    fg_gfn_params p = small_params(FG_GFN_LOSS_TB);
    fg_gfn *gfn = NULL, *loaded = (fg_gfn *)&g;
    REQUIRE_OK(fg_gfn_create_with_env(&p, &e, &gfn));
    fg_gfn_replay_params r = fg_gfn_replay_default_params();
    r.capacity = 40;
    EXPECT_OK(fg_gfn_set_replay(gfn, &r));
    EXPECT_OK(fg_gfn_train(gfn, 96, NULL, NULL, NULL));
    char path[256];
    snprintf(path, sizeof path, "%s/fg_gfn_user_env_%d.safetensors", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    EXPECT_OK(fg_gfn_save(gfn, path));
    /* Without the environment, with a NULL one, or with one of another shape: refused. */
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_load(path, &loaded));
    CHECK(loaded == NULL);
    loaded = (fg_gfn *)&g;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_load_with_env(path, NULL, &loaded));
    CHECK(loaded == NULL);
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_load_with_env(path, &e, NULL));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_load_with_env(NULL, &e, &loaded));
    grid_t other = {2, 6, 0, 0, 0, 0, 0, 0};
    fg_gfn_env wrong = grid_env(&other);
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_load_with_env(path, &wrong, &loaded));
    CHECKF(strstr(fg_test_last_message, "does not match") != NULL, "message: %s", fg_test_last_message);
    /* A built-in checkpoint is not loaded with an environment. */
    fg_gfn *builtin = NULL;
    fg_gfn_params bp = small_params(FG_GFN_LOSS_TB);
    REQUIRE_OK(fg_gfn_create(&bp, &builtin));
    char builtin_path[300];
    snprintf(builtin_path, sizeof builtin_path, "%s.builtin", path);
    EXPECT_OK(fg_gfn_save(builtin, builtin_path));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_load_with_env(builtin_path, &e, &loaded));
    fg_gfn_free(builtin);
    remove(builtin_path);
    /* The same callbacks: training continues exactly as the original's. */
    REQUIRE_OK(fg_gfn_load_with_env(path, &e, &loaded));
    CHECK(fg_gfn_step(loaded) == fg_gfn_step(gfn) && fg_gfn_replay_count(loaded) == 40);
    EXPECT_OK(fg_gfn_train(gfn, 64, NULL, NULL, NULL));
    EXPECT_OK(fg_gfn_train(loaded, 64, NULL, NULL, NULL));
    float a[64], b[64];
    size_t n = 0;
    EXPECT_OK(fg_gfn_exact_distribution(gfn, a, 64, &n));
    EXPECT_OK(fg_gfn_exact_distribution(loaded, b, 64, &n));
    CHECK(n == 64 && memcmp(a, b, sizeof a) == 0);
    fg_gfn_free(loaded);
    fg_gfn_free(gfn);
    remove(path);
}

/* log R(x | c) = c * x0 (one condition entry); fails when *user_data is non-zero. */
static int32_t cond_reward(const int32_t *states, const float *conditions, size_t n, size_t dim, size_t cdim,
                           double *out, void *ud) {
    if (*(int *)ud) {
        fg_gfn_set_callback_error("conditional reward refused");
        return 2;
    }
    if (cdim != 1) return 3;
    for (size_t i = 0; i < n; i++) out[i] = (double)conditions[i] * states[i * dim];
    return 0;
}

static void test_conditional(void) {
    SECTION("fg_gfn_cond_*: training, exact distributions, log Z(c), misuse");
    int fail = 0;
    fg_gfn_params p = fg_gfn_default_params();
    p.ndim = 2;
    p.height = 4;
    p.hidden_width = 64;
    p.seed = 3;
    fg_gfn_cond *gfn = NULL;
    REQUIRE_OK(fg_gfn_cond_create(&p, 1, cond_reward, &fail, &gfn));
    const float set[2] = {1.0f, -1.0f};
    float loss = 0;
    EXPECT_OK(fg_gfn_cond_train(gfn, set, 2, 4800, NULL, NULL, &loss));
    for (int k = 0; k < 2; k++) {
        float learned[16], target[16];
        size_t n = 0;
        EXPECT_OK(fg_gfn_cond_exact_distribution(gfn, &set[k], learned, 16, &n));
        EXPECT_OK(fg_gfn_cond_target_distribution(gfn, &set[k], target, 16, &n));
        double l1 = 0;
        for (int i = 0; i < 16; i++) l1 += fabs((double)learned[i] - target[i]);
        float z = 0;
        double z_true = 0;
        EXPECT_OK(fg_gfn_cond_log_z(gfn, &set[k], &z, &z_true));
        /* log Z(c) = 2 log(sum_{x0} e^{c x0}) / ... : x1 contributes log 4, x0 log sum_{v<4} e^{c v}. */
        double expected = log(4.0) + log(1 + exp(set[k]) + exp(2 * set[k]) + exp(3 * set[k]));
        CHECKF(fabs(z_true - expected) < 1e-9, "true log Z %g vs %g", z_true, expected);
        CHECKF(l1 < 0.08 && fabs(z - z_true) < 0.08, "condition %g: l1 %g, log Z %g vs %g", set[k], l1, z, z_true);
    }
    int32_t cells[8];
    size_t len = 0;
    EXPECT_OK(fg_gfn_cond_sample(gfn, &set[0], 4, 1, cells, 8, &len));
    CHECK(len == 8);
    EXPECT_STATUS(FG_ERR_BUFFER_TOO_SMALL, fg_gfn_cond_sample(gfn, &set[0], 4, 1, cells, 7, &len));
    const float bad = NAN;
    EXPECT_STATUS(FG_ERR_NON_FINITE, fg_gfn_cond_train(gfn, &bad, 1, 16, NULL, NULL, NULL));
    EXPECT_STATUS(FG_ERR_NON_FINITE, fg_gfn_cond_log_z(gfn, &bad, &loss, NULL));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_cond_train(gfn, set, 0, 16, NULL, NULL, NULL));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_cond_train(gfn, NULL, 1, 16, NULL, NULL, NULL));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_cond_exact_distribution(gfn, NULL, NULL, 0, &len));
    float before[16], after[16];
    size_t n = 0;
    EXPECT_OK(fg_gfn_cond_exact_distribution(gfn, &set[0], before, 16, &n));
    fail = 1;
    EXPECT_STATUS(FG_ERR_CALLBACK, fg_gfn_cond_train(gfn, set, 2, 16, NULL, NULL, NULL));
    CHECKF(strstr(fg_test_last_message, "conditional reward refused") != NULL, "message: %s", fg_test_last_message);
    fail = 0;
    EXPECT_OK(fg_gfn_cond_exact_distribution(gfn, &set[0], after, 16, &n));
    CHECK(memcmp(before, after, sizeof before) == 0);
    fg_gfn_cond_free(gfn);
    fg_gfn_cond_free(NULL);
    /* The same conditional run on a user environment (HyperGrid in C, log_reward unused) is identical. */
    grid_t g = {2, 4, 0, 0, 0, 0, 0, 0};
    fg_gfn_env e = grid_env(&g);
    e.log_reward = NULL;
    fg_gfn_cond *builtin = NULL, *user = NULL;
    REQUIRE_OK(fg_gfn_cond_create(&p, 1, cond_reward, &fail, &builtin));
    if (!EXPECT_OK(fg_gfn_cond_create_with_env(&p, &e, 1, cond_reward, &fail, &user))) { fg_gfn_cond_free(builtin); return; }
    float la = 0, lb = 0;
    EXPECT_OK(fg_gfn_cond_train(builtin, set, 2, 320, NULL, NULL, &la));
    EXPECT_OK(fg_gfn_cond_train(user, set, 2, 320, NULL, NULL, &lb));
    CHECKF(la == lb, "loss %g vs %g", la, lb);
    EXPECT_OK(fg_gfn_cond_exact_distribution(builtin, &set[1], before, 16, &n));
    EXPECT_OK(fg_gfn_cond_exact_distribution(user, &set[1], after, 16, &n));
    CHECK(memcmp(before, after, sizeof before) == 0);
    g.fail_in = 2;
    g.fail_after = 0;
    EXPECT_STATUS(FG_ERR_CALLBACK, fg_gfn_cond_train(user, set, 2, 16, NULL, NULL, NULL));
    g.fail_in = 0;
    /* Save and load (with the same reward, and the environment for the user one): training continues
       identically. */
    char path[256];
    snprintf(path, sizeof path, "%s/fg_gfn_cond_%d.safetensors", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    fg_gfn_cond *models[2] = {builtin, user};
    for (int m = 0; m < 2; m++) {
        fg_gfn_cond *loaded = NULL;
        EXPECT_OK(fg_gfn_cond_save(models[m], path));
        if (m == 0) {
            EXPECT_OK(fg_gfn_cond_load(path, cond_reward, &fail, &loaded));
        } else {
            EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_cond_load(path, cond_reward, &fail, &loaded));
            CHECK(loaded == NULL);
            EXPECT_OK(fg_gfn_cond_load_with_env(path, &e, cond_reward, &fail, &loaded));
        }
        if (loaded == NULL) continue;
        CHECK(fg_gfn_cond_condition_dim(loaded) == 1 && fg_gfn_cond_state_dim(loaded) == 2);
        EXPECT_OK(fg_gfn_cond_train(models[m], set, 2, 64, NULL, NULL, &la));
        EXPECT_OK(fg_gfn_cond_train(loaded, set, 2, 64, NULL, NULL, &lb));
        CHECKF(la == lb, "after loading: loss %g vs %g", la, lb);
        EXPECT_OK(fg_gfn_cond_exact_distribution(models[m], &set[0], before, 16, &n));
        EXPECT_OK(fg_gfn_cond_exact_distribution(loaded, &set[0], after, 16, &n));
        CHECK(memcmp(before, after, sizeof before) == 0);
        fg_gfn_cond_free(loaded);
    }
    remove(path);
    fg_gfn_cond_free(builtin);
    fg_gfn_cond_free(user);
    fg_gfn_cond *none = NULL;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_cond_create_with_env(&p, NULL, 1, cond_reward, &fail, &none));
    e.encode = NULL;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_cond_create_with_env(&p, &e, 1, cond_reward, &fail, &none));
    e.encode = g_encode;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_cond_create_with_env(&p, &e, 0, cond_reward, &fail, &none));
    CHECK(none == NULL);
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_gfn_cond_create(&p, 1, NULL, NULL, &gfn));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_cond_create(&p, 0, cond_reward, &fail, &gfn));
    p.loss = FG_GFN_LOSS_FM;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_gfn_cond_create(&p, 1, cond_reward, &fail, &gfn));
    CHECK(gfn == NULL);
}

int main(void) {
    fg_test_install_handlers();
    setvbuf(stdout, NULL, _IONBF, 0);
    test_external_loss();
    test_user_grid_matches_builtin(FG_GFN_LOSS_TB);
    test_user_grid_matches_builtin(FG_GFN_LOSS_SUBTB);
    test_failing_callbacks();
    test_env_misuse();
    test_replay();
    test_env_checkpoint();
    test_conditional();
    return fg_test_finish("c_gfn_api");
}
