"""The site as a reader gets it: build the book (warnings are errors) and check the HTML."""
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


class Page(HTMLParser):
    """Collects the ids, links and images of one HTML page."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.images, self.scripts = set(), [], [], []
        self.figure_depth, self.loose_images, self.captions = 0, [], []
        self.classes, self.text = [], []
        self._caption_number = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        self.classes.append(attrs.get("class") or "")
        if tag == "figure":
            self.figure_depth += 1
        if tag == "img" and "_images/" in attrs.get("src", "") and not self.figure_depth:
            self.loose_images.append(attrs["src"])
        self._caption_number = "caption-number" in (attrs.get("class") or "")

    def handle_endtag(self, tag):
        if tag == "figure":
            self.figure_depth -= 1

    def handle_data(self, data):
        self.text.append(data)
        if self._caption_number and data.strip():
            self.captions.append(data.strip())
            self._caption_number = False


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for entry in toc["chapters"]]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    build = subprocess.run([str(jupyter_book), "build", str(ROOT), "--path-output", str(out),
                            "-W", "-n", "--keep-going"], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    html = out / "_build" / "html"
    return html, {p: Page() for p in html.rglob("*.html")}


def parsed(site):
    html, pages = site
    for path, page in pages.items():
        if not page.ids and not page.links:
            page.feed(path.read_text(encoding="utf-8"))
    return html, pages


def test_every_chapter_of_the_toc_has_a_page(site):
    html, _ = site
    for name in toc_files():
        page = html / f"{name}.html"
        assert page.exists() and page.stat().st_size > 5000, f"{page} missing or empty"


def test_no_broken_internal_link(site):
    html, pages = parsed(site)
    broken = []
    for path, page in pages.items():
        for href in page.links:
            url = urlparse(href)
            if url.scheme or href.startswith(("mailto:", "javascript:")):
                continue
            target = (path.parent / unquote(url.path)).resolve() if url.path else path
            if not target.exists():
                broken.append(f"{path.relative_to(html)} -> {href}")
            elif url.fragment and target.suffix == ".html" and target in pages:
                if url.fragment not in pages[target].ids:
                    broken.append(f"{path.relative_to(html)} -> {href} (no such anchor)")
    assert not broken, "\n".join(broken[:20])


def test_every_figure_is_present_and_not_empty(site):
    html, pages = parsed(site)
    chapters = [html / f"{name}.html" for name in toc_files()]
    figures = 0
    for path in chapters:
        for src in pages[path].images:
            if urlparse(src).scheme or src.startswith("data:"):
                continue
            image = (path.parent / unquote(src)).resolve()
            assert image.exists() and image.stat().st_size > 1000, f"{path.name}: image {src} missing or empty"
            figures += 1
    notebooks = [ROOT / f"{name}.ipynb" for name in toc_files() if (ROOT / f"{name}.ipynb").exists()]
    expected = sum(len(re.findall(r'"image/png"', nb.read_text())) for nb in notebooks)
    assert figures >= expected > 0


def test_math_is_served_from_the_site(site):
    """Every page loads its scripts, MathJax included, from the built site: the book reads offline."""
    html, pages = parsed(site)
    outside, with_math = [], 0
    for path, page in pages.items():
        outside += [f"{path.relative_to(html)}: {src}" for src in page.scripts if urlparse(src).scheme or src.startswith("//")]
        if 'class="math' not in path.read_text(encoding="utf-8"):
            continue
        with_math += 1
        local = [(path.parent / unquote(urlparse(src).path)).resolve() for src in page.scripts if "mathjax" in src.lower()]
        assert local and all(s.is_file() and s.stat().st_size > 100_000 for s in local), f"{path.name}: no local MathJax"
    assert not outside, "scripts loaded from outside the site:\n" + "\n".join(outside[:20])
    assert with_math >= 8, f"only {with_math} pages with math"


def chapter_pages(site):
    html, pages = parsed(site)
    return {name: pages[html / f"{name}.html"] for name in toc_files()}


def test_every_figure_is_numbered_and_captioned(site):
    """Every image of a chapter sits in a numbered figure with a caption, and each figure is referenced."""
    figures = 0
    for name, page in chapter_pages(site).items():
        assert not page.loose_images, f"{name}: images outside a captioned figure: {page.loose_images}"
        numbers = [c for c in page.captions if c.startswith("Fig.")]
        assert len(numbers) == len([src for src in page.images if "_images/" in src]), name
        figures += len(numbers)
        notebook = ROOT / f"{name}.ipynb"
        if notebook.exists():
            labels = re.findall(r'"name": "(fig-[a-z0-9-]+)"', notebook.read_text())
            unreferenced = [label for label in labels if f"{{numref}}`{label}`" not in notebook.read_text()]
            assert not unreferenced, f"{name}: figures the text never references: {unreferenced}"
    assert figures >= 16


def test_no_doubled_cross_reference(site):
    """A reference role already prints its kind: "Theorem {prf:ref}`x`" would read "Theorem Theorem 2"."""
    doubled = []
    for name, page in chapter_pages(site).items():
        text = re.sub(r"\s+", " ", "".join(page.text))
        doubled += [f"{name}: {m.group(0)}" for m in re.finditer(
            r"\b(Theorem|Algorithm|Figure|Fig\.|Table|Equation|Definition|Lemma|Exercise|Solution to) \1\b", text)]
    assert not doubled, "\n".join(doubled)


@pytest.mark.parametrize("chapter", ["01_global_reinforce", "02_faulty_controller", "03_map_propagation",
                                     "05_weight_max"])
def test_chapter_ends_with_exercises_and_hidden_solutions(site, chapter):
    page = chapter_pages(site)[f"book/{chapter}"]
    exercises = [c for c in page.classes if "exercise" in c.split() and "admonition" in c.split()]
    solutions = [c for c in page.classes if "solution" in c.split() and "admonition" in c.split()]
    assert len(exercises) >= 2, f"{chapter}: {len(exercises)} exercises"
    assert len(solutions) == len(exercises) and all("dropdown" in c.split() for c in solutions), solutions


def test_no_table_cell_is_cut(site):
    """pandas shortens a cell past display.max_colwidth with "..."; the chapters' tables show every cell whole."""
    html, _ = site
    cut = {name: len(re.findall(r"\.\.\.</td>", (html / f"{name}.html").read_text(encoding="utf-8")))
           for name in toc_files()}
    assert not any(cut.values()), cut


