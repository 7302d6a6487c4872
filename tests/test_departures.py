import json
import re
from dataclasses import replace

import torch

from companion import departures, experiments, runner


def test_action_map_formulas_are_the_runner_maps():
    a = torch.linspace(-2, 2, 41, dtype=torch.float64)
    formulas = {"authors": (2 * a + 1).clamp(-1, 1), "symmetric": a.clamp(-1, 1)}
    for key, expected in formulas.items():
        assert key in departures.ACTION_MAP_FORMULAS
        assert torch.allclose(torch.as_tensor(runner.ACTION_MAPS[key](a)), expected)


def test_softmax_reading_is_read_from_the_units(monkeypatch):
    assert departures.softmax_reading() == "softmax(z / T)"
    monkeypatch.setattr(departures.Softmax, "probs", lambda self, z: torch.softmax(self.temperature * z, -1))
    assert departures.softmax_reading() == "softmax(T z)"


def test_rows_follow_the_registry(monkeypatch):
    rows = departures.departure_rows()
    assert len(rows) == len(departures.SETTINGS)
    acrobot = next(r for r in rows if r["experiments"] == "map_acrobot")
    assert acrobot["ours"] == f"{experiments.REGISTRY['map_acrobot'].settings.actor_lr[1][2]:g}"
    assert acrobot["follows"] == "authors' configuration" and acrobot["departs from the paper"]
    exp = experiments.REGISTRY["map_acrobot"]
    start, end, env_steps = exp.settings.actor_lr
    changed = replace(exp, settings=exp.settings.changed(actor_lr=[start, [*end[:2], end[2] * 10], env_steps]))
    monkeypatch.setitem(experiments.REGISTRY, "map_acrobot", changed)
    acrobot = next(r for r in departures.departure_rows() if r["experiments"] == "map_acrobot")
    assert acrobot["follows"] == "paper text" and not acrobot["departs from the paper"]


def test_follows_names_every_agreeing_source():
    assert departures.follows("a", "a", "a") == "paper text and authors' configuration"
    assert departures.follows("a", "b", "c") == "neither (our choice)"


def test_stored_versions_gathers_every_result(tmp_path):
    for name, version in [("x", "1.0"), ("y", "1.1"), ("z", "1.0")]:
        (tmp_path / f"{name}.json").write_text(json.dumps({"versions": {"gymnasium": version, "numpy": "2"}}))
    assert departures.stored_versions(tmp_path) == {"gymnasium": ["1.0", "1.1"], "numpy": ["2"]}


def test_the_baselines_row_counts_every_baseline_each_chosen_by_the_protocol():
    text = departures.baselines_tuned()
    (total,) = (int(n) for n in re.findall(r"\d+", text))
    assert total == len(experiments.GRID_CENTRES) + len(experiments.FIG1_BASELINES) == len(experiments.PROTOCOL_CHOICES)
    row = next(r for r in departures.departure_rows() if r["setting"] == "baselines' learning rates")
    assert row["ours"] == text


def test_the_thomas_row_reads_every_entrys_exploring_probability(monkeypatch):
    row = next(r for r in departures.departure_rows() if r["setting"] == "REINFORCE with Thomas (2011)")
    expected = {f"{e.settings.explore:g}" for n, e in experiments.REGISTRY.items() if n.startswith("thomas_")}
    assert row["ours"].endswith("p = " + ", ".join(sorted(expected)))
    entry = experiments.REGISTRY["thomas_cartpole"]
    monkeypatch.setitem(experiments.REGISTRY, "thomas_cartpole",
                        replace(entry, settings=entry.settings.changed(explore=0.625)))
    row = next(r for r in departures.departure_rows() if r["setting"] == "REINFORCE with Thomas (2011)")
    assert "0.625" in row["ours"]
