"""decode: BER-TLV as a tree with names, formats and decoded values, from
the kernel's dictionary and renderers; malformed input raises TlvError with
the kernel's message and byte offset."""

import pytest

import emv_kernel
from emv_kernel import TlvError


def test_select_response_tree():
    [fci] = emv_kernel.decode("6F 0E 84 07 A0000000031010 A5 03 87 01 01")
    assert fci["tag"] == "6F"
    assert fci["name"] == "File Control Information (FCI) Template"
    assert fci["constructed"] is True
    df_name, proprietary = fci["children"]
    assert df_name["tag"] == "84"
    assert df_name["name"] == "Dedicated File (DF) Name"
    assert df_name["format"] == "b"
    assert df_name["offset"] == 2
    assert df_name["length"] == 7
    assert df_name["data"] == bytes.fromhex("A0000000031010")
    assert df_name["value"] == "A0 00 00 00 03 10 10"
    assert proprietary["children"][0]["name"] == "Application Priority Indicator"


def test_bit_fields_and_afl_are_decoded():
    [template] = emv_kernel.decode(bytes.fromhex("770A82021980940408010301"))
    aip, afl = template["children"]
    assert "CDA supported" in aip["details"]
    assert "Cardholder verification is supported" in aip["details"]
    assert afl["details"] == ["SFI 1, records 1-3, 1 for offline data authentication"]


def test_text_tree_is_the_command_lines():
    text = emv_kernel.decode_text("6F0E8407A0000000031010A503870101")
    assert text == (
        "6F File Control Information (FCI) Template\n"
        "  84 Dedicated File (DF) Name [b 7]: A0 00 00 00 03 10 10\n"
        "  A5 File Control Information (FCI) Proprietary Template\n"
        "    87 Application Priority Indicator [b 1]: 01\n"
    )


def test_padding_between_objects_is_skipped():
    nodes = emv_kernel.decode(bytes.fromhex("9F270140 00 FF 9F360200 11"))
    assert [n["tag"] for n in nodes] == ["9F27", "9F36"]


@pytest.mark.parametrize(
    "data, kind, offset",
    [
        ("6F 10 84 07", "length_beyond_input", 0),
        ("6F 03 84 05 A0", "length_beyond_input", 2),
        ("9F", "truncated_tag", 0),
        ("9F27 81", "truncated_length", 2),
        ("5A 80 00", "length_too_long", 1),
    ],
)
def test_malformed_input_names_the_error_and_offset(data, kind, offset):
    with pytest.raises(TlvError) as raised:
        emv_kernel.decode(data)
    error = raised.value
    assert isinstance(error, emv_kernel.EmvError)
    assert error.kind == kind
    assert error.offset == offset
    assert str(error).startswith("malformed TLV: ")
    assert f"at offset {offset}" in str(error)


def test_nesting_beyond_the_kernels_limit_is_an_error_not_a_crash():
    data = b""
    for _ in range(40):
        data = bytes([0x70, len(data)]) + data if len(data) < 128 else bytes([0x70, 0x81, len(data)]) + data
    with pytest.raises(TlvError) as raised:
        emv_kernel.decode(data)
    assert raised.value.kind == "nesting_too_deep"


def test_not_hex_and_wrong_types():
    with pytest.raises(ValueError):
        emv_kernel.decode("6G")
    with pytest.raises(TypeError):
        emv_kernel.decode(12)  # type: ignore[arg-type]
