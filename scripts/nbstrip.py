"""Keep the lessons small and honest in git: store only the outputs that nbval checks, marked as stored.

    python scripts/nbstrip.py notebooks/*.ipynb            # strip in place
    python scripts/nbstrip.py --execute notebooks/*.ipynb  # run each on the live engine first

Cells tagged ``nbval-check-output`` keep their outputs and execution count (from a real run: that is
what nbval compares against). They must print their verdicts (stream output only), and each stored
stream starts with MARKER, so a learner who opens a lesson cannot take the kit's run for their own;
notebooks/sanitize.cfg removes that line before nbval compares. Every other cell is stored without
outputs or count, and widget state is dropped. nbval's comment markers (``# NBVAL_CHECK_OUTPUT``) are
refused: the lessons use cell tags, which a learner does not have to read past.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

CHECK_TAG = "nbval-check-output"
MARKER = "(stored output of the kit's own run: run this cell to see yours)"
# nbval's comment markers (nbval/plugin.py, comment_markers): a comment line that is one of them.
COMMENT_MARKER = re.compile(r"^\s*#+\s*(NBVAL_[A-Z_]+|PYTEST_VALIDATE_IGNORE_OUTPUT)\s*$", re.MULTILINE)


class StripError(ValueError):
    """A lesson the script will not store: what is wrong, and in which cell."""


def is_checked(cell: nbformat.NotebookNode) -> bool:
    """Say whether nbval compares this cell's output with the stored one (the cell tag)."""
    return CHECK_TAG in cell.get("metadata", {}).get("tags", [])


def marked(text: str) -> str:
    """Return a stored stream's text with MARKER as its first line (once, however often it is stripped)."""
    return text if text.startswith(MARKER + "\n") else f"{MARKER}\n{text}"


def _one_stream_per_name(outputs: list) -> list:
    """Merge the chunks of each stream (stdout, stderr) into one output, as nbval does before comparing."""
    merged: list = []
    streams: dict[str, nbformat.NotebookNode] = {}
    for out in outputs:
        if out.output_type != "stream":
            merged.append(out)
        elif out.name in streams:
            streams[out.name].text += out.text.removeprefix(MARKER + "\n")
        else:
            streams[out.name] = out
            merged.append(out)
    return merged


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop every output except those of checked cells (marked as stored), and all execution noise."""
    nb.metadata.pop("widgets", None)
    for i, cell in enumerate(nb.cells):
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in ("tags",)}
        if cell.cell_type != "code":
            continue
        if found := COMMENT_MARKER.search(cell.source):
            raise StripError(f"code cell {i}: `{found.group(0).strip()}` is a comment marker; "
                             f"tag the cell `{CHECK_TAG}` (or another nbval tag) instead")
        if not is_checked(cell):
            cell.execution_count = None  # nbval rejects stored outputs of a cell with no count
            cell.outputs = []
            continue
        cell.outputs = _one_stream_per_name(cell.outputs)
        for out in cell.outputs:
            if out.output_type != "stream":
                raise StripError(f"code cell {i} is tagged {CHECK_TAG} but shows a {out.output_type}: "
                                 "a checked cell prints its verdict (print), so its stored copy can be marked")
            out.text = marked(out.text)
    return nb


def execute(nb: nbformat.NotebookNode, where: Path) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in its own folder, as a learner would."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(where)}}).execute()
    return nb


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--execute", action="store_true", help="run each notebook first (on the live engine)")
    p.add_argument("notebooks", nargs="+", type=Path)
    args = p.parse_args()
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if args.execute:
            nb = execute(nb, path.parent)
        try:
            stripped = strip(nb)
        except StripError as exc:
            print(f"{path}: not written: {exc}", file=sys.stderr)
            return 1
        nbformat.write(stripped, path)
        print(f"{path}: {path.stat().st_size / 1000:.1f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
