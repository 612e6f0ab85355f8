"""Facts in /ask and the /entities endpoints, over the seed corpus."""

import dataclasses

from citeqa.kb.facts import FactBook, FactParams, passage_links
from citeqa.kb.linker import links_key
from citeqa.kb.table import EntityTable
from citeqa.qa.params import QAParams


def lookup(index, name):
    return index.entities.lookup(name, QAParams().link_similarity)


def test_tenge_question_cites_kazakhstan_values(client, seed_index):
    data = client.post("/ask", json={"question": "By how much did the Kazakh tenge fall?"})
    body = data.get_json()
    kazakhstan = next(f for f in body["facts"] if f["entity"] == "Kazakhstan")
    assert kazakhstan["label"] == "GPE" and kazakhstan["reason"] == "question"
    value = next(v for v in kazakhstan["values"] if v["text"] == "14%")
    doc = seed_index.store.documents[value["passage_id"].split("#")[0]]
    assert doc.text[value["start"]:value["end"]] == "14%"
    assert "14%" in value["sentence"] and "Kazakhstan" in value["sentence"]
    assert value["passage_id"] in [p["id"] for p in body["passages"]]


def test_facts_cite_only_existing_passages(client, seed_index):
    known = {p.id for p in seed_index.store.passages}
    for question in ("Who is the new president of Turkmenistan?",
                     "When did Putin meet Tokayev in Moscow?",
                     "What did Uzbek Foreign Minister Kamilov say?"):
        facts = client.post("/ask", json={"question": question}).get_json()["facts"]
        assert facts
        for fact in facts:
            assert set(fact["passages"]) <= known
            assert {v["passage_id"] for v in fact["values"]} <= known
            assert {r["passage_id"] for r in fact["roles"]} <= known


def test_question_and_answer_entities_come_first(client):
    body = client.post("/ask", json={"question": "Who is the new president of Turkmenistan?"})
    facts = body.get_json()["facts"]
    assert facts[0]["entity"] == "Turkmenistan" and facts[0]["reason"] == "question"
    assert any(f["reason"] == "answer" and "Berdymukhamedov" in f["entity"] for f in facts)


def test_misspelt_name_finds_the_right_passages(client, seed_index):
    body = client.post("/ask", json={"question": "When did Milziyoev visit the United States?",
                                     "explain": True}).get_json()
    assert "mirziyoyev" in [t for t, _ in body["explain"]["expansions"]["milziyoev"]]
    assert "Mirziyoev visited the United States" in body["passages"][0]["text"]
    assert body["answer"]["text"] == "2018"


def test_lookup_by_alias_demonym_and_spelling(seed_index):
    assert lookup(seed_index, "Uzbek").name == "Uzbekistan"
    assert lookup(seed_index, "the Kazakh").name == "Kazakhstan"
    assert lookup(seed_index, "Mirziyoyev\u2019s").label == "PERSON"
    assert lookup(seed_index, "Milzioyev").label == "PERSON"
    assert lookup(seed_index, "Canada") is None


def test_entities_listing_and_sheet(client):
    listing = client.get("/entities", query_string={"q": "kaz"}).get_json()["entities"]
    assert [e["entity"] for e in listing][:1] == ["Kazakhstan"]
    people = client.get("/entities", query_string={"label": "person"}).get_json()["entities"]
    assert people and all(e["label"] == "PERSON" for e in people)
    sheet = client.get(f"/entities/{listing[0]['id']}").get_json()
    # The full sheet is not capped like /ask's, and every value is stated in a sentence
    # that names the entity.
    assert len(sheet["values"]) > QAParams().facts.max_values
    for value in sheet["values"]:
        assert any(alias.lower() in value["sentence"].lower() for alias in sheet["aliases"])
    assert {"id", "entity", "label", "aliases", "mentions", "documents", "passages", "roles",
            "related", "values"} <= set(sheet)
    assert client.get("/entities/nope").get_json()["error"]["code"] == "entity_not_found"
    bad = client.get("/entities", query_string={"label": "SPACESHIP"})
    assert bad.status_code == 400


def test_ask_caps_long_lists_but_the_entity_sheet_lists_everything(client, seed_index):
    russia = lookup(seed_index, "Russia")
    everywhere = list(dict.fromkeys(seed_index.store.passage(m.passage).id
                                    for m in russia.mentions))
    assert len(everywhere) > 20
    full = client.get(f"/entities/{russia.id}").get_json()
    assert full["passages"] == everywhere
    body = client.post("/ask", json={"question": "Why did Russia start the war?"}).get_json()
    fact = next(f for f in body["facts"] if f["id"] == russia.id)
    assert fact["passages"] == everywhere[:20]
    assert fact["mentions"] == len(russia.mentions)
    shown = [p["id"] for p in body["passages"]]
    assert fact["values"][0]["passage_id"] in shown  # returned passages' values come first


