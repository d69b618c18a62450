"""The SSH driver's transport: the cheapest cipher the device offers (and still a connection
with a device that offers only the others), and connections freed as soon as they close."""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from jobdesk.store.records import DeviceRecord
from tests.sim_fixtures import make_driver


class _OpenServer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return False  # no credentials needed: the test is about the transport


async def _device(**options: Any) -> tuple[asyncssh.SSHAcceptor, DeviceRecord]:
    """An SSH server on loopback that lets anyone in, and the device record to reach it."""
    server = await asyncssh.listen(
        "127.0.0.1", 0, server_factory=_OpenServer,
        server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")], **options,
    )
    port = server.sockets[0].getsockname()[1]
    return server, DeviceRecord(id=1, name="gw", host="127.0.0.1", port=port, user="admin",
                                profile="generic-linux", tags=())


@pytest.mark.parametrize(("offered", "agreed"), [
    (None, "aes128-gcm@openssh.com"),
    (["chacha20-poly1305@openssh.com"], "chacha20-poly1305@openssh.com"),
    (["aes256-ctr"], "aes256-ctr"),
])
def test_the_driver_agrees_on_the_cheapest_cipher_the_device_offers(
    tmp_path: Path, offered: list[str] | None, agreed: str
) -> None:
    async def scenario() -> tuple[str, str]:
        options = {"encryption_algs": offered} if offered else {}
        server, device = await _device(**options)
        driver = make_driver(tmp_path)
        try:
            session = await driver.connect(device, timeout=5)
            ciphers = (session.conn.get_extra_info("send_cipher"),
                       session.conn.get_extra_info("recv_cipher"))
            await session.close()
            return ciphers
        finally:
            await driver.aclose()
            server.close()
            await server.wait_closed()

    assert asyncio.run(scenario()) == (agreed, agreed)


async def _echo(process: asyncssh.SSHServerProcess) -> None:
    process.stdout.write("ok\n")
    process.exit(0)


def test_a_closed_connection_is_freed_without_the_garbage_collector(tmp_path: Path) -> None:
    """The collector's full passes hold the interpreter (and the window's thread) for tens of
    ms when hundreds of connections wait in them; a connection that ran commands and closed
    must be freed by reference counting alone."""

    async def scenario() -> tuple[str, bool]:
        server, device = await _device(process_factory=_echo)
        driver = make_driver(tmp_path)
        try:
            session = await driver.connect(device, timeout=5)
            output = (await session.run("echo ok", timeout=5)).output
            conn = session.conn
            await session.close()
            await conn.wait_closed()
            gone = weakref.ref(conn)
            del session, conn
            return output, gone() is None
        finally:
            await driver.aclose()
            server.close()
            await server.wait_closed()

    gc.disable()
    try:
        output, freed = asyncio.run(scenario())
    finally:
        gc.enable()
    assert output == "ok\n"
    assert freed
