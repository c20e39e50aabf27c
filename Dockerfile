# probe-demo: every server variant, the load client and the rollout check, one image for linux/amd64 and linux/arm64.
#   docker buildx build --platform linux/amd64,linux/arm64 -t probe-demo:0.3.0 .
# BASE_IMAGE is replaceable: `make image` builds offline FROM a debootstrap-made Debian base.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY services/pyproject.toml services/README.md ./
COPY services/src ./src
# An optional CA bundle for pip, for builds behind a TLS-inspecting proxy:
#   --secret id=pip-ca,src=/etc/ssl/certs/ca-certificates.crt
# Bytecode is compiled here, once: the root filesystem is read-only at run time, and
# compiling on every start would add most of a second to each container start.
RUN --mount=type=secret,id=pip-ca \
    if [ -f /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
    && python3 -m venv /opt/probe-demo \
    && /opt/probe-demo/bin/pip install --no-cache-dir --disable-pip-version-check ".[check]" \
    && /opt/probe-demo/bin/pip uninstall --yes pip setuptools \
    && python3 -m compileall -q -j 0 /opt/probe-demo

FROM ${BASE_IMAGE}
# curl for the seed-004 sidecar client and for helm test pods; no apt lists, caches or logs.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends curl=7.* \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
       /usr/share/doc/* /usr/share/man/* \
    && echo "probe-demo:x:10001:10001:probe-demo:/nonexistent:/usr/sbin/nologin" >> /etc/passwd \
    && echo "probe-demo:x:10001:" >> /etc/group
COPY --from=build /opt/probe-demo /opt/probe-demo
ENV PATH=/opt/probe-demo/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 8080 9090
# Exec form: the probe-demo server is PID 1 and receives the kubelet's SIGTERM itself.
# It writes only below /tmp, so the root filesystem can be read-only (mount /tmp writable).
ENTRYPOINT ["probe-demo"]
CMD ["serve"]
