# The sample app's image: `python -m hpalab.sampleapp`, configured by HPALAB_APP_* variables.
#
#   docker build -t hpalab-sampleapp:dev .
#   kind load docker-image hpalab-sampleapp:dev          # no registry push for kind
#   hpalab up --platform kubernetes --app-image hpalab-sampleapp:dev EXPERIMENT
#
# Without an image, hpalab runs the same source from a ConfigMap in the stock python image and
# installs the two dependencies below in an init container (see docs/kubernetes.md). The pins
# are the same in both cases (hpalab/platforms/kubernetes/render_app.py, APP_REQUIREMENTS).

# In-cluster load workers (`docker build --target load`): Locust plus hpalab, whose locustfile
# and load job they run (hpalab/platforms/kubernetes/render_locust.py).
FROM python:3.12-slim AS load
COPY . /src
RUN pip install --no-cache-dir /src && useradd --uid 10001 --no-create-home load
USER 10001
ENTRYPOINT ["locust"]

# The sample app (the default target).
FROM python:3.12-slim AS app

RUN pip install --no-cache-dir aiohttp==3.14.5 prometheus-client==0.26.0 \
    && useradd --uid 10001 --no-create-home app

WORKDIR /app
COPY hpalab/__init__.py hpalab/__init__.py
COPY hpalab/sampleapp/ hpalab/sampleapp/

USER 10001
ENV HPALAB_APP_HOST=0.0.0.0 HPALAB_APP_PORT=8080 PYTHONUNBUFFERED=1
EXPOSE 8080
ENTRYPOINT ["python", "-m", "hpalab.sampleapp"]
