# Lockmaster itself: one image for `web`, `worker` and `db upgrade`.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /srv/lockmaster --uid 10001 lockmaster

WORKDIR /srv/lockmaster/app
COPY requirements.txt pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN pip install --no-cache-dir --no-deps . && mkdir -p /var/lib/lockmaster \
 && chown lockmaster /var/lib/lockmaster

USER lockmaster
ENV LOCKMASTER_DATA_DIR=/var/lib/lockmaster LOCKMASTER_CONFIG=/etc/lockmaster/lockmaster.yml
EXPOSE 8000
CMD ["lockmaster", "web", "--host", "0.0.0.0", "--port", "8000"]
