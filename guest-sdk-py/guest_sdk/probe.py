"""Read-only HTTP probes to URL prefixes the flow declared
(`FlowInfo.http_probe`). A URL may name a Compose service as its host
(`http://etcd1:2379/…`): the host sends it to the port Docker published for
that container port, so a flow works whatever ports the presenter chose.
Probes follow no redirects and wait at most 30 s."""

from __future__ import annotations

import json
from typing import Any

from . import _wit
from .errors import ProbeError
from .types import Response

__all__ = ["http_get", "http_post", "Response", "ProbeError"]


def http_get(url: str, timeout: float) -> Response:
    """`GET url`, waiting at most `timeout` seconds. Raises `ProbeError`
    (`not-permitted`, `unreachable`) or `Interrupted`."""
    return _wit.probe_get(url, _wit.ms(timeout))


def http_post(url: str, json_body: Any, timeout: float) -> Response:
    """`POST url` with a JSON body (etcd's v3 gateway is POST-only): a
    string is sent as it is, anything else as `json.dumps` writes it."""
    body = json_body if isinstance(json_body, str) else json.dumps(json_body)
    return _wit.probe_post(url, body, _wit.ms(timeout))
