/*
 * fg_test.h — tiny check framework and data generators shared by the C tests of libflowgen.so.
 *
 *  - CHECK(cond), EXPECT_OK(call), EXPECT_STATUS(expected, call): record a failure and go on.
 *  - REQUIRE_OK(call): record a failure and return from the current (void) function.
 *  - SECTION("name"): names the checks that follow; a crash (SIGSEGV, SIGILL from a Swift trap, ...)
 *    or a hang (SIGALRM after FG_TEST_SECTION_SECONDS) prints the section before the process dies.
 *  - fg_test_finish(): prints the summary and gives the exit status.
 *
 * fg_last_error() is copied right after each call, before any other flowgen call (fg_status_str
 * included) can replace it.
 */
#ifndef FG_TEST_H
#define FG_TEST_H

#include <flowgen.h>

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef FG_TEST_SECTION_SECONDS
#define FG_TEST_SECTION_SECONDS 240
#endif

static int fg_test_failures;
static int fg_test_checks;
static const char *volatile fg_test_section = "(start)";

static inline void fg_test_write_stderr(const char *text) {
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t written = write(2, text, len);
        if (written <= 0) return;
        text += written;
        len -= (size_t)written;
    }
}

static inline void fg_test_on_fatal_signal(int signo) {
    const char *what = signo == SIGALRM ? "TIMEOUT (hang)" : "CRASH (fatal signal)";
    char number[16];
    int n = signo, i = 15;
    number[i] = '\0';
    do { number[--i] = (char)('0' + n % 10); n /= 10; } while (n > 0 && i > 0);
    fg_test_write_stderr("\n*** ");
    fg_test_write_stderr(what);
    fg_test_write_stderr(" signal ");
    fg_test_write_stderr(number + i);
    fg_test_write_stderr(" in section: ");
    fg_test_write_stderr(fg_test_section);
    fg_test_write_stderr("\n*** a flowgen call must never crash or hang the host process\n");
    _exit(70);
}

static inline void fg_test_install_handlers(void) {
    static const int signals[] = {SIGSEGV, SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGABRT, SIGALRM};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = fg_test_on_fatal_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = (int)SA_RESETHAND;
        sigaction(signals[i], &action, NULL);
    }
}

static inline double fg_test_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static double fg_test_section_start;

/* Starts a named group of checks; prints how long the previous one took. */
#define SECTION(name)                                                       \
    do {                                                                    \
        double now_ = fg_test_now();                                        \
        if (fg_test_section_start > 0)                                      \
            fprintf(stderr, "   (%.2f s)\n", now_ - fg_test_section_start); \
        fg_test_section_start = now_;                                       \
        fg_test_section = (name);                                           \
        alarm(FG_TEST_SECTION_SECONDS);                                     \
        fprintf(stderr, "-- %s\n", fg_test_section);                        \
    } while (0)

#define FG_TEST_FAIL_HEADER() \
    fprintf(stderr, "%s:%d: [%s] FAILED: ", __FILE__, __LINE__, fg_test_section)

