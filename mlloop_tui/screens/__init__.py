"""One screen per module: runs, datasets, run detail, comparison."""
