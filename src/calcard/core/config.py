"""Settings from the environment, optionally preset by a TOML file under config/.

The environment always wins so that operators and tests can override a shared
file without editing it (CONTRACT.md, "Install and run").
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "CALCARD_"
DEFAULT_CONFIG_FILE = Path("config/calcard.toml")
DEFAULT_URL = "http://127.0.0.1:5232"  # `calcard serve`'s default address
LOG_FORMATS = ("plain", "json")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    smtp_url: str = ""
    mail_from: str = "calcard@localhost"
    base_url: str = ""  # the public URL; unset: pages use the address the browser reached
    bound_url: str = ""  # set by `calcard serve` for its workers: where it listens
    max_resource_size: int = 10_000_000
    max_body_size: int = 50_000_000
    log_level: str = "info"
    auth_delay: float = 1.0  # seconds added to every 401/403, against guessing
    reminders: bool = True  # run a reminder dispatcher inside `calcard serve`
    reminder_grace_minutes: int = 15  # later than this after a downtime: marked missed
    outbound_allow: str = ""  # host names or CIDRs outbound requests may reach although internal
    node_modules: str = ""  # where npm put the web UI's packages (default: the source tree's)
    metrics_token: str = ""  # set: GET /metrics answers Prometheus to this bearer token
    log_format: str = "plain"  # plain | json (one JSON object per line)

    @property
    def link_url(self) -> str:
        """Where links in mails point (no request to take an address from): the public
        URL, else the address ``calcard serve`` listens on, else its default address."""
        return (self.base_url or self.bound_url or DEFAULT_URL).rstrip("/")


def _file_values() -> dict[str, object]:
    path = Path(os.environ.get(ENV_PREFIX + "CONFIG", DEFAULT_CONFIG_FILE))
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return dict(tomllib.load(fh).get("calcard", {}))


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "calcard"


def load_settings() -> Settings:
    """Merge defaults, the config file and CALCARD_* environment variables."""
    values: dict[str, object] = _file_values()
    for field in Settings.__dataclass_fields__:
        env = os.environ.get(ENV_PREFIX + field.upper())
        if env is not None:
            values[field] = env
    data_dir = Path(str(values.pop("data_dir", "") or _default_data_dir())).expanduser()
    url = str(values.pop("database_url", "") or f"sqlite:///{data_dir / 'calcard.db'}")
    if "reminders" in values:
        values["reminders"] = str(values["reminders"]).lower() not in ("0", "false", "off", "no")
    for key in ("max_resource_size", "max_body_size", "reminder_grace_minutes"):
        if key in values:
            values[key] = int(str(values[key]))
    if str(values.get("log_format", "plain")) not in LOG_FORMATS:
        raise ValueError(f"CALCARD_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
    if "auth_delay" in values:
        values["auth_delay"] = float(str(values["auth_delay"]))
    # values: the file's settings, converted above to each field's type
    return Settings(data_dir=data_dir, database_url=url, **values)  # type: ignore[arg-type]
