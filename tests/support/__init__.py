"""Shared test helpers: a real server process and a pycrdt websocket client."""
