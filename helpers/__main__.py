"""The kit's command line: ``python -m helpers COMMAND``.

    doctor              check the engine, architecture, disk and base images; say what to do next
    images              make every base image available (pull, or make local equivalents)
    build VARIANT       build one variant (or "all") and print its size
    run VARIANT         build if needed, run it, print the greeting, stop it
    sizes               build every variant (cached builds are quick) and print the sizes table
    clean [--bases]     remove the kit's containers and images, this learner's only (--bases: the local bases
                        too, with no learner: KIT_LEARNER / JUPYTERHUB_USER unset or KIT_LEARNER= empty)
    bundle save FILE    write every base image into one archive, to hand around a workshop room
    bundle load FILE    load such an archive
    benchmark           cold build, rebuild after editing main.go, size and layers per variant and builder
    benchmark --inside ARCHIVE   the kit's image reader vs dive on one saved archive: seconds, peak memory
    benchmark --room 1,2,4,8     N learners running lessons 01-06 at once on this engine: time, disk, memory
    inspect TARGET      what is inside an image: size, dive's efficiency and waste, reclaimable bytes,
                        leftovers, attack surface (--files, --waste, --surface, --json); with limits
                        (--min-efficiency, --max-wasted-share, --max-leftovers) a gate that exits 1
                        when the image falls short. TARGET: a saved archive (offline), a variant, an image
    room [--dir DIR]    instructors: per learner, which lessons' checks passed (KIT_ROOM_DIR, docs/INSTRUCTORS.md)
    record              build and run every variant, write helpers/data/recording.json (for Binder);
                        --sizes-only: this engine's sizes, shown beside them (containerd store, Podman);
                        --cache: lesson 09's builds, cold and after an edit (helpers/data/recording-cache.json)

Exit codes: 0 done, 1 a check failed (doctor, images, the inspect gate), 2 a usage error or a kit error
(one message, what to do), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Any

from .catalog import VARIANTS
from .errors import BuildInterrupted, KitError

# Each command imports what it needs when it runs: `inspect ARCHIVE` reads a file offline and needs
# neither docker-py nor pandas, so it does not pay for loading them.


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
    _builder_option(b)
    b.add_argument("--timeout", type=float, default=None,
                   help="stop a build that takes longer than this many seconds (default: KIT_BUILD_TIMEOUT or 900)")
    r = sub.add_parser("run")
    r.add_argument("variant")
    r.add_argument("--port", type=int, default=None, help="host port (default: a free one)")
    _builder_option(r)
    _builder_option(sub.add_parser("sizes"))
    ro = sub.add_parser("room")
    ro.add_argument("--dir", default=None, help="the room's folder (default: KIT_ROOM_DIR, else your own record)")
    c = sub.add_parser("clean")
    c.add_argument("--bases", action="store_true",
                   help="also remove the local base images (localhost/kit-local/*); with a learner they stay: they are shared")
    bu = sub.add_parser("bundle")
    bu.add_argument("action", choices=["save", "load"])
    bu.add_argument("file")
    be = sub.add_parser("benchmark")
    be.add_argument("variants", nargs="*", help="default: all")
    be.add_argument("--no-cli", action="store_true", help="skip the `docker build` comparison")
    be.add_argument("--builder", choices=["classic", "buildkit"], action="append",
                    help="who builds (repeat for both); default: every builder this machine has")
    be.add_argument("--inside", metavar="ARCHIVE",
                    help="instead: time the kit's image reader against dive on this saved archive (no engine)")
    be.add_argument("--repeat", type=int, default=3,
                    help="runs of each (default 3): of the builds, the median shown; with --inside, the fastest")
    be.add_argument("--room", metavar="N,N,...",
                    help="instead: N learners running lessons 01-06 at once, for each N (e.g. 1,2,4,8): time, disk, memory")
    _inspect_parser(sub)
    rec = sub.add_parser("record")
    rec.add_argument("--sizes-only", action="store_true",
                     help="on Docker's containerd image store or on Podman: record this engine's sizes alone, "
                          "which the lessons show beside their own (helpers/data/recording-*.json)")
    rec.add_argument("--cache", action="store_true",
                     help="record lesson 09's builds alone, cold and after an edit (needs BuildKit)")
    args = p.parse_args(argv)

    try:
        with _guard(args):
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


def _builder_option(parser: argparse.ArgumentParser) -> None:
    """Give a command that builds the choice of builder."""
    parser.add_argument("--builder", choices=["classic", "buildkit"], default=None,
                        help="who builds: BuildKit through the Docker CLI, or the engine's classic builder; "
                             "default: BuildKit where this machine has it (see `doctor`), or KIT_BUILDER")


def _inspect_parser(sub: Any) -> None:
    """Add the ``inspect`` command and its flags."""
    i = sub.add_parser("inspect", formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="What is inside an image, read as `docker save` writes it.",
                       epilog="TARGET: a saved archive (`docker save IMAGE -o FILE`, classic or OCI layout; read offline),\n"
                              f"a variant ({', '.join(VARIANTS)}), or an image reference on the engine.\n"
                              "Sizes: 1MB, 500kB, 2.5MiB, 0 (decimal kB/MB/GB as Docker writes them).\n"
                              "Exit codes: 0 done (the gate passed), 1 the gate failed, 2 bad input.")
    i.add_argument("target", metavar="TARGET", help="a saved archive, a variant or an image reference")
    i.add_argument("--files", action="store_true", help="list the final file tree (with --layers: each layer's changes)")
    i.add_argument("--layers", action="store_true", help="with --files: what each layer adds, changes and deletes")
    i.add_argument("--waste", action="store_true",
                   help="dive's figures and files, reclaimable copies with the line that wrote each, leftovers by rule")
    i.add_argument("--surface", action="store_true", help="the attack surface: shells, package managers, setuid, users, Go")
    i.add_argument("--json", action="store_true", help="everything as JSON (the file lists too with --files)")
    i.add_argument("--limit", type=int, default=None, metavar="N",
                   help="rows per list in --waste and --files (default 10 for --waste, all for --files; 0: all)")
    i.add_argument("--builder-image", action="store_true",
                   help="the image builds programs: compilers and toolchains are not leftovers")
    g = i.add_argument_group("gate (exit 1 when the image falls short of a limit given)")
    g.add_argument("--min-efficiency", metavar="X", help="dive's efficiency at least X (0.9 or 90%%; dive's CI default 0.9)")
    g.add_argument("--max-wasted-share", metavar="X",
                   help="dive's wasted bytes at most X of the layers after the first (0.1 or 10%%; dive's CI default 0.1)")
    g.add_argument("--max-leftovers", metavar="SIZE", help="leftover files at most SIZE (1MB, 500kB, 0)")


def _guard(args: argparse.Namespace) -> contextlib.AbstractContextManager:
    """Return what turns engine errors into kit errors; none for commands that read only files."""
    if args.cmd in ("inspect", "room") or args.cmd == "benchmark" and args.inside:
        return contextlib.nullcontext()  # they guard their own engine calls, if they make any
    from .engine import guarded

    return guarded(f"running `{args.cmd}`")


def _inspect(args: argparse.Namespace) -> int:
    """Inspect one image; return 1 if a gate was asked for and failed."""
    from . import inspection as ins

    limits = (ins.parse_fraction(args.min_efficiency, "an efficiency") if args.min_efficiency is not None else None,
              ins.parse_fraction(args.max_wasted_share, "a share of bytes", most=None) if args.max_wasted_share is not None else None,
              ins.parse_size(args.max_leftovers) if args.max_leftovers is not None else None)
    if args.layers and not args.files:
        raise KitError("--layers goes with --files.", "write `--files --layers` to list each layer's changes.")
    if args.limit is not None and args.limit < 0:
        raise KitError(f"--limit {args.limit} is not a number of rows.", "give 0 (all) or more.")
    target = ins.target_of(args.target)
    x = ins.Inspection(target, ins.read_target(target), runtime=not args.builder_image)
    results = ins.run_gate(x, *limits) if any(v is not None for v in limits) else None
    if args.json:
        print(ins.as_json(x, files=args.files, layers=args.layers, results=results))
    else:
        print(ins.summary_text(x))
        said = ins.equivalent_command(target)
        if said:
            print(f"  the same with the docker CLI: {said}")
        if args.files:
            print("\n" + ins.files_text(x, layers=args.layers, limit=args.limit or 0))
        if args.waste:
            print("\n" + ins.waste_text(x, limit=10 if args.limit is None else args.limit))
        if args.surface:
            print("\n" + ins.surface_text(x))
        if results is not None:
            print("\n" + ins.gate_text(results))
    return 1 if results is not None and not all(r.passed for r in results) else 0


def _command(args: argparse.Namespace) -> int:
    """Carry out one parsed command; return its exit code."""
    if args.cmd == "inspect":
        return _inspect(args)
    if args.cmd == "room":
        from pathlib import Path

        from . import classroom

        folder = Path(args.dir) if args.dir else classroom.room_dir()
        found = classroom.attempts(folder)
        print(f"{len(found)} checks recorded in {folder}")
        if found:
            print(classroom.progress_table(found).to_string(index=False))
        return 0
    if args.cmd == "benchmark" and args.inside:
        from .benchmark import inside_report

        print(inside_report(args.inside, repeat=args.repeat))
        return 0
    from . import bases, benchmark, bundles, cleanup, doctor, engine, recording
    from .builds import build
    from .container import RunningApp
    from .progress import TextProgress
    from .results import mb_text
    from .tables import engine_sizes, sizes_table

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
        res = build(args.variant, builder=args.builder, progress=TextProgress(f"Building {args.variant}"))
        with RunningApp(res, host_port=args.port) as app:
            print(f"{app.url}/ answered: {app.greeting()}")
        took = f" (docker stop took {app.stop_seconds:.2f} s)" if app.stop_seconds is not None else ""
        print(f"stopped and removed{took}")
        return 0
    if args.cmd == "sizes":
        results = [build(n, builder=args.builder, progress=TextProgress(f"Building {n}")) for n in VARIANTS]
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
        if args.cache:
            from . import buildcache

            buildcache.record()
        else:
            recording.record_sizes() if args.sizes_only else recording.record()
        return 0
    if args.cmd == "benchmark" and args.room is not None:
        from .capacity import room_report

        try:
            sizes = [int(n) for n in args.room.split(",") if n.strip()]
        except ValueError:
            raise KitError(f"--room {args.room} is not a list of numbers.", "write e.g. `--room 1,2,4,8`.") from None
        if not sizes or min(sizes) < 1:
            raise KitError(f"--room {args.room}: give one or more numbers of learners, each 1 or more.",
                           "write e.g. `--room 1,2,4,8`.")
        print(room_report(sizes))
        return 0
    if args.cmd == "benchmark":
        print(benchmark.report(args.variants or None, compare_cli=not args.no_cli, builders=args.builder,
                               repeat=args.repeat))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
