"""The set-up check: is there an engine, which base images are here, what to do next."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import bases, engine
from .errors import EngineUnavailable


@dataclass
class Check:
    """One line of the set-up check: what was checked, whether it is fine, what to do if not."""

    what: str
    ok: bool
    found: str
    todo: str = ""


def checks() -> list[Check]:
    """Check the engine, its architecture, free disk and every base image; never raise."""
    out: list[Check] = []
    try:
        info = engine.info()
    except EngineUnavailable as exc:
        return [Check("Docker engine", False, exc.what, exc.hint)]
    out.append(Check("Docker engine", True,
                     f"Docker {info.version} (API {info.api_version}, {info.os}, storage {info.storage_driver})"))
    out.append(Check("Architecture", True, info.arch_plain,
                     "" if info.arch in ("amd64", "x86_64") else
                     "images you build here run on machines of this architecture only, unless built for several"))
    if info.free_gb is not None:
        enough = info.free_gb >= 5
        out.append(Check("Free disk for images", enough, f"{info.free_gb} GB",
                         "" if enough else "the lessons need about 5 GB: `python -m helpers clean` frees the kit's images"))
    for st in bases.status():
        ok = st.state not in ("missing", "stale")
        found = {
            "official": f"{st.official} (official)",
            "local": f"{st.local} (local equivalent of {st.official})",
            "stale": f"{st.local}, made from an older recipe",
            "built-in": "built into Docker",
            "missing": f"neither {st.official} nor {st.local}",
        }[st.state]
        out.append(Check(f"Base image: {st.key}", ok, found, "" if ok else "run `python -m helpers images`"))
    return out


def table() -> pd.DataFrame:
    """Return the set-up check as a table, one row per check."""
    return pd.DataFrame([c.__dict__ for c in checks()]).rename(columns={"what": "check", "todo": "what to do"})


def report() -> tuple[bool, str]:
    """Return whether everything is ready, and the set-up check as text."""
    cs = checks()
    width = max(len(c.what) for c in cs)
    lines = []
    for c in cs:
        lines.append(f"{'ok ' if c.ok else 'NO '} {c.what:<{width}}  {c.found}")
        if c.todo:
            lines.append(f"    {'':<{width}}  -> {c.todo}")
    ready = all(c.ok for c in cs)
    lines.append("")
    lines.append("Ready: build with `python -m helpers build multistage`, or open the lessons (make lessons)."
                 if ready else "Not ready yet: do what the lines marked NO say, then run `python -m helpers doctor` again.")
    return ready, "\n".join(lines)
