"""Config flow for the hassec demo integration."""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import DemoApi, DemoAuthError
from .const import CONF_SCAN_INTERVAL, CONF_STATION, DOMAIN

STEP_USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_USERNAME): str,
        vol.Required(CONF_PASSWORD): str,
        vol.Required(CONF_API_KEY): str,
        vol.Required(CONF_STATION): str,
    }
)


class DemoConfigFlow(ConfigFlow, domain=DOMAIN):
    """Asks for the account and the station."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            api = DemoApi(async_get_clientsession(self.hass), user_input[CONF_API_KEY], user_input[CONF_PASSWORD])
            try:
                await api.async_get_station(user_input[CONF_STATION])
            except DemoAuthError as err:
                errors["base"] = str(err)
            else:
                return self.async_create_entry(title=user_input[CONF_STATION], data=user_input)
        return self.async_show_form(step_id="user", data_schema=STEP_USER_SCHEMA, errors=errors)

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        return DemoOptionsFlow()


class DemoOptionsFlow(OptionsFlow):
    """Lets the user change the interval, and (wrongly) the API key."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            return self.async_create_entry(
                data={CONF_SCAN_INTERVAL: user_input[CONF_SCAN_INTERVAL], CONF_API_KEY: user_input[CONF_API_KEY]}
            )
        schema = vol.Schema(
            {
                vol.Optional(CONF_SCAN_INTERVAL, default=300): int,
                vol.Optional(CONF_API_KEY): str,
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)
