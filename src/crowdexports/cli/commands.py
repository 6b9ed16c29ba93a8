"""Data commands: parse options, call the domain, print. Every command that creates something takes --json."""

from __future__ import annotations

import json
import secrets
import shutil
import threading
import time
from pathlib import Path

import typer
from sqlalchemy.orm import Session

from crowdexports.auth import accounts
from crowdexports.cli.imports import imports
from crowdexports.cli.output import DEFAULT_TYPE, command_group, domain_errors, emit, progress_bar
from crowdexports.cli.schedules import schedules
from crowdexports.cli.webhooks import webhooks
from crowdexports.config import DEFAULT_PUBLIC_URL, Settings
from crowdexports.database import migrate as migrations
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.errors import NotFound, invalid
from crowdexports.exports import access, asking, idempotency, lifecycle, pipeline, presets
from crowdexports.exports.resource import export_resource
from crowdexports.exports.summary_words import summary_lines
from crowdexports.exports.timestamps import rfc3339
from crowdexports.ids import MAX_ID
from crowdexports.models import ApiKey, Export, ExportPreset, Project, User, utcnow
from crowdexports.runtime import build_service
from crowdexports.seed import seed_orders

JSON_OPTION = typer.Option(False, "--json", help="Print one JSON object with what was made.")
FILTERS_OPTION = typer.Option(None, help='JSON object of filters, as the API\'s `filters`: '
                              '{"status": ["payment-completed"], "created": {"from": "2026-11-01"}}')
LAYOUT_OPTION = typer.Option(None, help="Orders: items (default: one row per item, the order's amounts on its "
                             "first row only), orders (one row per order) or items_repeated (the order's amounts on "
                             "every row, for pivot tables)")
CHANGES_SINCE_OPTION = typer.Option(None, help="Only the orders created or changed since this export of the "
                                    "project (an id), or since its latest succeeded one: last")

users = command_group("Users (project owners, staff).")
apikeys = command_group("API keys (read-only access).")
clients = command_group("OAuth clients (for Bearer tokens).")
projects = command_group("Projects.")
orders = command_group("Orders.")
exports = command_group("Exports.")
presets_group = command_group("Export presets (a project's named export settings).")


def _session(settings: Settings | None = None) -> Session:
    settings = settings or Settings()
    return make_session_factory(make_engine(settings.resolved_database_url))()


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    return project


