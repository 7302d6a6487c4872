"""A sweep (runs that differ in their settings) is one batch, and each of its runs is the run its
setting would give in a batch where every run had that setting."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from companion.experiments import Experiment, sweep_experiment
from companion.optim import BlockAdam, LinearSchedule, rows_by_rate
from companion.runner import run_group, run_settings
from companion.settings import ActorCriticSettings, SingleStepSettings

TINY = dict(hidden=[8, 4], activation="softplus", critic_var=[0.03, 0.1, 0.1], actor_var=[0.03, 0.1],
            actor_out=["softmax", 2.0], critic_lambda=0.9, actor_lambda=0.8, gamma=0.98, settle_steps=0,
            critic_lr=[[2e-2, 2e-2, 2e-2], [2e-2, 2e-2, 2e-2], 0], actor_lr=[[1e-2, 1e-2, 1e-2], [1e-3, 1e-3, 1e-3], 200],
            reward_clip=None, action_map="index")


def cartpole(**changes):
    return Experiment(name="tiny", paper="test", figure="test", task="CartPole-v1", method="test", episodes=4,
                      settings=ActorCriticSettings(**{**TINY, **changes}), runs=6, group=6, seed=7)


def at(exp, setting):
    """``exp`` with ``setting`` for every run."""
    return replace(exp, settings=exp.settings.changed(**setting))


def rate(a, c=None):
    """One Adam rate per network (the backprop protocol), with a schedule on the actor's."""
    return {"actor_lr": [[a] * 3, [a / 10] * 3, 200], "critic_lr": [[c or 2 * a] * 3, [c or 2 * a] * 3, 0]}


CASES = {
    "backprop": (dict(actor_kind="ann", critic_kind="ann"), [rate(1e-3), rate(1e-2), rate(3e-2, 1e-3)]),
    "reinforce with per-run exploring": (dict(actor_kind="team", critic_kind="ann"),
                                         [{"explore": 0.25, **rate(1e-2)}, {"explore": 0.75, **rate(3e-3)},
                                          {"explore": 0.5, **rate(3e-3)}]),
    "map propagation (fused teams)": (dict(settle_steps=3), [{"actor_lambda": 0.5, "critic_lambda": 0.9, **rate(1e-2)},
                                                             {"actor_lambda": 0.9, "critic_lambda": 0.5, **rate(1e-3)},
                                                             {"actor_lambda": 0.9, "critic_lambda": 0.9, **rate(1e-2)}]),
}


@pytest.mark.parametrize("case", CASES)
def test_a_sweep_run_equals_the_run_of_its_setting_alone(case):
    params, settings = CASES[case]
    base = cartpole(**params)
    sweep = sweep_experiment(base, "tiny_sweep", "setting", range(3), settings, 2, seed=base.seed, group=6)
    swept = run_group(sweep, 0, 6, 4, compiled=False)["returns"]
    assert swept.shape == (6, 4)
    for s, setting in enumerate(settings):
        alone = run_group(at(base, setting), 0, 6, 4, compiled=False)["returns"]
        rows = [2 * s, 2 * s + 1]  # run r has setting r // 2
        assert np.array_equal(swept[rows], alone[rows]), (case, s)
    # the settings matter: at least one row differs from the same row run at the first setting
    first = run_group(at(base, settings[0]), 0, 6, 4, compiled=False)["returns"]
    assert not np.array_equal(swept, first)


SINGLE_STEP_CASES = {"rates": [{"lr": [4e-2, 4e-2, 4e-2]}, {"lr": [1e-3, 1e-2, 1e-1]}],
                     "exploring probability (Thomas 2011)": [{"explore": 0.25}, {"explore": 0.75}]}


