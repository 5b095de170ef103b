"""A small keep-alive HTTP/1.1 load generator on asyncio: cheap enough per request that
the client does not eat the cores the server is being measured on."""

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else 0

    def summary(self) -> dict[str, object]:
        return {
            "requests": len(self.latencies),
            "seconds": round(self.elapsed, 2),
            "req_per_s": round(self.rate, 1),
            "p50_ms": round(self.percentile(50), 1),
            "p95_ms": round(self.percentile(95), 1),
            "p99_ms": round(self.percentile(99), 1),
            "statuses": dict(self.statuses),
        }


def request(method: str, path: str, token: str, body: bytes = b"") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\n"
        f"Accept: application/json\r\n"
    )
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def _connection(
    host: str, port: int, make: Callable[[], bytes], result: Result, stop_at: float
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            writer.write(make())
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] += 1
    finally:
        writer.close()


async def run(
    host: str, port: int, make: Callable[[], bytes], *, connections: int, seconds: float
) -> Result:
    result = Result()
    started = time.monotonic()
    stop_at = started + seconds
    await asyncio.gather(
        *(_connection(host, port, make, result, stop_at) for _ in range(connections))
    )
    result.elapsed = time.monotonic() - started
    return result


def order_request(tokens: list[str], symbols: list[str]) -> Callable[[], bytes]:
    def make() -> bytes:
        order = {"symbol": random.choice(symbols), "side": "buy", "type": "market", "quantity": "1"}
        body = json.dumps(order).encode()
        return request("POST", "/api/v1/orders", random.choice(tokens), body)

    return make


def read_request(tokens: list[str], symbols: list[str]) -> Callable[[], bytes]:
    def make() -> bytes:
        token = random.choice(tokens)
        if random.random() < 0.5:
            return request("GET", "/api/v1/orders?page_size=20", token)
        return request("GET", f"/api/v1/stocks/{random.choice(symbols)}", token)

    return make
