"""The load client that counts every request during a rollout (`probe-demo client`)."""
