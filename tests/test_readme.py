"""The README's example project, written out file by file, works as the README says."""

import re
from pathlib import Path

from tausestack import create_app
from tausestack.testing import TestClient
from tests.conftest import Project

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```(?:python|yaml)\n# (\S+)[^\n]*\n(.*?)```", re.DOTALL)


def test_readme_example_runs(project: Project) -> None:
    files = dict(BLOCK.findall(README.read_text(encoding="utf-8")))
    assert set(files) == {
        "apps/users/settings.py",
        "apps/users/services.py",
        "apps/users/controllers.py",
        "application.yaml",
        "main.py",
    }
    for name, content in files.items():
        project.write(name, content)
    namespace: dict[str, object] = {}
    exec(files["main.py"], namespace)  # main.py calls create_app() as `uvicorn main:app` would
    app = namespace["app"]
    assert app.title == "My service"  # type: ignore[attr-defined]
    fresh = create_app()
    with TestClient(fresh) as client:
        assert client.get("/users/1").json() == {"id": 1, "name": "Ada"}
        assert client.get("/users/2").status_code == 404
    users_settings = fresh.settings.users  # type: ignore[attr-defined]
    assert fresh.container.get(type(users_settings)).page_size == 50
