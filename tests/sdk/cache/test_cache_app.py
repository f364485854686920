"""The cache in an application: injected by type, ``@cached`` services over HTTP, module
functions inside requests, startup checks and shutdown, on memory and a real Redis."""

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from pydantic import BaseModel

from tausestack import Controller, Service, Settings, create_app, get, post, sdk
from tausestack.di import DependencyKey
from tausestack.sdk import cache as cache_module
from tausestack.sdk.cache import (
    AbstractCacheBackend,
    Cache,
    CacheConnectionError,
    MemoryCacheBackend,
    cached,
)
from tausestack.testing import AsyncTestClient, TestClient
from tests.conftest import Project
from tests.processes import free_port


class Price(BaseModel):
    sku: str
    amount: Decimal


@Service
class PriceService:
    def __init__(self) -> None:
        self.computed: list[str] = []

    @cached(ttl=60)
    async def price(self, sku: str) -> Price:
        self.computed.append(sku)
        return Price(sku=sku, amount=Decimal("9.99"))

    @cached(ttl=60, key="stock:{sku}")
    def stock(self, sku: str) -> int | None:
        self.computed.append(f"stock {sku}")
        return None if sku == "gone" else 3


@Controller("/prices")
class PriceController:
    def __init__(self, prices: PriceService, cache: Cache, backend: AbstractCacheBackend) -> None:
        self.prices, self.cache, self.backend = prices, cache, backend

    @get("/{sku}")
    async def read(self, sku: str) -> Price:
        return await self.prices.price(sku)

    @get("/{sku}/stock")
    def stock(self, sku: str) -> dict[str, Any]:
        # A def endpoint runs in a worker thread: the module functions find the same app.
        return {"stock": self.prices.stock(sku), "raw": cache_module.get(f"stock:{sku}", "miss")}

    @post("/{sku}/forget")
    async def forget(self, sku: str) -> dict[str, bool]:
        return {"forgotten": await self.prices.price.ainvalidate(sku)}

    @get("/")
    async def stats(self) -> dict[str, Any]:
        stats = self.cache.stats()
        return {
            "hits": stats.hits,
            "misses": stats.misses,
            "function": self.prices.price.stats().hits,
            "same": sdk.cache.current() is self.cache and self.cache.backend is self.backend,
        }


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def cache_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "redis":
        return {"backend": "redis", "redis": {"url": request.getfixturevalue("redis_url")}}
    return {"backend": "memory"}


def test_a_cached_service_over_http(cache_settings: dict[str, Any], tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path, cache={**cache_settings, "key_prefix": "shop:"})
    app = create_app(settings, components=[PriceService, PriceController])
    hits_before = PriceService.price.stats().hits  # a function's counts span every app
    with TestClient(app) as client:
        first = client.get("/prices/pen")
        second = client.get("/prices/pen")
        assert first.status_code == second.status_code == 200
        assert first.json() == second.json() == {"sku": "pen", "amount": "9.99"}
        assert client.get("/prices/pen/stock").json() == {"stock": 3, "raw": 3}
        assert client.get("/prices/gone/stock").json() == {"stock": None, "raw": None}
        assert client.get("/prices/gone/stock").json() == {"stock": None, "raw": None}
        assert client.post("/prices/pen/forget").json() == {"forgotten": True}
        client.get("/prices/pen")
        stats = client.get("/prices/").json()
        assert stats["function"] == hits_before + 1
        assert stats["same"] is True
        assert stats["hits"] >= 4
    service = app.container.get(PriceService)
    assert service.computed == ["pen", "stock pen", "stock gone", "pen"]


@pytest.mark.redis
def test_the_entries_are_in_redis_under_the_prefix(redis_url: str, tmp_path: Path) -> None:
    settings = Settings(
        config_dir=tmp_path, cache={"backend": "redis", "redis": {"url": redis_url}}
    )
    app = create_app(settings, components=[PriceService, PriceController])
    raw = redis.Redis.from_url(redis_url)
    before = _clients(raw)  # raw's own connection, and any other tests left open
    with TestClient(app) as client:
        client.get("/prices/pen")
        client.get("/prices/ink/stock")
        keys = sorted(key.decode() for key in raw.keys("*"))
        assert keys == [
            "tausestack:stock:ink",
            'tausestack:tests.sdk.cache.test_cache_app.PriceService.price:["pen"]',
        ]
        assert 0 < raw.pttl("tausestack:stock:ink") <= 60_000
        assert _clients(raw) > before  # the app's pool
    assert _clients(raw) == before  # the app closed its connections at shutdown
    raw.close()


@pytest.mark.redis
@pytest.mark.anyio
async def test_async_client_and_module_functions_in_requests(
    redis_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        config_dir=tmp_path, cache={"backend": "redis", "redis": {"url": redis_url}}
    )
    app = create_app(settings, components=[PriceService, PriceController])
    async with AsyncTestClient(app) as client:
        assert (await client.get("/prices/pen")).json()["amount"] == "9.99"
        assert (await client.get("/prices/pen")).json()["amount"] == "9.99"
    assert app.container.get(PriceService).computed == ["pen"]


def _clients(raw: redis.Redis) -> int:
    return len(raw.client_list())


