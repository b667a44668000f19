# Lockmaster itself: one image for `lockmaster web`, `lockmaster worker` and `lockmaster db upgrade`.
# BASE_IMAGE: any Debian 12 image with Python 3.11 (python:3.11-slim-bookworm by default; the
# tests use a debootstrapped Debian 12 minbase). For offline builds pass PIP_NO_INDEX=1 and
# PIP_FIND_LINKS=/srv/lockmaster/app/wheels with the wheels in ./wheels of the build context.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS

RUN if ! command -v git >/dev/null || ! python3 -c "import venv, ensurepip" 2>/dev/null; then \
      apt-get update \
      && apt-get install -y --no-install-recommends git ca-certificates python3-venv \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --system --create-home --home-dir /srv/lockmaster --uid 10001 lockmaster \
 && mkdir -p /var/lib/lockmaster /etc/lockmaster \
 && chown lockmaster /var/lib/lockmaster

WORKDIR /srv/lockmaster/app
COPY . .
RUN python3 -m venv /opt/lockmaster \
 && /opt/lockmaster/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.txt \
 && /opt/lockmaster/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps . \
 && rm -rf wheels

ENV PATH=/opt/lockmaster/bin:$PATH \
    LOCKMASTER_DATA_DIR=/var/lib/lockmaster \
    LOCKMASTER_CONFIG=/etc/lockmaster/lockmaster.yml
USER lockmaster
EXPOSE 8000
CMD ["lockmaster", "web", "--host", "0.0.0.0", "--port", "8000"]
