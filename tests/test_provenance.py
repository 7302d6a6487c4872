"""Every stored result still matches the registry and replays with the current code."""
import json

import pytest

from companion import experiments, reproduce, store

STORED = sorted(p.stem for p in store.RESULTS.glob("*.json") if p.stem in experiments.REGISTRY)


def test_every_stored_result_belongs_to_the_registry_and_has_its_arrays():
    for meta in store.RESULTS.glob("*.json"):
        if meta.stem == "bench":
            continue
        assert meta.stem in experiments.REGISTRY, f"{meta} is not a registry experiment"
        assert meta.with_suffix(".npz").exists(), f"{meta} has no arrays"
        assert json.loads(meta.read_text())["config_hash"] == experiments.get(meta.stem).config_hash()


@pytest.mark.parametrize("name", STORED)
def test_stored_result_replays(name):
    report = reproduce.verify(name)
    assert report["matching"] >= 0.8


def family_rows(name: str) -> list:
    """The sensitivity rows of a stored sweep together with those of its stored extension, if any."""
    rows = []
    for part in (name, f"{name}_more"):
        if part in experiments.REGISTRY:
            exp = experiments.get(part)
            rows += experiments.sensitivity_rows(exp, store.load_result(part, exp.config_hash())[0]["returns"])
    return rows


def family_best(name: str) -> float:
    """The best setting of a stored sweep together with its stored extension, if any."""
    best = max(family_rows(name), key=lambda row: row["average return"])
    return best[experiments.get(name).settings.sweep["axis"]]


@pytest.mark.parametrize("stage_one", sorted(experiments.BACKPROP_ACTOR_RATES))
def test_backprop_critic_sweep_sits_at_the_best_actor_rate_of_stage_one(stage_one):
    rate = experiments.BACKPROP_ACTOR_RATES[stage_one]
    assert family_best(stage_one) == rate
    stage2 = experiments.get(stage_one.replace("_actor", "_critic"))
    assert {c["actor_lr"][0][0] for c in stage2.settings.sweep["changes"]} == {rate}


@pytest.mark.parametrize("task", sorted(experiments.THOMAS_FACTORS))
def test_thomas_explore_sweep_sits_at_the_best_factor_of_stage_one(task):
    stage1 = experiments.get(f"sens_{task}_thomas")
    factor = experiments.THOMAS_FACTORS[task]
    assert family_best(stage1.name) == factor
    stage2 = experiments.get(f"sens_{task}_thomas_explore")
    chosen = stage1.settings.sweep["changes"][stage1.settings.sweep["values"].index(factor)]
    assert {key: getattr(stage2.settings, key) for key in chosen} == chosen  # the rates of stage 1's choice
    assert [c["explore"] for c in stage2.settings.sweep["changes"]] == list(experiments.EXPLORE_GRID)


@pytest.mark.parametrize("name", sorted(experiments.SENSITIVITY_EXTENDED))
def test_a_sensitivity_grid_goes_on_only_past_a_best_end(name):
    sweep = experiments.get(name)
    returns = store.load_result(name, sweep.config_hash())[0]["returns"]
    values, more = sweep.settings.sweep["values"], experiments.SENSITIVITY_EXTENDED[name]
    end = values[0] if max(more) < values[0] else values[-1]
    assert min(more) > values[-1] or max(more) < values[0]  # the new values lie beyond one end
    assert experiments.best_setting(sweep, returns) == end


LAST_STAGES = {"REINFORCE": ("reinforce",), "STE backprop": ("ste",), "REINFORCE with Thomas (2011)": ("thomas_explore",),
               "Backprop": ("backprop_critic", "backprop_layered")}  # method -> its sweeps that may set it
# no critic, no stage 2; the one-rate sweep is sens_TASK_backprop in [MAP], wmsens_TASK_backprop_actor in [WM]
SINGLE_STEP_LAST_STAGES = {"sens": LAST_STAGES | {"Backprop": ("backprop", "backprop_layered")},
                           "wmsens": LAST_STAGES | {"Backprop": ("backprop_actor", "backprop_layered")}}


@pytest.mark.parametrize("key", sorted(experiments.PROTOCOL_CHOICES))
def test_a_protocol_choice_is_the_best_setting_of_its_methods_last_stage(key):
    paper, method, task = key
    sweep, value = experiments.PROTOCOL_CHOICES[key]
    prefix = "sens" if paper == "chung2021map" else "wmsens"
    stages = SINGLE_STEP_LAST_STAGES[prefix] if task in ("multiplexer", "regression") else LAST_STAGES
    candidates = [f"{prefix}_{task}_{stage}" for stage in stages[method]]
    assert sweep in candidates and family_best(sweep) == value
    assert set(candidates) <= set(STORED)  # every sweep that may set the method is in before the choice
    best = {name: max(row["average return"] for row in family_rows(name)) for name in candidates}
    assert best[sweep] == max(best.values())  # backprop: the better of its two families
    spec = experiments.get(sweep).settings.sweep
    change = spec["changes"][spec["values"].index(value)]
    final = experiments.get(experiments.final_name(*key))
    assert final.runs == 10 and final.config()["params"] == \
        {k: v for k, v in experiments.get(sweep).config()["params"].items() if k != "sweep"} | change
