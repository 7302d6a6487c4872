import json

import pytest

from companion import experiments, store
from companion.settings import ActorCriticSettings, SingleStepSettings


def stored_metas() -> dict:
    return {path.stem: json.loads(path.read_text()) for path in sorted(store.RESULTS.glob("*.json"))
            if path.stem in experiments.REGISTRY}


def test_every_stored_result_keeps_its_config_and_hash():
    """The typed settings serialise to exactly the dicts the results were stored with."""
    metas = stored_metas()
    paper_scale = {name for name, exp in experiments.REGISTRY.items() if not exp.settings.sweep}
    assert paper_scale <= set(metas) <= set(experiments.REGISTRY)  # every entry but a sweep is stored
    for name, meta in metas.items():
        exp = experiments.get(name)
        assert exp.config() == meta["config"], name
        assert exp.config_hash() == meta["config_hash"], name


def test_settings_round_trip_through_the_stored_dict():
    for exp in experiments.REGISTRY.values():
        assert type(exp.settings).from_dict(exp.settings.to_dict()).to_dict() == exp.settings.to_dict()


def test_a_misspelt_or_missing_setting_is_an_error():
    params = experiments.get("map_cartpole").settings.to_dict()
    with pytest.raises(ValueError, match=r"must be among .* got \['setle_steps'\]"):
        ActorCriticSettings.from_dict({**params, "setle_steps": 5})
    with pytest.raises(ValueError, match=r"must give \['batch_size'\]"):
        single = experiments.get("map_multiplexer").settings.to_dict()
        SingleStepSettings.from_dict({k: v for k, v in single.items() if k != "batch_size"})


def test_an_optional_setting_is_stored_when_it_differs_or_is_named():
    base = experiments.get("map_cartpole").settings
    assert "explore" not in base.to_dict()
    assert base.changed(explore=1.0).to_dict()["explore"] == 1.0  # named, at its default
    assert ActorCriticSettings(**{**base.to_dict(), "explore": 0.5}).to_dict()["explore"] == 0.5  # differs
    assert experiments.get("map_cartpole").kind == "actor_critic"
    assert experiments.get("map_multiplexer").kind == "single_step"
