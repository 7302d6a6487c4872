import pytest
import torch

from companion import theory
from companion.network import init_network, sample
from companion.rules import backprop_update, reinforce_update, reparam_update
from companion.units import Bernoulli, Normal, Softmax


def test_reinforce_update_equals_autograd_of_reward_weighted_log_prob(small_net):
    gen = torch.Generator().manual_seed(3)
    values = sample(small_net, torch.randn(3, 6, 5, generator=gen, dtype=torch.float64), gen)
    reward = torch.randn(3, 6, generator=gen, dtype=torch.float64)
    params = [p.clone().requires_grad_(True) for p in small_net.parameters()]
    total = 0
    for l, layer in enumerate(small_net.layers):
        z = torch.baddbmm(params[2 * l + 1].unsqueeze(1), values[l], params[2 * l])
        total = total + (reward * layer.units.log_prob(values[l + 1], z)).mean(1).sum()
    auto = torch.autograd.grad(total, params)
    for a, b in zip(reinforce_update(small_net, values, reward), auto):
        assert torch.allclose(a, b, rtol=0, atol=1e-12)


def test_backprop_update_equals_the_chain_rule_by_hand():
    net = init_network([4, 5, 3], [Normal("softplus", 1.0), Softmax(2.0)], runs=2, seed=0, bias_range=0.2)
    gen = torch.Generator().manual_seed(1)
    state = torch.randn(2, 7, 4, generator=gen, dtype=torch.float64)
    hidden = net.layers[0].units.mean(net.layers[0].preact(state))
    action = net.layers[1].units.sample(net.layers[1].preact(hidden), gen)
    reward = torch.randn(2, 7, generator=gen, dtype=torch.float64)
    dz_out = net.layers[1].units.dlogp_dz(action, net.layers[1].preact(hidden)) * reward.unsqueeze(-1)
    dz_hidden = net.layers[1].input_grad(dz_out) * torch.sigmoid(net.layers[0].preact(state))
    expected = [*net.layers[0].weight_grads(state, dz_hidden), *net.layers[1].weight_grads(hidden, dz_out)]
    for a, b in zip(backprop_update(net, [state, hidden, action], reward), expected):
        assert torch.allclose(a, b, rtol=0, atol=1e-12)


def test_reparam_update_with_zero_noise_is_backprop():
    net = init_network([4, 5, 3, 2], [Normal("softplus", 0.5), Normal("softplus", 0.5), Softmax(1.0)], runs=2, seed=3)
    gen = torch.Generator().manual_seed(4)
    state = torch.randn(2, 6, 4, generator=gen, dtype=torch.float64)
    h1 = net.layers[0].units.mean(net.layers[0].preact(state))
    h2 = net.layers[1].units.mean(net.layers[1].preact(h1))
    action = net.layers[2].units.sample(net.layers[2].preact(h2), gen)
    reward = torch.randn(2, 6, generator=gen, dtype=torch.float64)
    values = [state, h1, h2, action]
    for a, b in zip(reparam_update(net, values, reward), backprop_update(net, values, reward)):
        assert torch.allclose(a, b, rtol=0, atol=1e-14)


def bandit():
    net = init_network([2, 3, 1], [Bernoulli(), Bernoulli()], runs=2, seed=11, bias_range=0.3)
    states = theory.configurations(Bernoulli(), 2)
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    table = torch.tensor([[1.0, -1.0], [0.5, 2.0], [-1.0, 0.0], [0.3, 0.9]], dtype=torch.float64)
    return net, states, probs, table


def test_enumeration_is_a_probability_distribution():
    net, states, probs, _ = bandit()
    ones = torch.ones(4, 2, dtype=torch.float64)
    assert torch.allclose(theory.expected_reward(net.parameters(), net, states, probs, ones), torch.ones(2, dtype=torch.float64))


def test_exact_gradient_matches_finite_differences():
    net, states, probs, table = bandit()
    grads = theory.exact_gradient(net, states, probs, table)
    params = [p.clone() for p in net.parameters()]
    eps = 1e-6
    for i in range(len(params)):
        flat = params[i].view(2, -1)
        for j in range(flat.shape[1]):
            flat[:, j] += eps
            up = theory.expected_reward(params, net, states, probs, table)
            flat[:, j] -= 2 * eps
            down = theory.expected_reward(params, net, states, probs, table)
            flat[:, j] += eps
            assert torch.allclose((up - down) / (2 * eps), grads[i].view(2, -1)[:, j], atol=1e-8)


def test_theorem_1_monte_carlo_mean_approaches_the_exact_gradient():
    net, states, probs, table = bandit()
    exact = theory.exact_gradient(net, states, probs, table)
    counts, means = theory.monte_carlo_reinforce(net, states, probs, table, samples=2**18, chunk=2**16)
    def flat(gs):
        return torch.cat([g.flatten(1) for g in gs], 1)

    err = (flat(means[-1]) - flat(exact)).norm(dim=1) / flat(exact).norm(dim=1)
    assert counts[-1] == 2**18
    assert torch.all(err < 0.05), err


