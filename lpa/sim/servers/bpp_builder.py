"""The test SM-DP+'s side of SCP03t: binding a profile package to one eUICC (SGP.22 2.5.2-2.5.4;
docs/bound-profile-package.md, "Binding by the SM-DP+").

TEST TOOL (SCP03t from :mod:`.scp03t`, the card's own is :mod:`lpa.sim.card.bsp`). From the eUICC's one-time public key
(PrepareDownload) it makes the SM-DP+'s one-time key pair, the shared
secret and session keys, InitialiseSecureChannel signed with the DPpb key,
and the protected segments: ConfigureISDP in 87s, StoreMetadata in 88s,
the profile package in 86s of at most 1007 bytes; in PPK mode, a
ReplaceSessionKeys 87 first, and the 86s under the Profile Protection Keys.
"""
from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ... import codec
from ..card.tlv import header
from ..pki.signatures import sign_rs
from .scp03t import PADDING, Keys, Sender, session_keys

#: What :func:`build_bpp`'s ``fault`` may spoil: a signature or padding a card must refuse.
FAULTS = ("bad-smdp-sign", "bad-padding")

#: Largest plaintext of one 86/87 segment (1020 bytes with tag, length, padding and MAC).
MAX_SEGMENT_PLAINTEXT = 1007


def _value(segment: bytes) -> bytes:
    """The value of a segment TLV (what the BPP's SEQUENCE OF [n] OCTET STRING holds)."""
    return segment[header(segment)[0]:]


def build_bpp(*, transaction_id: bytes, euicc_otpk: bytes, eid: bytes, dppb_key: ec.EllipticCurvePrivateKey,
              configure_isdp: bytes, store_metadata: bytes, profile_package: bytes, host_id: bytes,
              smdp_one_time_key: ec.EllipticCurvePrivateKey | None = None, deterministic: bool = False,
              ppk: Keys | None = None, fault: str | None = None) -> bytes:
    """The Bound Profile Package (BF36) for one eUICC: the 86s under the session keys, or with
    ``ppk`` under those Profile Protection Keys, sent in ReplaceSessionKeys (SGP.22 5.5.4).

    ``fault`` (one of :data:`FAULTS`) spoils smdpSign, or the padding of the last 86 (its MAC right).
    """
    one_time = smdp_one_time_key or ec.generate_private_key(ec.SECP256R1())
    smdp_otpk = one_time.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), euicc_otpk)
    channel = Sender(session_keys(one_time.exchange(ec.ECDH(), peer), host_id, eid))
    initialise: dict[str, Any] = {
        "remoteOpId": 1, "transactionId": transaction_id,
        "controlRefTemplate": {"keyType": b"\x88", "keyLen": b"\x10", "hostId": host_id},
        "smdpOtpk": smdp_otpk, "smdpSign": bytes(64)}
    # smdpSign covers the TLVs before it (BF23's value without its last element) || 5F49 <otPK.EUICC>
    signed = _value(codec.encode("InitialiseSecureChannelRequest", initialise))[:-(3 + 64)]
    smdp_sign = sign_rs(dppb_key, signed + codec.encode("OneTimePublicKey", euicc_otpk), deterministic=deterministic)
    initialise["smdpSign"] = bytes([smdp_sign[0] ^ 1]) + smdp_sign[1:] if fault == "bad-smdp-sign" else smdp_sign
    bpp: dict[str, Any] = {
        "initialiseSecureChannelRequest": initialise,
        "firstSequenceOf87": [_value(channel.segment(0x87, configure_isdp))],
        "sequenceOf88": [_value(channel.segment(0x88, store_metadata))],
    }
    if ppk is not None:
        replace = codec.encode("ReplaceSessionKeysRequest", {
            "initialMacChainingValue": ppk.initial_mcv, "ppkEnc": ppk.enc, "ppkCmac": ppk.mac})
        bpp["secondSequenceOf87"] = [_value(channel.segment(0x87, replace))]
        channel = Sender(ppk)
    starts = range(0, len(profile_package), MAX_SEGMENT_PLAINTEXT)
    bpp["sequenceOf86"] = [_value(channel.segment(0x86, profile_package[i:i + MAX_SEGMENT_PLAINTEXT],
                                                  b"\x81" if fault == "bad-padding" and i == starts[-1] else PADDING))
                           for i in starts]
    return codec.encode("BoundProfilePackage", bpp)
