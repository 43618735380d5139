"""A throw-away PostgreSQL server on loopback for the tests, from the Debian server binaries.

The server runs from a temporary data directory with password authentication
over TCP (scram-sha-256), so the tests exercise the real path: csreport gets a
URL without password and libpq takes the password from ``PGPASSWORD``. PostgreSQL
refuses to run as root, so under root (CI) the server runs as the ``postgres``
system user that the Debian package creates.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = ("PostgreSQL server binaries (initdb, pg_ctl) are needed by the tests: install them with "
                "'apt-get install postgresql' (Debian/Ubuntu), or point CSREPORT_PG_BIN at their folder.")
USER, PASSWORD = "csreport", "test-only-secret"


def find_bin() -> Path:
    """The folder of initdb/pg_ctl: CSREPORT_PG_BIN, else the newest /usr/lib/postgresql/*/bin, else PATH."""
    candidates = [os.environ.get("CSREPORT_PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    on_path = shutil.which("initdb")
    candidates.append(str(Path(on_path).parent) if on_path else "")
    for folder in candidates:
        if folder and (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    raise RuntimeError(INSTALL_HINT)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    port: int
    folder: Path
    bin: Path
    run_as: int | None

    def url(self, database: str = "postgres", schema: str | None = None) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}" + (f"?schema={schema}" if schema else "")

    def conninfo(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={USER} password={PASSWORD} dbname={database}"

    def stop(self) -> None:
        subprocess.run([self.bin / "pg_ctl", "-D", self.folder / "data", "-m", "immediate", "stop"],
                       capture_output=True, user=self.run_as)
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> Server:
    """initdb + pg_ctl start on a free loopback port; returns when the server accepts connections."""
    binaries = find_bin()
    run_as = None
    folder = Path(tempfile.mkdtemp(prefix="csreport-pg-"))
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise RuntimeError("running as root and there is no 'postgres' user to run the test server as; "
                               + INSTALL_HINT) from exc
        run_as = account.pw_uid
        os.chown(folder, account.pw_uid, account.pw_gid)
    (pwfile := folder / "pw").write_text(PASSWORD)
    if run_as is not None:
        os.chown(pwfile, run_as, -1)
    data = folder / "data"
    subprocess.run([binaries / "initdb", "-D", data, "-U", USER, "--pwfile", pwfile, "--auth-host=scram-sha-256",
                    "--auth-local=trust", "-E", "UTF8", "--locale=C"], check=True, capture_output=True, user=run_as)
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={folder} -c fsync=off"
    done = subprocess.run([binaries / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w", "start"],
                          capture_output=True, text=True, user=run_as)
    if done.returncode != 0:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        raise RuntimeError(f"the test PostgreSQL server did not start: {done.stderr}{log}")
    server = Server(port, folder, binaries, run_as)
    deadline = time.monotonic() + 30
    while subprocess.run([binaries / "pg_isready", "-h", "127.0.0.1", "-p", str(port)], capture_output=True).returncode:
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError("the test PostgreSQL server did not accept connections within 30 s")
        time.sleep(0.1)
    return server
