"""The exercises: lesson 06's Dockerfile checker, and the short question that ends every lesson.

Both answer with a ``Checklist``: what passed, what was found, and for what failed, the real cause
(with the engine's reason) and what to try next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .bases import arg_bases
from .builds import build
from .checks import Checklist
from .container import RunningApp
from .errors import BaseImageMissing, ContainerFailed, KitError
from .labels import LOCAL_PREFIX, image_tag, slug
from .results import BuildResult, mb_text

EXERCISE_TARGET_MB = 10.0
GREETING = "Hello CMS DAQ Group!"


def check_dockerfile(path: Path, target_mb: float = EXERCISE_TARGET_MB) -> tuple[Checklist, BuildResult | None]:
    """Build a Dockerfile and check it: under ``target_mb``, answers on :8080, runs as non-root."""
    report = Checklist(all_pass="All goals met: well done!",
                       not_yet="Not there yet: change the Dockerfile and check again.")
    try:
        r = build("exercise", dockerfile=path, tag=image_tag(f"exercise-{slug(path.parent.name)}"),
                  bases=arg_bases(path))
    except BaseImageMissing as exc:
        report.add("the image builds", False, exc.what,
                   "name each base in an `ARG NAME=<official image>` line and use FROM ${NAME}, as the starting "
                   "file does: the kit then swaps in a local equivalent when Docker Hub cannot be reached.")
        return report, None
    except KitError as exc:
        report.add("the image builds", False, exc.what, f"{exc.hint}\n{exc.detail}".strip())
        return report, None
    report.add("the image builds", True, mb_text(r.size_bytes))
    report.add(f"smaller than {target_mb:g} MB", r.size_bytes < target_mb * 1e6, f"it is {mb_text(r.size_bytes)}",
               "build in one stage and copy only the binary into a small final stage (FROM scratch)")
    try:
        with RunningApp(r) as app:
            greeting, uids = app.greeting(), app.process_uids()
    except ContainerFailed as exc:
        reason = exc.detail.strip().splitlines()[-1] if exc.detail.strip() else ""
        report.add(f"answers '{GREETING}' on port 8080", False, f"{exc.what} {reason}".strip(), exc.hint)
        report.add("runs as a non-root user", r.nonroot,
                   f"USER is {r.user or 'not set (root)'} in the image; the container did not run, so its "
                   "processes could not be checked",
                   "add `USER 65532:65532` to the final stage (scratch has no user names, so use numbers)")
        return report, r
    report.add(f"answers '{GREETING}' on port 8080", greeting == GREETING, f"it answered {greeting!r}",
               "keep EXPOSE 8080 and the ENTRYPOINT to the binary, built with CGO_ENABLED=0")
    running_as = ", ".join(sorted(set(uids))) or "?"
    report.add("runs as a non-root user", r.nonroot and bool(uids) and "0" not in uids,
               f"USER {r.user or 'not set'}; its processes run as uid {running_as}",
               "add `USER 65532:65532` to the final stage (scratch has no user names, so use numbers)")
    return report, r


# --- the question at the end of each lesson -----------------------------------------------------

@dataclass(frozen=True)
class Question:
    """A question whose answer the learner works out from their own results, and how to check it."""

    key: str
    ask: str
    expected: Callable[[Any], float | str]  # from what the lesson passes: its results, or a table
    hint: str
    tolerance: float = 0.0  # for numbers: how far an answer may be from the measured value


def _by(results: list[BuildResult], name: str) -> BuildResult:
    return next(r for r in results if r.variant == name)


def _biggest_own_layer(results: list[BuildResult]) -> float:
    return round(max(x.size_bytes for x in _by(results, "debian").layers if not x.from_base) / 1e6, 2)


def _local_bases(table: pd.DataFrame) -> int:
    return int(table.iloc[:, 3].astype(str).str.startswith(LOCAL_PREFIX + "/").sum())


QUESTIONS: dict[str, Question] = {q.key: q for q in [
    Question("00-local-bases", "How many of the base images are stood in for by a local equivalent (localhost/kit-local/...)?",
             _local_bases, "count the localhost/kit-local/ images in the fourth column of helpers.base_table()"),
    Question("01-biggest-layer", "In MB, how big is the largest layer that our Dockerfile added to the Debian image?",
             _biggest_own_layer, "helpers.layers_table(debian): the rows whose origin is our Dockerfile", 0.01),
    Question("02-times-smaller", "How many times smaller is the Alpine-like image than the Debian one (one decimal)?",
             lambda rs: round(_by(rs, "alpine").times_smaller_than(_by(rs, "debian")), 1),
             "divide the Debian image's size by the Alpine-like image's size", 0.05),
    Question("03-base-bytes", "How many bytes of the multi-stage image come from a base image?",
             lambda rs: _by(rs, "multistage").base_bytes, "helpers.layers_table(multi): which rows are from a base?"),
    Question("04-smallest", "Which variant makes the smallest image (its name, as in the table)?",
             lambda rs: min(rs, key=lambda r: r.size_bytes).variant, "sort helpers.sizes_table(results) by size"),
    Question("05-runtime-cost", "In MB, how much bigger is the distroless variant than the plain multi-stage one?",
             lambda rs: round((_by(rs, "distroless").size_bytes - _by(rs, "multistage").size_bytes) / 1e6, 2),
             "subtract the two sizes in helpers.sizes_table(results)", 0.02),
    Question("07-go-build-cache", "In MB, how much of Go's build cache does the debian image ship?",
             lambda c: round(sum(r[4] for r in c.leftovers if r[0] == "go build cache") / 1e6, 2),
             "helpers.leftovers_table(inside): the row of kind `go build cache`", 0.01),
    Question("08-no-shell", "How many of the seven variants ship no shell at all?",
             lambda cs: sum(not c.surface["shells"] for c in cs), "the `shells` column of helpers.surface_table(insides)"),
    Question("09-cached-steps", "After the edit of main.go, how many steps of deps-first were CACHED with BuildKit?",
             lambda runs: next(r.cached for r in runs[1::2] if (r.dockerfile, r.builder) == ("deps-first", "buildkit")),
             "the last column of helpers.cache_table(runs), or count CACHED in helpers.cache_steps(runs, \"deps-first\")"),
]}


def check_answer(key: str, answer: float | str | None, results: Any) -> Checklist:
    """Check a learner's answer to a lesson's question against their own measured results (or table)."""
    q = QUESTIONS[key]
    report = Checklist(all_pass="Right!", not_yet="Not yet: look again, change your answer and run the cell again.")
    if answer is None:
        report.add(q.ask, False, "not answered yet", f"replace None with your answer. Hint: {q.hint}")
        return report
    expected = q.expected(results)
    if isinstance(expected, str):
        ok = str(answer).strip().lower() == expected.lower()
    else:
        try:
            ok = abs(float(answer) - float(expected)) <= q.tolerance
        except (TypeError, ValueError):
            ok = False
    report.add(q.ask, ok, f"your answer: {answer}", f"not quite. Hint: {q.hint}")
    return report
