import pytest

from crm_cli.io.cells import neutralise, unneutralise


@pytest.mark.parametrize(
    "cell",
    [
        "=1+1",
        "+49 30 1234",
        "-5",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "'",
        "''",
        "'=x",
        "'abc",
        "plain",
        "",
        "é",
    ],
)
def test_round_trip_is_lossless(cell: str) -> None:
    assert unneutralise(neutralise(cell)) == cell


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@x", "\tx", "\rx"])
def test_formula_cells_start_with_a_quote(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


def test_other_files_quotes_are_kept() -> None:
    assert unneutralise("'abc") == "'abc"
    assert unneutralise("it's") == "it's"
