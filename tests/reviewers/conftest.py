"""Fixtures shared by the back office's tests."""

import pytest

from tipline import crypto


@pytest.fixture
def decryptions(monkeypatch):
    """The fingerprints of every decryption with a reviewer's key since the test began (gpg
    still runs: ``crypto.decrypt_bytes`` is counted, not replaced)."""
    calls = []
    real = crypto.decrypt_bytes

    def counted(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(crypto, "decrypt_bytes", counted)
    return calls
