"""The server side of SGP.22's common mutual authentication (3.1.2; docs/download-flow.md,
"Mutual authentication" and "SM-DS discovery").

TEST TOOL. initiateAuthentication and the checks of authenticateClient, the
same for the test SM-DP+ (ES9+, CERT.DPauth) and the test SM-DS (ES11,
CERT.DSauth): each service subclasses :class:`MutualAuthentication` and
adds what it answers once the eUICC is authenticated.
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ... import codec
from ..pki import testpki
from ..pki.certificates import POLICIES, eid, eum_eid_prefix, issued_by, key_id, load_der
from ..pki.signatures import sign_rs, verify_rs


class Refused(Exception):
    """Answer functionExecutionStatus Failed with these subject and reason codes (docs/servers.md, "Status codes")."""

    def __init__(self, subject: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.subject, self.reason, self.message = subject, reason, message


@dataclass
class Session:
    transaction_id: bytes
    matching_id: str = ""
    server_challenge: bytes = b""
    euicc_certificate: x509.Certificate | None = None
    euicc_signature1: bytes = b""
    smdp_signature2: bytes = b""


@dataclass(frozen=True)
class Client:
    """An eUICC that passed authenticateClient's checks."""

    session: Session
    certificate: x509.Certificate
    #: ctxParams1's CtxParamsForCommonAuthentication, decoded.
    context: dict[str, Any]
    signature1: bytes


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(payload: dict[str, Any], name: str) -> bytes:
    try:
        return base64.b64decode("".join(str(payload[name]).split()), validate=True)
    except (KeyError, ValueError):
        raise Refused("8.1", "3.8", f"{name} missing or not base64") from None


