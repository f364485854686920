"""`routes`, `inspect`, `check`, `config show` and `version` on real projects."""

import os
import re
import sys
from pathlib import Path

import fastapi
import pytest

from tausestack import __version__
from tests.cli.conftest import Cli

SECURED_ROUTES = """
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordBearer

scheme = OAuth2PasswordBearer(tokenUrl="token")
router = APIRouter()


@router.get("/me")
async def me(token: Annotated[str, Depends(scheme)]) -> dict[str, str]:
    return {"token": token}
"""


def test_routes_lists_method_path_handler_app_and_auth(demo: Path, tausestack: Cli) -> None:
    (demo / "apps" / "notes" / "routes.py").write_text(SECURED_ROUTES)
    result = tausestack("routes")
    assert result.exit_code == 0, result.output
    rows = {
        tuple(cell.strip() for cell in line.split("│")[1:-1])
        for line in result.stdout.splitlines()
        if line.startswith("│")
    }
    assert ("GET", "/notes", "NoteController.index", "notes", "-") in rows
    assert ("POST", "/notes", "NoteController.create", "notes", "-") in rows
    assert ("GET", "/me", "me", "notes", "OAuth2PasswordBearer") in rows
    assert ("GET, HEAD", "/docs", "FastAPI (built in)", "fastapi", "-") in rows


GUARDED_CONTROLLER = """
from typing import Annotated

from fastapi import Depends
from tausestack import Controller, get, post
from tausestack.sdk.auth import CurrentUser, OptionalUser, require_permissions


@Controller("/todos/{todo_id}/attachments", roles=["admin"])
class TodoAttachmentsWithAVeryLongControllerName:
    @get("/{attachment_id}/versions/{version_id}")
    async def read_one_version_of_an_attachment(
        self, todo_id: int, attachment_id: int, version_id: int
    ) -> int:
        return version_id

    @post("", roles=["editor"])
    async def add(self, todo_id: int) -> int:
        return todo_id


@Controller("/guarded")
class GuardedController:
    @get("/login", auth_required=True)
    async def login_needed(self) -> str:
        return "ok"

    @get("/me")
    async def me(self, user: CurrentUser) -> str:
        return user.id

    @get("/maybe")
    async def maybe(self, user: OptionalUser) -> str:
        return "anonymous" if user is None else user.id

    @get("/write", dependencies=[Depends(require_permissions("articles:write"))])
    async def write(self) -> str:
        return "ok"
"""


def add_guarded_controller(demo: Path) -> None:
    """GUARDED_CONTROLLER in the demo project, with the jwt auth backend it needs."""
    (demo / "apps" / "notes" / "controllers" / "guarded.py").write_text(GUARDED_CONTROLLER)
    with (demo / "application.yaml").open("a") as config:
        config.write(f"auth:\n  backend: jwt\n  jwt:\n    secret: {'s' * 40}\n")


def route_rows(output: str) -> dict[str, tuple[str, ...]]:
    """The rows of `routes` by "METHOD path": (handler, app, auth)."""
    rows = {}
    for line in output.splitlines():
        if line.startswith("│"):
            method, path, *rest = (cell.strip() for cell in line.split("│")[1:-1])
            rows[f"{method} {path}"] = tuple(rest)
    return rows


def test_routes_shows_what_each_route_requires(demo: Path, tausestack: Cli) -> None:
    add_guarded_controller(demo)
    (demo / "apps" / "notes" / "routes.py").write_text(SECURED_ROUTES)
    result = tausestack("routes")
    assert result.exit_code == 0, result.output
    rows = route_rows(result.stdout)
    attachments = "/todos/{todo_id}/attachments"
    assert rows[f"GET {attachments}/{{attachment_id}}/versions/{{version_id}}"][-1] == (
        "roles: admin"
    )
    assert rows[f"POST {attachments}"][-1] == "roles: admin, editor"
    assert rows["GET /guarded/login"][-1] == "required"
    assert rows["GET /guarded/me"][-1] == "required"
    assert rows["GET /guarded/maybe"][-1] == "optional"
    assert rows["GET /guarded/write"][-1] == "permissions: articles:write"
    assert rows["GET /me"][-1] == "OAuth2PasswordBearer"  # a scheme of the app's own
    assert rows["GET /notes"][-1] == "-"


