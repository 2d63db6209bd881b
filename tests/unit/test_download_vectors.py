"""The download's building blocks reproduce the independent test vectors byte for byte.

tests/data/download-vectors.json is shared/reference/download-vectors.json,
unchanged (16 cases generated with osmocom pySim and recomputed from the
fact sheet). Covered here: activation codes, hashCc, ECKA-DH, the KDF,
SCP03t segments both ways, and the LPA's cutting of a BPP into
LoadBoundProfilePackage pieces, then those pieces opened again with the
session keys the vector's inputs give.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lpa.activation import ActivationCode, hash_cc, parse_activation_code
from lpa.bpp import split_bpp
from lpa.errors import InputError, ProtocolError
from lpa.sim.card.bsp import BspError, SecureChannel, SessionKeys, derive_session_keys, shared_info

CASES = {case["id"]: case for case in json.loads(
    (Path(__file__).parents[1] / "data" / "download-vectors.json").read_text())["cases"]}


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def case(name: str) -> tuple[dict, dict]:
    return CASES[name]["inputs"], CASES[name]["outputs"]


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c["kind"] == "activation-code"])
def test_activation_codes(name):
    inputs, outputs = case(name)
    if outputs.get("valid") is False:
        with pytest.raises(InputError, match="format '2' is not supported"):
            parse_activation_code(inputs["activation_code"])
        return
    assert outputs["format"] == "1"
    assert parse_activation_code(inputs["activation_code"]) == ActivationCode(
        outputs["smdp_address"], outputs["matching_id"], outputs["smdp_oid"], outputs["cc_required"])


@pytest.mark.parametrize("text,message", [
    ("LPA:1.truphone.com-G-5C-1LS-1W1Z9P7", "lost its $ fields, probably to the shell"),  # $rsp and $QR expanded
    ("LPA:1$.truphone.com$QR-G-5C", "quote the whole code in single quotes"),
    ("LPA:1$$MATCHING", "where the SM-DP+ address goes; quote the whole code in single quotes"),
    ("LPA:1$-x$MATCHING", "where the SM-DP+ address goes; quote the whole code in single quotes"),
    ("1$smdp.example.com$MATCH ING", "holds characters an SM-DP+ never issues"),
    ("LPA:1$smdp.example.com$M$not.an.oid$1", "is not a dotted number"),
    ("LPA:1$smdp.example.com$M$1.2$1$extra", "at most 5 exist"),
    ("hello", "is not LPA:1$"),
])
def test_defective_activation_codes_say_what_is_wrong(text, message):
    with pytest.raises(InputError, match=re.escape(message)):
        parse_activation_code(text)


def test_activation_codes_tolerate_case_spaces_and_a_missing_prefix():
    assert parse_activation_code("  lpa:1$SMDP.example.com$ABC  ") == ActivationCode("SMDP.example.com", "ABC")
    assert parse_activation_code("1$127.0.0.1:8443$ABC$$") == ActivationCode("127.0.0.1:8443", "ABC")


def test_an_activation_code_with_an_oid_and_no_flag_needs_no_confirmation_code():
    assert parse_activation_code("LPA:1$smdp.example.com$M$1.3.6.1.4.1.31746") == \
        ActivationCode("smdp.example.com", "M", "1.3.6.1.4.1.31746", False)
    assert parse_activation_code("LPA:1$smdp.example.com$M$$0").cc_required is False
    assert "; quote" not in _refusal("LPA:1$smdp..example$M")  # a malformed host, not the shell's doing


def _refusal(text: str) -> str:
    with pytest.raises(InputError) as caught:
        parse_activation_code(text)
    return str(caught.value)


def test_hash_cc():
    inputs, outputs = case("hashcc-12345678")
    assert hash_cc(inputs["confirmation_code"], h(inputs["transaction_id"])).hex().upper() == outputs["hash_cc"]


def test_the_test_smdpp_expects_the_same_hash_cc():
    from lpa.sim.servers.download import hash_cc as expected_hash_cc

    inputs, outputs = case("hashcc-12345678")
    assert expected_hash_cc(inputs["confirmation_code"], h(inputs["transaction_id"])).hex().upper() == \
        outputs["hash_cc"]


def public_key(private: int) -> bytes:
    """The uncompressed point 04||X||Y of a P-256 private scalar."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = ec.derive_private_key(private, ec.SECP256R1())
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def ecka(private: int, peer_public: bytes) -> bytes:
    """ShS as the eUICC computes it (lpa.sim.card.install): ECDH on P-256, the x-coordinate."""
    from cryptography.hazmat.primitives.asymmetric import ec

    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer_public)
    return ec.derive_private_key(private, ec.SECP256R1()).exchange(ec.ECDH(), peer)


