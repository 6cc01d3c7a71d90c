"""What every reader hands to the import service: one record of the file, its values by field.

Field names are the data model's (the names `--map FIELD=COLUMN` takes): `name`, `given_name`,
`family_name`, `email`, `phone`, `company`, `title`, `tags`, `external_id`, ... and
`field.NAME` for a custom field. Values stay text exactly as the file gave them (decoded, not
parsed): the services parse and check them, so a bad value is reported with its field.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SourceRecord:
    """One record of an input file.

    `number` is its position for people: the line of a CSV row (counting the header), the
    card's ordinal in a vCard file. `values` maps a field to its values in file order (a
    multi-valued field such as `email` may have several). `original` is the record as the file
    had it (a CSV row's cells) so a rejects file can give it back unchanged. `problem` is set
    when the codec could not read the record; `values` is then empty. `record_id` is the id
    crm gave the record, where the file marks one as crm's own (a vCard's `X-CRM-ID`): what
    `--match-id` matches by when the record has no `id` value.
    """

    number: int
    values: dict[str, list[str]] = field(default_factory=dict)
    original: list[str] = field(default_factory=list)
    problem: str | None = None
    record_id: str | None = None

    def first(self, name: str) -> str | None:
        """The field's first non-blank value, or None."""
        for value in self.values.get(name, ()):
            if value.strip():
                return value
        return None

    def labelled(self, base: str) -> list[tuple[str, str | None]]:
        """Every value of a multi-valued field with its label, in the record's order:
        `email` gives (value, None), `email:work` (value, "work"); blank values left out. What
        the store's `label` column of an email or phone takes."""
        out: list[tuple[str, str | None]] = []
        for key, values in self.values.items():
            name, colon, label = key.partition(":")
            if name != base:
                continue
            tag = label.strip().lower() or None if colon else None
            out.extend((v.strip(), tag) for v in values if v.strip())
        return out
