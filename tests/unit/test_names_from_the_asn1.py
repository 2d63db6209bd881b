"""Every result code, reason and bit name lpa shows is the one the SGP.22 ASN.1 module gives that number.

The module is asn1/rsp.asn, the reference's RSPDefinitions byte for byte
(tests/e2e/test_tools.py); its named numbers and bits are read with asn1tools'
parser, independently of lpa's tables, so a number moved in a table is
caught here rather than shown to a user under the wrong name.
"""
from __future__ import annotations

from pathlib import Path

import asn1tools
import pytest

from lpa import encoding, es10
from lpa.es10 import es10b, es10c

TYPES = asn1tools.parse_files([str(Path(__file__).parents[2] / "asn1" / "rsp.asn")])["RSPDefinitions"]["types"]


def numbers(type_name: str, member: str | None = None) -> dict[int, str]:
    """number -> name of an INTEGER type, or of the INTEGER member of a SEQUENCE."""
    spec = TYPES[type_name]
    if member is not None:
        spec = next(m for m in spec["members"] if m["name"] == member)
    return {number: name for name, number in spec["named-numbers"].items()}


def bits(type_name: str, member: str | None = None) -> tuple[str, ...]:
    """The named bits of a BIT STRING type (or member), in bit order."""
    spec = TYPES[type_name]
    if member is not None:
        spec = next(m for m in spec["members"] if m["name"] == member)
    named = {int(number): name for name, number in spec["named-bits"]}
    return tuple(named[i] for i in range(max(named) + 1))


def test_authenticate_and_download_error_codes():
    assert es10.AUTHENTICATE_ERRORS == numbers("AuthenticateErrorCode")
    assert es10.DOWNLOAD_ERRORS == numbers("DownloadErrorCode")


def test_installation_result_commands_and_reasons():
    assert dict(enumerate(es10.BPP_COMMANDS)) == numbers("BppCommandId")
    assert es10.BPP_ERRORS == numbers("ErrorReason")


def test_cancel_session_reasons():
    assert es10.CANCEL_REASONS == {name: number for number, name in numbers("CancelSessionReason").items()}


@pytest.mark.parametrize("table, type_name, member", [
    (es10c._ENABLE_RESULTS, "EnableProfileResponse", "enableResult"),
    (es10c._DISABLE_RESULTS, "DisableProfileResponse", "disableResult"),
    (es10c._DELETE_RESULTS, "DeleteProfileResponse", "deleteResult"),
    (es10c._RESET_RESULTS, "EuiccMemoryResetResponse", "resetResult"),
])
def test_profile_operation_results(table, type_name, member):
    named = numbers(type_name, member)
    assert {number: reason for number, (reason, _) in table.items()} == \
        {number: name for number, name in named.items() if name not in ("ok", "undefinedError")}


def test_bit_names():
    assert encoding.UICC_CAPABILITY == bits("UICCCapability")
    assert encoding.RSP_CAPABILITY == bits("RspCapability")
    assert tuple(encoding.PPR_BITS) == bits("PprIds") and list(encoding.PPR_BITS.values()) == [0, 1, 2]
    assert encoding.RESET_OPTIONS == bits("EuiccMemoryResetRequest", "resetOptions")
    assert tuple(f"notification{op.capitalize()}" for op in encoding.OPERATIONS) == bits("NotificationEvent")


def test_categories_and_refusals_of_euicc_info_and_notifications():
    category = numbers("EUICCInfo2", "euiccCategory")
    assert es10b._EUICC_CATEGORY == tuple(category[i] for i in range(len(category)))
    assert numbers("NotificationSentResponse", "deleteNotificationStatus")[1] == "nothingToDelete"
