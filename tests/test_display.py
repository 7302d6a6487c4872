"""The chapters' shared display helpers: stored results, rounded tables, highlighted source."""
import numpy as np
import pytest

from companion import display, experiments
from companion.units import Bernoulli


def test_stored_is_none_for_a_name_outside_the_registry():
    assert display.stored("no_such_experiment") is None
    assert display.stored_returns("no_such_experiment") is None


def test_stored_returns_are_the_stored_arrays_returns():
    name = next(n for n in experiments.REGISTRY if display.stored(n) is not None)
    returns = display.stored_returns(name)
    assert returns.ndim == 2 and np.array_equal(returns, display.stored(name)["returns"])


def test_table_rounds_floats_to_significant_digits_and_keeps_the_rest():
    frame = display.table([{"task": "a", "x": 1.23456, "n": 3}, {"task": "b", "x": 0.000123456, "n": 4}],
                          index="task", digits=3)
    assert list(frame["x"]) == [1.23, 0.000123] and list(frame["n"]) == [3, 4]
    assert list(frame.index) == ["a", "b"]


def test_table_rejects_bad_digits():
    with pytest.raises(ValueError, match="digits"):
        display.table([{"x": 1.0}], digits=0)


def test_source_is_one_highlighted_python_block_of_the_whole_function():
    block = display.source(Bernoulli.dlogp_dz).data
    assert block.startswith("```python\ndef dlogp_dz(") and block.endswith("\n```")
    assert "return h - torch.sigmoid(z)" in block


def test_source_rejects_what_has_no_source():
    with pytest.raises(ValueError, match="objects"):
        display.source(42)


def test_sweep_summary_puts_each_best_setting_and_its_error_in_one_narrow_row():
    rows = [{"experiment": "sens_acrobot_backprop_actor + _more", "varied": "actor rate", "best": 1e-4,
             "at an end": False, "average return": -327.1234, "standard error": 82.81, "paper": "-106.29 (15.00)",
             "paper - 2 std": -136.29},
            {"experiment": "sens_multiplexer_thomas", "varied": "rate factor", "best": 0.1, "at an end": True,
             "average return": 0.12237, "standard error": 0.00321, "paper": "", "paper - 2 std": float("nan")}]
    frame = display.sweep_summary(rows)
    assert list(frame.index) == ["sens_acrobot_backprop_actor + _more", "sens_multiplexer_thomas"]
    assert frame.loc["sens_acrobot_backprop_actor + _more"].tolist() == \
        ["actor rate 0.0001", "no", "-327 (83)", "-106.29 (15.00)", "-136.3"]
    assert frame.loc["sens_multiplexer_thomas"].tolist() == ["rate factor 0.1", "yes", "0.122 (0.0032)", "", ""]


def test_sweep_settings_print_each_setting_to_its_own_significant_digits():
    rows = [{"experiment": "wmsens_acrobot_backprop_actor", "varied": "actor rate", "value": 2.15e-4,
             "average return": -499.83, "standard error": 0.1667},
            {"experiment": "wmsens_multiplexer_reinforce", "varied": "rate factor", "value": 1000.0,
             "average return": 0.16123, "standard error": 0.0161}]
    frame = display.sweep_settings(rows)
    assert list(frame.index) == [("wmsens_acrobot_backprop_actor", "0.000215"), ("wmsens_multiplexer_reinforce", "1000")]
    assert frame["average return (se)"].tolist() == ["-500 (0.17)", "0.161 (0.016)"]
    assert frame["varied"].tolist() == ["actor rate", "rate factor"]
    assert "0.161 (0.016)" in frame.to_html() and "-500 (0.17)" in frame.to_html()


def test_significant_keeps_plain_notation_at_every_magnitude():
    assert [display.significant(x, 2) for x in (130.4, 0.66, 0.00064, 14.0)] == ["130", "0.66", "0.00064", "14"]
    assert [display.significant(x, 3) for x in (-499.83, 1234.5, 0.161234, -93.43)] == ["-500", "1230", "0.161", "-93.4"]
    assert [display.significant(x, 2) for x in (0.0, float("nan"))] == ["0", "nan"]
