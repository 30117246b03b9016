"""Django for a standalone bench script: its own SQLite file under bench/.work/ (never the
development database), the sandbox's ``unlimited`` tier named, pacing per process."""

from __future__ import annotations

import os
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work"


def django_setup(name: str) -> Path:
    """Point Django at ``bench/.work/<name>.sqlite3`` (removed first) and set it up."""
    WORK.mkdir(exist_ok=True)
    database = WORK / f"{name}.sqlite3"
    database.unlink(missing_ok=True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "layersadmin.settings",
            "DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{database}",
            "LAYERS_API_TIER": "unlimited",
            "LAYERS_RATE_BUDGET": "local",
        }
    )
    import django

    django.setup()
    return database