def test_piped_routes_keep_whole_values_one_line_per_route(
    demo: Path, tausestack: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_guarded_controller(demo)
    monkeypatch.delenv("COLUMNS")  # piped: Rich falls back to 80 columns
    result = tausestack("routes")
    assert result.exit_code == 0, result.output
    rows = route_rows(result.stdout)
    handler = "TodoAttachmentsWithAVeryLongControllerName.read_one_version_of_an_attachment"
    path = "/todos/{todo_id}/attachments/{attachment_id}/versions/{version_id}"
    assert rows[f"GET {path}"] == (handler, "notes", "roles: admin")
    body = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert len(body) == len(rows), "one line per route"
    assert "…" not in result.stdout


def test_routes_of_a_plain_fastapi_app(demo: Path, tausestack: Cli) -> None:
    (demo / "plain.py").write_text(
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/ping')\n"
        "async def ping() -> str:\n    return 'pong'\n"
    )
    result = tausestack("routes", "--app", "plain:app")
    assert result.exit_code == 0, result.output
    assert "/ping" in result.stdout
    refused = tausestack("inspect", "--app", "plain:app")
    assert refused.exit_code == 2
    assert "plain:app is a FastAPI, not an app built by tausestack.create_app()" in refused.stderr


def test_app_option_errors(demo: Path, tausestack: Cli) -> None:
    bad_format = tausestack("routes", "--app", "main")
    assert bad_format.exit_code == 2
    assert "--app must look like module:attribute (e.g. main:app), not 'main'" in bad_format.stderr
    run_missing = tausestack("run", "--app", "main:nope", "--no-reload")
    assert run_missing.exit_code == 2
    assert "has no 'nope'" in run_missing.stderr
    missing_attribute = tausestack("routes", "--app", "main:application")
    assert missing_attribute.exit_code == 2
    assert "module 'main'" in missing_attribute.stderr
    assert "has no 'application'" in (missing_attribute.stderr)
    (demo / "main.py").unlink()
    sys.modules.pop("main", None)  # each real command is a new process
    missing_module = tausestack("check")
    assert missing_module.exit_code == 2
    assert (
        f"No app found: looked for 'app' in module 'main' ({demo / 'main.py'} does not exist)"
        in (missing_module.stderr)
    )


def test_inspect_lists_components_per_app(demo: Path, tausestack: Cli) -> None:
    result = tausestack("inspect")
    assert result.exit_code == 0, result.output
    assert "apps.notes" in result.stdout
    assert re.search(r"NoteService\s+│ service\s+│ singleton", result.stdout)
    assert re.search(
        r"NoteController\s+│ controller\s+│ singleton .*service: NoteService", result.stdout
    )


def test_inspect_writes_graphs(demo: Path, tausestack: Cli) -> None:
    mermaid = tausestack("inspect", "--graph", "mermaid")
    assert mermaid.exit_code == 0
    assert mermaid.stdout.startswith("graph LR\n")
    assert '["NoteController (singleton)"]' in mermaid.stdout
    assert re.search(r"n\d+ -->\|service\| n\d+", mermaid.stdout)
    os.chdir(demo / "apps")  # --output is relative to where the command runs
    dot = tausestack("inspect", "--graph", "dot", "--output", "graph.dot")
    assert dot.exit_code == 0
    text = (demo / "apps" / "graph.dot").read_text()
    assert text.startswith("digraph tausestack {")
    ids = dict(re.findall(r'    (n\d+) \[label="(\w+)\\n', text))
    service = next(node for node, label in ids.items() if label == "NoteService")
    controller = next(node for node, label in ids.items() if label == "NoteController")
    assert f'{controller} -> {service} [label="service"];' in text
    assert tausestack("inspect", "--graph", "png").exit_code == 2
    without_graph = tausestack("inspect", "--output", "x.txt")
    assert without_graph.exit_code == 2
    assert "--output writes a graph; pass --graph" in without_graph.stderr


def test_graph_labels_tell_same_named_components_apart(demo: Path, tausestack: Cli) -> None:
    assert tausestack("new-app", "note").exit_code == 0
    mermaid = tausestack("inspect", "--graph", "mermaid").stdout
    assert '["apps.notes.services.note.NoteService (singleton)"]' in mermaid
    assert '["apps.note.services.note.NoteService (singleton)"]' in mermaid


def test_check_passes_on_a_sound_project(demo: Path, tausestack: Cli) -> None:
    assert tausestack("db", "upgrade").exit_code == 0  # the starter app's table
    result = tausestack("check")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"No problems found in {demo}: profile dev, 1 app(s),")


