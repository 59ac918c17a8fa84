"""数据加密存储 (encryption at rest): resident IDs, phone numbers and payment accounts are
stored encrypted, with keys kept in a file outside the database (等保 2.0 三级, 数据保密性).

Deterministic authenticated encryption (AES-SIV, RFC 5297): one plaintext gives one ciphertext
under one key, so equality lookups, `IN` lists and UNIQUE constraints keep working on the
ciphertext without a separate hash column; any change to a stored value is detected on
decryption. A token is `<key id>:<base64url(SIV tag ‖ ciphertext)>`; it is decrypted with the
key its prefix names and always written with the current key, which is what lets a key be
rotated while the data is re-encrypted in batches.

Pure Python (no Django): the Django field and the `doudi keys` command sit on top of this.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

KEY_BYTES = 64  # AES-256-SIV: two 256-bit keys (S2V and CTR)
TAG_BYTES = 16
KID_PATTERN = re.compile(r"^k[0-9]{1,6}$")  # k1, k2 …: short, and never a LIKE wildcard
KID_MAX = 7
FILE_FORMAT = 1
RELOAD_EVERY_S = 2.0  # how soon a running process sees a key added by `doudi keys rotate`


class CryptoError(Exception):
    """A stored value cannot be read back; the message is bilingual for operators."""


class UnknownKey(CryptoError):
    pass


class InvalidCiphertext(CryptoError):
    pass


class KeyFileError(CryptoError):
    pass


def ciphertext_length(max_chars: int) -> int:
    """The longest token a value of `max_chars` characters can give (4 UTF-8 bytes a
    character at worst): the database column is sized from this."""
    raw = TAG_BYTES + 4 * max_chars
    return KID_MAX + 1 + (raw * 4 + 2) // 3


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id_of(token: str) -> str | None:
    """The key id a stored token names, or None for an empty or non-token value."""
    kid, sep, _ = token.partition(":")
    return kid if sep and KID_PATTERN.match(kid) else None


@dataclass
class KeyRing:
    """Known keys by id, and the one new values are written with."""

    keys: dict[str, bytes]
    current: str
    _ciphers: dict[str, AESSIV] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyFileError(f"当前密钥 {self.current} 不在密钥文件中 / "
                               f"current key {self.current} is not among the keys")
        for kid, key in self.keys.items():
            if not KID_PATTERN.match(kid):
                raise KeyFileError(f"密钥编号 {kid!r} 无效（应为 k1、k2…） / bad key id {kid!r}")
            if len(key) != KEY_BYTES:
                raise KeyFileError(f"密钥 {kid} 长度应为 {KEY_BYTES} 字节 / "
                                   f"key {kid} must be {KEY_BYTES} bytes")
            self._ciphers[kid] = AESSIV(key)

    def encrypt(self, plaintext: str, kid: str | None = None) -> str:
        """The token for `plaintext` under `kid` (default: the current key). The empty string
        stays empty: it says only "not given", which the column's emptiness says anyway."""
        if plaintext == "":
            return ""
        kid = kid or self.current
        return f"{kid}:{_b64(self._cipher(kid).encrypt(plaintext.encode('utf-8'), None))}"

    def encrypt_all(self, plaintext: str) -> list[str]:
        """The token under every known key: what an equality lookup must match while rows are
        being re-encrypted from an old key to a new one."""
        if plaintext == "":
            return [""]
        return [self.encrypt(plaintext, kid) for kid in self.keys]

    def decrypt(self, token: str) -> str:
        if token == "":
            return ""
        kid, _, body = token.partition(":")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            if key_id_of(token) is None:
                raise InvalidCiphertext("数据库中的值不是密文（数据迁移未执行？） / stored value "
                                        "is not a ciphertext (were the migrations run?)")
            cipher = self._cipher(kid)  # raises UnknownKey, naming it
        try:
            return cipher.decrypt(_unb64(body), None).decode("utf-8")
        except (InvalidTag, binascii.Error, ValueError, UnicodeDecodeError) as exc:
            raise InvalidCiphertext(
                f"密文无法以密钥 {kid} 解密：数据被篡改或密钥文件不对 / ciphertext does not "
                f"decrypt under key {kid}: tampered data or the wrong key file") from exc

    def _cipher(self, kid: str) -> AESSIV:
        try:
            return self._ciphers[kid]
        except KeyError:
            raise UnknownKey(
                f"密文使用的密钥 {kid} 不在密钥文件中，请恢复该密钥（见 docs/key-management.md） / "
                f"ciphertext names key {kid}, which is not in the key file") from None

    def next_kid(self) -> str:
        return f"k{max(int(k[1:]) for k in self.keys) + 1}"

    def with_new_key(self) -> KeyRing:
        kid = self.next_kid()
        return KeyRing(keys={**self.keys, kid: AESSIV.generate_key(KEY_BYTES * 8)}, current=kid)

    def without(self, kid: str) -> KeyRing:
        if kid == self.current:
            raise KeyFileError(f"不能删除当前密钥 {kid} / cannot retire the current key")
        return KeyRing(keys={k: v for k, v in self.keys.items() if k != kid}, current=self.current)

    @classmethod
    def generate(cls) -> KeyRing:
        return cls(keys={"k1": AESSIV.generate_key(KEY_BYTES * 8)}, current="k1")

    # the key file: {"format": 1, "current": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}}
    def dumps(self) -> str:
        return json.dumps({"format": FILE_FORMAT, "current": self.current,
                           "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()}},
                          indent=1) + "\n"

    @classmethod
    def loads(cls, text: str, source: str = "密钥文件") -> KeyRing:
        try:
            data = json.loads(text)
            if data.get("format") != FILE_FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            keys = {k: base64.b64decode(v, validate=True) for k, v in data["keys"].items()}
            return cls(keys=keys, current=data["current"])
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise KeyFileError(f"{source} 格式错误 / malformed key file: {exc}") from exc


def default_key_path() -> Path:
    """`DOUDI_KEY_FILE`, else `<DOUDI_HOME or ./var>/keys/doudi.keys` (the settings' home)."""
    if path := os.environ.get("DOUDI_KEY_FILE"):
        return Path(path)
    return Path(os.environ.get("DOUDI_HOME", Path.cwd() / "var")) / "keys" / "doudi.keys"


def write_key_file(path: Path, ring: KeyRing, *, exclusive: bool = False) -> bool:
    """Write the key file with mode 0600 atomically (temp file, then rename or link).
    `exclusive`: only if none exists yet (two processes starting at once must not each make
    a different first key); returns False when another one was there first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".doudi-keys-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(ring.dumps())
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
            tmp = ""
        return True
    finally:
        if tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def read_key_file(path: Path) -> KeyRing:
    mode = path.stat().st_mode & 0o777
    if mode & 0o007:  # group access is the operator's choice (a service group); others never
        raise KeyFileError(f"密钥文件 {path} 权限为 {mode:o}，其他用户可访问；请执行 chmod 600 / "
                           f"key file is accessible to other users (mode {mode:o}): chmod 600 it")
    return KeyRing.loads(path.read_text(encoding="utf-8"), source=f"密钥文件 {path}")


class KeyStore:
    """The process's key ring, read from the key file and re-read when the file changes (a
    rotation run by another process adds a key every running process must know at once).

    Checks added with `add_missing_check` run before a first key is created: one raises if a
    new key would orphan data already encrypted (a lost or misplaced key file)."""

    def __init__(self, path: Path | None = None) -> None:
        self._fixed_path = path
        self._on_missing: list[Callable[[Path], None]] = []
        self._lock = threading.Lock()
        self._ring: KeyRing | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0

    @property
    def path(self) -> Path:
        return self._fixed_path or default_key_path()

    def add_missing_check(self, check: Callable[[Path], None]) -> None:
        self._on_missing.append(check)

    def reset(self) -> None:
        """Forget the cached ring (tests, and after this process rewrote the file)."""
        with self._lock:
            self._ring, self._stamp, self._checked = None, None, 0.0

    def ring(self) -> KeyRing:
        now = time.monotonic()
        ring = self._ring
        if ring is not None and now - self._checked < RELOAD_EVERY_S:
            return ring
        with self._lock:
            path = self.path
            try:
                st = path.stat()
            except FileNotFoundError:
                self._create(path)
                st = path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
            if self._ring is None or stamp != self._stamp:
                self._ring, self._stamp = read_key_file(path), stamp
            self._checked = now
            return self._ring

    def refresh(self) -> KeyRing:
        """Re-read now: a token named a key this process did not know yet."""
        self._checked = 0.0
        return self.ring()

    def _create(self, path: Path) -> None:
        for check in self._on_missing:
            check(path)
        write_key_file(path, KeyRing.generate(), exclusive=True)

    def save(self, ring: KeyRing) -> None:
        write_key_file(self.path, ring)
        self.reset()

    def decrypt(self, token: str) -> str:
        try:
            return self.ring().decrypt(token)
        except UnknownKey:
            return self.refresh().decrypt(token)
