"""The actor behind the current write: set by the request middleware, by CLI commands and by
background jobs, read when an audit row is written. A contextvar, so threads and async tasks
each see their own."""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    request_id: str = ""
    job: str = ""
    ip: str = ""


SYSTEM = Actor(user_id=None, username="system")
_current: contextvars.ContextVar[Actor] = contextvars.ContextVar("doudi_actor", default=SYSTEM)


def current() -> Actor:
    return _current.get()


@contextlib.contextmanager
def acting(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def as_user(user, *, job: str = "", request_id: str = "", ip: str = "") -> Actor:  # noqa: ANN001
    return Actor(
        user_id=getattr(user, "pk", None),
        username=getattr(user, "username", "") or "anonymous",
        request_id=request_id or uuid.uuid4().hex[:16],
        job=job,
        ip=ip,
    )


def job(name: str, user=None) -> contextlib.AbstractContextManager[Actor]:  # noqa: ANN001
    """Context for a CLI command or background job, e.g. `with audit.context.job("demo"):`."""
    if user is None:
        return acting(Actor(user_id=None, username="system", job=name,
                            request_id=uuid.uuid4().hex[:16]))
    return acting(as_user(user, job=name))


def bind(actor: Actor) -> None:
    """Replace the actor for the rest of the current request (API token authentication runs
    after the middleware has bound an anonymous actor; the middleware resets it afterwards)."""
    _current.set(actor)
