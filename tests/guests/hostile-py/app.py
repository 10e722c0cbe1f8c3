"""A demo pack in Python written by someone who means harm, or by someone
careless: the Python half of the hostile suite (tests/hostile_py.rs). Each
chapter tries one thing the sandbox must stop and reports what happened as
the chapter's error, so the test reads, in the transcript, that the sandbox
held (and would read `LEAKED` if it did not). The interpreter inside the
component changes nothing: the host's limits are the same.

Built by scripts/build-flows.sh (and by the test) with guest-sdk-py/build.sh.
"""

import itertools
import os
import sys

from guest_sdk import (
    Chapter,
    ClusterError,
    FaultAction,
    Flow,
    FlowInfo,
    Failed,
    ShapeSpec,
    Target,
    cluster,
    export_flow,
    narration,
    probe,
)

#: A file the test plants on the presenter's machine; reading it is a leak.
SECRET_FILE = "/tmp/pyhostile-secret.txt"
#: A listener the test opens; a connection to it would be a leak.
TEST_LISTENER = ("127.0.0.1", 24873)
#: The containers of the bystander project, in docker-compose v1 and v2 names.
OTHER_PROJECT_CONTAINERS = ("pyhostileother_etcd1_1", "pyhostileother-etcd1-1")
#: What this pack states it needs; the memory bomb runs into it.
MEMORY_MIB = 40


def outcome(action):
    try:
        node = action()
    except ClusterError as e:
        return e.message
    return f"LEAKED: acted on {node.container}"


def attempt(what):
    """`what()`'s result, or the exception it raised, as one short text."""
    try:
        return what()
    except BaseException as e:  # noqa: BLE001 - reporting is the point
        return f"{type(e).__name__}: {e}"


def read(path):
    with open(path, "rb") as f:
        return f"LEAKED ({len(f.read())} bytes)"


def write_planted():
    with open("planted.txt", "w") as f:
        f.write("x")
    return "LEAKED"


def list_root():
    # The component's own embedded files may be visible; the presenter's
    # are not: a directory of the host's root would be a leak.
    entries = sorted(os.listdir("/"))
    host_dirs = {"etc", "root", "home", "proc", "usr", "var", "tmp", "work"}
    leaked = " LEAKED" if host_dirs & set(entries) else ""
    return f"{len(entries)} entries {entries[:8]}{leaked}"


