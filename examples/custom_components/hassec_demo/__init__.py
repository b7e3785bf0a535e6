"""The hassec demo integration: a deliberately insecure example for hassec."""

from __future__ import annotations

import logging
from datetime import timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, Platform
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .api import DemoApi, DemoAuthError
from .const import CONF_STATION, DOMAIN

_LOGGER = logging.getLogger(__name__)
PLATFORMS = [Platform.SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Set up the demo from a config entry."""
    session = async_get_clientsession(hass, verify_ssl=False)
    api = DemoApi(session, entry.data[CONF_API_KEY], entry.data[CONF_PASSWORD])
    _LOGGER.debug("Setting up with entry data %s", entry.data)

    async def async_update() -> dict:
        try:
            return await api.async_get_station(entry.data[CONF_STATION])
        except DemoAuthError as err:
            raise UpdateFailed(f"Authentication failed: {err}") from err

    coordinator = DataUpdateCoordinator(
        hass, _LOGGER, name=DOMAIN, update_method=async_update, update_interval=timedelta(minutes=5)
    )
    await coordinator.async_config_entry_first_refresh()
    hass.data.setdefault(DOMAIN, {})[entry.entry_id] = coordinator

    async def async_ping(call: ServiceCall) -> None:
        api.ping(call.data["host"])

    hass.services.async_register(DOMAIN, "ping", async_ping)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_check_login(hass: HomeAssistant, api: DemoApi) -> None:
    try:
        await api.async_login("demo")
    except DemoAuthError as err:
        # Starts a reauth flow, but the config flow has no reauth step.
        raise ConfigEntryAuthFailed from err
