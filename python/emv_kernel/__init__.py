"""emv_kernel: the EMV contact kernel for Python.

Decode BER-TLV (`decode`), run transactions request by request
(`Transaction`) or with a transmit callback (`Transaction.run`), on the
simulated test cards (`SimulatedCard`) or a PC/SC reader (`PcscReader`), and
replay card traces (`replay`).

The kernel itself reads no clock and draws no random numbers. This layer
does, and only when the caller gives none:

- `unpredictable_number` (9F37): 4 bytes from `secrets.token_bytes` (the
  operating system's CSPRNG, as `os.urandom`);
- `random_selection_number` (Book 3, 10.6.2): `secrets.randbelow(99) + 1`;
- `date` and `time` (9A, 9F21): the local clock, read once.
"""

from __future__ import annotations

import datetime as _datetime
import secrets as _secrets
from decimal import Decimal, InvalidOperation
from os import PathLike
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from . import _native
from ._native import (
    KERNEL_CHECKSUM,
    KERNEL_VERSION,
    CaKeyError,
    CaKeys,
    Candidate,
    CardError,
    ChooseApplication,
    Config,
    ConfigError,
    Done,
    EmvError,
    EnterPin,
    GoOnline,
    HostResponse,
    IssuerReferral,
    Message,
    Outcome,
    PcscError,
    PcscReader,
    RecentAmount,
    ReplayResult,
    SimulatedCard,
    TlvError,
    TraceError,
    Transmit,
    UsageError,
    readers,
)

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
    "HostResponse",
    "IssuerReferral",
    "Message",
    "Outcome",
    "PcscError",
    "PcscReader",
    "RecentAmount",
    "ReplayResult",
    "Request",
    "SimulatedCard",
    "TlvError",
    "TraceError",
    "Transaction",
    "Transmit",
    "UsageError",
    "decode",
    "decode_text",
    "profiles",
    "readers",
    "replay",
    "replay_all",
]

Request = Union[Transmit, ChooseApplication, EnterPin, RecentAmount, GoOnline, IssuerReferral, Done]
"""What `Transaction.request()` returns."""

BytesLike = Union[bytes, bytearray, memoryview]

TRANSACTION_TYPES = {"purchase": 0x00, "cash": 0x01, "cashback": 0x09, "refund": 0x20}
"""Transaction Type (9C) by name."""


def _data(data: Union[BytesLike, str], name: str = "data") -> bytes:
    """Bytes as given, or hex text (spaces, newlines and colons allowed)."""
    if isinstance(data, str):
        digits = "".join(data.split()).replace(":", "")
        try:
            return bytes.fromhex(digits)
        except ValueError as error:
            raise ValueError(f"{name}: not hex: {error}") from None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{name}: bytes or hex text expected, got {type(data).__name__}")


def decode(data: Union[BytesLike, str]) -> List[Dict[str, Any]]:
    """Decodes BER-TLV (bytes, or hex text) into a list of dicts, one per
    top-level object: tag, name, format, offset, length, constructed, data,
    hex, value (decoded for people), details (bits set, CVM rules, AFL and
    DOL entries) and children. Malformed input raises `TlvError` with the
    kernel's message, `offset` and `kind`."""
    return _native.decode(_data(data))


def decode_text(data: Union[BytesLike, str]) -> str:
    """The indented text tree of `emv-terminal decode`."""
    return _native.decode_text(_data(data))


def profiles() -> List[str]:
    """The names of the simulated card profiles (`SimulatedCard(name)`)."""
    return [name for name, _, _ in _native.profiles_table()]


def profile_table() -> List[Tuple[str, str, str]]:
    """Each simulated card profile: (name, what it exercises, the expected
    outcome with the default terminal)."""
    return list(_native.profiles_table())


def replay(path: Union[str, "PathLike[str]"], capk_txt: Optional[str] = None) -> ReplayResult:
    """Replays one trace file: the kernel must send exactly the recorded
    commands and reach the recorded outcome. `result.passed`, `result.diff`
    (the decoded explanation of the first difference). `capk_txt` replaces
    the trace's CA keys."""
    return _native.replay(Path(path), capk_txt)


def replay_all(folder: Union[str, "PathLike[str]"], capk_txt: Optional[str] = None) -> List[ReplayResult]:
    """Replays every `*.trace` file of a folder, in name order."""
    return [replay(path, capk_txt) for path in sorted(Path(folder).glob("*.trace"))]


def _bcd(digits: str) -> bytes:
    return bytes.fromhex(digits)


def _date_bcd(value: Union[_datetime.date, str, BytesLike]) -> bytes:
    if isinstance(value, _datetime.date):
        return _bcd(f"{value.year % 100:02d}{value.month:02d}{value.day:02d}")
    if isinstance(value, str):
        if len(value) != 6 or not value.isdigit():
            raise ValueError(f"date: YYMMDD digits expected, got {value!r}")
        return _bcd(value)
    return bytes(value)


