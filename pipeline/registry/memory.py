"""The national registries in memory (or memory-mapped): what a lookup reads.

- :class:`UsRegistry` — the FTC National Do Not Call Registry. A US number is a 3-digit area code and
  a 7-digit subscriber number, so each area code that appears gets one bitmap of 10^7 bits (1.25 MB):
  about 400 area codes make ~500 MB for the full registry, whatever the count of numbers, and a
  lookup is two array reads. Bulk lookups and loads are vectorized with numpy.
- :class:`UkRegistry` — TPS or CTPS: a sorted array of national significant numbers (the number
  without ``+44`` or the trunk ``0``), looked up with a binary search (``np.searchsorted``).

Numbers are plain integers: the US *national number* ``AAANNNNNNN`` (e.g. ``2125550123``) and the UK
*national significant number* (e.g. ``2079460018`` for ``020 7946 0018``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from pipeline.registry.errors import RegistryError

Numbers = npt.NDArray[np.int64]
"""An array of national numbers (US ``AAANNNNNNN`` or UK significant numbers)."""
Flags = npt.NDArray[np.bool_]

AREA_CODES: Final = 1000
SUBSCRIBERS_PER_AREA: Final = 10_000_000
ROW_BYTES: Final = SUBSCRIBERS_PER_AREA // 8
US_NATIONAL_MAX: Final = AREA_CODES * SUBSCRIBERS_PER_AREA - 1


def _as_numbers(values: npt.ArrayLike) -> Numbers:
    return np.ascontiguousarray(values, dtype=np.int64).reshape(-1)


def sorted_unique(values: npt.ArrayLike) -> Numbers:
    """The distinct values, ascending. Sort-based: np.unique's hash path is ~20x slower on 17 M int64."""
    result = np.sort(_as_numbers(values))
    if result.size > 1:
        keep = np.empty(result.size, dtype=np.bool_)
        keep[0] = True
        np.not_equal(result[1:], result[:-1], out=keep[1:])
        result = result[keep]
    return result


def _popcount(rows: npt.NDArray[np.uint8]) -> int:
    """Set bits in ``rows``, a few rows at a time so no full-size temporary is made."""
    step = 16
    total = 0
    for i in range(0, rows.shape[0], step):
        block = rows[i:i + step]
        if _bitwise_count is not None:
            total += int(_bitwise_count(block.reshape(-1).view(np.uint64)).sum(dtype=np.int64))
        else:
            total += int(_BIT_COUNTS[block].sum(dtype=np.int64))
    return total


