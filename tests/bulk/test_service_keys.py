"""Keys from the custody service: one unwrap per worker process, whatever the row count."""

from __future__ import annotations

from pathlib import Path

import httpx
from click.testing import CliRunner

from guomi.bulk import Job, clear_cache, new_wrapped_keys
from guomi.cli import cli
from guomi.fields import Field, ServiceKeyring
from tests.bulk.conftest import read_csv
from tests.client.asgi import SyncASGITransport, make_app, running


class CountingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return self.inner.handle_request(request)

    def calls(self, word: str) -> int:
        return sum(word in p for p in self.paths)


def _big_csv(path: Path, n: int) -> Path:
    with open(path, "w") as f:
        f.write("id,email\n")
        f.writelines(f"{i},user{i}@bank.cn\n" for i in range(n))
    return path


def test_unwrap_once_per_worker_process(tmp_path: Path) -> None:
    with running(make_app()) as (root, init):
        root.create_key("bulk")
        base = root._http._transport
        counting = CountingTransport(base)
        token = init.root_token
        document = new_wrapped_keys("bulk", addr="http://guomi.test", token=token, transport=base)
        src = _big_csv(tmp_path / "big.csv", 100_000)
        job_args = {
            "kms": "bulk",
            "wrapped_keys": document,
            "addr": "http://guomi.test",
            "token": token,
            "transport": counting,
        }
        summary = Job(src, tmp_path / "enc.csv", columns=["email"], workers=2, **job_args).run()
        assert summary.rows == 100_000
        workers_processes, key_versions = 1, 1  # the embedded engine is one process
        assert 1 <= counting.calls("/decrypt/") <= workers_processes * key_versions
        # a new keyring version (rotation rewraps the document; rows untouched), then rekey
        ring = ServiceKeyring(root.aead("bulk"), document)
        rotated = ring.rotate()
        clear_cache()
        counting.paths.clear()
        job_args["wrapped_keys"] = rotated
        rekeyed = Job(
            tmp_path / "enc.csv",
            tmp_path / "rk.csv",
            columns=["email"],
            operation="rekey",
            workers=2,
            **job_args,
        ).run()
        assert rekeyed.columns["email"].processed == 100_000 and len(rekeyed.key_versions) == 2
        assert 1 <= counting.calls("/decrypt/") <= workers_processes * len(rekeyed.key_versions)
        field = Field("dataset", "email", ServiceKeyring(root.aead("bulk"), rotated))
        assert field.decrypt(read_csv(tmp_path / "rk.csv")[0]["email"]) == "user0@bank.cn"


def test_cli_kms_creates_wrapped_keys(tmp_path: Path) -> None:
    with running(make_app()) as (root, init):
        root.create_key("cards")
        transport: SyncASGITransport = root._http._transport

        class Obj:
            addr, token, json = "http://guomi.test", init.root_token, False

        Obj.transport = transport
        src = _big_csv(tmp_path / "in.csv", 500)
        keys = tmp_path / "cards.keys.json"
        args = [
            "table",
            "encrypt",
            str(src),
            str(tmp_path / "enc.csv"),
            "-c",
            "email",
            "--kms",
            "cards",
            "--wrapped-keys",
            str(keys),
        ]
        result = CliRunner().invoke(
            cli, ["--addr", "http://guomi.test", "--token", init.root_token, *args], obj=Obj()
        )
        assert result.exit_code == 0, result.output
        assert keys.exists() and (keys.stat().st_mode & 0o777) == 0o600
        args = [
            "table",
            "decrypt",
            str(tmp_path / "enc.csv"),
            str(tmp_path / "dec.csv"),
            "-c",
            "email",
            "--kms",
            "cards",
            "--wrapped-keys",
            str(keys),
        ]
        result = CliRunner().invoke(
            cli, ["--addr", "http://guomi.test", "--token", init.root_token, *args], obj=Obj()
        )
        assert result.exit_code == 0, result.output
        assert read_csv(tmp_path / "dec.csv") == read_csv(src)
