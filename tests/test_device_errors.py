"""A device error reads as a whole sentence, naming the device at its end."""

from __future__ import annotations

import asyncssh
import pytest

from jobdesk.devices.errors import map_error
from jobdesk.runtime.driver import Unreachable
from jobdesk.store.records import DeviceRecord

DEVICE = DeviceRecord(id=1, name="r7", host="10.0.0.7", port=22, user="admin",
                      profile="generic", tags=())


@pytest.mark.parametrize("error", [
    asyncssh.ConnectionLost("gone"),
    asyncssh.DisconnectError(asyncssh.DISC_BY_APPLICATION, "bye"),
    asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, "no"),
])
@pytest.mark.parametrize("action", ["connecting to", "uploading to"])
def test_a_lost_connection_names_the_device_it_was_talking_to(error: Exception,
                                                              action: str) -> None:
    mapped = map_error(error, DEVICE, action)
    assert isinstance(mapped, Unreachable)
    assert f"while {action} r7 (10.0.0.7:22)" in str(mapped)
    assert not str(mapped).rstrip().endswith(("to", "while"))
