"""The projects' words: what the API's project values are called on the pages.

The project level's own vocabulary (``creatives.vocabulary`` holds the rest): ``projects``
sits below ``creatives`` and never imports it (tests/test_import_layers.py). Registered at
start-up (ProjectsConfig.ready -> ``layersadmin.formatting.labels_register``) for
``{{ project.status|api_label:"project_status" }}``.
"""

from __future__ import annotations

PROJECT_STATUS_LABELS = {"active": "Active", "archived": "Archived"}  # REFERENCE 8.3, seed 003

API_LABELS = {"project_status": PROJECT_STATUS_LABELS}
