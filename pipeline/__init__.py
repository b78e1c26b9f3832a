"""The pipeline layer: what a run is made of, with no Prefect and no ML of its own.

`models/` holds the model code (encoders, training, warm-ups, data, evaluation); `pipeline/` declares the
stages over it (`pipeline/stages/`, one module per stage), derives their cache keys (`keys.py`,
`code_identity.py`), lays out the cycle as stage calls (`plan.py`) and runs them against the store
(`executor.py`). `tasks/` wraps the same stages as Prefect tasks and `flows/` holds the commands.
"""
