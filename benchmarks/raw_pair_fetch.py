"""The raw baseline of benchmarks/pair_check_bench.py for Shopify and NetSuite, as a process
of its own: send the very requests a check sends and parse each answer, the way any client
of these APIs must, and nothing else (no validation, no assembly, no reconciliation, no
cache, no output).

    python benchmarks/raw_pair_fetch.py PLAN.json

PLAN (written by the bench): Shopify's GraphQL bodies in the order the check sent them,
each with the cost Shopify asked for it; NetSuite's SuiteQL bodies and query strings, and
what its token request needs (a JWT assertion signed here, PS256, as NetSuite requires).
Shopify is paced as its docs ask (docs/vendors/shopify.md §5: send a query when the bucket,
as the last answer's `throttleStatus` left it and refilled since, holds its cost), two at a
time; NetSuite two at a time (the account's concurrency limit). Imports the standard
library, httpx and cryptography (to sign the assertion), as a lean client would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
import uuid

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def _part(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assertion(plan: dict) -> str:
    key = serialization.load_pem_private_key(plan["private_key"].encode(), password=None)
    now = int(time.time())
    header = {"alg": "PS256", "typ": "JWT", "kid": plan["certificate_id"]}
    claims = {"iss": plan["client_id"], "sub": plan["client_id"], "aud": plan["token_url"],
              "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), "scope": plan["scope"]}
    signing_input = f"{_part(header)}.{_part(claims)}".encode()
    signature = key.sign(signing_input, padding.PSS(  # type: ignore[union-attr,call-arg]
        mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256().digest_size),
        hashes.SHA256())
    return f"{signing_input.decode()}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


class Bucket:
    """Shopify's bucket as the last answer left it (the unused part of each query already
    given back, §5), less what is asked by queries still in flight, refilled at its rate."""

    def __init__(self) -> None:
        self.available, self.rate, self.at = 1000.0, 50.0, time.monotonic()
        self.in_flight: list[float] = []
        self.lock = asyncio.Lock()

    def now(self) -> float:
        return self.available + self.rate * (time.monotonic() - self.at)

    async def take(self, cost: float) -> None:
        async with self.lock:
            while self.now() < cost:  # a short look at a time: an answer may refill it
                await asyncio.sleep(min(0.02, max(0.002, (cost - self.now()) / self.rate)))
            self.available, self.at = self.now() - cost, time.monotonic()
            self.in_flight.append(cost)

    def said(self, cost: float, body: dict) -> None:
        self.in_flight.remove(cost)
        status = ((body.get("extensions") or {}).get("cost") or {}).get("throttleStatus")
        if status:
            self.rate = float(status["restoreRate"])
            self.available = float(status["currentlyAvailable"]) - sum(self.in_flight)
            self.at = time.monotonic()


async def fetch(plan: dict) -> int:
    sent = 0
    async with httpx.AsyncClient(timeout=120) as client:

        async def shopify() -> None:
            nonlocal sent
            bucket, gate = Bucket(), asyncio.Semaphore(2)
            headers = {"X-Shopify-Access-Token": plan["access_token"],
                       "Content-Type": "application/json"}

            async def one(body: str, cost: float) -> None:
                nonlocal sent
                async with gate:
                    await bucket.take(cost)
                    answer = await client.post(plan["shopify_url"], content=body,
                                               headers=headers)
                    sent += 1
                    bucket.said(cost, json.loads(answer.content))

            await asyncio.gather(*(one(body, cost) for body, cost in plan["shopify"]))

        async def netsuite() -> None:
            nonlocal sent
            form = {"grant_type": "client_credentials",
                    "client_assertion_type":
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    "client_assertion": assertion(plan)}
            token = (await client.post(plan["token_url"], data=form)).json()["access_token"]
            sent += 1
            headers = {"Authorization": f"Bearer {token}", "Prefer": "transient",
                       "Content-Type": "application/json"}
            gate = asyncio.Semaphore(2)

            async def one(url: str, body: str) -> None:
                nonlocal sent
                async with gate:
                    answer = await client.post(url, content=body, headers=headers)
                    sent += 1
                    json.loads(answer.content)

            await asyncio.gather(*(one(url, body) for url, body in plan["netsuite"]))

        await asyncio.gather(shopify(), netsuite())
    return sent


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        plan = json.load(handle)
    print(asyncio.run(fetch(plan)))


if __name__ == "__main__":
    main()
