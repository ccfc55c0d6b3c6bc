"""Writing members to files a batch at a time: CSV, XLSX (typed cells) and custom-audience CSV (hashed).

Each writer takes Arrow record batches and writes to a local file (Lambda's /tmp), so a million members
never sit in memory at once; the job then uploads the file to the results bucket.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa

LIST_SEPARATOR = "; "
# A spreadsheet runs a cell that starts so as a formula (=HYPERLINK(...), a DDE call): OWASP's CSV injection.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ... unless it is only a number however written (+48 600 100 200, -12.5, (0)22): nothing there to run.
_NUMBER = re.compile(r"[+-]?[0-9][0-9 .,()/-]*")
XLSX_MAX_ROWS = 1_048_576  # a worksheet's rows, the header included; more members continue on another sheet


def attribute_keys(batches: Iterable[pa.RecordBatch]) -> list[str]:
    """Every custom attribute key the members have, sorted (the full export's attributes.* columns)."""
    keys: set[str] = set()
    for batch in batches:
        keys.update(k for k in batch.column("attributes").keys.to_pylist() if k is not None)
    return sorted(keys)


def flat_rows(batch: pa.RecordBatch, attribute_columns: list[str]) -> tuple[list[str], list[list[Any]]]:
    """The batch as header and rows, its attributes map spread over `attribute_columns` (attributes.<key>)."""
    names = [n for n in batch.schema.names if n != "attributes"]
    columns = [batch.column(n).to_pylist() for n in names]
    header = names + [f"attributes.{k}" for k in attribute_columns]
    if "attributes" in batch.schema.names:
        maps = [dict(m) if m else {} for m in batch.column("attributes").to_pylist()]
        columns += [[m.get(k) for m in maps] for k in attribute_columns]
    return header, [list(r) for r in zip(*columns, strict=True)] if columns else []


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(v) for v in value if v is not None)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def inert(text: str) -> str:
    """The cell as a spreadsheet shows it but never runs it: a quote before a formula's first character."""
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class CsvWriter:
    """CSV (RFC 4180, UTF-8), every cell text; one a spreadsheet would read as a formula is made inert."""

    def __init__(self, path: str):
        self._file = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._csv = csv.writer(self._file)
        self.rows = 0
        self._header = False

    def write(self, header: list[str], rows: list[list[Any]]) -> None:
        if not self._header:
            self._csv.writerow(header)
            self._header = True
        self._csv.writerows([inert(_text(v)) for v in row] for row in rows)
        self.rows += len(rows)

    def close(self, header: list[str]) -> None:
        if not self._header:  # no members: the header alone
            self._csv.writerow(header)
        self._file.close()


class XlsxWriter:
    """A real workbook (XlsxWriter in constant-memory mode: each row goes to disk as it is written)."""

    def __init__(self, path: str):
        import xlsxwriter

        self._book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_urls": False, "strings_to_formulas": False})
        self._bold = self._book.add_format({"bold": True})
        self._date = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._time = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._sheet: Any = None
        self._row = 0
        self.rows = 0

    def _new_sheet(self, header: list[str]) -> None:
        number = len(self._book.worksheets()) + 1
        self._sheet = self._book.add_worksheet("members" if number == 1 else f"members {number}")
        self._sheet.write_row(0, 0, header, self._bold)
        self._row = 1

    def write(self, header: list[str], rows: list[list[Any]]) -> None:
        for row in rows:
            if self._sheet is None or self._row >= XLSX_MAX_ROWS:
                self._new_sheet(header)
            for col, value in enumerate(row):
                self._cell(col, value)
            self._row += 1
        self.rows += len(rows)

    def _cell(self, col: int, value: Any) -> None:
        sheet, row = self._sheet, self._row
        if value is None:
            return
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, (int, float)):
            sheet.write_number(row, col, value)
        elif isinstance(value, dt.datetime):
            sheet.write_datetime(row, col, value.replace(tzinfo=None), self._time)
        elif isinstance(value, dt.date):
            sheet.write_datetime(row, col, dt.datetime(value.year, value.month, value.day), self._date)
        else:
            sheet.write_string(row, col, _text(value))

    def close(self, header: list[str]) -> None:
        if self._sheet is None:
            self._new_sheet(header)
        self._book.close()


# ------------------------------------------------------------------------------ custom audiences

AUDIENCE_HEADER = ["email", "phone"]  # the schema row ad platforms' customer-list uploads take (SHA-256 values)
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def normal_email(email: str | None) -> str | None:
    text = (email or "").strip().lower()
    return text if "@" in text else None


def normal_phone(phone: str | None, country: str | None = None) -> str | None:
    """E.164 without the '+': a number already in E.164 keeps its digits; another is parsed for the
    contact's country (an ISO code), and one that cannot be placed is left out."""
    text = re.sub(r"[\s().-]", "", phone or "")
    if text.startswith("00"):
        text = "+" + text[2:]
    if _E164.match(text):
        return text[1:]
    if not text:
        return None
    import phonenumbers

    region = (country or "").strip().upper()
    try:
        number = phonenumbers.parse(text, region if len(region) == 2 else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def sha256(text: str | None) -> str:
    return hashlib.sha256(text.encode()).hexdigest() if text else ""


class AudienceWriter:
    """Normalised then SHA-256-hashed e-mail and phone, one contact a row; contacts with neither are skipped."""

    def __init__(self, path: str):
        self._csv = CsvWriter(path)
        self.skipped = 0

    @property
    def rows(self) -> int:
        return self._csv.rows

    def write(self, header: list[str], rows: list[list[Any]]) -> None:
        at = {name: i for i, name in enumerate(header)}
        hashed = []
        for row in rows:
            email = normal_email(row[at["email"]])
            phone = normal_phone(row[at["phone"]], row[at["country"]])
            if email is None and phone is None:
                self.skipped += 1
                continue
            hashed.append([sha256(email), sha256(phone)])
        self._csv.write(AUDIENCE_HEADER, hashed)

    def close(self, header: list[str]) -> None:
        self._csv.close(AUDIENCE_HEADER)


def write(
    export_format: str, path: str, batches: Callable[[str, str], Iterator[pa.RecordBatch]], sql: str, name: str, columns: list[str]
) -> Any:
    """Write the rows of `sql` (read through an engine's batches under `name`) to `path` in the format;
    returns the writer, which counts the rows written (and skipped). A full export reads the rows twice:
    first the attribute keys its header needs, then the rows."""
    keys = attribute_keys(batches(sql, name)) if "attributes" in columns else []
    writer: Any = {"csv": CsvWriter, "xlsx": XlsxWriter, "audience": AudienceWriter}[export_format](path)
    header = [c for c in columns if c != "attributes"] + [f"attributes.{k}" for k in keys]
    for batch in batches(sql, name):
        header, rows = flat_rows(batch, keys)
        writer.write(header, rows)
    writer.close(header)
    return writer
