"""A one-node SLURM cluster on this machine, started by hand for the cluster tests.

Debian's munge, slurmctld, slurmd and slurm-client (22.05), installed with apt when missing.
No systemd and no accounting: the daemons run in the foreground as our children, with every
file (config, state, spool, logs, PID files) in one scratch directory, and are stopped by PID.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("munge", "slurmctld", "slurmd", "slurm-client")
# srun inside a job finds its config only at the default path: Snakemake's jobstep executor
# strips SLURM_* variables (SLURM_CONF too) before it calls srun.
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by attnmem tests/cluster; removed when the test cluster stops\n"
BINARIES = ("munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "srun")


class Unavailable(RuntimeError):
    """This machine cannot host the test cluster (not root, no apt, install failed)."""


def ensure_installed() -> None:
    """Install the SLURM and munge packages with apt if any binary is missing."""
    if all(shutil.which(b) for b in BINARIES):
        return
    if os.geteuid() != 0:
        raise Unavailable("SLURM is not installed and installing it needs root")
    if not shutil.which("apt-get"):
        raise Unavailable("SLURM is not installed and apt-get is not available")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        result = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise Unavailable(f"{' '.join(cmd)} failed: {result.stderr[-500:]}")


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024 - 1024  # leave the OS a GiB
    raise Unavailable("cannot read /proc/meminfo")


SLURM_CONF = """\
ClusterName=attnmem-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
# Keep finished jobs visible to squeue long enough for Snakemake to see them end.
MinJobAge=600
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
NodeName=localhost CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class Cluster:
    """The running cluster; ``env`` points SLURM's clients at it."""

    root: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.root / "slurm.conf")}

    def run(self, *cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env)

    def start(self, ctld_port: int = 16817, d_port: int = 16818) -> None:
        ensure_installed()
        for sub in ("state", "spool", "munge"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        conf = MARKER + SLURM_CONF.format(
            root=self.root,
            cpus=os.cpu_count(),
            memory=_memory_mb(),
            ctld_port=ctld_port,
            d_port=d_port,
        )
        if SYSTEM_CONF.exists() and not SYSTEM_CONF.read_text().startswith(MARKER):
            raise Unavailable(f"{SYSTEM_CONF} belongs to a real SLURM setup; not touching it")
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SYSTEM_CONF.write_text(conf)
        (self.root / "slurm.conf").write_text(conf)  # fmt: skip
        self._start_munge()
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.root / "slurm.conf")])
        # The node is named localhost, so slurmd must be told its name.
        self._spawn(
            "slurmd", ["slurmd", "-D", "-N", "localhost", "-f", str(self.root / "slurm.conf")]
        )
        self._wait_until_idle()

    def _start_munge(self) -> None:
        socket = Path("/run/munge/munge.socket.2")
        if socket.exists() and subprocess.run(["munge", "-n"], capture_output=True).returncode == 0:
            return  # a munged already serves this machine
        socket.parent.mkdir(parents=True, exist_ok=True)
        shutil.chown(socket.parent, "munge", "munge")
        self._spawn("munged", ["runuser", "-u", "munge", "--", "munged", "-F"])
        for _ in range(100):
            if subprocess.run(["munge", "-n"], capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        raise Unavailable("munged did not start")

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / f"{name}.out", "w")
        self.processes.append(
            subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        )

    def _wait_until_idle(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self.run("sinfo", "-h", "-o", "%T").stdout.strip()
            if state == "idle":
                return
            for process in self.processes:
                if process.poll() is not None:
                    raise Unavailable(f"{process.args[0]} exited: {self.logs()}")
            time.sleep(0.5)
        raise Unavailable(f"the node did not become idle (state {state!r}): {self.logs()}")

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(self.root.glob("*.out"))
        )

    def stop(self) -> None:
        """Stop what we started, by PID, newest first."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()
        if SYSTEM_CONF.exists() and SYSTEM_CONF.read_text().startswith(MARKER):
            SYSTEM_CONF.unlink()
