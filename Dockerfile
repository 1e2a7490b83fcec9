# UnlearnScope backend (API, worker processes) and the static page, on a CUDA PyTorch base.
#
# The base image's torch must be the version pinned in pyproject.toml (torch==2.14.1, whose
# PyPI wheels are built for CUDA 13.0), so that pip finds it installed and does not pull a
# second copy. When you change the pin, change this tag with it.
ARG BASE_IMAGE=pytorch/pytorch:2.14.1-cuda13.0-cudnn9-runtime
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UNLEARNSCOPE_HOST=0.0.0.0 \
    UNLEARNSCOPE_PORT=8000 \
    UNLEARNSCOPE_HOME=/data \
    UNLEARNSCOPE_DATA_DIR=/data/datasets \
    UNLEARNSCOPE_FRONTEND_DIR=/app/frontend

WORKDIR /app
COPY pyproject.toml README.md ./
COPY backend ./backend
# EXTRAS: optional extras, e.g. "[ray,postgres]" for the compose profile `cluster`.
ARG EXTRAS=""
RUN pip install ".${EXTRAS}" \
 && python -c "import torch, torchvision, unlearnscope; print('torch', torch.__version__)"
COPY frontend ./frontend

# Run as an unprivileged user; /data (database, artifacts, caches, data sets) is the volume.
RUN useradd --create-home --uid 1000 unlearnscope \
 && mkdir -p /data/datasets \
 && chown -R unlearnscope /data
USER unlearnscope
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"]

CMD ["unlearnscope", "serve"]
