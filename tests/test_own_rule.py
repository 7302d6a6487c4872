"""The rule of the page "Your own rule" (book/08_your_own_rule.ipynb), run from the page itself."""
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from companion import experiments, teams
from companion.network import init_network, sample
from companion.rules import weight_max_update
from companion.runner import trained_group
from companion.units import Bernoulli, Softmax

PAGE = Path(__file__).resolve().parent.parent / "book" / "08_your_own_rule.ipynb"


@pytest.fixture(scope="module")
def page():
    """The names that the page's cell tagged ``own-rule`` defines (it also registers the actor)."""
    cells = json.loads(PAGE.read_text())["cells"]
    (source,) = ["".join(c["source"]) for c in cells if "own-rule" in c["metadata"].get("tags", [])]
    names = {}
    exec(compile(source, str(PAGE), "exec"), names)
    yield names
    teams.ACTORS.pop("sign_weight_max", None)


def test_the_page_rule_is_weight_max_with_the_true_weights_and_differs_with_signs(page):
    net = init_network([6, 8, 4, 2], [Bernoulli(), Bernoulli(), Softmax(1.0)], runs=2, seed=3, bias_range=0.1)
    gen = torch.Generator().manual_seed(0)
    values = sample(net, torch.randn(2, 8, 6, generator=gen, dtype=torch.float64), gen)
    reward = torch.randn(2, 8, generator=gen, dtype=torch.float64)
    exact = weight_max_update(net, values, reward)
    same = page["feedback_update"](net, values, reward, feedback=lambda w: w)
    assert all(torch.allclose(a, b, rtol=1e-12, atol=1e-15) for a, b in zip(same, exact))
    signs = page["feedback_update"](net, values, reward)
    assert [torch.allclose(a, b) for a, b in zip(signs, exact)] == [False, False, False, False, True, True]


def test_the_page_rule_runs_as_a_registry_experiment(page):
    assert teams.ACTORS["sign_weight_max"] is page["SignWeightMaxActor"]
    base = experiments.get("wm_cartpole")
    ours = replace(base, name="sign_wm_cartpole", runs=2, settings=base.settings.changed(actor_kind="sign_weight_max"))
    returns, nets = trained_group(ours, 0, 2, 2)
    assert returns.shape == (2, 2) and np.isfinite(returns).all() and (returns > 0).all()
    _, base_nets = trained_group(replace(base, runs=2), 0, 2, 2)
    ours_w, base_w = nets["actor"].parameters(), base_nets["actor"].parameters()
    assert not torch.equal(ours_w[0], base_w[0])  # the first hidden layer learned by another rule