@pytest.mark.parametrize("case", SINGLE_STEP_CASES)
def test_single_step_sweep_rows_equal_their_settings_alone(case):
    base = Experiment(name="tiny_mux", paper="test", figure="test", task="multiplexer-37", method="test",
                      episodes=15, runs=4, group=4, seed=3,
                      settings=SingleStepSettings(hidden=[8, 4], activation="softplus", hidden_var=[0.3, 1.0],
                                                  temperature=1.0, lr=[4e-2, 4e-2, 4e-2], batch_size=8,
                                                  learner="reinforce", explore=0.5))
    settings = SINGLE_STEP_CASES[case]
    sweep = sweep_experiment(base, "tiny_mux_sweep", case, [1, 2], settings, 2, seed=3, group=4)
    swept = run_group(sweep, 0, 4)["returns"]
    for s, setting in enumerate(settings):
        alone = run_group(at(base, setting), 0, 4)["returns"]
        assert np.array_equal(swept[2 * s:2 * s + 2], alone[2 * s:2 * s + 2])
    assert not np.array_equal(swept[2:], run_group(base, 0, 4)["returns"][2:])


def test_run_settings_map_runs_to_settings_by_group():
    sweep = sweep_experiment(cartpole(), "s", "rate", [1e-3, 1e-2, 1e-1], [rate(1e-3), rate(1e-2), rate(1e-1)],
                             3, group=4)
    assert sweep.runs == 9 and sweep.groups() == [(0, 4), (4, 4), (8, 1)]
    got = run_settings(sweep, 4, 4)["actor_lr"]
    assert [spec[0][0] for spec in got] == [1e-2, 1e-2, 1e-1, 1e-1]
    assert run_settings(cartpole(), 0, 6) == {}


def test_sweep_settings_are_checked():
    with pytest.raises(ValueError, match="changes must be a non-empty list of dicts with the same keys"):
        sweep_experiment(cartpole(), "s", "gamma", [0.9], [{"gamma": 0.9}])
    with pytest.raises(ValueError, match="changes must be a non-empty list"):
        sweep_experiment(cartpole(), "s", "rate", [1, 2], [rate(1e-3), {"explore": 0.5}])
    with pytest.raises(ValueError, match="values must give one rate per change"):
        sweep_experiment(cartpole(), "s", "rate", [1, 2], [rate(1e-3)])
    with pytest.raises(ValueError, match="seeds_per_value must be a positive integer, got 0"):
        sweep_experiment(cartpole(), "s", "rate", [1], [rate(1e-3)], seeds_per_value=0)


def test_per_run_schedule_and_adam_rows_grouped_by_rate():
    s = LinearSchedule([1e-2, 1e-3], [1e-3, 1e-3], duration=10)
    assert np.allclose(s(5), [5.5e-3, 1e-3]) and s(5)[0] == LinearSchedule(1e-2, 1e-3, 10)(5)
    opt = BlockAdam([torch.zeros(3, 2), torch.zeros(3, 4)])
    rates = np.concatenate([np.array([0.1, 0.2, 0.1]), np.full(3, 0.1)])  # one per (tensor, row) piece
    order, groups = rows_by_rate(rates, opt.piece_rows != 2)  # row 2 left out
    assert [(rate, end - begin) for rate, begin, end in groups] == [(0.1, 3), (0.2, 1)]  # rows 0 and 1 of the second
    assert opt.items[0][order[3]].data_ptr() == opt.params[0][1].data_ptr()  # rate 0.2: row 1 of the first tensor
    # a row steps with its own rate: rate 0 leaves it where it was
    w = torch.ones(3, 2, dtype=torch.float64)
    BlockAdam([w]).step([torch.ones(3, 2, dtype=torch.float64)], [np.array([0.1, 0.0, 0.2])])
    assert torch.allclose(w[:, 0], torch.tensor([1.1, 1.0, 1.2], dtype=torch.float64))
    with pytest.raises(ValueError, match="must be numbers or equally long lists"):
        LinearSchedule([1e-2, 1e-3], [1e-3, 1e-3, 1e-3])


def test_sensitivity_rows_average_each_settings_seeds():
    from companion.experiments import best_setting, sensitivity_rows
    sweep = sweep_experiment(cartpole(), "s", "actor rate", [1e-3, 1e-2], [rate(1e-3), rate(1e-2)], 3)
    returns = np.array([[10, 20], [20, 30], [30, 40], [50, 50], [60, 60], [40, 40.0]])  # per-run averages 15 25 35 50 60 40
    rows = sensitivity_rows(sweep, returns)
    assert [r["actor rate"] for r in rows] == [1e-3, 1e-2]
    assert np.allclose([r["average return"] for r in rows], [25, 50])
    assert np.allclose([r["standard error"] for r in rows], [10 / np.sqrt(3), 10 / np.sqrt(3)])
    assert best_setting(sweep, returns) == 1e-2
    with pytest.raises(ValueError, match="returns must have one row per run of s"):
        sensitivity_rows(sweep, returns[:4])


