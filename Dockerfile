# Pipeline image: the locked environment plus the code; data, models and mlruns come from volumes
# or DVC remotes. Build: docker build -t inspection-mlops .
# Run:   docker run --rm -v $PWD:/work -w /work inspection-mlops            (whole pipeline)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv UV_LINK_MODE=copy \
    PATH=/opt/venv/bin:$PATH TF_USE_LEGACY_KERAS=1 GX_ANALYTICS_ENABLED=false
RUN apt-get update && apt-get install -y --no-install-recommends git libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* && pip install --no-cache-dir uv

WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .

CMD ["python", "-m", "flows.pipeline"]
