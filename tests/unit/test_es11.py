"""ES11 (the SM-DS's functions) against a scripted server: paths, fallback, bounds on what the server answers."""
from __future__ import annotations

import base64

import pytest

from lpa import es11
from lpa.errors import ServerError


class Server:
    """Answers es11 calls from a list of payloads (or ServerErrors) and records (function, body, interface)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def call(self, function, address, **fields):
        body = {k: base64.b64encode(v).decode() if isinstance(v, bytes) else v for k, v in fields.items()}
        self.calls.append((function.name, body, function.interface))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


AUTH = {"transactionId": "01", "serverSigned1": "a", "serverSignature1": "b", "euiccCiPKIdToBeUsed": "c",
        "serverCertificate": "d"}


def test_initiate_authentication_names_the_smds_on_the_es11_path():
    server = Server(AUTH)
    fields, interface = es11.initiate_authentication(server, "smds.example", b"\x01" * 16, b"\xbf\x20\x00")
    assert interface == "es11" and fields["serverCertificate"] == "d"
    [(function, body, used)] = server.calls
    assert (function, used) == ("initiateAuthentication", "es11")
    assert body == {"euiccChallenge": base64.b64encode(b"\x01" * 16).decode(), "euiccInfo1": "vyAA",
                    "smdsAddress": "smds.example"}


def test_a_404_falls_back_to_the_es9plus_path_only_when_asked():
    server = Server(ServerError("smds.example", "HTTP 404 Not Found"), AUTH)
    _, interface = es11.initiate_authentication(server, "smds.example", b"", b"", fallback=True)
    assert interface == "es9plus"
    assert server.calls[1][1]["smdpAddress"] == "smds.example" and "smdsAddress" not in server.calls[1][1]
    with pytest.raises(ServerError, match="HTTP 404"):
        es11.initiate_authentication(Server(ServerError("a", "HTTP 404 Not Found")), "a", b"", b"")


def test_other_failures_are_not_retried_on_the_es9plus_path():
    server = Server(ServerError("smds.example", "HTTP 500 Internal Server Error"))
    with pytest.raises(ServerError, match="HTTP 500"):
        es11.initiate_authentication(server, "smds.example", b"", b"", fallback=True)
    assert len(server.calls) == 1


def test_authenticate_client_reads_the_event_records_where_initiate_was_answered():
    server = Server({"transactionId": "01", "eventEntries": [{"eventId": "E1", "rspServerAddress": "dp.example"}]})
    events = es11.authenticate_client(server, "smds.example", "01", b"\xbf\x38\x00", "es9plus")
    assert events == [es11.EventEntry("E1", "dp.example")]
    [(function, body, interface)] = server.calls
    assert (function, interface) == ("authenticateClient", "es9plus")
    assert body == {"transactionId": "01", "authenticateServerResponse": "vzgA"}


def test_no_event_entries_is_no_events():
    assert es11.authenticate_client(Server({"transactionId": "01"}), "s", "01", b"") == []


@pytest.mark.parametrize("entries", [
    {"eventId": "E1"},
    [{"eventId": "E1"}],
    [{"eventId": 1, "rspServerAddress": "dp.example"}],
    [{"eventId": "", "rspServerAddress": "dp.example"}],
    [{"eventId": "E" * 256, "rspServerAddress": "dp.example"}],
    [{"eventId": "E1", "rspServerAddress": "d" * 256}],
    ["E1"],
    [{"eventId": "E1", "rspServerAddress": "dp.example"}] * 257,
])
def test_malformed_or_oversized_event_records_are_refused(entries):
    with pytest.raises(ServerError):
        es11.authenticate_client(Server({"eventEntries": entries}), "s", "01", b"")


def test_the_largest_answer_read_is_256_records_of_255_characters():
    entries = [{"eventId": "E" * 255, "rspServerAddress": "d" * 255}] * 256
    assert len(es11.authenticate_client(Server({"eventEntries": entries}), "s", "01", b"")) == 256


def test_one_character_is_enough():
    entries = [{"eventId": "E", "rspServerAddress": "d"}]
    assert es11.authenticate_client(Server({"eventEntries": entries}), "s", "01", b"") == [es11.EventEntry("E", "d")]


def test_a_server_certificate_of_an_x509_version_nobody_knows_is_not_a_dsauth_one():
    """cryptography raises InvalidVersion (not a ValueError) for well-formed DER of X.509 version 6: lpa reads it as
    "not an SM-DS certificate", not as an internal error."""
    from cryptography.hazmat.primitives import serialization

    from lpa.operations.discovery import _is_ds_auth
    from lpa.sim.pki import testpki

    der = testpki.load(testpki.PKI_DIR, "dsauth").cert.public_bytes(serialization.Encoding.DER)
    assert _is_ds_auth(der)
    assert not _is_ds_auth(der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x05", 1))