#define CHECK(cond)                                                         \
    do {                                                                    \
        fg_test_checks++;                                                   \
        if (!(cond)) {                                                      \
            FG_TEST_FAIL_HEADER();                                          \
            fprintf(stderr, "%s\n", #cond);                                 \
            fg_test_failures++;                                             \
        }                                                                   \
    } while (0)

#define CHECKF(cond, ...)                                                   \
    do {                                                                    \
        fg_test_checks++;                                                   \
        if (!(cond)) {                                                      \
            FG_TEST_FAIL_HEADER();                                          \
            fprintf(stderr, "%s: ", #cond);                                 \
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, "\n");                                          \
            fg_test_failures++;                                             \
        }                                                                   \
    } while (0)

/* Copy of fg_last_error() taken right after the last checked call. */
static char fg_test_last_message[4096];

static inline void fg_test_capture_error(void) {
    const char *message = fg_last_error();
    if (message == NULL) {
        strcpy(fg_test_last_message, "<fg_last_error() returned NULL>");
    } else {
        snprintf(fg_test_last_message, sizeof fg_test_last_message, "%s", message);
    }
}

/* Returns 1 when `got == expected`; on a failure status also requires a non-empty message. */
static inline int fg_test_expect_status(const char *file, int line, const char *expr, fg_status expected,
                                 fg_status got) {
    const char *null_marker = "<fg_last_error() returned NULL>";
    fg_test_capture_error();
    fg_test_checks++;
    if (got != expected) {
        fprintf(stderr, "%s:%d: [%s] FAILED: %s\n    expected %s (%d), got %s (%d); fg_last_error: \"%s\"\n",
                file, line, fg_test_section, expr, fg_status_str(expected), (int)expected,
                fg_status_str(got), (int)got, fg_test_last_message);
        fg_test_failures++;
        return 0;
    }
    if (strcmp(fg_test_last_message, null_marker) == 0 ||
        (expected != FG_OK && fg_test_last_message[0] == '\0')) {
        fprintf(stderr, "%s:%d: [%s] FAILED: %s\n    returned %s as expected but fg_last_error() is %s\n",
                file, line, fg_test_section, expr, fg_status_str(got),
                fg_test_last_message[0] ? "NULL" : "empty");
        fg_test_failures++;
        return 0;
    }
    return 1;
}

#define EXPECT_STATUS(expected, call) \
    fg_test_expect_status(__FILE__, __LINE__, #call, (expected), (call))
#define EXPECT_OK(call) EXPECT_STATUS(FG_OK, call)
#define REQUIRE_OK(call)                                                    \
    do {                                                                    \
        if (!EXPECT_OK(call)) return;                                       \
    } while (0)

static inline int fg_test_finish(const char *name) {
    alarm(0);
    if (fg_test_section_start > 0) fprintf(stderr, "   (%.2f s)\n", fg_test_now() - fg_test_section_start);
    if (fg_test_failures == 0) {
        printf("%s: all %d checks passed\n", name, fg_test_checks);
        return 0;
    }
    printf("%s: %d of %d checks FAILED\n", name, fg_test_failures, fg_test_checks);
    return 1;
}

/* ------------------------------------------------------------------------------------------------
 * Deterministic data (64-bit LCG, Knuth's MMIX constants).
 * ---------------------------------------------------------------------------------------------- */
static inline float fg_test_uniform(uint64_t *state, float low, float high) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    float unit = (float)(uint32_t)(*state >> 40) * (1.0f / 16777216.0f); /* [0, 1) */
    return low + (high - low) * unit;
}

/* x [n, 2] uniform in [-2, 2] x [-1, 1]; y [n] = sin(x0) + x1^2. */
static inline void fg_test_regression_data(uint64_t seed, size_t n, float *x, float *y) {
    uint64_t state = seed;
    for (size_t i = 0; i < n; i++) {
        float x0 = fg_test_uniform(&state, -2.0f, 2.0f);
        float x1 = fg_test_uniform(&state, -1.0f, 1.0f);
        x[2 * i] = x0;
        x[2 * i + 1] = x1;
        y[i] = sinf(x0) + x1 * x1;
    }
}

/* Two interleaving half-moons with noise: x [n, 2], y [n] class ids 0/1 stored as floats. */
static inline void fg_test_moons_data(uint64_t seed, size_t n, float noise, float *x, float *y) {
    uint64_t state = seed;
    for (size_t i = 0; i < n; i++) {
        int label = (int)(i % 2);
        float angle = fg_test_uniform(&state, 0.0f, 3.14159265f);
        float px = label == 0 ? cosf(angle) : 1.0f - cosf(angle);
        float py = label == 0 ? sinf(angle) : 0.5f - sinf(angle);
        x[2 * i] = px + noise * fg_test_uniform(&state, -1.0f, 1.0f);
        x[2 * i + 1] = py + noise * fg_test_uniform(&state, -1.0f, 1.0f);
        y[i] = (float)label;
    }
}

static inline int fg_test_same_bits(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof(float)) == 0;
}

#endif /* FG_TEST_H */
