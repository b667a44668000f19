"""The record of everything Lockmaster did: models, migrations, history API."""
