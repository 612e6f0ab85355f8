"""``citeqa`` command line: index, serve, ask. Errors are one line naming the problem."""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
from pathlib import Path

import click

from .config import Config, ConfigError
from .ingest.annotate import ModelError, load_model
from .ingest.documents import BadDocument, add_to_corpus
from .kb.linker import LinkerError
from .qa.ranker import ModelError as RankerError
from .serve.guard import BadQuestion, checked_question
from .store import build as builder
from .store import index as index_store


class CliError(click.ClickException):
    def show(self, file=None) -> None:
        click.echo(f"citeqa: error: {self.message}", err=True)


class UsageProblem(CliError):
    """A bad flag or argument, in the same one-line format as every other error (exit 2,
    as click's own usage errors)."""

    exit_code = 2

    def __init__(self, exc: click.UsageError) -> None:
        path = exc.ctx.command_path if exc.ctx else "citeqa"
        super().__init__(f"{exc.format_message().rstrip('.')}; see '{path} --help'")


class _OneLineUsage:
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise UsageProblem(exc) from None


class _Command(_OneLineUsage, click.Command):
    pass


class _Group(_OneLineUsage, click.Group):
    command_class = _Command

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            raise UsageProblem(exc) from None


def _handle_errors(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ConfigError, ModelError, RankerError, LinkerError, builder.BuildError,
                index_store.IndexUnavailable) as exc:
            raise CliError(str(exc)) from None
    return wrapper


def _config(**overrides) -> Config:
    return Config.load({k: v for k, v in overrides.items() if v is not None})


def corpus_options(func):
    func = click.option("--model", help="spaCy model package or path [CITEQA_MODEL]")(func)
    func = click.option("--index", "index_dir", type=click.Path(path_type=Path),
                        help="index folder [CITEQA_INDEX, default ./index]")(func)
    func = click.option("--corpus", type=click.Path(path_type=Path),
                        help="corpus folder [CITEQA_CORPUS, default ./corpus]")(func)
    return func


def reader_option(func):
    return click.option("--reader/--no-reader", default=None,
                        help="answer with the neural reader, or the linear ranker alone "
                             "[CITEQA_READER, default on]")(func)


def _report(report: builder.BuildReport) -> None:
    click.echo(f"indexed {report.documents} documents, {report.passages} passages, "
               f"{report.entity_mentions} entity mentions of {report.entities} entities in "
               f"{report.seconds:.1f}s -> version {report.version}", err=True)
    click.echo(f"  added {len(report.added)}, changed {len(report.changed)}, removed "
               f"{len(report.removed)}, unchanged {report.unchanged}, skipped "
               f"{len(report.skipped)}; spaCy ran on {report.annotated} documents", err=True)
    for skipped in report.skipped:
        click.echo(f"  skipped {skipped.path}: {skipped.reason}", err=True)


def ensure_index(config: Config) -> index_store.Index:
    """The index, built first when missing or stale (saying why)."""
    index, report = builder.ensure(
        config, progress=_progress(),
        on_build=lambda why: click.echo(f"building the index: {why}", err=True),
        on_wait=_say)
    if report:
        _report(report)
    return index


def _say(message: str) -> None:
    click.echo(message, err=True)


def _progress() -> bool:
    """A progress bar only on a terminal: nothing clutters piped output."""
    return sys.stderr.isatty()


@click.group(cls=_Group, name="citeqa")
@click.version_option(package_name="citeqa")
def main() -> None:
    """Answer questions over a folder of news documents, with citations."""


@main.command("index")
@corpus_options
@click.option("--full", is_flag=True,
              help="re-annotate and re-link every document, ignoring the cache")
@click.option("--json", "as_json", is_flag=True, help="also print the build report as JSON")
@click.option("--dask", metavar="ADDRESS",
              help="annotate on a Dask cluster: scheduler address (tcp://host:8786) or "
                   "local:N worker processes here [CITEQA_DASK]")
