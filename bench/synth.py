"""Write a synthetic corpus: N renamed copies of a real one, in the real seed format.

    python bench/synth.py --scale 10 [--source ../shared/corpus] [--out bench/out/synth-x10]

Copy 0 is the corpus as it is; copy k renames every source (s6 -> s6006 for k = 6: number plus
1000·k, in file name, header, trace and short links; title "T #6", url "U?copy=6"), every code
identifier (x -> x_c6, inside trace fences and identifier-only open-code lines) and every code
label ("L" -> "L #6"). The
copies keep the collections, the text, the quotes and the defects of the originals, so the
whole pipeline (reading, resolving, mapping, validating) is exercised at N times the size, and
findings grow N times, not N² (labels stay unique across copies). Deterministic: the same
corpus and scale give the same files.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.pipeline import read  # noqa: E402
from app.seeds import discover  # noqa: E402

FENCE = re.compile(r"^(\s*)(`{3,})")
FILE_ID = re.compile(r"^([sp])_(\d+)\.(md|txt)$")
LABEL = re.compile(r"(CClass?\s*\(\s*\w+\s*,\s*)([\"'])")
IDENT_LINE = re.compile(r"^[A-Za-z_]\w*\s*$")
LIST_LINE = re.compile(r"^([^:]{1,80}:\s*)([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*\s*,?\s*)$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, required=True)
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or ROOT / "bench" / "out" / f"synth-x{args.scale}"
    files = generate(args.source, out, args.scale)
    print(f"wrote {files} seed files to {out}")


def generate(source: Path, out: Path, scale: int) -> int:
    """Write ``scale`` copies of the corpus under ``out``; returns the number of files."""
    if out.exists():
        shutil.rmtree(out)
    corpus = read([source])
    idents = {c.name: sorted(c.codes, key=len, reverse=True) for c in corpus.collections}
    found, _ = discover([source])
    written = 0
    for coll in found:
        names = idents.get(coll.name, [])
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None
        target = out / coll.name
        target.mkdir(parents=True)
        for seed in coll.files:
            text = seed.path.read_text("utf-8", errors="replace")
            for k in range(scale):
                name, body = _copy(seed.name, text, k, pattern)
                (target / name).write_text(body, "utf-8")
                written += 1
    return written


def _copy(name: str, text: str, k: int, pattern: re.Pattern[str] | None) -> tuple[str, str]:
    if k == 0:
        return name, text
    m = FILE_ID.match(name)
    if m:
        prefix, number = m.group(1), int(m.group(2))
        new = number + 1000 * k
        name = f"{prefix}_{new}.{m.group(3)}"
        text = _renumber(text, prefix, number, new)
    else:
        name = f"copy{k}-{name}"
    return name, _rename_codes(_retitle(text, k), k, pattern)


def _retitle(text: str, k: int) -> str:
    """Make each copy's url and title its own, so copies are not copy-paste defects."""
    text = re.sub(r"^(## title\s*\n)(.+)$", rf"\g<1>\g<2> #{k}", text, count=1, flags=re.M)
    text = re.sub(r'("title":\s*")([^"]*)(")', rf"\g<1>\g<2> #{k}\g<3>", text, count=1)
    text = re.sub(r"^(## url\s*\n)(\S.*)$", rf"\g<1>\g<2>?copy={k}", text, count=1, flags=re.M)
    return re.sub(r'("url":\s*")([^"]*)(")', rf"\g<1>\g<2>?copy={k}\g<3>", text, count=1)


def _renumber(text: str, prefix: str, old: int, new: int) -> str:
    text = re.sub(rf"^(#\s*{prefix}\s*\n)\s*{old}\b", rf"\g<1>{new}", text, count=1, flags=re.M)
    own = re.compile(rf"\b{prefix}{old}\b")

    def line(match: re.Match[str]) -> str:
        content = match.group(0)
        if "CClass" in content or "add codes to" in content.lower() or "://" in content:
            return own.sub(f"{prefix}{new}", content)
        return content

    text = re.sub(r"^.*$", line, text, flags=re.M)
    return re.sub(rf"(-{prefix}){old}\b", rf"\g<1>{new}", text)


def _rename_codes(text: str, k: int, pattern: re.Pattern[str] | None) -> str:
    """Rename code identifiers in trace fences and in identifier-only open-code lines."""
    if pattern is None:
        return text

    def rename(line: str) -> str:
        return pattern.sub(lambda m: f"{m.group(1)}_c{k}", line)

    out: list[str] = []
    fence: str | None = None
    in_open = False
    for raw in text.split("\n"):
        stripped = raw.strip()
        if fence is not None:
            if stripped.startswith(fence) and set(stripped) == {"`"}:
                fence = None
                out.append(raw)
            else:
                out.append(_relabel(rename(raw), k))
            continue
        opening = FENCE.match(raw)
        if opening:
            fence = opening.group(2)
            out.append(raw)
            continue
        if "OPEN CODING" in stripped:
            in_open = True
        elif stripped.startswith((">", "#", "**", "!")):
            in_open = False
        named = IDENT_LINE.match(stripped) or LIST_LINE.match(stripped)
        out.append(rename(raw) if in_open and named else raw)
    return "\n".join(out)


def _relabel(line: str, k: int) -> str:
    """Append `` #k`` inside a CClass label, even when its closing quote is the wrong one."""
    m = LABEL.search(line)
    if not m or "CClass(source" in line.replace(" ", ""):
        return line
    start = m.end()
    close = min((i for i in (line.find('"', start), line.find("'", start)) if i >= 0), default=-1)
    if close < 0:
        return line
    return f"{line[:close]} #{k}{line[close:]}"


if __name__ == "__main__":
    main()
