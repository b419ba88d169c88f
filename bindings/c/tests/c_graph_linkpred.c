/*
 * c_graph_linkpred — link predictors from C: NCN/NCNC training on a small synthetic graph, the report's
 * test_ap with the old and new struct sizes, the 85/5/10 split protocol (val_auroc; older params and report
 * sizes), fg_linkpred_average_precision, fg_linkpred_save/_load round
 * trips (bit-identical scores) and their misuse (NULLs, bad paths, missing, garbage, truncated and
 * mismatched files). Every failing call must return the documented status with a message and leave
 * *out == NULL.
 */
#define _XOPEN_SOURCE 700
#include "fg_test.h"

#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

enum { N = 80, F = 12, GROUPS = 4 };

static char temp_dir[256];
static fg_linkpred *const SENTINEL = (fg_linkpred *)(uintptr_t)0x5eed;

/* Four dense groups of 20 nodes plus a few links between them; features = noisy one-hot group id. */
static fg_graph *make_graph(size_t n_nodes) {
    int64_t edges[2 * 1000];
    size_t m = 0;
    uint64_t state = 42;
    for (size_t u = 0; u < N; u++) {
        for (size_t v = u + 1; v < N; v++) {
            float r = fg_test_uniform(&state, 0, 1);
            int same = u % GROUPS == v % GROUPS;
            if ((same && r < 0.35f) || (!same && r < 0.01f)) {
                edges[2 * m] = (int64_t)u;
                edges[2 * m + 1] = (int64_t)v;
                m++;
            }
        }
    }
    static float features[(N + 8) * F];
    if (n_nodes > N + 8) return NULL;
    for (size_t i = 0; i < n_nodes * F; i++) features[i] = fg_test_uniform(&state, 0, 0.2f);
    for (size_t i = 0; i < n_nodes; i++) features[i * F + i % GROUPS] += 1;
    fg_graph *g = NULL;
    if (!EXPECT_OK(fg_graph_create(n_nodes, edges, m, FG_INDEX_INT64, features, n_nodes, F, NULL, 0, &g))) return NULL;
    return g;
}

static fg_linkpred *make_predictor(fg_graph *g, uint32_t model) {
    fg_linkpred_params p = fg_linkpred_default_params();
    p.model = model;
    p.hidden = 16;
    p.epochs = 5;
    p.batch_size = 64;
    p.hits_k = 5;
    fg_linkpred *lp = NULL;
    if (!EXPECT_OK(fg_linkpred_create(g, &p, &lp))) return NULL;
    return lp;
}

static int write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static void test_fit_report_and_ap(fg_graph *g) {
    SECTION("NCN and NCNC fit, report sizes, average precision");
    for (uint32_t model = FG_LINKPRED_NCN; model <= FG_LINKPRED_NCNC; model++) {
        fg_linkpred *lp = make_predictor(g, model);
        if (!lp) return;
        fg_linkpred_report r;
        memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        r.test_ap = -7;
        EXPECT_OK(fg_linkpred_fit(lp, 0, NULL, NULL, &r));
        CHECKF(r.test_ap > 0.5 && r.test_ap <= 1, "model %u test_ap %f", model, r.test_ap);
        CHECKF(r.test_auroc > 0.6, "model %u AUROC %f", model, r.test_auroc);
        /* The pre-AP struct size is accepted and test_ap is left alone. */
        fg_linkpred_report old;
        memset(&old, 0, sizeof old);
        old.struct_size = (uint32_t)offsetof(fg_linkpred_report, test_ap);
        old.test_ap = -7;
        EXPECT_OK(fg_linkpred_fit(lp, 0, NULL, NULL, &old));
        CHECK(old.test_ap == -7);
        CHECK(old.test_hits == r.test_hits);
        old.struct_size = 12;
        EXPECT_STATUS(FG_ERR_STRUCT_SIZE, fg_linkpred_fit(lp, 0, NULL, NULL, &old));

        int64_t pos[4] = {0, 4, 1, 5}, neg[4] = {0, 1, 2, 3};
        double ap = -1;
        EXPECT_OK(fg_linkpred_average_precision(lp, pos, 2, neg, 2, &ap));
        CHECK(ap >= 0 && ap <= 1);
        EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_linkpred_average_precision(NULL, pos, 2, neg, 2, &ap));
        EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_linkpred_average_precision(lp, NULL, 2, neg, 2, &ap));
        EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_linkpred_average_precision(lp, pos, 2, NULL, 2, &ap));
        EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_linkpred_average_precision(lp, pos, 2, neg, 2, NULL));
        EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_linkpred_average_precision(lp, pos, 0, neg, 2, &ap));
        EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_linkpred_average_precision(lp, pos, SIZE_MAX, neg, 2, &ap));
        int64_t bad[2] = {0, N};
        EXPECT_STATUS(FG_ERR_OUT_OF_RANGE, fg_linkpred_average_precision(lp, bad, 1, neg, 2, &ap));
        fg_linkpred_free(lp);
    }
}

