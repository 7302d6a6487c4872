"""Learning rules: each returns a list of updates (ascent directions) in ``Network.parameters`` order."""
from .backprop import backprop_update, reparam_update
from .reinforce import layer_log_prob_grads, reinforce_update

__all__ = ["backprop_update", "reparam_update", "layer_log_prob_grads", "reinforce_update"]
