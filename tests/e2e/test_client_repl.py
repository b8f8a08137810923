"""test_client_repl.py — chalk-cli's REPL in a real terminal (tmux).

A person types into chalk-cli inside a tmux pane; the test reads the
screen back. It checks what only a terminal shows: the prompt, TAB
completion of a command name learned from the server, the argument hint
after a space, history (up-arrow and ~/.chalkcli_history), the (TX)
prompt inside MULTI, and that the REPL survives a server restart (the
next command reconnects) and a server that is down ("not connected>").
"""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from redis_peer import RedisPeer

CHALK_CLI = os.path.join(os.environ.get("CHALK_BIN_DIR", ""), "chalk-cli")

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Pane:
    def __init__(self, cmd, env):
        self.name = "chalkcli%d" % os.getpid()
        subprocess.run(["tmux", "kill-session", "-t", self.name],
                       capture_output=True)
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160",
                        "-y", "40", "env"] + ["%s=%s" % kv for kv in env.items()]
                       + cmd, check=True)

    def keys(self, *keys):
        subprocess.run(["tmux", "send-keys", "-t", self.name] + list(keys), check=True)

    def screen(self):
        return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-t", self.name],
                              capture_output=True, text=True).stdout

    def wait_for(self, text, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.screen()
            if text in s:
                return s
            time.sleep(0.05)
        raise AssertionError("%r never appeared; screen:\n%s" % (text, self.screen()))

    def close(self):
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def test_repl_in_a_terminal():
    home = tempfile.mkdtemp(prefix="chalk-repl-home-")
    hist = os.path.join(home, ".chalkcli_history")
    with RedisPeer() as peer:
        prompt = "127.0.0.1:%d> " % peer.port
        pane = Pane([CHALK_CLI, "-p", str(peer.port)],
                    {"HOME": home, "TERM": "xterm"})
        try:
            pane.wait_for(prompt)
            pane.keys("SET repl 42", "Enter")
            pane.wait_for("OK")
            # TAB completes a command name the REPL learned from the server.
            pane.keys("PIN", "Tab")
            pane.wait_for(prompt + "PING ")
            pane.keys("Enter")
            pane.wait_for("PONG")
            # A space after a command name shows its argument hint.
            pane.keys("GETRANGE", " ")
            pane.wait_for("key start end")
            pane.keys("C-u", "SET", " ")
            pane.wait_for("key value [NX|XX]")
            pane.keys("C-u", "Enter")
            # Up-arrow recalls history; the history file has the commands.
            pane.keys("Up")
            pane.wait_for(prompt + "PING")
            pane.keys("C-u")
            with open(hist) as f:
                saved = f.read()
            assert "SET repl 42" in saved or "SET\\040repl\\04042" in saved
            # MULTI shows (TX) in the prompt until EXEC/DISCARD.
            pane.keys("MULTI", "Enter")
            pane.wait_for("127.0.0.1:%d(TX)> " % peer.port)
            pane.keys("DISCARD", "Enter")
            pane.keys("clear", "Enter")
            pane.wait_for(prompt)
            # The server restarts (losing its data: no persistence): the
            # next command reconnects transparently.
            peer.restart()
            pane.keys("GET repl", "Enter")
            pane.wait_for("(nil)")
            # The server is down: the prompt says so; it comes back: reconnect.
            peer.stop()
            pane.keys("PING", "Enter")
            pane.wait_for("not connected> ")
            peer.start()
            pane.keys("ECHO back", "Enter")
            pane.wait_for('"back"')
            pane.keys("quit", "Enter")
        finally:
            pane.close()
            shutil.rmtree(home, ignore_errors=True)
