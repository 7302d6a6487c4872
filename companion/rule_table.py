"""The hidden-unit learning rules of the book side by side, rendered from their functions and docstrings."""
from __future__ import annotations

import inspect

from .rules import backprop_update, map_update, reinforce_update, settle, unit_rewards, weight_max_update
from .rules.backprop import chain_rule_grads

# rule -> (what a hidden unit must know, the function giving its learning signal (None: the global reward),
#          its update, the cost of one update for L layers and N settling steps)
HIDDEN_UNIT_RULES = {
    "global REINFORCE": ("its input, its output and the global reward", None, reinforce_update,
                         "one forward pass: O(L)"),
    "Weight Max": ("its input, its output, and the weights it feeds with their latest change",
                   unit_rewards, weight_max_update,
                   "one forward pass, then the unit rewards layer by layer from the top: O(L)"),
    "MAP Propagation": ("its input, its output, the layer above's values and errors sent back through "
                        "the weights it feeds (while settling), and the global reward",
                        settle, map_update, "one forward pass and N settling steps: O(L N)"),
    "Backprop": ("the error of every layer above, sent back through their transposed weights",
                 chain_rule_grads, backprop_update, "one forward and one backward pass: O(L)"),
}


def summary(function) -> str:
    """``name (module): first paragraph of the docstring``, its double-backtick code marks dropped (a
    table cell shows no reST), e.g. ``settle (rules.map_prop): ...``: the name first, so that a narrow
    column breaks between the two."""
    doc = inspect.getdoc(function) or ""
    first = doc.split("\n\n")[0].replace("\n", " ").replace("``", "")
    return f"{function.__name__} ({function.__module__.removeprefix('companion.')}): {first}"


def hidden_unit_rule_rows() -> list:
    """One row per rule of ``HIDDEN_UNIT_RULES``: what a hidden unit needs, its signal, its update and
    its cost."""
    return [{"rule": rule, "a hidden unit needs": needs,
             "its signal": "the global reward R" if signal is None else summary(signal),
             "its update": summary(update), "cost of an update": cost}
            for rule, (needs, signal, update, cost) in HIDDEN_UNIT_RULES.items()]
