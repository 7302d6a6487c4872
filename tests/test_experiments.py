import json
import re
from dataclasses import replace

import numpy as np
import pytest

from companion import experiments, reproduce, runner, store
from companion.__main__ import main

SMOKE = dict(runs=2, episodes=2, compiled=False, progress=False)


def test_every_registry_entry_builds_and_hashes_its_config():
    hashes = {exp.config_hash() for exp in experiments.REGISTRY.values()}
    assert len(hashes) == len(experiments.REGISTRY)
    exp = experiments.get("map_cartpole")
    assert exp.groups() == [(0, 5), (5, 5)] and exp.groups(7) == [(0, 5), (5, 2)]
    changed = replace(exp, settings=exp.settings.changed(gamma=0.99))
    assert changed.config_hash() != exp.config_hash()
    with pytest.raises(ValueError, match="experiment name must be one of the .* got .chess.$"):
        experiments.get("chess")


def test_a_group_does_not_depend_on_the_other_groups_or_the_length():
    exp = experiments.get("map_acrobot")
    short = runner.run_group(exp, 5, 2, 1, compiled=False)["returns"]
    longer = runner.run_group(exp, 5, 2, 2, compiled=False)["returns"]
    assert np.array_equal(short, longer[:, :1])
    other = runner.run_group(exp, 0, 2, 1, compiled=False)["returns"]
    assert not np.array_equal(short, other)


def test_trained_group_is_the_stored_run_with_its_networks():
    exp = experiments.get("backprop_cartpole")
    returns, nets = runner.trained_group(exp, 5, 2, 2)
    assert np.array_equal(returns, runner.run_group(exp, 5, 2, 2, compiled=False)["returns"])
    assert nets["actor"].runs == nets["critic"].runs == 2 and nets["envs"].n_obs == 4
    with pytest.raises(ValueError, match="needs an actor-critic experiment, got 'map_multiplexer'"):
        runner.trained_group(experiments.get("map_multiplexer"), 0, 2, 2)


def test_reproduce_stores_resumes_and_verifies(tmp_path, monkeypatch):
    (path,) = reproduce.reproduce(["map_multiplexer"], root=tmp_path, **SMOKE)
    arrays, meta = store.load_result("map_multiplexer", experiments.get("map_multiplexer").config_hash(), tmp_path)
    assert arrays["returns"].shape == (2, 2) and meta["paper_scale"] is False and meta["runs"] == 2
    assert set(meta) >= {"config", "config_hash", "group_seeds", "versions", "commit", "wall_time_s", "environment"}
    assert not list((tmp_path / "partial").iterdir())  # checkpoints are folded into the result
    assert reproduce.verify("map_multiplexer", tmp_path)["matching"] == 1.0

    # an interrupted call: the first group was checkpointed, the second was not
    exp = experiments.get("map_cartpole")
    reproduce._run_and_checkpoint(exp, 0, 5, 2, tmp_path, False, False)
    calls = []
    real = reproduce.run_group
    monkeypatch.setattr(reproduce, "run_group", lambda e, first, *a, **k: calls.append(first) or real(e, first, *a, **k))
    reproduce.reproduce(["map_cartpole"], runs=7, episodes=2, root=tmp_path, compiled=False, progress=False)
    assert calls == [5]
    arrays, _ = store.load_result("map_cartpole", exp.config_hash(), tmp_path)
    assert arrays["returns"].shape == (7, 2) and (arrays["returns"] > 0).all()


def test_groups_run_in_parallel_through_joblib_processes(tmp_path):
    reproduce.reproduce(["reinforce_multiplexer", "backprop_multiplexer"], jobs=2, root=tmp_path, **SMOKE)
    serial = tmp_path / "serial"
    reproduce.reproduce(["backprop_multiplexer"], root=serial, **SMOKE)
    a = store.load_arrays(tmp_path / "backprop_multiplexer.npz")["returns"]
    assert np.array_equal(a, store.load_arrays(serial / "backprop_multiplexer.npz")["returns"])


