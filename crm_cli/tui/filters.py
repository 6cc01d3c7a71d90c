"""Which deals the board shows: mine or everyone's, one tag, one owner (and the text of `/`,
which the board keeps itself). Each maps onto an option of `crm deal list` (`--mine`,
`--tag`, `--owner`, `--search`), and the board reads through the same service query.

The default is everyone's deals, as `crm deal list` lists them without `--mine`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm_cli.services.context import Context


@dataclass
class BoardFilter:
    mine: bool = False
    tag: str | None = None
    owner: str | None = None  # a user id, email or name, as `--owner` takes it
    owner_name: str | None = None  # what the header calls that owner (else `owner`)

    def query(self, ctx: Context) -> dict[str, Any]:
        """The `data.load_board` arguments (DealFilter's fields) for these filters."""
        return {
            "owner_id": ctx.user_id() if self.mine else None,
            "owner": self.owner,
            "tags": [self.tag] if self.tag else [],
        }

    def describe(self, search: str = "") -> str:
        """The header's words for the active filters ("" when the board shows everything)."""
        parts = ["mine" if self.mine else "everyone"]
        if self.owner:
            parts.append(f"owner {self.owner_name or self.owner}")
        if self.tag:
            parts.append(f"tag {self.tag}")
        if search:
            parts.append(f"matching {search!r}")
        return " · ".join(parts)
