"""Entity resolution: unit cases on constructed annotations, then the seed corpus."""

import dataclasses

import pytest
from conftest import annotation_of

from citeqa.ingest.annotate import Annotation, Entity
from citeqa.ingest.corpus import PassageStore
from citeqa.ingest.documents import make_document
from citeqa.ingest.passages import Passage
from citeqa.kb.entities import clean_surface, mend_span, peel_roles, resolve


def corpus(*sentences_with_entities):
    """Build one passage per (text, [(surface, label)]) with consistent offsets."""
    text, passages, annotations = "", [], []
    for n, (sentence, ents) in enumerate(sentences_with_entities):
        start = len(text)
        text += sentence + "\n"
        entities = []
        for surface, label in ents:
            at = sentence.index(surface)
            entities.append(Entity(surface, label, start + at, start + at + len(surface)))
        passages.append(Passage(f"d#{n}", "d", n, start, start + len(sentence), sentence))
        annotations.append(Annotation(f"d#{n}", entities, [(start, start + len(sentence))]))
    document = dataclasses.replace(make_document("d", "", text, "d.txt"), text=text)
    return resolve(PassageStore({"d": document}, passages, annotations))


def by_alias(entities, alias):
    return next(e for e in entities if alias in e.aliases)


def test_clean_surface():
    assert clean_surface("the \u201cMoscow Times\u2019s") == "Moscow Times"
    assert clean_surface("WTO.Mirziyoyev") == "Mirziyoyev"
    assert clean_surface("Uzbekistan\u2019s") == "Uzbekistan"


def test_peel_roles():
    assert peel_roles(["Kazakh", "President", "Tokayev"]) == (["Tokayev"], ["President"],
                                                               "Kazakhstan")
    assert peel_roles(["President"]) == (["President"], [], None)  # a bare title stays


def test_titles_become_roles_and_fix_the_label():
    ents = corpus(("Kazakh President Tokayev spoke.", [("Kazakh President Tokayev", "ORG")]),
                  ("Later Tokayev left.", [("Tokayev", "PERSON")]),
                  ("Uzbek Foreign Minister Abdulaziz Kamilov said so.",
                   [("Abdulaziz Kamilov", "PERSON")]),
                  ("Kamilov agreed.", [("Kamilov", "ORG")]))
    tokayev = by_alias(ents, "Tokayev")
    assert tokayev.label == "PERSON" and len(tokayev.mentions) == 2
    assert [(r.role, r.affiliation) for r in tokayev.roles] == [("President", "Kazakhstan")]
    kamilov = by_alias(ents, "Abdulaziz Kamilov")
    assert kamilov.name == "Abdulaziz Kamilov" and "Kamilov" in kamilov.aliases
    assert [(r.role, r.affiliation) for r in kamilov.roles] == [("Foreign Minister",
                                                                 "Uzbekistan")]


def test_spelling_variants_merge_but_similar_countries_do_not():
    ents = corpus(("Mirziyoyev met Mirziyoev.", [("Mirziyoyev", "PERSON"),
                                                 ("Mirziyoev", "PERSON")]),
                  ("Milziyoev\u2019s plan.", [("Milziyoev\u2019s", "ORG")]),
                  ("Kazakhstan and Kyrgyzstan and Austria and Australia.",
                   [("Kazakhstan", "GPE"), ("Kyrgyzstan", "GPE"), ("Austria", "GPE"),
                    ("Australia", "GPE")]))
    person = by_alias(ents, "Mirziyoyev")
    assert set(person.aliases) == {"Mirziyoyev", "Mirziyoev", "Milziyoev"}
    assert person.label == "PERSON"
    for a, b in (("Kazakhstan", "Kyrgyzstan"), ("Austria", "Australia")):
        assert by_alias(ents, a) is not by_alias(ents, b)


def test_ambiguous_short_forms_stay_apart():
    ents = corpus(("Gurbanguly Berdymukhamedov and Serdar Berdymukhamedov.",
                   [("Gurbanguly Berdymukhamedov", "PERSON"),
                    ("Serdar Berdymukhamedov", "PERSON")]),
                  ("Berdymukhamedov spoke.", [("Berdymukhamedov", "PERSON")]))
    short = by_alias(ents, "Berdymukhamedov")
    assert short.aliases == ["Berdymukhamedov"]


