"""Malformed HTTP requests to ``/meshlab/api/``: each one a 4xx with a one-line reason, promptly.

About 150 requests generated from the ways a body, a parameter, an address or a
method can be wrong (bad JSON, 100,000-deep nesting, duplicate keys, NaN, lone
surrogates and NUL characters, wrong types, oversize bodies, bad SQL, invalid
UTF-8 in the URL, no token). None may answer 500 or hang: each is awaited with
a generous "does not hang" bound, and the server still answers afterwards.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from test_server import build_mesh

import meshlab

pytest_plugins = ("pytest_jupyter.jupyter_server",)

HANG_BOUND = 120.0  # seconds: a request not answered by then hangs (the machine is shared)


@pytest.fixture(scope="module")
def plain_mesh(tmp_path_factory) -> Path:
    return build_mesh(tmp_path_factory.mktemp("requests-mesh"))


@pytest.fixture
def jp_server_config(plain_mesh):
    options = {"mesh": str(plain_mesh), "reload_interval": 0.0, "query_workers": 2}
    return {"ServerApp": {"jpserver_extensions": {"meshlab": True}}, "MeshlabApp": options}


def _query(body: bytes | str, *codes: int) -> tuple:
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return ("POST", "query", raw, codes or (400,))


def _sql(sql: str, *codes: int, **extra) -> tuple:
    return _query(json.dumps({"sql": sql, **extra}), *codes)


BAD_JSON = [
    b"not json",
    b"{",
    b"}",
    b"[",
    b'{"sql": }',
    b"{'sql': 'SELECT 1'}",
    b'{"sql": "SELECT 1",}',
    b'{"sql": "SELECT 1"} trailing',
    b"\xff\xfe{}",
    b'{"sql": "\xff"}',
    b"\x00",
    b'{"sql": "SELECT\x00 1"}',
    b'{"sql": "SELECT\n1"}',
    b'{"sql": "SELECT 1"',
    b'{"sql": "\\x41"}',
    b'{"sql": "\\u12"}',
]
NOT_OBJECTS = [b"[]", b"1", b'"SELECT 1"', b"null", b"true", b'[{"sql": "SELECT 1"}]']
DEEP = [
    b"[" * 100_000,
    b'{"a":' * 100_000,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"sql": "SELECT 1", "params": {"x": ' + b"[" * 30 + b"1" + b"]" * 30 + b"}}",
    b'{"sql": "SELECT 1", "params": ' + b'{"a": ' * 20 + b"1" + b"}" * 20 + b"}",
]
DUPLICATES = [
    b'{"sql": "SELECT 1", "sql": "SELECT 2"}',
    b'{"sql": "SELECT :a AS a", "params": {"a": 1, "a": 2}}',
    b'{"sql": "SELECT 1", "limit": 1, "limit": 2}',
    b'{"sql": "SELECT 1", "role": null, "role": "steward"}',
]
CONSTANTS = [
    b'{"sql": "SELECT 1", "limit": NaN}',
    b'{"sql": "SELECT 1", "limit": Infinity}',
    b'{"sql": "SELECT :a AS a", "params": {"a": -Infinity}}',
    b'{"sql": "SELECT :a AS a", "params": {"a": NaN}}',
]
BAD_TEXT = [
    '{"sql": "SELECT \\ud800 AS x"}',
    '{"sql": "SELECT \\udfff"}',
    '{"sql": "SELECT 1 AS \\ud83d"}',
    '{"sql": "SELECT :a AS a", "params": {"a": "\\ud800"}}',
    '{"sql": "SELECT :a AS a", "params": {"a": ["ok", "\\udc00"]}}',
    '{"sql": "SELECT 1", "params": {"\\ud800": 1}}',
    '{"sql": "SELECT 1", "role": "\\ud800"}',
    '{"sql": "SELECT 1\\u0000"}',
    '{"sql": "\\u0000"}',
    '{"sql": "SELECT \\u0000 FROM plays.play_events"}',
    '{"sql": "SELECT :a AS a", "params": {"a": "x\\u0000y"}}',
    '{"sql": "SELECT 1", "params": {"a\\u0000": 1}}',
    '{"sql": "SELECT 1", "role": "analyst\\u0000"}',
]
WRONG_TYPES = [
    {"sql": 1},
    {"sql": 1.5},
    {"sql": True},
    {"sql": None},
    {"sql": []},
    {"sql": {}},
    {"sql": ["SELECT 1"]},
    {"sql": ""},
    {"sql": "   \n\t"},
    {},
    {"params": {}},
    {"sql": "SELECT 1", "limit": -1},
    {"sql": "SELECT 1", "limit": 1.5},
    {"sql": "SELECT 1", "limit": "10"},
    {"sql": "SELECT 1", "limit": True},
    {"sql": "SELECT 1", "limit": 10**8},
    {"sql": "SELECT 1", "limit": 1e3},
    {"sql": "SELECT 1", "limit": []},
    {"sql": "SELECT 1", "limit": {}},
    {"sql": "SELECT 1", "params": []},
    {"sql": "SELECT 1", "params": "x"},
    {"sql": "SELECT 1", "params": 1},
    {"sql": "SELECT 1", "params": True},
    {"sql": "SELECT :a AS a", "params": {"a": {"n": 1}}},
    {"sql": "SELECT :a AS a", "params": {"a": [[1]]}},
    {"sql": "SELECT :a AS a", "params": {"a": [{"n": 1}]}},
    {"sql": "SELECT 1", "role": 1},
    {"sql": "SELECT 1", "role": []},
    {"sql": "SELECT 1", "role": {}},
    {"sql": "SELECT 1", "role": True},
    {"sql": "SELECT 1", "sqll": "SELECT 2"},
    {"SQL": "SELECT 1"},
    {"sql": "SELECT 1", "timeout_ms": "soon"},
]
BAD_SQL = [
    "SELEC 1",
    "SELECT 'unclosed",
    'SELECT "unclosed',
    "SELECT 1 FROM",
    "SELECT * FROM",
    "DROP TABLE plays.play_events",
    "DELETE FROM plays.play_events",
    "INSERT INTO plays.play_events VALUES (1, 'DE', DATE '2026-01-01')",
    "UPDATE plays.play_events SET country = 'X'",
    "CREATE TABLE x (a INT)",
    "SELECT 1; SELECT 2",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('/etc/passwd')",
    "COPY plays.play_events TO '/tmp/x.csv'",
    "ATTACH '/tmp/x.db' AS x",
    "PRAGMA table_info('x')",
    "SELECT :missing AS x",
    "SELECT nope FROM plays.play_events",
    "SELECT * FROM plays.play_events WHERE",
    "))))",
    "/* only a comment */",
    "-- only a comment",
    "\ufeffSELECT 1 FROM nowhere.at_all",
]
TOO_LARGE = [
    _query(json.dumps({"sql": "SELECT 1 AS x -- " + "x" * (2 << 20)}), 413),
    _query(b"[" + b"1," * (1 << 20) + b"1]", 413),
    _sql("SELECT 1 AS x -- " + "y" * 300_000),
]

ADDRESSES_400 = [
    "plays",
    "plays..play_events",
    "a.b.c.d",
    ".",
    "..",
    "plays.play%20events",
    "%00.x",
    "plays.%00",
    "plays.play_events%00",
    "%22plays.x%22.y",
    "plays.x%0Ay",
    "plays.%3Cscript%3E",
    "%E2%80%AE.x",
]
ADDRESSES_404 = ["plays.nope", "nowhere.at_all", "x" * 3000 + ".y", "%22plays%22.%22nope%22"]
URL_400 = ["%ff.x", "plays.%ed%a0%80", "%c0%ae.x"]

GET_PARAMS = [
    ("datasets?limit=ten", (400,)),
    ("datasets?limit=-1", (400,)),
    ("datasets?limit=1.5", (400,)),
    ("datasets?limit=0x10", (400,)),
    ("datasets?limit=1e3", (400,)),
    ("datasets?offset=x", (400,)),
    ("datasets?offset=-5", (400,)),
    ("datasets?offset=1.0", (400,)),
    # Tornado turns control characters in arguments into spaces: these are well-formed once decoded.
    ("datasets?q=%00", (200,)),
    ("datasets?q=plays%00", (200,)),
    ("datasets?q=%ff", (400,)),
    ("datasets?q=%ed%a0%80", (400,)),
    ("datasets?role=%00", (200,)),
    ("datasets?limit=%00", (200,)),
    ("datasets/plays.play_events/sample?limit=0", (400,)),
    ("datasets/plays.play_events/sample?limit=1001", (400,)),
    ("datasets/plays.play_events/sample?limit=abc", (400,)),
    ("datasets/plays.play_events/sample?limit=-3", (400,)),
    ("datasets/plays.play_events/sample?limit=%00", (200,)),
    ("datasets/plays.play_events/sample?limit=" + "9" * 5000, (400,)),
    ("datasets/plays.play_events/sample?limit=%ff", (400,)),
]
METHODS = [
    ("POST", "datasets", b"{}", (405,)),
    ("PUT", "status", b"{}", (405,)),
    ("DELETE", "query", None, (405,)),
    ("GET", "query", None, (405,)),
    ("PATCH", "datasets/plays.play_events", b"{}", (405,)),
    ("POST", "datasets/plays.play_events/sample", b"{}", (405,)),
    ("PUT", "query", b'{"sql": "SELECT 1"}', (405,)),
]
ROUTES = ["status", "datasets", "datasets/plays.play_events", "datasets/plays.play_events/sample", "query"]


def cases() -> list[tuple]:
    """(method, path, body, accepted statuses, with the token?) of every malformed request."""
    found = [_query(b) for b in BAD_JSON + NOT_OBJECTS + DEEP + DUPLICATES + CONSTANTS]
    found += [_query(text) for text in BAD_TEXT]
    found += [_query(json.dumps(body)) for body in WRONG_TYPES]
    found += [_sql(sql, 400, 404) for sql in BAD_SQL]
    found += TOO_LARGE
    for address in ADDRESSES_400 + URL_400:
        found += [("GET", f"datasets/{address}", None, (400,)), ("GET", f"datasets/{address}/sample", None, (400,))]
    for address in ADDRESSES_404:
        found += [("GET", f"datasets/{address}", None, (404,)), ("GET", f"datasets/{address}/sample", None, (404,))]
    found += [("GET", path, None, codes) for path, codes in GET_PARAMS]
    found += METHODS
    tokened = [(*case, True) for case in found]
    tokenless = [("POST" if r == "query" else "GET", r, b"{}" if r == "query" else None, (403,), False) for r in ROUTES]
    return tokened + tokenless


CASES = cases()


def test_there_are_enough_cases():
    assert sum(400 <= min(codes) < 500 for *_, codes, _ in CASES) >= 130


async def test_every_malformed_request_is_refused_with_one_line(http_server_client, jp_base_url, jp_auth_header):
    """One server answers all of them (a server per case would start 150 servers)."""
    problems = []
    for method, path, body, codes, tokened in CASES:
        headers = {**jp_auth_header, "Content-Type": "application/json"} if tokened else {"Authorization": ""}
        response = await asyncio.wait_for(
            http_server_client.fetch(
                f"{jp_base_url}meshlab/api/{path}",
                method=method,
                body=body,
                headers=headers,
                raise_error=False,
                request_timeout=HANG_BOUND,
                allow_nonstandard_methods=True,
                follow_redirects=False,
            ),
            HANG_BOUND + 10,
        )
        case = f"{method} {path[:60]} {(body or b'')[:60]!r}"
        if response.code not in codes:
            problems.append(f"{case}: {response.code} {(response.body or b'')[:200]!r}")
            continue
        if tokened and response.code >= 400:
            answer = json.loads(response.body)
            message = answer.get("message") or answer.get("reason") or ""
            if not message or "\n" in message or "Traceback" in message:
                problems.append(f"{case}: not a one-line reason: {answer}")
    assert not problems, "\n".join(problems)


async def test_the_server_still_answers_after_the_malformed_requests(jp_fetch):
    for body in (b"[" * 100_000, '{"sql": "SELECT 1 \\u0000"}', '{"sql": "SELECT \\ud800"}'):
        await jp_fetch("meshlab", "api", "query", method="POST", body=body, raise_error=False)
    response = await jp_fetch("meshlab", "api", "query", method="POST", body=json.dumps({"sql": "SELECT 41 + 1 AS x"}))
    assert response.code == 200 and response.headers["Content-Type"] == "application/vnd.apache.arrow.stream"


async def test_twenty_clients_run_twenty_five_queries_each_without_error(jp_fetch, jp_serverapp, http_server_port):
    """``meshlab.connect_server`` from 20 threads at once: every query answered, none refused."""
    url = f"http://127.0.0.1:{http_server_port[-1]}{jp_serverapp.base_url.rstrip('/')}"
    token = jp_serverapp.identity_provider.token
    results: list = []

    def client(n: int) -> None:
        remote = meshlab.connect_server(url, token=token)
        remote.timeout = HANG_BOUND
        for i in range(25):
            try:
                frame = remote.sql("SELECT count(*) + :i AS n FROM plays.play_events", params={"i": i}).df
                results.append(frame.item() == 4 + i)
            except Exception as error:  # noqa: BLE001 - counted below
                results.append(repr(error))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        await asyncio.sleep(0.05)
    assert len(results) == 500 and [r for r in results if r is not True] == []


def test_every_server_option_is_documented():
    """Each ``MeshlabApp`` option is in the Server mode section of docs/reliability.md."""
    from meshlab.jupyter.server.app import MeshlabApp

    docs = (Path(__file__).parent.parent / "docs" / "reliability.md").read_text()
    options = [name for name, trait in MeshlabApp.class_traits(config=True).items() if trait.this_class is MeshlabApp]
    assert "allowed_roots" in options
    assert [name for name in options if f"`MeshlabApp.{name}`" not in docs] == []
