/* A minimal program using an installed flowgen: built once with pkg-config and once with
 * find_package(flowgen) by the ctest c_install_consumers. */
#include <flowgen.h>

#include <stdio.h>

int main(void) {
    if (fg_version_number() != FLOWGEN_VERSION_NUMBER) {
        fprintf(stderr, "header %d and library %u versions differ\n", FLOWGEN_VERSION_NUMBER,
                (unsigned)fg_version_number());
        return 1;
    }
    const uint32_t layers[] = {2, 8, 1};
    const float x[] = {0.0f, 1.0f, 1.0f, 0.0f, 0.5f, 0.5f, -1.0f, 2.0f};
    const float y[] = {1.0f, 1.0f, 0.5f, 3.0f};
    float pred[4];
    size_t written = 0;
    float loss = 0.0f;
    fg_mlp *model = NULL;
    fg_status s = fg_mlp_create(layers, 3, NULL, &model);
    if (s == FG_OK) s = fg_mlp_fit(model, x, 4, 2, y, 4, 20, NULL, NULL, &loss);
    if (s == FG_OK) s = fg_mlp_predict(model, x, 4, 2, pred, 4, &written);
    if (s != FG_OK) {
        fprintf(stderr, "flowgen call failed: %s: %s\n", fg_status_str(s), fg_last_error());
        fg_mlp_free(model);
        return 1;
    }
    fg_mlp_free(model);
    printf("consumer OK: flowgen %s, loss %.4f after %d steps, %zu predictions\n", fg_version_string(),
           (double)loss, 20, written);
    return 0;
}