def test_sweep_setting_rows_put_every_setting_of_each_named_sweep_in_one_table():
    from companion.experiments import get, sensitivity_rows, sweep_setting_rows
    names = ["sens_multiplexer_map", "wmsens_cartpole_ste"]
    fake = {name: np.arange(get(name).runs * 4, dtype=float).reshape(-1, 4) * (i + 1) for i, name in enumerate(names)}
    rows = sweep_setting_rows(names, fake.get)
    for name in names:
        exp, mine = get(name), [r for r in rows if r["experiment"] == name]
        axis = exp.settings.sweep["axis"]
        assert [r["value"] for r in mine] == list(exp.settings.sweep["values"])
        assert {r["varied"] for r in mine} == {axis}
        expected = sensitivity_rows(exp, fake[name])
        assert [r["average return"] for r in mine] == [r["average return"] for r in expected]
        assert [r["standard error"] for r in mine] == [r["standard error"] for r in expected]
    assert len(rows) == sum(len(get(n).settings.sweep["values"]) for n in names)


def test_protocol_rows_list_every_sweep_of_a_paper_from_the_registry():
    from companion.experiments import REGISTRY, protocol_rows
    rows = protocol_rows("chung2021map")
    sweeps = [e for e in REGISTRY.values() if e.paper == "chung2021map" and e.settings.sweep]
    assert [r["experiment"] for r in rows] == [e.name for e in sweeps] and len(rows) >= 16
    for r in rows:
        values = REGISTRY[r["experiment"]].settings.sweep["values"]
        assert r["seeds"] >= 3 and REGISTRY[r["experiment"]].runs == len(values) * r["seeds"]
        assert len(values) == 7 or r["experiment"].endswith("_more")  # an extension adds values beyond an end
    backprop = next(r for r in rows if r["experiment"] == "sens_cartpole_backprop_actor")
    assert backprop["values"] == "0.0001 to 0.01 (7)" and backprop["episodes"] == 1000
    assert "task" not in backprop  # the experiment's name says it, and the table fits the page


def test_sensitivity_panel_draws_the_curve_and_marks_the_settings():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from companion.plotting import sensitivity_panel
    rows = [{"rate": r, "average return": m, "standard error": 1.0} for r, m in ((1e-3, 10.0), (1e-2, 30.0), (1e-1, 20.0))]
    fig, ax = plt.subplots()
    sensitivity_panel(ax, rows, "rate", "Backprop", chosen=1e-2, paper=1e-1)
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == ["Backprop", "chosen", "paper's setting"] and ax.get_xscale() == "log"
    star = next(line for line in ax.get_lines() if line.get_label() == "chosen")
    assert list(star.get_xdata()) == [1e-2] and list(star.get_ydata()) == [30.0]
    with pytest.raises(ValueError, match="rows must hold at least one setting of 'Backprop'"):
        sensitivity_panel(ax, [], "rate", "Backprop")
    plt.close(fig)


def test_settings_tables_list_the_papers_entries_not_the_sweeps():
    from companion.experiments import hyperparameter_rows, weight_max_rows
    tasks = [row["task"] for row in weight_max_rows()]
    assert len(tasks) == len(set(tasks)) == 4
    assert len(hyperparameter_rows("actor_critic")) == 4


def test_sensitivity_curves_put_every_stored_sweep_on_the_actors_rate():
    from companion import experiments
    stored = {"sens_cartpole_backprop_actor", "sens_cartpole_map", "sweep_acrobot_reinforce_x0.3",
              "sweep_acrobot_reinforce_x1"}

    def load(name):  # each run's return is its index: setting i of a sweep averages 3i + 1
        if name not in stored:
            return None
        e = experiments.get(name)
        return np.repeat(np.arange(e.runs, dtype=float)[:, None], 2, axis=1)
    curves = experiments.sensitivity_curves("chung2021map", load)
    assert list(curves) == ["cartpole"]
    by_label = {c["label"]: c for c in curves["cartpole"]}
    assert sorted(by_label) == ["Backprop", "MAP Propagation"]  # the output-rate check is evidence, not a curve
    backprop = by_label["Backprop"]
    assert [r["actor rate"] for r in backprop["rows"]] == list(experiments.RATE_GRID)
    assert backprop["chosen"] == 1e-2 and backprop["paper"] is None  # the last setting has the largest returns
    map_prop = by_label["MAP Propagation"]  # its factor times the paper's first-layer rate, 1e-2 at factor 1
    assert map_prop["paper"] == 1e-2 and np.isclose(map_prop["rows"][0]["actor rate"], 1e-3)


