"""Sensor platform for the hassec demo integration."""

from __future__ import annotations

from homeassistant.components.sensor import SensorEntity
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN


async def async_setup_entry(
    hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddEntitiesCallback
) -> None:
    coordinator = hass.data[DOMAIN][entry.entry_id]
    async_add_entities([DemoTemperature(coordinator, entry)])


class DemoTemperature(CoordinatorEntity, SensorEntity):
    """Temperature at the configured station."""

    _attr_has_entity_name = True
    _attr_translation_key = "temperature"

    def __init__(self, coordinator, entry: ConfigEntry) -> None:
        super().__init__(coordinator)
        self._entry = entry
        self._attr_unique_id = f"{entry.entry_id}_temperature"

    @property
    def native_value(self) -> float | None:
        return self.coordinator.data.get("temperature")

    @property
    def extra_state_attributes(self) -> dict:
        return {
            "station": self.coordinator.data.get("station"),
            "api_key": self._entry.data[CONF_API_KEY],
        }