def test_demonyms_and_majority_labels():
    ents = corpus(("Uzbekistan said.", [("Uzbekistan", "ORG")]),
                  ("Uzbekistan agreed.", [("Uzbekistan", "GPE")]),
                  ("Uzbekistan\u2019s view.", [("Uzbekistan\u2019s", "NORP")]),
                  ("The Uzbek side.", [("Uzbek", "NORP")]),
                  ("The US and the U.S. agree.", [("US", "GPE"), ("U.S.", "GPE")]))
    uzbekistan = by_alias(ents, "Uzbekistan")
    assert uzbekistan.label == "GPE" and len(uzbekistan.mentions) == 4
    assert "Uzbek" in uzbekistan.aliases
    assert by_alias(ents, "US") is by_alias(ents, "U.S.")
    assert len([e for e in ents if "Uzbekistan" in e.aliases]) == 1


def documents(*sentences):
    """Resolve (document id, sentence, [(surface, label)]) passages, documents in order."""
    docs, passages, annotations = {}, [], []
    for doc_id, sentence, ents in sentences:
        text = docs[doc_id].text + sentence + "\n" if doc_id in docs else sentence + "\n"
        start = text.index(sentence)
        docs[doc_id] = dataclasses.replace(make_document(doc_id, "", text, f"{doc_id}.txt"),
                                           text=text)
        entities = [Entity(s, label, start + sentence.index(s),
                           start + sentence.index(s) + len(s)) for s, label in ents]
        n = sum(p.doc_id == doc_id for p in passages)
        passages.append(Passage(f"{doc_id}#{n}", doc_id, n, start, start + len(sentence),
                                sentence))
        annotations.append(Annotation(f"{doc_id}#{n}", entities,
                                      [(start, start + len(sentence))]))
    return resolve(PassageStore(docs, passages, annotations))


def test_a_demonym_stands_for_its_country_only_in_a_text_naming_it():
    """'Indians' in an account of the French and Indian War are no mention of India."""
    ents = documents(
        ("war", "Montcalm led 30 Indians and French troops.",
         [("Indians", "NORP"), ("French", "NORP")]),
        ("war", "France lost Canada.", [("France", "GPE")]),
        ("trade", "Indian exports to Russia grew as India cut tariffs.",
         [("Indian", "NORP"), ("Russia", "GPE"), ("India", "GPE")]))
    india = by_alias(ents, "India")
    assert "Indian" in india.aliases and len(india.mentions) == 2  # the trade text's two
    assert by_alias(ents, "Indians").label == "NORP" and "Indians" not in india.aliases
    assert "French" in by_alias(ents, "France").aliases  # the war text names France
    ents = documents(("bases", "Russia keeps troops in Tajikistan.",
                      [("Russia", "GPE"), ("Tajikistan", "NORP")]),
                     ("bases", "Tajik officials agreed.", [("Tajik", "NORP")]))
    assert "Tajik" in by_alias(ents, "Tajikistan").aliases  # named, however tagged


def test_a_surname_joins_the_full_name_only_in_a_text_writing_it():
    """A text calls someone by the surname after naming them in full; the Normans'
    'Norman' (tagged PERSON) is not the footballer of another text."""
    ents = documents(
        ("game", "Josh Norman intercepted a pass.", [("Josh Norman", "PERSON")]),
        ("history", "Norman knights conquered England.", [("Norman", "PERSON")]),
        ("talks", "Abdulaziz Kamilov arrived.", [("Abdulaziz Kamilov", "PERSON")]),
        ("talks", "Kamilov left.", [("Kamilov", "PERSON")]))
    assert by_alias(ents, "Norman") is not by_alias(ents, "Josh Norman")
    assert "Kamilov" in by_alias(ents, "Abdulaziz Kamilov").aliases


def test_related_entities_share_sentences():
    ents = corpus(("Putin met Tokayev in Moscow.", [("Putin", "PERSON"), ("Tokayev", "PERSON"),
                                                    ("Moscow", "GPE")]),
                  ("Putin returned.", [("Putin", "PERSON")]))
    putin = by_alias(ents, "Putin")
    assert {i for i, _ in putin.related} == {by_alias(ents, "Tokayev").id,
                                              by_alias(ents, "Moscow").id}


@pytest.fixture()
def seed_entities(seed_index):
    return seed_index.entities.entities


