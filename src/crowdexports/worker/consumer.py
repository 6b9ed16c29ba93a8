"""A worker: Huey consumer threads that make exports, plus the sweep. Used by `serve` and `worker`."""

from __future__ import annotations

from huey.consumer import Consumer

from crowdexports.bootstrap import Service
from crowdexports.worker.tasks import Sweeper

# SqliteHuey is polled: keep the idle poll short so a new export starts within half a second.
POLL_INITIAL_SECONDS = 0.05
POLL_MAX_SECONDS = 0.5


class Worker:
    def __init__(self, service: Service, concurrency: int) -> None:
        self.consumer: Consumer = service.tasks.huey.create_consumer(
            workers=concurrency, worker_type="thread", periodic=False,
            initial_delay=POLL_INITIAL_SECONDS, max_delay=POLL_MAX_SECONDS,
        )
        self.sweeper = Sweeper(service.runtime, service.tasks)

    def start(self) -> None:
        """Start in the background (for `serve`); Huey installs its signal handlers, so call from the main thread."""
        self.consumer.start()
        self.sweeper.start()

    def run(self) -> None:
        """Run in the foreground until SIGINT (finish current work) or SIGTERM (stop now)."""
        self.sweeper.start()
        try:
            self.consumer.run()
        finally:
            self.sweeper.stopped.set()

    def stop(self) -> None:
        self.sweeper.stopped.set()
        self.consumer.stop(graceful=True)
