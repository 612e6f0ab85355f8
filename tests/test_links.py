"""Values linked to entities by the dependency parse, and their normal forms, on small
hand-made sentences (parsed by the real model, so each pattern is tested end to end)."""

import pytest
from conftest import annotation_of

from citeqa.ingest.passages import Passage
from citeqa.kb.links import LinkParams, link_values
from citeqa.kb.normalize import currency_after, normalize


@pytest.fixture(scope="module")
def links(nlp):
    def run(text: str, resolves=lambda _: False) -> dict[str, list[tuple]]:
        """mention text -> [(value text, relation text, subject text)]."""
        annotation = annotation_of(nlp, Passage("d#0", "d", 0, 0, len(text), text))
        out: dict[str, list[tuple]] = {}
        for link in link_values(annotation, text, LinkParams(), resolves):
            out.setdefault(text[link.mention[0]:link.mention[1]], []).append(
                (link.value.text, text[link.relation[0]:link.relation[1]],
                 text[link.subject[0]:link.subject[1]]))
        return out
    return run


def values(found: dict, name: str) -> set[str]:
    return {v for v, _, _ in found.get(name, [])}


def test_the_thing_an_entity_owns_is_the_subject(links):
    found = links("The tenge in Kazakhstan has fallen by 14%.")
    assert found["Kazakhstan"] == [("14%", "has fallen by", "The tenge in Kazakhstan")]


def test_each_entity_keeps_its_own_value(links):
    found = links("Since the war began in Ukraine, the som in Kyrgyzstan has fallen by 15%, "
                  "the tenge in Kazakhstan has fallen by 14%, and the ruble has recovered.")
    assert values(found, "Kyrgyzstan") == {"15%"}
    assert values(found, "Kazakhstan") == {"14%"}
    assert values(found, "Ukraine") == set()


def test_possessor_of_the_measured_noun(links):
    found = links("Kenya's 47 counties are governed by elected governors.")
    assert values(found, "Kenya") == {"47"}


def test_respectively_pairs_in_order(links):
    found = links("The World Bank lowered its growth forecasts for Kazakhstan and Uzbekistan "
                  "to 1.8% and 3.6% respectively.")
    assert values(found, "Kazakhstan") == {"1.8%"}
    assert values(found, "Uzbekistan") == {"3.6%"}
    assert values(found, "The World Bank") == set()


def test_a_reports_date_belongs_to_the_reporter(links):
    found = links("On March 30, the Carnegie Center said that Russia lost 5% of its trade.")
    assert values(found, "Russia") == {"5%"}
    assert "March 30" in values(found, "the Carnegie Center")


def test_a_count_of_a_group_is_not_a_neighbours(links):
    found = links("Russia and the five Central Asian countries signed the treaty.")
    assert values(found, "Russia") == set()
    assert values(found, "Central Asian") == {"five"}
    found = links("Japan held a video conference with the foreign ministers of five "
                  "Central Asian countries.")
    assert values(found, "Japan") == set()


def test_words_that_are_not_values(links):
    assert links("Russia must first end its military activities.") == {}
    assert values(links("Kenya is one of the most stable countries in Africa."), "Kenya") \
        == set()
    found = links("The First Deputy Minister of Foreign Affairs of Kazakhstan spoke.")
    assert values(found, "Kazakhstan") == set()


def test_a_bare_relative_date_needs_the_documents_date(links):
    text = "Yesterday, Russia issued a statement."
    assert values(links(text), "Russia") == set()
    assert values(links(text, resolves=lambda _: True), "Russia") == {"Yesterday"}


def test_the_place_of_a_dated_event(links):
    found = links("In January, public protests broke out in Kazakhstan.")
    assert values(found, "Kazakhstan") == {"January"}


def test_normal_forms():
    assert normalize("February 7, 2016", "DATE", None).date == "2016-02-07"
    assert normalize("March 2022", "DATE", None).date == "2022-03"
    assert normalize("2021 to 2027", "DATE", None).date == "2021/2027"
    assert normalize("March 17th", "DATE", None) is None  # no year in an undated document
    assert normalize("March 17th", "DATE", "2022-04-30").date == "2022-03-17"
    assert normalize("yesterday", "DATE", "2022-03-10").date == "2022-03-09"
    money = normalize("83 million euros", "MONEY", None)
    assert (money.amount, money.unit) == (83_000_000, "EUR")
    assert normalize("about 58.41 million yuan", "MONEY", None).unit == "CNY"
    assert normalize("$1.2 billion", "MONEY", None).amount == 1_200_000_000
    assert normalize("3.7%", "PERCENT", None).amount == 3.7
    assert normalize("Sixty percent", "PERCENT", None).amount == 60
    assert normalize("24\u201310", "CARDINAL", None) is None  # a score keeps its text
    text = "will provide 83 million euros of aid"
    assert text[:currency_after(text, len("will provide 83 million"))].endswith("euros")