class DataFrameTables(HTMLParser):
    """The text of every cell of the pandas tables (``table.dataframe``) of a page: per table, a dict
    from column index to that column's cell texts (a cell spanning rows counts in its first row only)."""

    def __init__(self):
        super().__init__()
        self.tables, self._table, self._cell, self._spans, self._column = [], None, None, {}, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "dataframe" in (attrs.get("class") or "").split():
            self._table, self._spans = {}, {}
            self.tables.append(self._table)
        elif self._table is not None and tag == "tr":
            self._column = 0
        elif self._table is not None and tag in ("td", "th"):
            while self._spans.get(self._column, 0) > 0:  # a cell above spans this row here
                self._spans[self._column] -= 1
                self._column += 1
            self._spans[self._column] = int(attrs.get("rowspan") or 1) - 1
            self._cell = self._table.setdefault(self._column, [])
            self._cell.append("")
            self._column += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[-1] += data


COLUMN_PX = 740  # the width of the article's column, as Chromium lays out a page in a 1280-px window


def narrowest_width(columns) -> float:
    """A table's narrowest width in px, estimated as a browser lays it out: every column as wide as its
    longest word, at 7.7 px a character in the tables' 0.85-em font, plus 17 px of padding and border.
    Calibrated on the 73 tables of the built pages against Chromium's min-content widths (DejaVu Sans):
    within 21 px (one std), at most 40 px under."""
    return sum(7.7 * max((len(word) for cell in cells for word in cell.split()), default=0) + 17
               for cells in columns.values())


def test_narrowest_width_grows_with_a_columns_longest_word():
    narrow, wide = DataFrameTables(), DataFrameTables()
    narrow.feed('<table class="dataframe"><tr><th>a b</th><td>1</td></tr></table>')
    wide.feed('<table class="dataframe"><tr><th rowspan="2">a</th><td>1</td></tr><tr><td>sens_cartpole_backprop</td></tr></table>')
    assert narrowest_width(narrow.tables[0]) == 2 * (7.7 + 17)
    assert narrowest_width(wide.tables[0]) == 7.7 + 17 + 7.7 * len("sens_cartpole_backprop") + 17


def test_every_table_fits_the_column(site):
    """No table of results needs sideways scrolling: each fits the column once its cells wrap at spaces."""
    html, _ = site
    wide = []
    for name in toc_files():
        tables = DataFrameTables()
        tables.feed((html / f"{name}.html").read_text(encoding="utf-8"))
        wide += [f"{name}, table {k + 1}: about {narrowest_width(t):.0f} px, starting "
                 f"{' | '.join(cells[0].strip() for cells in list(t.values())[:4])!r}"
                 for k, t in enumerate(tables.tables) if narrowest_width(t) > COLUMN_PX]
    assert not wide, "\n".join(wide)


def test_no_cell_shows_its_printed_output_in_pieces():
    """The site keeps a cell's outputs in order (``nb_merge_streams`` off, so prints between tables stay
    between them); a print split into two stored outputs would show as two boxes."""
    split = []
    for notebook in sorted((ROOT / "book").glob("*.ipynb")):
        for k, cell in enumerate(json.loads(notebook.read_text())["cells"]):
            outputs = cell.get("outputs", [])
            split += [f"{notebook.name}, cell {k}" for a, b in zip(outputs, outputs[1:])
                      if a["output_type"] == b["output_type"] == "stream" and a["name"] == b["name"]]
    assert not split, split
