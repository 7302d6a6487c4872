import json

import pytest

from companion import bench
from companion.__main__ import main


def test_bench_cli_writes_one_row_per_learner_and_runs(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--runs", "1", "2", "--learners", "backprop_multiplexer", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["machine"]["threads"] == 1 and data["machine"]["torch"].startswith("2.13")
    assert [(r["learner"], r["task"], r["runs"]) for r in data["rows"]] == [
        ("backprop_multiplexer", "multiplexer-37 (samples)", 1), ("backprop_multiplexer", "multiplexer-37 (samples)", 2)]
    assert all(r["run_steps_per_s"] > 0 for r in data["rows"])
    assert "backprop_multiplexer" in capsys.readouterr().out


def test_bench_rows_compare_cartpole_learners_with_the_authors():
    (row,) = bench.run_bench(["global_reinforce_actor_critic"], [1])
    assert row["vs_authors"] == pytest.approx(row["run_steps_per_s"] / 590, rel=0.01)


def test_bench_rejects_unknown_learners_and_runs():
    with pytest.raises(ValueError, match="learners must be among .* got \\['sgd'\\]"):
        bench.run_bench(["sgd"], [1])
    with pytest.raises(ValueError, match="runs must be positive integers, got \\[0\\]"):
        bench.run_bench(["backprop_multiplexer"], [0])
