"""`probe-demo serve`: the server variants, one process that is the container's PID 1
(Flask under waitress for HTTP, gRPC health over h2). Imports neither client/ nor check/."""
