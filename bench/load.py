"""A small keep-alive HTTP/1.1 load generator on asyncio: cheap enough per request that
the client does not eat the cores the server is being measured on.

Each connection sends the requests of its own plan (an iterator of labelled requests)
one after another until the plan ends or time is up; latencies are kept per label.
"""

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Request = tuple[str, bytes]  # (label, the request's bytes)
Plan = Callable[[], Iterator[Request]]  # one iterator per connection


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else 0


@dataclass
class Result:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def count(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 400)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def summary(self) -> dict[str, object]:
        every = [value for values in self.latencies.values() for value in values]
        return {
            "requests": self.count,
            "seconds": round(self.elapsed, 2),
            "req_per_s": round(self.rate, 1),
            "errors": self.errors,
            "p50_ms": round(percentile(every, 50), 1),
            "p95_ms": round(percentile(every, 95), 1),
            "p99_ms": round(percentile(every, 99), 1),
            "statuses": dict(self.statuses),
            "endpoints": {
                label: {
                    "requests": len(values),
                    "p50_ms": round(percentile(values, 50), 1),
                    "p95_ms": round(percentile(values, 95), 1),
                    "p99_ms": round(percentile(values, 99), 1),
                }
                for label, values in sorted(self.latencies.items())
            },
        }


def request(method: str, path: str, token: str | None, body: object = None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
    if token:
        head += f"Authorization: Token {token}\r\n"
    data = b"" if body is None else json.dumps(body).encode()
    if data:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + "\r\n").encode() + data


async def _connection(
    host: str, port: int, plan: Iterator[Request], result: Result, stop_at: float
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for label, data in plan:
            if time.monotonic() >= stop_at:
                break
            started = time.perf_counter()
            writer.write(data)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            result.latencies[label].append(time.perf_counter() - started)
            result.statuses[status] += 1
    finally:
        writer.close()


async def _run(host: str, port: int, plan: Plan, connections: int, seconds: float) -> Result:
    result = Result()
    started = time.monotonic()
    stop_at = started + seconds
    await asyncio.gather(
        *(_connection(host, port, plan(), result, stop_at) for _ in range(connections))
    )
    result.elapsed = time.monotonic() - started
    return result


def run(
    host: str, port: int, plan: Plan, *, connections: int, seconds: float = float("inf")
) -> Result:
    """Run `connections` connections, each through its own `plan()`, for at most `seconds`."""
    return asyncio.run(_run(host, port, plan, connections, seconds))


# --- plans ----------------------------------------------------------------------------


def market_buys(tokens: list[str], symbols: list[str]) -> Plan:
    """Market buys of one share, random customer, random stock, forever."""

    def plan() -> Iterator[Request]:
        while True:
            order = {"symbol": random.choice(symbols), "side": "buy", "quantity": "1"}
            yield "POST /orders", request("POST", "/api/v1/orders", random.choice(tokens), order)

    return plan


def reads(tokens: list[str], symbols: list[str]) -> Plan:
    """Order lists and quotes, half and half, random customer, forever."""

    def plan() -> Iterator[Request]:
        while True:
            token = random.choice(tokens)
            if random.random() < 0.5:
                yield "GET /orders", request("GET", "/api/v1/orders?page_size=20", token)
            else:
                symbol = random.choice(symbols)
                yield "GET /stocks/{symbol}", request("GET", f"/api/v1/stocks/{symbol}", token)

    return plan


def jmx(token: str, user_id: str, loops: int | None) -> Plan:
    """The original system's JMeter stress plan, per thread: sell, buy, list orders, get the
    user; its body; every thread on one account. `loops=None`: until time is up."""
    body = {"user_id": user_id, "price": 110.123, "amount": 0.00123, "stock_symbol": "AAPL"}
    cycle = [
        ("POST orders:sell", request("POST", "/api/v1/orders:sell", token, body)),
        ("POST orders:buy", request("POST", "/api/v1/orders:buy", token, body)),
        ("GET /orders", request("GET", "/api/v1/orders", token)),
        ("GET /users/{id}", request("GET", f"/api/v1/users/{user_id}", token)),
    ]

    def plan() -> Iterator[Request]:
        done = 0
        while loops is None or done < loops:
            yield from cycle
            done += 1

    return plan


def account_reads(token: str, user_id: str) -> Plan:
    """The jmx plan's two reads of one account, alternately, forever."""
    cycle = [
        ("GET /orders", request("GET", "/api/v1/orders", token)),
        ("GET /users/{id}", request("GET", f"/api/v1/users/{user_id}", token)),
    ]

    def plan() -> Iterator[Request]:
        while True:
            yield from cycle

    return plan


def ceiling() -> Plan:
    """The cheapest JSON view the server has: what the server setup itself costs."""

    def plan() -> Iterator[Request]:
        while True:
            yield "GET /api/health", request("GET", "/api/health", None)

    return plan
