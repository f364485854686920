"""Starting a Redis client's connections afresh (after READONLY) while others use them, on
clients built as the SDK builds them (``reconnecting()``: one retry on a closed connection)."""

from __future__ import annotations

import asyncio
import threading

import pytest
import redis
import redis.asyncio

from tausestack.sdk._redis import adrop_connections, drop_connections, reconnecting

pytestmark = pytest.mark.redis


def test_dropping_a_pools_connections_breaks_no_command_of_another_thread(
    redis_url: str,
) -> None:
    client = redis.Redis.from_url(redis_url, **reconnecting())
    client.set("shared", "value")
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                assert client.get("shared") == b"value"
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(50):
            drop_connections(client.connection_pool)
    finally:
        done.set()
        for thread in threads:
            thread.join()
        client.close()
    assert errors == []


def test_dropping_an_async_pools_connections_breaks_no_command_in_flight(redis_url: str) -> None:
    async def scenario() -> list[BaseException]:
        async with redis.asyncio.Redis.from_url(
            redis_url, **reconnecting(asynchronous=True)
        ) as client:
            await client.set("shared", "value")
            stop = asyncio.Event()

            async def read() -> None:
                while not stop.is_set():
                    assert await client.get("shared") == b"value"

            readers = [asyncio.create_task(read()) for _ in range(8)]
            for _ in range(50):
                await adrop_connections(client.connection_pool)
                await asyncio.sleep(0.002)
            stop.set()
            results = await asyncio.gather(*readers, return_exceptions=True)
            return [result for result in results if isinstance(result, BaseException)]

    assert asyncio.run(scenario()) == []
