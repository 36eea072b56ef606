"""The app's routes: pages, the REST API and the websocket."""
