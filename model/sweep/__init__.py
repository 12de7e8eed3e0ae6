"""Sweeps: every run of a grid x seeds, one folder each, resumable, local or on Dask.

    config.py       the sweep file: base config, grid, variants, seeds, settings
    plan.py         the runs in a fixed order, each with its folder; the resume checks
    run.py          run_sweep: hands the runs to batch_run, processes or Dask, and follows them
    worker.py       what a worker process does with one run
    hosts.py        which LLM server takes the next run
    dask_engine.py  the Dask distributed executor
    index.py        index.parquet and sweep.json, rebuilt from the run folders
    cli.py          ``commons-lab sweep``

Kept free of imports so that ``commons-lab --help`` and a Dask worker load only what they use.
"""
