"""Exposure: the embedded server listens on 127.0.0.1 only and answers loopback names and pages
only; llama.cpp's own listeners are out of reach; no API key reaches a run folder."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
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


def _listening_tcp_ports_of_this_process() -> set[int]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.llm
def test_llama_cpp_listeners_are_out_of_reach(embedded_server):
    main_port = int(embedded_server.url.rsplit(":", 1)[1])
    # Every TCP port this process listens on, probed where llama.cpp's server answers.
    llama_ports = []
    for port in _listening_tcp_ports_of_this_process() - {main_port}:
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/slots", headers={"Origin": "http://evil.example"}, timeout=3)
        except httpx.HTTPError:
            continue
        if r.headers.get("server") == "llama.cpp" or "Access-Control-Allow-Credentials" in r.headers:
            llama_ports.append(port)
    assert llama_ports == []
    # They listen on Unix sockets in private directories instead, and want a key.
    addresses = embedded_server.internal_addresses
    assert len(addresses) == 2 and all(a.startswith("unix://") for a in addresses)
    for address in addresses:
        path = address.removeprefix("unix://")
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        with httpx.Client(transport=httpx.HTTPTransport(uds=path), timeout=10) as local:
            for route in ("/v1/chat/completions", "/tokenize", "/v1/models"):
                r = local.post(f"http://llama{route}", json={"content": "hi"},
                               headers={"Origin": "http://evil.example"})
                assert r.status_code == 401, (route, r.text)
                assert r.headers.get("access-control-allow-origin") != "http://evil.example"
                assert r.headers.get("access-control-allow-credentials") != "true"
    print(f"\nexposure: 0 llama.cpp TCP listeners (of {len(_listening_tcp_ports_of_this_process())} "
          f"listening ports of this process); its 2 listeners are Unix sockets in 0700 "
          f"directories, 401 without the key, no CORS for other origins")


def test_only_loopback_host_names_are_answered(ollama_host):
    port = int(ollama_host.rsplit(":", 1)[1])
    for host in ("127.0.0.1", f"127.0.0.1:{port}", "localhost", f"LOCALHOST:{port}", f"[::1]:{port}"):
        assert httpx.get(f"{ollama_host}/api/version", headers={"Host": host}, timeout=10).status_code == 200
    refused = ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "localhost.", "0.0.0.0",
               f"192.168.1.20:{port}", "")
    for host in refused:
        r = httpx.get(f"{ollama_host}/api/version", headers={"Host": host}, timeout=10)
        assert r.status_code == 403 and "not a loopback name" in r.json()["error"], host
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:  # HTTP/1.1 without Host
        s.sendall(b"GET /api/version HTTP/1.1\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 400")
    print(f"\nexposure: Host checked; {len(refused)} foreign names (DNS rebinding) refused with 403")


def test_browsers_are_served_from_loopback_origins_only_and_without_credentials(ollama_host):
    evil = {"Origin": "http://evil.example"}
    r = httpx.get(f"{ollama_host}/api/tags", headers=evil, timeout=10)
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    for origin in ("http://evil.example", "null", "http://localhost.evil.example"):
        r = httpx.options(f"{ollama_host}/api/chat", headers={"Origin": origin, **preflight}, timeout=10)
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers, origin
    local = {"Origin": "http://localhost:8765"}
    r = httpx.options(f"{ollama_host}/api/chat", headers={**local, **preflight}, timeout=10)
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "http://localhost:8765"
    r = httpx.get(f"{ollama_host}/api/version", headers=local, timeout=10)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:8765"
    for reply in (r, httpx.get(f"{ollama_host}/api/version", timeout=10)):
        assert "access-control-allow-credentials" not in reply.headers
    print("\nexposure: other origins refused (403, no CORS headers); loopback pages served, never "
          "with Access-Control-Allow-Credentials")


def test_show_reveals_no_file_paths(ollama_client):
    places = [str(Path.home()), sys.prefix, tempfile.gettempdir(), str(Path(__file__).parents[1])]
    for model in ("smollm2:135m", "all-minilm"):
        shown = ollama_client.show(model).model_dump(mode="json")
        texts = []

        def walk(value):
            if isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)
            elif isinstance(value, str):
                texts.append(value)

        walk(shown)
        assert "FROM " in shown["modelfile"]
        leaks = [t for t in texts if any(p in t for p in places) or re.search(r"(^|\s)/[\w.-]+/", t)]
        assert not leaks, leaks
