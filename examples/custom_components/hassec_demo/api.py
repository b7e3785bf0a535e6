"""A small client for the demo weather cloud."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import aiohttp

from .const import API_BASE

_LOGGER = logging.getLogger(__name__)


class DemoAuthError(Exception):
    """The cloud refused our credentials."""


class DemoApi:
    """Talks to the demo weather cloud."""

    def __init__(self, session: aiohttp.ClientSession, api_key: str, password: str) -> None:
        self._session = session
        self._api_key = api_key
        self._password = password

    async def async_get_station(self, station: str) -> dict:
        url = f"{API_BASE}/stations/{station}?api_key={self._api_key}"
        _LOGGER.debug("Fetching %s", url)
        async with self._session.get(url, ssl=False) as response:
            if response.status == 401:
                raise DemoAuthError("invalid api key")
            return await response.json()

    async def async_login(self, username: str) -> None:
        _LOGGER.debug("Logging in %s with password %s", username, self._password)
        await self._session.post(f"{API_BASE}/login", data={"user": username})

    def load_cache(self, cache_dir: str) -> dict:
        """Reads the last answer back from disk."""
        path = Path(cache_dir) / "station.cache"
        with path.open("rb") as handle:
            return pickle.load(handle)

    def ping(self, host: str) -> int:
        return os.system(f"ping -c 1 {host}")
