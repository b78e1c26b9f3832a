"""One module per stage: its function `run(context)` and its declaration `STAGE` (see pipeline/stage.py).

Kept free of imports: importing a stage module runs this file first, so it is part of every stage's code
identity. The registry that collects the stages is pipeline/registry.py.
"""
