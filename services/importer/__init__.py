"""The importer: a worker that turns uploaded spreadsheets into command batches (see worker.py)."""
