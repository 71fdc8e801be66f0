"""Reading text from a customer's photo (a prescription, a part label) with Tesseract.

``read_image`` is synchronous and CPU-bound (Tesseract runs as a subprocess for up to
``OCR_TIMEOUT_SECONDS``): call it from async code with ``await asyncio.to_thread(read_image, data)``.
What it reads is the customer's data, never instructions, and lines it is unsure of are listed by
``low_confidence_items`` so the concierge confirms them with the customer before asking vendors.
"""

from __future__ import annotations

import functools
import io
import re
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import pytesseract  # type: ignore[import-untyped]
from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # WhatsApp sends photos well under this (it recompresses to ~200 KB-2 MB)
MAX_IMAGE_PIXELS = 40_000_000
MIN_IMAGE_SIDE = 8
OCR_TIMEOUT_SECONDS = 30
# Tesseract reads best when letters are ~30 px tall: small images are scaled up to this long side.
TARGET_LONG_SIDE = 1_600
MAX_UPSCALE = 3.0
LOW_CONFIDENCE = 0.6
MAX_LINES = 200
MAX_LINE_CHARS = 300

OcrErrorCode = Literal["empty", "too_large", "not_image", "bad_language", "tesseract_missing", "timeout", "failed"]
_LANGUAGE = re.compile(r"^[a-z]{3}(?:_[a-z]+)?$")


class OcrError(Exception):
    """The image could not be read; ``code`` says why (for the reply to the customer and the logs)."""

    def __init__(self, code: OcrErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: OcrErrorCode = code


class OcrWord(BaseModel):
    """One word Tesseract found, with its confidence 0..1."""

    model_config = ConfigDict(frozen=True)

    text: str
    confidence: float = Field(ge=0.0, le=1.0)


class OcrLine(BaseModel):
    """One line of text with its mean word confidence 0..1."""

    model_config = ConfigDict(frozen=True)

    text: str
    confidence: float = Field(ge=0.0, le=1.0)
    words: tuple[OcrWord, ...] = ()


class OcrResult(BaseModel):
    """All text read from an image, line by line, and the mean confidence over its words (0 when none)."""

    model_config = ConfigDict(frozen=True)

    text: str
    lines: list[OcrLine]
    mean_confidence: float = Field(ge=0.0, le=1.0)


@functools.lru_cache(maxsize=1)
def _installed_languages() -> frozenset[str]:
    try:
        return frozenset(pytesseract.get_languages(config=""))
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrError("tesseract_missing", "Tesseract is not installed (apt-get install tesseract-ocr)") from exc


def _open(data: bytes) -> Image.Image:
    if not data:
        raise OcrError("empty", "the image is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise OcrError("too_large", f"the image is {len(data) // 1024} KB; at most {MAX_IMAGE_BYTES // 1024} KB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise OcrError("too_large", f"the image is {width}×{height} pixels; at most {MAX_IMAGE_PIXELS:,}")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise OcrError("too_large", "the image has too many pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise OcrError("not_image", "the file is not an image that can be read (JPEG, PNG, WebP...)") from exc
    if min(image.size) < MIN_IMAGE_SIDE:
        raise OcrError("not_image", f"the image is too small to read ({image.size[0]}×{image.size[1]} pixels)")
    return image


def _prepare(image: Image.Image) -> Image.Image:
    """Upright, grey, on white, and big enough for Tesseract."""
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    grey = image.convert("L")
    long_side = max(grey.size)
    if long_side < TARGET_LONG_SIDE:
        factor = min(MAX_UPSCALE, TARGET_LONG_SIDE / long_side)
        grey = grey.resize((round(grey.width * factor), round(grey.height * factor)), Image.Resampling.LANCZOS)
    return grey


def _lines(data: dict[str, list[Any]]) -> list[OcrLine]:
    grouped: dict[tuple[int, int, int, int], list[OcrWord]] = {}
    for i, raw in enumerate(data.get("text", [])):
        text = str(raw).strip()
        try:
            conf = float(data["conf"][i])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if not text or conf < 0:
            continue
        key = (
            int(data["page_num"][i]),
            int(data["block_num"][i]),
            int(data["par_num"][i]),
            int(data["line_num"][i]),
        )
        grouped.setdefault(key, []).append(OcrWord(text=text, confidence=round(min(conf, 100.0) / 100, 3)))
    lines: list[OcrLine] = []
    for key in sorted(grouped):
        words = tuple(grouped[key])
        text = " ".join(w.text for w in words)[:MAX_LINE_CHARS]
        confidence = sum(w.confidence for w in words) / len(words)
        lines.append(OcrLine(text=text, confidence=round(confidence, 3), words=words))
        if len(lines) >= MAX_LINES:
            break
    return lines


def read_image(
    data: bytes, *, languages: Sequence[str] = ("spa", "eng"), timeout_seconds: int = OCR_TIMEOUT_SECONDS
) -> OcrResult:
    """Text in an image (JPEG, PNG, WebP, ...) via Tesseract; OcrError when it is not an image or cannot be read."""
    langs = list(languages)
    if not langs or any(not _LANGUAGE.match(lang) for lang in langs):
        raise OcrError("bad_language", f"languages must be Tesseract codes like 'spa', 'eng': {langs!r}")
    missing = [lang for lang in langs if lang not in _installed_languages()]
    if missing:
        raise OcrError(
            "bad_language", f"Tesseract has no data for {', '.join(missing)} (apt-get install tesseract-ocr-…)"
        )
    image = _prepare(_open(data))
    try:
        raw = pytesseract.image_to_data(
            image,
            lang="+".join(langs),
            config="--psm 3",
            output_type=pytesseract.Output.DICT,
            timeout=timeout_seconds,
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrError("tesseract_missing", "Tesseract is not installed (apt-get install tesseract-ocr)") from exc
    except pytesseract.TesseractError as exc:
        raise OcrError("failed", f"Tesseract could not read the image: {exc}") from exc
    except RuntimeError as exc:  # pytesseract's timeout
        raise OcrError("timeout", f"reading the image took more than {timeout_seconds} s") from exc
    lines = _lines(raw)
    words = [w for line in lines for w in line.words]
    mean = sum(w.confidence for w in words) / len(words) if words else 0.0
    return OcrResult(text="\n".join(line.text for line in lines), lines=lines, mean_confidence=round(mean, 3))


def _matters(word: OcrWord) -> bool:
    """Words worth confirming when unsure: anything with a digit (doses, part numbers) or 3+ letters."""
    alnum = re.sub(r"[\W_]", "", word.text)
    return any(ch.isdigit() for ch in alnum) or len(alnum) >= 3


def low_confidence_items(result: OcrResult, threshold: float = LOW_CONFIDENCE) -> list[OcrLine]:
    """Lines to confirm with the customer before outreach: a low mean, or an unsure number or word in them."""
    return [
        line
        for line in result.lines
        if line.confidence < threshold or any(_matters(w) and w.confidence < threshold for w in line.words)
    ]
