"""The flowgen command's graph and MLP runs end to end (the release binary that ./flowgen.sh test builds):
--json last lines, --plot SVGs with one curve per run, and clear errors with a non-zero exit."""
import re

import pytest

from conftest import last_json, run_cli


def curves(svg_text):
    return len(re.findall(r"<path d=\"M", svg_text))


def test_linkpred_json_and_plot(cli, tmp_path):
    plot = tmp_path / "gae.svg"
    out = run_cli(cli, "linkpred", "--model", "gae", "--runs", "2", "--epochs", "3", "--json", "--plot", str(plot))
    result = last_json(out)
    for key in ("hr100_mean", "hr100_std", "mrr", "auroc", "epoch_seconds", "runs"):
        assert key in result, key
    assert result["runs"] == 2 and 0 < result["hr100_mean"] <= 100 and 0.5 < result["auroc"] <= 1
    text = plot.read_text()
    assert text.startswith("<svg") and text.rstrip().endswith("</svg>")
    assert curves(text) == 4  # loss and validation HR@100 for each of the 2 runs
    assert "validation HR@100" in text


def test_linkpred_random_split_protocol(cli, tmp_path):
    plot = tmp_path / "gae_random.svg"
    out = run_cli(cli, "linkpred", "--model", "gae", "--split", "random", "--runs", "1", "--epochs", "3", "--json",
                  "--plot", str(plot))
    result = last_json(out)
    assert result["split"] == "random" and 0.5 < result["auroc"] <= 1
    assert "validation AUROC" in plot.read_text()
    cn = last_json(run_cli(cli, "linkpred", "--model", "cn", "--split", "random", "--runs", "1", "--json"))
    assert cn["split"] == "random" and 0.5 < cn["auroc"] < 1


def test_nodeclass_json_and_plot(cli, tmp_path):
    plot = tmp_path / "gcn.svg"
    out = run_cli(cli, "nodeclass", "--model", "gcn", "--runs", "2", "--epochs", "20", "--json", "--plot", str(plot))
    result = last_json(out)
    assert result["runs"] == 2 and 10 < result["acc_mean"] <= 100 and result["acc_std"] >= 0
    assert curves(plot.read_text()) == 4


def test_mlp_demo_plot(cli, tmp_path):
    plot = tmp_path / "mlp.svg"
    out = run_cli(cli, "mlp", "demo", "--steps", "50", "--json", "--plot", str(plot))
    result = last_json(out)
    assert result["regression_final_mse"] < result["regression_initial_mse"]
    assert curves(plot.read_text()) == 2


def test_cli_errors_are_clear(cli, tmp_path):
    out = run_cli(cli, "linkpred", "--model", "cn", "--runs", "1", "--plot", str(tmp_path / "x.svg"), ok=False)
    assert "--plot needs a trained model" in out.stderr
    assert not (tmp_path / "x.svg").exists()
    out = run_cli(cli, "linkpred", "--model", "gae", "--runs", "1", "--epochs", "1", "--plot",
              str(tmp_path / "missing" / "x.svg"), ok=False)
    assert "missing" in out.stderr
    out = run_cli(cli, "linkpred", "--model", "gae", "--split", "80/20", ok=False)
    assert "--split must be ncn or random" in out.stderr
    out = run_cli(cli, "nodeclass", "--model", "transformer", ok=False)
    assert "--model must be" in out.stderr
    out = run_cli(cli, "linkpred", "--model", "gae", "--data", str(tmp_path / "nowhere"), ok=False)
    assert "nowhere" in out.stderr