def test_it_stands_for_the_subject_before_it(links):
    found = links("Although Kazakhstan is a large country, it has only 19 million people.")
    assert values(found, "Kazakhstan") == {"only 19 million"}


def test_in_leads_to_places_not_events(links):
    found = links("The team in the Super Bowl scored 24 points, and the bank in Kazakhstan "
                  "lost 5%.")
    assert values(found, "the Super Bowl") == set()
    assert values(found, "Kazakhstan") == {"5%"}


def test_a_clause_on_the_object_dates_the_subjects_doing(links):
    found = links("Kazakhstan and Kyrgyzstan abstained in the vote condemning the invasion "
                  "on March 2.")
    assert values(found, "Kazakhstan") == {"March 2"}
    assert values(found, "Kyrgyzstan") == {"March 2"}


def test_a_split_title_does_not_hide_the_subject(links):
    found = links("In an interview on March 20th, the vice-president of Kyrgyzstan's cabinet "
                  "stressed that every country has its rights.")
    assert "March 20th" in values(found, "Kyrgyzstan")


def test_a_countrys_official_reports_its_figures(links):
    found = links("Kazakhstan's Defense Minister told the media that the cost of a parade "
                  "was about 4 billion tenge.")
    assert "about 4 billion tenge" in values(found, "Kazakhstan")
    # a clause that names someone else keeps the value to itself
    found = links("Kazakhstan's Defense Minister said that Russia spent 4 billion rubles.")
    assert values(found, "Kazakhstan") == set()


def test_where_a_counted_group_is(links):
    found = links("About 9,000 Europeans lived in Congo before the war.")
    assert "About 9,000" in values(found, "Congo")
    found = links("3,000 people were killed in Beichuan County, Sichuan.")
    assert "3,000" in values(found, "Sichuan")


def test_what_which_stands_for(links):
    found = links("In 2009 Tajikistan had 26 airports, 18 of which had paved runways.")
    assert {"26", "18"} <= values(found, "Tajikistan")


def test_a_note_in_brackets_is_no_other_name(links):
    found = links("Tajikistan has a population of 7,349,145 (July 2009 est.).")
    assert "7,349,145" in values(found, "Tajikistan")


def test_dated_aid_goes_to_its_recipient(links):
    found = links("The EU will provide 83 million euros of aid to Ukraine in 2021-2024.")
    assert "2021-2024" in values(found, "Ukraine")


def test_an_amount_given_by_the_agent(links):
    found = links("By May 14, 10.7 billion yuan had been donated by the Chinese public.")
    assert "10.7 billion yuan" in values(found, "Chinese")


def test_words_that_own_nothing(links):
    found = links("The Zipingpu Plant (simplified Chinese: 紫坪铺水库) located 20 km east of "
                  "the epicenter was damaged.")
    assert values(found, "Chinese") == set()
    found = links("Pingwu County, also northeast of Wenchuan, suffered a 6.1 aftershock on "
                  "August 1.")
    assert values(found, "Wenchuan") == set()
    found = links("Chinese prosecutors went to gain first-hand material.")
    assert "first" not in values(found, "Chinese")


def test_a_name_whose_article_belongs_to_a_larger_phrase(links):
    found = links("The Super Bowl 50 Host Committee has vowed to help, and will dedicate "
                  "25 percent of all money it raises to charity.")
    assert "25 percent" in values(found, "The Super Bowl")


def test_an_amount_included_in_another_and_a_count_qualifying_it(links):
    found = links("On May 16 China stated it had received $457 million in donated money, "
                  "including $83 million from 19 countries.")
    assert {"$457 million", "$83 million"} <= values(found, "China")
    assert "19" not in values(found, "China")


def test_a_list_of_counted_nouns_is_one_phrase(links):
    found = links("Pingwu County suffered an aftershock on August 1; it caused 2 deaths, 345 "
                  "injuries, collapse of 707 homes, and damages to roads.")
    assert {"2", "345", "707"} <= values(found, "Pingwu County")


def test_the_base_of_a_rate_is_no_value(links):
    found = links("Tajikistan had the lowest rate of university graduates per 1000 people.")
    assert "1000" not in values(found, "Tajikistan")


def test_a_short_name_after_a_number_is_its_unit(links):
    found = links("By 12:17 CST, May 14, 2008, communication in the seat of Wenchuan was "
                  "partly revived.")
    assert "12:17" in values(found, "Wenchuan")
    assert values(found, "CST") == set()


def test_a_possessed_noun_above_the_value_is_its_possessors(links):
    found = links("Rescue efforts were praised, as was China's previous performance during "
                  "the 1976 Tangshan earthquake.")
    assert "1976" in values(found, "China")


