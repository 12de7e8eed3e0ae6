"""Disk and process faults: a process SIGKILLed while it writes tables (through the project's
``atomic_write_table``) leaves every table either the previous complete version or the new one."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import pandas as pd

from reliability_support import ROOT

KILLS = 6
VERSIONS = 5

WRITER = f"""
import sys, pandas as pd
from pathlib import Path
from model.run_folder import atomic_write_table
folder = Path(sys.argv[1])
def version(v):
    return pd.DataFrame({{"version": [v] * 20000, "x": range(20000), "text": ["v%d" % v] * 20000}})
tables = [version(v) for v in range({VERSIONS})]
print("ready", flush=True)
n = 0
while True:
    for name in ("rounds", "agents"):
        atomic_write_table(folder / name, tables[n % {VERSIONS}], "both")
    n += 1
"""


def test_killed_during_table_writes_leaves_complete_files(tmp_path):
    from model.run_folder import atomic_write_table

    rng = random.Random(7)
    checked = 0
    first = pd.DataFrame({"version": [0] * 20000, "x": range(20000), "text": ["v0"] * 20000})
    for name in ("rounds", "agents"):  # the old complete version
        atomic_write_table(tmp_path / name, first, "both")
    for kill in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        proc.stdout.close()
        for name in ("rounds", "agents"):
            for df in (pd.read_parquet(tmp_path / f"{name}.parquet"), pd.read_csv(tmp_path / f"{name}.csv")):
                assert len(df) == 20000 and df["version"].nunique() == 1
                v = int(df["version"].iloc[0])
                assert 0 <= v < VERSIONS and (df["text"] == f"v{v}").all()
                assert df["x"].tolist() == list(range(20000))
                checked += 1
    leftovers = [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"]
    print(f"\ndisk faults: {KILLS} writers SIGKILLed mid-write, {checked}/{checked} table files "
          f"complete (old or new version), {len(leftovers)} temporary files left behind")
