"""Which xAPI version each credential last used: the answer version for unversioned requests."""

from __future__ import annotations

import base64
import binascii
from collections import OrderedDict

from learnproof_lrs.domain.versions import V200


class VersionHints:
    """A small LRU of credential key -> last version used after successful authentication.

    Only a hint for the `X-Experience-API-Version` header of error answers to requests that
    carry no version; replicas need not agree, and losing it costs nothing.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._last: OrderedDict[str, str] = OrderedDict()

    def record(self, key: str, version: str) -> None:
        self._last[key] = version
        self._last.move_to_end(key)
        while len(self._last) > self.capacity:
            self._last.popitem(last=False)

    def for_authorization(self, header: bytes) -> str:
        scheme, _, value = header.partition(b" ")
        if scheme.lower() == b"basic":
            try:
                key = base64.b64decode(value.strip(), validate=True).split(b":", 1)[0].decode()
            except (binascii.Error, UnicodeDecodeError):
                return V200
            return self._last.get(key, V200)
        return V200