def _time_bcd(value: Union[_datetime.time, _datetime.datetime, str, BytesLike]) -> bytes:
    if isinstance(value, (_datetime.time, _datetime.datetime)):
        return _bcd(f"{value.hour:02d}{value.minute:02d}{value.second:02d}")
    if isinstance(value, str):
        if len(value) != 6 or not value.isdigit():
            raise ValueError(f"time: HHMMSS digits expected, got {value!r}")
        return _bcd(value)
    return bytes(value)


def _currency_bcd(value: Union[int, str]) -> bytes:
    number = int(value)
    if not 0 <= number <= 999:
        raise ValueError(f"currency: an ISO 4217 numeric code (0 to 999) expected, got {value!r}")
    return _bcd(f"{number:04d}")


def _minor_units(name: str, amount: Union[int, str, Decimal], exponent: int) -> int:
    """An amount in minor units: an int is taken as minor units, a str or
    Decimal (`"12.50"`) as major units. Floats are refused (rounding)."""
    if isinstance(amount, bool):
        raise TypeError(f"{name}: int (minor units), str or Decimal expected, got bool")
    if isinstance(amount, int):
        minor = amount
    elif isinstance(amount, (str, Decimal)):
        try:
            scaled = Decimal(amount).scaleb(exponent)
        except InvalidOperation:
            raise ValueError(f"{name}: not an amount: {amount!r}") from None
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{name}: {amount!r} has more than {exponent} decimals")
        minor = int(scaled)
    else:
        raise TypeError(
            f"{name}: int (minor units), str or Decimal (\"12.50\") expected, "
            f"got {type(amount).__name__}"
        )
    if minor < 0:
        raise ValueError(f"{name}: negative amount {amount!r}")
    return minor


def _response_bytes(response: object) -> bytes:
    if isinstance(response, (bytes, bytearray, memoryview)):
        return bytes(response)
    raise TypeError(f"transmit must return bytes (data and SW1 SW2), got {type(response).__name__}")


PinAnswer = Optional[Union[str, bytes]]
"""A PIN answer: the digits, or None to bypass PIN entry."""


