"""The `flowgen fm` command line (train / sample / loglik) run as a subprocess: exit status, the --json
last line, files written, class-conditional training with guidance, and clear errors for bad arguments.

The binary is this checkout's release build (`swift build -c release --product flowgen`, which
`./flowgen.sh test` runs first), or the path in FLOWGEN_CLI. Runs are tiny (tens of steps), so the
whole file takes a few seconds."""
import math
import os

import numpy as np
import pytest

from conftest import last_json, run_cli

TRAIN_KEYS = ("w2", "npe", "nfe", "nll", "train_seconds", "steps_per_s", "sample_seconds")


def run(cli, *args, ok=True):
    return run_cli(cli, "fm", *args, ok=ok, timeout=120)


TINY = ("--steps", "40", "--batch", "64", "--n-train", "512", "--eval-points", "200", "--json")


@pytest.fixture(scope="module")
def trained(cli, tmp_path_factory):
    """A tiny OT-CFM run N(0, I) → 8 Gaussians, saved."""
    path = str(tmp_path_factory.mktemp("fm_cli") / "otcfm.safetensors")
    result = run(cli, "train", "--method", "otcfm", "--source", "gaussian", "--target", "8gaussians",
                 "--save", path, *TINY)
    return path, last_json(result)


def test_train_json_holds_the_documented_fields(trained):
    path, out = trained
    for key in TRAIN_KEYS:
        assert key in out, key
        assert isinstance(out[key], (int, float)) and math.isfinite(out[key]), (key, out[key])
    assert out["steps"] == 40 and out["nfe"] == 100          # Euler, 100 steps (the default)
    assert out["w2"] > 0 and out["steps_per_s"] > 0 and out["nll"] > 0
    assert out["method"] == "otcfm" and out["conditional"] is False and out["guidance"] is None
    assert os.path.getsize(path) > 0


def test_train_is_reproducible(cli):
    a = last_json(run(cli, "train", "--method", "icfm", "--seed", "7", *TINY))
    b = last_json(run(cli, "train", "--method", "icfm", "--seed", "7", *TINY))
    assert a["loss"] == b["loss"] and a["w2"] == b["w2"] and a["nll"] == b["nll"]


def test_sample_and_loglik_from_the_saved_model(cli, trained, tmp_path):
    path, _ = trained
    samples = str(tmp_path / "s.npy")
    out = last_json(run(cli, "sample", "--model", path, "--n", "300", "--solver", "rk4", "--solver-steps", "20",
                        "--out", samples, "--json"))
    assert out["n"] == 300 and out["nfe"] == 80 and out["sample_seconds"] >= 0   # RK4: 4 evaluations per step
    x = np.load(samples)
    assert x.shape == (300, 2) and x.dtype == np.float32 and np.isfinite(x).all()

    logp = str(tmp_path / "logp.npy")
    ll = last_json(run(cli, "loglik", "--model", path, "--data", samples, "--out", logp, "--json"))
    values = np.load(logp)
    assert values.shape == (300,) and np.isfinite(values).all()
    assert ll["nfe"] > 0 and ll["nll"] == pytest.approx(-values.astype(np.float64).mean(), rel=1e-5)


def test_conditional_training_and_guided_sampling(cli, tmp_path):
    """--conditional on 8 Gaussians (label c = centre at angle 2π(c + 1)/8, radius 5): samples drawn
    with --label c land around that centre, with and without guidance."""
    path = str(tmp_path / "cond.safetensors")
    out = last_json(run(cli, "train", "--method", "otcfm", "--conditional", "--guidance", "1.5",
                        "--target", "8gaussians", "--steps", "600", "--batch", "128", "--n-train", "4000",
                        "--eval-points", "400", "--save", path, "--json"))
    assert out["conditional"] is True and out["classes"] == 8 and out["guidance"] == 1.5
    for key in TRAIN_KEYS:
        assert math.isfinite(out[key]), key
    centres = 5 * np.stack([np.cos(2 * np.pi * np.arange(1, 9) / 8), np.sin(2 * np.pi * np.arange(1, 9) / 8)], 1)

    def draw(label, *extra):
        samples = str(tmp_path / "c.npy")
        run(cli, "sample", "--model", path, "--n", "400", "--label", str(label), "--out", samples, *extra)
        x = np.load(samples)
        nearest = np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        return x, (nearest == label).mean()

    for label in (2, 5):
        x, hit = draw(label)
        assert hit > 0.8, (label, hit)
        assert np.linalg.norm(x.mean(0) - centres[label]) < 1.0, (label, x.mean(0))
    # Guidance w = 2 (v_u + 2 (v_c − v_u)) pushes samples away from the other classes: at least as
    # many land nearest their own centre, and they move outwards (larger radius).
    guided, hit_guided = draw(5, "--guidance", "2")
    assert hit_guided >= hit - 0.02, (hit_guided, hit)
    assert np.linalg.norm(guided, axis=1).mean() > np.linalg.norm(x, axis=1).mean()


