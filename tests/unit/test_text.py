"""The search tokenizer shared by SQLite and PostgreSQL."""

from __future__ import annotations

from crm_cli.domain.text import fold, index_tokens, phone_tokens, query_tokens


def test_cjk_runs_become_characters_and_pairs() -> None:
    tokens = index_tokens("张伟在北京工作").split()
    assert "张伟" in tokens and "北京" in tokens and "张" in tokens
    assert "张伟在" not in tokens


def test_two_character_query_is_one_pair() -> None:
    assert query_tokens("张伟") == ["张伟"]
    assert query_tokens("张") == ["张"]
    assert query_tokens("北京工作") == ["北京", "京工", "工作"]


def test_korean_and_japanese() -> None:
    assert "민준" in index_tokens("김민준").split()
    assert query_tokens("佐藤") == ["佐藤"]
    # Voicing marks survive: が is not folded to か.
    assert fold("ガ") == "ガ"
    assert fold("が") == "が"


def test_latin_folding() -> None:
    assert index_tokens("José Müller-Lüdenscheidt") == "jose muller ludenscheidt"
    assert query_tokens("JOSÉ") == ["jose"]
    assert fold("Straße") == "strasse"


def test_mixed_script_word_splits() -> None:
    assert index_tokens("ABC株式会社").split()[:1] == ["abc"]


def test_phone_queries_are_one_digit_token() -> None:
    assert query_tokens("030 123 4567") == ["301234567"]
    assert query_tokens("+49 30 1234567") == ["49301234567"]
    assert query_tokens("9988") == ["9988"]
    tokens = phone_tokens("+861065529988", "1065529988")
    assert "861065529988" in tokens and "65529988" in tokens and "9988" in tokens
    assert "988" not in tokens


def test_email_query_splits_into_parts() -> None:
    assert query_tokens("ana@acme.com") == ["ana", "acme", "com"]


def test_empty_and_punctuation() -> None:
    assert query_tokens("  !!! ") == []
    assert index_tokens(None, "", "—") == ""
