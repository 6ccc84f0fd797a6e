"""Attacks on login, performed against real servers (uvicorn, SQLite and PostgreSQL stores,
``hoist serve`` as a process): a flood of logins, concurrent and rotating-address
password guessing, a lockout of the owner, login CSRF, weak passwords, and tokens that
outlive a password change."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoist._net import free_port
from hoist.errors import UserInputError
from hoist.runs.store import RunStore
from hoist.server.accounts import UserStore
from hoist.server.accounts.passwords import HASH_WORKERS
from hoist.server.app import uvicorn_options
from hoist.settings import Settings
from tests.conftest import EXAMPLES, HOIST
from tests.server.conftest import (
    ADMIN_PASSWORD,
    LiveServer,
    serve,
    server_settings,
    wait_served,
)
from tests.waiting import wait_until

API = "/api/v1"
LOGIN = f"{API}/auth/login"
ARGON2_MIB = 64  # what one Argon2id hash takes with argon2-cffi's default parameters


def _proc_status(field: str) -> int:
    """A ``/proc/self/status`` value in MiB (``VmRSS``, ``VmHWM``)."""
    text = Path("/proc/self/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    assert found, field
    return int(found.group(1)) // 1024


def _fire(
    url: str, count: int, body: Callable[[int], dict[str, str]], headers: Callable[[int], Any]
) -> tuple[list[Future[httpx.Response]], ThreadPoolExecutor, httpx.Client]:
    """Start ``count`` logins at once (threads released together by a barrier)."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    http = httpx.Client(base_url=url, timeout=600, limits=limits)
    barrier = threading.Barrier(count)

    def one(n: int) -> httpx.Response:
        barrier.wait()
        return http.post(LOGIN, json=body(n), headers=headers(n))

    pool = ThreadPoolExecutor(count)
    return [pool.submit(one, n) for n in range(count)], pool, http


def _statuses(futures: list[Future[httpx.Response]]) -> Counter[int]:
    return Counter(f.result().status_code for f in futures)


def _stranger(n: int) -> dict[str, str]:
    return {"username": f"nobody-{n}", "password": f"guess-{n}"}


def _forwarded(n: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"198.51.{n // 250}.{n % 250 + 1}"}


@pytest.fixture
def behind_proxy(hoist_home: Path) -> Iterator[LiveServer]:
    """A server that believes X-Forwarded-For from loopback (its reverse proxy), so one
    test client can speak as many clients."""
    settings = server_settings(hoist_home, trusted_proxies=("127.0.0.1",))
    with serve(settings) as live:
        yield live


# ---------------------------------------------------------------------------- a login flood
def test_a_login_flood_is_refused_beyond_the_hashing_queue_and_readers_still_get_in(
    behind_proxy: LiveServer,
) -> None:
    server = behind_proxy
    pool = server.state.users.hashing
    viewer = server.http(server.token("viewer"))  # made before the pool is busy
    release = threading.Event()
    holders = [threading.Thread(target=pool.run, args=(release.wait,)) for _ in range(2)]
    for holder in holders:  # hold both workers, as two slow hashes would
        holder.start()
    wait_until(lambda: pool.admitted == 2, what="both hashing workers to be held")
    flood = 40  # from 40 addresses, so that no per-client limit interferes
    futures, threads, http = _fire(server.url, flood, _stranger, _forwarded)
    try:
        refused = flood - (pool.limit - 2)
        wait_until(lambda: sum(f.done() for f in futures) >= refused, timeout=120,
                   what=f"{refused} logins to be refused")  # fmt: skip
        done = [f.result() for f in futures if f.done()]
        assert {r.status_code for r in done} == {503}  # refused while the queue is full
        assert all(int(r.headers["retry-after"]) >= 1 for r in done)
        assert "busy" in done[0].json()["detail"]
        assert pool.admitted == pool.limit  # the rest wait in the queue, no more
        # While the flood is queued, a reader is served: logins hold no more threads
        # than the queue allows.
        assert viewer.get(f"{API}/runs").status_code == 200
        assert sum(f.done() for f in futures) == refused
    finally:
        release.set()
        statuses = _statuses(futures)
        threads.shutdown()
        http.close()
    assert statuses == {503: refused, 401: pool.limit - 2}


