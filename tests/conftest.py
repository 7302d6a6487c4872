import pytest
import torch

from companion.network import init_network
from companion.units import Bernoulli, Normal, Softmax

FAMILIES = {
    "normal-softplus": Normal("softplus", 0.3),
    "normal-relu": Normal("relu", 0.5),
    "normal-linear": Normal("linear", 2.0),
    "bernoulli": Bernoulli(),
    "softmax": Softmax(0.7),
}


@pytest.fixture(params=list(FAMILIES))
def family(request):
    return FAMILIES[request.param]


@pytest.fixture
def small_net():
    """3 runs of a 5-4-3-2 network: normal softplus, Bernoulli, softmax."""
    return init_network([5, 4, 3, 2], [Normal("softplus", 0.3), Bernoulli(), Softmax(1.5)], runs=3, seed=7, bias_range=0.1)


def random_values(units, z, seed=0):
    return units.sample(z, torch.Generator().manual_seed(seed))
