"""Identity of Layers objects: one normal form for comparing ids, whatever form the API used.

The docs disagree on id forms (REFERENCE 6 and C13): ``prj_<uuid>`` in URLs but a bare uuid in
the GET project example; ``cnt_…`` on content but a bare ``sourceId`` in seed 001; a bare
``adsContentId`` in seed 001 but ``adc_…`` in seed 000's top-performers. So:

* **Joins compare** ``id_key(value)``: the id with one known type prefix stripped and lower-cased
  (ULIDs and uuids are case-insensitive). Creative to container, leaderboard row to creative,
  GET project to listed project, a PATCH answer to the creative patched.
* **Calls use** the form the list returned, exactly as stored in ``layers_id`` (seed 001: "pass
  it back without any partner prefix" means "as listed"). ``id_key`` is never sent to the API.
"""

from __future__ import annotations

from typing import Any

# Type prefixes REFERENCE 6 lists. Only these are stripped: an id that merely contains an
# underscore keeps it.
KNOWN_PREFIXES = (
    "prj_",
    "cnt_",
    "adc_",
    "org_",
    "key_",
    "ast_",
    "med_",
    "inf_",
    "job_",
    "sa_",
    "sp_",
    "pp_",
    "cmp_",
    "adg_",
    "evt_",
)
KEY_MAX_LENGTH = 64


def id_key(value: Any) -> str:
    """The normal form of an id for comparisons: '' for null, prefix stripped, lower case."""
    if value is None or isinstance(value, dict | list | bool):
        return ""
    text = str(value).replace("\x00", "").lower()
    for prefix in KNOWN_PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            text = text[len(prefix) :]
            break
    return text[:KEY_MAX_LENGTH]


def same_id(a: Any, b: Any) -> bool:
    """Whether two ids name the same object (both non-empty and equal in normal form)."""
    key = id_key(a)
    return bool(key) and key == id_key(b)
