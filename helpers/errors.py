"""The kit's errors: one type per thing a learner can get wrong, each with a hint.

Every error prints as one short message: what happened, what to do, what came back. In a notebook
IPython shows that message as the cell's error (``KitError._render_traceback_``), so the cell fails
(and nbval sees it) but the learner reads one message, not a traceback. The command line prints it
and exits 2.
"""

from __future__ import annotations


class KitError(Exception):
    """Report one thing that went wrong, with what to do about it."""

    def __init__(self, what: str, hint: str, detail: str = "") -> None:
        self.what = what
        self.hint = hint
        self.detail = detail.rstrip()
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.what}\n  What to do: {self.hint}"
        if self.detail:
            text += "\n" + "\n".join("  | " + line for line in self.detail.splitlines())
        return text

    def _render_traceback_(self) -> list[str]:
        """Give IPython the lines to show for this error instead of a traceback."""
        return [f"error ({type(self).__name__}): " + str(self).splitlines()[0], *str(self).splitlines()[1:]]


class EngineUnavailable(KitError):
    """No Docker engine answered."""


class EngineRefused(EngineUnavailable):
    """An engine is there (or named), but the kit cannot use it: permission, address, API version, host."""


class UnknownVariant(KitError):
    """A variant name that the catalog does not hold."""


class InvalidName(KitError):
    """A name or tag the engine would refuse, or one that belongs to something else."""


class DockerfileMissing(KitError):
    """A Dockerfile that is not where the catalog or the caller says."""


class BaseImageMissing(KitError):
    """A base image that is neither present nor can be made or pulled."""


class BuildFailed(KitError):
    """The engine could not build the image (the log's tail says why)."""


class BuildStopped(KitError):
    """A build that did not finish: interrupted by the learner, or over its time bound."""


class BuildInterrupted(BuildStopped):
    """A build the learner stopped (Ctrl-C, "Interrupt kernel")."""


class BuildTimedOut(BuildStopped):
    """A build that took longer than its bound."""


class PortInUse(KitError):
    """The host port asked for is taken by another program."""


class ContainerFailed(KitError):
    """A container exited, or did not answer, when it should have."""


class ProvisionFailed(KitError):
    """A local base image could not be made."""


class RecordingMissing(KitError):
    """No recorded result where the lesson needs one."""