@_handle_errors
def index_cmd(corpus, index_dir, model, full, as_json, dask) -> None:
    """Build the index from the corpus folder (incrementally); nothing to do when the live
    index is intact and nothing changed, unless --full."""
    config = _config(corpus=corpus, index=index_dir, model=model, dask=dask)
    if not full and (live := _up_to_date(config)):
        click.echo(f"the index is up to date: version {live.version}, "
                   f"{live.manifest['counts']['documents']} documents; nothing changed since "
                   f"it was built ('citeqa index --full' rebuilds it)", err=True)
        if as_json:
            click.echo(json.dumps({"version": live.version, "up_to_date": True}))
        return
    report = builder.build(config, full=full, progress=_progress(), on_wait=_say)
    _report(report)
    if as_json:
        click.echo(json.dumps({**dataclasses.asdict(report), "up_to_date": False}))


def _up_to_date(config: Config) -> index_store.Index | None:
    """The live index when it was built from the corpus as it is and every file of it
    checks out; ``None`` when a build is due (a damaged version is rebuilt)."""
    if builder.needs_build(config) is not None:
        return None
    try:
        return index_store.load(Path(config.index))
    except index_store.IndexUnavailable:
        return None


@main.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--replace", is_flag=True,
              help="replace corpus files of the same name that hold other content")
@corpus_options
@_handle_errors
def add_cmd(paths, replace, corpus, index_dir, model) -> None:
    """Copy files or folders into the corpus, then re-index. Exits 1 when a file it added
    was not indexed (a bad line of a JSON Lines file, a duplicate); it stays in the corpus,
    named in the build report."""
    config = _config(corpus=corpus, index=index_dir, model=model)
    root = Path(config.corpus)
    try:
        added = add_to_corpus(paths, root, replace, config.max_document_bytes)
    except (OSError, BadDocument) as exc:
        raise CliError(str(exc)) from None
    for source, target in added.copied:
        click.echo(f"added {source} -> {target}", err=True)
    for source in added.same:
        click.echo(f"already in the corpus with the same content: {source}", err=True)
    for hidden in added.hidden:
        click.echo(f"  not copied {hidden}: hidden (the index reads no hidden files)",
                   err=True)
    if live := _up_to_date(config):
        click.echo(f"the index is up to date: version {live.version}", err=True)
        return
    report = builder.build(config, progress=_progress(), on_wait=_say)
    _report(report)
    names = [target.relative_to(root).as_posix() for _, target in added.copied]
    missed = [s.path for s in report.skipped
              if any(s.path == n or s.path.startswith((n + "/", n + ":")) for n in names)]
    if missed:
        raise CliError(f"{len(missed)} of the added documents were not indexed (see "
                       f"'skipped' above): {', '.join(missed[:5])}"
                       + (", ..." if len(missed) > 5 else ""))


@main.command()
@corpus_options
@click.option("--host", help="address to bind [CITEQA_HOST, default 127.0.0.1]")
@click.option("--port", type=int, help="port [CITEQA_PORT, default 8000]")
@click.option("--workers", type=int, help="gunicorn worker processes [CITEQA_WORKERS, default 2]")
@reader_option
@_handle_errors
def serve(corpus, index_dir, model, host, port, workers, reader) -> None:
    """Serve the web page and JSON API with gunicorn, building the index first if needed."""
    from .serve.server import run

    config = _config(corpus=corpus, index=index_dir, model=model, host=host, port=port,
                     workers=workers, reader=reader)
    index = ensure_index(config)
    run(config, index)