def test_groups_go_to_the_configured_joblib_backend(tmp_path):
    """A cluster engine plugs in as a joblib backend (dask registers one the same way): every group
    is submitted to the backend in force, and the results equal a serial run's."""
    from joblib.parallel import ThreadingBackend, parallel_config, register_parallel_backend
    submitted = []

    class Recording(ThreadingBackend):
        def submit(self, func, callback=None):
            submitted.append(func)
            return super().submit(func, callback)

    register_parallel_backend("recording", Recording)
    with parallel_config(backend="recording"):
        reproduce.reproduce(["reinforce_multiplexer", "backprop_multiplexer"], jobs=2, root=tmp_path, **SMOKE)
    assert len(submitted) == 2  # one group of two runs per experiment
    serial = tmp_path / "serial"
    reproduce.reproduce(["reinforce_multiplexer", "backprop_multiplexer"], root=serial, **SMOKE)
    for name in ("reinforce_multiplexer", "backprop_multiplexer"):
        assert np.array_equal(store.load_arrays(tmp_path / f"{name}.npz")["returns"],
                              store.load_arrays(serial / f"{name}.npz")["returns"])


def test_stale_corrupted_and_tampered_results_are_refused(tmp_path):
    reproduce.reproduce(["reinforce_multiplexer"], root=tmp_path, **SMOKE)
    exp = experiments.get("reinforce_multiplexer")
    npz, meta_path = store.result_paths("reinforce_multiplexer", tmp_path)
    good, good_meta = npz.read_bytes(), meta_path.read_text()
    np.savez(npz, returns=store.load_arrays(npz)["returns"] + 0.5)  # a hand-edited result: its checksum differs
    with pytest.raises(store.StaleResult, match="checksum is .* \\(edited\\): run `python -m companion reproduce"):
        reproduce.verify("reinforce_multiplexer", tmp_path)
    old = {k: v for k, v in json.loads(good_meta).items() if k != "arrays_sha256"}  # stored before checksums
    meta_path.write_text(json.dumps(old))
    with pytest.raises(store.StaleResult, match="replay .* run `python -m companion reproduce reinforce_multiplexer`"):
        reproduce.verify("reinforce_multiplexer", tmp_path)
    npz.write_bytes(b"not a zip file")
    with pytest.raises(store.StaleResult, match="cannot be read"):
        store.load_result("reinforce_multiplexer", exp.config_hash(), tmp_path)
    npz.write_bytes(good)
    meta = json.loads(meta_path.read_text())
    with pytest.raises(store.StaleResult, match="differs from the registry's .* \\(a setting changed\\)"):
        store.load_result("reinforce_multiplexer", "0" * 16, tmp_path)  # as after a change in the registry
    meta_path.write_text(json.dumps({**meta, "config_hash": "0" * 16}))
    with pytest.raises(store.StaleResult, match="stored config hashes to .*, not to its stored 0+ \\(edited\\)"):
        store.load_result("reinforce_multiplexer", exp.config_hash(), tmp_path)
    with pytest.raises(FileNotFoundError, match="no stored result for 'map_acrobot'"):
        store.load_result("map_acrobot", "x", tmp_path)


def test_a_small_run_never_replaces_a_paper_scale_result(tmp_path):
    reproduce.reproduce(["backprop_multiplexer"], root=tmp_path, **SMOKE)
    npz, meta_path = store.result_paths("backprop_multiplexer", tmp_path)
    meta_path.write_text(meta_path.read_text().replace('"paper_scale": false', '"paper_scale": true'))
    before = npz.read_bytes()
    with pytest.raises(ValueError, match="a paper-scale result is stored"):
        reproduce.reproduce(["backprop_multiplexer"], root=tmp_path, **SMOKE)
    assert npz.read_bytes() == before
    with pytest.raises(ValueError, match="runs must be an integer from 1 to 1,000, got 0"):
        reproduce.reproduce(["backprop_multiplexer"], runs=0, root=tmp_path, compiled=False, progress=False)
    with pytest.raises(ValueError, match="jobs must be an integer from 1 to 1,024, got 0"):
        reproduce.reproduce(["backprop_multiplexer"], jobs=0, root=tmp_path, compiled=False, progress=False)