def test_check_lists_every_problem(demo: Path, tausestack: Cli) -> None:
    (demo / "apps" / "notes" / "services" / "broken.py").write_text(
        "from tausestack import Service\n\n\nclass Clock:\n    pass\n\n\n"
        "class Mailer:\n    pass\n\n\n"
        "@Service\nclass Broken:\n    def __init__(self, clock: Clock, mailer: Mailer) -> None:\n"
        "        self.clock, self.mailer = clock, mailer\n"
    )
    assert tausestack("db", "upgrade").exit_code == 0  # the starter app's table
    result = tausestack("check")
    assert result.exit_code == 1
    assert "2 problem(s)" in result.stderr
    assert "No provider for Clock, needed by parameter 'clock'" in result.stderr
    assert "No provider for Mailer, needed by parameter 'mailer'" in result.stderr


def test_check_lists_every_invalid_setting(demo: Path, tausestack: Cli) -> None:
    config = demo / "application.yaml"
    config.write_text(
        config.read_text().replace("max_page_size: 100", "max_page_size: many") + "debugg: true\n"
    )
    result = tausestack("check")
    assert result.exit_code == 1
    assert "2 problem(s)" in result.stderr
    assert "notes.max_page_size: Input should be a valid integer" in result.stderr
    assert "debugg: unknown setting" in result.stderr


def test_config_show_gives_values_and_sources_and_hides_secrets(
    demo: Path, tausestack: Cli
) -> None:
    (demo / "apps" / "notes" / "settings.py").write_text(
        "from tausestack import SettingsSection\n\n\nclass NotesSettings(SettingsSection, "
        'section="notes"):\n    max_page_size: int = 50\n    api_token: str = "tok-123"\n'
        '    database_url: str = "postgresql://app:hunter2@db.internal/notes"\n'
        '    cache_url: str = "redis://:s3cret@cache:6379/0"\n'
        '    motto: str = "[bold]loud[/bold] :cat:"\n'
        '    webhook_tokens: dict[str, str] = {"github": "ghp-456"}\n'
    )
    (demo / ".env").write_text("TAUSESTACK_APP__DEBUG=true\n")
    result = tausestack("config", "show")
    assert result.exit_code == 0, result.output
    rows = {
        cells[0]: cells[1:]
        for cells in (
            [cell.strip() for cell in line.split("│")[1:-1]]
            for line in result.stdout.splitlines()
            if line.startswith("│")
        )
    }
    assert rows["notes.max_page_size"] == ["100", f"{demo / 'application.yaml'}:13"]
    assert rows["app.debug"] == ["True", f"{demo / '.env'} (TAUSESTACK_APP__DEBUG)"]
    assert rows["app.docs_url"] == ["/docs", "defaults"]
    assert rows["profile"] == ["dev", "defaults"]
    assert rows["notes.api_token"][0] == "********"
    assert rows["notes.database_url"][0] == "postgresql://app:********@db.internal/notes"
    assert rows["notes.cache_url"][0] == "redis://:********@cache:6379/0"
    assert rows["notes.motto"][0] == "[bold]loud[/bold] :cat:"  # shown as written
    assert rows["notes.webhook_tokens.github"][0] == "********"
    assert "hunter2" not in result.stdout
    assert "tok-123" not in result.stdout
    assert "ghp-456" not in result.stdout


def config_rows(output: str) -> dict[str, list[str]]:
    """The rows of `config show`: key -> [value, source]."""
    return {
        cells[0]: cells[1:]
        for cells in (
            [cell.strip() for cell in line.split("│")[1:-1]]
            for line in output.splitlines()
            if line.startswith("│")
        )
    }


REAL_SECRETS = {
    "jwt": "jwt-Secret-Value-0123456789abcdefghijkl",
    "old jwt": "old-Jwt-Value-0123456789abcdefghijklm",
    "database": "db-Pass-Value",
    "s3": "s3-Secret-Key-Value",
    "signing": "url-Signing-Key-Value-0123456789abcdef",
    "smtp": "smtp-Pass-Value",
}

SECRET_SETTINGS = f"""
secrets:
  backend: dotenv
  dotenv:
    path: config/secrets.env
auth:
  jwt:
    secret: ${{secret:JWT_SECRET}}
    private_key: ${{secret:keys#private}}
    previous_keys: ["{REAL_SECRETS["old jwt"]}", "${{secret:OLD_JWT}}"]
database:
  url: postgresql://shop:{REAL_SECRETS["database"]}@db.internal:5432/shop
storage:
  s3:
    access_key_id: AKIAEXAMPLE
    secret_access_key: {REAL_SECRETS["s3"]}
notify:
  smtp:
    password: {REAL_SECRETS["smtp"]}
cache:
  redis:
    url: redis://:${{secret:REDIS_PASSWORD}}@cache:6379/0
"""


