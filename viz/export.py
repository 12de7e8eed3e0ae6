"""What the page's download buttons return: the run's tables (CSV or Parquet, in a .zip), a
panel's figure as PNG, and the run as a TOML file that ``commons-lab run`` accepts."""

from __future__ import annotations

import io
import zipfile

from model.config_toml import dumps
from viz.live_run import LiveRun

TABLE_FORMATS = ("csv", "parquet")


def tables_zip(run: LiveRun, fmt: str) -> bytes:
    """Every table of the run so far (rounds, agents, events, ...), one file each, zipped."""
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(TABLE_FORMATS)}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if run.sim is not None:
            for name, table in run.sim.tables().items():
                data = (table.to_csv(index=False).encode("utf-8") if fmt == "csv"
                        else table.to_parquet(index=False))
                archive.writestr(f"{name}.{fmt}", data)
    return buffer.getvalue()


def call_log(run: LiveRun) -> bytes:
    """The run's call log so far (runs with human villagers record one): with the config,
    ``commons-lab run`` replays the run without the page."""
    from model.run_folder import CALL_LOG

    if run.folder is None or not (run.folder / CALL_LOG).is_file():
        return b""
    return (run.folder / CALL_LOG).read_bytes()


def config_toml(run: LiveRun) -> str:
    """The run's config as a run file: ``commons-lab run FILE`` plays the same run."""
    if run.config is None:
        return ""
    origin = f"recorded in {run.source}" if run.source else "set up on the live page"
    return dumps(run.config, comment=f"A commons-lab run {origin}.\n"
                                     "Run it with: commons-lab run THIS_FILE --out FOLDER")


def file_stem(run: LiveRun) -> str:
    """A name for downloaded files: scenario, seed and round shown."""
    if run.config is None:
        return "commons-lab"
    view = run.view
    shown = f"-{view.round_word}{view.round}" if view is not None else ""
    variant = f"-{run.config.govsim.variant}" if run.config.scenario == "govsim" else ""
    return f"commons-lab-{run.config.scenario}{variant}-seed{run.config.seed}{shown}"