def test_words_that_are_kinds_or_articles_not_counts(links):
    found = links("Congo returned to the era of the one-party state.")
    assert values(found, "Congo") == set()
    found = links("One French investigation found bank accounts in France.")
    assert "One" not in values(found, "French")
    found = links("On May 12, 2009, China marked the first anniversary of the quake.")
    assert values(found, "China") == {"May 12, 2009"}
    found = links("The Broncos' defense ranked number one in total yards allowed.")
    assert "one" in values(found, "Broncos")


def test_among_and_from_name_the_owner_of_a_subject(links):
    found = links("Between 1926 and 1959 the proportion of Russians among Tajikistan's "
                  "population grew from less than 1% to 13%.")
    assert "less than 1% to 13%" in values(found, "Tajikistan")
    found = links("In 2010, remittances from Tajik labour migrants totaled an estimated $2.1 "
                  "billion.")
    assert {"2010", "an estimated $2.1 billion"} <= values(found, "Tajik")
    # a value naming whose it is is not also the origin's
    found = links("Remittance income from Russia accounts for about 30% of GDP in "
                  "Kyrgyzstan.")
    assert values(found, "Russia") == set()
    assert "about 30%" in values(found, "Kyrgyzstan")


def test_a_definite_counted_object_is_a_known_group(links):
    found = links("In 2012, the presidents of Tajikistan and Iran signed an agreement to "
                  "build roads to connect the three countries.")
    assert "three" not in values(found, "Tajikistan")
    assert "2012" in values(found, "Tajikistan")


def test_the_parties_between_whom_something_is_done(links):
    found = links("In 2009, an agreement was made between Tajikistan, Pakistan, and "
                  "Afghanistan to build a 1,300 km highway.")
    assert {"2009", "1,300 km"} <= values(found, "Tajikistan")
    assert {"2009", "1,300 km"} <= values(found, "Afghanistan")


def test_where_a_dated_visit_or_object_is(links):
    found = links("The 1,300 rescuers reached the epicenter, and 300 pioneer troops reached "
                  "the seat of Wenchuan at about 23:30 CST.")
    assert "about 23:30" in values(found, "Wenchuan")
    found = links("On June 5, government forces surrounded Sassou's compound in Brazzaville.")
    assert "June 5" in values(found, "Brazzaville")


def test_a_bare_weekday_needs_the_documents_date(links):
    found = links("Rescue teams were ready to join the effort in Sichuan as early as "
                  "Wednesday.")
    assert values(found, "Sichuan") == set()


def test_a_participle_happens_where_its_main_clause_does(links):
    found = links("On August 5, another aftershock hit Qingchuan, Sichuan, causing 1 death, "
                  "32 injuries, and destroying thousands of buildings.")
    assert {"1", "32", "thousands"} <= values(found, "Sichuan")
    found = links("United States Army personnel periodically visit Tajikistan to conduct "
                  "joint training missions of up to several weeks duration.")
    assert "up to several weeks" in values(found, "Tajikistan")


def test_a_value_inside_the_subject_is_where_its_clause_happens(links):
    found = links("On May 25, an aftershock of 6.0 Mw hit northeast of the epicenter, in "
                  "Qingchuan County, Sichuan.")
    assert "6.0" in values(found, "Sichuan")


def test_demonyms_the_tagger_left_out(links):
    found = links("Tajiks began to be conscripted into the Soviet Army in 1939.")
    assert "1939" in values(found, "Tajiks")


def test_a_demonym_naming_a_place(links):
    found = links("Russian border troops were stationed along the Tajik\u2013Afghan border "
                  "until summer 2005.")
    assert "summer 2005" in values(found, "Tajik")
    # not a demonym on what a dated act is done to
    found = links("On March 17th, Uzbek Foreign Minister Kamilov urged both sides of the "
                  "Russian-Ukrainian conflict to reach a diplomatic solution.")
    assert values(found, "Ukrainian") == set()


def test_a_broken_encyclopedic_first_sentence(links):
    found = links("Tajikistan (Persian: تاجيكستان‎‎ Тоҷикистон), "
                  "officially the Republic of Tajikistan (Persian: جمهورى تاجيكستان‎‎ "
                  "Tajik: Ҷумҳурии Тоҷикистон), is a mountainous, landlocked country in "
                  "Central Asia with an estimated 8 million people in 2013, and an area of "
                  "143,100 km2.")
    assert {"an estimated 8 million", "2013", "143,100"} <= values(found, "Tajikistan")


def test_a_counted_nouns_own_phrases(links):
    found = links("Militarism rose following the escape of 25 militants from a Tajik prison "
                  "in August.")
    assert "25" in values(found, "Tajik")
    found = links("They joined the Patriots as one of four teams that have made eight "
                  "appearances in the Super Bowl.")
    assert values(found, "the Super Bowl") == set()