def test_config_show_redacts_secret_values_and_shows_references_as_written(
    demo: Path, tausestack: Cli
) -> None:
    with (demo / "application.yaml").open("a") as config:
        config.write(SECRET_SETTINGS)
    (demo / ".env").write_text(f"TAUSESTACK_STORAGE__URL_SIGNING_KEY={REAL_SECRETS['signing']}\n")
    result = tausestack("config", "show")
    assert result.exit_code == 0, result.output
    rows = config_rows(result.stdout)
    # Not secrets, though their keys contain "secret", "key" or "password": shown in clear.
    assert rows["secrets.backend"][0] == "dotenv"
    assert rows["secrets.dotenv.path"][0] == "config/secrets.env"
    assert rows["cache.key_prefix"][0] == "tausestack:"
    assert rows["auth.jwt.min_password_length"][0] == "8"
    assert rows["security.rate_limit.key"][0] == "ip"
    # References are shown as written, wherever they are.
    assert rows["auth.jwt.secret"][0] == "${secret:JWT_SECRET}"
    assert rows["auth.jwt.private_key"][0] == "${secret:keys#private}"
    assert rows["cache.redis.url"][0] == "redis://:${secret:REDIS_PASSWORD}@cache:6379/0"
    assert rows["auth.jwt.previous_keys"][0] == "['********', '${secret:OLD_JWT}']"
    # Secret values are not.
    assert rows["database.url"][0] == "postgresql://shop:********@db.internal:5432/shop"
    assert rows["storage.s3.secret_access_key"][0] == "********"
    assert rows["storage.url_signing_key"] == [
        "********",
        f"{demo / '.env'} (TAUSESTACK_STORAGE__URL_SIGNING_KEY)",
    ]
    assert rows["notify.smtp.password"][0] == "********"
    assert rows["storage.s3.access_key_id"][0] == "********"
    for name, value in REAL_SECRETS.items():
        assert value not in result.output, f"the {name} secret was printed"


NOTES_WITH_SECRETS = """  max_page_size: 100
  headers:
    Authorization: Bearer header-jwt-value
    X-Api-Key: header-key-value
    Accept: application/json
  options:
    api_key: 123456789
    retries: 3
  broker_url: redis://:p@ss-value@cache:6379/0
  replica_url: postgresql://app@db/app?password=query-pw-value&sslmode=require
"""


def test_config_show_hides_numbers_headers_and_every_part_of_a_url_secret(
    demo: Path, tausestack: Cli
) -> None:
    (demo / "apps" / "notes" / "settings.py").write_text(
        "from typing import Any\n\nfrom tausestack import SettingsSection\n\n\n"
        'class NotesSettings(SettingsSection, section="notes"):\n    max_page_size: int = 50\n'
        "    headers: dict[str, str] = {}\n    options: dict[str, Any] = {}\n"
        '    broker_url: str = ""\n    replica_url: str = ""\n'
    )
    config = demo / "application.yaml"
    assert "  max_page_size: 100\n" in config.read_text()  # the starter's setting, replaced below
    config.write_text(config.read_text().replace("  max_page_size: 100\n", NOTES_WITH_SECRETS))
    result = tausestack("config", "show")
    assert result.exit_code == 0, result.output
    rows = config_rows(result.stdout)
    assert rows["notes.headers.Authorization"][0] == "********"
    assert rows["notes.headers.X-Api-Key"][0] == "********"
    assert rows["notes.headers.Accept"][0] == "application/json"
    assert rows["notes.options.api_key"][0] == "********"
    assert rows["notes.options.retries"][0] == "3"
    assert rows["notes.broker_url"][0] == "redis://:********@cache:6379/0"
    assert rows["notes.replica_url"][0] == (
        "postgresql://app@db/app?password=********&sslmode=require"
    )
    # Names that sound secret but hold none: a cookie's name, a length.
    assert rows["auth.sessions.cookie"][0] == "tausestack_session"
    assert rows["auth.jwt.min_password_length"][0] == "8"
    for leak in ("header-jwt-value", "header-key-value", "123456789", "ss-value", "query-pw"):
        assert leak not in result.output


def test_version(tausestack: Cli) -> None:
    result = tausestack("version")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"tausestack {__version__} (FastAPI {fastapi.__version__}")