def test_a_login_flood_keeps_memory_bounded(behind_proxy: LiveServer) -> None:
    server = behind_proxy
    server.state.users.authenticate("nobody", "warm-up")  # the dummy hash, made once
    Path("/proc/self/clear_refs").write_text("5")  # reset this process's peak RSS
    baseline = _proc_status("VmRSS")
    futures, threads, http = _fire(server.url, 40, _stranger, _forwarded)
    try:
        statuses = _statuses(futures)
    finally:
        threads.shutdown()
        http.close()
    peak = _proc_status("VmHWM") - baseline
    assert set(statuses) <= {401, 503} and statuses[401] >= 1, statuses
    # Unbounded, 40 hashes at once took ~2.4 GiB; the pool allows HASH_WORKERS at a time.
    bound = (HASH_WORKERS + 2) * ARGON2_MIB
    assert peak < bound, f"peak RSS grew by {peak} MiB during the flood (bound {bound} MiB)"


# ---------------------------------------------------------------------------- guessing
def test_concurrent_wrong_passwords_count_as_tries_on_two_servers(
    store_url: str, tmp_path: Path
) -> None:
    shared = {"database_url": store_url, "secret_key": "k" * 48}
    with (
        serve(server_settings(tmp_path / "a", **shared)) as one,
        serve(server_settings(tmp_path / "b", **shared)) as two,
    ):
        free = one.state.users.throttle.client_policy.free
        wrong = {"username": "admin", "password": "not-the-password"}
        half = [one.url, two.url]
        futures: list[Future[httpx.Response]] = []
        closers = []
        for url in half:  # 2 x 15 at once, split across the servers
            fired, threads, http = _fire(url, 15, lambda n: wrong, lambda n: {})
            futures += fired
            closers.append((threads, http))
        try:
            statuses = _statuses(futures)
        finally:
            for threads, http in closers:
                threads.shutdown()
                http.close()
        assert set(statuses) <= {401, 429, 503}, statuses
        assert statuses[401] <= free, statuses  # the rest were refused before any check
        assert one.state.users.throttle.failures(client="127.0.0.1") <= free
        right = {"username": "admin", "password": ADMIN_PASSWORD}
        with httpx.Client(base_url=two.url) as http:
            assert http.post(LOGIN, json=right).status_code == 429  # slowed down, for now


