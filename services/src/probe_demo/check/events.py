"""What a check saw happen, as values: the kind of each event, an endpoint's conditions,
which of the server's events it was. Words are made only when a report is rendered, so
rewording a label changes no decision. No Kubernetes import here."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from probe_demo.protocol import ServerEvent


class EventKind(enum.Enum):
    """Its value is the word the text timeline and the JSON use."""

    CREATED = "created"
    # PodReadyToStartContainers (GA in 1.37, on by default from 1.29): the sandbox and its
    # network are ready, the containers about to start.
    SANDBOX_READY = "sandbox ready"
    READY = "ready"
    UNREADY = "unready"
    TERMINATING = "terminating"
    EXITED = "exited"
    DELETED = "deleted"
    ENDPOINT = "endpoint"
    SERVER = "server"
    DISRUPTION_BEGINS = "disruption begins"
    DISRUPTION_SETTLED = "disruption settled"
    FRONT_DOOR = "front door"  # a front door began or stopped routing to the pod
    # The Deployment's status.terminatingReplicas changed (beta, on by default from 1.35).
    TERMINATING_REPLICAS = "terminating replicas"
    NOTE = "note"


@dataclass(frozen=True)
class EndpointConditions:
    """An EndpointSlice endpoint's three conditions."""

    ready: bool
    serving: bool
    terminating: bool

    @classmethod
    def of(cls, conditions: dict[str, Any]) -> EndpointConditions:
        return cls(bool(conditions.get("ready")), bool(conditions.get("serving")),
                   bool(conditions.get("terminating")))

    def words(self) -> str:
        return " ".join(f"{name}={'true' if getattr(self, name) else 'false'}"
                        for name in ("ready", "serving", "terminating"))


@dataclass
class Event:
    at: float  # wall-clock seconds
    pod: str  # "" for events of the check itself
    kind: EventKind
    # What only a reader needs: an exit status, a note, a disruption's name.
    detail: str = ""
    server: ServerEvent | None = None  # SERVER: which of the server's events
    # SERVER: connections told to close, or sent GOAWAY; TERMINATING_REPLICAS: how many
    count: int | None = None
    endpoint: EndpointConditions | None = None  # ENDPOINT: None once removed
    routed: bool | None = None  # FRONT_DOOR: whether the front door now routes to the pod

    def words(self) -> str:
        """The event as the text timeline writes it (after the pod's name)."""
        if self.kind is EventKind.SERVER:
            return server_label(self)
        if self.kind is EventKind.ENDPOINT:
            return "endpoint " + (self.endpoint.words() if self.endpoint else "removed")
        if self.kind is EventKind.TERMINATING_REPLICAS:
            return f"terminatingReplicas={self.count}"
        if self.kind is EventKind.FRONT_DOOR:
            return "front door routes here" if self.routed else "front door stopped routing here"
        if self.kind in (EventKind.DISRUPTION_BEGINS, EventKind.DISRUPTION_SETTLED):
            return f"disruption {self.detail} {self.kind.value.split()[-1]}"
        return f"{self.kind.value} {self.detail}".strip()


SERVER_LABELS = {
    ServerEvent.LISTENING: "listening",
    ServerEvent.STATE_CHANGE: "draining",
    ServerEvent.DRAIN_CUT_SHORT: "drain cut short",
    ServerEvent.GOAWAY: "GOAWAY to {count} gRPC connections",
    ServerEvent.STOP_LISTENING: "stopped listening",
    ServerEvent.STOPPED: "server stopped",
}


def server_label(event: Event) -> str:
    label = SERVER_LABELS[event.server].format(count=event.count or 0)
    if event.server is ServerEvent.STOP_LISTENING and event.count:
        label += f" (told {event.count} to close)"
    return label


def server_event(entry: dict[str, Any]) -> tuple[ServerEvent, int | None] | None:
    """A server log line worth a mark on its pod's lane: which event, and its count."""
    try:
        event = ServerEvent(entry.get("event"))
    except ValueError:
        return None
    if event is ServerEvent.STATE_CHANGE and entry.get("field") != "draining":
        return None
    count = {ServerEvent.GOAWAY: "connections",
             ServerEvent.STOP_LISTENING: "told_to_close"}.get(event)
    value = entry.get(count) if count else None
    return event, value if isinstance(value, int) else None
