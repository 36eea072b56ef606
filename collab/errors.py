"""Exceptions raised while serving a peer, and the websocket close codes they map to.

A peer that misbehaves raises a :class:`PeerError`; the room closes that one
connection with the error's code and reason, logs one line, and carries on.
Programmer mistakes raise ``RuntimeError`` instead and are never caught here.
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    """Websocket close codes the server sends, by name.

    Codes below 4000 are the standard ones from RFC 6455; the 4xxx codes are
    application codes modelled on the HTTP status of the same meaning.
    """

    NORMAL = 1000
    GOING_AWAY = 1001
    UNSUPPORTED_DATA = 1003
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013
    BAD_MESSAGE = 4400
    FORBIDDEN = 4403
    UNKNOWN_NOTE = 4404
    TOO_MANY_REQUESTS = 4429


class ChannelClosed(Exception):
    """The other end of a channel went away; nothing more can be sent or received."""


class PeerError(Exception):
    """A peer did something the server refuses; its connection is closed.

    Attributes:
        code: The close code to send.
        reason: A short, human-readable reason, sent in the close frame and logged.
    """

    code: CloseCode = CloseCode.BAD_MESSAGE

    def __init__(self, reason: str, code: CloseCode | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code


class MalformedMessage(PeerError):
    """A frame that does not parse as a y-websocket message."""

    code = CloseCode.INVALID_PAYLOAD


class UnsupportedData(PeerError):
    """A text frame, where the protocol only carries binary frames."""

    code = CloseCode.UNSUPPORTED_DATA


class SlowPeer(PeerError):
    """A peer that fell too far behind on its outgoing messages."""

    code = CloseCode.TRY_AGAIN_LATER


class TooManyMessages(PeerError):
    """A peer sending faster than its rate limit allows."""

    code = CloseCode.TOO_MANY_REQUESTS


class EditsTooCostly(PeerError):
    """A peer whose edits took the server more than their share of time to check and apply.

    Closed with 1013, not 4429, so that a stock client reconnects: what was
    applied of a large edit is saved, and the reconnect's sync sends the rest.
    """

    code = CloseCode.TRY_AGAIN_LATER


class StorageFailed(PeerError):
    """An update could not be committed, so it was not broadcast."""

    code = CloseCode.INTERNAL_ERROR
