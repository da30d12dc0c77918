"""Debian's chromium, headless, for tests of the HTML report (installed by ``make browser``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image

TIMEOUT = 90.0


def chromium() -> str:
    found = shutil.which("chromium")
    assert found, "chromium is not installed; 'make browser' installs it"
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="nc-chromium-") as profile:
        return subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",  # tests run as root in CI
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                f"--user-data-dir={profile}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=True,
        )


def screenshot(page: Path, png: Path, width: int = 1100, height: int = 1600) -> Image.Image:
    _run(f"--screenshot={png}", f"--window-size={width},{height}", page.resolve().as_uri())
    return Image.open(png)


def dump_dom(page: Path) -> str:
    return _run("--dump-dom", page.resolve().as_uri()).stdout


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    svg: str
    """The id of the svg element this one is drawn in ('' outside any)."""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self.svg = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "svg":
            self.svg = values.get("id", "")
        self.elements.append(Element(tag, values, self.svg))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.svg = ""


def elements(dom: str) -> list[Element]:
    collector = _Collector()
    collector.feed(dom)
    return collector.elements


def early_marks_before_their_window(dom: str, svg_id: str) -> list[tuple[float, float, float]]:
    """Each violating attempt in ``svg_id``: (its x, its forbidden band's x, its window's x)."""
    drawn = [e for e in elements(dom) if e.svg == svg_id]
    found = []
    for mark in (e for e in drawn if e.tag == "circle" and "violation" in e.classes):
        attempt = mark.attrs["data-attempt"]
        bands = {
            e.attrs["class"]: e for e in drawn if e.tag == "rect" and e.attrs.get("data-attempt") == attempt
        }
        if "window" in bands and "forbidden" in bands:
            found.append(
                (
                    float(mark.attrs["cx"]),
                    float(bands["forbidden"].attrs["x"]),
                    float(bands["window"].attrs["x"]),
                )
            )
    return found


def is_picture(image: Image.Image) -> bool:
    """Not blank: many colours, and a good part of the page is not background."""
    rgb = image.convert("RGB")
    histogram = rgb.convert("L").histogram()
    background = max(histogram)
    return distinct_colours(rgb) > 50 and background < 0.97 * sum(histogram)


def distinct_colours(image: Image.Image) -> int:
    colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    return len(colours) if colours is not None else 1 << 16
