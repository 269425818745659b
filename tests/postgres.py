"""A throwaway PostgreSQL cluster for the tests, started from the installed server binaries."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def find_pg_bin() -> Path | None:
    """Return the directory of initdb/pg_ctl (KORONA_PG_BIN, Debian's layout, or PATH)."""
    if configured := os.environ.get("KORONA_PG_BIN"):
        return Path(configured)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    """A running cluster listening on a private Unix socket only."""

    bin_dir: Path
    root: Path
    port: int
    as_postgres_user: bool
    max_connections: int = 50

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_postgres_user:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> None:
        data = self.root / "data"
        self.socket_dir.mkdir(parents=True)
        if self.as_postgres_user:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.socket_dir, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off "
            f"-c max_connections={self.max_connections}"
        )
        self._run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(max_connections: int = 50) -> PostgresCluster:
    """Start a new cluster or raise RuntimeError saying what is missing.

    ``max_connections`` is raised by benchmarks/load.py, whose server workers each keep a pool.
    """
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL server binaries not found: install Debian's 'postgresql' package "
            "(make test does, through scripts/system-deps.sh) or set KORONA_PG_BIN"
        )
    root = Path(tempfile.mkdtemp(prefix="korona-pg-"))
    os.chmod(root, 0o755)
    cluster = PostgresCluster(
        bin_dir,
        root,
        _free_port(),
        as_postgres_user=os.geteuid() == 0,
        max_connections=max_connections,
    )
    try:
        cluster.start()
    except subprocess.CalledProcessError as error:
        log = root / "log"
        detail = log.read_text() if log.exists() else error.stderr
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {detail}") from error
    return cluster
