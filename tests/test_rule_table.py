import inspect

from companion import rule_table, rules


def test_rows_are_rendered_from_the_rules_docstrings():
    rows = rule_table.hidden_unit_rule_rows()
    assert [r["rule"] for r in rows] == list(rule_table.HIDDEN_UNIT_RULES)
    for row, (_, signal, update, _) in zip(rows, rule_table.HIDDEN_UNIT_RULES.values()):
        assert row["its update"].endswith(inspect.getdoc(update).split("\n\n")[0].replace("\n", " ").replace("``", ""))
        assert update.__name__ in row["its update"] and update in vars(rules).values()
        if signal is not None:
            assert signal.__name__ in row["its signal"]


def test_summary_keeps_the_first_paragraph_only():
    def f():
        """First line
        continues.

        Second paragraph."""
    assert rule_table.summary(f) == f"f ({__name__}): First line continues."
