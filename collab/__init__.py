"""The real-time core of collab-notes: rooms of peers sharing one Yjs document.

This package knows nothing of HTTP, websockets libraries or databases. It talks to
transports through :class:`collab.channel.Channel` and to persistence through
:class:`collab.persistence.DocumentStore`.
"""
