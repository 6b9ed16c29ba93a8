"""Order import benchmark: `crowdexports import orders` on a generated file of Ulule order resources.

    python benchmarks/import_orders.py                    # 1,000,000 orders (SPEC §7: "a million lines")
    python benchmarks/import_orders.py --orders 100000    # quicker
    python benchmarks/import_orders.py --again            # then the same file again (every order unchanged)
    python benchmarks/import_orders.py --orders 100000 --database-url postgresql://user@host:port/db

The file is generated once per size and project (bench-data/import-orders-N-pP.ndjson) and reused:
realistic lines of about 1 KB, each embedding its backer (one in five a returning backer), billing and
(when there are items) shipping addresses, zero to three items of four rewards, amounts as decimal
strings and JSON numbers, a few notes with line breaks, emoji or formulas. The database is fresh by
default (a SQLite file in a temporary data dir, migrated, with an owner, a project and its rewards made
by the CLI); with --database-url a new project is made in that database, with ids of its own.

The import runs as its own process (the real CLI, so its peak RSS is its own: `os.wait4` gives that
child's resource usage, and this parent imports only the standard library and holds no large data, so
the child forked from it starts small). It prints wall and CPU seconds, lines/s and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "crowdexports.cli"]
IDS_PER_PROJECT = 10_000_000  # order and user ids of project P start at P × this: runs never collide
MAX_PROJECT_ID = 80_000_000  # × IDS_PER_PROJECT stays below the local ids (crowdexports.ids)
REWARD_PRICES = ("5.00", "25.00", "49.00", "89.90")
FIRST_NAMES = ("Zoé", "Léa", "Hugo", "Jürgen", "María", "Chloé", "Yuki", "Noam", "Amira", "Olivia", "Liam", "Émile")
LAST_NAMES = ("Durand", "Müller", "García", "Rossi", "Tanaka", "Cohen", "Haddad", "Smith", "Lefèvre", "O'Brien")
CITIES = (("Paris", "75011", "FR"), ("Lyon", "69003", "FR"), ("Bourg-en-Bresse", "01000", "FR"),
          ("Berlin", "10115", "DE"), ("Madrid", "28013", "ES"), ("Tokyo", "100-0001", "JP"), ("Austin", "78701", "US"))
NOTES = ("", "", "", "", "Merci !", "Please ship before Christmas,\nthanks", "=SUM(A1:A9)", "😀🎉 Can't wait!")
STATUSES = ("payment-completed",) * 8 + ("payment-done", "cancelled")
BILLING_TYPES = ("personal",) * 8 + ("business", "association")


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float
    peak_rss: int  # bytes
    summary: dict[str, object]


def _cli(env: dict[str, str], *args: str) -> dict[str, object]:
    """A CLI command that prints one JSON object; fails loudly with its output."""
    done = subprocess.run([*CLI, *args, "--json"], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"crowdexports {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _setup(env: dict[str, str], work: Path, project_id: int) -> list[int]:
    """A migrated database with an owner, project `project_id` and its rewards: the reward ids. The
    project is synced in under a platform id, as the orders are: a local id (crowdexports.ids) times
    IDS_PER_PROJECT would not be an id, and the sync refuses local ids."""
    subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True)
    owner = f"bench-{os.getpid()}-{int(time.time())}"
    owner_id = int(str(_cli(env, "users", "create", "--username", owner, "--email", f"{owner}@example.com",
                            "--password", "bench-pass")["id"]))
    projects_file = work / "projects.ndjson"
    projects_file.write_text(json.dumps({"id": project_id, "owner_id": owner_id, "name": "Benchmark Kettle",
                                         "currency": "EUR"}) + "\n")
    _cli(env, "import", "projects", str(projects_file))
    rewards = [project_id * IDS_PER_PROJECT + index for index in range(1, len(REWARD_PRICES) + 1)]
    lines = [{"id": reward_id, "project_id": project_id, "price": price,
              "title": {"en": f"Reward {index}", "fr": f"Contrepartie {index}"},
              "description": {"en": f"<p>Reward <b>{index}</b> &amp; a thank-you card</p>"}}
             for index, (reward_id, price) in enumerate(zip(rewards, REWARD_PRICES, strict=True), 1)]
    rewards_file = work / "rewards.ndjson"
    rewards_file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    _cli(env, "import", "rewards", str(rewards_file))
    return rewards


def _amount(cents: int, rng: random.Random) -> str | float:
    """A decimal string, or sometimes a JSON number (written by json as the same digits)."""
    text = f"{cents // 100}.{cents % 100:02d}"
    return text if rng.random() < 0.7 else float(text)


def _address(rng: random.Random, first: str, last: str, kind: str) -> dict[str, object]:
    city, postal_code, country = rng.choice(CITIES)
    return {"id": rng.randrange(10**9), "first_name": first, "last_name": last,
            "entity_name": "ACME SARL" if kind == "business" else "", "type": kind,
            "address1": f"{rng.randrange(1, 200)} rue de la République",
            "address2": "Bât. B" if rng.random() < .1 else "",
            "postal_code": postal_code, "city": city, "state": "TX" if country == "US" else "", "country": country,
            "phone_number": f"+33 6 {rng.randrange(10**8):08d}"}


def generate(path: Path, count: int, project_id: int, rewards: list[int], seed: int = 1) -> None:
    """`count` order lines for the project; same arguments, same file."""
    rng = random.Random(seed)
    base = project_id * IDS_PER_PROJECT
    prices = [int(price.replace(".", "")) for price in REWARD_PRICES]
    recent: list[int] = []  # a bounded pool of returning backers, so the generator stays small
    tmp = path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as out:
        for number in range(1, count + 1):
            backer = rng.choice(recent) if recent and rng.random() < 0.2 else base + number
            if backer == base + number:
                recent.append(backer)
                del recent[:-10_000]
            person = random.Random(backer)  # a returning backer keeps their name
            first, last = person.choice(FIRST_NAMES), person.choice(LAST_NAMES)
            chosen = rng.sample(range(len(rewards)), rng.choice((0, 1, 1, 1, 1, 1, 1, 2, 2, 3)))
            items, subtotal = [], 0
            for index in chosen:
                quantity = rng.choice((1, 1, 1, 2, 3))
                subtotal += prices[index] * quantity
                items.append({"reward_id": rewards[index], "quantity": quantity,
                              "unit_price": _amount(prices[index], rng),
                              "line_total": _amount(prices[index] * quantity, rng), "line_shipping_total": "0.00"})
            shipping = rng.choice((0, 500, 750, 990)) if items else 0
            if not items:
                subtotal = rng.choice((100, 500, 1000, 2000))  # a contribution without reward
            line = {
                "id": base + number, "project_id": project_id,
                "user": {"id": backer, "username": f"backer{backer}", "email": f"backer{backer}@example.com",
                         "first_name": first, "last_name": last, "name": f"{first} {last}", "lang": person.choice(
                             ("fr", "fr", "en", "de", "es", "ja")), "is_anonymous": False},
                "created_at": f"2026-{1 + number % 12:02d}-{1 + number % 28:02d}T{number % 24:02d}:"
                              f"{number % 60:02d}:{(number * 7) % 60:02d}+01:00",
                "status": rng.choice(STATUSES), "payment_method": rng.choice(("creditcard", "paypal", "sepa")),
                "order_total": _amount(subtotal + shipping, rng), "order_subtotal": _amount(subtotal, rng),
                "order_shipping_total": _amount(shipping, rng), "note": rng.choice(NOTES),
                "shipping_address": _address(rng, first, last, "personal") if items else None,
                "billing_address": _address(rng, first, last, rng.choice(BILLING_TYPES)),
                "items": items, "tracking": {"source": rng.choice(("", "facebook", "newsletter")), "medium": "social"},
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    tmp.replace(path)


def measure(env: dict[str, str], project_id: int, path: Path) -> Run:
    """The CLI import as a child process: wall and CPU seconds and peak RSS of that child alone."""
    started = time.perf_counter()
    child = subprocess.Popen([*CLI, "import", "orders", "--project", str(project_id), str(path), "--json"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert child.stdout is not None
    output = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"the import failed ({child.returncode}):\n{output.decode()[-3000:]}")
    summary: dict[str, object] = json.loads(output.decode().strip().splitlines()[-1])
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000, help="lines in the file (default 1,000,000)")
    parser.add_argument("--again", action="store_true", help="import the same file a second time (every row unchanged)")
    parser.add_argument("--database-url", help="import into this database instead of a fresh SQLite file")
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / "bench-data", help="where files are kept")
    args = parser.parse_args()
    load_start = os.getloadavg()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="import-bench-", dir=args.data_dir) as temp:
        work = Path(temp)
        env = {key: value for key, value in os.environ.items() if not key.startswith("CROWDEXPORTS_")}
        env.update({"CROWDEXPORTS_DATA_DIR": str(work), "CROWDEXPORTS_LOG_LEVEL": "WARNING"})
        if args.database_url:
            env["CROWDEXPORTS_DATABASE_URL"] = args.database_url
        # A fresh database takes project 1 (the generated file is reused); an existing one a new id per run.
        project_id = 1 + int(time.time()) % MAX_PROJECT_ID if args.database_url else 1
        rewards = _setup(env, work, project_id)
        path = args.data_dir / f"import-orders-{args.orders}-p{project_id}.ndjson"
        generated = 0.0
        if not path.exists():
            started = time.perf_counter()
            generate(path, args.orders, project_id, rewards)
            generated = time.perf_counter() - started
        runs = {"import (creates)": measure(env, project_id, path)}
        if args.again:
            runs["same file again (unchanged)"] = measure(env, project_id, path)
    database = "PostgreSQL" if args.database_url else "SQLite"
    loads = " ".join(f"{value:.2f}" for value in load_start), " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\norder import benchmark on {database}: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"load average (1/5/15 min) {loads[0]} at start, {loads[1]} at end")
    size = path.stat().st_size
    print(f"file: {args.orders:,} lines, {size / 2**20:,.1f} MiB ({size / args.orders:,.0f} bytes a line)"
          + (f", generated in {generated:.1f}s" if generated else ", reused"))
    print(f"\n{'run':<28}{'seconds':>9}{'CPU s':>8}{'lines/s':>10}{'peak RSS MiB':>14}  counts")
    for name, run in runs.items():
        counts = f"orders {run.summary['orders']}, users {run.summary['users']}"
        print(f"{name:<28}{run.seconds:>9.1f}{run.cpu:>8.1f}{args.orders / run.seconds:>10,.0f}"
              f"{run.peak_rss / 2**20:>14.1f}  {counts}")
    print(f"\n(this parent's own peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB)")


if __name__ == "__main__":
    main()