static void test_save_load(fg_graph *g) {
    SECTION("save and load: round trip and misuse");
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/lp.safetensors", temp_dir);
    for (uint32_t model = FG_LINKPRED_CN; model <= FG_LINKPRED_NCNC; model++) {
        fg_linkpred *lp = make_predictor(g, model);
        if (!lp) return;
        EXPECT_OK(fg_linkpred_fit(lp, 3, NULL, NULL, NULL));
        REQUIRE_OK(fg_linkpred_save(lp, path));
        fg_linkpred *loaded = SENTINEL;
        REQUIRE_OK(fg_linkpred_load(g, path, &loaded));
        int64_t pairs[2 * N];
        for (size_t i = 0; i < N; i++) {
            pairs[2 * i] = (int64_t)i;
            pairs[2 * i + 1] = (int64_t)((i * 7 + 3) % N);
        }
        float a[N], b[N];
        size_t written = 0;
        EXPECT_OK(fg_linkpred_score(lp, pairs, N, a, N, &written));
        EXPECT_OK(fg_linkpred_score(loaded, pairs, N, b, N, &written));
        CHECKF(fg_test_same_bits(a, b, N), "model %u: loaded scores differ", model);
        fg_linkpred_free(loaded);
        fg_linkpred_free(lp);
    }
    fg_linkpred *lp = make_predictor(g, FG_LINKPRED_NCN);
    if (!lp) return;
    fg_linkpred *out = SENTINEL;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_linkpred_save(NULL, path));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_linkpred_save(lp, NULL));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_linkpred_save(lp, ""));
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_linkpred_save(lp, "\xff\xfe.safetensors"));
    snprintf(bad, sizeof bad, "%s/no/such/dir/lp.safetensors", temp_dir);
    EXPECT_STATUS(FG_ERR_IO, fg_linkpred_save(lp, bad));
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_linkpred_load(NULL, path, &out));
    CHECK(out == NULL);
    out = SENTINEL;
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_linkpred_load(g, NULL, &out));
    CHECK(out == NULL);
    EXPECT_STATUS(FG_ERR_NULL_ARGUMENT, fg_linkpred_load(g, path, NULL));
    out = SENTINEL;
    EXPECT_STATUS(FG_ERR_INVALID_ARGUMENT, fg_linkpred_load(g, "", &out));
    CHECK(out == NULL);
    out = SENTINEL;
    EXPECT_STATUS(FG_ERR_IO, fg_linkpred_load(g, bad, &out));
    CHECK(out == NULL);

    /* Garbage, truncated and bit-flipped files. */
    REQUIRE_OK(fg_linkpred_save(lp, path));
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) return;
    static unsigned char bytes[1 << 20];
    size_t len = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    CHECK(len > 64 && len < sizeof bytes);
    snprintf(bad, sizeof bad, "%s/corrupt.safetensors", temp_dir);
    const char garbage[] = "this is not a safetensors file at all";
    CHECK(write_bytes(bad, garbage, sizeof garbage));
    out = SENTINEL;
    EXPECT_STATUS(FG_ERR_CORRUPT_FILE, fg_linkpred_load(g, bad, &out));
    CHECK(out == NULL);
    CHECK(write_bytes(bad, bytes, len / 2));
    out = SENTINEL;
    EXPECT_STATUS(FG_ERR_CORRUPT_FILE, fg_linkpred_load(g, bad, &out));
    CHECK(out == NULL);
    CHECK(write_bytes(bad, bytes, 0));
    out = SENTINEL;
    EXPECT_STATUS(FG_ERR_CORRUPT_FILE, fg_linkpred_load(g, bad, &out));
    CHECK(out == NULL);
    /* A graph with another node count is refused. */
    fg_graph *other = make_graph(N + 5);
    if (other) {
        out = SENTINEL;
        EXPECT_STATUS(FG_ERR_CORRUPT_FILE, fg_linkpred_load(other, path, &out));
        CHECK(out == NULL);
        fg_graph_free(other);
    }
    unlink(bad);
    unlink(path);
    fg_linkpred_free(lp);
}

