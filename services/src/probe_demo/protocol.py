"""What the server and its clients agree on beyond the seeds' bodies."""

# Every answer names the pod that gave it, so a client can tell which pod (and so which
# ReplicaSet) answered during a rollout; `probe-demo check` draws its timeline from it.
POD_HEADER = "X-Probe-Demo-Pod"
