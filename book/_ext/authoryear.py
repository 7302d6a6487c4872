"""Bibliography labels in the author-year style of the book's citations ("Chung and Barto, 2022").

Registers a pybtex formatting style ``authoryear`` (pybtex's ``unsrt`` with author-year labels);
``_config.yml`` selects it with ``bibtex_default_style``.
"""
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


class AuthorYearLabels(BaseLabelStyle):
    """"Williams, 1992", "Chung and Barto, 2022", "Lee et al., 2015"; a, b, ... where two coincide."""

    def format_labels(self, sorted_entries):
        labels = [self.label(entry) for entry in sorted_entries]
        for label in labels:
            same = [i for i, other in enumerate(labels) if other == label]
            if len(same) > 1:
                for suffix, i in zip("abcdefghij", same):
                    labels[i] = label + suffix
        return iter(labels)

    @staticmethod
    def label(entry):
        names = [person.last_names[-1] for person in entry.persons.get("author", [])]
        who = names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{names[0]} et al."
        return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
