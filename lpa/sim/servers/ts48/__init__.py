"""GSMA TS.48 generic eUICC test profiles (unprotected profile packages) that the test SM-DP+ serves,
and the TCA profile package ASN.1 module (PE_Definitions) to read their headers. Public test data,
copied from shared/reference/ts48."""
