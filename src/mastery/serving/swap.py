"""Hot swap: follow the registry's `champion` alias without dropping a request.

A request takes `watcher.current` once, when it starts, and runs to the end on that model;
a swap only rebinds `current` after the new version is verified, loaded and warmed up, so
in-flight requests finish on the old session and new ones get the new one (the old session
is freed when its last request lets go). A champion that cannot be loaded (not exported
yet, a hash mismatch, a contract this server's request schema does not fit) leaves the
current model serving; the next check tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from mastery.errors import MasteryError
from mastery.serving.model import ModelSource, ServedModel, champion_version, load_served, log


@dataclass
class SwapResult:
    version: str  # served after the check
    swapped: bool
    error: str | None = None


class ChampionWatcher:
    """Holds the served model; `check()` swaps it for the champion when the alias has moved."""

    def __init__(
        self,
        source: ModelSource,
        model: ServedModel,
        on_swap: Callable[[ServedModel, ServedModel], None] = lambda old, new: None,
        load: Callable[[ModelSource, str], ServedModel] = load_served,
    ):
        self.source, self.current, self.on_swap, self.load = source, model, on_swap, load
        self.error: str | None = None  # why the champion is not the served version, if it is not
        self._lock = threading.Lock()  # one check at a time: the poller and the reload route

    def check(self) -> SwapResult:
        with self._lock:
            try:
                version = champion_version(self.source.name)
                if version is None:
                    raise MasteryError(f"'{self.source.name}' has no champion; serving v{self.current.version}")
                if version == self.current.version:
                    self.error = None
                    return SwapResult(version, swapped=False)
                new = self.load(self.source, version)
                _check_compatible(self.current, new)
                new.run(new.example_inputs())  # the first run allocates; keep that off a request
            except Exception as error:  # noqa: BLE001 (a registry hiccup included: keep serving what we have)
                if str(error) != self.error:
                    log.warning("champion not swapped in: %s", error)
                self.error = str(error)
                return SwapResult(self.current.version, swapped=False, error=self.error)
            old, self.current, self.error = self.current, new, None
        log.info("swapped %s v%s -> v%s (%s)", new.name, old.version, new.version, new.origin)
        self.on_swap(old, new)
        return SwapResult(new.version, swapped=True)

    def poll(self, interval: float, stop: threading.Event) -> None:
        """Check every `interval` seconds until `stop` is set (the server's background thread)."""
        while not stop.wait(interval):
            self.check()


def _check_compatible(old: ServedModel, new: ServedModel) -> None:
    """The request schema was built from the first model's contract: a new one must take the same inputs."""
    before, after = old.contract, new.contract
    if (before.task, before.inputs, before.profile) != (after.task, after.inputs, after.profile):
        raise MasteryError(
            f"v{new.version}'s contract takes other inputs than v{old.version}'s "
            f"({after.task}, {after.inputs}); restart the server to serve it"
        )

