"""vCard 2.1, 3.0 and 4.0 in, vCard 4.0 (or 3.0) out: contacts as `SourceRecord`s and back.

Real address books are not tidy: one file mixes quoted-printable lines in Shift_JIS with raw
Windows-1252 bytes that declare no charset, cards are glued together without a newline, an
exporter nests AGENT cards or writes a card that never ends. So reading goes in three steps,
each of which can fail for one card without touching the others:

1. The file is split into cards here, on the bytes (BEGIN:VCARD / END:VCARD at line starts,
   any case, glued cards separated, nested cards kept inside their parent). A card that never
   ends is reported with its position; the others read.
2. Each card's lines are unfolded (folding and quoted-printable soft breaks) and every value is
   decoded on its own: quoted-printable, then its CHARSET, then strict UTF-8, then the file's
   likely legacy encoding (a CHARSET the file declares elsewhere, a CJK encoding where
   charset-normalizer is sure of one, else Windows-1252). vobject's own reader decodes
   quoted-printable only with a CHARSET it knows and stops at the first line it cannot read,
   which is why this step is ours.
3. Each content line's name, group and parameters are parsed by vobject's content-line
   grammar (`vobject.base.parseLine`, what khard and Radicale read with); values are unescaped
   and split by the rules of the card's version.

Values use the data model's field names (records.py): `name` (FN whole, never split; built
from N only when FN is missing), `given_name`, `family_name`, `email[:LABEL]`,
`phone[:LABEL]`, `company`, `title`, `tags`, `external_id`, and custom fields
`field.birthday`, `field.address[:LABEL]`, `field.url`, `field.note`, `field.nickname`,
`field.photo`, `field.role`, `field.department` and whatever came as `X-CRM-NAME`.

Writing is the inverse (`write_vcard`): what it writes reads back to the same values, and the
output is plain enough for vobject's full reader (tests check both).
"""

from crm_cli.io.vcard_read import VERSIONS, count_cards, is_vcard, read_vcards
from crm_cli.io.vcard_write import contact_uid, contact_values, write_vcard, write_vcards

__all__ = [
    "VERSIONS",
    "contact_uid",
    "contact_values",
    "count_cards",
    "is_vcard",
    "read_vcards",
    "write_vcard",
    "write_vcards",
]