@dataclass
class MutualAuthentication:
    """Sessions, the server's auth certificate under the lpa test CI, and the two common functions.

    ``address`` is what the server calls itself (serverAddress).
    """

    address: str
    sessions: dict[bytes, Session] = field(default_factory=dict)
    #: A fault (the subclass's FAULTS), set by the server before each call.
    fault: str | None = None
    #: Where each session step is told (``lpa sim smdpp`` prints them).
    log: Callable[[str], None] = field(default=lambda line: None)

    #: "dp" or "ds": the certificate role (CERT.DPauth or CERT.DSauth) and the prefix of its faults.
    role: ClassVar[str] = "dp"
    #: The request field naming the server ("smdpAddress"; an SM-DS also accepts "smdsAddress").
    address_fields: ClassVar[tuple[str, ...]] = ("smdpAddress",)
    #: The functions served, by their ES9+/ES11 name -> method name.
    functions: ClassVar[dict[str, str]] = {"initiateAuthentication": "initiate_authentication"}

    def __post_init__(self) -> None:
        self.ci = testpki.load(Path(testpki.PKI_DIR), "ci")
        policy = POLICIES[f"{self.role}auth"]
        self.auth = testpki.load(Path(testpki.PKI_DIR), f"{self.role}auth")
        self._faulty = {f"{self.role}-unknown-ci": testpki.make_dp(testpki.make_ci("Unknown Test CI"), policy),
                        f"{self.role}-expired": testpki.make_dp(self.ci, policy, expired=True),
                        f"forged-{self.role}auth": testpki.make_dp(self.forged_ci(), policy)}

    def forged_ci(self) -> testpki.Issued:
        """The CI's certificate with another key: what it signs names the CI and its key identifier
        (authorityKeyIdentifier) but does not verify with the CI's key."""
        return testpki.Issued(self.ci.cert, ec.generate_private_key(ec.SECP256R1()))

    def call(self, function: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Run a function by its ES9+/ES11 name, or fail as the fault says."""
        if self.fault == f"fail-{function}":
            raise Refused("8.1", "6.1", f"test fault at {function}")
        return getattr(self, self.functions[function])(payload)

    def initiate_authentication(self, payload: dict[str, Any]) -> dict[str, Any]:
        named = next((str(payload[f]) for f in self.address_fields if f in payload), "")
        if named.lower() != self.address.lower():
            raise Refused("8.8.1", "3.8", f"this server is {self.address}, not {named or 'unnamed'}")
        challenge = unb64(payload, "euiccChallenge")
        info1 = codec.decode("EUICCInfo1", unb64(payload, "euiccInfo1"))
        ci_key = key_id(self.ci.cert)
        if ci_key not in [bytes(k) for k in info1["euiccCiPKIdListForVerification"]]:
            raise Refused("8.8.2", "3.1", "none of the CIs the eUICC trusts signed this server's certificates")
        session = Session(os.urandom(16), server_challenge=os.urandom(16))
        self.sessions[session.transaction_id] = session
        self.log(f"{session.transaction_id.hex().upper()}: initiateAuthentication")
        signed1 = codec.encode("ServerSigned1", {"transactionId": session.transaction_id, "euiccChallenge": challenge,
                                                 "serverAddress": self.address,
                                                 "serverChallenge": session.server_challenge})
        auth = self._faulty.get(self.fault or "", self.auth)
        signature = sign_rs(auth.key, signed1)
        if self.fault == f"{self.role}-bad-signature":
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        return {"transactionId": session.transaction_id.hex().upper(), "serverSigned1": b64(signed1),
                "serverSignature1": b64(codec.encode("SignatureElement", signature)),
                "euiccCiPKIdToBeUsed": b64(codec.encode("SubjectKeyIdentifier", ci_key)),
                "serverCertificate": b64(auth.cert.public_bytes(serialization.Encoding.DER))}

    def session_of(self, payload: dict[str, Any]) -> Session:
        try:
            session = self.sessions.get(bytes.fromhex(str(payload.get("transactionId", ""))))
        except ValueError:
            session = None
        if session is None:
            raise Refused("8.10.1", "3.9", "unknown transactionId")
        return session

    def authenticated_client(self, payload: dict[str, Any]) -> Client:
        """authenticateClient's checks (SGP.22 5.6.3, 5.8.2): the eUICC's chain to the CI and its signature over
        this session's euiccSigned1."""
        session = self.session_of(payload)
        kind, response = codec.decode("AuthenticateServerResponseView", unb64(payload, "authenticateServerResponse"))
        if kind != "authenticateResponseOk":
            del self.sessions[session.transaction_id]
            raise Refused("8.1", "6.1", f"the eUICC refused this server (code {response['authenticateErrorCode']})")
        try:
            euicc, eum = load_der(bytes(response["euiccCertificate"])), load_der(bytes(response["eumCertificate"]))
        except ValueError as error:
            raise Refused("8.1.3", "6.1", f"a certificate does not parse: {error}") from None
        if not issued_by(eum, self.ci.cert):
            raise Refused("8.1.2", "6.1", "the EUM certificate is not signed by the CI")
        if not issued_by(euicc, eum):
            raise Refused("8.1.3", "6.1", "the eUICC certificate is not signed by the EUM")
        ein = eum_eid_prefix(eum)
        if ein is None:
            raise Refused("8.1.2", "6.1", "no permitted EINs in the EUM certificate (nameConstraints)")
        if not (eid(euicc) or "").startswith(ein):
            raise Refused("8.1.3", "6.1", f"the eUICC's EID {eid(euicc)} is outside its EUM's permitted range {ein}")
        session.euicc_certificate = euicc  # a genuine eUICC's: what its cancel is verified with
        signed1 = bytes(response["euiccSigned1"])
        if not verify_rs(euicc.public_key(), signed1, response["euiccSignature1"]):  # type: ignore[arg-type]
            raise Refused("8.1", "6.1", "euiccSignature1 does not verify")
        fields = codec.decode("EuiccSigned1View", signed1)
        if bytes(fields["transactionId"]) != session.transaction_id or \
                bytes(fields["serverChallenge"]) != session.server_challenge:
            raise Refused("8.1", "6.1", "euiccSigned1 is not for this session")
        _, context = codec.decode("CtxParams1", bytes(fields["ctxParams1"]))
        self.log(f"{session.transaction_id.hex().upper()}: authenticateClient, eUICC {eid(euicc)}")
        return Client(session, euicc, context, bytes(response["euiccSignature1"]))
