"""The kit's command line: ``python -m helpers COMMAND``.

    doctor              check the engine, architecture, disk and base images; say what to do next
    images              make every base image available (pull, or make local equivalents)
    build VARIANT       build one variant (or "all") and print its size
    run VARIANT         build if needed, run it, print the greeting, stop it
    sizes               build every variant (cached builds are quick) and print the sizes table
    clean [--bases]     remove the kit's containers and images (--bases: the local bases too)
    bundle save FILE    write every base image into one archive, to hand around a workshop room
    bundle load FILE    load such an archive
    benchmark           cold build, rebuild after editing main.go, size and layers per variant
    record              build and run every variant, write helpers/data/recording.json (for Binder)
"""

from __future__ import annotations

import argparse
import os
import sys

from . import bases, benchmark, bundles, cleanup, doctor, engine, recording
from .builds import build
from .catalog import VARIANTS
from .container import RunningApp
from .engine import guarded
from .errors import BuildInterrupted, KitError
from .progress import TextProgress
from .results import mb_text
from .tables import engine_sizes, sizes_table


def _names(arg: str) -> list[str]:
    return list(VARIANTS) if arg == "all" else [arg]


def main(argv: list[str] | None = None) -> int:
    """Run one command of the kit's command line; return the exit code."""
    p = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    sub.add_parser("doctor")
    im = sub.add_parser("images")
    im.add_argument("--offline", action="store_true", help="do not try to pull; make local equivalents")
    im.add_argument("--pull", action="store_true",
                    help="pull the official images even where a local equivalent (or a loaded bundle) is here")
    b = sub.add_parser("build")
    b.add_argument("variant", help=f"one of: {', '.join(VARIANTS)}, or all")
    b.add_argument("--target", help="build only up to this stage (e.g. test)")
    b.add_argument("--no-cache", action="store_true")
    b.add_argument("-v", "--verbose", action="store_true", help="print every line of the build")
    b.add_argument("--builder", choices=["classic", "buildkit"], default="classic",
                   help="who builds: the engine's classic builder (default) or BuildKit through the Docker CLI")
    b.add_argument("--timeout", type=float, default=None,
                   help="stop a build that takes longer than this many seconds (default: KIT_BUILD_TIMEOUT or 900)")
    r = sub.add_parser("run")
    r.add_argument("variant")
    r.add_argument("--port", type=int, default=None, help="host port (default: a free one)")
    sub.add_parser("sizes")
    c = sub.add_parser("clean")
    c.add_argument("--bases", action="store_true", help="also remove the local base images (kit-local/*)")
    bu = sub.add_parser("bundle")
    bu.add_argument("action", choices=["save", "load"])
    bu.add_argument("file")
    be = sub.add_parser("benchmark")
    be.add_argument("variants", nargs="*", help="default: all")
    be.add_argument("--no-cli", action="store_true", help="skip the `docker build` comparison")
    sub.add_parser("record")
    args = p.parse_args(argv)

    try:
        with guarded(f"running `{args.cmd}`"):
            return _command(args)
    except BuildInterrupted as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 130
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run `python -m helpers clean` if a container was left running", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m helpers clean | head`: the reader left; what was done is done
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - no more output, and no error at exit
        return 0


def _command(args: argparse.Namespace) -> int:
    """Carry out one parsed command; return its exit code."""
    if args.cmd == "doctor":
        report = doctor.checks()
        print(report)
        return 0 if report.passed else 1
    if args.cmd == "images":
        statuses = bases.ensure_all(offline=args.offline or None, pull_present=args.pull)
        for st in statuses:
            print(f"  {st.key:<14} {st.state.value:<9} {st.image or '-'}")
        return 0 if all(st.state.usable for st in statuses) else 1
    if args.cmd == "build":
        for name in _names(args.variant):
            res = build(name, target=args.target, nocache=args.no_cache, timeout=args.timeout,
                        builder=args.builder, progress=TextProgress(f"Building {name}", verbose=args.verbose))
            layers = f"{res.fs_layers} filesystem layer" + ("" if res.fs_layers == 1 else "s")
            print(f"{res.tag}: {mb_text(res.size_bytes)} unpacked, {layers}, {res.seconds:.1f} s")
            print(f"  {mb_text(res.compressed_bytes)} compressed; `docker image ls` here says {mb_text(res.listed_bytes)}")
            print(f"  the same with the docker CLI: {res.command}")
            for base in res.bases:
                print(f"  {base.arg} = {base.used}"
                      + (f"  (local equivalent of {base.requested})" if base.local_equivalent else ""))
        return 0
    if args.cmd == "run":
        res = build(args.variant, progress=TextProgress(f"Building {args.variant}"))
        with RunningApp(res, host_port=args.port) as app:
            print(f"{app.url}/ answered: {app.greeting()}")
        took = f" (docker stop took {app.stop_seconds:.2f} s)" if app.stop_seconds is not None else ""
        print(f"stopped and removed{took}")
        return 0
    if args.cmd == "sizes":
        results = [build(n, progress=TextProgress(f"Building {n}")) for n in VARIANTS]
        print(sizes_table(results).drop(columns=["bases used"]).to_string(index=False))
        info = engine.info()
        print(f"\nThree sizes on {info.title}, {info.storage_driver}, {results[0].image_store} image store:")
        print(engine_sizes(results).to_string(index=False))
        return 0
    if args.cmd == "clean":
        print(cleanup.clean(bases=args.bases))
        return 0
    if args.cmd == "bundle":
        if args.action == "save":
            bundles.bundle_save(args.file)
        else:
            bundles.bundle_load(args.file)
        return 0
    if args.cmd == "record":
        recording.record()
        return 0
    if args.cmd == "benchmark":
        print(benchmark.report(args.variants or None, compare_cli=not args.no_cli))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