def test_there_is_stands_for_its_noun(links):
    found = links("In 2010, there were concerns among Tajik officials that militarism was on "
                  "the rise.")
    assert "2010" in values(found, "Tajik")


def test_a_bracketed_conversion_shares_its_links(links):
    found = links("By May 14, the Ministry of Civil Affairs stated that 10.7 billion yuan "
                  "(approximately US$1.5 billion) had been donated by the Chinese public.")
    assert {"10.7 billion yuan", "approximately US$1.5 billion"} <= values(found, "Chinese")


def test_a_dates_own_place(links):
    found = links("The Ms 6.1 earthquake on August 30, 2008 in Sichuan was not part of this "
                  "series.")  # ("in southern Sichuan": a region's, see the compass test)
    assert "August 30, 2008" in values(found, "Sichuan")
    found = links("After the Russian Revolution of 1917 guerrillas throughout Central Asia "
                  "waged a war.")
    assert "1917" not in values(found, "Central Asia")


def test_a_share_of_which(links):
    found = links("Tajikistan has a population of 7,349,145 (July 2009 est.) of which 70% are "
                  "under the age of 30 and 35% are between the ages of 14 and 30.")
    assert {"7,349,145", "70%", "35%"} <= values(found, "Tajikistan")


def test_a_bracketed_note_inside_the_place(links):
    found = links("The Ministry reported that 104,272 disabled people are registered in "
                  "Tajikistan (2000).")
    assert {"104,272", "2000"} <= values(found, "Tajikistan")


def test_a_definite_description_stands_for_the_last_name_it_fits(links):
    found = links("Uzbekistan joined the bank in 2015. In 2016, the central government "
                  "spent $5 billion on new roads.")
    assert {"2016", "$5 billion"} <= values(found, "Uzbekistan")
    assert all(subject == "the central government" for value, _, subject
               in found["Uzbekistan"] if value == "$5 billion")
    # "the country" is a country, not the last place or region named
    found = links("Kenya borders Nairobi County and Central Asia. The country lost 5% of "
                  "its forests in 2010.")
    assert "5%" in values(found, "Kenya")
    assert values(found, "Central Asia") == set()
    # another country, or someone's: not the last one named
    found = links("Kenya met Japan. The neighbouring country lost 5% of its trade.")
    assert values(found, "Japan") == set()
    found = links("Kenya met Japan. The country of the emperor lost 5% of its trade.")
    assert values(found, "Japan") == set()
    found = links("3,000 people were killed in Beichuan County; in the same location, "
                  "10,000 people were injured.")
    assert "10,000" in values(found, "Beichuan County")


def test_the_team_stands_for_the_last_team_named(links):
    found = links("Malik Jackson recovered the ball for a Falcons touchdown, giving the "
                  "team a 10\u20130 lead.")  # an en dash, as in the score
    assert values(found, "Falcons") == {"10\u20130"}


def test_coordinated_clauses_share_the_place_before_them(links):
    found = links("In Almaty, 10,000 people were injured and 80% of the buildings were "
                  "destroyed.")
    assert values(found, "Almaty") == {"10,000", "80%"}


def test_a_subject_left_on_the_auxiliary(links):
    found = links("Congo was excluded from the Kimberley Process in 2004; it was "
                  "re-admitted to the group in 2007.")
    assert values(found, "Congo") == {"2004", "2007"}


def test_a_quoted_number_is_a_name(links):
    found = links('The winner of the final in Kenya will receive a gold-plated "50".')
    assert values(found, "Kenya") == set()


def test_a_share_of_which_is_of_the_amount_in_its_unit(links):
    found = links("According to the program, the EU will provide 83 million euros of free "
                  "aid to Ukraine in 2021-2024, of which 76 million euros will be used to "
                  "implement joint projects.")
    assert "76 million euros" in values(found, "Ukraine")


def test_the_date_after_a_since_event_is_that_events(links):
    found = links("It is the first Super Bowl held in the Bay Area since Super Bowl XIX in "
                  "1985.")
    assert "1985" not in values(found, "Super Bowl")
    assert values(found, "Super Bowl XIX") == {"1985"}
    found = links("Kenya hosted the first Safari Rally held in Africa since Rally Kenya in "
                  "1960.")
    assert "1960" not in values(found, "Kenya")


def test_a_value_in_brackets_after_a_name_is_that_names(links):
    found = links("Seven reservations were created in Montana under the Dawes Act (1887) "
                  "and the Indian Reorganization Act (1934).")
    assert values(found, "Montana") & {"1887", "1934"} == set()
    assert values(found, "the Dawes Act") == {"1887"}


