"""Settings, read from ``MESHKG_*`` environment variables when a command or app starts.

Nothing reads the environment at import time, so tests and embedders can build settings
explicitly and two apps with different settings can live in one process.
"""

from __future__ import annotations

import os

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.iris import DEFAULT_BASE, check_base


class Settings(BaseSettings):
    """What a build depends on besides the seeds themselves."""

    model_config = SettingsConfigDict(env_prefix="MESHKG_", extra="ignore")

    base_iri: str = DEFAULT_BASE
    """Prefix of every data IRI; the default is stable and documented in the README."""

    include_set_aside: bool = True
    """Keep codes, relations and links written inside ``'''`` strings (marked as such)."""

    workers: int = 0
    """Processes for reading and validating; 0 means one per CPU core."""

    @property
    def processes(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)

    @field_validator("base_iri")
    @classmethod
    def _base(cls, value: str) -> str:
        return check_base(value)