def test_ecka_gives_both_sides_the_same_secret():
    inputs, outputs = case("ecka-p256-1")
    euicc, smdp = int(inputs["euicc_otsk"], 16), int(inputs["smdp_otsk"], 16)
    assert public_key(euicc).hex().upper() == outputs["euicc_otpk"]
    assert public_key(smdp).hex().upper() == outputs["smdp_otpk"]
    assert ecka(euicc, h(outputs["smdp_otpk"])).hex().upper() == outputs["shared_secret"]
    assert ecka(smdp, h(outputs["euicc_otpk"])).hex().upper() == outputs["shared_secret"]


def test_kdf():
    inputs, outputs = case("kdf-hostid16")
    assert shared_info(h(inputs["host_id"]), h(inputs["eid"])).hex().upper() == outputs["shared_info"]
    keys = derive_session_keys(h(inputs["shared_secret"]), h(inputs["host_id"]), h(inputs["eid"]))
    assert (keys.initial_mcv + keys.s_enc + keys.s_mac).hex().upper() == outputs["kdf_output_48"]


def channel(inputs: dict) -> SecureChannel:
    state = SecureChannel(SessionKeys(h(inputs["mcv_in"]), h(inputs["s_enc"]), h(inputs["s_mac"])))
    state.counter = inputs["block_counter"]
    return state


@pytest.mark.parametrize("name", ["seg-87-configureisdp", "seg-88-storemetadata", "seg-86-1"])
def test_the_card_opens_segments_as_the_vectors_say(name):
    inputs, outputs = case(name)
    receiver = channel(inputs)
    assert receiver.unprotect(h(outputs["segment"])) == h(inputs["plaintext"])
    assert receiver.mcv.hex().upper() == outputs["mcv_after"] and receiver.counter == inputs["block_counter"] + 1


def test_a_tampered_segment_fails_its_mac_and_a_bad_length_is_a_structure_error():
    inputs, outputs = case("seg-86-1")
    tampered = bytearray(h(outputs["segment"]))
    tampered[5] ^= 1
    with pytest.raises(BspError) as caught:
        channel(inputs).unprotect(bytes(tampered))
    assert caught.value.security is True
    with pytest.raises(BspError) as caught:
        channel(inputs).unprotect(h(outputs["segment"])[:-1])
    assert caught.value.security is False


def _macced(keys: SessionKeys, tag: int, body: bytes) -> bytes:
    """A segment carrying ``body`` as it is, with the right MAC (what a faulty SM-DP+ that MACs what it sends
    makes)."""
    from cryptography.hazmat.primitives import cmac
    from cryptography.hazmat.primitives.ciphers import algorithms

    length = bytes([len(body) + 8])
    signer = cmac.CMAC(algorithms.AES(keys.s_mac))
    signer.update(keys.initial_mcv + bytes([tag]) + length + body)
    return bytes([tag]) + length + body + signer.finalize()[:8]


KEYS = SessionKeys(bytes(16), bytes(range(16)), bytes(range(16, 32)))


def _sent(tag: int, plaintext: bytes, padding: bytes) -> bytes:
    """The test SM-DP+'s segment with ``padding`` after the plaintext (its MAC right)."""
    from lpa.sim.servers.scp03t import Keys, Sender

    return Sender(Keys(KEYS.initial_mcv, KEYS.s_enc, KEYS.s_mac)).segment(tag, plaintext, padding)


@pytest.mark.parametrize("segment", [
    b"\x88",  # its tag alone
    _macced(KEYS, 0x86, bytes(15)),  # not a whole number of AES blocks
    _macced(KEYS, 0x86, b""),  # no block at all
    _sent(0x86, bytes(15), b"\x80" + bytes(16)),  # 17 bytes of padding: more than a block
], ids=["tag alone", "15-byte body", "empty body", "17 bytes of padding"])
def test_a_segment_whose_mac_verifies_but_whose_structure_is_wrong_is_a_structure_error(segment):
    with pytest.raises(BspError) as caught:
        SecureChannel(KEYS).unprotect(segment)
    assert caught.value.security is False


@pytest.mark.parametrize("plaintext,padding", [(b"", b"\x80"), (bytes(15), b"\x80"), (bytes(16), b"\x80" + bytes(15))])
def test_the_card_opens_an_empty_88_and_a_full_block_of_padding(plaintext, padding):
    """A MAC-only 88 (eight bytes after its length) and padding of exactly one block are well formed."""
    assert SecureChannel(KEYS).unprotect(_sent(0x88, plaintext, padding)) == plaintext
    assert SecureChannel(KEYS).unprotect(_sent(0x86, plaintext, padding)) == plaintext


