"""The simulated eUICC's checks of a Bound Profile Package's structure (SGP.22 5.7.6; docs/bound-profile-package.md),
each pinned by a faulty SM-DP+ or LPA: a BPP bound here with the test SM-DP+'s SCP03t (:mod:`lpa.sim.servers.bpp_builder`),
then spoiled piece by piece. Each ends as a card ends it: the signed ProfileInstallationResult's errorResult
(bppCommandId, errorReason), nothing installed."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from helpers import TS48_PROFILE
from lpa import codec
from lpa.bpp import split_bpp
from lpa.encoding import OPERATIONS, iccid_to_bytes, names_to_bits
from lpa.sim.card.download_state import DownloadState, Session
from lpa.sim.card.isdr import CardStatus, Isdr
from lpa.sim.card.state import StateFile
from lpa.sim.pki import testpki
from lpa.sim.servers.bpp_builder import build_bpp
from lpa.sim.servers.profile_package import ts48_profiles, with_header_iccid
from lpa.sim.servers.scp03t import Keys

TRANSACTION_ID = bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")
ICCID = "8988247000000000088"
OTHER_OID = "1.3.6.1.4.1.31746.9"
# bppCommandId (SGP.22 5.7.6)
INITIALISE, CONFIGURE_ISDP, STORE_METADATA, REPLACE_SESSION_KEYS, LOAD_PROFILE_ELEMENTS = 0, 1, 2, 4, 5
# errorReason
INCORRECT_INPUT, INVALID_TRANSACTION, CRT, REMOTE_OP, STRUCTURE, NO_MEMORY, PE_PROCESSING = 1, 3, 4, 5, 7, 10, 12


class Card:
    """The simulated ISD-R after PrepareDownload for TRANSACTION_ID, and the SM-DP+ keys to bind a BPP for it."""

    def __init__(self, state_path, oid: str = testpki.TEST_SMDP_OID) -> None:
        self.state = StateFile(state_path).load()
        self.dppb = ec.generate_private_key(ec.SECP256R1())
        session = Session(TRANSACTION_ID, "smdp.example.com", oid, bytes(64), testpki.load(testpki.PKI_DIR, "ci").cert)
        session.dppb_key, session.one_time_key = self.dppb.public_key(), ec.generate_private_key(ec.SECP256R1())
        self.isdr = Isdr(self.state, download=DownloadState(session=session))
        self.package = with_header_iccid(ts48_profiles()[TS48_PROFILE], ICCID)

    def pieces(self, *, configure_isdp: bytes = bytes.fromhex("BF2400"), store_metadata: bytes | None = None,
               ppk: Keys | None = None) -> list[bytes]:
        session = self.isdr.download.session
        assert session is not None
        otpk = session.one_time_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        metadata = store_metadata if store_metadata is not None else codec.encode("StoreMetadataRequest", {
            "iccid": iccid_to_bytes(ICCID), "serviceProviderName": "Test Op", "profileName": "Checked",
            "notificationConfigurationInfo": [{"profileManagementOperation": names_to_bits(["install"], OPERATIONS),
                                               "notificationAddress": "smdp.example.com"}]})
        return split_bpp(build_bpp(transaction_id=TRANSACTION_ID, euicc_otpk=otpk, eid=bytes.fromhex(self.state.eid),
                                   dppb_key=self.dppb, configure_isdp=configure_isdp, store_metadata=metadata,
                                   profile_package=self.package, host_id=b"lpa-test-smdp", ppk=ppk))

    def load(self, pieces: list[bytes]) -> dict:
        """Each piece in turn until the card answers; the ProfileInstallationResultData it signed."""
        for piece in pieces:
            answer = self.isdr.handle(piece)
            if answer:
                return codec.decode("ProfileInstallationResultData", bytes(
                    codec.decode("ProfileInstallationResultView", answer)["profileInstallationResultData"]))
        raise AssertionError("no ProfileInstallationResult after the last piece")

    def refused(self, pieces: list[bytes]) -> tuple[int, int]:
        """The (bppCommandId, errorReason) the card answered; nothing installed, the session over."""
        kind, error = self.load(pieces)["finalResult"]
        assert kind == "errorResult" and self.state.find(iccid=ICCID) is None
        assert self.isdr.download.session is None and self.isdr.download.loading is None
        return error["bppCommandId"], error["errorReason"]


def _replace(piece: bytes, old: str, new: str) -> bytes:
    """``piece`` with the first ``old`` (hex) replaced by ``new``."""
    assert bytes.fromhex(old) in piece
    return piece.replace(bytes.fromhex(old), bytes.fromhex(new), 1)


def test_a_whole_bpp_installs_and_its_result_names_the_sessions_smdp_oid(state_path):
    card = Card(state_path, oid=OTHER_OID)
    seq_number = card.state.next_seq_number
    result = card.load(card.pieces())
    assert result["finalResult"][0] == "successResult" and result["smdpOid"] == OTHER_OID
    assert card.state.find(iccid=ICCID) is not None
    # the install notification takes the next sequence number, and only it
    assert result["notificationMetadata"]["seqNumber"] == seq_number and card.state.next_seq_number == seq_number + 1


def _bf23(piece: bytes) -> int:
    """Where BF23 starts in the first piece."""
    return piece.index(b"\xbf\x23")


def _longer(header: bytes) -> bytes:
    """A container header ``A3 82 LL LL`` (alone in its piece) declaring one byte more."""
    assert header[1] == 0x82 and len(header) == 4
    return header[:2] + (int.from_bytes(header[2:], "big") + 1).to_bytes(2, "big")


# each: what the faulty SM-DP+ or LPA does to the pieces -> (bppCommandId, errorReason)
SPOILED = {
    "BF36 header cut short": (lambda p: [p[0][:4]], (INITIALISE, STRUCTURE)),
    "BF23 under another tag": (lambda p: [p[0][:_bf23(p[0])] + b"\xbf\x24" + p[0][_bf23(p[0]) + 2:]],
                               (INITIALISE, STRUCTURE)),
    "BF23 followed by a stray byte": (lambda p: [p[0] + b"\x00"], (INITIALISE, STRUCTURE)),
    "remoteOpId 2": (lambda p: [_replace(p[0], "820101", "820102")], (INITIALISE, REMOTE_OP)),
    "keyType 89": (lambda p: [_replace(p[0], "800188", "800189")], (INITIALISE, CRT)),
    "keyLen 20": (lambda p: [_replace(p[0], "810110", "810120")], (INITIALISE, CRT)),
    "a piece longer than the BPP before any container": (lambda p: [p[0], p[1] + bytes(60000)],
                                                          (INITIALISE, STRUCTURE)),
    "the last piece longer than the BPP": (lambda p: [*p[:-1], p[-1] + b"\x00"], (LOAD_PROFILE_ELEMENTS, STRUCTURE)),
    "a container header inside ConfigureISDP": (lambda p: [p[0], p[1][:2], p[2]], (STORE_METADATA, STRUCTURE)),
    "a container header that does not parse": (lambda p: [p[0], b"\xa0\x85"], (CONFIGURE_ISDP, STRUCTURE)),
    "a segment outside any container": (lambda p: [p[0], p[1][2:]], (INITIALISE, STRUCTURE)),
    "StoreMetadata in an 87": (lambda p: [*p[:3], b"\x87" + p[3][1:]], (STORE_METADATA, STRUCTURE)),
    "a segment longer than its container": (lambda p: [*p[:3], p[3] + b"\x00", *p[4:]], (STORE_METADATA, STRUCTURE)),
    "the profile package container declared a byte longer": (lambda p: [*p[:4], _longer(p[4]), *p[5:]],
                                                              (LOAD_PROFILE_ELEMENTS, STRUCTURE)),
}


@pytest.mark.parametrize("fault", SPOILED)
def test_a_bpp_of_the_wrong_structure_is_refused_where_it_goes_wrong(state_path, fault):
    spoil, expected = SPOILED[fault]
    card = Card(state_path)
    pieces = card.pieces()
    assert [piece[:1].hex() for piece in pieces[1:5]] == ["a0", "a1", "88", "a3"]  # what the faults expect
    assert card.refused(spoil(pieces)) == expected


@pytest.mark.parametrize("part,expected", [("configure_isdp", CONFIGURE_ISDP), ("store_metadata", STORE_METADATA)])
def test_a_part_that_does_not_decode_is_refused_as_that_part(state_path, part, expected):
    card = Card(state_path)
    assert card.refused(card.pieces(**{part: bytes.fromhex("3000")})) == (expected, STRUCTURE)


def test_replace_session_keys_under_the_wrong_tag_is_refused_as_replace_session_keys(state_path):
    card = Card(state_path)
    pieces = card.pieces(ppk=Keys(bytes(16), bytes(range(16)), bytes(range(16, 32))))
    second = next(i for i, piece in enumerate(pieces) if piece[:1] == b"\xa2")
    spoiled = pieces[second][:2] + b"\x88" + pieces[second][3:] if pieces[second][2:3] == b"\x87" else None
    if spoiled is None:  # the header alone, its 87 the next piece
        pieces[second + 1] = b"\x88" + pieces[second + 1][1:]
    else:
        pieces[second] = spoiled
    assert card.refused(pieces) == (REPLACE_SESSION_KEYS, STRUCTURE)


@pytest.mark.parametrize("keys", [Keys(bytes(17), bytes(16), bytes(16)), Keys(bytes(16), bytes(24), bytes(16)),
                                  Keys(bytes(16), bytes(16), bytes(24))], ids=["mcv", "ppkEnc", "ppkCmac"])
def test_profile_protection_keys_of_the_wrong_size_are_refused_as_replace_session_keys(state_path, keys):
    """SCP03t's keys are AES-128 and its chaining value a block: a 24-byte key or a 17-byte MCV is refused."""
    card = Card(state_path)
    assert card.refused(card.pieces(ppk=keys)) == (REPLACE_SESSION_KEYS, STRUCTURE)


