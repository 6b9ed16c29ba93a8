"""A worker's shutdown state (exports.runner.RunningExports): what it hands back, and when it declines."""

from __future__ import annotations

from crowdexports.exports.pipeline import Progress
from crowdexports.exports.runner import RunningExports


def test_shutdown_hands_back_the_exports_being_made_and_declines_new_ones() -> None:
    running, progress, finished = RunningExports(), Progress(), Progress()
    with running.making(finished):
        pass
    with running.making(progress):
        running.hand_back()
        assert running.shutting_down
        assert progress.hand_back and progress.stop.is_set()
    assert not finished.stop.is_set()  # no longer being made: nothing to stop
    running.accept()
    assert not running.shutting_down


def test_an_export_claimed_just_before_shutdown_is_handed_back_as_it_starts() -> None:
    running, progress = RunningExports(), Progress()
    running.hand_back()
    with running.making(progress):
        assert progress.hand_back and progress.stop.is_set()


def test_each_worker_has_its_own() -> None:
    stopping, other = RunningExports(), RunningExports()
    stopping.hand_back()
    assert stopping.shutting_down and not other.shutting_down