@users.command("create")
def users_create(
    username: str = typer.Option(...), email: str = typer.Option(...),
    password: str = typer.Option(..., prompt=True, hide_input=True), staff: bool = typer.Option(False, "--staff"),
    lang: str = typer.Option("en"), first_name: str = typer.Option(""), last_name: str = typer.Option(""),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a user who can sign in with a password (password grant, HTTP Basic)."""
    with domain_errors(), _session() as session:
        user = accounts.create_user(session, username=username, email=email, password=password, is_staff=staff,
                                    lang=lang, first_name=first_name, last_name=last_name)
        emit({"id": user.id, "username": user.username, "email": user.email, "is_staff": user.is_staff,
              "lang": user.lang}, as_json, f"user {user.id} {user.username} created")


def _set_active(username: str, active: bool, as_json: bool) -> None:
    with domain_errors(), _session() as session:
        user = accounts.find_user(session, username)
        accounts.set_active(session, user, active)
        emit({"id": user.id, "username": user.username, "is_active": user.is_active}, as_json,
             f"user {user.id} {user.username} is {'active' if active else 'inactive'}")


@users.command("deactivate")
def users_deactivate(username: str = typer.Option(...), as_json: bool = JSON_OPTION) -> None:
    """Refuse every credential of a user at once (tokens, API keys, password), until activated again."""
    _set_active(username, False, as_json)


@users.command("activate")
def users_activate(username: str = typer.Option(...), as_json: bool = JSON_OPTION) -> None:
    """Accept a deactivated user's credentials again: those that are neither revoked nor expired."""
    _set_active(username, True, as_json)


@users.command("revoke-tokens")
def users_revoke_tokens(username: str = typer.Option(...), as_json: bool = JSON_OPTION) -> None:
    """Revoke every access and refresh token of a user, and sign them out of the page."""
    with domain_errors(), _session() as session:
        user = accounts.find_user(session, username)
        revoked = accounts.revoke_tokens(session, user.id)
        session.commit()
        emit({"username": user.username, "revoked": revoked}, as_json,
             f"{revoked} token pairs of {user.username} revoked")


def _key_fields(key: ApiKey) -> dict[str, object]:
    return {"id": key.id, "created_at": rfc3339(key.created_at), "expires_at": rfc3339(key.expires_at),
            "revoked_at": rfc3339(key.revoked_at)}


@apikeys.command("create")
def apikeys_create(username: str = typer.Option(...),
                   expires_in_days: int | None = typer.Option(None, help="It stops working after this many days."),
                   as_json: bool = JSON_OPTION) -> None:
    """Create an API key for a user; it is shown once and stored only as a hash."""
    with domain_errors(), _session() as session:
        user = accounts.find_user(session, username)
        row, key = accounts.create_api_key(session, user, expires_in_days)
        emit({"username": user.username, "api_key": key, **_key_fields(row)}, as_json,
             f"API key {row.id} for {user.username}: {key}")


@apikeys.command("list")
def apikeys_list(username: str = typer.Option(...), as_json: bool = JSON_OPTION) -> None:
    """A user's API keys, without their secrets, revoked and expired ones included."""
    with domain_errors(), _session() as session:
        user = accounts.find_user(session, username)
        keys = [_key_fields(key) for key in accounts.api_keys_of(session, user.id)]
        emit({"username": user.username, "api_keys": keys}, as_json,
             "\n".join(" ".join(f"{name}={value}" for name, value in key.items()) for key in keys)
             or f"{user.username} has no API keys")


@apikeys.command("revoke")
def apikeys_revoke(key_id: int = typer.Option(..., "--id", help="The key's id (apikeys list)."),
                   as_json: bool = JSON_OPTION) -> None:
    """Revoke an API key: it stops working at once, for good."""
    with domain_errors(), _session() as session:
        key = accounts.find_api_key(session, key_id)
        accounts.revoke_api_key(session, key)
        emit(_key_fields(key), as_json, f"API key {key.id} revoked")


@clients.command("create")
def clients_create(name: str = typer.Option(...), as_json: bool = JSON_OPTION) -> None:
    """Create an OAuth client; its secret is shown once and stored only as a hash."""
    with domain_errors(), _session() as session:
        client, client_id, client_secret = accounts.create_client(session, name)
        emit({"name": client.name, "client_id": client_id, "client_secret": client_secret}, as_json,
             f"client id: {client_id}\nclient secret: {client_secret}")


@clients.command("revoke")
def clients_revoke(client_id: str = typer.Option(...), as_json: bool = JSON_OPTION) -> None:
    """Revoke an OAuth client: it gets no more tokens, and every token it was given stops working."""
    with domain_errors(), _session() as session:
        client = accounts.find_client(session, client_id)
        revoked = accounts.revoke_client(session, client)
        emit({"client_id": client.client_id, "revoked_at": rfc3339(client.revoked_at), "tokens_revoked": revoked},
             as_json, f"client {client.client_id} revoked, and {revoked} of its token pairs")


@projects.command("create")
def projects_create(
    owner: str = typer.Option(..., help="Owner's username."), name: str = typer.Option(...),
    currency: str = typer.Option("EUR"), timezone: str = typer.Option("Europe/Paris"),
    lang: str | None = typer.Option(None), as_json: bool = JSON_OPTION,
) -> None:
    """Create a project owned by a user."""
    with domain_errors(), _session() as session:
        project = accounts.create_project(session, owner=accounts.find_user(session, owner), name=name,
                                          currency=currency, timezone=timezone, lang=lang)
        emit({"id": project.id, "name": project.name, "slug": project.slug, "owner": owner,
              "currency": project.currency, "timezone": project.timezone}, as_json,
             f"project {project.id} {project.name!r} created")


@orders.command("seed")
def orders_seed(project: int = typer.Option(...), count: int = typer.Option(..., min=1),
                seed: int | None = typer.Option(None, help="Random seed, for repeatable data."),
                as_json: bool = JSON_OPTION) -> None:
    """Make realistic fake orders for a project."""
    with domain_errors(), _session() as session:
        _project(session, project)
        started = time.perf_counter()
        with progress_bar("seeding orders", count) as update:
            made = seed_orders(session, project, count, progress=update, seed=seed)
        seconds = time.perf_counter() - started
        emit({"project_id": project, "orders": made, "seconds": round(seconds, 2)}, as_json,
             f"{made} orders made in {seconds:.1f}s")


@exports.command("run")
def exports_run(
    project: int = typer.Option(...),
    format_: str | None = typer.Option(None, "--format", help="csv or xlsx (the preset's with --preset)"),
    columns: str | None = typer.Option(None, help='JSON object {"column id": "header"}'),
    out: Path = typer.Option(..., help="Where to write the file."),
    type_: str | None = typer.Option(None, "--type", help="orders (the default, or the preset's)"),
    csv_dialect: str | None = typer.Option(None, help="csv only: rfc4180 (default) or excel_eu"),
    filters: str | None = FILTERS_OPTION,
    preset: int | None = typer.Option(None, help="An export preset of the project; the options given override it."),
    changes_since: str | None = CHANGES_SINCE_OPTION,
    layout: str | None = LAYOUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Make an export's file now, in this process, with the worker's pipeline (no queue, no email)."""
    with domain_errors(), _session() as session:
        owner_project = _project(session, project)
        recipient = session.get_one(User, owner_project.owner_id)
        given = {"type": type_, "format": format_, "columns": _parse_object("columns", columns),
                 "csv_dialect": csv_dialect, "filters": _parse_object("filters", filters),
                 "changes_since": _changes_since(changes_since), "layout": layout}
        payload = {name: value for name, value in given.items() if value is not None}
        if preset is None:
            payload.setdefault("type", DEFAULT_TYPE)
        valid, body = presets.validate_with_preset(session, owner_project, {**payload, "preset": preset},
                                                   recipient.lang)
        valid = asking.with_changes_since(session, owner_project, valid)
        chosen = {column.id: column.header for column in valid.columns} if body.get("columns") is not None else None
        export = Export(id=0, project_id=project, user_id=recipient.id, type=valid.export_type.identifier,
                        format=valid.writer.format, columns=chosen, options=valid.options, created_at=utcnow())
        progress = pipeline.Progress()
        result: dict[str, pipeline.BuiltFile] = {}
        errors: list[BaseException] = []

        def build() -> None:
            try:
                result["file"] = pipeline.build_file(session, export, owner_project, recipient, out.parent, progress)
            except BaseException as exc:  # re-raised in the main thread
                errors.append(exc)

        started = time.perf_counter()
        builder = threading.Thread(target=build)
        builder.start()
        with progress_bar(f"exporting {export.format}", None) as update:
            while builder.is_alive():
                builder.join(0.1)
                update(progress.rows_done)
            update(progress.rows_done)
        if errors:
            raise errors[0]
        built = result["file"]
        shutil.move(built.path, out)
        seconds = time.perf_counter() - started
        totals = "".join(f"\ntotals {line}" + "".join(f"\n  {status}" for status in statuses)
                         for line, statuses in summary_lines(built.summary, "en"))
        emit({"path": str(out), "rows": built.row_count, "bytes": out.stat().st_size, "sha256": built.sha256,
              "summary": built.summary, "seconds": round(seconds, 2)},
             as_json, f"{built.row_count} rows written to {out} in {seconds:.1f}s\nsha256 {built.sha256}{totals}")


@exports.command("create")
def exports_create(
    project: int = typer.Option(...), username: str = typer.Option(..., help="Who asks: the project's owner, "
                                                                    "who gets the email."),
    format_: str | None = typer.Option(None, "--format", help="csv or xlsx (the preset's with --preset)"),
    columns: str | None = typer.Option(None, help='JSON object {"column id": "header"}'),
    type_: str | None = typer.Option(None, "--type", help="orders (the default, or the preset's)"),
    csv_dialect: str | None = typer.Option(None, help="csv only: rfc4180 (default) or excel_eu"),
    filters: str | None = FILTERS_OPTION,
    preset: int | None = typer.Option(None, help="An export preset of the project; the options given override it."),
    idempotency_key: str | None = typer.Option(None, help="As the API's Idempotency-Key header: the same command "
                                               "again within 24 hours answers the export it made."),
    changes_since: str | None = CHANGES_SINCE_OPTION,
    layout: str | None = LAYOUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Queue an export as the API does (same checks, same cap of active exports, same worker and email)."""
    with domain_errors():
        given = {"type": type_, "format": format_, "columns": _parse_object("columns", columns),
                 "csv_dialect": csv_dialect, "filters": _parse_object("filters", filters), "preset": preset,
                 "changes_since": _changes_since(changes_since), "layout": layout}
        payload = {name: value for name, value in given.items() if value is not None}
        if preset is None:
            payload.setdefault("type", DEFAULT_TYPE)
        service = build_service(Settings(), connections=2)
        with service.runtime.sessions() as session:
            user = accounts.find_user(session, username)
            owned = access.owned_project(session, project, user, staff_allowed=False)
            asked = asking.request_export(session, owned, user, payload, service.runtime,
                                          service.tasks.dispatch_export, idempotency.parse_key(idempotency_key))
            export = asked.export
            resource = export_resource(export, user, user, service.runtime.settings, retried_by=None)
        done = "made earlier with this idempotency key" if asked.replayed else f"queued for {username}"
        emit(resource, as_json, f"export {export.id} of project {project} {done}")


def _changes_since(value: str | None) -> str | int | None:
    """`--changes-since`: "last", or an export id as the API's number (anything else is left for its check)."""
    return int(value) if value is not None and value.isascii() and value.isdigit() else value


def _export(session: Session, export_id: int) -> Export:
    export = session.get(Export, export_id) if 0 < export_id <= MAX_ID else None
    if export is None:
        raise NotFound(f"export {export_id} does not exist")
    return export


@exports.command("cancel")
def exports_cancel(export_id: int = typer.Option(..., "--id", help="The export's id."),
                   as_json: bool = JSON_OPTION) -> None:
    """Stop a waiting or running export, as its owner or staff can: no file and no email come of it."""
    with domain_errors(), _session() as session:
        export = lifecycle.cancel(session, _export(session, export_id), by_user_id=None)
        emit({"id": export.id, "status": export.status}, as_json, f"export {export.id} canceled")


@exports.command("retry")
def exports_retry(export_id: int = typer.Option(..., "--id", help="The failed or canceled export's id."),
                  as_json: bool = JSON_OPTION) -> None:
    """A new export with the settings of a failed or canceled one, for its project's owner, as
    `POST /v1/exports/{id}/retry` makes it (the same checks and cap), sent to the workers' queue."""
    settings = Settings()
    service = build_service(settings, connections=2)
    with domain_errors(), service.runtime.sessions() as session:
        export = _export(session, export_id)
        owner = session.get_one(User, session.get_one(Project, export.project_id).owner_id)
        retried = asking.retry_export(session, export, owner, service.runtime, service.tasks.dispatch_export)
        emit({"id": retried.id, "retry_of": export.id, "status": retried.status, "user_id": owner.id}, as_json,
             f"export {retried.id} retries export {export.id}, for {owner.username}")


def _parse_object(option: str, text: str | None) -> dict[str, object] | None:
    """A JSON object given as an option's text."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid(option, f"not JSON: {exc}", "DeserializationError") from None
    if not isinstance(value, dict):
        raise invalid(option, "must be a JSON object", "TypeError")
    return value


def _preset_fields(preset: ExportPreset) -> dict[str, object]:
    return {"id": preset.id, "project_id": preset.project_id, "name": preset.name, "settings": preset.settings}


@presets_group.command("list")
def presets_list(project: int = typer.Option(...), as_json: bool = JSON_OPTION) -> None:
    """A project's export presets, by name."""
    with domain_errors(), _session() as session:
        _project(session, project)
        listed = [_preset_fields(preset) for preset in presets.list_presets(session, project)]
        emit({"project_id": project, "export_presets": listed}, as_json,
             "\n".join(f"{preset['id']} {preset['name']}: {json.dumps(preset['settings'], ensure_ascii=False)}"
                       for preset in listed) or f"project {project} has no export presets")


@presets_group.command("create")
def presets_create(project: int = typer.Option(...), name: str = typer.Option(...),
                   settings: str = typer.Option(..., help='The export request\'s fields as JSON: {"type": '
                                                '"orders", "format": "csv", ...}'),
                   as_json: bool = JSON_OPTION) -> None:
    """Save named export settings for a project, checked as an export request is (`POST .../export-presets`)."""
    with domain_errors(), _session() as session:
        owner_project = _project(session, project)
        owner = session.get_one(User, owner_project.owner_id)
        preset = presets.create_preset(session, owner_project, {"name": name, "settings": _parse_object(
            "settings", settings)}, owner.lang)
        emit(_preset_fields(preset), as_json, f"export preset {preset.id} {preset.name!r} created")


@presets_group.command("delete")
def presets_delete(preset_id: int = typer.Option(..., "--id", help="The preset's id (presets list)."),
                   as_json: bool = JSON_OPTION) -> None:
    """Delete an export preset; exports made with it keep their settings."""
    with domain_errors(), _session() as session:
        preset = session.get(ExportPreset, preset_id)
        if preset is None:
            raise NotFound(f"export preset {preset_id} does not exist")
        fields = _preset_fields(preset)
        presets.delete_preset(session, preset)
        emit(fields, as_json, f"export preset {preset_id} deleted")


def demo(orders_count: int = typer.Option(500, "--orders", min=0),
         base_url: str | None = typer.Option(None, help="Where the API is, for the curl lines (default: "
                                             f"CROWDEXPORTS_PUBLIC_URL, else {DEFAULT_PUBLIC_URL}).",
                                             show_default=False),
         as_json: bool = JSON_OPTION) -> None:
    """A demo owner, a project with orders and an OAuth client; prints the web page's address, credentials
    that sign in there, and curl lines."""
    settings = Settings()
    migrations.upgrade(settings.resolved_database_url)
    with domain_errors(), _session(settings) as session:
        suffix = secrets.token_hex(3)
        username, password = f"demo-{suffix}", secrets.token_urlsafe(12)
        owner = accounts.create_user(session, username=username, email=f"{username}@example.com",
                                     password=password, first_name="Demo", last_name="Owner", name="Demo Owner")
        project = accounts.create_project(session, owner=owner, name=f"Solar Kettle {suffix}")
        seed_orders(session, project.id, orders_count, seed=1)
        client, client_id, client_secret = accounts.create_client(session, f"demo client {suffix}")
        tokens = accounts.issue_tokens(session, owner, client, settings)
        base = (base_url or settings.public_url).rstrip("/")
        token_curl = (f"curl -s -u '{client_id}:{client_secret}' -d grant_type=password "
                      f"-d username={username} -d password='{password}' {base}/oauth2/token/")
        export_curl = (f"curl -s -X POST {base}/v1/projects/{project.id}/exports "
                       f"-H 'Authorization: Bearer {tokens['access_token']}' -H 'Content-Type: application/json' "
                       "-d '{\"format\": \"xlsx\", \"type\": \"orders\"}'")
        data = {"page": f"{base}/web/", "username": username, "password": password, "project_id": project.id,
                "orders": orders_count,
                "client_id": client_id, "client_secret": client_secret, "access_token": tokens["access_token"],
                "refresh_token": tokens["refresh_token"], "token_curl": token_curl, "curl": export_curl}
        emit(data, as_json, "\n".join(f"{key}: {value}" for key, value in data.items()))


def register(app: typer.Typer) -> None:
    for name, group in (("users", users), ("apikeys", apikeys), ("clients", clients), ("projects", projects),
                        ("orders", orders), ("exports", exports), ("presets", presets_group), ("import", imports),
                        ("webhooks", webhooks), ("schedules", schedules)):
        app.add_typer(group, name=name)
    app.command("demo")(demo)
