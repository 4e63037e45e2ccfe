"""cloud-init data from a Secret: which keys, and one line naming the Secret and key (never a
value) for what cannot be used."""

from __future__ import annotations

import pytest

from agent.drivers.protocol import CloudInitData
from agent.volumes.cloud_init_secret import MAX_BYTES, CloudInitConfigError, from_secret
from atoll.clock import ManualClock
from tests.support.config_objects import make_secret
from tests.support.fake_api import FakeApi

INLINE = CloudInitData(user_data="", meta_data="instance-id: u-1\n")


@pytest.mark.parametrize(
    ("data", "user_data", "network_data"),
    [
        pytest.param({"userdata": b"#!/bin/sh\n"}, "#!/bin/sh\n", "", id="userdata-only-has-no-network-config"),
        pytest.param({"userData": b"#cloud-config\n", "networkData": b"version: 2\n"}, "#cloud-config\n",
                     "version: 2\n", id="camel-case-keys-as-kubevirt-reads-them"),
        pytest.param({"userdata": b"a", "userData": b"b", "networkdata": b"n"}, "a", "n",
                     id="the-lower-case-key-wins-when-both-are-there"),
    ],
)
async def test_user_data_and_network_config_come_from_the_secret_and_meta_data_stays(
    data: dict[str, bytes], user_data: str, network_data: str
) -> None:
    api = await FakeApi(ManualClock()).setup()
    await api.create(make_secret("seed", **data))
    found = await from_secret(api, "default", "seed", INLINE)
    assert found == CloudInitData(user_data=user_data, meta_data=INLINE.meta_data, network_data=network_data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(None, "cloudInit: secret 'seed' not found", id="a-missing-secret"),
        pytest.param({"other": b"x"}, "cloudInit: secret 'seed' has no key 'userdata' (or 'userData')",
                     id="no-user-data-key"),
        pytest.param({"userdata": b"\xff\xfe"}, "cloudInit: secret 'seed' key 'userdata' is not UTF-8 text",
                     id="binary-user-data"),
        pytest.param({"userdata": b"x", "networkData": b"y" * (MAX_BYTES + 1)},
                     f"cloudInit: secret 'seed' key 'networkData' is {MAX_BYTES + 1} bytes; at most {MAX_BYTES}",
                     id="network-config-over-the-inline-limit"),
    ],
)
async def test_what_cannot_be_used_is_one_line_naming_secret_and_key(
    data: dict[str, bytes] | None, message: str
) -> None:
    api = await FakeApi(ManualClock()).setup()
    if data is not None:
        await api.create(make_secret("seed", **data))
    with pytest.raises(CloudInitConfigError) as raised:
        await from_secret(api, "default", "seed", INLINE)
    assert str(raised.value) == message
    assert raised.value.reason == "CloudInitConfigError"
