"""Fixture for ACME001 secret-in-notification: `hassec test-rules examples/rules`."""
from homeassistant.components import persistent_notification
from homeassistant.components.persistent_notification import async_create as notify
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME


async def async_setup_entry(hass, entry):
    password = entry.data[CONF_PASSWORD]
    persistent_notification.async_create(hass, f"Your password is {password}")  # expect: ACME001
    notify(hass, entry.data[CONF_PASSWORD], title="Acme")  # expect: ACME001
    persistent_notification.async_create(hass, "Check the password in the options")  # ok: names it, shows none
    persistent_notification.async_create(hass, f"Logged in as {entry.data[CONF_USERNAME]}")  # ok: not a secret
    hass.bus.async_fire("acme_login", {"password": password})  # ok: not a notification
    return True
