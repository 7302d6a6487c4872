import math

import numpy as np
import pytest

from companion import experiments, stats


def test_welch_matches_hand_computation():
    out = stats.welch(10.0, 2.0, 10, 8.0, 2.0, 10)  # se = sqrt(0.4 + 0.4), df = 0.64 / (2 * 0.16 / 9) = 18
    assert out["difference"] == 2.0
    assert out["standard error"] == pytest.approx(math.sqrt(0.8))
    assert out["t"] == pytest.approx(2 / math.sqrt(0.8))
    assert out["df"] == pytest.approx(18.0)
    unequal = stats.welch(1.0, 3.0, 10, 1.0, 1.0, 5)  # df = 1.1^2 / (0.9^2 / 9 + 0.2^2 / 4) = 12.1
    assert unequal["df"] == pytest.approx(12.1) and unequal["t"] == 0.0 and unequal["p"] == pytest.approx(1.0)


@pytest.mark.parametrize("t, df, p", [
    (1.0, 1.0, 0.5),  # Cauchy: 1 - 2 atan(1) / pi
    (2.0, 2.0, 1 - 2 / math.sqrt(6)),  # df = 2: p = 1 - t / sqrt(2 + t^2)
    (2.228139, 10.0, 0.05),  # tabulated two-sided 5% points
    (-2.100922, 18.0, 0.05),
    (1.959964, 1e7, 0.05),  # the normal limit
])
def test_t_two_sided_p_against_closed_forms_and_tables(t, df, p):
    assert stats.t_two_sided_p(t, df) == pytest.approx(p, abs=2e-6)


def test_compare_with_reported_uses_sample_std_and_paper_std_units():
    runs = np.arange(1.0, 11.0)  # mean 5.5, std (ddof = 1) sqrt(55 / 6)
    out = stats.compare_with_reported(runs, 3.5, 4.0)
    assert out["ours std"] == pytest.approx(math.sqrt(55 / 6))
    assert out["difference / paper std"] == pytest.approx(0.5)
    assert out["standard error"] == pytest.approx(math.sqrt(55 / 60 + 1.6))
    assert out["t"] == pytest.approx(2.0 / math.sqrt(55 / 60 + 1.6))


def test_compare_runs_is_welch_on_the_two_sets_of_runs():
    a, b = np.arange(1.0, 11.0), np.arange(1.0, 6.0) * 2  # means 5.5 and 6, stds sqrt(55 / 6) and sqrt(10)
    out = stats.compare_runs(a, b)
    assert (out["mean a"], out["mean b"], out["runs a"], out["runs b"]) == (5.5, 6.0, 10, 5)
    assert out["std b"] == pytest.approx(math.sqrt(10))
    hand = stats.welch(5.5, math.sqrt(55 / 6), 10, 6.0, math.sqrt(10), 5)
    assert out["t"] == pytest.approx(hand["t"]) and out["df"] == pytest.approx(hand["df"])
    assert out["p"] == pytest.approx(hand["p"])
    with pytest.raises(ValueError, match="per_run_b must be a 1-d array"):
        stats.compare_runs(a, np.ones((2, 2)))
    with pytest.raises(ValueError, match="must not both be constant"):
        stats.compare_runs(np.ones(3), np.zeros(3))


def test_p_text_keeps_three_digits_and_floors_at_a_thousandth():
    assert [stats.p_text(p) for p in (0.6531, 0.0496, 0.001, 0.000106, 0.0)] == [
        "0.653", "0.0496", "0.001", "< 0.001", "< 0.001"]
    with pytest.raises(ValueError, match="p must be in"):
        stats.p_text(1.5)


def test_every_reported_cell_has_one_paper_scale_entry():
    cells = stats.reported_cells()
    assert len(cells) == len(experiments.REPORTED) + len(experiments.REPORTED_WM)
    for paper, method, task, _, name in cells:
        exp = experiments.get(name)
        assert (exp.paper, exp.method, exp.task, exp.runs) == (paper, method, task, 10)


def test_comparison_rows_read_each_cell_strictly():
    cells = {name: cell for _, _, _, cell, name in stats.reported_cells()}
    spread = np.linspace(-1, 1, 10)[:, None] * np.ones((1, 3))

    def load(name):  # map_*: the paper's mean; wm_*: ten paper stds above it; the rest not stored
        mean, std = cells[name]
        if name.startswith("map_"):
            return mean + std * spread
        return mean + 10 * std + std * spread if name.startswith("wm_") else None

    rows = {row["experiment"]: row for row in stats.comparison_rows(load)}
    assert rows["map_cartpole"]["reading"] == "no detectable difference"
    assert abs(rows["map_cartpole"]["t"]) < 1e-9
    assert rows["wm_acrobot"]["reading"] == "ours higher" and rows["wm_acrobot"]["p"] < 0.001
    assert rows["wm_acrobot"]["difference / paper std"] == pytest.approx(10.0)
    assert rows["reinforce_cartpole"]["reading"] == "not stored"


def test_bad_input_is_refused_before_compute():
    with pytest.raises(ValueError, match="a std must be finite and >= 0, got -1"):
        stats.welch(0.0, -1.0, 10, 0.0, 1.0, 10)
    with pytest.raises(ValueError, match="b n must be an integer >= 2"):
        stats.welch(0.0, 1.0, 10, 0.0, 1.0, 1)
    with pytest.raises(ValueError, match="per_run must be a 1-d array"):
        stats.compare_with_reported(np.ones((2, 3)), 0.0, 1.0)
    with pytest.raises(ValueError, match="df must be finite and positive, got 0"):
        stats.t_two_sided_p(1.0, 0)


def test_curve_bands_use_the_sample_std():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from companion.plotting import mean_std_band

    runs = np.array([[0.0, 1.0], [2.0, 3.0]])  # per point: mean 1 and 2, sample std sqrt(2)
    fig, ax = plt.subplots()
    mean_std_band(ax, np.arange(2), runs, "REINFORCE")
    top = ax.collections[0].get_paths()[0].vertices[:, 1].max()
    plt.close(fig)
    assert top == pytest.approx(2 + math.sqrt(2))
    with pytest.raises(ValueError, match=r"runs must have shape \(runs >= 2, points\), got \(1, 2\)"):
        mean_std_band(ax, np.arange(2), runs[:1], "REINFORCE")