class Hostile(Flow):
    def describe(self):
        info = (
            FlowInfo("hostile-py", "0.1.0")
            .description("Misbehaves on purpose, one way per chapter (Python)")
            .grant_faults("etcd1", [FaultAction.KILL])
            .memory_mib(MEMORY_MIB)
        )
        for title, action in [
            ("Open files", self.open_files),
            ("Read env", self.read_env),
            ("Open sockets", self.open_sockets),
            ("Run a command", self.run_command),
            ("Undeclared service", self.undeclared),
            ("Other project", self.other_project),
            ("Uncaught exception", self.uncaught),
            ("Memory bomb", self.memory_bomb),
            ("Spin", self.spin),
            ("Spin in a builtin", self.spin_builtin),
            ("Giant narration", self.giant_narration),
            ("Huge peer list", self.huge_peer_list),
            ("Lifting flood", self.lifting_flood),
            ("Ambiguous probe paths", self.ambiguous_probe_paths),
            ("Still here", self.still_here),
        ]:
            info.chapter(Chapter(title).narration(f"Trying: {title}").action(action))
        return info

    def open_files(self):
        report = [f"{path}: {attempt(lambda: read(path))}" for path in (SECRET_FILE, "/etc/passwd", "/proc/self/environ", ".")]
        report.append(f"write: {attempt(write_planted)}")
        report.append(f"list /: {attempt(list_root)}")
        raise Failed("files: " + "; ".join(report))

    def read_env(self):
        names = sorted(os.environ)
        leaked = " LEAKED" if names or len(sys.argv) > 0 else ""
        secret = " LEAKED" if any("SECRET" in v for v in os.environ.values()) else ""
        raise Failed(
            f"env: {len(names)} variables, {len(sys.argv)} arguments, cwd {attempt(os.getcwd)}{leaked}{secret}"
        )

    def open_sockets(self):
        # componentize-py's standard library may leave `socket` out; then
        # the C module under it is tried, which would reach WASI's sockets
        # (the host grants no network).
        def sockets():
            try:
                import socket
            except ImportError:
                import _socket as socket
            return socket

        def tcp():
            s = sockets().socket(sockets().AF_INET, sockets().SOCK_STREAM)
            s.settimeout(2)
            s.connect(TEST_LISTENER)
            return "LEAKED"

        def udp():
            sockets().socket(sockets().AF_INET, sockets().SOCK_DGRAM).bind(("127.0.0.1", 0))
            return "LEAKED"

        def dns():
            # A bytes name needs no `idna` codec, so the lookup reaches WASI.
            return f"LEAKED {sockets().getaddrinfo(b'localhost', 80)[0][4]}"

        host, port = TEST_LISTENER
        raise Failed(
            f"sockets: tcp {host}:{port}: {attempt(tcp)}; udp bind: {attempt(udp)}; dns localhost: {attempt(dns)}"
        )

    def run_command(self):
        def system():
            status = os.system("touch /tmp/pyhostile-command-ran")
            return f"exit status {status}"

        def subprocess_run():
            import subprocess

            subprocess.run(["touch", "/tmp/pyhostile-command-ran"], check=False)
            return "LEAKED"

        raise Failed(f"commands: os.system: {attempt(system)}; subprocess: {attempt(subprocess_run)}")

    def undeclared(self):
        etcd1 = Target.service("etcd1")
        spec = ShapeSpec(delay_ms=500)
        raise Failed(
            "undeclared: "
            f"kill etcd2 → {outcome(lambda: cluster.kill(Target.service('etcd2'), 'SIGKILL'))}; "
            f"pause etcd1 → {outcome(lambda: cluster.pause(etcd1))}; "
            f"shape etcd1 → {outcome(lambda: cluster.shape(etcd1, spec))}; "
            f"shape etcd1 towards etcd2 → {outcome(lambda: cluster.shape(etcd1, ShapeSpec(delay_ms=500, towards=['etcd2'])))}; "
            f"isolate etcd1 → {outcome(lambda: cluster.isolate(etcd1, ['etcd2', 'etcd3']))}; "
            f"stop etcd1 → {outcome(lambda: cluster.stop(etcd1, 0))}"
        )

    def other_project(self):
        said = [
            f"kill {name} → {outcome(lambda: cluster.kill(Target.id(name), 'SIGKILL'))}"
            for name in OTHER_PROJECT_CONTAINERS
        ]
        raise Failed("other project: " + "; ".join(said))

    def uncaught(self):
        # Not a Failed: a bug. The SDK turns it into the chapter's error.
        return {"leader": None}["follower"]

    def memory_bomb(self):
        hoard = []
        while True:
            # Written to, so the pages are really used.
            hoard.append(bytearray(b"\xab") * (1 << 20))

    def spin(self):
        x = 0
        while True:
            x += 1

    def spin_builtin(self):
        # The loop runs inside the interpreter's C code, not in Python
        # bytecode: the host's compute clock stops it all the same.
        sum(itertools.count())

    def giant_narration(self):
        # Over what one call may hand the host: refused before it is copied.
        narration.set("y" * (6 << 20))

    def huge_peer_list(self):
        # 100 000 one-letter names: the list alone is over one call's budget.
        raise Failed(outcome(lambda: cluster.isolate(Target.service("etcd1"), ["a"] * 100_000)))

    def lifting_flood(self):
        # Under one call's budget each time, as fast as it goes: paced, and
        # the pace is busy time, so it is stopped like a spin.
        peers = ["b" * 100_000] * 15
        for _ in range(1_000_000):
            try:
                cluster.isolate(Target.service("etcd1"), peers)
            except ClusterError:
                pass
        raise Failed("LEAKED: the lifting flood ran to its end")

    def ambiguous_probe_paths(self):
        # Spellings that lenient servers read as `..` though the URL standard
        # does not: refused by the host's parser before anything is sent.
        base = "http://127.0.0.1:24879/allowed/"
        paths = [
            "..%c0%ae/x",  # overlong UTF-8
            "%u002e%u002e/x",  # IIS %u
            "..%00/x",  # encoded NUL
            "..%09/x",  # encoded TAB
            "\uff0e\uff0e/x",  # fullwidth dots
            "%e2%80%a4%e2%80%a4/x",  # one-dot leaders, encoded
            "%252e%252e/x",  # read as `..` after a second decoding
            "..;/x",  # Tomcat's path parameter
        ]
        report = []
        for i, path in enumerate(paths):
            got = attempt(lambda: probe.http_get(base + path, 0.5))
            # The error is cut at 2 KiB: a refusal by the parser (it says
            # what to write instead) is reported short, anything else whole.
            if "probe not permitted" in got and "; write " in got:
                got = "parser refused: " + got[:80]
            report.append(f"ambiguous {i} => {got}")
        raise Failed(" | ".join(report))

    def still_here(self):
        narration.set("still here after every attack")


export_flow(Hostile)