@main.command("ask")
@click.argument("question")
@click.option("-k", "k", type=click.IntRange(1, 50), default=None, help="passages to show")
@click.option("--json", "as_json", is_flag=True, help="print the API's JSON response")
@click.option("--explain", is_flag=True, help="show how the answer was chosen")
@reader_option
@corpus_options
@_handle_errors
def ask_cmd(question, k, as_json, explain, reader, corpus, index_dir, model) -> None:
    """Answer QUESTION in the terminal, with citations."""
    from .qa.ask import ask
    from .qa.load import load_models
    from .qa.params import QAParams
    from .serve import schema

    config = _config(corpus=corpus, index=index_dir, model=model, reader=reader)
    try:  # the API's limits
        question = checked_question(question, config.max_question_chars,
                                    config.max_question_tokens)
    except BadQuestion as exc:
        raise CliError(exc.message) from None
    index = ensure_index(config)
    params = QAParams() if config.reader else QAParams().without_reader()
    response = ask(index, load_model(config.model), question, k or config.default_k, explain,
                   params, load_models(params, config.reader_threads))
    body = schema.ask_response(index.store, response)
    if as_json:
        click.echo(json.dumps(schema.to_builtins(body), ensure_ascii=False, indent=2))
        return
    data = schema.to_builtins(body)
    _print_answer(data)
    if explain:
        _print_explain(data["explain"])


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rsplit(" ", 1)[0] + "\u2026"


def _print_answer(data: dict) -> None:
    answer = data["answer"]
    if answer:
        click.echo(click.style("Answer: ", bold=True) + click.style(answer["text"], bold=True,
                                                                     fg="green"))
        click.echo(f"  {answer['label']}, confidence {answer['confidence']:.2f}, "
                   f"from [{answer['passage_id']}]")
        s = answer["sentence"]
        at = answer["start"] - answer["sentence_start"]
        click.echo("  \u201c" + s[:at] + click.style(s[at:at + len(answer["text"])],
                                                      bold=True) + s[at + len(answer["text"]):]
                   + "\u201d")
    else:
        click.secho("No answer: the documents do not cover this question.", bold=True)
        click.echo(f"  Why: {data.get('no_answer_reason')}")
        if data["passages"]:
            click.echo("  The closest passages follow, for browsing (weak matches).")
    if data["facts"]:
        click.echo("Entities: " + "; ".join(
            f"{f['entity']} ({f['label']}, {f['mentions']} mention"
            f"{'' if f['mentions'] == 1 else 's'})" for f in data["facts"]))
    for p in data["passages"]:
        click.echo(f"\n[{p['rank']}] {p['id']}  score {p['score']:.2f}  "
                   f"chars {p['start']}-{p['end']}")
        click.echo(f"    {_short(p['title'], 90)}" + (f" ({p['date']})" if p.get("date") else ""))
        click.echo("    " + _short(p["text"], 400))


def _print_explain(trace: dict) -> None:
    q = trace["question"]
    click.secho("\nHow this answer was chosen", bold=True)
    click.echo(f"  question: wh={q['wh']} head={q['head']} expects "
               f"{'/'.join(q['expected']) or 'no entity type'} ({q['answer_kind']})")
    click.echo(f"  terms: {' '.join(trace['terms'])}")
    for term, targets in trace["expansions"].items():
        click.echo(f"  '{term}' searched as " + ", ".join(f"'{t}' ({w:.2f})"
                                                          for t, w in targets))
    click.echo(f"  coverage of the question by the best passage: {trace['coverage']:.0%} "
               f"(needs {trace['min_coverage']:.0%})")
    for c in trace["candidates"]:
        feats = " ".join(f"{k}={v:.2f}" for k, v in c["features"].items())
        click.echo(f"  {c['score']:6.2f}  {c['text'][:50]!r:52} {c['label']:12} {feats}")
    reading = trace.get("reading")
    if reading:
        click.echo(f"  the reader read {len(reading['contexts'])} stretch(es) of the top "
                   f"passages ('no answer' logit {reading['null_logit']:.2f}); its best spans:")
        for sp in reading["spans"]:
            click.echo(f"  {sp['score']:6.2f}  {sp['text'][:50]!r:52} logit {sp['logit']:.2f}"
                       f"  reader p {sp['reader_p']:.2f}  ranker p {sp['ranker_p']:.2f}")
        feats = " ".join(f"{k}={v:.2f}" for k, v in reading["features"].items())
        click.echo(f"  confidence {reading['confidence']:.2f} from {feats}")
    click.echo(f"  decision: {trace['decision']}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
