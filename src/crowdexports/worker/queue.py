"""The task queue from BROKER_URL. Huey is only a doorbell here: the export row is the truth (SPEC §4)."""

from __future__ import annotations

from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey

from crowdexports.filemodes import private_dir


def make_huey(broker_url: str, *, name: str = "crowdexports") -> Huey:
    if broker_url.startswith("sqlite:///"):
        path = Path(broker_url.removeprefix("sqlite:///"))
        private_dir(path.parent)
        return SqliteHuey(name=name, filename=str(path), results=False, timeout=30)
    if broker_url.startswith(("redis://", "rediss://")):
        return RedisHuey(name=name, url=broker_url, results=False)
    raise ValueError(f"unsupported CROWDEXPORTS_BROKER_URL {broker_url!r}: use sqlite:///path or redis://")
