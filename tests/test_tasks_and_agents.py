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
    rewards = train_single_step(net, task, learner, batches=300, batch_size=32, lrs=[1e-2, 1e-2], seed=1)
    early, late = rewards[:, :30].mean(1), rewards[:, -30:].mean(1)
    assert torch.all(late > early + 0.2), (early, late)


def test_bad_learner_is_named():
    net = init_network([3, 4, 2], [Normal(), Softmax()], runs=1, seed=0)
    with pytest.raises(ValueError, match="learner must be one of \\('reinforce', 'backprop', 'map_propagation'\\), got 'sgd'"):
        train_single_step(net, Multiplexer(1), "sgd", 1, 1, [1e-3, 1e-3])
    with pytest.raises(ValueError, match="lrs must give one rate per layer \\(2\\), got 1"):
        train_single_step(net, Multiplexer(1), "reinforce", 1, 1, [1e-3])
