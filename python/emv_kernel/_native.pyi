"""Type stubs of emv_kernel._native, the Rust extension module (PyO3).

Use it through the emv_kernel package, which re-exports these classes and
adds the clock, the random numbers and the run() loop.
"""

from os import PathLike
from pathlib import Path
from typing import Any, List, Optional, Tuple, Union, final

#: The kernel's version (the emv-kernel crate's).
KERNEL_VERSION: str
#: SHA-256 of the kernel's sources, manifest and features, computed at build time (64 hex digits).
KERNEL_CHECKSUM: str

__all__ = [
    "KERNEL_CHECKSUM",
    "KERNEL_VERSION",
    "CaKeyError",
    "CaKeys",
    "Candidate",
    "CardError",
    "ChooseApplication",
    "Config",
    "ConfigError",
    "Done",
    "EmvError",
    "EnterPin",
    "GoOnline",
    "IssuerReferral",
    "Message",
    "HostResponse",
    "Outcome",
    "PcscError",
    "PcscReader",
    "RecentAmount",
    "ReplayResult",
    "SimulatedCard",
    "TlvError",
    "TraceError",
    "Transaction",
    "Transmit",
    "UsageError",
    "decode",
    "decode_text",
    "profiles_table",
    "readers",
    "replay",
]

class EmvError(Exception):
    """Base class of every error of emv_kernel."""

class TlvError(EmvError):
    """Malformed BER-TLV."""

    offset: int
    """Byte offset of the error in the input."""
    kind: str
    """`truncated_tag`, `truncated_length`, `length_beyond_input`,
    `tag_too_long`, `length_too_long`, `nesting_too_deep` or `trailing_garbage`."""

class UsageError(EmvError):
    """An answer that does not fit the pending request, or invalid inputs."""

class ConfigError(EmvError):
    """The terminal configuration (TOML) is invalid."""

    key: Optional[str]
    """The dotted key, e.g. `application[2].aid`, when the error names one."""

class CaKeyError(EmvError):
    """A capk.txt line is invalid."""

    line: int
    """The line number, from 1."""

class CardError(EmvError):
    """The simulated card could not answer."""

class PcscError(EmvError):
    """The PC/SC service, reader or card failed."""

class TraceError(EmvError):
    """A trace file cannot be read or parsed."""

    line: int
    """The line, from 1; 0 for the whole file."""

def decode(data: bytes) -> List[dict[str, Any]]: ...
def decode_text(data: bytes) -> str: ...
def profiles_table() -> List[Tuple[str, str, str]]: ...
def replay(path: Union[str, PathLike[str]], capk_txt: Optional[str] = None) -> ReplayResult: ...
def readers() -> List[Tuple[str, bool]]:
    """The readers pcscd knows: (name, whether a card is present)."""

@final
class Config:
    """The terminal configuration (docs/configuration.md); `Config()` is the
    built-in default, which matches the simulated cards."""

    def __new__(cls) -> Config: ...
    @staticmethod
    def from_toml(text: str) -> Config: ...
    @staticmethod
    def load(path: Union[str, PathLike[str]]) -> Config: ...
    @property
    def currency_code(self) -> int: ...
    @property
    def currency_exponent(self) -> int: ...
    @property
    def aids(self) -> List[str]: ...

@final
class CaKeys:
    """CA public keys (check sums verified), room for 256."""

    @staticmethod
    def from_capk_txt(text: str, today: Optional[bytes] = None) -> CaKeys: ...
    @staticmethod
    def test_keys() -> CaKeys: ...
    @staticmethod
    def test_capk_txt() -> str: ...
    @property
    def keys(self) -> List[Tuple[str, int]]: ...
    @property
    def notices(self) -> List[str]: ...
    def __len__(self) -> int: ...

@final
class Outcome:
    """The result of a transaction."""

    @property
    def decision(self) -> str:
        """`approved`, `declined` or `terminated`."""
    @property
    def approved(self) -> bool: ...
    @property
    def termination_reason(self) -> Optional[str]:
        """`TerminationReason::code()`: `card_blocked`, `transport_failed`, ..."""
    @property
    def termination_message(self) -> Optional[str]: ...
    @property
    def online(self) -> bool: ...
    @property
    def authorisation_response_code(self) -> Optional[str]: ...
    @property
    def cryptogram_type(self) -> Optional[str]:
        """`TC`, `AAC` or `ARQC`."""
    @property
    def cryptogram(self) -> Optional[bytes]: ...
    @property
    def atc(self) -> Optional[int]: ...
    @property
    def tvr(self) -> bytes: ...
    @property
    def tvr_hex(self) -> str: ...
    @property
    def tvr_bits(self) -> List[str]: ...
    @property
    def tsi(self) -> bytes: ...
    @property
    def tsi_hex(self) -> str: ...
    @property
    def tsi_bits(self) -> List[str]: ...
    @property
    def cvm_results(self) -> bytes: ...
    @property
    def cvm_results_hex(self) -> str: ...
    @property
    def aid(self) -> bytes: ...
    @property
    def aid_hex(self) -> str: ...
    @property
    def application_label(self) -> str: ...
    @property
    def masked_pan(self) -> str: ...
    @property
    def oda_method(self) -> str:
        """`none`, `sda`, `dda` or `cda`."""
    @property
    def oda_result(self) -> str:
        """`not_performed`, `succeeded` or `failed`."""
    @property
    def oda_failure(self) -> Optional[str]: ...
    @property
    def signature_required(self) -> bool: ...
    @property
    def advice_required(self) -> bool:
        """The card asked for an advice message (CID b4)."""
    @property
    def reversal_required(self) -> bool:
        """The issuer approved and the card declined: reverse the approval."""
    @property
    def referral(self) -> Optional[str]:
        """The issuer referred: `approved` or `declined` by the voice referral."""
    @property
    def forced_acceptance(self) -> bool:
        """The attendant forced acceptance of this card-declined transaction."""
    @property
    def icc_data(self) -> bytes:
        """ICC data for authorisation and clearing (field 55), BER-TLV."""
    @property
    def icc_data_hex(self) -> str: ...
    @property
    def script_results(self) -> bytes: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Transmit:
    @property
    def apdu(self) -> bytes: ...