def test_values_cite_their_relation_subject_and_normal_form(client, seed_index):
    doc = seed_index.store.documents["central-asia-russia-ukraine"].text
    sheets = {name: client.get(f"/entities/{lookup(seed_index, name).id}").get_json()
              for name in ("Kazakhstan", "Kyrgyzstan", "Russia", "Ukraine")}
    tenge = next(v for v in sheets["Kazakhstan"]["values"] if v["text"] == "14%")
    assert tenge["relation"]["text"] == "has fallen by"
    assert tenge["subject"]["text"] == "the tenge in Kazakhstan"
    assert tenge["normalized"] == {"kind": "percent", "amount": 14.0, "unit": "%"}
    # The other countries' figures in the same sentence stay theirs.
    assert "14%" not in {v["text"] for v in sheets["Kyrgyzstan"]["values"]}
    assert not {"14%", "15%"} & {v["text"] for v in sheets["Russia"]["values"]}
    aid = next(v for v in sheets["Ukraine"]["values"] if v["text"].startswith("83 million"))
    assert aid["text"] == "83 million euros" and aid["normalized"]["unit"] == "EUR"
    for sheet in sheets.values():
        for value in sheet["values"]:
            for cited in (value["relation"], value["subject"]):
                assert doc[cited["start"]:cited["end"]] == cited["text"] != ""


def test_father_and_son_have_separate_sheets(seed_index):
    son = lookup(seed_index, "Kalldahl Berdymukhamedov")
    father = [e for e in seed_index.entities.entities if e.name == "Berdymukhamedov"]
    assert len(father) == 1 and father[0] is not son
    assert all(not r.role.startswith("Former") for r in son.roles)


def test_an_ask_fact_list_reads_a_bounded_number_of_mentions(seed_index):
    book = FactBook(seed_index.store, seed_index.entities)
    russia = lookup(seed_index, "Russia")
    everything = book.values(russia, [], None)
    assert len(russia.mentions) > 10 and len(everything) > 1
    for cap in (1, 10):
        stated = {(m.passage, link.value.start) for m in russia.mentions[:cap]
                  for link in book.links(m.passage).get(m.start, ())}
        capped = book.values(russia, [], None, max_mentions=cap)
        # the values of the first ``cap`` mentions, and no more
        assert capped == everything[:len(capped)] and len(capped) == len(stated)
    assert book.values(russia, [], None, max_mentions=len(russia.mentions)) == everything


def test_stored_mention_places_are_the_first_distinct_ones_in_corpus_order(seed_index):
    # The loaded table reads them with one joined query that stops early; the in-memory
    # walk over every mention is the reference.
    table, store = seed_index.entities, seed_index.store
    for entity in list(table.entities)[:40]:
        for limit in (None, 1, 3, 20):
            expected = EntityTable.mention_places(table, entity, store, limit)
            assert table.mention_places(entity, store, limit) == expected, (entity.id, limit)


def test_the_index_stores_each_passages_value_links_as_the_parse_states_them(seed_index):
    """A sheet reads value links the build stored; they must be the links the parse gives
    now, and links made by other parameters are recomputed, not read."""
    store, table = seed_index.store, seed_index.entities
    params = FactParams().links
    key = links_key(params)
    stated = 0
    for p in range(len(store)):
        stored = table.stored_links(p, key)
        assert stored == passage_links(store, p, params)
        stated += len(stored)
    assert stated > 100  # the seed article states many values
    other = dataclasses.replace(params, max_climb=params.max_climb + 1, version="links-x")
    assert table.stored_links(0, links_key(other)) is None
    book = FactBook(store, table, dataclasses.replace(FactParams(), links=other))
    russia = lookup(seed_index, "Russia")
    assert book.sheet(russia).values  # computed from the parse, as the build would


def test_links_made_with_any_other_setting_are_never_read(seed_index):
    """The key names every setting, not only the version string: a setting changed
    without a new version still makes the stored links unreadable (they are recomputed)."""
    params = FactParams().links
    key = links_key(params)
    assert key.startswith(f"{params.version}+")
    for changed in (dataclasses.replace(params, max_climb=0),
                    dataclasses.replace(params, max_relation_tokens=1),
                    dataclasses.replace(params, rank_verbs=("rank",)),
                    dataclasses.replace(params, learned=None)):
        assert links_key(changed) != key
        assert seed_index.entities.stored_links(0, links_key(changed)) is None
    assert seed_index.entities.stored_links(0, key) is not None
