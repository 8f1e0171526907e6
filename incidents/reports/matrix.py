"""The ACH matrix as the report prints it: fast at any size.

WeasyPrint lays out a table cell by cell: a 2,000 × 12 matrix as an HTML
table took 44 s and 900 MiB on its own. Here each row is two runs of text,
the source's title and one line of monospaced rating codes, and the colour of
every cell comes from one small PNG per block of rows, drawn behind the codes
without smoothing. A block is a page's worth of rows with its column heads,
and never splits across pages; the matrix goes landscape when its columns do
not fit a portrait page, and more hypotheses than ``MAX_COLUMNS`` are printed
in several column groups, each with every row.

Sizes are in millimetres; the stylesheet (static/css/report.css, ``.mx-*``)
uses the same ones: the monospace font's advance (DejaVu Sans Mono, 0.602 em)
at ``MONO_PT`` gives ``CHAR_MM``.
"""

from __future__ import annotations

import base64
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

# The geometry shared with report.css.
MONO_PT = 7.2
CHAR_MM = 0.6021 * MONO_PT * 25.4 / 72  # one character of the codes' line
ROW_MM = 4.4  # a row's height (.mx-row)
CELL_CHARS = 6  # a column is six characters wide: " CC▲  "
PREFIX_CHARS = 13  # "  B2   1.70  ": the grade and the diagnosticity before the cells
PORTRAIT_MM = 172.0  # the text width of a portrait A4 page (report.css margins)
LANDSCAPE_MM = 265.0  # and of a landscape one
PORTRAIT_COLUMNS = 6  # more columns than this: landscape
MAX_COLUMNS = 18  # more than this: printed in several column groups
ROWS_PORTRAIT = 48  # rows in a block: a page's worth
ROWS_LANDSCAPE = 32

# Cell colours (as in the legend's CSS, .rating-*).
COLOURS = {
    "CC": (169, 220, 184),
    "C": (217, 240, 223),
    "N": (235, 238, 242),
    "NA": (255, 255, 255),
    "I": (251, 217, 213),
    "II": (242, 169, 159),
    "": (255, 255, 255),
}
# The PNG's pixels per cell and per row (a one-pixel white gap each way).
CELL_PX, ROW_PX = 24, 12
MARKS = {"high": "▲", "low": "▽"}


@dataclass
class Block:
    text: str  # its rows, one line each, monospaced
    image: str  # a data: URI of the cells' colours
    height_mm: float


@dataclass
class Group:
    """Some of the columns (all of them, unless there are very many), every row."""

    columns: list[Any]  # HypothesisEntry
    head: str  # the column heads over the rows
    blocks: list[Block]
    foot: str  # the scores and the ranks under the rows
    label: str  # "H1–H18" when the matrix has several groups
    image_mm: float  # the width of its cells' images


@dataclass
class Layout:
    groups: list[Group]
    wide: bool
    cells_left_mm: float  # where the cells begin in each line

    @property
    def row_mm(self) -> float:
        return ROW_MM


def _width(text: str) -> int:
    """TEXT's width in monospaced cells: wide (East Asian) characters take two,
    combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _fitted(text: str, width: int) -> str:
    """TEXT cut to WIDTH cells (with "…" when cut) and padded to exactly WIDTH."""
    text = " ".join(text.split())
    if _width(text) > width:
        out, used = [], 0
        for c in text:
            w = _width(c)
            if used + w > width - 1:
                break
            out.append(c)
            used += w
        text = "".join(out).rstrip() + "…"
    return text + " " * (width - _width(text))


def _cell(rating: str, relevance: str) -> str:
    text = rating + MARKS.get(relevance, "") if rating else "·"
    return text.center(CELL_CHARS)


def _shortened(title: str, width_mm: float) -> str:
    """TITLE cut to what fits in WIDTH_MM at the rows' size (a proportional font
    averages about half an em a character; the box clips whatever is left)."""
    fits = max(8, int(width_mm / (0.5 * 7.4 * 25.4 / 72)) - 6)
    return title if len(title) <= fits else title[: fits - 1].rstrip() + "…"


def _image(cells: Sequence[Sequence[tuple[str, str]]], width: int) -> str:
    """The colours of CELLS (rows of (rating, relevance)) as a PNG data URI."""
    image = Image.new("RGB", (width * CELL_PX, len(cells) * ROW_PX), (255, 255, 255))
    for y, row in enumerate(cells):
        for x, (rating, _) in enumerate(row):
            colour = COLOURS.get(rating, COLOURS[""])
            if colour != (255, 255, 255):
                box = (x * CELL_PX + 1, y * ROW_PX + 1, (x + 1) * CELL_PX - 1, (y + 1) * ROW_PX - 1)
                image.paste(colour, box)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def layout(columns: list[Any], rows: list[Any]) -> Layout:
    """COLUMNS (hypotheses, ranked) and ROWS (``content.MatrixRow``) as blocks of lines."""
    wide = len(columns) > PORTRAIT_COLUMNS
    line_chars = int((LANDSCAPE_MM if wide else PORTRAIT_MM) / CHAR_MM)
    per_block = ROWS_LANDSCAPE if wide else ROWS_PORTRAIT
    shown = min(len(columns), MAX_COLUMNS)
    # "S1234 " + title + grade and diagnosticity + the cells.
    code_chars = max([len(r.source.code) for r in rows] + [2]) + 1
    title_chars = line_chars - code_chars - PREFIX_CHARS - shown * CELL_CHARS - 1
    left_chars = code_chars + title_chars + PREFIX_CHARS
    groups = []
    starts = range(0, len(columns), MAX_COLUMNS) if columns else range(1)
    for start in starts:
        cols = columns[start : start + MAX_COLUMNS]
        blocks = []
        for first in range(0, len(rows), per_block):
            chunk = rows[first : first + per_block]
            cells = [row.cells[start : start + MAX_COLUMNS] for row in chunk]
            lines = [
                row.source.code.ljust(code_chars)
                + _fitted(row.source.title, title_chars)
                + f"{row.source.grade:>5}{row.source.diagnosticity:>6.2f}  "
                + "".join(_cell(r, rel) for r, rel in cells[i])
                for i, row in enumerate(chunk)
            ]
            blocks.append(
                Block(
                    text="\n".join(lines),
                    image=_image(cells, len(cols)),
                    height_mm=round(len(chunk) * ROW_MM, 2),
                )
            )
        label = f"{cols[0].code}–{cols[-1].code}" if cols and len(columns) > MAX_COLUMNS else ""
        lead = code_chars + title_chars + PREFIX_CHARS
        scores = "".join(f"{h.score:.2f}".replace("-", "−").center(CELL_CHARS) for h in cols)
        ranks = "".join(str(h.rank).center(CELL_CHARS) for h in cols)
        groups.append(
            Group(
                columns=cols,
                head="Source".ljust(code_chars + title_chars)
                + "Grade".rjust(5)
                + "Diag.".rjust(6)
                + "  "
                + "".join(h.code.center(CELL_CHARS) for h in cols),
                blocks=blocks,
                foot="Score (nearer 0 is better)  ".rjust(lead)
                + scores
                + "\n"
                + "Rank  ".rjust(lead)
                + ranks,
                label=label,
                image_mm=round(len(cols) * CELL_CHARS * CHAR_MM, 3),
            )
        )
    return Layout(groups=groups, wide=wide, cells_left_mm=round(left_chars * CHAR_MM, 3))
