"""Pages of models: their names in the OpenAPI schema, and pickling."""

import pickle
from pathlib import Path

from tausestack import Controller, Settings, create_app, get
from tausestack.sdk.database import CursorPage, Page
from tests.sdk.pages_fixture import library, shop


@Controller("/items")
class Items:
    @get("/shop")
    async def shop_items(self) -> Page[shop.Item]:
        return Page[shop.Item](items=[shop.Item(price=3)], total=1, page=1, size=1)

    @get("/library")
    async def library_items(self) -> Page[library.Item]:
        return Page[library.Item](items=[], total=0, page=1, size=1)

    @get("/library/cursor")
    async def library_cursor(self) -> CursorPage[library.Item]:
        return CursorPage[library.Item](items=[], next_cursor=None, has_more=False)


def test_pages_of_models_with_the_same_name_are_named_after_their_module(tmp_path: Path) -> None:
    app = create_app(Settings(config_dir=tmp_path), components=[Items])
    schemas = app.openapi()["components"]["schemas"]
    # FastAPI qualifies clashing names with the module: the item's, not TauseStack's
    assert {
        "tests__sdk__pages_fixture__shop__ItemPage",
        "tests__sdk__pages_fixture__library__ItemPage",
        "ItemCursorPage",
    } <= set(schemas)
    assert not [name for name in schemas if "pagination" in name or name.endswith("__1")]
    shop_items = schemas["tests__sdk__pages_fixture__shop__ItemPage"]["properties"]["items"]
    assert shop_items["items"]["$ref"].endswith("tests__sdk__pages_fixture__shop__Item")


def test_a_page_has_its_items_module_and_pickles() -> None:
    page = Page[shop.Item](items=[shop.Item(price=3)], total=1, page=1, size=1)
    assert type(page).__module__ == shop.__name__
    assert type(page).__name__ == "ItemPage"
    copy = pickle.loads(pickle.dumps(page))
    assert type(copy) is type(page)
    assert copy == page
    assert pickle.loads(pickle.dumps(Page[int](items=[1], total=1, page=1, size=1))).items == [1]
