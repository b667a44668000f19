"""The `lockmaster` commands, one module per feature; app.py registers them all."""
