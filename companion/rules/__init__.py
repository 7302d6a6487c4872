"""Learning rules: each returns a list of updates (ascent directions) in ``Network.parameters`` order."""
from .backprop import backprop_update, output_mean_grads, reparam_squared_error_grads, reparam_update, ste_update
from .map_prop import critic_update, energy, energy_gradient, map_update, settle
from .reinforce import layer_log_prob_grads, reinforce_update
from .weight_max import unit_rewards, weight_max_signals, weight_max_update

__all__ = [
    "backprop_update", "critic_update", "energy", "energy_gradient", "layer_log_prob_grads",
    "map_update", "output_mean_grads", "reinforce_update", "reparam_squared_error_grads", "reparam_update", "settle",
    "ste_update", "unit_rewards", "weight_max_signals", "weight_max_update",
]
