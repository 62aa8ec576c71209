# meshkg: build the graph of the seeds in this image and check it.
#   docker build -t meshkg . && docker run --rm meshkg
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 meshkg
WORKDIR /home/meshkg/app

COPY pyproject.toml README.md ./
COPY app ./app
COPY ontology ./ontology
COPY shapes ./shapes
RUN pip install . && rm -rf /root/.cache

COPY seeds ./seeds
USER meshkg

CMD ["sh", "-c", "meshkg build seeds -o /tmp/graph.ttl && meshkg validate seeds --level warning"]
