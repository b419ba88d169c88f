"""The flowgen command's graph and MLP runs end to end (the release binary that ./flowgen.sh test builds):
--json last lines, --plot SVGs with one curve per run, and clear errors with a non-zero exit."""
import json
import os
import re
import subprocess

import pytest

from conftest import REPO_ROOT

CLI = os.environ.get("FLOWGEN_CLI", os.path.join(REPO_ROOT, ".build", "release", "flowgen"))


def run(*args, ok=True):
    assert os.path.exists(CLI), "build the command first: swift build -c release --product flowgen (%s)" % CLI
    out = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=300)
    assert (out.returncode == 0) == ok, (args, out.returncode, out.stderr[-2000:])
    return out


def curves(svg_text):
    return len(re.findall(r"<path d=\"M", svg_text))


def test_linkpred_json_and_plot(tmp_path):
    plot = tmp_path / "gae.svg"
    out = run("linkpred", "--model", "gae", "--runs", "2", "--epochs", "3", "--json", "--plot", str(plot))
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("hr100_mean", "hr100_std", "mrr", "auroc", "epoch_seconds", "runs"):
        assert key in result, key
    assert result["runs"] == 2 and 0 < result["hr100_mean"] <= 100 and 0.5 < result["auroc"] <= 1
    text = plot.read_text()
    assert text.startswith("<svg") and text.rstrip().endswith("</svg>")
    assert curves(text) == 4  # loss and validation HR@100 for each of the 2 runs
    assert "validation HR@100" in text


def test_nodeclass_json_and_plot(tmp_path):
    plot = tmp_path / "gcn.svg"
    out = run("nodeclass", "--model", "gcn", "--runs", "2", "--epochs", "20", "--json", "--plot", str(plot))
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["runs"] == 2 and 10 < result["acc_mean"] <= 100 and result["acc_std"] >= 0
    assert curves(plot.read_text()) == 4


def test_mlp_demo_plot(tmp_path):
    plot = tmp_path / "mlp.svg"
    out = run("mlp", "demo", "--steps", "50", "--json", "--plot", str(plot))
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["regression_final_mse"] < result["regression_initial_mse"]
    assert curves(plot.read_text()) == 2


def test_cli_errors_are_clear(tmp_path):
    out = run("linkpred", "--model", "cn", "--runs", "1", "--plot", str(tmp_path / "x.svg"), ok=False)
    assert "--plot needs a trained model" in out.stderr
    assert not (tmp_path / "x.svg").exists()
    out = run("linkpred", "--model", "gae", "--runs", "1", "--epochs", "1", "--plot",
              str(tmp_path / "missing" / "x.svg"), ok=False)
    assert "missing" in out.stderr
    out = run("nodeclass", "--model", "transformer", ok=False)
    assert "--model must be" in out.stderr
    out = run("linkpred", "--model", "gae", "--data", str(tmp_path / "nowhere"), ok=False)
    assert "nowhere" in out.stderr
