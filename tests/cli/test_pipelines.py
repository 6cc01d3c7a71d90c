"""Pipelines and stages through the real command, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from crm_cli.errors import ExitCode
from tests.cli.test_deals import add, history, sql

DEFAULT = [
    ("lead", 10, "open"),
    ("qualified", 25, "open"),
    ("proposal", 50, "open"),
    ("negotiation", 75, "open"),
    ("won", 100, "won"),
    ("lost", 0, "lost"),
]


def stages(record: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(s["name"], s["probability"], s["kind"]) for s in record["stages"]]


def pipeline(crm: Any, name: str = "default") -> dict[str, Any]:
    found = [p for p in crm.json("pipeline", "list") if p["name"] == name]
    assert len(found) == 1, name
    return found[0]


def test_list_shows_stages_in_order_with_open_deal_counts(crm: Any, db_url: str) -> None:
    first = add(crm, "A")
    add(crm, "B")
    add(crm, "C", "--stage", "proposal")
    add(crm, "D", "--stage", "won")
    gone = add(crm, "E", "--stage", "proposal")
    crm.ok("deal", "rm", str(gone["id"]))
    listed = crm.json("pipeline", "list")
    assert [p["name"] for p in listed] == ["default"]
    default = listed[0]
    assert default["default"] is True
    assert stages(default) == DEFAULT
    assert [s["position"] for s in default["stages"]] == [0, 1, 2, 3, 4, 5]
    assert [s["open_deals"] for s in default["stages"]] == [2, 0, 1, 0, 0, 0]
    assert default["open_deals"] == 3
    csv_out = crm.ok("pipeline", "list", "--csv").out.splitlines()
    assert csv_out[0] == "pipeline,position,stage,kind,probability,open_deals"
    assert csv_out[1] == "default,0,lead,open,10,2"
    # The counts follow every kind of write (they are read from a summary kept by triggers).
    crm.ok("deal", "move", str(first["id"]), "qualified")
    crm.ok("deal", "restore", str(gone["id"]))
    assert [s["open_deals"] for s in crm.json("pipeline", "list")[0]["stages"]] == [
        1,
        1,
        2,
        0,
        0,
        0,
    ]
    crm.ok("undo")
    crm.ok("deal", "won", str(first["id"]))
    assert [s["open_deals"] for s in crm.json("pipeline", "list")[0]["stages"]] == [
        1,
        0,
        1,
        0,
        0,
        0,
    ]


def test_add_pipeline(crm: Any, db_url: str) -> None:
    partners = crm.json("pipeline", "add", "partners", "--stages", "intro, trial,contract")
    assert stages(partners) == [
        ("intro", 25, "open"),
        ("trial", 50, "open"),
        ("contract", 75, "open"),
        ("won", 100, "won"),
        ("lost", 0, "lost"),
    ]
    assert partners["default"] is False
    copy = crm.json("pipeline", "add", "copy")
    assert stages(copy) == DEFAULT
    assert [p["name"] for p in crm.json("pipeline", "list")] == ["default", "partners", "copy"]
    assert crm("pipeline", "add", "Partners").code == ExitCode.CONFLICT
    assert crm("pipeline", "add", "x", "--stages", "a,won").code == ExitCode.USAGE
    assert crm("pipeline", "add", "x", "--stages", "a,A").code == ExitCode.USAGE
    assert crm("pipeline", "add", "x", "--stages", " , ").code == ExitCode.USAGE
    assert crm("pipeline", "add", " ").code == ExitCode.USAGE
    assert len(crm.json("pipeline", "list")) == 3


def test_add_stage_places_it_and_picks_a_probability(crm: Any, db_url: str) -> None:
    demo = crm.json("pipeline", "add-stage", "demo", "--after", "qualified")
    assert [s["name"] for s in demo["stages"]][:4] == ["lead", "qualified", "demo", "proposal"]
    assert demo["stages"][2]["probability"] == 37  # halfway between 25 and 50
    last_open = crm.json("pipeline", "add-stage", "contract", "--probability", "90")
    assert [s["name"] for s in last_open["stages"]][-4:] == [
        "negotiation",
        "contract",
        "won",
        "lost",
    ]
    first = crm.json("pipeline", "add-stage", "inbox", "--before", "lead", "-p", "5")
    assert first["stages"][0]["name"] == "inbox"
    won2 = crm.json("pipeline", "add-stage", "won-online", "--kind", "won")
    assert won2["stages"][-1] == {
        **won2["stages"][-1],
        "name": "won-online",
        "kind": "won",
        "probability": 100,
    }
    assert [s["position"] for s in won2["stages"]] == list(range(len(won2["stages"])))
    before = crm.json("pipeline", "list")
    for args, code in [
        (["demo"], ExitCode.CONFLICT),
        (["x", "--probability", "101"], ExitCode.USAGE),
        (["x", "--kind", "maybe"], ExitCode.USAGE),
        (["x", "--after", "lead", "--before", "won"], ExitCode.USAGE),
        (["x", "--after", "nope"], ExitCode.NOT_FOUND),
        (["x", "--pipeline", "nope"], ExitCode.NOT_FOUND),
    ]:
        result = crm("pipeline", "add-stage", *args)
        assert result.code == code, (args, result)
        assert len(result.err.strip().splitlines()) == 1
    assert crm.json("pipeline", "list") == before


def test_rename_and_set_probability(crm: Any, db_url: str) -> None:
    deal = add(crm, "Deal", "--stage", "proposal", "--value", "100")
    own = add(crm, "Own", "--stage", "proposal", "--value", "100", "--probability", "90")
    renamed = crm.json("pipeline", "rename-stage", "proposal", "offer")
    assert [s["name"] for s in renamed["stages"]][2] == "offer"
    assert crm.json("deal", "show", str(deal["id"]))["stage"] == "offer"
    assert crm("pipeline", "rename-stage", "offer", "LEAD").code == ExitCode.CONFLICT
    assert crm("pipeline", "rename-stage", "nope", "x").code == ExitCode.NOT_FOUND

    crm.ok("pipeline", "set-probability", "offer", "40")
    assert crm.json("deal", "show", str(deal["id"]))["probability"] == 40
    assert crm.json("deal", "show", str(deal["id"]))["weighted_value"] == 40
    assert crm.json("deal", "show", str(own["id"]))["probability"] == 90  # its own
    assert crm("pipeline", "set-probability", "offer", "101").code == ExitCode.USAGE
    assert pipeline(crm)["stages"][2]["probability"] == 40


def test_move_stage_reorders_the_board(crm: Any, db_url: str) -> None:
    proposal = add(crm, "P", "--stage", "proposal")
    negotiation = add(crm, "N", "--stage", "negotiation")
    moved = crm.json("pipeline", "move-stage", "negotiation", "--before", "proposal")
    assert [s["name"] for s in moved["stages"]] == [
        "lead",
        "qualified",
        "negotiation",
        "proposal",
        "won",
        "lost",
    ]
    assert [s["position"] for s in moved["stages"]] == [0, 1, 2, 3, 4, 5]
    assert [d["id"] for d in crm.json("deal", "list")] == [negotiation["id"], proposal["id"]]
    moved = crm.json("pipeline", "move-stage", "lead", "--after", "proposal")
    assert [s["name"] for s in moved["stages"]] == [
        "qualified",
        "negotiation",
        "proposal",
        "lead",
        "won",
        "lost",
    ]
    assert crm("pipeline", "move-stage", "lead").code == ExitCode.USAGE
    assert crm("pipeline", "move-stage", "lead", "--after", "lead").code == ExitCode.USAGE
    assert crm("pipeline", "move-stage", "lead", "--after", "nope").code == ExitCode.NOT_FOUND
    assert [s["name"] for s in pipeline(crm)["stages"]] == [
        "qualified",
        "negotiation",
        "proposal",
        "lead",
        "won",
        "lost",
    ]


def test_rm_stage_needs_somewhere_for_its_deals(crm: Any, db_url: str) -> None:
    one = add(crm, "One", "--stage", "qualified")
    two = add(crm, "Two", "--stage", "qualified")
    three = add(crm, "Three", "--stage", "qualified")
    crm.ok("deal", "rm", str(three["id"]))  # removed deals move too
    refused = crm("pipeline", "rm-stage", "qualified")
    assert refused.code == ExitCode.CONFLICT
    assert "2 deals and 1 removed one" in refused.err and "--move-to" in refused.err
    assert crm("pipeline", "rm-stage", "qualified", "--move-to", "won").code == ExitCode.USAGE
    assert crm("pipeline", "rm-stage", "qualified", "--move-to", "qualified").code == ExitCode.USAGE
    assert [s["name"] for s in pipeline(crm)["stages"]][1] == "qualified"

    result = crm.json("pipeline", "rm-stage", "qualified", "--move-to", "lead")
    assert (result["removed_stage"], result["moved"], result["moved_to"]) == (
        "qualified",
        3,
        "lead",
    )
    assert [s["name"] for s in result["stages"]] == [
        "lead",
        "proposal",
        "negotiation",
        "won",
        "lost",
    ]
    for deal in (one, two, three):
        assert history(db_url, deal["id"]) == [(None, "qualified"), ("qualified", "lead")]
    shown = crm.json("deal", "show", str(one["id"]))
    assert shown["stage"] == "lead" and shown["days_in_stage"] == 0
    assert [c["from"] for c in shown["stage_changes"]] == [None, "qualified"]
    assert crm("deal", "move", str(one["id"]), "qualified").code == ExitCode.NOT_FOUND

    # Adding it again brings the same stage back, history and all.
    (old_id,) = sql(db_url, "SELECT id FROM stage WHERE name = 'qualified'")[0]
    back = crm.json("pipeline", "add-stage", "qualified", "--after", "lead")
    assert back["stages"][1]["id"] == old_id and back["stages"][1]["probability"] == 25

    empty = crm.json("pipeline", "rm-stage", "negotiation")
    assert empty["moved"] == 0
    assert crm("pipeline", "rm-stage", "won").code == ExitCode.CONFLICT  # the only won stage


def test_rm_pipeline(crm: Any, db_url: str) -> None:
    assert crm("pipeline", "rm", "default", "--yes").code == ExitCode.CONFLICT  # the last one
    crm.ok("pipeline", "add", "partners", "--stages", "intro")
    deal = add(crm, "Partner deal", "--pipeline", "partners")
    refused = crm("pipeline", "rm", "partners", "--yes")
    assert refused.code == ExitCode.CONFLICT and "1 deal" in refused.err
    crm.ok("deal", "rm", str(deal["id"]))
    assert crm("pipeline", "rm", "partners").code == ExitCode.FAILURE  # no --yes, no terminal
    assert [p["name"] for p in crm.json("pipeline", "list")] == ["default", "partners"]
    crm.ok("pipeline", "rm", "partners", "--yes")
    assert [p["name"] for p in crm.json("pipeline", "list")] == ["default"]
    assert sql(db_url, "SELECT count(*) FROM deal")[0][0] == 0  # its removed deal went too
    assert crm("pipeline", "rm", "partners", "--yes").code == ExitCode.NOT_FOUND


def test_deals_in_another_pipeline(crm: Any, db_url: str) -> None:
    crm.ok("pipeline", "add", "partners", "--stages", "intro,trial")
    deal = add(crm, "Partner deal", "--pipeline", "partners", "--stage", "trial")
    assert (deal["pipeline"], deal["stage"], deal["probability"]) == ("partners", "trial", 67)
    assert (
        crm("deal", "add", "X", "--pipeline", "partners", "--stage", "proposal").code
        == ExitCode.NOT_FOUND
    )
    assert crm("deal", "move", str(deal["id"]), "proposal").code == ExitCode.NOT_FOUND
    direct = add(crm, "Direct")
    assert [d["id"] for d in crm.json("deal", "list", "--pipeline", "partners")] == [deal["id"]]
    assert [d["id"] for d in crm.json("deal", "list")] == [direct["id"], deal["id"]]
    won = crm.json("deal", "won", str(deal["id"]))
    assert (won["pipeline"], won["stage"]) == ("partners", "won")
    assert pipeline(crm, "partners")["open_deals"] == 0

    # A deal can change pipeline: it keeps a stage of the same name, else the first open one.
    moved = crm.json("deal", "edit", str(direct["id"]), "--pipeline", "partners")
    assert (moved["pipeline"], moved["stage"]) == ("partners", "intro")
    assert history(db_url, direct["id"]) == [(None, "lead"), ("lead", "intro")]
    # Its history now refers to the default pipeline's stages, which therefore stay.
    crm.ok("pipeline", "add", "spare")
    assert crm("pipeline", "rm", "default", "--yes").code == ExitCode.CONFLICT


def test_first_pipeline_is_the_default_when_default_is_gone(crm: Any, db_url: str) -> None:
    crm.ok("pipeline", "add", "partners", "--stages", "intro")
    crm.ok("pipeline", "rm", "default", "--yes")
    listed = crm.json("pipeline", "list")
    assert [(p["name"], p["default"]) for p in listed] == [("partners", True)]
    assert add(crm, "Deal")["pipeline"] == "partners"