def test_a_number_word_opening_a_name_is_no_value(links):
    found = links("The Three Towns conurbation of Plymouth enjoyed some prosperity.")
    assert "Three" not in values(found, "Plymouth")


def test_a_rank_in_a_place_is_not_the_places(links):
    found = links("It is the fourth largest state in the United States.")
    assert values(found, "the United States") == set()


def test_a_rank_clause_without_its_verb_shares_it(links):
    found = links("Montana is ranked 4th in size, but 44th in population.")
    assert {"4th", "44th"} <= values(found, "Montana")


def test_a_list_of_counted_nouns_stands_where_its_first_item_does(links):
    found = links("Plymouth also has 71 primary schools, 13 secondary schools, eight special "
                  "schools and three grammar schools.")
    assert values(found, "Plymouth") == {"71", "13", "eight", "three"}


def test_what_a_place_is_home_to_is_its(links):
    found = links("Montana is home to a diverse array of fauna that includes 14 amphibian "
                  "and 90 fish species.")
    assert {"14", "90"} <= values(found, "Montana")


def test_what_a_counted_noun_is_with_is_that_nouns(links):
    found = links("Idaho has one city with a population over 200,000; and two cities with "
                  "populations over 80,000, Nampa and Meridian.")
    assert values(found, "Idaho") == {"two"}


def test_a_place_in_brackets_is_a_note_of_its_own(links):
    found = links("The University of Plymouth enrolls 25,895 total students as of 2014/15 "
                  "(22nd largest in the UK out of 165).")
    assert values(found, "UK") & {"25,895", "2014/15"} == set()


def test_the_amount_a_verb_sets_its_object_at(links):
    found = links("The 2010 census put Montana's population at 989,415.")
    assert "989,415" in values(found, "Montana")


def test_an_ordinal_ranks_the_thing_it_modifies_unless_it_is_a_predicate(links):
    for text in ("Schwarzenegger made his first plane trip in 1966.",
                 "Schwarzenegger completed his second term as governor in 2011.",
                 "California took delivery of the first hydrogen car in October 2004."):
        name = text.split()[0]
        found = links(text)
        ordinal = next(w for w in ("first", "second") if w in text.split())
        assert ordinal not in values(found, name), text
        assert values(found, name), text  # the dates stay the doer's
    assert "first" in values(links("Uzbekistan is the first Central Asian country to join."),
                             "Uzbekistan")
    assert "third" in values(links("Tajikistan holds third place in the world."), "Tajikistan")


def test_a_nationality_naming_a_language_owns_nothing(links):
    found = links("Brazil has 200 million native Portuguese speakers in 2012.")
    assert values(found, "Portuguese") == set() and values(found, "Brazil")
    found = links("The city was known in Portuguese as Olissipo in 1200.")
    assert values(found, "Portuguese") == set()
    assert values(links("The Portuguese government cut 4.8 billion euros in 2012."),
                  "Portuguese")  # the state, not the language


def test_an_objects_predicate_ranks_the_object_not_the_subject(links):
    found = links("In 2014, USA Today ranked Notre Dame 10th overall.")
    assert "10th" in values(found, "Notre Dame")
    assert "10th" not in values(found, "USA Today")
    found = links("On November 8, 1889 President Benjamin Harrison proclaimed Montana the "
                  "forty-first state in the union.")
    assert "forty-first" in values(found, "Montana")
    assert "forty-first" not in values(found, "Benjamin Harrison")
    assert "10th" in values(links("Notre Dame was ranked 10th in 2014."), "Notre Dame")


def test_the_parts_a_subject_is_divided_into(links):
    # and a gloss in brackets is no name: "freguesia" is tagged PERSON
    found = links("Administratively, Portugal is divided into 308 municipalities (Portuguese: "
                  "municípios or concelhos), which after a reform in 2013 are subdivided "
                  "into 3,092 civil parishes (Portuguese: freguesia).")
    assert {"308", "3,092"} <= values(found, "Portugal")
    assert values(found, "freguesia") == set()
    # a counted group elsewhere stays the group's
    assert "five" not in values(links("Russia met the five Central Asian countries."),
                                "Russia")


def test_the_object_a_verb_changes_by_an_amount(links):
    found = links("The plan will reduce California's emissions by 25 percent by 2020.")
    assert {"25 percent", "2020"} <= values(found, "California")


def test_a_date_dates_its_when_clause(links):
    found = links("The territory was formed on April 26, 1864, when Congress passed the "
                  "Organic Act.")
    assert "April 26, 1864" in values(found, "Congress")


def test_a_comparisons_baseline_is_no_ones(links):
    found = links("Schwarzenegger won with 56.0% of the vote compared with 38.9% for "
                  "Angelides.")
    assert "56.0%" in values(found, "Schwarzenegger")
    assert "38.9%" not in values(found, "Schwarzenegger")