def test_a_redis_that_is_down_fails_at_startup(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"redis://:s3cret@127.0.0.1:{port}/0"
    settings = Settings(config_dir=tmp_path, cache={"backend": "redis", "redis": {"url": url}})
    app = create_app(settings, components=[PriceService, PriceController])
    with pytest.raises(CacheConnectionError) as caught, TestClient(app):
        pass
    message = str(caught.value)
    assert f"redis cache at redis://:***@127.0.0.1:{port}/0" in message
    assert "s3cret" not in message
    assert "Check that the server is running" in message
    assert "cache.redis.url (set in code (Settings(cache=...)))" in message


def test_the_cache_is_injectable_by_type_and_a_singleton(tmp_path: Path) -> None:
    app = create_app(Settings(config_dir=tmp_path), components=[PriceService, PriceController])
    container = app.container
    assert container.get(Cache) is container.get(Cache)
    assert isinstance(container.get(AbstractCacheBackend), MemoryCacheBackend)
    assert container.get(Cache).backend is container.get(AbstractCacheBackend)


def test_an_installed_app_using_cached_gets_cache_support(project: Project) -> None:
    project.write(
        "shop/catalog/services.py",
        """
        from tausestack import Service
        from tausestack.sdk.cache import cached

        @Service
        class Catalog:
            @cached(ttl=5)
            def titles(self) -> list[str]:
                return ["a", "b"]
        """,
    )
    app = create_app(Settings(config_dir=project.root, installed_apps=["shop.catalog"]))
    assert app.container.graph.lookup(DependencyKey(Cache)) is not None
    without = create_app(Settings(config_dir=project.root))
    assert without.container.graph.lookup(DependencyKey(Cache)) is None


def test_module_functions_without_di(tmp_path: Path) -> None:
    app = create_app(Settings(config_dir=tmp_path, cache={"key_prefix": "script:"}))
    with sdk.use(app.container):
        cache_module.set("greeting", "hi")
        cache_module.set_many({"a": 1, "b": 2})
        assert cache_module.get("greeting") == "hi"
        assert cache_module.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}
        assert cache_module.incr("counter", 2) == 2
        assert cache_module.delete("a") is True
        assert cache_module.stats().hits == 3
        assert cache_module.current().key_prefix == "script:"
        assert cache_module.clear() == 3


@pytest.mark.anyio
async def test_async_module_functions(tmp_path: Path) -> None:
    app = create_app(Settings(config_dir=tmp_path))
    with sdk.use(app.container):
        await cache_module.aset("greeting", "hi")
        await cache_module.aset_many({"a": 1})
        assert await cache_module.aget("greeting") == "hi"
        assert await cache_module.aget_many(["a"]) == {"a": 1}
        assert await cache_module.aincr("n") == 1
        assert await cache_module.adelete("a") is True
        assert await cache_module.aclear() == 2


@Controller("/entries")
class Entries:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    @get("")
    async def read(self, key: str) -> dict[str, Any]:
        return {"value": await self.cache.aget(key)}

    @get("/sync")
    def read_sync(self, key: str) -> dict[str, Any]:
        return {"value": cache_module.get(key)}

    @get("/stock/{sku}")
    def stock(self, sku: str) -> dict[str, Any]:
        return {"value": stock_of(sku)}

    @get("/broken")
    def broken(self) -> dict[str, Any]:
        return {"value": unkeyable(object())}


@cached(ttl=60, key="stock:{sku}")
def stock_of(sku: str) -> int:
    return 3


@cached(ttl=60)
def unkeyable(thing: object) -> int:
    return 1


def test_an_invalid_key_from_a_request_is_a_400(
    cache_settings: dict[str, Any], tmp_path: Path
) -> None:
    """The key came from the client, as a storage key can: its fault, not the server's."""
    settings = Settings(config_dir=tmp_path, cache=cache_settings)
    with TestClient(create_app(settings, components=[Entries])) as client:
        for path in ("/entries", "/entries/sync"):
            assert client.get(path, params={"key": "fine"}).json() == {"value": None}
            for key in ("", "a\tb", "x" * 2000):
                response = client.get(path, params={"key": key})
                assert response.status_code == 400, (path, key, response.text)
                assert "key" in response.json()["detail"]
                assert "redis://" not in response.text
        assert client.get("/entries/stock/a%0Ab").status_code == 400  # @cached's key= made it
        assert client.get("/entries/stock/a").json() == {"value": 3}
    with TestClient(create_app(settings, components=[Entries]), raise_server_exceptions=False) as c:
        assert c.get("/entries/broken").status_code == 500  # the definition's fault


@Controller("/counters")
class Counters:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    @get("/{number}")
    def read(self, number: int) -> dict[str, Any]:
        return {"value": self.cache.get(number)}  # type: ignore[arg-type]  # the bug planted


def test_a_key_of_the_wrong_type_is_the_servers_fault(tmp_path: Path) -> None:
    """No request can make a key that is not a str: the code passed one (an int path
    parameter), a bug that a 400 would hide from the server's error logs and alerts."""
    settings = Settings(config_dir=tmp_path)
    app = create_app(settings, components=[Counters])
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/counters/5").status_code == 500