def test_sensitivity_figure_has_a_panel_per_task_and_one_legend():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from companion.plotting import sensitivity_figure
    rows = [{"actor rate": r, "average return": m, "standard error": 1.0} for r, m in ((1e-3, 1.0), (1e-2, 2.0))]
    curve = {"method": "Backprop", "label": "Backprop", "rows": rows, "chosen": 1e-2, "paper": None}
    fig = sensitivity_figure({"cartpole": [curve], "acrobot": [curve], "lunarlander": [curve]})
    assert [ax.get_title() for ax in fig.axes] == ["acrobot", "cartpole", "lunarlander"]
    assert sorted(t.get_text() for t in fig.legends[0].get_texts()) == ["Backprop", "chosen"]
    with pytest.raises(ValueError, match="curves must hold at least one task"):
        sensitivity_figure({})
    plt.close(fig)


def test_sensitivity_figure_draws_errors_over_decades_on_a_symmetric_log_axis():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from companion.plotting import sensitivity_figure

    def curve(means):
        rows = [{"actor rate": r, "average return": m, "standard error": 0.0} for r, m in zip((1e-3, 1e-2), means)]
        return {"method": "Backprop", "label": "Backprop", "rows": rows, "chosen": None, "paper": None}
    fig = sensitivity_figure({"regression": [curve((-0.085, -4853.0))], "acrobot": [curve((-500.0, -97.0))]})
    scales = {ax.get_title(): ax.get_yscale() for ax in fig.axes}
    assert scales == {"acrobot": "linear", "regression": "symlog"}
    assert fig.axes[1].yaxis.get_transform().linthresh == 0.01  # the best average's decade
    plt.close(fig)


def test_sweep_summary_gives_each_stored_sweeps_best_and_the_papers_cell():
    from companion import experiments

    def load(name):  # the first setting is best: run r returns -r, so the grid's low end wins
        if name != "sens_cartpole_backprop_actor":
            return None
        return -np.repeat(np.arange(21, dtype=float)[:, None], 2, axis=1)
    (row,) = experiments.sweep_summary_rows("chung2021map", load)
    assert row["experiment"] == "sens_cartpole_backprop_actor" and row["best"] == experiments.RATE_GRID[0]
    assert row["at an end"] and row["average return"] == -1.0 and np.isclose(row["standard error"], 1 / np.sqrt(3))
    assert row["paper"] == "458.96 (9.44)" and row["paper - 2 std"] == 440.08
    assert experiments.sweep_summary_rows("chung2022weightmax", load) == []


def test_an_extended_sweep_is_the_sweep_at_more_values():
    from companion import experiments
    sweep = experiments.get("sens_acrobot_backprop_actor")
    more = experiments.extended_sweep(sweep, "more", (1e-5, 4.64e-5))
    entry = experiments.get("map_acrobot")
    direct = [experiments.one_rate_per_network(entry, a, experiments.rounded(2 * a)) for a in (1e-5, 4.64e-5)]
    assert more.settings.sweep["changes"] == direct and more.runs == 6 and more.seed == sweep.seed
    assert {k: v for k, v in more.config()["params"].items() if k != "sweep"} == \
        {k: v for k, v in sweep.config()["params"].items() if k != "sweep"}
    critic = experiments.extended_sweep(experiments.get("sens_acrobot_backprop_critic"), "more", (1e-5,))
    assert critic.settings.sweep["changes"] == [experiments.one_rate_per_network(entry, 1e-4, 1e-5)]  # actor kept
    with pytest.raises(ValueError, match="sweep must vary a learning rate"):
        experiments.extended_sweep(experiments.get("sens_cartpole_thomas_explore"), "more", (0.9,))


