"""Demonyms linked to their places ("Kyrgyz" -> Kyrgyzstan), and common abbreviations.

News text names countries through their adjectives ("the Kyrgyz som", "Uzbek Foreign
Minister"), so questions and passages must meet across the two forms. The table is small
and explicit on purpose: add a row when a corpus needs one. Keys and values are surface
forms; callers analyze them with their own analyzer.
"""

from __future__ import annotations

DEMONYMS: dict[str, str] = {
    # Central Asia and neighbours
    "Kazakh": "Kazakhstan", "Kazakhstani": "Kazakhstan",
    "Kyrgyz": "Kyrgyzstan", "Kirghiz": "Kyrgyzstan",
    "Uzbek": "Uzbekistan", "Uzbekistani": "Uzbekistan",
    "Tajik": "Tajikistan", "Tajikistani": "Tajikistan",
    "Turkmen": "Turkmenistan", "Turkmenistani": "Turkmenistan",
    "Afghan": "Afghanistan", "Mongolian": "Mongolia",
    "Russian": "Russia", "Ukrainian": "Ukraine", "Belarusian": "Belarus",
    "Georgian": "Georgia", "Armenian": "Armenia", "Azerbaijani": "Azerbaijan",
    "Moldovan": "Moldova", "Soviet": "Soviet Union",
    # Other countries frequent in international news
    "American": "United States", "Chinese": "China", "Japanese": "Japan",
    "Korean": "Korea", "South Korean": "South Korea", "North Korean": "North Korea",
    "Indian": "India", "Pakistani": "Pakistan", "Iranian": "Iran", "Turkish": "Turkey",
    "Israeli": "Israel", "Palestinian": "Palestine", "Syrian": "Syria", "Iraqi": "Iraq",
    "Saudi": "Saudi Arabia", "Egyptian": "Egypt", "British": "United Kingdom",
    "English": "England", "Scottish": "Scotland", "Irish": "Ireland", "French": "France",
    "German": "Germany", "Italian": "Italy", "Spanish": "Spain", "Portuguese": "Portugal",
    "Dutch": "Netherlands", "Belgian": "Belgium", "Swiss": "Switzerland",
    "Austrian": "Austria", "Polish": "Poland", "Czech": "Czech Republic",
    "Hungarian": "Hungary", "Romanian": "Romania", "Bulgarian": "Bulgaria",
    "Greek": "Greece", "Swedish": "Sweden", "Norwegian": "Norway", "Danish": "Denmark",
    "Finnish": "Finland", "Canadian": "Canada", "Mexican": "Mexico",
    "Brazilian": "Brazil", "Argentine": "Argentina", "Australian": "Australia",
    "Nigerian": "Nigeria", "Kenyan": "Kenya", "South African": "South Africa",
    "European": "Europe", "Asian": "Asia", "African": "Africa",
    "Central Asian": "Central Asia",
}

# Short names written for a place or body: one entity, whichever form a document uses.
ABBREVIATIONS: dict[str, str] = {
    "US": "United States", "U.S.": "United States", "USA": "United States",
    "U.S.A.": "United States", "America": "United States", "UK": "United Kingdom",
    "U.K.": "United Kingdom", "Britain": "United Kingdom", "Great Britain": "United Kingdom",
    "EU": "European Union", "UN": "United Nations", "USSR": "Soviet Union",
    "PRC": "China", "ROK": "South Korea", "DPRK": "North Korea", "UAE": "United Arab Emirates",
}
