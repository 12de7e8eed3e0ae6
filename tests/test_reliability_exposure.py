"""Exposure: the embedded server listens on 127.0.0.1 only, and no API key reaches a run folder."""

from __future__ import annotations

import socket
import subprocess

import pytest

from agents.llm.embedded import EmbeddedServer
from model.runner import run
from reliability_support import fault_server, norms_config

KEY = "sk-test-7f3c9a2e5b1d4f6a8c0e"


def _addresses() -> list[str]:
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return [a for a in out if ":" not in a and not a.startswith("127.")]


@pytest.mark.llm
def test_embedded_server_refuses_other_addresses(ollama_host):
    port = int(ollama_host.rsplit(":", 1)[1])
    for host in ("0.0.0.0", "192.0.2.2", "::"):
        with pytest.raises(ValueError, match="127.0.0.1 only"):
            EmbeddedServer(host=host)
    refused = 0
    for address in _addresses():  # the running server does not answer on the machine's own IP
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(2)
            s.connect((address, port))
        refused += 1
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    print(f"\nexposure: embedded server refuses to bind 0.0.0.0/::/a LAN IP; "
          f"{refused} non-loopback address(es) refused a connection, 127.0.0.1 accepted")


def test_api_key_never_reaches_the_run_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COMMONS_TEST_KEY", KEY)
    auth = tmp_path / "auth.txt"
    out = tmp_path / "run"
    with fault_server(auth_file=auth) as (_, url):
        config = norms_config(3, rounds=2, **{"llm.backend": "openai", "llm.base_url": url + "/v1",
                                              "llm.api_key_env": "COMMONS_TEST_KEY"})
        run(config, out, progress=False)
    assert KEY in auth.read_text()  # the key really was sent to the server
    files = [p for p in out.rglob("*") if p.is_file()]
    leaked = [p.name for p in files if KEY.encode() in p.read_bytes()
              or KEY[3:].encode() in p.read_bytes()]
    assert (out / "calls.jsonl").exists() and (out / "manifest.json").exists()
    assert not leaked, leaked
    print(f"\nexposure: API key sent on every request, found in 0 of {len(files)} files of the run "
          "folder (call log, manifest, tables, summary)")
