# meshkg: serve the graph of the seeds in this image (SPARQL, JSON API, linked data, dumps).
#   docker build -t meshkg . && docker run --rm -p 8000:8000 meshkg
# The snapshot is built into the image, so a container answers its first query in about a second.
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
RUN meshkg validate seeds --level warning \
    && meshkg build seeds --store /home/meshkg/store \
    && chown -R meshkg /home/meshkg/store
USER meshkg

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"
CMD ["meshkg", "serve", "seeds", "--store", "/home/meshkg/store", "--host", "0.0.0.0", "--port", "8000"]
