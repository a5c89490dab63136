# storj_monitor in a container: see docs/deploy.md (docker compose example in docs/deploy/).
FROM python:3.11-slim-bookworm
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && rm -rf /src \
    && useradd --system --home-dir /data --create-home storj_monitor
USER storj_monitor
WORKDIR /data
ENV STORJ_MONITOR_DB_PATH=/data/storj_monitor.db \
    STORJ_MONITOR_HOST=0.0.0.0
VOLUME ["/data"]
EXPOSE 8765
ENTRYPOINT ["storj_monitor"]
CMD ["--config", "/config/config.toml"]