def test_seed_resolution(seed_entities):
    mirziyoyev = [e for e in seed_entities if {"Mirziyoyev", "Mirziyoev", "Milziyoev"}
                  & set(e.aliases)]
    assert len(mirziyoyev) == 1 and mirziyoyev[0].label == "PERSON"
    assert {"Mirziyoyev", "Mirziyoev", "Milziyoev"} <= set(mirziyoyev[0].aliases)
    uzbekistan = [e for e in seed_entities if "Uzbekistan" in e.aliases]
    assert len(uzbekistan) == 1 and uzbekistan[0].label == "GPE"
    kazakhstan = by_alias(seed_entities, "Kazakhstan")
    assert kazakhstan is not by_alias(seed_entities, "Kyrgyzstan")
    assert kazakhstan.label == "GPE"
    ids = [e.id for e in seed_entities]
    assert len(ids) == len(set(ids))


def test_titles_after_a_name_and_no_title_without_a_title_noun():
    ents = corpus(("Trump, then president of the United States, praised the reforms.",
                   [("Trump", "ORG"), ("the United States", "GPE")]),
                  ("Kazakhstan\u2019s Foreign Ministry said so.",
                   [("Kazakhstan\u2019s Foreign Ministry", "ORG")]))
    trump = by_alias(ents, "Trump")
    assert trump.label == "PERSON"
    assert [(r.role, r.affiliation) for r in trump.roles] == [("President", "United States")]
    ministry = next(e for e in ents if e.label != "GPE" and "Ministry" in e.name)
    assert ministry.label == "ORG" and ministry.roles == []


def test_short_form_with_another_age_or_office_is_another_person():
    ents = corpus(("40-year-old Serdar Berdymukhamedov was elected president.",
                   [("Serdar Berdymukhamedov", "PERSON")]),
                  ("64-year-old former Turkmen President Berdymukhamedov stepped down.",
                   [("Berdymukhamedov", "PERSON")]))
    father = by_alias(ents, "Berdymukhamedov")
    assert "Serdar Berdymukhamedov" not in father.aliases
    assert [(r.role, r.affiliation) for r in father.roles] == [("Former President",
                                                                "Turkmenistan")]
    # Without a disagreeing age or office the short form still joins the full name.
    ents = corpus(("Serdar Berdymukhamedov was elected.", [("Serdar Berdymukhamedov", "PERSON")]),
                  ("Berdymukhamedov spoke.", [("Berdymukhamedov", "PERSON")]))
    assert "Serdar Berdymukhamedov" in by_alias(ents, "Berdymukhamedov").aliases


def test_a_name_cut_short_joins_the_name_it_begins():
    ents = corpus(("Lin Fangzheng visited Kazakhstan.", [("Lin Fangzheng", "PERSON")]),
                  ("Lin Fang held a conference.", [("Lin Fang", "PERSON")]))
    assert by_alias(ents, "Lin Fang") is by_alias(ents, "Lin Fangzheng")


def test_roles_keep_their_affiliation_and_adjectives_are_no_titles():
    ents = corpus(("Kazakh President Tokayev spoke.", [("Tokayev", "PERSON")]),
                  ("President Tokayev left.", [("Tokayev", "PERSON")]),
                  ("Kennedy wrote to Vice President Lyndon Johnson.",
                   [("Lyndon Johnson", "PERSON")]),
                  ("Contracts went to General Electric.", [("General Electric", "ORG")]))
    assert [(r.role, r.affiliation) for r in by_alias(ents, "Tokayev").roles] == [
        ("President", "Kazakhstan")]
    assert [r.role for r in by_alias(ents, "Lyndon Johnson").roles] == ["Vice President"]
    company = by_alias(ents, "General Electric")
    assert company.label == "ORG" and company.roles == []


def test_a_title_word_opening_an_institution_or_event_name_is_no_role():
    ents = corpus(("Sky bought the Premier League rights.", [("Premier League", "ORG")]),
                  ("It ended King George's War.", [("King George's War", "ORG")]),
                  ("King Abdullah visited.", [("King Abdullah", "ORG")]),
                  ("Senator Frank Church spoke.", [("Senator Frank Church", "PERSON")]))
    for name in ("Premier League", "King George's War"):
        found = by_alias(ents, name)
        assert found.roles == [] and found.label == "ORG"
    assert [r.role for r in by_alias(ents, "Abdullah").roles] == ["King"]
    assert [r.role for r in by_alias(ents, "Frank Church").roles] == ["Senator"]


