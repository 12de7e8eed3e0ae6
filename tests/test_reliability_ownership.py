"""--overwrite and --resume act only on commons-lab run folders, and remove only what a run wrote."""

from __future__ import annotations

import json
from pathlib import Path

import cli

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "runs" / "demo.toml")
RUN = ["run", DEMO, "--quiet", "--set", "rounds=2"]


def _foreign(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"project": "someone else's", "version": 3}))
    (folder / "results.csv").write_text("a,b\n1,2\n")
    (folder / "data.parquet").write_bytes(b"PAR1 not ours")
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_overwrite_and_resume_refuse_a_folder_another_program_wrote(tmp_path, capsys):
    folder = tmp_path / "theirs"
    before = _foreign(folder)
    for flag in ("--overwrite", "--resume"):
        assert cli.main([*RUN, "--out", str(folder), flag]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "no commons-lab run wrote" in err[0], err
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_overwrite_removes_the_run_files_and_nothing_else(tmp_path):
    folder = tmp_path / "ours"
    assert cli.main([*RUN, "--out", str(folder), "--csv"]) == 0
    notes = folder / "notes.md"
    notes.write_text("my observations")
    (folder / "figure.csv").write_text("x\n1\n")  # a table the user made beside the run's
    assert cli.main([*RUN, "--out", str(folder), "--overwrite"]) == 0
    names = {p.name for p in folder.iterdir()}
    assert notes.read_text() == "my observations" and "figure.csv" in names
    assert "rounds.csv" not in names  # the old run's CSV copies went with it
    assert {"rounds.parquet", "agents.parquet", "events.parquet", "manifest.json"} <= names


def test_overwrite_removes_every_table_a_govsim_run_writes(tmp_path):
    from model.config import RunConfig
    from model.run_folder import RunFolder, new_manifest

    folder = tmp_path / "govsim"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(new_manifest(RunConfig(scenario="govsim"))))
    tables = ["rounds", "agents", "events", "harvests", "utterances", "discussions", "memories"]
    for name in tables:
        (folder / f"{name}.parquet").write_bytes(b"old")
    (folder / "notes.md").write_text("keep")
    RunFolder(folder, overwrite=True).create()
    assert sorted(p.name for p in folder.iterdir()) == ["notes.md"]
