"""``commons-lab ui``: serve the live page on this machine (offline; no CDN, no telemetry)."""

from __future__ import annotations

import os
import subprocess
import sys

HELP = "serve the live page (Solara) for the classroom and the lab"

APP = "viz.app"


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1, this machine only; "
                             "0.0.0.0 shows the page to the whole network)")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")


def command(args) -> list[str]:
    """The ``solara run`` command line for ``args``."""
    cmd = [sys.executable, "-m", "solara", "run", APP, "--host", args.host, "--port",
           str(args.port), "--production", "--no-check-version"]
    if not getattr(args, "open", False):
        cmd.append("--no-open")
    return cmd


def environment() -> dict[str, str]:
    """No usage telemetry (on by default in Solara). The page's scripts and styles come from the
    installed solara-assets package through Solara's asset proxy, so no CDN is contacted."""
    env = dict(os.environ)
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    env["SOLARA_THEME_SHOW_BANNER"] = "False"  # no "runs on Solara" badge over the figures
    # Solara warns, in 12 lines per browser connection, that a page served over plain http to
    # an address other than localhost gets a samesite=lax session cookie; that is the cookie
    # this page wants (it is never embedded in another site's frame).
    quiet = "ignore:Cookies with samesite=none require https:UserWarning"
    env["PYTHONWARNINGS"] = ",".join(w for w in (env.get("PYTHONWARNINGS"), quiet) if w)
    return env


def main(args) -> int:
    print(f"commons-lab: serving the live page at http://{args.host}:{args.port} "
          "(Ctrl+C stops it)", file=sys.stderr, flush=True)
    cmd = command(args)
    if os.name == "posix":
        # Become the server: signals (Ctrl+C, a supervisor's SIGTERM) then reach it directly
        # and no orphaned server outlives this command.
        os.execve(cmd[0], cmd, environment())
    try:
        return subprocess.call(cmd, env=environment())
    except KeyboardInterrupt:
        return 130
