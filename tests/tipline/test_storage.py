"""The encrypted-file store turns a name into a path only inside itself."""

import pytest

from tipline import storage

MALFORMED = [
    "",
    "0" * 31,
    "0" * 33,
    "A" * 32,  # upper-case hex is not a name the store hands out
    "g" * 32,
    "0" * 30 + "\0a",
    "../" * 10 + "ab",
    "/etc/passwd" + "0" * 21,
    "0" * 28 + "/../",
]


@pytest.fixture
def outside(gpg_dirs):
    """A file next to the store that no storage name may reach."""
    path = gpg_dirs / "outside.gpg"
    path.write_bytes(b"not the store's")
    return path


@pytest.mark.parametrize("name", MALFORMED)
def test_it_refuses_a_malformed_name(gpg_dirs, outside, name):
    for use in (storage.path_of, storage.commit, storage.delete, storage.shred):
        with pytest.raises(storage.StorageError):
            use(name)
    with pytest.raises(storage.StorageError):
        storage.discard_incoming(name)
    assert outside.read_bytes() == b"not the store's"


def test_it_refuses_a_name_that_resolves_outside_the_store(gpg_dirs, outside):
    # Someone with write access to the store plants a link: the name is well formed, the file
    # it resolves to is not the store's, and nothing may read, move, shred or delete it.
    name = "0123456789abcdef" * 2
    (storage.root() / "stored" / f"{name}.gpg").symlink_to(outside)
    (storage.root() / "incoming" / f"{name}.gpg").symlink_to(outside)
    for use in (storage.path_of, storage.commit, storage.delete, storage.shred):
        with pytest.raises(storage.StorageError, match="escapes the store"):
            use(name)
    with pytest.raises(storage.StorageError, match="escapes the store"):
        storage.discard_incoming(name)
    assert outside.read_bytes() == b"not the store's"


def test_it_finds_a_well_formed_name_inside_the_store(gpg_dirs):
    name, path = storage.new_incoming()
    path.write_bytes(b"ciphertext")
    storage.commit(name)
    assert storage.path_of(name) == (storage.root() / "stored" / f"{name}.gpg").resolve()
    storage.shred(name)
    with pytest.raises(storage.StorageError, match="no such stored file"):
        storage.path_of(name)
