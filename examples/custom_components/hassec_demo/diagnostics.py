"""Diagnostics for the hassec demo integration."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .const import DOMAIN


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    """Everything needed to debug, and (wrongly) the credentials too."""
    coordinator = hass.data[DOMAIN][entry.entry_id]
    return {"entry": entry.as_dict(), "data": coordinator.data}