@final
class Candidate:
    @property
    def aid(self) -> bytes: ...
    @property
    def aid_hex(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def preferred_name(self) -> str: ...
    @property
    def priority(self) -> int: ...
    @property
    def requires_confirmation(self) -> bool: ...

@final
class ChooseApplication:
    @property
    def candidates(self) -> List[Candidate]: ...
    @property
    def confirm_only(self) -> bool: ...

@final
class EnterPin:
    @property
    def kind(self) -> str:
        """`offline_plaintext`, `offline_enciphered` or `online`."""
    @property
    def tries_left(self) -> Optional[int]: ...

@final
class RecentAmount:
    @property
    def pan(self) -> bytes:
        """The PAN (5A) as the card sent it: the caller's to protect."""
    @property
    def masked_pan(self) -> str: ...
    @property
    def pan_sequence_number(self) -> Optional[int]: ...

@final
class GoOnline:
    @property
    def icc_data(self) -> bytes: ...

@final
class Message:
    @property
    def id(self) -> Optional[int]:
        """The Book 4, 11.2 identifier (1 to 0x13); None for LAST PIN TRY."""
    @property
    def code(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def language(self) -> str: ...

@final
class IssuerReferral:
    @property
    def authorisation_response_code(self) -> str: ...

@final
class Done:
    @property
    def outcome(self) -> Outcome: ...

@final
class HostResponse:
    def __new__(
        cls,
        approved: bool,
        authorisation_response_code: Optional[Union[str, bytes]] = None,
        issuer_authentication_data: Optional[bytes] = None,
        scripts: Optional[bytes] = None,
    ) -> HostResponse: ...
    @property
    def approved(self) -> bool: ...
    @property
    def authorisation_response_code(self) -> bytes: ...
    @property
    def issuer_authentication_data(self) -> Optional[bytes]: ...
    @property
    def scripts(self) -> bytes: ...

@final
class Transaction:
    """The kernel's transaction with every input explicit (the package's
    Transaction fills the clock and the random numbers)."""

    def __new__(
        cls,
        *,
        config: Config,
        ca_keys: CaKeys,
        amount: int,
        amount_other: int,
        transaction_type: int,
        currency_code: bytes,
        currency_exponent: int,
        date: bytes,
        time: bytes,
        unpredictable_number: bytes,
        random_selection_number: int,
        transaction_sequence_counter: int,
        merchant_forced_online: bool,
    ) -> Transaction: ...
    def request(
        self,
    ) -> Union[Transmit, ChooseApplication, EnterPin, RecentAmount, GoOnline, IssuerReferral, Done]: ...
    @property
    def step(self) -> str: ...
    @property
    def done(self) -> bool: ...
    @property
    def outcome(self) -> Optional[Outcome]: ...
    def on_response(self, response: bytes) -> None: ...
    def on_transport_error(self) -> None: ...
    def on_application_chosen(self, index: Optional[int]) -> None: ...
    def on_pin(self, digits: Union[str, bytes]) -> None: ...
    def on_pin_bypassed(self) -> None: ...
    def on_pin_online_captured(self) -> None: ...
    def on_pin_pad_not_working(self) -> None: ...
    def on_recent_amount(self, amount: int) -> None: ...
    def on_host(self, response: Optional[HostResponse]) -> None: ...
    def on_referral(self, approved: bool) -> None: ...
    def next_message(self) -> Optional[Message]: ...
    @property
    def language(self) -> str: ...
    def force_acceptance(self) -> None: ...

@final
class SimulatedCard:
    """A simulated card of a named profile (emv_kernel.profiles())."""

    def __new__(cls, profile: str) -> SimulatedCard: ...
    @property
    def profile(self) -> str: ...
    @property
    def atr(self) -> bytes: ...
    def reset(self) -> bytes: ...
    def transmit(self, apdu: bytes) -> bytes: ...
    def authorise(self, icc_data: bytes, approve: bool = True) -> HostResponse: ...

@final
class ReplayResult:
    @property
    def path(self) -> Path: ...
    @property
    def passed(self) -> bool: ...
    @property
    def failed(self) -> bool: ...
    @property
    def diff(self) -> str: ...
    @property
    def outcome(self) -> Optional[Outcome]: ...
    def __bool__(self) -> bool: ...

@final
class PcscReader:
    """A card in a PC/SC reader, connected exclusively."""

    def __new__(cls, reader: str = "auto", wait: float = 0.0) -> PcscReader: ...
    @property
    def name(self) -> str: ...
    @property
    def atr(self) -> bytes: ...
    def transmit(self, apdu: bytes) -> bytes: ...
    def close(self) -> None: ...
    def __enter__(self) -> PcscReader: ...
    def __exit__(self, *exc: object) -> bool: ...
