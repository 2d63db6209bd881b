"""The GSMA CIs (Certificate Issuers) lpa knows, by the key identifier an eUICC lists (SGP.22 4.5.2.1)."""
from __future__ import annotations

import json
import os

from .paths import data_dir


def ci_name(key_id: str) -> str | None:
    """The name of the CI whose key identifier is ``key_id`` (hex), from certs/names.json, if known.

    Kept apart from :mod:`lpa.trust`, which loads ssl: `lpa info` names CIs without it.
    """
    with open(os.path.join(data_dir("certs"), "names.json"), encoding="utf-8") as file:
        names: dict[str, str] = json.load(file)
    return names.get(key_id.lower())