def test_a_name_the_parse_never_uses_as_a_person_is_not_one(nlp):
    """spaCy's PERSON label is forced onto the mentions, as the small model does."""
    texts = {"Kuleba posted a message on his personal Twitter.": "Twitter",
             "Zaksilkov spoke after the meeting in Majilis.": "Majilis",
             "Tokayev met Kuleba.": "Kuleba"}
    text, passages, annotations = "", [], []
    for n, (sentence, name) in enumerate(texts.items()):
        start = len(text)
        text += sentence + "\n"
        passage = Passage(f"d#{n}", "d", n, start, start + len(sentence), sentence)
        annotation = annotation_of(nlp, passage)
        at = start + sentence.index(name)
        annotation = dataclasses.replace(annotation, entities=[
            Entity(name, "PERSON", at, at + len(name))])
        passages.append(passage)
        annotations.append(annotation)
    document = dataclasses.replace(make_document("d", "", text, "d.txt"), text=text)
    ents = resolve(PassageStore({"d": document}, passages, annotations))
    assert by_alias(ents, "Twitter").label == "ORG"
    assert by_alias(ents, "Majilis").label != "PERSON"
    assert by_alias(ents, "Kuleba").label == "PERSON"  # a subject and an object


def test_a_place_a_few_sentences_call_a_person_is_not_a_persons_short_name():
    places = [(f"Montana grew in {1880 + n}.", [("Montana", "GPE")]) for n in range(9)]
    ents = corpus(("Joe Montana won the game.", [("Joe Montana", "PERSON")]),
                  ("Montana voted.", [("Montana", "PERSON")]), *places)
    assert by_alias(ents, "Montana") is not by_alias(ents, "Joe Montana")
    assert by_alias(ents, "Montana").label == "GPE"
    # Called a person in two of five mentions, a one-word name is the person's short name.
    ents = corpus(("Raila Odinga spoke.", [("Raila Odinga", "PERSON")]),
                  *[("Odinga left.", [("Odinga", "PERSON")])] * 2,
                  *[("Odinga won.", [("Odinga", "GPE")])] * 3)
    assert by_alias(ents, "Odinga") is by_alias(ents, "Raila Odinga")


def test_a_title_is_not_cut_to_a_shorter_office():
    ents = corpus(("He was sued by California Attorney General Jerry Brown in 2008.",
                   [("Jerry Brown", "PERSON")]),
                  ("Floyd Norris, the chief financial correspondent of the Times, wrote.",
                   [("Floyd Norris", "PERSON")]),
                  ("He joined then-Vice President George Bush at a rally.",
                   [("George Bush", "PERSON")]),
                  ("Ruthann Melbourne, Chief Risk Officer, agreed.",
                   [("Ruthann Melbourne", "PERSON")]),
                  ("Askar Umarov, the deputy minister of Kazakhstan, spoke.",
                   [("Askar Umarov", "PERSON")]),
                  ("The General Secretary Ban Ki-moon came.", [("Ban Ki-moon", "PERSON")]))
    roles = {e.name: [(r.role, r.affiliation) for r in e.roles] for e in ents}
    assert roles["Jerry Brown"] == [("Attorney General", None)]
    assert roles["Floyd Norris"] == [] and roles["Ruthann Melbourne"] == []
    assert roles["George Bush"] == [("Vice President", None)]
    # a title that ends its phrase is still read after the name
    assert roles["Askar Umarov"] == [("Deputy Minister", "Kazakhstan")]
    assert roles["Ban Ki-moon"] == [("General Secretary", None)]  # not "The General ..."


def test_a_form_of_address_or_an_office_is_not_a_person():
    ents = corpus(("Only the college president Fr. Matthew Walsh stopped it.",
                   [("Fr", "PERSON"), ("Matthew Walsh", "PERSON")]),
                  ("Theodore Hesburgh, President Emeritus of the university, spoke.",
                   [("Theodore Hesburgh", "PERSON"), ("Emeritus", "PERSON")]),
                  ("He was crowned King of Portugal in 1640.",
                   [("King of Portugal", "PERSON")]))
    names = {e.name for e in ents}
    assert "Fr" not in names and "Emeritus" not in names
    assert not any(r.role == "King" for e in ents for r in e.roles)
    assert "Matthew Walsh" in names


