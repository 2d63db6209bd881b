"""The simulated ISD-R's ES10b functions for the eUICC's information and a download session up to its
Bound Profile Package (SGP.22 5.7.5, 5.7.7, 5.7.8, 5.7.13, 5.7.14, 5.7.22).

AuthenticateServer and PrepareDownload check and sign as
:mod:`lpa.sim.card.authentication` does; the other ES10b functions are in
:mod:`lpa.sim.card.install` (LoadBoundProfilePackage) and
:mod:`lpa.sim.card.notifications` (ListNotification,
RetrieveNotificationsList, RemoveNotificationFromList).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ... import codec
from ...encoding import PPR_BITS, RSP_CAPABILITY, UICC_CAPABILITY, names_to_bits, simple_tlv_encode
from ..pki.certificates import key_id
from ..pki.testpki import TEST_SMDP_OID
from .authentication import authenticate_server, prepare_download
from .download_state import DownloadState
from .faults import foreign_signature, spoil
from .state import SimState

if TYPE_CHECKING:
    from ..pki.identity import Identity


class Es10b:
    """GetEUICCInfo1/2, GetEUICCChallenge, AuthenticateServer, PrepareDownload, CancelSession and GetRAT,
    a part of :class:`~lpa.sim.card.isdr.Isdr`."""

    state: SimState
    download: DownloadState
    faults: list[str]

    if TYPE_CHECKING:
        @property
        def identity(self) -> Identity:
            """The eUICC's identity (read-only: :attr:`.Isdr.identity` loads it when first used)."""

    def trusted_cis(self) -> list[Any]:
        """The CI certificates SM-DP+ certificates may chain to: the test CI and those the state adds."""
        from cryptography import x509

        from ..pki.testpki import PKI_DIR

        pems = [(PKI_DIR / "ci-cert.pem").read_text(), *self.state.trusted_cis]
        return [x509.load_pem_x509_certificate(pem.encode()) for pem in pems]

    def _verification_key_ids(self) -> list[bytes]:
        ids = [key_id(c) for c in self.trusted_cis()]
        return list(dict.fromkeys([self.identity.ci_key_id, *ids]))

    def get_euicc_info1(self, request: dict) -> dict:
        return {"svn": b"\x02\x02\x00", "euiccCiPKIdListForVerification": self._verification_key_ids(),
                "euiccCiPKIdListForSigning": [self.identity.ci_key_id]}

    def get_euicc_info2(self, request: dict) -> dict:
        ci = [self.identity.ci_key_id]
        free = self.state.free_memory()
        return {
            "profileVersion": b"\x02\x03\x01",
            "svn": b"\x02\x02\x00",
            "euiccFirmwareVer": b"\x01\x00\x00",
            "extCardResource": simple_tlv_encode({
                0x81: bytes([len(self.state.profiles)]),
                0x82: free.to_bytes(4, "big"),
                0x83: (16_384).to_bytes(2, "big"),
            }),
            "uiccCapability": names_to_bits(
                ["usimSupport", "isimSupport", "akaMilenage", "javacard", "berTlvFileSupport", "getIdentity"],
                UICC_CAPABILITY,
            ),
            "ts102241Version": b"\x09\x02\x00",
            "globalplatformVersion": b"\x02\x03\x00",
            "rspCapability": names_to_bits(["additionalProfile", "testProfileSupport"], RSP_CAPABILITY),
            "euiccCiPKIdListForVerification": self._verification_key_ids(),
            "euiccCiPKIdListForSigning": ci,
            "euiccCategory": 1,
            "ppVersion": b"\x01\x00\x00",
            "sasAcreditationNumber": "LPA-SIMULATED-0001",
            # the SGP.26 test card's sample values (answers.json)
            "certificationDataObject": {"platformLabel": "1.2.840.1234567/myPlatformLabel",
                                        "discoveryBaseURL": "https://mycompany.com/myDLOARegistrar"},
        }

    def get_euicc_challenge(self, request: dict) -> dict:
        """ES10b.GetEUICCChallenge (SGP.22 5.7.7): 16 fresh random bytes; only the latest counts."""
        return {"euiccChallenge": self.download.new_challenge()}

    def authenticate_server(self, request: dict) -> tuple:
        """ES10b.AuthenticateServer (SGP.22 5.7.13), see :mod:`lpa.sim.card.authentication`."""
        kind, response = authenticate_server(self.download, request, self.trusted_cis(), self.identity.ci_key_id,
                                             codec.encode("EUICCInfo2", self.get_euicc_info2({})), self.identity)
        if kind == "authenticateResponseOk" and "bad-euicc-signature1" in self.faults:
            response["euiccSignature1"] = spoil(response["euiccSignature1"])
        return kind, response

    def get_rat(self, request: dict) -> dict:
        """ES10b.GetRAT (SGP.22 5.7.22): any operator may set PPR1 and PPR2, without consent.

        The same table the 9esim (Kigen) capture shows, and the one that
        lets this card hold the PPR-protected profiles it is seeded with.
        """
        return {"rat": [{
            "pprIds": names_to_bits(["ppr1", "ppr2"], PPR_BITS),
            "allowedOperators": [{"mccMnc": b"\xee\xee\xee", "gid1": b"", "gid2": b""}],
            "pprFlags": (b"", 0),
        }]}

    def prepare_download(self, request: dict) -> tuple:
        """ES10b.PrepareDownload (SGP.22 5.7.5), see :mod:`lpa.sim.card.authentication`."""
        kind, response = prepare_download(self.download, request, self.identity)
        if kind == "downloadResponseOk" and "bad-euicc-signature2" in self.faults:
            response["euiccSignature2"] = spoil(response["euiccSignature2"])
        return kind, response

    def cancel_session(self, request: dict) -> tuple:
        """ES10b.CancelSession (SGP.22 5.7.14): end the download session with that transaction ID.

        Answers the signed euiccCancelSessionSigned (transaction ID, the
        SM-DP+ OID of its CERT.DPauth, the reason); invalidTransactionId
        when no such session is open.
        """
        session = self.download.session
        if session is None or bytes(request["transactionId"]) != session.transaction_id:
            return ("cancelSessionResponseError", 5)
        signed = {"transactionId": session.transaction_id, "smdpOid": session.smdp_oid or TEST_SMDP_OID,
                  "reason": request["reason"]}
        tbs = codec.encode("EuiccCancelSessionSigned", signed)
        signature = foreign_signature(tbs) if "foreign-cancel" in self.faults else self.identity.sign(tbs)
        self.download.session = self.download.loading = None
        return ("cancelSessionResponseOk", {"euiccCancelSessionSigned": signed,
                                            "euiccCancelSessionSignature": signature})
