# CPU image of the pipeline: the README's setup from the lock file, run as a non-root user.
# The setup lines are the ones .ci/run executes, so CI proves them even though no image is built here.
#   docker build -t inspection-mlops .
#   docker run --rm -v "$PWD":/home/app/repo inspection-mlops                    # whole pipeline
#   docker run --rm -e MLFLOW_TRACKING_URI=http://mlflow:5000 ... inspection-mlops  (see compose.yaml)
FROM python:3.11-slim

RUN apt-get update && apt-get install -y --no-install-recommends git libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 app
USER app
WORKDIR /home/app/repo

# the environment lives outside the repository folder, so mounting a checkout over it keeps it
ENV PYTHONUNBUFFERED=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/home/app/venv \
    PATH=/home/app/venv/bin:/home/app/.local/bin:$PATH
COPY --chown=app:app pyproject.toml uv.lock ./
# the same two steps as .ci/run and the README quick start
RUN python3 -m pip install --user --quiet uv && python3 -m uv sync --frozen --no-install-project
COPY --chown=app:app . .
# then the project itself (editable: components/, flows/, dashboard/, bench/ import from any folder)
RUN python3 -m uv sync --frozen

CMD ["python", "-m", "flows.pipeline"]