@pytest.mark.parametrize("args, message", [
    (("train", "--method", "nope"), "unknown --method"),
    (("train", "--target", "nowhere"), "unknown --target"),
    (("train", "--conditional", "--target", "scurve"), "--conditional needs a --target with classes"),
    (("train", "--guidance", "2"), "--guidance needs --conditional"),
    (("train", "--label-dropout", "0.2"), "--label-dropout needs --conditional"),
    (("train", "--select-every", "-1"), "--select-every"),
    (("train", "--conditional", "--select-every", "2"), "--select-every does not support --conditional"),
    (("train", "--conditional", "--label-dropout", "1.5"), "--label-dropout"),
    (("train", "--conditional", "--guidance", "1", "--guidance-convention", "odd"), "--guidance-convention"),
    (("train", "--sigma", "-1"), "sigma"),
    (("train", "--batch", "0"), "--batch"),
    (("train", "--solver", "leapfrog"), "unknown --solver"),
    (("sample", "--model", "/nonexistent/model.safetensors", "--out", "/tmp/x.npy"), "cannot load"),
])
def test_bad_arguments_fail_with_a_message(cli, args, message):
    result = run(cli, *args, ok=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_sample_on_a_bellman_schedule(cli, trained, tmp_path):
    path, _ = trained
    out = last_json(run(cli, "sample", "--model", path, "--n", "100", "--solver-steps", "4", "--schedule", "bellman",
                        "--out", str(tmp_path / "b.npy"), "--json"))
    times = out["times"]
    assert out["schedule"] == "bellman" and out["nfe"] == 4 and len(times) == 5
    assert times[0] == 0 and times[-1] == 1 and all(a < b for a, b in zip(times, times[1:]))
    for args, message in ((("--schedule", "cosine"), "--schedule must be uniform or bellman"),
                          (("--schedule", "bellman", "--solver", "dopri5"), "needs a fixed-step --solver"),
                          (("--schedule", "bellman", "--solver-steps", "200"), "--solver-steps ≤ --schedule-fine-steps"),
                          (("--schedule", "bellman", "--schedule-calibration", "0"), "--schedule-calibration must be")):
        result = run(cli, "sample", "--model", path, "--out", str(tmp_path / "x.npy"), *args, ok=False)
        assert message in result.stderr, (args, result.stderr)


def test_sample_and_loglik_reject_bad_inputs(cli, trained, tmp_path):
    path, _ = trained
    wrong = str(tmp_path / "wrong.npy")
    np.save(wrong, np.zeros((5, 3), dtype=np.float32))
    result = run(cli, "loglik", "--model", path, "--data", wrong, ok=False)
    assert result.returncode != 0 and "must hold a [n, 2] array" in result.stderr
    result = run(cli, "sample", "--model", path, "--out", str(tmp_path / "x.npy"), "--label", "1", ok=False)
    assert result.returncode != 0 and "class-conditional model" in result.stderr
    result = run(cli, "sample", "--model", path, "--out", str(tmp_path / "x.npy"), "--n", "0", ok=False)
    assert result.returncode != 0 and "--n must be in" in result.stderr


def test_checkpoint_selection_follows_the_same_training_path(cli):
    """--select-every evaluates the weights with the lowest validation loss among checkpoints taken every E
    epochs of the same training run: the final training loss equals the run without selection."""
    args = ("train", "--method", "otcfm", "--source", "moons", "--target", "8gaussians", "--epochs", "12",
            "--n-train", "1024", "--batch", "256", "--eval-points", "300", "--seed", "3", "--json")
    plain = last_json(run(cli, *args))
    chosen = last_json(run(cli, *args, "--select-every", "3"))
    assert chosen["loss"] == plain["loss"] and chosen["steps"] == plain["steps"] == 48
    assert chosen["selected_step"] in (12, 24, 36, 48) and math.isfinite(chosen["selected_val_loss"])
    assert "selected_step" not in plain
    if chosen["selected_step"] == 48:
        assert chosen["w2"] == plain["w2"]