def test_an_age_is_no_places_or_nationalitys(links):
    found = links("Schwarzenegger moved to the United States in September 1968 at the age "
                  "of 21.")
    assert "the age of 21" not in values(found, "the United States")
    assert "September 1968" in values(found, "the United States")
    found = links("Tajikistan has 7 million people, of whom 70% are under the age of 30.")
    assert "the age of 30" in values(found, "Tajikistan")  # a bracket of ages: its people


def test_a_currencys_country_owns_no_amount(links):
    found = links("The crisis played a role in the failure of key businesses, declines in "
                  "consumer wealth estimated in trillions of U.S. dollars, and a downturn in "
                  "economic activity.")
    assert "trillions" not in values(found, "U.S.")
    assert "$5 billion" in values(links("Russia lent Belarus $5 billion in 2020."), "Russia")


def test_a_rankings_place_is_its_scope(links):
    found = links("Notre Dame is ranked among the top twenty universities in the United "
                  "States.")
    assert "twenty" not in values(found, "the United States")
    found = links("Billings and Missoula are the two largest cities in Montana.")
    assert "two" in values(found, "Montana")


def test_titles_and_citations_are_no_values(links):
    found = links("The former California governor told 60 Minutes in 2012 that he regretted "
                  "it.")
    assert "60 Minutes" not in {v for vs in found.values() for v, _, _ in vs}
    found = links("Only a third of adults rated their health as good in Portugal (Kasmel "
                  "et al., 2004).")
    assert "2004" not in {v for vs in found.values() for v, _, _ in vs}
    found = links("Portugal has over 30 judges per 100,000 people.")
    assert "100,000" not in values(found, "Portugal")


def test_one_person_named_by_nationality_is_not_the_country(links):
    found = links("In 1899, Jerome Green became the first American to send a wireless "
                  "message.")
    assert values(found, "American") == set()
    assert "1899" in values(found, "Jerome Green")


def test_what_the_new_rules_must_leave_alone(links):
    """Each links-9 rule kept to its own shape (cases from a review of the first draft)."""
    assert "5 per cent" in values(links("Unemployment in Scotland fell to 5 per cent in "
                                        "2015."), "Scotland")  # "per" inside the value
    assert "1895" in values(links("The British occupied Kenya in 1895."), "British")
    assert "105" in values(links("Under Rockne, the Irish won 105 games from 1918 to 1930."),
                           "Irish")  # a group named by nationality keeps its values
    found = links("Kenya's economy grew 5.8% in 2014, compared with 5.7% in 2013.")
    assert {"5.7%", "2013"} <= values(found, "Kenya")  # its own earlier figure
    found = links("On 7 January 1943, at the age of 86, Tesla died in New York.")
    assert "the age of 86" in values(found, "Tesla")  # tagged NORP, but no demonym
    assert "the age of 86" not in values(found, "New York")
    found = links("Tajikistan has 7 million people, of whom 35% are between the ages of 14 "
                  "and 30.")
    assert "between the ages of 14" in values(found, "Tajikistan")
    assert "900-year-old" in values(links("Newcastle has a 900-year-old castle."),
                                    "Newcastle")  # a thing's age
    assert "40-year-old" in values(links("On March 15th, 40-year-old Kalldahl Berdymukhamedov "
                                         "was elected president."), "Kalldahl Berdymukhamedov")
    assert "300 billion dollars" in values(links("Russia's 300 billion dollars of reserves "
                                                 "were frozen in 2022."), "Russia")
    assert "5 million pounds" in values(links("Montana's 5 million pounds of wheat were "
                                              "exported in 2010."), "Montana")
    assert "the 19th Century" in values(links("Warsaw was rebuilt in the 19th Century."),
                                        "Warsaw")
    score = "24\u201310"  # a bare value in apposition is no predicate
    assert score in values(links(f"Denver defeated Carolina, {score}, in Super Bowl 50."),
                           "Denver")


def test_a_region_named_with_a_compass_word_is_not_the_whole(links):
    found = links("In 2010, eastern Ukraine had a population of 6 million.")
    assert values(found, "Ukraine") == set()
    found = links("In 2010, Ukraine had a population of 45 million.")
    assert values(found, "Ukraine") == {"2010", "45 million"}


def test_a_rank_of_a_possessed_thing_is_not_its_owners(links):
    assert values(links("Warsaw's first stock exchange opened in 1817."), "Warsaw") == {"1817"}
    found = links("On Tesla's 75th birthday in 1931, Time magazine put him on its cover.")
    assert values(found, "Tesla") == {"75th", "1931"}  # a birthday's ordinal is an age


