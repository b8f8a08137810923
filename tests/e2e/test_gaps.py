"""Gaps found by the qa-a audit, each with the behaviour Redis 7 has:
REPLICAOF/SLAVEOF gated like protected configs for non-local clients,
BGSAVE/SAVE/BGREWRITEAOF that really compact a small data set (the active
segment is sealed first), BGSAVE SCHEDULE, true INFO persistence fields,
and the 512 MiB proto-max-bulk-len boundary."""
import subprocess

import pytest
import redis

from chalk_harness import start_server


def non_loopback_ipv4():
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout
    for word in out.split():
        if "." in word and not word.startswith("127."):
            return word
    return None


# -- REPLICAOF from a non-local client --------------------------------------

@pytest.mark.parametrize("mode", ["local", "yes"])
def test_replicaof_gated_by_enable_protected_configs(mode):
    """Over a non-loopback address REPLICAOF and SLAVEOF are refused unless
    enable-protected-configs is yes; over loopback they always work."""
    addr = non_loopback_ipv4()
    if not addr:
        pytest.skip("no non-loopback IPv4 address on this machine")
    with start_server(bind=["127.0.0.1", addr], requirepass="pw",
                      enable_protected_configs=mode) as srv:
        remote = redis.Redis(host=addr, port=srv.port, password="pw")
        local = srv.client(password="pw")
        for name in ("REPLICAOF", "SLAVEOF"):
            if mode == "local":
                with pytest.raises(redis.ResponseError,
                                   match=f"{name} command not allowed. If the "
                                         "enable-protected-configs option"):
                    remote.execute_command(name, "NO", "ONE")
            else:
                assert remote.execute_command(name, "NO", "ONE") in (b"OK", "OK", True)
            assert local.execute_command(name, "NO", "ONE") in ("OK", True)
        assert local.execute_command("ROLE")[0] == "master"
        remote.close()
