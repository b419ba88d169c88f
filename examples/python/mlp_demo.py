#!/usr/bin/env python3
"""flowgen MLP demo: a regression network and a classifier trained through libflowgen.so.

    python3 examples/python/mlp_demo.py [--steps 1500] [--threads N] [--plot loss.svg]

Runs from a checkout without installing (it falls back to bindings/python) as long as the library is
built (scripts/build-lib.sh) or FLOWGEN_LIBRARY points to it. --plot writes a small self-contained
SVG of both loss curves (no matplotlib needed).
"""
import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np

try:
    import flowgen
except ImportError:  # not installed: use this checkout's package
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "..", "bindings", "python"))
    import flowgen


def regression_data(n, rng):
    x = rng.uniform(-2.0, 2.0, size=(n, 2)).astype(np.float32)
    y = (np.sin(x[:, 0]) * np.cos(x[:, 1]) + 0.3 * x[:, 0]).astype(np.float32)[:, None]
    return x, y


def spiral_data(points_per_class, classes, rng):
    xs, ys = [], []
    for label in range(classes):
        radius = np.linspace(0.0, 1.0, points_per_class)
        theta = (np.linspace(label * 4.0, (label + 1) * 4.0, points_per_class)
                 + rng.normal(0.0, 0.2, points_per_class))
        xs.append(np.stack([radius * np.sin(theta), radius * np.cos(theta)], axis=1))
        ys.append(np.full(points_per_class, label))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys)


def train(model, x, y, steps):
    """Fits with a progress callback recording the loss curve; returns (curve, seconds)."""
    curve = []
    start = time.perf_counter()
    model.fit(x, y, steps, progress=lambda step, total, loss: curve.append(loss))
    return curve, time.perf_counter() - start


def svg_plot(curves, path, width=640, height=360, margin=48):
    """Writes log10(loss) against step for each (label, colour, losses) as a small SVG file."""
    lows = [math.log10(max(v, 1e-12)) for _, _, c in curves for v in c]
    y_min, y_max = math.floor(min(lows)), math.ceil(max(lows))
    if y_max == y_min:
        y_max += 1
    n_max = max(len(c) for _, _, c in curves)
    plot_w, plot_h = width - 2 * margin, height - 2 * margin

    def sx(step):
        return margin + plot_w * (step / max(n_max - 1, 1))

    def sy(log_value):
        return margin + plot_h * (1 - (log_value - y_min) / (y_max - y_min))

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'font-family="sans-serif" font-size="12">' % (width, height),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="24" font-size="14">flowgen MLP training loss (log scale)</text>' % margin]
    for decade in range(y_min, y_max + 1):
        y = sy(decade)
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>'
                     % (margin, y, width - margin, y))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">1e%d</text>' % (margin - 6, y + 4, decade))
    parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#444"/>'
                 % (margin, margin, plot_w, plot_h))
    parts.append('<text x="%d" y="%d" text-anchor="end">step %d</text>'
                 % (width - margin, height - margin + 18, n_max))
    for index, (label, colour, curve) in enumerate(curves):
        stride = max(1, len(curve) // 600)  # keep the file small
        points = " ".join("%.1f,%.1f" % (sx(i), sy(math.log10(max(v, 1e-12))))
                          for i, v in enumerate(curve) if i % stride == 0 or i == len(curve) - 1)
        parts.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>'
                     % (colour, points))
        parts.append('<text x="%d" y="%d" fill="%s">%s</text>'
                     % (width - margin - 150, margin + 18 + 16 * index, colour, label))
    parts.append("</svg>\n")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1500, help="optimizer steps per model")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="OUT.svg", help="write the loss curves as SVG")
    args = parser.parse_args()

    if args.threads is not None:
        flowgen.set_num_threads(args.threads)
    print("flowgen %s (%s), BLAS core %s, %d BLAS thread(s)" % (
        flowgen.version(), flowgen._lib.library_path(), flowgen.blas_core_name(),
        flowgen.get_num_threads()))
    rng = np.random.default_rng(args.seed)

    # Regression: y = sin(x0) cos(x1) + 0.3 x0 on [-2, 2]^2.
    x, y = regression_data(1024, rng)
    x_test, y_test = regression_data(512, rng)
    with flowgen.MLP([2, 64, 64, 1], activation="tanh", learning_rate=1e-2, seed=args.seed) as model:
        regression_curve, seconds = train(model, x, y, args.steps)
        test_mse, _ = model.evaluate(x_test, y_test)
        start = time.perf_counter()
        model.predict(x_test)
        predict_ms = (time.perf_counter() - start) * 1e3
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "regression.safetensors")
            model.save(path)
            with flowgen.MLP.load(path) as loaded:
                same = np.array_equal(loaded.predict(x_test), model.predict(x_test))
        print("regression  2-64-64-1 tanh: %d params, %d steps in %.2f s (%.0f steps/s); "
              "train MSE %.3g -> %.3g, held-out MSE %.3g (target variance %.3g); "
              "predict %d rows %.2f ms; save/load identical: %s" % (
                  model.parameter_count, args.steps, seconds, args.steps / seconds,
                  regression_curve[0], regression_curve[-1], test_mse, float(np.var(y_test)),
                  len(x_test), predict_ms, same))

    # Classification: the 3-arm spiral.
    x, labels = spiral_data(200, 3, rng)
    x_test, labels_test = spiral_data(100, 3, rng)
    with flowgen.MLP([2, 64, 64, 3], activation="relu", task="classification", learning_rate=1e-2,
                     batch_size=128, seed=args.seed) as model:
        classification_curve, seconds = train(model, x, labels, args.steps)
        train_loss, train_accuracy = model.evaluate(x, labels)
        test_loss, test_accuracy = model.evaluate(x_test, labels_test)
        print("classifier  2-64-64-3 relu, batch 128: %d steps in %.2f s (%.0f steps/s); "
              "cross-entropy %.3g -> %.3g (held-out %.3g); accuracy train %.1f%%, held-out %.1f%%"
              % (args.steps, seconds, args.steps / seconds, classification_curve[0],
                 classification_curve[-1], test_loss, 100 * train_accuracy, 100 * test_accuracy))

    if args.plot:
        svg_plot([("regression MSE", "#1f77b4", regression_curve),
                  ("spiral cross-entropy", "#d62728", classification_curve)], args.plot)
        print("wrote", args.plot)


if __name__ == "__main__":
    main()
