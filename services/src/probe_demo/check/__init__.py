"""`probe-demo check`: load through the Service while the Deployment is disrupted, and a
timeline that lines each lost request up with the pods and endpoints of that moment.

Needs the `check` extra (the Kubernetes Python client); the server never imports this.
"""