def test_signal_to_noise_of_a_constant_is_infinite_and_of_pure_noise_near_zero():
    const = torch.ones(1, 3)
    assert torch.isinf(theory.signal_to_noise(const, (const**2).sum(-1)))
    g = torch.randn(1, 100_000, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert theory.signal_to_noise(g.mean(1), (g**2).sum(-1).mean(1)).abs() < 1e-3


def test_update_moments_from_batch_means_match_single_sample_moments():
    from companion.tasks import Multiplexer
    task = Multiplexer(1)
    net = init_network([3, 4, 2], [Normal("softplus", 0.3), Softmax(1.0)], runs=1, seed=5)
    means, seconds = theory.update_moments(net, task, sample, reinforce_update, samples=2**15, chunk=2**11, seed=1)
    # the same moments from single samples: each copy of the network draws a batch of one
    single = theory.replicate(net, 2**15)
    gen = torch.Generator().manual_seed(2)
    state = task.sample(single.runs, 1, gen)
    values = sample(single, state, gen)
    reward = task.reward(state, single.layers[-1].units.action(values[-1]))
    for l, g in enumerate(reinforce_update(single, values, reward)[::2]):
        g = g.reshape(2**15, -1)
        assert torch.allclose(means[l][0], g.mean(0), atol=4 * g.std(0).max().item() / 2**7.5)
        assert abs(seconds[l][0].item() / (g**2).sum(-1).mean().item() - 1) < 0.05


def test_output_mean_grads_match_finite_differences():
    from companion.rules import output_mean_grads
    net = init_network([3, 5, 1], [Normal("softplus", 1.0), Normal("linear", 1.0)], runs=2, seed=3, bias_range=0.5)
    state = torch.randn(2, 4, 3, dtype=torch.float64)
    value = lambda: net.layers[1].preact(net.layers[0].units.mean(net.layers[0].preact(state)))[..., 0].mean(1)  # noqa: E731
    grads = output_mean_grads(net, state)
    for p, g in zip(net.parameters(), grads):
        idx = (1,) + (0,) * (p.dim() - 1)
        old = p[idx].item()
        p[idx] = old + 1e-6
        up = value()[1].item()
        p[idx] = old - 1e-6
        down = value()[1].item()
        p[idx] = old
        assert abs((up - down) / 2e-6 - g[idx].item()) < 1e-6


def test_sampling_with_some_units_exploring():
    from companion.network import sample_exploring_some
    net = init_network([3, 200, 2], [Normal("softplus", 1.0), Softmax()], runs=1, seed=0)
    state = torch.randn(1, 50, 3, dtype=torch.float64)
    values = sample_exploring_some(net, state, 0.25, torch.Generator().manual_seed(0))
    at_mean = values[1] == net.layers[0].units.mean(net.layers[0].preact(state))
    assert abs(at_mean.double().mean().item() - 0.75) < 0.02
    assert torch.all(values[2].sum(-1) == 1)
    import pytest
    with pytest.raises(ValueError, match="explore must be a finite number in \\(0, 1\\], got 0"):
        sample_exploring_some(net, state, 0)


@pytest.mark.parametrize("activation", ["softplus", "relu"])
def test_chain_rule_grads_equal_autograd(activation):
    from companion.rules.backprop import chain_rule_grads
    net = init_network([3, 5, 4, 2], [Normal(activation, 0.5), Normal(activation, 0.5), Softmax(1.5)], runs=2, seed=7,
                       bias_range=0.3)
    gen = torch.Generator().manual_seed(8)
    values = sample(net, torch.randn(2, 6, 3, generator=gen, dtype=torch.float64), gen)
    reward = torch.randn(2, 6, generator=gen, dtype=torch.float64)
    params = [p.clone().requires_grad_(True) for p in net.parameters()]
    h = values[0]
    for l, layer in enumerate(net.layers):  # the hidden noise read off the samples, held fixed
        z = torch.baddbmm(params[2 * l + 1].unsqueeze(1), h, params[2 * l])
        h = layer.units.mean(z) + (values[l + 1] - layer.units.mean(layer.preact(values[l]))) if l < 2 else z
    objective = (reward * net.layers[-1].units.log_prob(values[-1], h)).mean(1).sum()
    auto = torch.autograd.grad(objective, params)
    out = net.layers[-1]
    dz_out = reward.unsqueeze(-1) * out.units.dlogp_dz(values[-1], out.preact(values[-2]))
    for a, b in zip(chain_rule_grads(net, values, dz_out), auto):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-13)


def test_single_step_reinforce_with_thomas_learns_only_where_units_explored():
    from companion.agents import train_single_step
    from companion.tasks import Multiplexer

    def trained(explore):
        net = init_network([3, 8, 2], [Normal("softplus", 1.0), Softmax()], runs=2, seed=0)
        before = [p.clone() for p in net.parameters()]
        train_single_step(net, Multiplexer(1), "reinforce", 3, 16, [1e-2, 1e-2], seed=1, explore=explore)
        return [not torch.equal(a, b) for a, b in zip(before, net.parameters())]
    # with almost no unit exploring, the hidden layer's update is zero and only the output layer learns
    assert trained(1e-12) == [False, False, True, True]
    assert trained(0.5) == [True, True, True, True]