def test_a_surname_shared_by_relatives_joins_the_name_the_text_writes_most():
    """A biography names its subject first and in full again and again, a relative once:
    the surname alone is the subject's. Two people written alike stay apart."""
    subject = [("bio", f"Martin Luther wrote tract {n}.", [("Martin Luther", "PERSON")])
               for n in range(3)]
    ents = documents(
        *subject, ("bio", "Hans Luther was a miner.", [("Hans Luther", "PERSON")]),
        ("bio", "Luther married in 1525.", [("Luther", "PERSON")]))
    assert by_alias(ents, "Luther") is by_alias(ents, "Martin Luther")
    assert by_alias(ents, "Hans Luther") is not by_alias(ents, "Martin Luther")
    ents = documents(
        ("bio", "Hans Luther was a miner. Martin Luther wrote.",
         [("Hans Luther", "PERSON"), ("Martin Luther", "PERSON")]),
        ("bio", "Luther married in 1525.", [("Luther", "PERSON")]))
    assert by_alias(ents, "Luther").aliases == ["Luther"]


def test_a_surname_joins_a_dominant_name_only_within_one_text_and_untitled():
    """'Johnson' in two texts may be two people; 'President Kennedy' names his office;
    a biography names its subject first ('Wolfgang Amadeus Mozart', then his father)."""
    boris = [("brexit", f"Boris Johnson spoke {n}.", [("Boris Johnson", "PERSON")])
             for n in range(3)]
    ents = documents(*boris, ("brexit", "Johnson resigned.", [("Johnson", "PERSON")]),
                     ("war", "Lyndon Johnson escalated.", [("Lyndon Johnson", "PERSON")]),
                     ("war", "Johnson signed it.", [("Johnson", "PERSON")]))
    assert by_alias(ents, "Johnson") is not by_alias(ents, "Boris Johnson")
    leopold = [("bio", f"Leopold Mozart taught {n}.", [("Leopold Mozart", "PERSON")])
               for n in range(3)]
    ents = documents(("bio", "Wolfgang Amadeus Mozart was born.",
                      [("Wolfgang Amadeus Mozart", "PERSON")]), *leopold,
                     ("bio", "Mozart composed 41 symphonies.", [("Mozart", "PERSON")]))
    assert by_alias(ents, "Mozart") is not by_alias(ents, "Leopold Mozart")


def test_a_name_cut_short_is_finished_or_trimmed():
    """spaCy ends spans on a function word ("State of" of "State of the Union"); after
    "of"/"the" the capitalised words that follow finish the name, otherwise the dangling
    word goes, and so does an unclosed bracket."""
    def mended(text, span):
        at = text.index(span)
        found = mend_span(text, Entity(span, "ORG", at, at + len(span)))
        return found and found.text
    assert mended("in his State of the Union address", "State of") == "State of the Union"
    assert mended("in the Republic of the Congo.", "the Republic of the") \
        == "the Republic of the Congo"
    assert mended("carpets from Agra and Lahore", "Agra and") == "Agra"
    assert mended("The Brazzaville Conference of 1944 began", "The Brazzaville Conference of") \
        == "The Brazzaville Conference"
    assert mended("at Milehouse, Coypool (Plympton) and", "Milehouse, Coypool (Plympton") \
        == "Milehouse, Coypool"
    assert mended("The V&A covers 12.5 acres", "The V&A") == "The V&A"  # "A" is no "a"
    assert mended("Bank of America paid", "Bank of America") == "Bank of America"
    assert mended("the University of North Carolina at Chapel Hill", "University of") \
        == "University of North Carolina"
    # one word after "the", never a title: the review's "... of the Congo Health Minister"
    assert mended("of the Democratic Republic of the Congo Health Minister Jean said",
                  "the Democratic Republic of the") == "the Democratic Republic of the Congo"
    ents = corpus(("Tokayev gave his State of the Union address.", [("State of", "ORG")]))
    assert [e.name for e in ents] == ["State of the Union"]
    # the words that would finish it are a span of their own: that span names it
    ents = corpus(("The Democratic Republic of the Congo signed a deal.",
                   [("The Democratic Republic of the", "GPE"), ("Congo", "GPE")]))
    assert [e.name for e in ents] == ["Congo"]


def test_a_name_never_written_with_a_capital_is_no_name():
    """spaCy tags "bush" of "the bush fires" and "the national security department":
    words and descriptions, not names; "Bush" stays."""
    ents = corpus(("President Bush said the bush fires had burned.", [("Bush", "PERSON"),
                                                                      ("bush", "PERSON")]),
                  ("Later the national security department called.",
                   [("national security department", "ORG")]))
    assert {e.name for e in ents} == {"Bush"}
