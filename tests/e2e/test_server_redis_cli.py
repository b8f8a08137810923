"""redis-cli against Chalk: commands as arguments, and interactively, where
its grey argument hints come from our COMMAND DOCS (Chalk's CLIENT KILL
documents fewer filters than Redis's, so the hint proves where it came
from). The interactive part runs redis-cli in tmux and reads the screen."""
import shutil
import subprocess
import time

import pytest

from chalk_harness import SLOW


def test_cli_arguments(server):
    assert server.cli("ping") == "PONG"
    assert server.cli("echo", "hello") == "hello"
    assert server.cli("dbsize") == "0"
    assert server.cli("debug", "populate", "3") == "OK"
    assert server.cli("dbsize") == "3"
    assert "redis_version:7.2.4" in server.cli("info", "server")
    assert server.cli("config", "get", "maxclients") == "maxclients\n10000"
    assert server.cli("nosuchcommand", check=False).startswith("ERR unknown command")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_interactive_hints_come_from_command_docs(server):
    session = f"chalk-cli-{server.port}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "20",
                    f"redis-cli -p {server.port}"], check=True)
    try:
        screen = ""
        deadline = time.time() + 10 * SLOW
        while f"127.0.0.1:{server.port}>" not in screen and time.time() < deadline:
            time.sleep(0.1)
            screen = subprocess.run(["tmux", "capture-pane", "-t", session, "-p"],
                                    capture_output=True, text=True).stdout
        subprocess.run(["tmux", "send-keys", "-t", session, "CLIENT KILL "], check=True)
        want = "[ip:port] [ID client-id] [ADDR addr] [LADDR laddr] [SKIPME skipme]"
        while want not in screen and time.time() < deadline:
            time.sleep(0.1)
            screen = subprocess.run(["tmux", "capture-pane", "-t", session, "-p"],
                                    capture_output=True, text=True).stdout
        assert want in screen, screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session])
