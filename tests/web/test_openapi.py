"""The OpenAPI document declares what the framework answers on its own, not only what the
routes return: a body that cannot be read is a 400 on every operation that takes one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Form
from pydantic import BaseModel

from tausestack import Controller, Settings, TauseStackApp, create_app, get, post
from tausestack.testing import TestClient


class Book(BaseModel):
    title: str


@Controller("/books")
class Books:
    @get("/")
    def index(self) -> list[Book]:
        return []

    @post("/", status_code=201)
    def create(self, book: Book) -> Book:
        return book

    @post("/form")
    def create_from_form(self, title: str = Form()) -> Book:
        return Book(title=title)

    @post("/declared", responses={400: {"description": "The route's own 400."}})
    def declared(self, book: Book) -> Book:
        return book


def build(tmp_path: Path) -> TauseStackApp:
    return create_app(Settings(config_dir=tmp_path), components=[Books])


def response_schema(document: dict[str, Any], path: str, status: str) -> dict[str, Any]:
    answer = document["paths"][path]["post"]["responses"][status]
    schema: dict[str, Any] = answer["content"]["application/json"]["schema"]
    return schema


def test_an_unreadable_body_is_a_documented_400(tmp_path: Path) -> None:
    app = build(tmp_path)
    with TestClient(app) as client:
        headers = {"Content-Type": "application/json"}
        answer = client.post("/books/", content=b'{"title": "\xff\xfe"}', headers=headers)
        document = client.get("/openapi.json").json()

    assert answer.status_code == 400
    declared = document["paths"]["/books/"]["post"]["responses"]
    assert set(declared) == {"201", "400", "422"}
    assert "not UTF-8" in declared["400"]["description"]
    schema = response_schema(document, "/books/", "400")
    assert schema["required"] == ["detail"]
    assert schema["properties"]["detail"]["type"] == "string"
    assert answer.json() == {"detail": "There was an error parsing the body"}


def test_every_operation_with_a_body_declares_it_and_only_those(tmp_path: Path) -> None:
    document = build(tmp_path).openapi()
    paths = document["paths"]

    assert "400" in paths["/books/form"]["post"]["responses"]
    assert "400" not in paths["/books/"]["get"]["responses"]
    own = paths["/books/declared"]["post"]["responses"]["400"]
    assert own == {"description": "The route's own 400."}
    assert build(tmp_path).openapi() == document  # generated the same way each time