class Transaction:
    """One EMV contact transaction (Book 3, 10).

    Loop over `request()` and answer each request, or call `run(transmit)`.
    Every input the kernel needs is here; those left out are filled as the
    module documentation says (unpredictable number and random selection
    number from `secrets`, date and time from the local clock, currency from
    the configuration).
    """

    def __init__(
        self,
        *,
        ca_keys: CaKeys,
        amount: Union[int, str, Decimal],
        config: Optional[Config] = None,
        currency: Optional[Union[int, str]] = None,
        currency_exponent: Optional[int] = None,
        amount_other: Union[int, str, Decimal] = 0,
        transaction_type: Union[str, int] = "purchase",
        date: Optional[Union[_datetime.date, str, BytesLike]] = None,
        time: Optional[Union[_datetime.time, str, BytesLike]] = None,
        unpredictable_number: Optional[BytesLike] = None,
        random_selection_number: Optional[int] = None,
        transaction_sequence_counter: int = 1,
        merchant_forced_online: bool = False,
    ) -> None:
        config = Config() if config is None else config
        exponent = config.currency_exponent if currency_exponent is None else currency_exponent
        if isinstance(transaction_type, str):
            try:
                transaction_type = TRANSACTION_TYPES[transaction_type]
            except KeyError:
                raise ValueError(
                    f"transaction_type: one of {', '.join(TRANSACTION_TYPES)} or a number, "
                    f"got {transaction_type!r}"
                ) from None
        if date is None or time is None:
            now = _datetime.datetime.now()
            date = now.date() if date is None else date
            time = now.time() if time is None else time
        if unpredictable_number is None:
            unpredictable_number = _secrets.token_bytes(4)
        if random_selection_number is None:
            random_selection_number = _secrets.randbelow(99) + 1
        self.unpredictable_number = bytes(unpredictable_number)
        """The Unpredictable Number (9F37) sent to the card."""
        self._tx = _native.Transaction(
            config=config,
            ca_keys=ca_keys,
            amount=_minor_units("amount", amount, exponent),
            amount_other=_minor_units("amount_other", amount_other, exponent),
            transaction_type=transaction_type,
            currency_code=_currency_bcd(config.currency_code if currency is None else currency),
            currency_exponent=exponent,
            date=_date_bcd(date),
            time=_time_bcd(time),
            unpredictable_number=self.unpredictable_number,
            random_selection_number=random_selection_number,
            transaction_sequence_counter=transaction_sequence_counter,
            merchant_forced_online=merchant_forced_online,
        )

    # ---- the request loop ----------------------------------------------

    def request(self) -> Request:
        """What the transaction needs now."""
        return self._tx.request()

    @property
    def step(self) -> str:
        """The current step's name, after Book 3."""
        return self._tx.step

    @property
    def done(self) -> bool:
        """Whether the transaction is over."""
        return self._tx.done

    @property
    def outcome(self) -> Optional[Outcome]:
        """The outcome once the transaction is over, else None."""
        return self._tx.outcome

    def on_response(self, response: BytesLike) -> None:
        """The card's response (data and SW1 SW2) to the pending `Transmit`."""
        self._tx.on_response(_response_bytes(response))

    def on_transport_error(self) -> None:
        """The exchange with the card failed: terminated, `transport_failed`."""
        self._tx.on_transport_error()

    def on_application_chosen(self, index: Optional[int]) -> None:
        """The cardholder's choice (index into the candidates), None to cancel."""
        self._tx.on_application_chosen(index)

    def on_pin(self, digits: Union[str, bytes]) -> None:
        """The PIN digits, 4 to 12 of them."""
        self._tx.on_pin(digits)

    def on_pin_bypassed(self) -> None:
        """The cardholder or attendant bypassed PIN entry."""
        self._tx.on_pin_bypassed()

    def on_pin_online_captured(self) -> None:
        """Online PIN: the caller captured and enciphered the PIN itself."""
        self._tx.on_pin_online_captured()

    def on_pin_pad_not_working(self) -> None:
        """The PIN pad is absent or not working."""
        self._tx.on_pin_pad_not_working()

    def on_recent_amount(self, amount: int) -> None:
        """Split sales (Book 3, 10.6.1): the most recent approved amount of
        this card in the terminal's log, minor units; 0 when none."""
        self._tx.on_recent_amount(amount)

    def on_host(self, response: Optional[HostResponse]) -> None:
        """The host's answer to `GoOnline`; None when it cannot be reached."""
        self._tx.on_host(response)

    def next_message(self) -> Optional[Message]:
        """The oldest message the kernel emitted and not yet read (Book 4,
        11.2: ENTER PIN, INCORRECT PIN, APPROVED, REMOVE CARD, ...), in the
        transaction's `language`; None when there is none."""
        return self._tx.next_message()

    @property
    def language(self) -> str:
        """The language messages are shown in (Book 4, 11.1), ISO 639-1."""
        return self._tx.language

    def on_referral(self, approved: bool) -> None:
        """The attendant's voice referral after `IssuerReferral` (Book 4,
        6.5.2): True approves (the card is asked for a TC), False declines."""
        self._tx.on_referral(approved)

    def force_acceptance(self) -> None:
        """Forced acceptance (Book 4, 6.5.4) of a transaction the card
        declined, on an attended terminal: the outcome's `forced_acceptance`
        becomes True; its decision stays "declined"."""
        self._tx.force_acceptance()

    # ---- the convenience loop ------------------------------------------

    def run(
        self,
        transmit: Callable[[bytes], bytes],
        *,
        pin: Union[PinAnswer, Callable[[EnterPin], PinAnswer]] = None,
        host: Optional[Callable[[bytes], Optional[HostResponse]]] = None,
        choose: Optional[Callable[[ChooseApplication], Optional[int]]] = None,
        recent_amount: Optional[Callable[[RecentAmount], int]] = None,
        referral: Optional[Callable[[IssuerReferral], bool]] = None,
        show: Optional[Callable[[Message], None]] = None,
    ) -> Outcome:
        """Runs the transaction to its outcome.

        - `transmit(apdu) -> response`: sends a command to the card. If it
          raises, or returns something that is not bytes, the transaction
          ends terminated (`transport_failed`) and the exception propagates.
        - `pin`: the digits, a callable given the `EnterPin` request, or
          None (PIN entry bypassed). For an online PIN the digits are not
          sent anywhere: the kernel is told the PIN was captured.
        - `host(icc_data) -> HostResponse | None`: the issuer; None, or no
          host, is "unreachable".
        - `choose(request) -> index | None`: the application choice; the
          first candidate without it.
        - `recent_amount(request) -> int`: the terminal log lookup; 0 without it.
        - `referral(request) -> bool`: the attendant's voice referral after
          an issuer referral (ARC 01/02); declined without it.
        - `show(message)`: each message the kernel emits (Book 4, 11.2), in
          order, in the transaction's language; not shown without it.

        An exception from `pin`, `host`, `choose`, `recent_amount` or `referral`
        propagates and leaves the transaction at that request.
        """
        while True:
            while show is not None and (message := self._tx.next_message()) is not None:
                show(message)
            request = self._tx.request()
            if isinstance(request, Done):
                return request.outcome
            if isinstance(request, Transmit):
                try:
                    response = _response_bytes(transmit(request.apdu))
                except BaseException:
                    self._tx.on_transport_error()
                    raise
                self._tx.on_response(response)
            elif isinstance(request, EnterPin):
                answer = pin(request) if callable(pin) else pin
                if answer is None:
                    self._tx.on_pin_bypassed()
                elif request.kind == "online":
                    self._tx.on_pin_online_captured()
                else:
                    self._tx.on_pin(answer)
            elif isinstance(request, ChooseApplication):
                self._tx.on_application_chosen(0 if choose is None else choose(request))
            elif isinstance(request, RecentAmount):
                self._tx.on_recent_amount(0 if recent_amount is None else recent_amount(request))
            elif isinstance(request, GoOnline):
                self._tx.on_host(None if host is None else host(request.icc_data))
            elif isinstance(request, IssuerReferral):
                self._tx.on_referral(False if referral is None else bool(referral(request)))
            else:  # pragma: no cover - the kernel has no other request
                raise EmvError(f"unexpected request {request!r}")

    def __repr__(self) -> str:
        return f"Transaction(step={self.step!r})"
