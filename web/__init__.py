"""The HTTP and websocket edge of collab-notes: the only package that knows the other two."""
