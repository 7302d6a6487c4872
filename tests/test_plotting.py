"""The book's figure helpers in `companion.plotting`."""
import numpy as np
import pytest


def test_state_trajectories_draw_one_panel_per_episode_with_the_runs_overlaid():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from companion.plotting import state_trajectories
    states = np.full((3, 5, 2), np.nan)
    states[:, :3] = np.arange(18, dtype=float).reshape(3, 3, 2)  # 3 steps, then NaN padding
    fig = state_trajectories({"a": (states, {"color": "C0"}), "b": (states[:, :4], {"ls": "--"})},
                             [1, 50, 100], goal=0.45)
    assert [ax.get_title() for ax in fig.axes] == ["episode 1", "episode 50", "episode 100"]
    for k, ax in enumerate(fig.axes):
        lines = [line for line in ax.get_lines() if line.get_label() in ("a", "b")]
        assert len(lines) == 2 and all(len(line.get_xdata()) == 3 for line in lines)  # the padding is dropped
        assert list(lines[0].get_xdata()) == list(states[k, :3, 0])
    assert sorted(fig.legends[0].get_texts()[i].get_text() for i in range(3)) == ["a", "b", "goal (position > 0.45)"]
    plt.close(fig)
    with pytest.raises(ValueError, match="states of 'a' must have shape"):
        state_trajectories({"a": (states[:2], {})}, [1, 50, 100])
    with pytest.raises(ValueError, match="runs must hold at least one run"):
        state_trajectories({}, [1])


def test_every_method_of_the_registry_has_a_colour_of_its_own():
    """A figure may show any methods together (the sensitivity figure shows all of a task's), so no
    two methods of the registry share a colour."""
    from companion.experiments import REGISTRY
    from companion.plotting import colour
    methods = sorted({e.method for e in REGISTRY.values()})
    colours = [colour(m) for m in methods]
    assert len(set(colours)) == len(methods), dict(zip(methods, colours))