static void test_random_split_protocol(fg_graph *g) {
    SECTION("85/5/10 split protocol, val_auroc, older struct sizes");
    fg_linkpred_params p = fg_linkpred_default_params();
    CHECK(p.split_protocol == FG_LINKPRED_SPLIT_NCN);
    p.model = FG_LINKPRED_GAE;
    p.hidden = 16;
    p.epochs = 6;
    p.hits_k = 5;
    p.split_protocol = FG_LINKPRED_SPLIT_RANDOM;
    fg_linkpred *lp = NULL;
    if (!EXPECT_OK(fg_linkpred_create(g, &p, &lp))) return;
    fg_linkpred_report r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    EXPECT_OK(fg_linkpred_fit(lp, 2, NULL, NULL, &r));
    CHECKF(r.best_epoch >= 1 && r.best_epoch <= 6, "best epoch %u", r.best_epoch);
    CHECKF(r.val_auroc > 0.6 && r.val_auroc <= 1, "validation AUROC %f", r.val_auroc);
    CHECKF(r.test_auroc > 0.6 && r.test_auroc <= 1, "test AUROC %f", r.test_auroc);
    /* The report without val_auroc is accepted and val_auroc is left alone. */
    fg_linkpred_report old;
    memset(&old, 0, sizeof old);
    old.struct_size = (uint32_t)offsetof(fg_linkpred_report, val_auroc);
    old.val_auroc = -7;
    EXPECT_OK(fg_linkpred_fit(lp, 2, NULL, NULL, &old));
    CHECK(old.val_auroc == -7 && old.test_ap == r.test_ap && old.test_auroc == r.test_auroc);
    fg_linkpred_free(lp);

    p.split_protocol = 2;
    lp = SENTINEL;
    EXPECT_STATUS(FG_ERR_UNKNOWN_ENUM, fg_linkpred_create(g, &p, &lp));
    CHECK(lp == NULL);
    /* A caller built before split_protocol existed: the field is beyond its struct and must not be read. */
    p.struct_size = (uint32_t)((offsetof(fg_linkpred_params, split_protocol) + 7) / 8 * 8);
    if (EXPECT_OK(fg_linkpred_create(g, &p, &lp))) {
        memset(&old, 0, sizeof old);
        old.struct_size = sizeof old;
        EXPECT_OK(fg_linkpred_fit(lp, 2, NULL, NULL, &old));
        CHECKF(old.val_hits > 0 && old.best_epoch >= 1, "NCN protocol val HR %f", old.val_hits);
        fg_linkpred_free(lp);
    }
}

int main(void) {
    fg_test_install_handlers();
    setvbuf(stdout, NULL, _IONBF, 0);
    snprintf(temp_dir, sizeof temp_dir, "%s/fg_c_graph_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(temp_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    fg_graph *g = make_graph(N);
    if (g) {
        test_fit_report_and_ap(g);
        test_random_split_protocol(g);
        test_save_load(g);
        fg_graph_free(g);
    }
    rmdir(temp_dir);
    return fg_test_finish("c_graph_linkpred");
}
