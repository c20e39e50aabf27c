"""What the server and its clients agree on beyond the seeds' bodies."""

from __future__ import annotations

import enum

# Every answer names the pod that gave it, so a client can tell which pod (and so which
# ReplicaSet) answered during a rollout; `probe-demo check` draws its timeline from it.
# gRPC answers carry it as metadata, in lower case as HTTP/2 wants.
POD_HEADER = "X-Probe-Demo-Pod"


class ServerEvent(enum.StrEnum):
    """The server's log events (the `event` field of a log line) that `probe-demo check`
    reads from the pod's log and draws on the pod's lane."""

    LISTENING = "listening"
    STATE_CHANGE = "state_change"  # field=draining value=true: the drain began
    DRAIN_CUT_SHORT = "drain_cut_short"
    GOAWAY = "goaway"  # gRPC: every connection told to go away (connections=N)
    STOP_LISTENING = "stop_listening"  # told_to_close=N HTTP connections during the drain
    STOPPED = "stopped"
