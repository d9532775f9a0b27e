"""``python -m guomi.demo`` (``make run``): the custody service, up and working, on this machine.

Layer: an application (beside ``guomi.cli``). It starts ``guomi server`` on the embedded
SQLite store under a data directory (``.guomi-data/`` by default) on 127.0.0.1, and:

* on the first start, initialises the service and writes the unseal shares and the root
  token to ``<data dir>/operator-init.json`` (mode 0600) with a loud note: in production
  each share goes to a different custodian and none is ever written next to the data;
* on later starts, unseals from that file;
* shows the service working through the SDK (``guomi.client``): create a key, encrypt,
  decrypt, rotate, rewrap, data key, sign and verify with SM2, HMAC-SM3;
* keeps serving until interrupted, printing the address, the token and a ``curl`` line.

Environment: ``GUOMI_DATA_DIR`` (default ``.guomi-data``), ``GUOMI_DEMO_LISTEN``
(default ``127.0.0.1:8200``; a free port is taken when that one is busy),
``GUOMI_DEMO_EXIT=1`` to stop after the demonstration instead of serving (used by tests).
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from guomi.api import HealthResponse
from guomi.client import Client
from guomi.exceptions import ConflictError, ServiceError

console = Console(highlight=False, soft_wrap=True)

SECRETS_FILE = "operator-init.json"
BOOTSTRAP_FILE = "bootstrap-token"
SHARES, THRESHOLD = 5, 3


def guomi_command() -> str:
    """How to run ``guomi`` from the current directory, as a person can paste it.

    ``make run`` does not activate the virtual environment, so plain ``guomi`` is usually
    not on the PATH: name the script beside this Python (``.venv/bin/guomi``), or fall back
    to ``python -m guomi.cli`` when there is no script.
    """
    script = Path(sys.executable).parent / "guomi"
    if not script.is_file():
        return f"{shlex.quote(sys.executable)} -m guomi.cli"
    on_path = shutil.which("guomi")
    if on_path and Path(on_path).resolve() == script.resolve():
        return "guomi"
    try:
        relative = script.relative_to(Path.cwd())
    except ValueError:
        return shlex.quote(str(script))
    return shlex.quote(str(relative))


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _pick_listen(wanted: str) -> str:
    host, _, port = wanted.rpartition(":")
    if _port_free(host, int(port)):
        return wanted
    with socket.socket() as s:
        s.bind((host, 0))
        free = s.getsockname()[1]
    console.print(f"[yellow]{wanted} is busy; using port {free}[/]")
    return f"{host}:{free}"


def start_server(listen: str, data_dir: Path) -> subprocess.Popen[bytes]:
    """``guomi server`` as a child process (so Ctrl-C here stops it cleanly)."""
    cmd = [sys.executable, "-m", "guomi.cli", "server", "--listen", listen, "--data-dir", str(data_dir)]
    # The init lock: the server writes its one-time bootstrap token here (0600) and this demo
    # presents it to sys/init (guomi server prints it on its console otherwise).
    cmd += ["--bootstrap-token-file", str(data_dir / BOOTSTRAP_FILE)]
    return subprocess.Popen(cmd)


def wait_ready(client: Client, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> HealthResponse:
    """Poll ``sys/health`` until the server answers (any status)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"guomi server exited with status {proc.returncode}")
        try:
            return client.health()
        except ServiceError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def init_or_unseal(client: Client, data_dir: Path) -> str:
    """Initialise a fresh service (saving its secrets) or unseal it from the saved file."""
    secrets_path = data_dir / SECRETS_FILE
    health = client.health()
    if not health.initialized:
        bootstrap = (data_dir / BOOTSTRAP_FILE).read_text("ascii").strip()
        with Client(client.address, bootstrap) as locked:
            result = locked.init(SHARES, THRESHOLD)
        fd = os.open(secrets_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(
                {
                    "WARNING": "DEMO ONLY. In production each unseal share goes to a different "
                    "custodian and the root token is revoked after setup; never store them "
                    "together, and never next to the data.",
                    "keys_base64": result.keys_base64,
                    "root_token": result.root_token,
                    "secret_threshold": THRESHOLD,
                },
                f,
                indent=2,
            )
        console.print(
            Panel(
                f"Initialised a new service. Its {SHARES} unseal shares (any {THRESHOLD} unseal it) "
                f"and the root token are in\n  {secrets_path}  (mode 0600)\n\n"
                "[bold]This is a demonstration.[/] In production, `guomi operator init` prints the "
                "shares once; each goes to a different custodian, nothing is written to disk, "
                "and the root token is revoked once the first policies and tokens exist.",
                title="[bold red]!! unseal shares and root token written to disk !![/]",
                border_style="red",
            ),
            soft_wrap=False,  # panels wrap; the long copy-paste lines must not
        )
    if not secrets_path.exists():
        raise SystemExit(
            f"{data_dir} holds a service initialised outside this demo (no {SECRETS_FILE}): "
            "start it with `guomi server --data-dir ...` and unseal it with `guomi operator unseal`, "
            "or point GUOMI_DATA_DIR at a fresh directory."
        )
    saved = json.loads(secrets_path.read_text())
    if client.health().sealed:
        for share in saved["keys_base64"][: saved.get("secret_threshold", THRESHOLD)]:
            status = client.unseal(share)
            if not status.sealed:
                break
        console.print("[green]Unsealed[/] with shares from the saved file.")
    token: str = saved["root_token"]
    return token


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"demo: {what} gave a wrong result")