def test_rotating_x_forwarded_for_from_loopback_does_not_reset_the_limit(
    hoist_home: Path,
) -> None:
    port = free_port()
    env = {**os.environ, "HOIST_HOME": str(hoist_home), "HOIST_SERVER_PORT": str(port),
           "HOIST_ADMIN_PASSWORD": ADMIN_PASSWORD}  # fmt: skip
    for name in ("HOIST_TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS", "HOIST_DATABASE_URL"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [*HOIST, "serve", "--plugins", str(EXAMPLES), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_served(proc, f"http://127.0.0.1:{port}", timeout=120)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            wrong = {"username": "admin", "password": "not-the-password"}
            statuses = Counter(
                http.post(LOGIN, json=wrong, headers=_forwarded(n)).status_code for n in range(12)
            )
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert set(statuses) == {401, 429}, statuses  # the forged addresses did not help
    store = RunStore(f"sqlite:///{hoist_home / 'hoist.db'}")
    throttle = UserStore(store.engine).throttle
    assert throttle.failures(client="127.0.0.1") == statuses[401]  # counted by the peer
    assert throttle.failures(client="198.51.0.1") == 0
    store.close()


def test_the_owner_still_logs_in_after_an_attack_from_another_client(
    behind_proxy: LiveServer,
) -> None:
    server = behind_proxy
    now = [1_000_000.0]
    server.state.users.clock = lambda: now[0]  # the throttle's clock, advanced by hand
    attacker = server.http(headers={"X-Forwarded-For": "203.0.113.9"})
    wrong = {"username": "admin", "password": "not-the-password"}
    free = server.state.users.throttle.client_policy.free
    assert [attacker.post(LOGIN, json=wrong).status_code for _ in range(free)] == [401] * free
    waits = []
    for _ in range(3):
        refused = attacker.post(LOGIN, json=wrong)
        assert refused.status_code == 429
        waits.append(int(refused.headers["retry-after"]))
        now[0] += waits[-1]
        assert attacker.post(LOGIN, json=wrong).status_code == 401  # one more try, then wait
    assert waits == [1, 2, 4]  # doubling per failure
    owner = server.http(headers={"X-Forwarded-For": "192.0.2.44"})
    right = {"username": "admin", "password": ADMIN_PASSWORD}
    assert owner.post(LOGIN, json=right).status_code == 200  # not locked out
    assert owner.get(f"{API}/auth/me").json()["user"]["username"] == "admin"
    assert attacker.post(LOGIN, json=right).status_code == 429  # the attacker still waits


# ---------------------------------------------------------------------------- login CSRF
def _form(http: httpx.Client) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text)
    assert found, "no token on the login form"
    return found.group(1)


def test_the_login_form_refuses_a_post_from_another_site(server: LiveServer) -> None:
    creds = {"username": "admin", "password": ADMIN_PASSWORD, "next": "/runs"}
    victim = server.http()
    # Another site's page posts the attacker's credentials into the victim's browser:
    # it has neither the victim's pre-session cookie nor a token signed for it.
    for forged in ({}, {"csrf_token": "forged"}):
        response = victim.post("/login", data={**creds, **forged})
        assert response.status_code == 403, forged
        assert "did not come from this site" in response.text
        assert "hoist_session" not in response.headers.get("set-cookie", "")
    attacker = server.http()
    stolen = _form(attacker)  # a token the attacker got with their own cookie
    response = victim.post("/login", data={**creds, "csrf_token": stolen})
    assert response.status_code == 403
    victim.cookies.clear()
    _form(victim)  # the victim's own cookie, with the attacker's token: still refused
    assert victim.post("/login", data={**creds, "csrf_token": stolen}).status_code == 403
    assert victim.get(f"{API}/auth/me").status_code == 401
    fresh = server.http()  # the real form, from this site
    response = fresh.post("/login", data={**creds, "csrf_token": _form(fresh)})
    assert response.status_code == 303 and response.headers["location"] == "/runs"
    assert fresh.get(f"{API}/auth/me").status_code == 200


# ---------------------------------------------------------------------------- passwords
@pytest.mark.parametrize("weak", ["12345678", "password", "iloveyou1", "dave1234"])
def test_weak_passwords_are_refused_by_the_api(server: LiveServer, weak: str) -> None:
    admin = server.http(server.token("admin"))
    response = admin.post(f"{API}/users", json={"username": "dave", "password": weak})
    assert response.status_code == 422, response.text
    assert list(response.json()["errors"]) == ["password"]
    created = admin.post(f"{API}/users", json={"username": "dave", "password": "rye-field-lamp"})
    assert created.status_code == 201
    user_id = created.json()["user"]["id"]
    response = admin.patch(f"{API}/users/{user_id}", json={"password": weak})
    assert response.status_code == 422 and "password" in response.json()["errors"]


def test_a_long_password_is_rated_not_a_500(server: LiveServer) -> None:
    admin = server.http(server.token("admin"))
    long_one = "copper-kettle-" * 70  # 980 characters: zxcvbn itself takes at most 72
    created = admin.post(f"{API}/users", json={"username": "gil", "password": long_one})
    assert created.status_code == 201, created.text
    repeated = admin.post(f"{API}/users", json={"username": "hal", "password": "a" * 1000})
    assert repeated.status_code == 422 and "password" in repeated.json()["errors"]


def test_weak_passwords_are_refused_by_the_cli(hoist: Any) -> None:
    weak = hoist("users", "create", "erin", "--password", "password")
    assert weak.code == 2 and "password" in weak.err and "common" in weak.err
    assert hoist("users", "list", "--json").json() == []
    assert hoist("users", "create", "erin", "--password", "copper-kettle-song").code == 0


def test_a_weak_bootstrap_admin_password_stops_hoist_serve(
    hoist_proc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOIST_ADMIN_PASSWORD", "12345678")
    result = hoist_proc("serve", "--port", "0", timeout=120)
    assert result.code == 2, result.err
    assert "HOIST_ADMIN_PASSWORD" in result.err and "common password" in result.err


def test_a_password_change_revokes_the_accounts_api_tokens(server: LiveServer) -> None:
    admin = server.http(server.token("admin"))
    made = admin.post(f"{API}/users", json={"username": "fay", "password": "fay-old-lantern"})
    user_id = made.json()["user"]["id"]
    token = server.state.credentials.create_token(user_id, "laptop")[1]
    fay = server.http(token)
    assert fay.get(f"{API}/auth/me").status_code == 200
    changed = admin.patch(f"{API}/users/{user_id}", json={"password": "fay-new-harbour"})
    assert changed.status_code == 200
    assert fay.get(f"{API}/auth/me").status_code == 401  # leaked with the old one: dead


def test_trusted_proxies_come_from_the_environment_and_are_checked() -> None:
    settings = Settings.from_env({"HOIST_TRUSTED_PROXIES": "10.0.0.1, 10.1.0.0/16"})
    assert settings.trusted_proxies == ("10.0.0.1", "10.1.0.0/16")
    assert uvicorn_options(settings)["forwarded_allow_ips"] == ["10.0.0.1", "10.1.0.0/16"]
    assert uvicorn_options(Settings.from_env({}))["proxy_headers"] is False  # none by default
    with pytest.raises(UserInputError, match="HOIST_TRUSTED_PROXIES"):
        Settings.from_env({"HOIST_TRUSTED_PROXIES": "10.0.0.1,proxy.example"})