def test_a_sweep_family_joins_a_sweep_and_its_extension():
    from companion import experiments
    stored = {"sens_acrobot_backprop_actor", "sens_acrobot_backprop_actor_more"}

    def load(name):  # every run of the extension returns 0, of the first grid -500
        e = experiments.get(name)
        return None if name not in stored else np.full((e.runs, 2), 0.0 if name.endswith("_more") else -500.0)
    (family,) = experiments.sweep_families("chung2021map", load).values()
    assert family["experiments"] == ["sens_acrobot_backprop_actor", "sens_acrobot_backprop_actor_more"]
    assert [r["actor rate"] for r in family["rows"]] == [1e-5, 2.15e-5, 4.64e-5, *experiments.RATE_GRID]
    (row,) = experiments.sweep_summary_rows("chung2021map", load)
    assert row["experiment"] == "sens_acrobot_backprop_actor + _more"
    assert row["best"] == 1e-5 and row["at an end"] and row["average return"] == 0.0


def test_the_protocols_layer_shaped_backprop_sweep_is_the_dashed_curve():
    from companion import experiments
    stored = {"sens_cartpole_backprop_actor", "sens_cartpole_backprop_layered", "sweep_acrobot_reinforce_x0.3"}

    def load(name):
        return np.zeros((experiments.get(name).runs, 2)) if name in stored else None
    curves = {c["label"]: c for c in experiments.sensitivity_curves("chung2021map", load)["cartpole"]}
    assert sorted(curves) == ["Backprop", "Backprop, layer-shaped rates"]
    layered = curves["Backprop, layer-shaped rates"]
    assert layered["linestyle"] == "--" and np.isclose(layered["rows"][3]["actor rate"], 3e-3)  # factor 0.3 of 1e-2


def test_a_chosen_entry_runs_the_sweeps_setting_at_paper_scale():
    from companion import experiments
    sweep, final = experiments.get("sens_cartpole_reinforce"), experiments.get("map_cartpole")
    chosen = experiments.chosen_entry(final, sweep, 0.464)
    change = sweep.settings.sweep["changes"][sweep.settings.sweep["values"].index(0.464)]
    assert (chosen.name, chosen.runs, chosen.seed, chosen.group) == (final.name, final.runs, final.seed, final.group)
    assert chosen.settings.sweep is None and "sweep" not in chosen.config()["params"]
    assert {key: getattr(chosen.settings, key) for key in change} == change
    assert chosen.settings.actor_kind == "team" and chosen.settings.settle_steps == 0  # the sweep's, not final's
    with pytest.raises(ValueError, match="value must be one of sens_cartpole_reinforce's rate factor values"):
        experiments.chosen_entry(final, sweep, 0.5)


@pytest.mark.parametrize("paper", ["chung2021map", "chung2022weightmax"])
def test_every_baseline_runs_the_protocols_choice(paper):
    from companion import experiments
    rows = {row["entry"]: row for row in experiments.baseline_choice_rows(paper)}
    keys = [key for key in [*experiments.GRID_CENTRES, *experiments.FIG1_BASELINES] if key[0] == paper]
    assert len(rows) == len(keys) == sum(key[0] == paper for key in experiments.PROTOCOL_CHOICES)
    for key in keys:
        sweep, value = experiments.PROTOCOL_CHOICES[key]
        row, spec = rows[experiments.final_name(*key)], experiments.get(sweep).settings.sweep
        entry = experiments.get(row["entry"])  # the registry's entry runs the chosen setting's rates
        assert (entry.method, row["sweep"], row["setting"]) == (key[1], sweep, f"{spec['axis']} {value:g}")
        for name, rates in spec["changes"][spec["values"].index(value)].items():
            assert getattr(entry.settings, name) == getattr(entry.settings.changed(**{name: rates}), name), name


@pytest.mark.parametrize("name", ["sens_cartpole_map", "thomas_cartpole_backprop_actor", "wmsens_cartpole"])
def test_backprop_stage_two_refuses_a_name_that_is_not_a_backprop_stage_one(name):
    from companion.experiments import backprop_stage_two
    with pytest.raises(ValueError, match=f"stage_one must be sens_TASK_backprop_actor.*got '{name}'"):
        backprop_stage_two(name, 1e-3)
