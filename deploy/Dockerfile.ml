# syntax=docker/dockerfile:1
# The ML worker: the slim image's code and dependencies plus the `ml` extra (torch, transformers,
# diffusers, onnxruntime), for engine llm, trained assistants and ad generation. Build from the
# repository root.
#
# CPU (the default):
#   docker build -f deploy/Dockerfile.ml -t aislestream-ml:0.1.0-cpu .
# CUDA 12.8: the cu128 torch wheel brings its CUDA libraries as pip packages, so the base stays
# python:3.11-slim; the host needs only the NVIDIA driver and container toolkit:
#   docker build -f deploy/Dockerfile.ml \
#     --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 \
#     -t aislestream-ml:0.1.0-cu128 .
#   docker run --gpus all --env-file deploy/aislestream.env \
#     -e AISLE_EXPANSION__ENGINE=llm aislestream-ml:0.1.0-cu128
# BASE_IMAGE may name another Debian-based image whose `python3.11` is `python` and `pip` on PATH
# (an nvidia/cuda runtime image with Python 3.11 installed, say): --build-arg BASE_IMAGE=...
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

# As deploy/Dockerfile: fixed uid, everything written goes to the data directory volume (model
# caches too, under HOME). The NVIDIA container runtime mounts the driver's compute libraries
# for the GPUs a container was given (`--gpus`, a Kubernetes nvidia.com/gpu limit); the image
# names no GPUs itself, so a container given none sees none. A CPU host ignores this.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AISLE_DATA_DIR=/var/lib/aisle \
    HOME=/var/lib/aisle \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
RUN groupadd --system --gid 10001 aisle \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/aisle \
        --shell /usr/sbin/nologin aisle \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/aisle
WORKDIR /app

# torch first, from the index of the wanted build: pyproject pins torch==2.13.0, which a CPU or
# CUDA build of that release satisfies, so the install below keeps it instead of pulling PyPI's.
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" torch==2.13.0
COPY deploy/constraints.txt deploy/constraints.txt
RUN pip install --no-cache-dir -r deploy/constraints.txt
COPY pyproject.toml README.md ./
COPY aislestream aislestream
RUN pip install --no-cache-dir -c deploy/constraints.txt "./[elasticsearch,postgres,ml]" \
    && pip check

USER 10001:10001
VOLUME ["/var/lib/aisle"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --retries=3 \
    CMD ["aisle", "health", "--max-age", "60"]
ENTRYPOINT ["aisle"]
CMD ["worker"]
