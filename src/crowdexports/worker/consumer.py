"""A worker: Huey consumer threads that make exports, plus the sweep and the webhook sender (threads of
its own: a slow receiver never holds an export's thread). Used by `serve` and `worker`."""

from __future__ import annotations

import signal
import time
from types import FrameType

from huey.consumer import Consumer, ConsumerStopped

from crowdexports.runtime import Service
from crowdexports.webhooks.sender import Sender
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
        self.sender = Sender(service.runtime)
        self.running = service.tasks.running  # what this worker's threads make, handed back on shutdown

    def start(self) -> None:
        """Start in the background (for `serve`); Huey installs its signal handlers, so call from the main thread."""
        self.running.accept()
        self.consumer.start()
        self.sweeper.start()
        self.sender.start()

    def run(self) -> None:
        """Run in the foreground. SIGINT: finish current exports, then exit. SIGTERM: hand them back, exit.

        Huey's own SIGTERM "interrupts" threads it cannot interrupt, leaving exports to wait for their
        lease to expire; handing them back lets another worker start at once.
        """
        self.start()
        signal.signal(signal.SIGTERM, self._terminate)
        health_check_at = time.monotonic()
        try:
            while True:
                health_check_at = self.consumer.loop(health_check_at)
        except ConsumerStopped:
            pass
        finally:
            self.sweeper.stopped.set()
            self.sender.stopped.set()
            self.running.accept()  # stopped: the process may run exports again (in-process callers, tests)

    def _terminate(self, signum: int, frame: FrameType | None) -> None:
        # A graceful stop first, so that threads take no new message once their export is handed back.
        # Huey's private handler (pinned; tests/test_private_apis.py): its public stop() would join here.
        self.consumer._handle_signal(signal.SIGINT, frame)
        self.running.hand_back()

    def stop(self) -> None:
        """Shut down from `serve`: running exports are handed back, idle threads end."""
        self.sweeper.stopped.set()
        self.sender.stopped.set()  # attempts under way are left to their lease: sent again by a worker
        self.running.hand_back()
        self.consumer.stop(graceful=True)
        self.running.accept()  # the threads have ended: nothing is left to decline
