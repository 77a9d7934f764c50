import math

import pytest

from tipline import codenames


def test_it_draws_seven_words_from_the_eff_list_for_about_90_bits(settings):
    words = codenames.generate().split(" ")
    assert len(words) == settings.CODENAME_WORDS == 7
    assert set(words) <= set(codenames.word_list())
    assert len(words) * math.log2(len(codenames.word_list())) > 90


def test_it_never_repeats_in_practice():
    assert len({codenames.generate() for _ in range(200)}) == 200


def test_it_hashes_with_argon2id_and_the_pepper(settings):
    settings.CODENAME_PEPPER = "pepper one"
    codename = codenames.generate()
    digest = codenames.derive(codename).lookup
    assert len(digest) == 64 and codename not in digest
    assert codenames.derive(codename).lookup == digest
    assert codenames.derive(f"  {codename.upper()} ").lookup == digest
    settings.CODENAME_PEPPER = "pepper two"
    assert codenames.derive(codename).lookup != digest


def test_it_refuses_to_hash_without_the_pepper(settings):
    settings.CODENAME_PEPPER = None
    with pytest.raises(RuntimeError):
        codenames.derive("any words at all")
