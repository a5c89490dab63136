"""A log writer and its logrotate, for rotation tests: numbered (``NAME.1`` newest), by
rename, copytruncate, rename + gzip or copytruncate + gzip, or dated (``NAME-YYYYMMDD``). Every line is unique,
so every file has its own first line (identity)."""

from __future__ import annotations

import gzip
import os
import re
import shutil
from pathlib import Path


class RotatedLog:
    def __init__(self, path: Path, line: object = None) -> None:
        self.path = path
        self.written: list[str] = []
        self.units = 0
        self._line = line or (lambda i: [f"2026-12-01T00:00:00Z line {i:06d} " + "x" * (i % 13)])
        self._day = 20261201

    def write(self, count: int) -> list[str]:
        """Append ``count`` more units (lines, or what ``line(i)`` returns)."""
        new: list[str] = []
        for i in range(self.units, self.units + count):
            new += self._line(i)
        self.units += count
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("".join(x + "\n" for x in new))
        self.written += new
        return new

    def _shift(self) -> None:
        """NAME.k[.gz] → NAME.(k+1)[.gz], oldest first, as logrotate does."""
        pat = re.compile(re.escape(self.path.name) + r"\.(\d+)(\.gz)?")
        found = []
        for p in self.path.parent.iterdir():
            m = pat.fullmatch(p.name)
            if m:
                found.append((int(m[1]), m[2] or "", p))
        for k, gz, p in sorted(found, reverse=True):
            p.rename(self.path.with_name(f"{self.path.name}.{k + 1}{gz}"))

    def rotate(self, how: str) -> None:
        first = self.path.with_name(self.path.name + ".1")
        if how == "dated":
            self._day += 1
            self.path.rename(self.path.with_name(f"{self.path.name}-{self._day}"))
            return
        self._shift()
        if how == "rename":
            self.path.rename(first)
        elif how in ("copytruncate", "copytruncate+gzip"):
            shutil.copyfile(self.path, first)
            with open(self.path, "r+b") as f:
                f.truncate(0)
        elif how == "gzip":
            self.path.rename(first)
        else:
            raise ValueError(how)
        if how.endswith("gzip"):
            with open(first, "rb") as src, gzip.open(str(first) + ".gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.unlink(first)