@pytest.mark.parametrize("icon_type", [None, 2], ids=["no iconType", "iconType 2"])
def test_an_icon_without_a_type_the_card_knows_is_refused_as_incorrect_input(state_path, icon_type):
    """StoreMetadata's icon only with its iconType, jpg or png (asn1/rsp.asn): a faulty SM-DP+'s metadata is refused,
    not a crash of the card."""
    card = Card(state_path)
    metadata = {"iccid": iccid_to_bytes(ICCID), "serviceProviderName": "Test Op", "profileName": "Icon", "icon": b"x"}
    if icon_type is not None:
        metadata["iconType"] = icon_type
    assert card.refused(card.pieces(store_metadata=codec.encode("StoreMetadataRequest", metadata))) == \
        (STORE_METADATA, INCORRECT_INPUT)


def test_a_profile_element_that_does_not_decode_is_a_pe_processing_error(state_path):
    card = Card(state_path)
    card.package += bytes.fromhex("A10300FFFF")  # after the good elements, one no PE_Definitions type reads
    result = card.load(card.pieces())
    kind, error = result["finalResult"]
    assert kind == "errorResult" and (error["bppCommandId"], error["errorReason"]) == (LOAD_PROFILE_ELEMENTS,
                                                                                       PE_PROCESSING)
    assert card.state.find(iccid=ICCID) is None


def test_a_profile_larger_than_the_free_memory_is_refused_and_one_that_fits_exactly_installs(state_path):
    card = Card(state_path)
    card.state.memory -= card.state.free_memory() - len(card.package) + 1
    assert card.refused(card.pieces()) == (LOAD_PROFILE_ELEMENTS, NO_MEMORY)
    card = Card(state_path)
    card.state.memory -= card.state.free_memory() - len(card.package)
    assert card.load(card.pieces())["finalResult"][0] == "successResult"


def test_initialise_secure_channel_without_prepare_download_is_an_invalid_transaction(state_path):
    card = Card(state_path)
    pieces = card.pieces()
    card.isdr.download.session.one_time_key = None  # AuthenticateServer only
    assert card.refused(pieces[:1]) == (INITIALISE, INVALID_TRANSACTION)


def test_a_first_piece_with_no_download_session_is_answered_6a88(state_path):
    card = Card(state_path)
    pieces = card.pieces()
    card.isdr.download.session = None
    with pytest.raises(CardStatus) as caught:
        card.isdr.handle(pieces[0])
    assert caught.value.sw == 0x6A88 and card.state.notifications == StateFile(state_path).load().notifications
