# reelforge: one image for the API (`reelforge serve`) and the workers (`reelforge worker`).
# Written for docs/deploy.md; NOT built or run on the development machines (no Docker engine there).
FROM python:3.11-slim

# ffmpeg renders every video; fonts come from the Python wheels
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 reelforge
# the cut-out model is installed at build time where the unprivileged user can read it
ENV REELFORGE_MODELS=/opt/reelforge/models
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install --no-cache-dir '.[service,postgres,storage,scale]' \
 && reelforge models install u2netp

USER reelforge
ENV REELFORGE_DATA_DIR=/data \
    REELFORGE_CACHE_DIR=/home/reelforge/.cache/reelforge \
    REELFORGE_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["reelforge"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
