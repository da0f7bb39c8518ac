"""A source file's bytes read as Python reads them (no parser: the cache's checks use it too)."""

from __future__ import annotations

import io
import tokenize


def decode_source(data: bytes) -> str:
    """Decode as Python does (PEP 263 cookie or BOM, else UTF-8); raises ValueError with a reason."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise ValueError(f"not valid utf-8 (byte 0x{data[bad.start]:02x} at offset {bad.start}) and no coding "
                             "cookie declares another encoding; re-encode as UTF-8 or add one") from None
        raise ValueError(f"cannot determine the encoding: {exc.msg}") from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ValueError(f"not valid {encoding} ({exc.__class__.__name__} at byte {getattr(exc, 'start', '?')}); "
                         "add a coding cookie or re-encode as UTF-8") from None
    if text.startswith("\ufeff") and encoding != "utf-8-sig":  # one BOM, as Python: a second is an error
        text = text[1:]
    if "\0" in text:
        raise ValueError("source contains NUL bytes")
    return text