def test_the_lpa_cuts_a_bpp_into_the_pieces_pysim_sends():
    _, outputs = case("bpp-session-keys-pysim")
    assert [p.hex().upper() for p in split_bpp(h(outputs["bpp"]))] == outputs["sbpp_segments"]


def test_the_pieces_open_to_the_profile_with_the_session_keys():
    inputs, outputs = case("bpp-session-keys-pysim")
    shs = ecka(int(inputs["euicc_otsk"], 16), public_key(int(inputs["smdp_otsk"], 16)))
    state = SecureChannel(derive_session_keys(shs, h(inputs["host_id"]), h(inputs["eid"])))
    segments = [piece[_container_header(piece):] for piece in split_bpp(h(outputs["bpp"]))[1:]]
    opened = [state.unprotect(s) for s in segments if s]
    assert opened == [h(inputs["configure_isdp_request"]), h(inputs["store_metadata_request"]), h(inputs["upp"])]


def _container_header(piece: bytes) -> int:
    """Bytes of an A0-A3 header at the start of a piece (0 when it starts with a segment)."""
    if piece[0] not in (0xA0, 0xA1, 0xA2, 0xA3):
        return 0
    return 2 + (piece[1] & 0x7F if piece[1] & 0x80 else 0)


@pytest.mark.parametrize("bpp,message", [
    ("BF2300", "not a Bound Profile Package"),
    ("BF360480020102", "does not start with InitialiseSecureChannel"),
    ("BF3605BF230100", "length does not match"),
    ("BF3605BF2300A400", "unexpected tag A4"),
    ("BF3606BF2300A10388", "runs past"),
])
def test_a_malformed_bpp_is_a_protocol_error(bpp, message):
    with pytest.raises(ProtocolError, match=message):
        split_bpp(bytes.fromhex(bpp))


def _bpp(*children: str) -> bytes:
    """A BF36 holding an empty InitialiseSecureChannel (BF23) and ``children`` (hex)."""
    body = bytes.fromhex("BF2300" + "".join(children))
    return b"\xbf\x36" + bytes([len(body)]) + body


@pytest.mark.parametrize("children, pieces", [
    (["A0028700", "A100", "A3028600"], ["A0028700", "A100", "A302", "8600"]),  # empty A1: its header, no empty piece
    (["A000", "A1028800"], ["A000", "A102", "8800"]),  # empty A0: its header alone
    (["A0048700", "8700", "A2028700", "A3028600"], ["A0048700", "8700", "A2028700", "A302", "8600"]),
    (["A30B", "BF8123020000", "8683000000"], ["A30B", "BF8123020000", "8683000000"]),  # 3-byte tag, 3-byte length
])
def test_each_container_header_travels_as_sgp22_segmented_bpp_says(children, pieces):
    got = [p.hex().upper() for p in split_bpp(_bpp(*children))]
    assert got == ["BF36" + f"{len(_bpp(*children)) - 3:02X}" + "BF2300"] + pieces


@pytest.mark.parametrize("children, message", [
    (["A00187"], "ends in the middle of a TLV"),  # a tag with no length
    (["A002BF83"], "ends in the middle of a TLV"),  # a multi-byte tag cut short
    (["A080"], "a TLV length lpa cannot read"),  # indefinite form
    (["A084000000018700"], "a TLV length lpa cannot read"),  # 4 length bytes
    (["A08201"], "a TLV length lpa cannot read"),  # length bytes past the end
    (["A0028703", "A100"], "a TLV of the Bound Profile Package runs past its container"),
    (["A0028700", "8700"], "unexpected tag 87"),  # an 87 outside its container
])
def test_a_bpp_cut_or_malformed_inside_a_container_is_a_protocol_error(children, message):
    with pytest.raises(ProtocolError, match=message):
        split_bpp(_bpp(*children))


def test_the_vectors_are_the_reference_file_unchanged():
    reference = Path(__file__).parents[3] / "shared" / "reference" / "download-vectors.json"
    if not reference.exists():
        pytest.skip("shared/reference is not beside this checkout")
    assert (Path(__file__).parents[1] / "data" / "download-vectors.json").read_bytes() == reference.read_bytes()


# -- signatures and certificates: the card side and the test SM-DP+ ---------------------