def test_cli_list_and_reproduce(tmp_path, capsys):
    assert main(["reproduce", "reinforce_multiplexer", "--runs", "2", "--episodes", "2", "--no-compile",
                 "--root", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["list", "--root", str(tmp_path), "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\nreinforce_multiplexer .* 2 x 2 +smaller, 0 min\n", out)
    assert out.startswith("experiment ") and max(map(len, out.splitlines())) <= 120
    assert "map_cartpole" in out and f"stored and valid: 1 of {len(experiments.REGISTRY)} experiments, 0.0 hours" in out
    assert "reproduce --all --jobs 2 would take about 0.0 hours to regenerate them" in out
    assert main(["verify", "--root", str(tmp_path)]) == 0
    assert "reinforce_multiplexer: config hash matches; 100% of" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["reinforce_cartpole", "thomas_cartpole", "backprop_cartpole",
                                  "wm_cartpole", "wm_traces_cartpole", "wm_multiplexer", "wm_reinforce_cartpole",
                                  "wm_ste_cartpole", "wm_backprop_cartpole", "wm_reinforce_multiplexer",
                                  "wm_ste_multiplexer", "wm_backprop_multiplexer"])
def test_every_kind_of_entry_runs(name):
    exp = experiments.get(name)
    returns = runner.run_group(exp, 0, 2, 2, compiled=False)["returns"]
    assert returns.shape == (2, 2) and ((returns > 0).all() if exp.task == "CartPole-v1" else (abs(returns) == 1).all())


def test_baselines_scale_the_map_propagation_learning_rates():
    base, backprop = experiments.get("map_acrobot"), experiments.baseline(experiments.get("map_acrobot"), "Backprop", 0.3)
    start = base.settings.actor_lr[0]  # the output layers learn at the first layer's rate
    assert backprop.settings.actor_lr[0] == pytest.approx([0.3 * x for x in start[:2]] + [0.3 * start[0]])
    end = base.settings.critic_lr[1]
    assert backprop.settings.critic_lr[1] == pytest.approx([0.3 * x for x in end[:2]] + [0.3 * end[0]])
    assert (backprop.settings.actor_kind, backprop.settings.critic_kind, backprop.settings.settle_steps) == ("ann", "ann", 0)
    assert experiments.thomas_base("acrobot").settings.explore == experiments.SWEEP_EXPLORE == 0.5
    slow = experiments.get("sweep_acrobot_reinforce_x3")  # the output-rate check: output layers at MAP's rates too
    assert slow.settings.actor_lr[0] == pytest.approx([3 * x for x in start]) and slow in experiments.SLOW_OUTPUTS
    assert [e.settings.lr_scale for e in experiments.SLOW_OUTPUTS] == [0.3, 1.0, 3.0, 0.3] and slow.runs == 3


def test_the_grids_are_centred_on_the_grid_centres():
    for (paper, method, task), centre in experiments.GRID_CENTRES.items():
        prefix, tag = ("sens", experiments.MAP_TAGS) if paper == "chung2021map" else ("wmsens", experiments.WM_TAGS)
        name = f"{prefix}_{task}_{'backprop_layered' if method == 'Backprop' else tag[method]}"
        values = experiments.get(name).settings.sweep["values"]
        assert values[len(values) // 2] == centre and len(values) == 7, name


def test_weight_max_baselines_change_only_the_actor_rule_and_rates():
    wm = experiments.get("wm_acrobot")
    ste = experiments.wm_baseline(wm, "STE backprop", 3.0)
    assert ste.settings.actor_lr[0] == pytest.approx([3 * x for x in wm.settings.actor_lr[0]])
    assert ste.settings.critic_lr == wm.settings.critic_lr and ste.episodes == wm.episodes and ste.runs == 10
    assert (ste.settings.actor_kind, ste.settings.actor_units) == ("ste", "bernoulli")
    bp = experiments.wm_baseline(wm, "Backprop", 1.0).settings
    assert (bp.actor_kind, bp.actor_units, bp.actor_activation, bp.activation) == ("ann", "normal", "relu", "softplus")
    mux = experiments.wm_baseline(experiments.get("wm_multiplexer"), "Backprop", 0.3)
    assert (mux.settings.learner, mux.settings.units, mux.episodes) == ("backprop", "normal", 800_000)
    assert mux.settings.lr == pytest.approx([0.3 * x for x in experiments.get("wm_multiplexer").settings.lr])


def test_table_helpers_read_the_registry():
    mean, std = experiments.average_return(np.array([[1.0, 3.0], [5.0, 7.0]]))
    assert (mean, std) == (4.0, pytest.approx(2 ** 1.5))
    rows = experiments.hyperparameter_rows("actor_critic")
    assert [r["task"] for r in rows] == ["Acrobot-v1", "CartPole-v1", "LunarLander-v3", "MountainCarContinuous-v0"]
    assert rows[1]["actor T"] == "2" and rows[3]["actor sigma^2"] == "0.03, 0.1, 0.5"
    assert rows[0]["actor alpha"] == "0.01, 1e-05, 1e-06 to 0.001, 1e-06, 1e-08 over 100,000 steps"
    assert rows[2]["critic alpha"] == "0.01, 1e-05, 1e-06" and rows[3]["reward clip"] == "+-5"
    single = experiments.hyperparameter_rows("single_step", method="")
    assert {r["task"] for r in single} == {"multiplexer-37", "regression-8"}
    assert all(key[1] in {e.task for e in experiments.REGISTRY.values()} for key in experiments.REPORTED)
    wm = {r["task"]: r for r in experiments.weight_max_rows()}
    assert list(wm) == ["CartPole-v1", "Acrobot-v1", "LunarLander-v3", "multiplexer-20"]
    assert wm["Acrobot-v1"]["actor alpha"] == "0.1, 0.001, 0.0001 to 0.01, 0.0001, 1e-05 over 1,000,000 steps"
    assert wm["LunarLander-v3"]["T"] == "2" and wm["multiplexer-20"]["critic alpha"] == "-"
    assert wm["CartPole-v1"]["lambda (critic, actor)"] == "0.8, 0" and wm["LunarLander-v3"]["actor lambda with traces"] == "0.9"
    assert all(key[1] in {e.task for e in experiments.REGISTRY.values()} for key in experiments.REPORTED_WM)


def test_the_extra_acrobot_runs_are_map_acrobot_with_new_seeds():
    base, more = experiments.get("map_acrobot"), experiments.get("map_acrobot_more_runs")
    assert {k: v for k, v in more.config().items() if base.config()[k] != v}.keys() == {"name", "figure", "runs", "seed"}
    seeds = lambda exp: {runner.group_seed(exp, first) for first, _ in exp.groups()}  # noqa: E731
    assert len(seeds(more)) == 6 and not seeds(more) & seeds(base)


def test_parallel_wall_time_hands_groups_to_the_first_free_worker():
    assert reproduce.parallel_wall_time([3, 3, 2, 2, 2], 2) == 7  # 3 | 3, then 5 | 5, then 7
    assert reproduce.parallel_wall_time([1, 2, 3], 1) == 6 and reproduce.parallel_wall_time([5, 1, 1, 1], 3) == 5
    with pytest.raises(ValueError, match="jobs must be an integer from 1 to 1,024, got 0"):
        reproduce.parallel_wall_time([1.0], 0)


@pytest.mark.parametrize("argv, message", [
    (["reproduce", "map_cartpol"], "experiment name must be one of the .* got 'map_cartpol'; did you mean map_cartpole"),
    (["reproduce"], "reproduce needs experiment names or --all"),
    (["verify", "map_cartpole"], "no stored result for 'map_cartpole' in .*: run `python -m companion reproduce"),
])
def test_cli_answers_bad_input_with_a_message_and_stores_nothing(argv, message, tmp_path, capsys):
    assert main(argv + ["--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert re.search(f"python -m companion {argv[0]}: error: {message}", err) and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["list", "--jobs", "0"], ["reproduce", "map_cartpole", "--jobs", "-1"],
                                  ["reproduce", "map_cartpole", "--runs", "two"], ["bench", "--runs", "0"]])
def test_cli_refuses_counts_that_are_not_positive_integers(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    err = capsys.readouterr().err
    assert re.fullmatch(f"python -m companion {argv[0]}: error: argument --\\w+: must be an integer from 1 to "
                        f"[0-9,]+, got '{argv[-1]}'\n", err)
