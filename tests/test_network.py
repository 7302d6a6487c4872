import pytest
import torch

from companion.network import Layer, Network, action_probs, init_network, run_seeds, sample, sample_deterministic_hidden
from companion.rules import backprop_update, reinforce_update
from companion.units import Normal, Softmax


def run_slice(net, r):
    return Network([Layer(l.weight[r : r + 1], l.bias[r : r + 1], l.units) for l in net.layers])


def test_batched_runs_equal_separate_runs_given_the_same_noise(small_net):
    gen = torch.Generator().manual_seed(0)
    state = torch.randn(3, 8, 5, generator=gen, dtype=torch.float64)
    noise = []
    x = state
    for layer in small_net.layers:
        z = layer.preact(x)
        noise.append(layer.units.noise(z, gen))
        x = layer.units.from_noise(z, noise[-1])
    values = sample(small_net, state, noise=noise)
    reward = torch.randn(3, 8, generator=gen, dtype=torch.float64)
    batched = reinforce_update(small_net, values, reward)
    for r in range(3):
        single = run_slice(small_net, r)
        v = sample(single, state[r : r + 1], noise=[u[r : r + 1] for u in noise])
        for a, b in zip(v, values):
            assert torch.equal(a[0], b[r])
        for g, gb in zip(reinforce_update(single, v, reward[r : r + 1]), batched):
            assert torch.allclose(g[0], gb[r], rtol=0, atol=1e-14)


def test_backprop_update_batched_equals_separate(small_net):
    net = init_network([5, 6, 2], [Normal("relu", 1.0), Softmax(1.0)], runs=3, seed=1)
    gen = torch.Generator().manual_seed(2)
    state = torch.randn(3, 4, 5, generator=gen, dtype=torch.float64)
    values = sample_deterministic_hidden(net, state, gen)
    reward = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    batched = backprop_update(net, values, reward)
    for r in range(3):
        single = backprop_update(run_slice(net, r), [v[r : r + 1] for v in values], reward[r : r + 1])
        for g, gb in zip(single, batched):
            assert torch.allclose(g[0], gb[r], rtol=0, atol=1e-14)


def test_initialisation_of_a_run_does_not_depend_on_the_number_of_runs():
    units = [Normal("softplus", 1.0), Softmax(1.0)]
    few = init_network([4, 3, 2], units, runs=2, seed=5, bias_range=0.01)
    many = init_network([4, 3, 2], units, runs=5, seed=5, bias_range=0.01)
    for a, b in zip(few.parameters(), many.parameters()):
        assert torch.equal(a, b[:2])
    assert run_seeds(5, 2) == run_seeds(5, 5)[:2]
    assert len(set(run_seeds(5, 5))) == 5


def test_initial_weights_respect_the_glorot_bound_and_bias_range():
    net = init_network([37, 64, 32, 2], [Normal(), Normal(), Softmax()], runs=4, seed=0, bias_range=1e-3)
    for layer, (n_in, n_out) in zip(net.layers, [(37, 64), (64, 32), (32, 2)]):
        bound = (6 / (n_in + n_out)) ** 0.5
        assert layer.weight.shape == (4, n_in, n_out)
        assert layer.weight.abs().max() <= bound
        assert layer.weight.abs().max() > 0.9 * bound
        assert layer.bias.abs().max() <= 1e-3


@pytest.mark.parametrize("kwargs, match", [
    (dict(sizes=[4], units=[]), "sizes must list at least two positive integers"),
    (dict(sizes=[4, 0, 2], units=[Normal(), Softmax()]), "sizes must list at least two positive integers, got \\[4, 0, 2\\]"),
    (dict(sizes=[4, 3, 2], units=[Normal()]), "units must give one unit family per layer \\(2\\), got \\[Normal"),
    (dict(sizes=[4, 3, 2], units=[Normal(), Softmax()], runs=0), "runs must be an integer at least 1, got 0"),
    (dict(sizes=[4, 3, 2], units=[Normal(), Softmax()], bias_range=-1.0), "bias_range must be a finite number at least 0, got -1.0"),
])
def test_bad_network_arguments(kwargs, match):
    kwargs = {"runs": 2, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        init_network(**kwargs)


def test_bad_state_shape_is_named(small_net):
    with pytest.raises(ValueError, match=r"state must have shape \(runs=3, batch, 5\), got \(3, 8, 4\)"):
        sample(small_net, torch.zeros(3, 8, 4, dtype=torch.float64))


def test_bad_reward_shape_is_named(small_net):
    values = sample(small_net, torch.zeros(3, 8, 5, dtype=torch.float64), torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"reward must be a tensor of shape \(runs, batch\) = \(3, 8\), got Tensor \(3, 7\)"):
        reinforce_update(small_net, values, torch.zeros(3, 7, dtype=torch.float64))


def test_action_probs_of_a_team_and_of_an_ordinary_network(small_net):
    small_net.layers[-1].weight.mul_(20)  # so that the hidden layers' noise moves the policy
    state = torch.randn(3, 2, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    gen = torch.Generator().manual_seed(2)
    team = action_probs(small_net, state, 4000, gen)
    sampled = sum(sample(small_net, state, gen)[-1] for _ in range(4000)) / 4000  # counted actions
    assert team.shape == (3, 2, 2) and torch.allclose(team.sum(-1), torch.ones(3, 2, dtype=torch.float64))
    assert torch.allclose(team, sampled, atol=0.04)
    h = state
    for layer in small_net.layers[:-1]:
        h = layer.units.mean(layer.preact(h))
    exact = small_net.layers[-1].units.probs(small_net.layers[-1].preact(h))
    assert torch.allclose(action_probs(small_net, state, hidden_means=True), exact, rtol=0, atol=1e-15)
    assert (team - exact).abs().max() > 0.1  # a team's policy is not its mean network's
    with pytest.raises(ValueError, match="samples must be an integer at least 1, got 0"):
        action_probs(small_net, state, 0)
