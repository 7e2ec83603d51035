"""Trace replay, the configuration file and the capk.txt loader."""

import shutil

import pytest

import emv_kernel
from emv_kernel import CaKeyError, CaKeys, Config, ConfigError, SimulatedCard, Transaction


def test_replay_of_the_committed_cda_trace(root):
    result = emv_kernel.replay(root / "tests" / "traces" / "cda.trace")
    assert result.passed and not result.failed and result
    assert result.diff == ""
    assert result.outcome.decision == "approved"


def test_replay_of_every_committed_trace(root):
    results = emv_kernel.replay_all(root / "tests" / "traces")
    assert len(results) >= 40
    assert [r.path.name for r in results if r.failed] == []


def test_a_tampered_trace_fails_with_a_diff(root, tmp_path):
    original = (root / "tests" / "traces" / "cda.trace").read_text()
    lines = original.splitlines()
    # Change the recorded expected TVR: the APDUs match, the outcome does not.
    edited = [
        line.replace("tvr 0000000000", "tvr 0000008000") if line.startswith("expect") or " tvr " in line else line
        for line in lines
    ]
    assert edited != lines, "the trace format changed: adjust this test"
    path = tmp_path / "tampered.trace"
    path.write_text("\n".join(edited) + "\n")
    result = emv_kernel.replay(path)
    assert result.failed and not result.passed
    assert "tvr" in result.diff


def test_replay_errors(tmp_path):
    with pytest.raises(emv_kernel.TraceError):
        emv_kernel.replay(tmp_path / "missing.trace")
    bad = tmp_path / "bad.trace"
    bad.write_text("this is not a trace\n")
    with pytest.raises(emv_kernel.TraceError) as raised:
        emv_kernel.replay(bad)
    assert raised.value.line >= 0


def test_config_from_toml(root, ca_keys):
    config = Config.load(root / "docs" / "terminal.example.toml")
    assert config.currency_exponent == 2
    custom = Config.from_toml('[terminal]\ncurrency_code = "0840"\n')
    assert custom.currency_code == 840
    outcome = Transaction(config=custom, ca_keys=ca_keys, amount="12.50").run(SimulatedCard("cda").transmit)
    fields = {n["tag"]: n["data"] for n in emv_kernel.decode(outcome.icc_data)}
    assert fields["5F2A"] == bytes.fromhex("0840")


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError) as raised:
        Config.from_toml('[terminal]\ncapabilities = "E0F8"\n')
    assert raised.value.key == "terminal.capabilities"
    assert "terminal.capabilities" in str(raised.value)
    with pytest.raises(ConfigError):
        Config.from_toml("not = [toml")


def test_ca_keys_from_capk_txt(root):
    text = (root / "test-cards" / "keys" / "capk.txt").read_text()
    keys = CaKeys.from_capk_txt(text)
    # Four RSA keys and two elliptic-curve keys (XDA, P-256 and P-521).
    assert len(keys) == 6
    assert keys.keys[0] == ("A000000999", 1)
    assert CaKeys.test_capk_txt() == text
    doubled = CaKeys.from_capk_txt(text + text)
    assert len(doubled) == 6
    assert len(doubled.notices) == 6  # each key of the second copy replaces one


def test_a_bad_check_sum_names_the_line(root):
    lines = (root / "test-cards" / "keys" / "capk.txt").read_text().splitlines()
    keys = [i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")]
    broken = list(lines)
    last = broken[keys[1]]
    broken[keys[1]] = last[:-1] + ("0" if last[-1] != "0" else "1")
    with pytest.raises(CaKeyError) as raised:
        CaKeys.from_capk_txt("\n".join(broken))
    assert raised.value.line == keys[1] + 1


def test_without_the_ca_key_oda_fails(ca_keys):
    empty = CaKeys.from_capk_txt("")
    outcome = Transaction(ca_keys=empty, amount="12.50").run(SimulatedCard("cda").transmit)
    assert outcome.oda_result == "failed"
    assert outcome.oda_failure == "ca_key_not_found"
