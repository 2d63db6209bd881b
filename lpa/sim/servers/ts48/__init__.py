"""GSMA TS.48 generic eUICC test profiles (unprotected profile packages) that the test SM-DP+ serves.
Public test data, copied from shared/reference/ts48."""
