"""Link the names a question uses to the corpus's canonical entities, once per question."""

from __future__ import annotations

from dataclasses import dataclass

from ..kb.entities import CanonicalEntity
from ..kb.table import EntityTable
from ..search.analyzer import Analyzer
from .question import Question


@dataclass(frozen=True)
class Linked:
    """The question's names with the entity each refers to (unknown names dropped)."""

    named: tuple[tuple[str, CanonicalEntity], ...]

    @property
    def entities(self) -> list[CanonicalEntity]:
        return [entity for _, entity in self.named]

    def alias_terms(self, analyzer: Analyzer) -> dict[str, set[str]]:
        """A question entity's last term -> the words its other names add ('Kamilov' ->
        'abdulaziz'; 'Milziyoev' -> 'mirziyoyev', 'mirziyoev')."""
        out: dict[str, set[str]] = {}
        for text, entity in self.named:
            own = analyzer.terms(text)
            if not own:
                continue
            extra = {t for alias in entity.aliases for t in analyzer.terms(alias)} - set(own)
            if extra:
                out.setdefault(own[-1], set()).update(extra)
        return out


def link(question: Question, table: EntityTable, similarity: float) -> Linked:
    return Linked(tuple((name, entity) for name in question.names
                        if (entity := table.lookup(name, similarity)) is not None))
