"""The team setup on loopback, for the integration tests: a throwaway PostgreSQL cluster, a
standalone S3 server (moto) and an MLflow tracking server using both (runs and registry in
PostgreSQL, artifacts proxied to S3).

Each server listens on 127.0.0.1 on a free port, keeps its files in a temporary folder and is
stopped when its context exits. PostgreSQL comes from Debian's ``postgresql`` package (``.ci/run``
installs it); when its binaries are missing, the tests that need it are skipped with the reason.
PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.helpers import clean_env, free_port, server

# moto accepts any credentials; they only have to be present and the same for every client
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
DB_NAME = "mlflow"


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL's bin folder, or None when it is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def require_postgres() -> Path:
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)")
    return bin_dir


@dataclass
class Postgres:
    """A PostgreSQL cluster of its own in ``base``; ``uri`` names the ``mlflow`` database."""

    bin_dir: Path
    base: Path
    port: int

    @property
    def uri(self) -> str:
        # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; the driver installed is psycopg2
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{DB_NAME}"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:  # the server will not run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            log = self.base / "postgres.log"
            raise RuntimeError(
                f"{tool} {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n"
                + (log.read_text()[-3000:] if log.exists() else "")
            )
        return proc

    def start(self) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} -c fsync=off -c full_page_writes=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.base / "data"),
            "-l",
            str(self.base / "postgres.log"),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.base / "data"), "-m", "fast", "-w", "stop")

    def connect(self):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=DB_NAME)

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            rows = cur.fetchall()
        conn.close()
        return rows


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A fresh cluster (``initdb``, trust auth on loopback only) with an empty ``mlflow`` database."""
    bin_dir = require_postgres()
    base = Path(tempfile.mkdtemp(prefix="pg-team-"))  # not under pytest's 0700 tmp: postgres must reach it
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    pg = Postgres(bin_dir, base, free_port())
    try:
        pg._run(
            "initdb",
            "-D",
            str(base / "data"),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        pg.start()
        try:
            import psycopg2

            conn = psycopg2.connect(host="127.0.0.1", port=pg.port, user="postgres", dbname="postgres")
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {DB_NAME}")
            conn.close()
            yield pg
        finally:
            with contextlib.suppress(RuntimeError):  # already stopped by the test
                pg.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@dataclass(frozen=True)
class S3:
    endpoint: str

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
            region_name=S3_ENV["AWS_DEFAULT_REGION"],
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    @property
    def env(self) -> dict[str, str]:
        """What a client (MLflow server, DVC) needs in its environment to reach this S3."""
        return {**S3_ENV, "MLFLOW_S3_ENDPOINT_URL": self.endpoint, "AWS_ENDPOINT_URL": self.endpoint}


@contextmanager
def s3_server(cwd: Path, buckets: tuple[str, ...] = ()) -> Iterator[S3]:
    """moto's standalone S3 server (in memory) with ``buckets`` created."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with server(cmd, f"{endpoint}/moto-api/", cwd, clean_env(**S3_ENV)):
        s3 = S3(endpoint)
        for bucket in buckets:
            s3.client().create_bucket(Bucket=bucket)
        yield s3


@contextmanager
def mlflow_team_server(
    cwd: Path, pg: Postgres, s3: S3, bucket: str, prefix: str = "mlartifacts", timeout_s: float = 180
) -> Iterator[str]:
    """``mlflow server`` with the PostgreSQL backend store and proxied artifacts in ``s3://bucket/prefix``;
    yields its URL. Clients need no S3 credentials: artifacts go through the server. MLflow's
    background job runner (seven huey processes, for GenAI features this project does not use) is off."""
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        pg.uri,
        "--artifacts-destination",
        f"s3://{bucket}/{prefix}",
        "--workers",
        "1",
    ]
    start = time.monotonic()
    from components.servers import local_server

    log = cwd / f"server-mlflow-{port}.log"
    env = clean_env(**s3.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    with local_server(cmd, f"{uri}/health", cwd=cwd, env=env, log_path=log, timeout_s=timeout_s):
        print(f"mlflow server on PostgreSQL + S3 ready in {time.monotonic() - start:.1f} s")
        yield uri


@contextmanager
def prefect_api(cwd: Path, timeout_s: float = 300) -> Iterator[str]:
    """A Prefect API server with its own database in ``cwd``; yields its API URL, for this process
    (``temporary_settings``) and for flows run as subprocesses (``PREFECT_API_URL``)."""
    from components.servers import local_server

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = clean_env(PREFECT_HOME=str(cwd / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with local_server(
        cmd, f"{api}/health", cwd=cwd, env=env, log_path=cwd / f"server-prefect-{port}.log", timeout_s=timeout_s
    ):
        yield api