def test_a_count_of_listed_names_is_none_of_theirs(links):
    found = links("Within the region are two major cities, Denver and Boulder.")
    assert values(found, "Denver") == values(found, "Boulder") == set()
    found = links("The city includes the seven counties of Adams, Boulder, Denver, Douglas "
                  "and Weld.")
    assert not any(values(found, name) for name in ("Adams", "Boulder", "Denver"))
    found = links("Kazakhstan and Uzbekistan signed 15 agreements.")
    assert values(found, "Kazakhstan") == values(found, "Uzbekistan") == {"15"}


def test_a_rank_given_as_the_object_is_the_objects_and_its_date_the_judges(links):
    found = links("In 2015 The Princeton Review ranked Notre Dame as the ninth highest.")
    assert values(found, "Notre Dame") == {"ninth"}
    assert values(found, "The Princeton Review") == {"2015"}
    found = links("In 2012 the Economist Intelligence Unit ranked Warsaw as the 32nd most "
                  "liveable city in the world.")
    assert values(found, "Warsaw") == set()
    assert values(found, "the Economist Intelligence Unit") == {"2012"}
    found = links("The Space Review estimated in 2010 the cost of Apollo from 1959 to 1973 as "
                  "$20.4 billion.")
    assert values(found, "Apollo") == {"1959 to 1973"}  # inside the judged thing: its own


def test_rooms_addresses_and_page_citations_are_no_values(links):
    assert values(links("Tesla died in room 3327 of the New Yorker Hotel."),
                  "the New Yorker Hotel") == set()
    found = links("Tesla opened a laboratory at 46 E. Houston Street in 1891.")
    assert values(found, "Tesla") == {"1891"}
    found = links("In 1881 Tesla moved to Budapest.:57, 301 He worked at a telegraph company.")
    assert values(found, "Tesla") == {"1881"}


def test_a_passives_doer_acts_when_it_happens(links):
    found = links("Warsaw was occupied by Germany from August 1915 until November 1918.")
    assert values(found, "Germany") == values(found, "Warsaw") == {"August 1915",
                                                                   "November 1918"}


def test_an_office_taken_is_dated_for_the_body_it_serves(links):
    found = links("In 1919 Father James Burns became president of Notre Dame.")
    assert values(found, "Notre Dame") == values(found, "James Burns") == {"1919"}


def test_a_kins_doing_is_not_the_relatives(links):
    found = links("In 1237 Batu Khan, a grandson of Genghis Khan, launched an invasion into "
                  "Kievan Rus.")
    assert values(found, "Batu Khan") == {"1237"} and values(found, "Genghis Khan") == set()


def test_a_war_named_by_its_length_is_no_date(links):
    found = links("The French and Indian War was the North American theater of the worldwide "
                  "Seven Years' War.")
    assert not any("Seven Years' War" in values(found, name) for name in found)


def test_a_language_or_currency_label_owns_nothing(links):
    assert values(links("The 13th century Mongolian pronunciation differed from today's."),
                  "Mongolian") == set()
    assert values(links("His face is printed on the 20,000 Mongolian tögrög note."),
                  "Mongolian") == set()


def test_a_rank_positioned_and_a_rank_of_a_things_of_phrase(links):
    found = links("In 2010, Newcastle was positioned ninth in the retail league of the UK.")
    assert values(found, "Newcastle") == {"2010", "ninth"}
    found = links("The first buildings of the University of Chicago campus were designed in "
                  "1891.")
    assert values(found, "the University of Chicago") == {"1891"}


def test_the_session_16_rules_stay_in_their_shape(links):
    """What the review of links-10/11 found reaching too far: each sentence keeps what the
    rules gave it before."""
    found = links("Some 300,000 refugees from Syria and Iraq reached Germany in 2015.")
    assert "Some 300,000" in values(found, "Syria") and "Some 300,000" in values(found, "Iraq")
    found = links("In 2019, Kenya was the largest economy of East Africa.")
    assert values(found, "East Africa") == set() and "2019" in values(found, "Kenya")
    found = links("Germany's second largest city, Hamburg, has 1.8 million people.")
    assert "second" in values(found, "Hamburg") and "second" not in values(found, "Germany")
    found = links("Goldman Sachs hired 300 Wall Street analysts in 2021.")
    assert "300" in values(found, "Goldman Sachs")
    found = links("The French and Indian War was the North American theater of the worldwide "
                  "Seven Years\u2019 War.")
    assert not any("Seven Years\u2019 War" in values(found, name) for name in found)


def test_he_or_she_stands_for_the_person_named_before_it(links):
    found = links("Martin Luther wrote a German Mass, which he published in early 1526.")
    assert "early 1526" in values(found, "Martin Luther")
    # the tagger calls this "Schwarzenegger" ORG; the passage names him as a person
    found = links("Arnold Schwarzenegger grew up in Thal. Schwarzenegger is also the owner of "
                  "a sports festival, which he started in 1989.")
    assert "1989" in values(found, "Schwarzenegger")


