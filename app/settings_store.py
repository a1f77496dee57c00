"""Control-panel settings that survive a restart or a crash: one JSON file, replaced atomically.

A crash mid-write leaves the previous file intact (write to a temporary file, fsync, rename). A
file that cannot be read (not UTF-8, not JSON, nested too deep, not an object) is moved aside
(``settings.json.corrupt``) rather than silently lost, and the monitor starts with defaults.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path


class SettingsStore:
    """``<state_dir>/settings.json``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / "settings.json"

    def load(self) -> dict:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            settings = json.loads(data)  # bytes: a file that is not UTF-8 is a ValueError here, not at the read
            if not isinstance(settings, dict):
                raise ValueError("not a JSON object")
            return settings
        except (ValueError, RecursionError) as exc:  # RecursionError: nested past the parser's depth
            aside = self.path.with_suffix(".json.corrupt")
            os.replace(self.path, aside)
            print(f"monitor: settings in {self.path} unreadable ({exc}); moved to {aside}", file=sys.stderr)
            return {}

    def save(self, settings: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".json.tmp")
        with open(temporary, "w") as handle:
            json.dump(settings, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