def _euicc_key(inputs: dict):
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.derive_private_key(int(inputs["euicc_sk"], 16), ec.SECP256R1())
    assert public_key(int(inputs["euicc_sk"], 16)).hex().upper() == inputs["euicc_pk"]
    return key


def test_the_profile_installation_result_is_encoded_and_signed_as_the_vector_says():
    from lpa import codec
    from lpa.encoding import operation_bits
    from lpa.sim.pki.signatures import sign_rs, verify_rs

    inputs, outputs = case("pir-success")
    fields, metadata = inputs["fields"], inputs["fields"]["notificationMetadata"]
    kind, result = fields["finalResult"]
    data = codec.encode("ProfileInstallationResultData", {
        "transactionId": h(fields["transactionId"]),
        "notificationMetadata": {"seqNumber": metadata["seqNumber"], "profileManagementOperation":
                                 operation_bits("install"), "notificationAddress": metadata["notificationAddress"],
                                 "iccid": h(metadata["iccid"])},
        "smdpOid": fields["smdpOid"],
        "finalResult": (kind, {"aid": h(result["aid"]), "simaResponse": h(result["simaResponse"])}),
    })
    assert data.hex().upper() == outputs["profile_installation_result_data"]
    key = _euicc_key(inputs)
    signature = sign_rs(key, data, deterministic=True)
    assert signature.hex().upper() == outputs["euicc_sign_pir"]
    assert verify_rs(key.public_key(), data, signature) and not verify_rs(key.public_key(), data[3:], signature)
    pir = codec.encode("ProfileInstallationResultView", {"profileInstallationResultData": data,
                                                         "euiccSignPIR": signature})
    assert pir.hex().upper() == outputs["profile_installation_result"]


def test_cancel_session_both_ways():
    from lpa import codec, es10
    from lpa.sim.pki.signatures import sign_rs

    inputs, outputs = case("cancel-session-enduserrejection")
    transaction_id = h(inputs["transaction_id"])
    sent = []

    class Card:
        def store_data(self, payload: bytes, name: str = "") -> bytes:
            sent.append(payload)
            return h(outputs["cancel_session_response"])

    assert es10.cancel_session(Card(), transaction_id, "endUserRejection") == h(outputs["cancel_session_response"])
    assert sent[0].hex().upper() == outputs["cancel_session_request"]
    signed = codec.encode("EuiccCancelSessionSigned", {"transactionId": transaction_id, "smdpOid": inputs["smdp_oid"],
                                                       "reason": int(inputs["reason"])})
    assert signed.hex().upper() == outputs["euicc_cancel_session_signed"]
    signature = sign_rs(_euicc_key(inputs), signed, deterministic=True)
    assert signature.hex().upper() == outputs["signature"]
    response = codec.encode("CancelSessionResponse", ("cancelSessionResponseOk", {
        "euiccCancelSessionSigned": codec.decode("EuiccCancelSessionSigned", signed),
        "euiccCancelSessionSignature": signature}))
    assert response.hex().upper() == outputs["cancel_session_response"]


def test_the_simulator_has_no_session_to_cancel(state_path):
    from lpa import es10
    from lpa.apdu import open_isdr
    from lpa.errors import ResultError
    from lpa.sim.bridges.inprocess import SimulatedTransport

    with SimulatedTransport(state_path) as transport, open_isdr(transport) as ch:
        with pytest.raises(ResultError) as caught:
            es10.cancel_session(ch, bytes(16), "endUserRejection")
    assert caught.value.reason == "invalidTransactionId"


def test_real_server_and_euicc_signatures_verify_over_the_tlvs_as_received():
    from cryptography import x509

    from lpa.sim.pki.signatures import verify_rs

    for name, signed, signature, certificate in (
            ("real-serverSignature1", "server_signed1", "server_signature1_tlv", "server_certificate"),
            ("real-euiccSignature1", "euicc_signed1", "euicc_signature1_tlv", "euicc_certificate")):
        inputs, outputs = case(name)
        key = x509.load_der_x509_certificate(h(inputs[certificate])).public_key()
        signature_tlv = h(inputs[signature])
        assert signature_tlv[:3] == b"\x5f\x37\x40"
        assert inputs[signed] == outputs["signed_data"]
        assert verify_rs(key, h(inputs[signed]), signature_tlv[3:]) is True
        body = h(inputs[signed])[3 if h(inputs[signed])[1] == 0x81 else 2:]
        assert verify_rs(key, body, signature_tlv[3:]) is False  # the value without its 30 header