def demonstrate(client: Client) -> None:
    """The tour: every operation through the SDK, printed as it goes."""
    name, signing, mac = "demo-orders", "demo-signing", "demo-mac"
    for key_name, key_type in ((name, "sm4-gcm"), (signing, "sm2-sign"), (mac, "hmac-sm3")):
        try:
            client.create_key(key_name, key_type)
            console.print(f"created key [bold]{key_name}[/] ({key_type})")
        except ConflictError:
            console.print(f"key [bold]{key_name}[/] exists ({key_type})")

    plaintext = b"4111 1111 1111 1111"
    ad = b"orders/42/card_number"
    token = client.encrypt(name, plaintext, ad)
    console.print(f"encrypt  {plaintext!r} (associated data {ad!r})\n      -> {token}")
    _check(client.decrypt(name, token, ad) == plaintext, "decrypt")
    console.print(f"decrypt  -> {client.decrypt(name, token, ad)!r}")

    aead = client.aead(name)  # a guomi.keys.Aead: same code as with a local key
    _check(aead.decrypt(aead.encrypt(b"field value", b"ctx"), b"ctx") == b"field value", "aead")

    client.rotate_key(name)
    version = client.read_key(name).latest_version
    console.print(f"rotate   -> latest version {version}")
    rewrapped = client.rewrap(name, token, ad)
    console.print(f"rewrap   -> {rewrapped}  (the plaintext never left the service)")
    _check(client.decrypt(name, rewrapped, ad) == plaintext, "rewrap")

    dk = client.datakey(name)
    console.print(f"datakey  -> 16-byte SM4 key, wrapped as {dk.ciphertext[:48]}...")

    signature = client.sign(signing, b"transfer 100 CNY to account 6222")
    console.print(f"sign     -> {signature[:60]}...")
    valid = client.verify(signing, b"transfer 100 CNY to account 6222", signature)
    forged = client.verify(signing, b"transfer 900 CNY to account 6222", signature)
    console.print(f"verify   -> {valid} (and {forged} for an altered message)")
    _check(valid and not forged, "verify")
    signer = client.signer(signing)  # a guomi.keys.Signer; verify locally with its public key
    signer.public_key().verify(signer.sign(b"local check"), b"local check")

    tag = client.hmac(mac, b"account 6222")
    console.print(f"hmac     -> {tag}")
    console.print(f"random   -> {base64.b64encode(client.random(16)).decode()}")
    console.print(f"sm3      -> {client.hash(b'abc').hex()}")


def main() -> int:
    """Start, initialise/unseal, demonstrate, then serve until Ctrl-C."""
    data_dir = Path(os.environ.get("GUOMI_DATA_DIR", ".guomi-data")).resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    listen = _pick_listen(os.environ.get("GUOMI_DEMO_LISTEN", "127.0.0.1:8200"))
    addr = f"http://{listen}"
    proc = start_server(listen, data_dir)
    try:
        with Client(addr) as anonymous:
            wait_ready(anonymous, proc)
            token = init_or_unseal(anonymous, data_dir)
        with Client(addr, token) as client:
            demonstrate(client)
        console.print(
            Panel(
                f"address  {addr}\n"
                f"token    {token}\n"
                f"storage  sqlite:///{data_dir / 'guomi.db'}\n"
                f"audit    {data_dir / 'audit.log'}\n"
                f"API docs {addr}/v1/docs",
                title="[bold green]guomi custody service is serving[/]  (Ctrl-C stops it)",
                border_style="green",
            ),
            soft_wrap=False,  # panels wrap; the long copy-paste lines must not
        )
        # Outside the panel and unwrapped, so each line pastes as it is.
        print(f"export GUOMI_ADDR={addr} GUOMI_TOKEN={token}")
        print(
            f'curl -s -H "Authorization: Bearer {token}" -H "Content-Type: application/json" '
            f'-d \'{{"plaintext":"aGVsbG8="}}\' '
            f"{addr}/v1/encrypt/demo-orders"
        )
        print(f"echo -n hello | {guomi_command()} encrypt -k demo-orders", flush=True)
        if os.environ.get("GUOMI_DEMO_EXIT"):
            return 0
        proc.wait()
        return proc.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
