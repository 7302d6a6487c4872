import pytest
import torch

from companion.network import init_network, sample
from companion.rules import (
    critic_update,
    energy,
    energy_gradient,
    map_update,
    reinforce_update,
    reparam_squared_error_grads,
    reparam_update,
    settle,
)
from companion.units import Bernoulli, Normal, Softmax


def normal_net(out=None, runs=2, seed=0):
    """The paper's variances: (0.3, 1) under a softmax (multiplexer), (0.03, 0.1, 0.1) for a critic."""
    out = out or Softmax(1.0)
    n_out, var = (1, (0.03, 0.1)) if isinstance(out, Normal) else (3, (0.3, 1.0))
    return init_network([4, 6, 5, n_out], [Normal("softplus", var[0]), Normal("softplus", var[1]), out],
                        runs=runs, seed=seed, bias_range=0.1)


def sampled(net, batch=5, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return sample(net, torch.randn(net.runs, batch, 4, generator=gen, dtype=torch.float64), gen), gen


def test_energy_gradient_equals_autograd_of_minus_log_posterior():
    net = normal_net()
    values, _ = sampled(net)
    hidden = [v.clone().requires_grad_(True) for v in values[1:-1]]
    auto = torch.autograd.grad(energy(net, [values[0], *hidden, values[-1]]).sum(), hidden)
    for a, b in zip(energy_gradient(net, values), auto):
        assert torch.allclose(a, b, rtol=0, atol=1e-10)


@pytest.mark.parametrize("out", [Softmax(1.0), Normal("linear", 0.1)])
def test_settling_never_raises_the_energy(out):
    net = normal_net(out, runs=3)
    values, _ = sampled(net, batch=16)
    previous = energy(net, values)
    for _ in range(30):
        values = settle(net, values, 1)
        current = energy(net, values)
        assert torch.all(current <= previous + 1e-12)
        previous = current


def test_settle_keeps_state_and_action_and_zero_steps_is_identity():
    net = normal_net()
    values, _ = sampled(net)
    settled = settle(net, values, 5)
    assert settled[0] is values[0] and settled[-1] is values[-1]
    assert not torch.equal(settled[1], values[1])
    assert all(a is b for a, b in zip(settle(net, values, 0), values))


def test_map_update_with_zero_steps_is_global_reinforce():
    net = normal_net()
    values, gen = sampled(net)
    reward = torch.randn(2, 5, generator=gen, dtype=torch.float64)
    for a, b in zip(map_update(net, values, reward, settle_steps=0), reinforce_update(net, values, reward)):
        assert torch.equal(a, b)


def test_theorem_2_settled_reinforce_equals_reparameterised_backprop():
    net = normal_net(runs=2, seed=3)
    values, gen = sampled(net, batch=3)
    reward = torch.randn(2, 3, generator=gen, dtype=torch.float64)
    settled = settle(net, values, 3000)
    assert max(g.abs().max() for g in energy_gradient(net, settled)) < 1e-10
    for a, b in zip(reinforce_update(net, settled, reward), reparam_update(net, settled, reward)):
        assert torch.allclose(a, b, rtol=1e-8, atol=1e-12)
    # before settling the two differ
    diff = max((a - b).abs().max() for a, b in zip(reinforce_update(net, values, reward), reparam_update(net, values, reward)))
    assert diff > 1e-3


def test_theorem_3_critic_rule_is_a_scaled_squared_error_gradient():
    net = normal_net(Normal("linear", 0.1), runs=2, seed=4)
    values, gen = sampled(net, batch=1)
    target = torch.randn(2, 1, generator=gen, dtype=torch.float64)
    settled = settle(net, values, 3000)
    ours = critic_update(net, settled, target, settle_steps=0)
    for a, g in zip(ours, reparam_squared_error_grads(net, settled, target)):  # ratio 1 / (2 sigma_L^2)
        assert torch.allclose(a, -g / (2 * 0.1), rtol=1e-7, atol=1e-12)


def test_reparam_squared_error_grads_by_hand_for_one_linear_layer():
    net = init_network([3, 1], [Normal("linear", 0.1)], runs=1, seed=0, bias_range=0.1)
    x = torch.randn(1, 4, 3, dtype=torch.float64)
    target = torch.randn(1, 4, dtype=torch.float64)
    error = target - net.layers[0].preact(x)[..., 0]
    dw, db = reparam_squared_error_grads(net, [x, torch.zeros(1, 4, 1, dtype=torch.float64)], target)
    assert torch.allclose(dw[0, :, 0], (-2 * error[0, :, None] * x[0]).mean(0))
    assert torch.allclose(db[0, 0], (-2 * error).mean())


def test_bad_arguments():
    net = normal_net()
    values, _ = sampled(net)
    with pytest.raises(ValueError, match="steps must be an integer at least 0, got -1"):
        settle(net, values, -1)
    bern = init_network([4, 3, 2], [Bernoulli(), Softmax()], runs=1, seed=0)
    with pytest.raises(ValueError, match="hidden layer 1 must have continuous \\(Normal\\) units to settle"):
        settle(bern, sample(bern, torch.zeros(1, 2, 4, dtype=torch.float64)), 1)
    with pytest.raises(ValueError, match="critic's output layer must be one Normal unit"):
        critic_update(net, values, torch.zeros(2, 5, dtype=torch.float64), 1)
