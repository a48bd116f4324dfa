"""The set-up check: is there an engine, which base images are here, what to do next."""

from __future__ import annotations

from . import bases, engine
from .buildkit import default_choice, find_cli
from .checks import Checklist
from .errors import EngineUnavailable, KitError

READY = "Ready: build with `python -m helpers build multistage`, or open the lessons (make lessons)."
NOT_READY = "Not ready yet: do what the FAIL lines say, then run `python -m helpers doctor` again."


def checks() -> Checklist:
    """Check the engine, its architecture, free disk and every base image; never raise."""
    out = Checklist(all_pass=READY, not_yet=NOT_READY)
    try:
        info = engine.info()
    except EngineUnavailable as exc:
        out.add("Docker engine", False, exc.what, exc.hint)
        return out
    store = ", containerd image store" if info.image_store == "containerd" else ""
    out.add("Docker engine", True, f"{info.title}, {info.os}, storage {info.storage_driver}{store}")
    native = info.arch in ("amd64", "x86_64")
    out.add("Architecture", True, info.arch_plain)
    if not native:
        out.checks[-1].hint = "images you build here run on machines of this architecture only, unless built for several"
    if info.free_gb is not None:
        out.add("Free disk for images", info.free_gb >= 5, f"{info.free_gb} GB",
                "the lessons need about 5 GB: `python -m helpers clean` frees the kit's images")
    else:
        out.add("Free disk for images", True, f"not visible from here: the engine's disk is on {info.host} "
                "(the lessons need about 5 GB there; `docker system df` shows what images use)")
    try:
        chosen, why = default_choice()
    except KitError as exc:
        out.add("Builder", False, exc.what, exc.hint)
    else:
        other = "classic" if chosen == "buildkit" else "buildkit"
        both = find_cli() is not None and not info.is_podman
        out.add("Builder", True, f"{'BuildKit' if chosen == 'buildkit' else 'classic'} builds by default: {why}"
                + (f"; builder='{other}' or `--builder {other}` builds with the other one" if both else ""))
    for st in bases.status():
        out.add(f"Base image: {st.key}", st.state.usable, st.found, "run `python -m helpers images`")
    return out