def test_he_does_not_stand_for_a_named_thing(links):
    found = links("Apollo was dedicated to the national goal of a landing, which he "
                  "proposed on May 25, 1961.")
    assert "May 25, 1961" not in values(found, "Apollo")


def test_a_rank_of_a_thing_a_name_labels_is_the_things(links):
    found = links("He became pastor of the first Huguenot church in North America in 1700.")
    assert "first" not in values(found, "Huguenot")
    found = links("The first historical reference to Warsaw dates back to the year 1313.")
    assert "first" not in values(found, "Warsaw")
    found = links("Notre Dame ranked 18th overall among national universities in 2016.")
    assert "18th" in values(found, "Notre Dame")


def test_a_participles_named_doer_gets_its_date_not_the_nouns_label(links):
    found = links("Doctor Who is a British science-fiction television programme produced "
                  "by the BBC since 1963.")
    assert "1963" in values(found, "BBC") and "1963" not in values(found, "British")
    found = links("Warsaw was occupied by Germany from 4 August 1915.")
    assert "4 August 1915" in values(found, "Germany")


def test_numbers_citing_articles_are_not_values(links):
    found = links("According to the Treaty on European Union articles 9 and 10, the EU "
                  "observes the principle of equality.")
    assert not any(v in values(found, name) for name in found for v in ("9", "10"))
    found = links("Under the treaty, Germany withdrew 5,000 troops in 1919.")
    assert "5,000" in values(found, "Germany")


def test_the_session_17_rules_stay_in_their_shape(links):
    """What the review of links-13/14 found reaching too far."""
    found = links("The law was drafted in 1990 and was passed by Congress in 1991.")
    assert "1991" in values(found, "Congress")
    found = links("Warsaw was destroyed by Germany and rebuilt in 1950.")
    assert "1950" not in values(found, "Germany")
    found = links("Kenya, ruled by Britain until 1963, became a republic.")
    assert "1963" in values(found, "Kenya")
    found = links("Marie Curie worked with Pierre Curie, and he died in 1906.")
    assert "1906" not in values(found, "Marie Curie")
    found = links("Roger Federer lost to Rafael Nadal, who said he had trained for 20 years.")
    assert "20 years" not in values(found, "Roger Federer")
    found = links("Under Chapter 11, 300 firms in Texas went bankrupt in 2009.")
    assert "300" in values(found, "Texas")
    found = links("China built a state-of-the-art 1,000 bed hospital in Wuhan.")
    assert any("1,000" in values(found, name) for name in found)


def test_a_counted_thing_beside_another_is_not_owned_by_the_others_of_phrase(links):
    found = links("Using statistics from 23 developed countries and the 50 states of the US, "
                  "they found problems.")
    assert "23" not in values(found, "US") and "50" in values(found, "US")


def test_each_value_of_a_list_of_value_place_pairs_is_its_own_place_s(links):
    """"14.4% in Germany, 15.2% in Japan ...": the clause the values share does not give
    them all to the first place (issue 11's first pattern, in its list form)."""
    found = links("The unemployment rate was 5% in France, 7% in Spain and 9% in Italy.")
    assert values(found, "France") == {"5%"} and values(found, "Spain") == {"7%"}
    assert values(found, "Italy") == {"9%"}
    found = links("In 2009 the decline in GDP was 14.4% in Germany, 15.2% in Japan, 7.4% in "
                  "the UK and 9.8% in the Euro area.")
    assert "15.2%" not in values(found, "Germany") and "7.4%" not in values(found, "Germany")
    assert "7.4%" in values(found, "UK") and "15.2%" in values(found, "Japan")
    found = links("Inflation in Kenya reached 12% in 2008.")  # one value: as before
    assert "12%" in values(found, "Kenya")
    # the review's shapes: a counted noun between value and place, places in a list
    found = links("The virus killed 1,200 people in Italy, 800 in Spain and 300 in France.")
    assert values(found, "Italy") == {"1,200"} and values(found, "Spain") == {"800"}
    found = links("Unemployment was 12% in Spain and Portugal and 7% in Italy.")
    assert "7%" not in values(found, "Portugal") and "12%" in values(found, "Portugal")


def test_the_members_a_counted_group_lists_do_not_own_its_count(links):
    found = links("Kenya has two major international airports (Jomo Kenyatta Airport and Moi "
                  "Airport).")
    assert "two" in values(found, "Kenya")
    assert not any("two" in values(found, n) for n in found if "Airport" in n)
    found = links("Victoria has four government selective schools, Melbourne High School "
                  "for boys, MacRobertson Girls' High School for girls.")
    assert "four" in values(found, "Victoria")
    assert "four" not in values(found, "MacRobertson Girls' High School")
