"""Inventory CSV parsing and device validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobdesk.domain.inventory import InventoryError, make_device, parse_inventory_csv


def test_a_good_file_with_defaults_and_tags() -> None:
    parsed = parse_inventory_csv(
        "\ufeffname,host,port,user,profile,tags\n"
        "r1,10.0.0.1,,,,a;b; a\n"
        "\n"
        "gw-2,gw2.example.net,2222,root,generic-linux,\n"
    )
    assert parsed.rejected == []
    r1, gw = parsed.devices
    assert (r1.port, r1.user, r1.profile, r1.tags) == (22, "admin", "netmodule", ("a", "b"))
    assert (gw.host, gw.port, gw.user, gw.profile, gw.tags) == (
        "gw2.example.net", 2222, "root", "generic-linux", ()
    )


def test_columns_may_come_in_any_order_and_optional_ones_may_be_left_out() -> None:
    parsed = parse_inventory_csv("host,name\n10.0.0.1,r1\n")
    assert [(d.name, d.host, d.port) for d in parsed.devices] == [("r1", "10.0.0.1", 22)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("name,address\nr1,10.0.0.1\n", "missing column(s) host; unknown column(s) address"),
    ],
)
def test_a_bad_header_refuses_the_file(text: str, message: str) -> None:
    with pytest.raises(InventoryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_inventory_csv(text)


def test_each_bad_line_is_reported_with_its_number() -> None:
    parsed = parse_inventory_csv(
        "name,host,port\n"
        "r1,10.0.0.1,22\n"
        "r 2,10.0.0.2,22\n"
        "r3,,22\n"
        "r4,10.0.0.4,70000\n"
        "r5,10.0.0.5\n"
        "r1,10.0.0.6,22\n"
    )
    assert [d.name for d in parsed.devices] == ["r1"]
    assert [str(r) for r in parsed.rejected] == [
        "line 3: name 'r 2': use 1-63 letters, digits, '.', '_' or '-', starting with a "
        "letter or digit",
        "line 4: host '' is not a host name or IP address",
        "line 5: port 70000 is outside 1-65535",
        "line 6: 2 fields, the header has 3",
        "line 7: name 'r1' appears already on line 2",
    ]


def test_shell_metacharacters_never_pass_validation() -> None:
    for bad in ["r1;reboot", "$(id)", "r1 && x", "`x`"]:
        with pytest.raises(InventoryError):
            make_device(bad, "10.0.0.1")
        with pytest.raises(InventoryError):
            make_device("r1", bad)


@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_cleanly(text: str) -> None:
    try:
        parsed = parse_inventory_csv("name,host,port,user,profile,tags\n" + text)
    except InventoryError:
        return
    names = [d.name for d in parsed.devices]
    assert len(names) == len(set(names))
