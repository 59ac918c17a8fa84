"""Encryption at rest, the pure part: AES-SIV tokens named by their key, key files."""

from __future__ import annotations

import os
import stat

import pytest

from doudi.core import crypto

ID = "34100219800517001X"


@pytest.fixture
def ring() -> crypto.KeyRing:
    return crypto.KeyRing.generate()


def test_round_trip_and_determinism(ring):
    token = ring.encrypt(ID)
    assert token.startswith("k1:") and ID not in token
    assert ring.decrypt(token) == ID
    assert ring.encrypt(ID) == token  # what equality lookups and UNIQUE rely on
    assert ring.encrypt("34100219800517002X") != token
    assert ring.decrypt(ring.encrypt("电话：13812345678")) == "电话：13812345678"


def test_empty_stays_empty(ring):
    assert ring.encrypt("") == "" and ring.decrypt("") == ""


@pytest.mark.parametrize("value", ["1", ID, "6217" + "9" * 28, "无" * 30, "\U0001f600" * 30])
def test_column_width_fits_the_longest_token(value):
    longest_id = crypto.KeyRing(keys={"k999999": os.urandom(crypto.KEY_BYTES)}, current="k999999")
    token = longest_id.encrypt(value)
    assert len(token) <= crypto.ciphertext_length(len(value))


def test_new_key_writes_under_it_and_reads_both(ring):
    old = ring.encrypt(ID)
    rotated = ring.with_new_key()
    assert rotated.current == "k2"
    new = rotated.encrypt(ID)
    assert new.startswith("k2:") and new != old
    assert rotated.decrypt(old) == rotated.decrypt(new) == ID
    assert rotated.encrypt_all(ID) == [old, new]


def test_unknown_key_is_refused(ring):
    other = crypto.KeyRing.generate().with_new_key()
    with pytest.raises(crypto.UnknownKey, match="k2"):
        ring.decrypt(other.encrypt(ID))


def test_wrong_key_is_refused(ring):
    same_id_other_key = crypto.KeyRing.generate()  # also calls its key k1
    with pytest.raises(crypto.InvalidCiphertext, match="k1"):
        ring.decrypt(same_id_other_key.encrypt(ID))


def test_tampered_ciphertext_is_refused(ring):
    token = ring.encrypt(ID)
    body = token[3:]
    flipped = body[:5] + ("A" if body[5] != "A" else "B") + body[6:]
    for bad in ("k1:" + flipped, token[:-2], token + "AA", "k1:" + body[::-1], "k1:!!!"):
        with pytest.raises(crypto.InvalidCiphertext):
            ring.decrypt(bad)


def test_plaintext_is_not_taken_for_a_token(ring):
    with pytest.raises(crypto.InvalidCiphertext, match="不是密文"):
        ring.decrypt(ID)


def test_key_file_round_trip_and_mode(tmp_path, ring):
    path = tmp_path / "keys" / "doudi.keys"
    assert crypto.write_key_file(path, ring, exclusive=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not crypto.write_key_file(path, crypto.KeyRing.generate(), exclusive=True)
    loaded = crypto.read_key_file(path)
    assert loaded.decrypt(ring.encrypt(ID)) == ID
    assert [p.name for p in path.parent.iterdir()] == ["doudi.keys"]  # no temp file left


def test_key_file_others_can_read_is_refused(tmp_path, ring):
    path = tmp_path / "doudi.keys"
    crypto.write_key_file(path, ring)
    os.chmod(path, 0o644)
    with pytest.raises(crypto.KeyFileError, match="chmod 600"):
        crypto.read_key_file(path)


def test_malformed_key_file_is_refused(tmp_path):
    path = tmp_path / "doudi.keys"
    path.write_text('{"format": 1, "current": "k2", "keys": {"k1": "AAAA"}}')
    os.chmod(path, 0o600)
    with pytest.raises(crypto.KeyFileError):
        crypto.read_key_file(path)


def test_store_creates_the_file_once_and_sees_a_rotation(tmp_path, monkeypatch):
    path = tmp_path / "k" / "doudi.keys"
    store, other = crypto.KeyStore(path), crypto.KeyStore(path)
    token = store.ring().encrypt(ID)
    assert path.exists() and other.decrypt(token) == ID  # one key, not one each
    rotated = crypto.read_key_file(path).with_new_key()
    other.save(rotated)
    # a token under the new key makes the first store re-read the file at once
    assert store.decrypt(rotated.encrypt(ID)) == ID
    assert store.ring().current == "k2"


def test_store_runs_the_missing_file_check(tmp_path):
    store = crypto.KeyStore(tmp_path / "doudi.keys")

    def refuse(path):
        raise crypto.KeyFileError(f"{path} missing")

    store.add_missing_check(refuse)
    with pytest.raises(crypto.KeyFileError, match="missing"):
        store.ring()
    assert not (tmp_path / "doudi.keys").exists()
