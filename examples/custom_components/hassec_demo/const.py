"""Constants for the hassec demo integration."""

DOMAIN = "hassec_demo"

CONF_STATION = "station"
CONF_SCAN_INTERVAL = "scan_interval"

API_BASE = "http://api.demoweather.io/v2"
# A key shipped in the source: every installation shares it.
FALLBACK_API_KEY = "dk_9f8e7d6c5b4a39281706f5e4"
DEFAULT_VERIFY_SSL = False
