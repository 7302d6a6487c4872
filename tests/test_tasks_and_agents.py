import pytest
import torch

from companion.agents import train_single_step
from companion.network import init_network
from companion.tasks import Multiplexer
from companion.units import Normal, Softmax


def test_multiplexer_targets_by_hand():
    task = Multiplexer(2)
    # address bits (+1, -1) = binary 10 = 2 -> data bit index 2
    state = torch.tensor([[[1, -1, -1, -1, 1, -1], [-1, -1, 1, -1, -1, -1], [1, 1, -1, -1, -1, 1]]], dtype=torch.float64)
    assert task.target(state).tolist() == [[1, 1, 1]]
    assert task.reward(state, torch.tensor([[1, 0, 1]])).tolist() == [[1.0, -1.0, 1.0]]


def test_multiplexer_states_are_balanced_pm_one():
    task = Multiplexer(3)
    s = task.sample(2, 5000, torch.Generator().manual_seed(0))
    assert s.shape == (2, 5000, 11)
    assert set(s.unique().tolist()) == {-1.0, 1.0}
    assert abs(s.mean().item()) < 0.02
    assert abs(task.target(s).double().mean().item() - 0.5) < 0.02


def test_bad_multiplexer_size():
    with pytest.raises(ValueError, match="k \\(address bits\\) must be an integer from 1 to 6, got 0"):
        Multiplexer(0)


@pytest.mark.parametrize("learner", ["reinforce", "backprop", "map_propagation"])
def test_single_step_training_improves_every_run(learner):
    task = Multiplexer(1)
    net = init_network([3, 8, 2], [Normal("softplus", 0.3), Softmax(1.0)], runs=6, seed=0)
    rewards = train_single_step(net, task, learner, episodes=300, batch_size=32, lrs=[1e-2, 1e-2], seed=1)
    early, late = rewards[:, :30].mean(1), rewards[:, -30:].mean(1)
    assert torch.all(late > early + 0.2), (early, late)


def test_bad_learner_is_named():
    net = init_network([3, 4, 2], [Normal(), Softmax()], runs=1, seed=0)
    with pytest.raises(ValueError, match="learner must be one of \\('reinforce', 'backprop', 'map_propagation', 'map_propagation_sl', 'backprop_sl', 'weight_max', 'ste'\\), got 'sgd'"):
        train_single_step(net, Multiplexer(1), "sgd", 1, 1, [1e-3, 1e-3])
    with pytest.raises(ValueError, match="lrs must give one rate per layer \\(2\\), got \\[0.001\\]"):
        train_single_step(net, Multiplexer(1), "reinforce", 1, 1, [1e-3])


def test_regression_target_and_reward():
    from companion.tasks import Regression
    task = Regression(8, seed=0)
    x = task.sample(2, 5, torch.Generator().manual_seed(1))
    y = torch.relu(torch.relu(x @ task.w0) @ task.w1)[..., 0]
    assert torch.equal(task.target(x), y) and (y >= 0).all()
    assert torch.allclose(task.reward(x, y.unsqueeze(-1) + 0.5), torch.full_like(y, -0.25))
    assert torch.equal(Regression(8, seed=0).w0, task.w0) and not torch.equal(Regression(8, seed=1).w0, task.w0)


@pytest.mark.parametrize("learner", ["map_propagation_sl", "backprop_sl"])
def test_supervised_learners_reduce_the_squared_error_in_every_run(learner):
    from companion.tasks import Regression
    from companion.units import Normal
    net = init_network([8, 16, 8, 1], [Normal("softplus", 0.0075), Normal("softplus", 0.025), Normal("linear", 0.025)],
                       runs=3, seed=0)
    rewards = train_single_step(net, Regression(8), learner, 150, 64, [6e-2, 6e-5, 6e-6], seed=1)
    early, late = -rewards[:, :20].mean(1), -rewards[:, -20:].mean(1)  # squared errors
    assert (late < early / 1.5).all() and late.mean() < early.mean() / 2, (early, late)


def test_settle_steps_override():
    task = Multiplexer(2)
    make = lambda: init_network([task.n_inputs, 8, 2], [Normal("softplus", 0.3), Softmax(1.0)], runs=2, seed=0)  # noqa: E731
    plain = train_single_step(make(), task, "reinforce", 5, 4, [1e-2, 1e-3], seed=1)
    unsettled = train_single_step(make(), task, "map_propagation", 5, 4, [1e-2, 1e-3], seed=1, settle_steps=0)
    assert torch.equal(plain, unsettled)  # N = 0 is global REINFORCE
    with pytest.raises(ValueError, match="settle_steps applies to the MAP Propagation learners only, not to 'backprop'"):
        train_single_step(make(), task, "backprop", 1, 4, [1e-2, 1e-3], settle_steps=5)
