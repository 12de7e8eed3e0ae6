"""`commons-lab ui`: registered with the CLI, and the server command it becomes."""

from __future__ import annotations

import sys

from cli import build_parser
from viz import ui_cli


def test_ui_is_a_subcommand_with_loopback_defaults():
    args = build_parser().parse_args(["ui"])
    assert args.func is ui_cli.main
    assert (args.host, args.port, args.open) == ("127.0.0.1", 8765, False)


def test_the_server_command_is_solara_in_production_mode_offline():
    args = build_parser().parse_args(["ui", "--port", "9123", "--host", "0.0.0.0"])
    cmd = ui_cli.command(args)
    assert cmd[:5] == [sys.executable, "-m", "solara", "run", "viz.app"]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0" and cmd[cmd.index("--port") + 1] == "9123"
    # Production: no auto-reload, no dev tools; no version check against PyPI; no browser.
    assert {"--production", "--no-check-version", "--no-open"} <= set(cmd)
    assert "--no-open" not in ui_cli.command(build_parser().parse_args(["ui", "--open"]))
    assert ui_cli.environment()["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