def test_real_certificate_chains():
    from cryptography import x509

    from lpa.sim.pki import certificates
    from lpa.trust import GSMA_RSP2_ROOT_CI1
    from lpa.paths import data_dir

    inputs, outputs = case("real-certificate-chains")
    certs = {name: x509.load_der_x509_certificate(h(inputs[f"{name}_certificate"]))
             for name in ("euicc", "eum", "dpauth", "dppb")}
    assert inputs["ci_ski"].lower() == GSMA_RSP2_ROOT_CI1
    ci = x509.load_pem_x509_certificate(Path(data_dir("certs"), f"{GSMA_RSP2_ROOT_CI1}.pem").read_bytes())
    assert certificates.issued_by(certs["euicc"], certs["eum"]) is outputs["euicc_issued_by_eum"] is True
    for name in ("eum", "dpauth", "dppb"):
        assert certificates.issued_by(certs[name], ci) is outputs[f"{name}_issued_by_ci"] is True
    assert not certificates.issued_by(certs["euicc"], ci)
    assert {name: certificates.policies(cert) for name, cert in certs.items()} == outputs["policies"]
    assert all(certificates.POLICIES[name] in certificates.policies(cert) for name, cert in certs.items())
    assert certificates.eid(certs["euicc"]) == outputs["eid_from_euicc_subject"]
    assert certificates.eum_eid_prefix(certs["eum"]) == outputs["eum_name_constraint_serial_prefix"]
    assert certificates.smdp_oid(certs["dpauth"]) == certificates.smdp_oid(certs["dppb"]) == \
        outputs["smdp_oid_in_dpauth_and_dppb_san"]


def test_the_test_smdp_builds_the_bpp_pysim_built():
    from cryptography.hazmat.primitives.asymmetric import ec

    from lpa.sim.servers.bpp_builder import build_bpp

    inputs, outputs = case("bpp-session-keys-pysim")
    key = lambda name: ec.derive_private_key(int(inputs[name], 16), ec.SECP256R1())  # noqa: E731
    bpp = build_bpp(transaction_id=h(inputs["transaction_id"]), euicc_otpk=public_key(int(inputs["euicc_otsk"], 16)),
                    eid=h(inputs["eid"]), dppb_key=key("dppb_sk"), configure_isdp=h(inputs["configure_isdp_request"]),
                    store_metadata=h(inputs["store_metadata_request"]), profile_package=h(inputs["upp"]),
                    host_id=h(inputs["host_id"]), smdp_one_time_key=key("smdp_otsk"), deterministic=True)
    assert bpp == h(outputs["bpp"])  # byte for byte, smdpSign (RFC 6979) included


def test_the_test_smdpps_own_scp03t_derives_the_vectors_keys():
    """lpa/sim/servers/scp03t.py, written apart from the card's: the KDF's key order pinned by the vector."""
    from lpa.sim.servers.scp03t import session_keys

    inputs, outputs = case("kdf-hostid16")
    keys = session_keys(h(inputs["shared_secret"]), h(inputs["host_id"]), h(inputs["eid"]))
    assert (keys.initial_mcv + keys.enc + keys.mac).hex().upper() == outputs["kdf_output_48"]


@pytest.mark.parametrize("name", ["seg-87-configureisdp", "seg-88-storemetadata", "seg-86-1"])
def test_the_test_smdpps_own_scp03t_protects_segments_as_the_vectors_say(name):
    """The block counter (the vector's block_counter) and the MAC chaining, on the SM-DP+'s side."""
    from lpa.sim.servers.scp03t import Keys, Sender

    inputs, outputs = case(name)
    sender = Sender(Keys(h(inputs["mcv_in"]), h(inputs["s_enc"]), h(inputs["s_mac"])))
    sender.sent = inputs["block_counter"] - 1  # the segment before this one
    assert sender.segment(int(inputs["tag"], 16), h(inputs["plaintext"])).hex().upper() == outputs["segment"]
    assert sender.chaining.hex().upper() == outputs["mcv_after"]


@pytest.mark.parametrize("size", [119, 120, 121, 300])
def test_the_test_smdpps_segments_open_on_the_card_at_every_length_form(size):
    """A segment of 127, 128 and 129 bytes crosses DER's one-byte length: both sides must agree."""
    from lpa.sim.servers.scp03t import Keys, Sender

    keys = Keys(bytes(16), bytes(range(16)), bytes(range(16, 32)))
    plaintext = bytes(range(size % 256)) * (size // 256) + bytes(size % 256)
    sender, card = Sender(keys), SecureChannel(SessionKeys(keys.initial_mcv, keys.enc, keys.mac))
    for tag in (0x88, 0x86):
        assert card.unprotect(sender.segment(tag, plaintext)) == plaintext