_bitwise_count: Any = getattr(np, "bitwise_count", None)  # numpy >= 2.0; a lookup table before
_BIT_COUNTS: Final = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class UsRegistry:
    """The US registry: per area code present, a bitmap of its 10^7 subscriber numbers.

    Bit ``s`` of an area code's row is byte ``s >> 3``, bit ``s & 7`` (little-endian bit order).
    Rows are numbered in the order area codes first appear; ``area_codes[row]`` names each.
    A registry opened memory-mapped is read-only; build or change one with :meth:`empty` or
    :func:`open_registry` ``(writable=True)``.
    """

    def __init__(self, area_codes: Sequence[int], bits: npt.NDArray[np.uint8], *, writable: bool) -> None:
        if bits.ndim != 2 or bits.shape[1] != ROW_BYTES or bits.dtype != np.uint8:
            raise RegistryError(f"US registry data has shape {bits.shape} {bits.dtype}, expected (rows, {ROW_BYTES})")
        if len(area_codes) > bits.shape[0] or len(set(area_codes)) != len(area_codes):
            raise RegistryError("US registry area codes do not match its rows")
        self._bits = bits
        self._flat = bits.reshape(-1)
        # A memoryview reads one byte ~10x faster than numpy scalar indexing: the single-lookup path.
        self._bytes = self._flat.data if self._flat.size else memoryview(b"")
        self._writable = writable
        self._slots = np.full(AREA_CODES, -1, dtype=np.int64)
        self._slot_list = [-1] * AREA_CODES  # the same, as a list: faster for one lookup at a time
        self._area_codes: list[int] = []
        for area in area_codes:
            self._assign_row(int(area))

    @classmethod
    def empty(cls) -> UsRegistry:
        """A writable, empty registry. Room for every area code is reserved but not touched: only
        rows that receive a number become resident memory (numpy allocates zeros lazily)."""
        return cls((), np.zeros((AREA_CODES, ROW_BYTES), dtype=np.uint8), writable=True)

    def _assign_row(self, area: int) -> int:
        if not 0 <= area < AREA_CODES:
            raise RegistryError(f"area code {area} out of range")
        row = len(self._area_codes)
        if row >= self._bits.shape[0]:
            raise RegistryError("no room for another area code in a read-only registry")
        self._slots[area] = row
        self._slot_list[area] = row
        self._area_codes.append(area)
        return row

    @property
    def area_codes(self) -> tuple[int, ...]:
        """Area codes in row order."""
        return tuple(self._area_codes)

    @property
    def writable(self) -> bool:
        return self._writable

    def rows(self) -> npt.NDArray[np.uint8]:
        """The bitmaps of the area codes present, in row order (a view, not a copy)."""
        return self._bits[: len(self._area_codes)]

    def count(self) -> int:
        """How many numbers are on the list (a popcount over every row)."""
        return _popcount(self.rows())

    def _check_writable(self) -> None:
        if not self._writable:
            raise RegistryError("this US registry is read-only (memory-mapped); open it writable to change it")

    def _split(self, numbers: Numbers) -> tuple[Numbers, Numbers]:
        if numbers.size and (int(numbers.min()) < 0 or int(numbers.max()) > US_NATIONAL_MAX):
            raise ValueError("US national numbers are 10 digits: 0 <= n <= 9_999_999_999")
        areas = numbers // SUBSCRIBERS_PER_AREA
        return areas, numbers - areas * SUBSCRIBERS_PER_AREA

    def add_many(self, numbers: npt.ArrayLike) -> None:
        """Put every number in ``numbers`` on the list (duplicates and numbers already on it are fine)."""
        self._check_writable()
        values = _as_numbers(numbers)
        if not values.size:
            return
        areas, subs = self._split(values)
        seen = np.flatnonzero(np.bincount(areas, minlength=AREA_CODES))
        for area in seen[self._slots[seen] < 0]:
            self._assign_row(int(area))
        offsets = self._slots[areas] * ROW_BYTES + (subs >> 3)
        masks = np.left_shift(1, subs & 7).astype(np.uint8)
        # ufunc.at applies every element, so two numbers sharing a byte both land.
        np.bitwise_or.at(self._flat, offsets, masks)

    def remove_many(self, numbers: npt.ArrayLike) -> None:
        """Take every number in ``numbers`` off the list (numbers not on it are ignored)."""
        self._check_writable()
        values = _as_numbers(numbers)
        if not values.size:
            return
        areas, subs = self._split(values)
        rows = self._slots[areas]
        keep = rows >= 0
        offsets = rows[keep] * ROW_BYTES + (subs[keep] >> 3)
        masks = np.invert(np.left_shift(1, subs[keep] & 7).astype(np.uint8))
        np.bitwise_and.at(self._flat, offsets, masks)

    def add(self, number: int) -> None:
        self.add_many([number])

    def remove(self, number: int) -> None:
        self.remove_many([number])

    def contains(self, number: int) -> bool:
        """Is the 10-digit national number ``number`` on the list? Out-of-range numbers are not."""
        area, sub = divmod(number, SUBSCRIBERS_PER_AREA)
        if not 0 <= area < AREA_CODES:
            return False
        row = self._slot_list[area]
        if row < 0:
            return False
        return bool((self._bytes[row * ROW_BYTES + (sub >> 3)] >> (sub & 7)) & 1)

    def contains_many(self, numbers: npt.ArrayLike) -> Flags:
        """``contains`` for every element of ``numbers``, vectorized: a bool array of the same length."""
        values = _as_numbers(numbers)
        in_range = (values >= 0) & (values <= US_NATIONAL_MAX)
        values = np.where(in_range, values, 0)
        areas = values // SUBSCRIBERS_PER_AREA
        subs = values - areas * SUBSCRIBERS_PER_AREA
        rows = self._slots[areas]
        present = in_range & (rows >= 0)
        offsets = np.where(present, rows * ROW_BYTES + (subs >> 3), 0)
        if not self._flat.size:
            return np.zeros(values.shape, dtype=np.bool_)
        bits = np.right_shift(self._flat[offsets], (subs & 7).astype(np.uint8)) & 1
        found: Flags = (bits == 1) & present
        return found


class UkRegistry:
    """TPS or CTPS: a sorted array of unique national significant numbers.

    Built whole (the lists are ~17 M and ~1.3 M numbers); a change rebuilds the array, so ``add``
    and ``remove`` of single numbers cost O(n) and exist for tests and small corrections.
    """

    def __init__(self, numbers: Numbers, *, writable: bool = True) -> None:
        if numbers.ndim != 1 or numbers.dtype != np.int64:
            raise RegistryError(f"UK registry data has shape {numbers.shape} {numbers.dtype}, expected (n,) int64")
        self._numbers = numbers
        self._writable = writable

    @classmethod
    def empty(cls) -> UkRegistry:
        return cls(np.zeros(0, dtype=np.int64))

    @classmethod
    def from_numbers(cls, numbers: npt.ArrayLike) -> UkRegistry:
        """From numbers in any order, duplicates allowed."""
        return cls(sorted_unique(numbers))

    @property
    def writable(self) -> bool:
        return self._writable

    def numbers(self) -> Numbers:
        """The sorted numbers (a view)."""
        return self._numbers

    def count(self) -> int:
        return int(self._numbers.size)

    def add_many(self, numbers: npt.ArrayLike) -> None:
        if not self._writable:
            raise RegistryError("this UK registry is read-only (memory-mapped); open it writable to change it")
        self._numbers = sorted_unique(np.concatenate([self._numbers, _as_numbers(numbers)]))

    def remove_many(self, numbers: npt.ArrayLike) -> None:
        if not self._writable:
            raise RegistryError("this UK registry is read-only (memory-mapped); open it writable to change it")
        gone = sorted_unique(numbers)
        self._numbers = self._numbers[~self._member(self._numbers, gone)]

    def add(self, number: int) -> None:
        self.add_many([number])

    def remove(self, number: int) -> None:
        self.remove_many([number])

    @staticmethod
    def _member(values: Numbers, sorted_set: Numbers) -> Flags:
        if not sorted_set.size:
            return np.zeros(values.shape, dtype=np.bool_)
        at = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
        found: Flags = sorted_set[at] == values
        return found

    def contains(self, number: int) -> bool:
        numbers = self._numbers
        at = int(np.searchsorted(numbers, number))
        return at < numbers.size and int(numbers[at]) == number

    def contains_many(self, numbers: npt.ArrayLike) -> Flags:
        return self._member(_as_numbers(numbers), self._numbers)


NationalRegistry = UsRegistry | UkRegistry
